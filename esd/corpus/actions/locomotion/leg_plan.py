"""The leg plan of a locomotion action and its inverse kinematics.

A ``LegPlan`` holds WORLD targets for T frames: where each ball of the foot is (planted feet stay
exactly where they were put down), where the pelvis is and how it is turned. ``solve_legs``
finds the hip, knee and ankle rotations that reach those targets; ``reach_height`` and
``settle_height`` cap the pelvis at what the legs can reach (so a walk dips in double support by
itself), and ``body_motion`` hands the solved plan to the physics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import planted_feet
from esd.corpus.actions.locomotion.curve_tools import smooth, widen
from esd.corpus.physics import BodyMotion, ballistic_fill
from esd.motion.quaternion import quat_to_matrix
from esd.motion.skeleton import JOINT_INDEX

J = JOINT_INDEX
FEET = ("left", "right")  # foot axis of every (T, 2, ...) array: 0 = left, 1 = right
STAND = rig.standing_pelvis_height()  # pelvis height standing at rest (m)
IK_ITERATIONS = 4  # ankle-target corrections after the analytic solution (sub-mm residual)

_REST = rig.rest_joints()
REST_BALL = np.stack([_REST[J[f"{s}_foot"]] for s in FEET])  # (2, 3) relative to the pelvis
FOOT_WIDTH = REST_BALL[0, 0] - REST_BALL[1, 0]  # lateral distance of the feet at rest (m)
# Height of each planted ball (m): the legs differ by 2 mm, so the right ball rests a little
# higher when both feet stand flat (alone on the floor, the physics lowers it onto the contact
# height of a foot, rig.CONTACT_HEIGHT["foot"]).
SOLE = STAND + REST_BALL[:, 1]
FULL_REACH = 0.998  # share of the straight leg a lifted foot may stretch to
TRAILING = 0.15  # m behind the hip from which a lifted foot counts as trailing


def heading_axes(heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World (x, z) unit vectors (T, 2) of the body's forward and left directions."""
    forward = np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    left = np.stack([np.cos(heading), -np.sin(heading)], axis=-1)
    return forward, left


@dataclass
class LegPlan:
    """World targets the legs are solved for (T frames; foot axis 0 = left, 1 = right)."""

    pelvis: np.ndarray  # (T, 3) pelvis position (the physics rebuilds the same one)
    heading: np.ndarray  # (T,) body yaw (rad, positive = turned left)
    balls: np.ndarray  # (T, 2, 3) ball-of-the-foot positions
    foot_yaw: np.ndarray  # (T, 2) world yaw of each foot
    heel: np.ndarray  # (T, 2) heel raise: toes-down pitch of the foot (rad)
    planted: np.ndarray  # (T, 2) bool: the ball rests on the floor
    airborne: np.ndarray  # (T,) bool: no floor contact
    turn: np.ndarray  # (T,) pelvis turned left about the vertical (rad)
    tilt: np.ndarray  # (T,) pelvis pitched forward (rad)
    roll: np.ndarray  # (T,) pelvis tipped toward the left (rad)

    @classmethod
    def standing(cls, frames: int) -> LegPlan:
        """Standing still at rest: pelvis over the origin, both feet planted, heading 0."""
        zeros = np.zeros(frames)
        pelvis = np.zeros((frames, 3))
        pelvis[:, 1] = STAND
        balls = np.broadcast_to(REST_BALL + pelvis[:1, None], (frames, 2, 3)).copy()
        return cls(
            pelvis=pelvis,
            heading=zeros.copy(),
            balls=balls,
            foot_yaw=np.zeros((frames, 2)),
            heel=np.zeros((frames, 2)),
            planted=np.ones((frames, 2), dtype=bool),
            airborne=np.zeros(frames, dtype=bool),
            turn=zeros.copy(),
            tilt=zeros.copy(),
            roll=zeros.copy(),
        )

    @property
    def frames(self) -> int:
        return len(self.heading)


def pelvis_pose(plan: LegPlan) -> rig.Pose:
    """A rest pose with the plan's heading and pelvis rotation."""
    pose = rig.Pose.rest(plan.frames)
    pose.yaw = plan.heading.copy()
    rig.pelvis_turn(pose, plan.turn)
    rig.pelvis_tilt(pose, plan.tilt)
    rig.pelvis_roll(pose, "left", plan.roll)
    return pose


