"""BVH channels -> local rotations and translations -> resampled -> global positions (FK).

Conventions (the BVH standard): rotation channels are Euler angles in degrees applied in the
order listed, as intrinsic rotations, so ``Zrotation Xrotation Yrotation`` means

    R_j = Rz(z) Rx(x) Ry(y),        q_j = qz ⊗ qx ⊗ qy                       (unit quaternions)

A position channel REPLACES that component of the joint's OFFSET (the root's trajectory; some
rigs, e.g. Bandai-Namco, give every joint position channels equal to its offset). Forward
kinematics, parents before children:

    G_root = q_root,                 p_root = t_root
    G_j    = G_parent(j) ⊗ q_j,      p_j    = p_parent(j) + rot(G_parent(j), t_j)

Resampling to another frame rate interpolates each joint's local rotation by slerp and its
translation linearly, then runs FK, so bones keep their lengths between source frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.motion.bvh.parser import POSITION_CHANNELS, ROTATION_CHANNELS, Bvh
from esd.motion.quaternion import qmul, qrot

_AXES = {"X": 0, "Y": 1, "Z": 2}
SLERP_LINEAR_BELOW = 1e-6  # below this angle (rad) between keys, slerp falls back to nlerp
FPS_SNAP = 0.01  # a frame rate this close to a whole number is that number (0.0333333 s: 30)


@dataclass(frozen=True)
class LocalMotion:
    """Per-frame local transforms of every BVH joint."""

    rotations: np.ndarray  # (F, J, 4) unit quaternions (w, x, y, z), parent frame
    translations: np.ndarray  # (F, J, 3) offsets from the parent (file units)
    parents: tuple[int, ...]  # (J,) parent index, -1 for the root
    frame_time: float  # seconds per frame


def axis_quaternions(axis: int, degrees: np.ndarray) -> np.ndarray:
    """Rotations by ``degrees`` (...,) about coordinate ``axis`` (0, 1, 2) -> (..., 4).

    q = (cos(a/2), sin(a/2) e_axis), a in radians; counter-clockwise looking down the axis.
    """
    half = np.radians(degrees) / 2
    q = np.zeros((*half.shape, 4))
    q[..., 0] = np.cos(half)
    q[..., 1 + axis] = np.sin(half)
    return q


def euler_to_quaternions(degrees: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles (..., k) in channel ``order`` (e.g. "ZXY") -> quaternions (..., 4).

    q = q_{order[0]} ⊗ q_{order[1]} ⊗ ... (the first listed rotation is the outermost).
    """
    q = np.zeros((*degrees.shape[:-1], 4))
    q[..., 0] = 1.0
    for k, letter in enumerate(order):
        q = qmul(q, axis_quaternions(_AXES[letter], degrees[..., k]))
    return q


def snapped_frame_time(frame_time: float) -> float:
    """1 / round(1 / frame_time) when the rate is within FPS_SNAP of a whole number: files
    round the frame time (0.0333333), which would otherwise lose a frame when resampling."""
    fps = 1.0 / frame_time
    return 1.0 / round(fps) if round(fps) >= 1 and abs(fps - round(fps)) < FPS_SNAP else frame_time


