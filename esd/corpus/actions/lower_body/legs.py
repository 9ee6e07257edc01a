"""Legs of the lower-body actions, solved in a floor frame by two-bone inverse kinematics.

An action says, in a floor frame (y up, floor at 0, the starting pelvis above the origin,
heading 0), where the pelvis is and where the ball of each foot rests; ``place_leg`` finds the
hip, knee and ankle rotations (analytic two-bone IK, the foot pitched in the floor frame).
Planted feet thus keep exactly their relative position, which the physics needs to hold both
still. Symmetric movements (squats, bows) are described by one leg's sagittal angles and pinned
the same way (``symmetric_legs``). ``grounded_result`` wraps a pose whose feet stay on the
floor into an ``ActionResult``.
"""

from __future__ import annotations

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import ActionRequest, ActionResult, facts_of
from esd.corpus.physics import BodyMotion
from esd.corpus.rig import REST_OFFSETS, X_AXIS, axis_angle
from esd.motion.quaternion import qconj, qmul, qrot
from esd.motion.skeleton import JOINT_INDEX

SIDES = ("left", "right")
REST_JOINTS = rig.rest_joints()
STAND_HEIGHT = rig.standing_pelvis_height()
START_PELVIS = np.array([0.0, STAND_HEIGHT, 0.0])  # floor frame: the pelvis of the rest pose
REACH = 0.95  # fraction of the straight-leg length a stepping leg may span at touchdown


def joint_index(side: str, part: str) -> int:
    return JOINT_INDEX[f"{side}_{part}"]


def rest_ball(side: str) -> np.ndarray:
    """Floor-frame position (3,) of the ball of the foot in the rest pose."""
    return REST_JOINTS[joint_index(side, "foot")] + START_PELVIS


def _leg_vector(side: str, knee: np.ndarray) -> np.ndarray:
    """Hip -> ankle (T, 3) of a leg with the hip at rest and the knee flexed by ``knee`` (T,)."""
    thigh, shin = REST_OFFSETS[joint_index(side, "knee")], REST_OFFSETS[joint_index(side, "ankle")]
    cos, sin = np.cos(knee), np.sin(knee)
    bent = np.stack(
        [np.full_like(knee, shin[0]), shin[1] * cos - shin[2] * sin, shin[1] * sin + shin[2] * cos],
        axis=-1,
    )
    return thigh + bent


def leg_span(side: str, knee: float) -> float:
    """Hip-to-ankle distance (m) of a leg whose knee is flexed by ``knee`` radians."""
    return float(np.linalg.norm(_leg_vector(side, np.array([knee]))[0]))


def _knee_for_span(side: str, span: np.ndarray) -> np.ndarray:
    """Knee flexion (T,) giving a hip-to-ankle distance ``span`` (T,), clamped to [0, pi]."""
    thigh, shin = REST_OFFSETS[joint_index(side, "knee")], REST_OFFSETS[joint_index(side, "ankle")]
    p, q = thigh[1] * shin[1], -thigh[1] * shin[2]  # thigh . Rx(k) shin = p cos k + q sin k + c
    constant = thigh @ thigh + shin @ shin + 2 * thigh[0] * shin[0]
    cosine = (span**2 - constant) / (2 * np.hypot(p, q))
    return np.maximum(0.0, np.arctan2(q, p) + np.arccos(np.clip(cosine, -1.0, 1.0)))