def pelvis_frame(pose: rig.Pose) -> np.ndarray:
    """Global rotation matrices (T, 3, 3) of the pelvis: heading times its local rotation."""
    heading = quat_to_matrix(rig.axis_angle(rig.Y_AXIS, pose.yaw))
    return heading @ quat_to_matrix(pose.local[:, 0])


def foot_vectors(foot_yaw: np.ndarray, heel: np.ndarray, side: str) -> np.ndarray:
    """World ankle -> ball vectors (T, 3) of a foot with the given yaw and heel raise."""
    offset = rig.REST_OFFSETS[J[f"{side}_foot"]]
    pitch = quat_to_matrix(rig.axis_angle(rig.X_AXIS, heel))  # toes down for heel > 0
    yaw = quat_to_matrix(rig.axis_angle(rig.Y_AXIS, foot_yaw))
    return (yaw @ pitch) @ offset


def leg_reach(side: str) -> float:
    """Hip -> ankle distance (m) of the straight leg (the longest the leg can reach)."""
    thigh, shin = rig.REST_OFFSETS[J[f"{side}_knee"]], rig.REST_OFFSETS[J[f"{side}_ankle"]]
    return float(np.linalg.norm(thigh + shin))


def reach_height(plan: LegPlan, feet: np.ndarray | None = None) -> np.ndarray:
    """Highest pelvis (T,) from which the ankles still reach their targets (legs straight);
    ``feet`` (T, 2) bool: which feet count in each frame (default: both)."""
    frame = pelvis_frame(pelvis_pose(plan))  # (T, 3, 3)
    limit = np.full(plan.frames, np.inf)
    feet = np.ones((plan.frames, 2), dtype=bool) if feet is None else feet
    for f, side in enumerate(FEET):
        ankle = plan.balls[:, f] - foot_vectors(plan.foot_yaw[:, f], plan.heel[:, f], side)
        hip = frame @ rig.REST_OFFSETS[J[f"{side}_hip"]]  # (T, 3) relative to the pelvis
        horizontal = ankle[:, [0, 2]] - plan.pelvis[:, [0, 2]] - hip[:, [0, 2]]
        rise = np.sqrt(np.maximum(leg_reach(side) ** 2 - (horizontal**2).sum(axis=1), 0.0))
        limit = np.where(feet[:, f], np.minimum(limit, ankle[:, 1] + rise - hip[:, 1]), limit)
    return limit


def lift_free_feet(plan: LegPlan, share: float = FULL_REACH) -> None:
    """Raise any lifted foot that trails its hip by more than ``share`` of the leg's reach: it
    follows the body up (the trailing foot of a run rises with the flight); a foot reaching
    forward to land may stretch the leg fully."""
    frame = pelvis_frame(pelvis_pose(plan))
    forward, _ = heading_axes(plan.heading)
    for f, side in enumerate(FEET):
        ankle = plan.balls[:, f] - foot_vectors(plan.foot_yaw[:, f], plan.heel[:, f], side)
        hip = plan.pelvis + frame @ rig.REST_OFFSETS[J[f"{side}_hip"]]
        horizontal = (ankle - hip)[:, [0, 2]]
        behind = np.clip(-np.einsum("ti,ti->t", horizontal, forward) / TRAILING, 0.0, 1.0)
        reach = (FULL_REACH - (FULL_REACH - share) * behind) * leg_reach(side)
        lowest = hip[:, 1] - np.sqrt(np.maximum(reach**2 - (horizontal**2).sum(axis=1), 0.0))
        raise_by = np.where(plan.planted[:, f], 0.0, np.maximum(lowest - ankle[:, 1], 0.0))
        plan.balls[:, f, 1] += raise_by


def settle_height(
    plan: LegPlan, nominal: np.ndarray, sigma: float = 1.5, free_reach: float = FULL_REACH
) -> None:
    """Set the pelvis height: ``nominal`` lowered where the legs cannot reach (the cut is
    smoothed, the nominal curve kept); flights ballistic; lifted feet kept within
    ``free_reach`` of the leg's reach."""
    limit = reach_height(plan)
    support = ~plan.airborne
    cut = nominal - np.minimum(nominal, limit)
    frames = np.arange(plan.frames)
    cut = np.interp(frames, frames[support], cut[support])  # bridge the flights
    height = np.minimum(nominal - smooth(widen(cut, round(1.5 * sigma)), sigma), limit)
    height[plan.airborne] = np.nan
    plan.pelvis[:, 1] = ballistic_fill(height, plan.airborne)
    lift_free_feet(plan, free_reach)


