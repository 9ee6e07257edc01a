"""Per-frame node transforms (TRS tracks) that pose a joint hierarchy exactly like a motion.

Hierarchy: one node per joint under its parent joint (``PARENTS``), the pelvis under an
identity root; one bone node per bone ``p -> c`` under joint node ``p``.

Joint node ``j`` at frame ``t`` (column vectors, ``G`` world rotations, ``L`` local)::

    rotation     L_j                      (fitted as for BVH: viz.bvh.fit_local_rotations)
    translation  G_p^T (x_j - x_p)        (the pelvis: x_0, its parent being the identity root)

so its world position is ``x_p + G_p (G_p^T (x_j - x_p)) = x_j`` for any motion, bone lengths
included (a generated motion's bones need not have the canonical lengths). The rotations only
choose the joints' local frames (the BVH export's rest pose and rotations).

Bone node of ``p -> c``: translation 0, rotation ``S`` = the minimal rotation taking +Y onto the
child's local translation ``d = G_p^T (x_c - x_p)``, scale ``(1, |d|, 1)``: a unit cylinder along
+Y from the joint then spans exactly ``x_p -> x_c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.motion.skeleton import PARENTS
from viz.bvh import BvhConfig, fit_local_rotations, rest_offsets, swing_rotation

BONE_CHILDREN: tuple[int, ...] = tuple(j for j, p in enumerate(PARENTS) if p >= 0)  # 21 bones
BONE_AXIS = np.array([0.0, 1.0, 0.0])  # a bone mesh's length runs along its node's +Y


@dataclass(frozen=True)
class SkeletonTracks:
    """TRS keyframes of every node (float64), frames first."""

    joint_translation: np.ndarray  # (T, 22, 3) metres, in the parent joint's frame
    joint_rotation: np.ndarray  # (T, 22, 4) unit quaternions (x, y, z, w), sign-continuous
    bone_rotation: np.ndarray  # (T, 21, 4) unit quaternions of the bone nodes, BONE_CHILDREN order
    bone_scale: np.ndarray  # (T, 21, 3) (1, bone length, 1)


def skeleton_tracks(joints: np.ndarray, config: BvhConfig | None = None) -> SkeletonTracks:
    """The tracks of ``joints (T, 22, 3)`` (validated, metres); see the module docstring."""
    x = joints.astype(np.float64)  # (T, 22, 3)
    local = fit_local_rotations(x, rest_offsets(x, config or BvhConfig()))  # (T, 22, 3, 3)
    world = np.empty_like(local)
    translation = np.empty_like(x)
    for j, parent in enumerate(PARENTS):  # parents come before their children
        if parent < 0:
            world[:, j] = local[:, j]
            translation[:, j] = x[:, j]
        else:
            world[:, j] = world[:, parent] @ local[:, j]
            offset = x[:, j] - x[:, parent]  # (T, 3) world bone vector
            translation[:, j] = np.einsum("tji,tj->ti", world[:, parent], offset)  # G_p^T v
    bone = translation[:, list(BONE_CHILDREN)]  # (T, 21, 3) local bone vectors
    length = np.linalg.norm(bone, axis=-1)  # (T, 21)
    swing = swing_rotation(np.broadcast_to(BONE_AXIS, bone.shape), bone)  # (T, 21, 3, 3)
    ones = np.ones_like(length)
    return SkeletonTracks(
        joint_translation=translation,
        joint_rotation=continuous(quaternion_xyzw(local)),
        bone_rotation=continuous(quaternion_xyzw(swing)),
        bone_scale=np.stack([ones, length, ones], axis=-1),
    )


def quaternion_xyzw(r: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` as (x, y, z, w) of rotation matrices ``r (..., 3, 3)``.

    Shepperd's method: of ``4w^2 = 1 + tr``, ``4x^2 = 1 + r00 - r11 - r22`` (and y, z alike)
    the largest is taken as the pivot, ``q_pivot = sqrt(.)/2``, and the others follow from the
    off-diagonal sums / differences divided by ``4 q_pivot`` (no cancellation near 180 deg).
    """
    m = np.asarray(r, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = np.stack(  # (..., 4 pivots, 4 components) unnormalised, (x, y, z, w)
        [
            np.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                      m[..., 1, 0] - m[..., 0, 1], 1 + m00 + m11 + m22], -1),
            np.stack([1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0],
                      m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] - m[..., 1, 2]], -1),
            np.stack([m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22,
                      m[..., 1, 2] + m[..., 2, 1], m[..., 0, 2] - m[..., 2, 0]], -1),
            np.stack([m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                      1 - m00 - m11 + m22, m[..., 1, 0] - m[..., 0, 1]], -1),
        ],
        axis=-2,
    )  # fmt: skip
    pivot = np.argmax(np.stack([m00 + m11 + m22, m00, m11, m22], -1), axis=-1)  # (...,)
    q = np.take_along_axis(candidates, pivot[..., None, None], axis=-2)[..., 0, :]  # (..., 4)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def continuous(q: np.ndarray) -> np.ndarray:
    """Quaternions ``(T, ..., 4)`` with signs flipped so consecutive frames have a
    non-negative dot product (``q`` and ``-q`` are one rotation; interpolation then takes the
    short way): ``q'_t = c_t q_t`` with ``c_t = c_{t-1} sign(q_t . q_{t-1})``, ``c_0 = 1``."""
    dots = np.sum(q[1:] * q[:-1], axis=-1)  # (T - 1, ...)
    signs = np.where(dots < 0, -1.0, 1.0)
    first = np.ones((1, *q.shape[1:-1]))
    factor = np.concatenate([first, np.cumprod(signs, axis=0)])  # (T, ...)
    return q * factor[..., None]