def _orthonormal_frame(direction: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) with columns (u, x', u x x'): u = ``direction`` normalised,
    x' = the x axis made perpendicular to u (well defined: no leg direction is sideways)."""
    u = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    hinge = X_AXIS - u[:, :1] * u  # x - (x . u) u
    hinge /= np.linalg.norm(hinge, axis=1, keepdims=True)
    return np.stack([u, hinge, np.cross(u, hinge)], axis=2)


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Unit quaternions (T, 4) of rotation matrices (T, 3, 3) (Shepperd: the largest component
    is taken from the diagonal, the others from the off-diagonal sums)."""
    m00, m11, m22 = m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]
    squares = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22,
                        1 - m00 - m11 + m22], axis=1)  # fmt: skip
    pick = np.argmax(squares, axis=1)
    s = 2 * np.sqrt(squares[np.arange(len(m)), pick])  # 4 |q_pick|
    a, b, c = m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]
    e, f, g = m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1]
    rows = (
        (s * s / 4, a, b, c),  # w largest
        (a, s * s / 4, e, f),  # x largest
        (b, e, s * s / 4, g),  # y largest
        (c, f, g, s * s / 4),  # z largest
    )
    q = np.stack([np.choose(pick, [row[k] for row in rows]) for k in range(4)], axis=1) / s[:, None]
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def leg_ik(pose: rig.Pose, side: str, ankle: np.ndarray) -> None:
    """Rotate the hip and flex the knee of ``side`` so the ankle reaches ``ankle`` (T, 3).

    ``ankle`` is relative to the pelvis in the heading frame; the pelvis rotation must be set and
    the leg at rest. The knee flexion gives the hip-to-ankle distance; the hip rotation turns
    that leg vector onto the target while keeping the knee hinge as close to the pelvis's x axis
    as possible, so the knee points forward (the identity when the target is the rest ankle).
    """
    pelvis = pose.local[:, 0]
    hip = REST_OFFSETS[joint_index(side, "hip")]
    d = qrot(qconj(pelvis), ankle - qrot(pelvis, hip))  # (T, 3) hip -> ankle, pelvis frame
    knee = _knee_for_span(side, np.linalg.norm(d, axis=1))
    v = _leg_vector(side, knee)  # (T, 3) hip -> ankle in the thigh's frame
    turn = _orthonormal_frame(d) @ np.swapaxes(_orthonormal_frame(v), 1, 2)  # (T, 3, 3)
    j = joint_index(side, "hip")
    pose.local[:, j] = qmul(pose.local[:, j], matrix_to_quaternion(turn))
    rig.knee_flex(pose, side, knee)


def ankle_target(side: str, ball: np.ndarray, pitch: np.ndarray | float) -> np.ndarray:
    """Where the ankle is when the ball of the foot is at ``ball`` with the foot pitched by
    ``pitch`` (heel raise, radians; 0 = flat) in the floor frame."""
    ankle = ball - qrot(axis_angle(X_AXIS, pitch), REST_OFFSETS[joint_index(side, "foot")])
    return ankle[0] if np.ndim(pitch) == 0 else ankle


def place_leg(
    pose: rig.Pose, side: str, pelvis: np.ndarray, ball: np.ndarray, pitch: np.ndarray
) -> None:
    """Set the leg of ``side`` so its ball is at ``ball`` (T, 3) when the pelvis is at ``pelvis``
    (T, 3), both in the floor frame; the foot is pitched by ``pitch`` (T,) in that frame (the
    ankle rotation is whatever undoes the shin's orientation)."""
    frames = pose.frames
    pitch = np.broadcast_to(pitch, (frames,)).astype(np.float64)
    leg_ik(pose, side, ankle_target(side, ball, pitch) - pelvis)
    shin = qmul(
        qmul(pose.local[:, 0], pose.local[:, joint_index(side, "hip")]),
        pose.local[:, joint_index(side, "knee")],
    )
    pose.local[:, joint_index(side, "ankle")] = qmul(qconj(shin), axis_angle(X_AXIS, pitch))


def sagittal_leg(pose: rig.Pose, side: str, tilt, thigh, shin, heel) -> None:
    """Leg angles from floor-frame pitches: thigh forward of vertical, shin leaning forward (knee
    ahead of the ankle), heel raise; ``tilt`` is the pelvis pitch already applied."""
    rig.hip_flex(pose, side, thigh + tilt)
    rig.knee_flex(pose, side, thigh + shin)
    rig.ankle_flex(pose, side, shin - heel)


def symmetric_legs(pose: rig.Pose, tilt, thigh, shin, heel) -> np.ndarray:
    """Pitch the pelvis by ``tilt`` and bend both legs alike (``sagittal_leg`` pitches, (T,)),
    both balls pinned at rest; returns the floor-frame pelvis path (T, 3)."""
    frames = pose.frames
    rig.pelvis_tilt(pose, tilt)
    probe = rig.Pose.rest(frames)
    rig.pelvis_tilt(probe, tilt)
    sagittal_leg(probe, "left", tilt, thigh, shin, heel)
    pelvis = rest_ball("left") - rig.forward_kinematics(probe)[:, joint_index("left", "foot")]
    for side in SIDES:
        ball = np.broadcast_to(rest_ball(side), (frames, 3))
        place_leg(pose, side, pelvis, ball, np.broadcast_to(heel, (frames,)))
    return pelvis


def pitched(offset: np.ndarray, angle: float) -> np.ndarray:
    """``offset`` (3,) rotated by ``angle`` about x."""
    return qrot(axis_angle(X_AXIS, angle)[0], offset)


def pitch_for_height(offset: np.ndarray, height: float, hint: float) -> float:
    """Angle b about x with (Rx(b) offset)_y = ``height``, the solution nearest ``hint``."""
    radius, beta = np.hypot(offset[1], offset[2]), np.arctan2(offset[2], offset[1])
    base = np.arccos(np.clip(height / radius, -1.0, 1.0))
    candidates = np.array([base - beta, -base - beta])
    wrapped = (candidates - hint + np.pi) % (2 * np.pi) - np.pi
    return float(hint + wrapped[np.argmin(np.abs(wrapped))])


def pelvis_height_for(
    pelvis_xz: tuple[float, float], tilt: float, side: str, ankle: np.ndarray, span: float
) -> float:
    """Pelvis height putting the hip of ``side`` at distance ``span`` from ``ankle`` (3,)."""
    hip = pitched(REST_OFFSETS[joint_index(side, "hip")], tilt)
    dx, dz = ankle[0] - pelvis_xz[0] - hip[0], ankle[2] - pelvis_xz[1] - hip[2]
    return float(ankle[1] + np.sqrt(max(span**2 - dx**2 - dz**2, 0.0)) - hip[1])


def reachable_height(pelvis_xz, tilt: float, ankles: dict, reach: float = REACH) -> float:
    """Highest pelvis (at most a little below standing) from which every leg reaches its ankle
    target spanning at most ``reach`` of its straight length (0.95: knee ~36 deg)."""
    limits = [
        pelvis_height_for(pelvis_xz, tilt, side, ankle, reach * leg_span(side, 0.0))
        for side, ankle in ankles.items()
    ]
    return min([*limits, STAND_HEIGHT - 0.02])


def grounded_result(request: ActionRequest, pose: rig.Pose, planted: np.ndarray) -> ActionResult:
    motion = BodyMotion(pose, planted, np.zeros(pose.frames, dtype=bool))
    return ActionResult(motion, facts_of(request))