def _solve_leg(
    pose: rig.Pose, side: str, root: np.ndarray, ankle: np.ndarray, foot: np.ndarray
) -> None:
    """Analytic IK of one leg: hip (rotate, abduct, flex), knee and ankle for world targets.

    ``ankle`` (T, 3): ankle target; ``foot`` (T, 3): desired world ankle -> ball vector. The hip
    rotation turns the leg to the foot's yaw, the abduction tilts the leg plane through the
    target, the knee sets the hip-ankle distance and the hip flexion swings the leg onto it.
    """
    hip_j, knee_j, ankle_j = (J[f"{side}_{n}"] for n in ("hip", "knee", "ankle"))
    sign = rig.SIDE_SIGN[side]
    frame = pelvis_frame(pose)  # (T, 3, 3)
    hip = root + frame @ rig.REST_OFFSETS[hip_j]
    v = np.einsum("tji,tj->ti", frame, ankle - hip)  # target in the pelvis frame
    d = np.einsum("tji,tj->ti", frame, foot)
    rest = rig.REST_OFFSETS[J[f"{side}_foot"]]
    psi = np.arctan2(d[:, 0], d[:, 2]) - np.arctan2(rest[0], rest[2])  # foot yaw in the pelvis
    vx = v[:, 0] * np.cos(psi) - v[:, 2] * np.sin(psi)
    vz = v[:, 0] * np.sin(psi) + v[:, 2] * np.cos(psi)
    thigh, shin = rig.REST_OFFSETS[knee_j], rig.REST_OFFSETS[ankle_j]
    radial = np.maximum(np.hypot(vx, v[:, 1]), 1e-6)
    phi = np.arctan2(vx, -v[:, 1]) - np.arcsin(np.clip(thigh[0] / radial, -1, 1))
    wy = -vx * np.sin(phi) + v[:, 1] * np.cos(phi)
    rho, delta = np.hypot(shin[1], shin[2]), np.arctan2(-shin[2], -shin[1])
    cos_knee = (wy**2 + vz**2 - thigh[1] ** 2 - rho**2) / (2 * abs(thigh[1]) * rho)
    knee = np.arccos(np.clip(cos_knee, -1.0, np.cos(delta))) - delta
    qy = thigh[1] + shin[1] * np.cos(knee) - shin[2] * np.sin(knee)
    qz = shin[1] * np.sin(knee) + shin[2] * np.cos(knee)
    flex = -np.arctan2(qy * vz - qz * wy, qy * wy + qz * vz)
    pose.local[:, [hip_j, knee_j, ankle_j]] = rig.IDENTITY
    rig.hip_rotate(pose, side, sign * psi)
    rig.hip_abduct(pose, side, sign * phi)
    rig.hip_flex(pose, side, flex)
    rig.knee_flex(pose, side, knee)
    shin_frame = (
        frame @ quat_to_matrix(pose.local[:, hip_j]) @ quat_to_matrix(pose.local[:, knee_j])
    )
    u = np.einsum("tji,tj->ti", shin_frame, foot)
    toes_up = np.arctan2(rest[2], rest[1]) - np.arctan2(u[:, 2], u[:, 1])
    rig.ankle_flex(pose, side, (toes_up + np.pi) % (2 * np.pi) - np.pi)


def solve_legs(plan: LegPlan) -> rig.Pose:
    """The pose (heading, pelvis rotation, legs) that puts both balls of the feet on target."""
    pose = pelvis_pose(plan)
    vectors = [foot_vectors(plan.foot_yaw[:, f], plan.heel[:, f], s) for f, s in enumerate(FEET)]
    ankles = [plan.balls[:, f] - vectors[f] for f in range(2)]
    for _ in range(IK_ITERATIONS):
        for f, side in enumerate(FEET):
            _solve_leg(pose, side, plan.pelvis, ankles[f], vectors[f])
        joints = rig.forward_kinematics(pose, plan.pelvis)
        for f, side in enumerate(FEET):
            ankles[f] = ankles[f] + plan.balls[:, f] - joints[:, J[f"{side}_foot"]]
    for f, side in enumerate(FEET):
        _solve_leg(pose, side, plan.pelvis, ankles[f], vectors[f])
    return pose


def body_motion(plan: LegPlan, pose: rig.Pose) -> BodyMotion:
    """The BodyMotion of a solved plan (planted balls of the feet, airborne frames)."""
    planted = planted_feet(plan.frames, plan.planted[:, 0], plan.planted[:, 1])
    return BodyMotion(pose, planted, plan.airborne.copy())