def local_motion(bvh: Bvh) -> LocalMotion:
    """Local rotations and translations of every joint on every frame of ``bvh``."""
    frames, count = bvh.num_frames, len(bvh.joints)
    rotations = np.zeros((frames, count, 4))
    rotations[..., 0] = 1.0
    translations = np.zeros((frames, count, 3))
    for j, (joint, columns) in enumerate(zip(bvh.joints, bvh.channel_columns())):
        values = bvh.motion[:, columns]  # (F, n_j)
        translations[:, j] = joint.offset
        for k, channel in enumerate(joint.channels):
            if channel in POSITION_CHANNELS:
                translations[:, j, _AXES[channel[0]]] = values[:, k]
        rot = [k for k, c in enumerate(joint.channels) if c in ROTATION_CHANNELS]
        if rot:
            order = "".join(joint.channels[k][0] for k in rot)
            rotations[:, j] = euler_to_quaternions(values[:, rot], order)
    return LocalMotion(
        rotations, translations, tuple(bvh.parents), snapped_frame_time(bvh.frame_time)
    )


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Shortest-path spherical interpolation, (..., 4) x (..., 4) x (...,) -> (..., 4).

    slerp = (sin((1-t)θ) q0 + sin(tθ) q1') / sin θ, q1' = ±q1 with q0·q1' >= 0, cos θ = q0·q1';
    normalised linear interpolation where θ is tiny.
    """
    d = np.sum(q0 * q1, axis=-1, keepdims=True)  # (..., 1)
    q1 = np.where(d < 0, -q1, q1)
    d = np.clip(np.abs(d), 0.0, 1.0)
    theta = np.arccos(d)
    t = np.asarray(t)[..., None]
    small = theta < SLERP_LINEAR_BELOW
    sin_theta = np.where(small, 1.0, np.sin(theta))
    a = np.where(small, 1 - t, np.sin((1 - t) * theta) / sin_theta)
    b = np.where(small, t, np.sin(t * theta) / sin_theta)
    q = a * q0 + b * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def resample_times(num_frames: int, frame_time: float, fps: float) -> np.ndarray:
    """Fractional source frame indices (N,) of the frames of a ``fps`` clip over the same span.

    N = floor((F - 1) frame_time fps) + 1: every output frame lies within the recording.
    """
    duration = (num_frames - 1) * frame_time
    count = int(np.floor(duration * fps + 1e-6)) + 1
    return np.arange(count) / fps / frame_time


def resample(motion: LocalMotion, fps: float) -> LocalMotion:
    """The same motion at ``fps`` frames per second (slerp rotations, lerp translations)."""
    u = resample_times(motion.rotations.shape[0], motion.frame_time, fps)  # (N,)
    last = motion.rotations.shape[0] - 1
    i0 = np.minimum(np.floor(u + 1e-9).astype(np.int64), max(last - 1, 0))
    i1 = np.minimum(i0 + 1, last)
    t = np.clip(u - i0, 0.0, 1.0)  # (N,)
    rotations = slerp(motion.rotations[i0], motion.rotations[i1], t[:, None])  # (N, J, 4)
    tr0, tr1 = motion.translations[i0], motion.translations[i1]  # (N, J, 3)
    translations = tr0 + t[:, None, None] * (tr1 - tr0)
    return LocalMotion(rotations, translations, motion.parents, 1.0 / fps)


def forward_kinematics(motion: LocalMotion) -> tuple[np.ndarray, np.ndarray]:
    """Global positions (F, J, 3) and rotations (F, J, 4) of every joint (module doc)."""
    positions = np.zeros(motion.translations.shape)
    rotations = np.zeros(motion.rotations.shape)
    for j, parent in enumerate(motion.parents):
        if parent < 0:
            positions[:, j] = motion.translations[:, j]
            rotations[:, j] = motion.rotations[:, j]
            continue
        if parent >= j:
            raise ValueError(f"joint {j} comes before its parent {parent}; parents must come first")
        positions[:, j] = positions[:, parent] + qrot(
            rotations[:, parent], motion.translations[:, j]
        )
        rotations[:, j] = qmul(rotations[:, parent], motion.rotations[:, j])
    return positions, rotations


def end_site_positions(
    bvh: Bvh, positions: np.ndarray, rotations: np.ndarray
) -> dict[str, np.ndarray]:
    """Global positions (F, 3) of each joint's End Site, keyed by the joint's name."""
    return {
        joint.name: positions[:, j]
        + qrot(rotations[:, j], np.broadcast_to(joint.end_site, positions[:, j].shape))
        for j, joint in enumerate(bvh.joints)
        if joint.end_site is not None
    }
