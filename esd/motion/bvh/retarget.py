"""The 22 SMPL joints from a rig's global motion (steps 1-4 of ``esd.motion.bvh.rest``).

``smpl_joints(rig, mirrored)`` -> (T, 22, 3) in the rig's units and axes. Template joints hang
on the rig's segments (``anchors``); limbs keep the rig's bone vectors. The bone lengths are then
reset to the HumanML3D skeleton by the feature encoder (``joints_to_features``, step E1), which
keeps every bone's direction: that is the retarget.
"""

from __future__ import annotations

import numpy as np

from esd.motion.bvh.rest import (
    ARM_CHAINS,
    LEG_CHAINS,
    SPINE_PATH_JOINTS,
    TEMPLATE,
    RestGeometryError,
    RigJoints,
    body_midpoints,
)
from esd.motion.quaternion import cross, normalize, qconj, qrot
from esd.motion.skeleton import JOINT_INDEX, NUM_JOINTS

_L_HIP, _R_HIP = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
_L_SH, _R_SH = JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]


def _ancestors(parents: tuple[int, ...], j: int) -> list[int]:
    """j, its parent, ..., the root."""
    chain = [j]
    while parents[chain[-1]] >= 0:
        chain.append(parents[chain[-1]])
    return chain


def common_ancestor(parents: tuple[int, ...], a: int, b: int) -> int:
    """The deepest joint that is an ancestor of (or equal to) both a and b."""
    above_b = set(_ancestors(parents, b))
    return next(j for j in _ancestors(parents, a) if j in above_b)


def body_frames(rig: RigJoints, mirrored: bool) -> np.ndarray:
    """Per-frame body axes (T, 3, 3), columns x (left), y (up), z (forward; -z if mirrored)."""
    mid = body_midpoints(rig)
    y = normalize(mid["shoulders"] - mid["hips"])  # (T, 3)
    lateral = mid["lateral"]
    x = normalize(lateral - np.sum(lateral * y, axis=-1, keepdims=True) * y)
    z = cross(x, y) * (-1.0 if mirrored else 1.0)
    return np.stack([x, y, z], axis=-1)  # (T, 3, 3)


def placed_template(rig: RigJoints, mirrored: bool) -> np.ndarray:
    """TEMPLATE placed on each frame's body frame and rig size, (T, 22, 3).

    T_j(t) = h̄_t + s R_t (P_j - P̄_hips), s = median |s̄ - h̄| / |P̄_shoulders - P̄_hips|.
    """
    mid = body_midpoints(rig)
    hips_t = 0.5 * (TEMPLATE[_L_HIP] + TEMPLATE[_R_HIP])
    shoulders_t = 0.5 * (TEMPLATE[_L_SH] + TEMPLATE[_R_SH])
    torso = np.linalg.norm(mid["shoulders"] - mid["hips"], axis=-1)  # (T,)
    scale = float(np.median(torso)) / float(np.linalg.norm(shoulders_t - hips_t))
    frames = body_frames(rig, mirrored)  # (T, 3, 3)
    local = scale * (TEMPLATE - hips_t)  # (22, 3)
    return mid["hips"][:, None] + np.einsum("tab,jb->tja", frames, local)  # (T, 22, 3)


def _height_anchor(rig: RigJoints, path: list[int], point: np.ndarray, up: np.ndarray) -> int:
    """The highest joint of ``path`` (bottom-up) lying at or below ``point`` (T, 3) along the
    body's ``up`` (T, 3) (median over frames); the lowest joint if the point is below all.
    A point belongs to the segment it lies in: the one that joint's rotation moves."""
    base = 0.5 * (rig.at("left_hip") + rig.at("right_hip"))  # (T, 3)

    def height(p: np.ndarray) -> float:
        return float(np.median(np.sum((p - base) * up, axis=-1)))

    target = height(point)
    below = [j for j in path if height(rig.positions[:, j]) <= target + 1e-9]
    return below[-1] if below else path[0]


def anchors(rig: RigJoints, template: np.ndarray, up: np.ndarray) -> dict[int, int]:
    """SMPL template joint -> the BVH joint whose segment carries it (module doc of rest)."""
    parents, named = rig.parents, rig.named
    pelvis = common_ancestor(parents, named["left_hip"], named["right_hip"])
    chest = common_ancestor(parents, named["left_shoulder"], named["right_shoulder"])
    head = named["head"]
    path = _ancestors(parents, head)[::-1]  # root ... head
    if pelvis not in path or chest not in path:
        raise RestGeometryError(
            "the rig's head is not a descendant of both its hips' and shoulders' common joints; "
            "cannot place the spine"
        )
    path = path[path.index(pelvis) :]  # pelvis ... chest ... head
    out = {0: pelvis, _L_HIP: pelvis, _R_HIP: pelvis}
    for side in ("left", "right"):
        out[JOINT_INDEX[f"{side}_collar"]] = chest
        out[JOINT_INDEX[f"{side}_shoulder"]] = parents[named[f"{side}_shoulder"]]  # clavicle
    for name in SPINE_PATH_JOINTS:
        j = JOINT_INDEX[name]
        out[j] = _height_anchor(rig, path, template[:, j], up)
    return out


def segment_offsets(
    rig: RigJoints, template: np.ndarray, carried_by: dict[int, int]
) -> dict[int, np.ndarray]:
    """c_j = median_t rot(G_a(t)^-1, T_j(t) - p_a(t)), (3,) per template joint j."""
    out = {}
    for j, a in carried_by.items():
        local = qrot(qconj(rig.rotations[:, a]), template[:, j] - rig.positions[:, a])  # (T, 3)
        out[j] = np.median(local, axis=0)
    return out


def smpl_joints(rig: RigJoints, mirrored: bool) -> tuple[np.ndarray, dict[int, int]]:
    """The 22 SMPL joints (T, 22, 3) in the rig's units and axes, and the anchors used."""
    template = placed_template(rig, mirrored)  # (T, 22, 3)
    up = body_frames(rig, mirrored)[..., 1]  # (T, 3)
    carried_by = anchors(rig, template, up)
    offsets = segment_offsets(rig, template, carried_by)
    joints = np.zeros((rig.positions.shape[0], NUM_JOINTS, 3))
    for j, a in carried_by.items():
        offset = np.broadcast_to(offsets[j], joints[:, j].shape)  # (T, 3)
        joints[:, j] = rig.positions[:, a] + qrot(rig.rotations[:, a], offset)
    for root, chain in (LEG_CHAINS | ARM_CHAINS).items():
        shift = joints[:, JOINT_INDEX[root]] - rig.at(root)  # (T, 3)
        for name in chain:
            joints[:, JOINT_INDEX[name]] = rig.at(name) + shift
    return joints, carried_by
