"""The HumanML3D skeleton as SALAD's VAE sees it: graphs, pooling hierarchy, per-joint features.

Data tables (the topology the VAE's constant ``adj_matrix``, ``skeleton_pool`` and
``skeleton_unpool`` tensors encode; a checkpoint's own tensors replace them on load):

    level 0: the 22 joints, edges = the kinematic chains
    level 1: 12 groups of joints (pool 22 -> 12), edges between groups
    level 2: 7 "atomic" body parts (pool 12 -> 7): the latent's part axis

Per-joint split of a 263-d HumanML3D frame (``split_features`` / ``merge_features``):

    joint 0:     root (4) + its local velocity (3)                              7 channels
    joint 1..21: ric (3) + rot6d (6) + local velocity (3)                        12 channels
    + one foot-contact channel for joints 7, 10, 8, 11 (in contact order)        13 channels
"""

from __future__ import annotations

import itertools

import torch

from esd.motion.skeleton import FEATURE_DIM, NUM_JOINTS

KINEMATIC_CHAIN = ((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15),
                   (9, 14, 17, 19, 21), (9, 13, 16, 18, 20))  # fmt: skip
CONTACT_JOINTS = (7, 10, 8, 11)  # joints carrying foot-contact channels 0..3 (L/R ankle, foot)
JOINT_GROUPS = (  # level 1: the joints of each of the 12 groups
    (0, 1, 2, 3), (0, 1, 4), (4, 7, 10), (0, 2, 5), (5, 8, 11), (0, 3, 6, 9),
    (6, 9, 12, 13, 14), (9, 13, 16), (16, 18, 20), (9, 14, 17), (17, 19, 21), (9, 12, 15),
)  # fmt: skip
GROUP_EDGES = ((0, 1), (1, 2), (0, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (6, 9), (9, 10),
               (6, 11))  # fmt: skip
PART_GROUPS = ((0, 1, 3, 5), (0, 1, 2), (0, 3, 4), (0, 5, 6), (6, 7, 8), (6, 9, 10), (6, 11))
NUM_PARTS = len(PART_GROUPS)  # 7 atomic body parts of the latent
ROOT_DIMS = 4  # root rotation velocity, linear velocity (x, z), height
JOINT_CHANNELS = 12  # ric (3) + rot6d (6) + local velocity (3) of joints 1..21
ROOT_CHANNELS = ROOT_DIMS + 3  # joint 0: root + its local velocity


def chain_edges(chains: tuple[tuple[int, ...], ...]) -> list[tuple[int, int]]:
    """Parent-child pairs along kinematic chains."""
    return [(a, b) for chain in chains for a, b in itertools.pairwise(chain)]


def adjacency(num_nodes: int, edges: list[tuple[int, int]] | tuple) -> torch.Tensor:
    """(J, J) float32 symmetric adjacency with self-loops."""
    matrix = torch.eye(num_nodes)
    for a, b in edges:
        matrix[a, b] = matrix[b, a] = 1.0
    return matrix


def membership(groups: tuple[tuple[int, ...], ...], num_nodes: int) -> torch.Tensor:
    """(G, J) binary: 1 where node j belongs to group g."""
    matrix = torch.zeros(len(groups), num_nodes)
    for g, members in enumerate(groups):
        matrix[g, list(members)] = 1.0
    return matrix


def pool_matrix(groups: tuple[tuple[int, ...], ...], num_nodes: int) -> torch.Tensor:
    """(G, J) row-normalised membership: the mean over each group's nodes."""
    binary = membership(groups, num_nodes)
    return binary / binary.sum(dim=1, keepdim=True)


def level_graphs() -> list[torch.Tensor]:
    """Adjacency of the levels that hold convolutions: 22 joints, then 12 groups."""
    return [adjacency(NUM_JOINTS, chain_edges(KINEMATIC_CHAIN)),
            adjacency(len(JOINT_GROUPS), GROUP_EDGES)]  # fmt: skip


def pool_matrices() -> list[torch.Tensor]:
    """Pooling 22 -> 12 (12, 22) and 12 -> 7 (7, 12), row-normalised."""
    return [pool_matrix(JOINT_GROUPS, NUM_JOINTS), pool_matrix(PART_GROUPS, len(JOINT_GROUPS))]


def joint_channels(joint: int) -> int:
    """Input channels of ``joint`` in the per-joint split (7, 12 or 13)."""
    if joint == 0:
        return ROOT_CHANNELS
    return JOINT_CHANNELS + (joint in CONTACT_JOINTS)


def _slices() -> dict[str, int]:
    """Start of each block of the 263-d frame."""
    ric = ROOT_DIMS
    rot = ric + 3 * (NUM_JOINTS - 1)
    vel = rot + 6 * (NUM_JOINTS - 1)
    contact = vel + 3 * NUM_JOINTS
    return {"ric": ric, "rot": rot, "vel": vel, "contact": contact}


def split_features(x: torch.Tensor) -> list[torch.Tensor]:
    """(B, T, 263) frames -> 22 per-joint tensors (B, T, 7 | 12 | 13) (see the module doc)."""
    if x.shape[-1] != FEATURE_DIM:
        raise ValueError(f"expected {FEATURE_DIM}-d frames, got {tuple(x.shape)}")
    at = _slices()
    parts = [torch.cat([x[..., :ROOT_DIMS], x[..., at["vel"] : at["vel"] + 3]], dim=-1)]
    for j in range(1, NUM_JOINTS):
        pieces = [x[..., at["ric"] + 3 * (j - 1) : at["ric"] + 3 * j],
                  x[..., at["rot"] + 6 * (j - 1) : at["rot"] + 6 * j],
                  x[..., at["vel"] + 3 * j : at["vel"] + 3 * (j + 1)]]  # fmt: skip
        if j in CONTACT_JOINTS:
            c = at["contact"] + CONTACT_JOINTS.index(j)
            pieces.append(x[..., c : c + 1])
        parts.append(torch.cat(pieces, dim=-1))
    return parts


def merge_features(parts: list[torch.Tensor]) -> torch.Tensor:
    """22 per-joint tensors (B, T, 7 | 12 | 13) -> (B, T, 263): the inverse of split_features."""
    root = parts[0]
    joints = parts[1:]
    ric = [p[..., 0:3] for p in joints]
    rot = [p[..., 3:9] for p in joints]
    vel = [root[..., ROOT_DIMS:ROOT_CHANNELS]] + [p[..., 9:12] for p in joints]
    contacts = [parts[j][..., JOINT_CHANNELS : JOINT_CHANNELS + 1] for j in CONTACT_JOINTS]
    return torch.cat([root[..., :ROOT_DIMS], *ric, *rot, *vel, *contacts], dim=-1)
