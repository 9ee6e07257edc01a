"""Locomotion and whole-body actions: walk, run, jump, spin, dance, climb.

Every generator here plans the legs in the WORLD and solves them by inverse kinematics: it lays
out where each ball of the foot is on every frame (planted feet stay exactly where they were put
down), where the pelvis is and how it is turned, and ``solve_legs`` finds the hip, knee and ankle
rotations that reach those targets. The physics (``esd.corpus.physics.ground``) then rebuilds the
same root trajectory from the planted feet, so a planted foot never slides, even with both feet
down while the body turns or sways; flights follow the ballistic arc the plan also uses. The
pelvis height of a gait is the planned height capped by what the legs can reach
(``reach_height``), so the body dips in the double support of a walk by itself.

Timelines (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* walk: weight shift (0.3) -> a step every ~0.52 s (swing ~0.43, both feet down ~0.1; the first
  steps speed up, the last two slow down and bring the feet together) -> stand (0.4). Steps
  ~0.62 m (~1.2 m/s); the heel rises before the foot leaves, the arms swing opposite to the
  legs, the pelvis turns, sways and dips a little, the thorax counter-rotates. forward (side:
  the first foot) / backward (shorter steps, toes land first) / sideways (step-close: the
  leading foot steps wide, the other closes; side = direction) / circle (radius 0.9-1.5 m,
  side = turning direction) / turn (two steps, a 90-180 deg turn over 1.2-2.4 s, walking on).
* run: from a standstill it speeds up over ~1.3 s (walking steps turning into running ones),
  runs, and slows to a stop; each step's period and stance follow the speed. forward: ~3 m/s,
  a step every 0.36 s, stance 0.25 s, so both feet are off the floor ~0.1 s between stances;
  the heel kicks up and the knee drives forward, elbows bent ~90 deg pump, the trunk leans
  forward. jog: ~2.2 m/s, lower feet, less lean. circle: radius 2-3 m, leaning into the turn
  (side = turning direction).
* jump: crouch (0.38) -> push up (0.24; heels rise, arms swing forward and up) -> flight
  (0.3-0.45, ballistic) -> land on the balls and absorb (0.25) -> [push into the next jump] ->
  stand up (0.45). in_place: on the spot; forward: the hips go back in the crouch and drive
  forward, the feet land ~0.8-1 m ahead; hop: on the ``side`` leg, the other foot held up
  behind from the crouch (0.55) until after the last landing; jumping_jacks: shallow bounces,
  legs spread and arms overhead in the air, feet together and arms down at each landing.
* spin: lean over the ball of the ``side`` foot (0.4) -> a paddle turn of 360 deg per rep
  (~1.7 s): the body pivots on that ball while the other foot, lifted a little, circles along
  and touches down 3-4 times a turn; heels raised, arms slightly out -> back to standing
  (0.5). left = counter-clockwise (heading increasing).
* dance: beats every 0.5 s. groove: step-touch side to side (a step per beat), the knees dip
  on every beat, hips sway, bent arms swing in turn, the head nods; twist: feet planted, knees
  bent, the hips swivel one way per beat on the balls of the feet while the shoulders
  counter-rotate, going down and up; disco: step-touch every two beats with hip sway, one arm
  pointing up and out then down across the body, the other hand on the hip.
* climb: climbing a ladder in place: each step (~0.8 s) lifts one knee high (the foot up onto
  an imaginary rung) while the opposite hand reaches overhead, then pulls down to head height
  as the foot returns; the body leans in toward the ladder, the eyes look up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import (
    DEG,
    TEMPO,
    ActionRequest,
    ActionResult,
    facts_of,
    jitter,
    planted_feet,
    register,
    seconds_to_frames,
)
from esd.corpus.curves import keyframes, minjerk
from esd.corpus.physics import GRAVITY, BodyMotion, ballistic_fill
from esd.motion.quaternion import quat_to_matrix
from esd.motion.skeleton import FPS, JOINT_INDEX

J = JOINT_INDEX
FEET = ("left", "right")  # foot axis of every (T, 2, ...) array: 0 = left, 1 = right
STAND = rig.standing_pelvis_height()  # pelvis height standing at rest (m)
MAX_SECONDS = 8.2  # longest segment generated (the contract allows 8.5 s)
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


# --- small curve tools ------------------------------------------------------------------------


def ease_keys(u: np.ndarray, times: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """Values at arbitrary times ``u`` through (time, value) keys, min-jerk eased between them."""
    times, values = np.asarray(times, float), np.asarray(values, float)
    index = np.clip(np.searchsorted(times, u, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(index + 1, len(times) - 1)
    span = np.maximum(times[nxt] - times[index], 1e-9)
    return values[index] + (values[nxt] - values[index]) * minjerk((u - times[index]) / span)


def swing_keys(frames: int, times: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """Curve (T,) through (time s, value) keys with cosine easing: back-and-forth swings move
    like a pendulum (lower peak speed than min-jerk keys, still at rest at each key)."""
    times, values = np.asarray(times, float), np.asarray(values, float)
    t = np.arange(frames) / FPS
    index = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(index + 1, len(times) - 1)
    u = np.clip((t - times[index]) / np.maximum(times[nxt] - times[index], 1e-9), 0.0, 1.0)
    return values[index] + (values[nxt] - values[index]) * 0.5 * (1 - np.cos(np.pi * u))


def bump(u: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 on u in [0, 1] with zero slope at both ends (peak at u = 0.5)."""
    u = np.clip(u, 0.0, 1.0)
    return 64.0 * u**3 * (1.0 - u) ** 3


def smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (T,) over frames, the edges held."""
    if sigma <= 0:
        return values.copy()
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def widen(values: np.ndarray, radius: int) -> np.ndarray:
    """Running maximum (T,) over +-``radius`` frames."""
    padded = np.pad(values, radius, mode="edge")
    return np.max([padded[i : i + len(values)] for i in range(2 * radius + 1)], axis=0)


def hermite(frames: int, keys: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Curve (T,) through (time s, value, slope per s) keys, cubic Hermite between them."""
    t = np.arange(frames) / FPS
    times = np.array([k[0] for k in keys])
    index = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(keys) - 2)
    out = np.empty(frames)
    for i in range(len(keys) - 1):
        (t0, y0, m0), (t1, y1, m1) = keys[i], keys[i + 1]
        mask = index == i
        span = max(t1 - t0, 1e-9)
        u = np.clip((t[mask] - t0) / span, 0.0, 1.0)
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
        h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
        out[mask] = h00 * y0 + h10 * span * m0 + h01 * y1 + h11 * span * m1
    out[t < times[0]] = keys[0][1]
    out[t > times[-1]] = keys[-1][1]
    return out


def heading_axes(heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World (x, z) unit vectors (T, 2) of the body's forward and left directions."""
    forward = np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    left = np.stack([np.cos(heading), -np.sin(heading)], axis=-1)
    return forward, left


# --- the leg plan and its inverse kinematics --------------------------------------------------


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


# --- footsteps: stances, swings and the neutral-point placement of a gait ---------------------


@dataclass
class Stance:
    """One foot resting on the floor from ``start`` to ``end`` seconds at one spot."""

    start: float
    end: float
    xz: np.ndarray  # (2,) world x, z of the ball of the foot
    yaw: float  # world yaw of the foot


@dataclass(frozen=True)
class FootStyle:
    """How a foot leaves, travels and lands (heel raises in radians, toes-down positive)."""

    lift: float = 0.06  # ball height above the floor in mid-swing (m) for a full step
    full_step: float = 0.5  # world travel of the foot (m) that gets the full lift
    heel_off: float = 20 * DEG  # heel raised at lift-off (the push off the ball)
    heel_land: float = 0.0  # heel raised at touchdown (landing on the ball)
    heel_swing: float = -6 * DEG  # in mid-swing (negative: toes up for clearance)
    roll: float = 0.15  # s of heel rise before lift-off and of heel lowering after touchdown
    early: float = 0.0  # 0..0.9: moves the swing's highest point earlier (heel kick of a run)
    glide: float = 0.0  # 0..0.5: share of constant speed in the swing (lower peak foot speed;
    # the foot then leaves and lands with a little speed, as in a run's toe-off and strike)


Step = tuple[int, float, float]  # (foot 0/1, lift-off s, touchdown s)


def alternating_steps(first: int, starts: Sequence[float], swings: Sequence[float]) -> list[Step]:
    """Steps alternating feet from ``first``, lifting at ``starts`` and swinging ``swings`` s."""
    return [((first + i) % 2, s, s + w) for i, (s, w) in enumerate(zip(starts, swings))]


def stance_windows(steps: list[Step], end: float) -> list[list[tuple[float, float]]]:
    """Per foot the (start, end) seconds it stands: from 0, between its swings, until ``end``."""
    windows: list[list[tuple[float, float]]] = [[], []]
    since = [0.0, 0.0]
    for foot, lift, land in steps:
        windows[foot].append((since[foot], lift))
        since[foot] = land
    for foot in range(2):
        windows[foot].append((since[foot], end))
    return windows


@dataclass
class Path:
    """The nominal pelvis path sampled on frames: world x, z (T, 2) and heading (T,)."""

    xz: np.ndarray
    heading: np.ndarray

    def at(self, seconds: float) -> tuple[np.ndarray, float]:
        frame = np.arange(len(self.heading))
        t = seconds * FPS
        xz = np.array([np.interp(t, frame, self.xz[:, i]) for i in range(2)])
        return xz, float(np.interp(t, frame, self.heading))


def neutral_stances(
    steps: list[Step], end: float, path: Path, offsets: np.ndarray
) -> list[list[Stance]]:
    """Put each stance where the pelvis will be in its middle (``offsets`` (2, 2): per foot the
    lateral and forward offset of the ball in the heading frame); the first and last stances use
    the rest stance at the start and the end of the path, so the gait starts and ends standing.
    """
    stances: list[list[Stance]] = [[], []]
    for foot, windows in enumerate(stance_windows(steps, end)):
        for start, stop in windows:
            if start == 0.0 or stop == end:
                when, offset = (0.0 if start == 0.0 else end), REST_BALL[foot, [0, 2]]
            else:
                when, offset = 0.5 * (start + stop), offsets[foot]
            xz, heading = path.at(when)
            forward, left = heading_axes(np.array(heading))
            stances[foot].append(
                Stance(start, stop, xz + offset[0] * left + offset[1] * forward, heading)
            )
    return stances


def _stance_heel(t: np.ndarray, stance: Stance, first: bool, last: bool, style: FootStyle):
    """Heel raise (T,) inside one stance: lowered after touchdown, raised before lift-off."""
    heel = np.zeros_like(t)
    if not first and style.heel_land:
        heel += style.heel_land * (1 - minjerk((t - stance.start) / style.roll))
    if not last and style.heel_off:
        heel += style.heel_off * minjerk((t - (stance.end - style.roll)) / style.roll)
    return heel


def _swing(u: np.ndarray, before: Stance, after: Stance, style: FootStyle, sole: float):
    """Ball position (U, 3), yaw (U,) and heel (U,) of a swing from one stance to the next."""
    travel = after.xz - before.xz
    lift = style.lift * np.clip(np.linalg.norm(travel) / style.full_step, 0.35, 1.0)
    early = u + style.early * u * (1 - u)  # warped time: the highest point comes earlier
    ball = np.empty((len(u), 3))
    progress = (1 - style.glide) * minjerk(u) + style.glide * u
    ball[:, [0, 2]] = before.xz + travel * progress[:, None]
    ball[:, 1] = sole + lift * bump(early)
    turn = (after.yaw - before.yaw + np.pi) % (2 * np.pi) - np.pi
    yaw = before.yaw + turn * minjerk(u)
    heel = ease_keys(u, [0.0, 0.5, 1.0], [style.heel_off, style.heel_swing, style.heel_land])
    return ball, yaw, heel


def place_feet(plan: LegPlan, stances: list[list[Stance]], style: FootStyle) -> None:
    """Write the feet of ``plan`` from stances (planted) and the swings between them."""
    t = np.arange(plan.frames) / FPS
    for foot, sequence in enumerate(stances):
        for k, stance in enumerate(sequence):
            last = k == len(sequence) - 1
            inside = (t >= stance.start) & ((t < stance.end) | last)
            plan.balls[inside, foot] = [stance.xz[0], SOLE[foot], stance.xz[1]]
            plan.foot_yaw[inside, foot] = stance.yaw
            plan.heel[inside, foot] = _stance_heel(t[inside], stance, k == 0, last, style)
            plan.planted[:, foot] = np.where(inside, True, plan.planted[:, foot])
            if last:
                continue
            after = sequence[k + 1]
            swing = (t >= stance.end) & (t < after.start)
            u = (t[swing] - stance.end) / max(after.start - stance.end, 1e-9)
            ball, yaw, heel = _swing(u, stance, after, style, SOLE[foot])
            plan.balls[swing, foot], plan.foot_yaw[swing, foot], plan.heel[swing, foot] = (
                ball,
                yaw,
                heel,
            )
            plan.planted[swing, foot] = False
    plan.airborne = ~plan.planted.any(axis=1)


# --- shared gait pieces: timing, path, pelvis and upper-body rhythm ---------------------------


def gait_signals(plan: LegPlan, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(stride (T,), support (T,)): how far (m) the left ball is ahead of the right relative to
    the body (rest removed), and +1 / -1 while the left / right foot alone carries the body."""
    forward, _ = heading_axes(path.heading)
    ahead = np.einsum("tfi,ti->tf", plan.balls[:, :, [0, 2]] - path.xz[:, None], forward)
    stride = (ahead[:, 0] - ahead[:, 1]) - (REST_BALL[0, 2] - REST_BALL[1, 2])
    support = smooth(plan.planted[:, 0].astype(float) - plan.planted[:, 1], 1.5)
    return stride, support


def speed_profile(frames: int, go: float, full: float, slow: float, stop: float) -> np.ndarray:
    """0 before ``go`` s, 1 from ``full`` to ``slow``, 0 again from ``stop`` (min-jerk ramps)."""
    return keyframes(frames, [go, full, slow, stop], [0.0, 1.0, 1.0, 0.0])


def travel(speed: np.ndarray, heading: np.ndarray, angle: float = 0.0) -> np.ndarray:
    """World x, z (T, 2) of a pelvis moving at ``speed`` m/s along ``heading`` + ``angle``."""
    forward, _ = heading_axes(heading + angle)
    step = speed[:, None] * forward / FPS
    return np.concatenate([np.zeros((1, 2)), np.cumsum(step[:-1], axis=0)])


def sway_pelvis(plan: LegPlan, path: Path, support: np.ndarray, shift: float) -> None:
    """Pelvis on the path, shifted ``shift`` m sideways toward the supporting foot."""
    _, left = heading_axes(path.heading)
    plan.pelvis[:, [0, 2]] = path.xz + shift * support[:, None] * left
    plan.heading = path.heading.copy()


def swing_arms(pose: rig.Pose, stride: np.ndarray, gain: float, elbow: np.ndarray, pump: float):
    """Arms swing opposite to the legs (``gain`` rad per m of stride), elbows bent ``elbow``
    (T,) plus ``pump`` times the forward swing."""
    for side, sign in (("left", -1.0), ("right", 1.0)):
        swing = sign * gain * stride  # left arm back while the left leg is ahead
        rig.shoulder_flex(pose, side, swing)
        rig.shoulder_abduct(pose, side, 0.1 * np.abs(swing) + 0.2 * elbow)
        rig.elbow_flex(pose, side, elbow + pump * np.maximum(swing, 0.0))


def gait_trunk(pose: rig.Pose, plan: LegPlan, stride: np.ndarray, act: np.ndarray, lean: float):
    """Thorax counter-rotates against the pelvis, the trunk leans ``lean``, the head stays level."""
    twist = 0.35 * stride - plan.turn  # shoulders turn the other way than the pelvis
    rig.spine_twist(pose, twist)
    rig.spine_flex(pose, lean * act)
    rig.neck_turn(pose, -(twist + plan.turn))
    rig.neck_flex(pose, -0.6 * (lean * act + plan.tilt))


def duration_budget(request: ActionRequest, seconds: tuple[float, float], rng) -> float:
    """Target seconds of a segment: the catalog range scaled by the tempo, capped."""
    return min(rng.uniform(*seconds) * TEMPO[request.speed] ** 0.5, MAX_SECONDS)


# --- walk --------------------------------------------------------------------------------------

WALK_STEP = {"forward": 0.62, "backward": 0.42, "sideways": 0.24, "circle": 0.55, "turn": 0.58}
WALK_STYLE = {
    "forward": FootStyle(lift=0.06, full_step=0.9, heel_off=28 * DEG, roll=0.2),
    "backward": FootStyle(
        lift=0.05, full_step=0.6, heel_off=0.0, heel_land=16 * DEG, heel_swing=10 * DEG
    ),
    "sideways": FootStyle(lift=0.05, full_step=0.4, heel_off=6 * DEG, heel_swing=0.0),
}
DIRECTED = {"sideways", "circle", "turn"}  # variants whose side is the direction of travel
WALK_START = 0.3  # s of weight shift before the first step
SETTLE = 0.4  # s standing still after the last step
# Ball of the stance foot at mid-stance moved forward (m) from under the hip: a walk puts it a
# little behind, where the heel raised at push-off still lets the trailing leg reach.
MIDSTANCE_SHIFT = {"forward": -0.05, "circle": -0.05, "turn": -0.05, "backward": 0.03}


@dataclass
class GaitTiming:
    """Step rhythm of a gait: per-step lift-off times and swing durations, the clip end."""

    first: int  # foot that steps first (0 left, 1 right)
    starts: np.ndarray  # (N,) lift-off times (s)
    swings: np.ndarray  # (N,) swing durations (s)
    end: float  # clip end (s)

    @property
    def last_land(self) -> float:
        return float(self.starts[-1] + self.swings[-1])

    @property
    def frames(self) -> int:
        return seconds_to_frames(self.end)

    def steps(self) -> list[Step]:
        return alternating_steps(self.first, self.starts, self.swings)


def regular_steps(first: int, start: float, period: float, swing: float, count: int, rng):
    """``count`` evenly timed steps from ``start`` s and a settle after the last one."""
    starts = start + period * np.arange(count)
    timing = GaitTiming(first, starts, np.full(count, swing), 0.0)
    timing.end = min(timing.last_land + jitter(rng, SETTLE), MAX_SECONDS)
    return timing


def step_count(budget: float, start: float, period: float, swing: float, least: int) -> int:
    """Number of steps that fills ``budget`` seconds (at least ``least``)."""
    count = round((budget - start - swing - SETTLE) / period) + 1
    return max(count, least)


def circle_heading(speed: np.ndarray, radius: float, sign: float) -> np.ndarray:
    """Heading (T,) of a path on a circle of ``radius`` m at ``speed`` (T,) m/s; ``sign`` +1
    turns left (counter-clockwise)."""
    return sign * np.concatenate([[0.0], np.cumsum(speed / radius)[:-1]]) / FPS


def walk_heading(variant: str, frames: int, speed: np.ndarray, sign: float, turn, rng):
    """Heading (T,) of a walk: straight, on a circle of radius 1-2 m, or one turn."""
    if variant == "circle":
        return circle_heading(speed, jitter(rng, 1.2, 0.25), sign)
    if variant == "turn":
        return keyframes(frames, list(turn), [0.0, sign * rng.uniform(90, 180) * DEG])
    return np.zeros(frames)


def walk_path(variant: str, timing: GaitTiming, period: float, speed: float, sign, turn, rng):
    """(Path, activity (T,)): the nominal pelvis path of a walk and its 0..1 gait activity."""
    act = speed_profile(
        timing.frames,
        timing.starts[0] - 0.1,
        timing.starts[0] + 1.5 * period,
        timing.last_land - 1.6 * period,
        timing.last_land + 0.05,
    )
    heading = walk_heading(variant, timing.frames, speed * act, sign, turn, rng)
    angle = {"backward": np.pi, "sideways": sign * np.pi / 2}.get(variant, 0.0)
    return Path(travel(speed * act, heading, angle), heading), act


def gait_offsets(variant: str, step: float) -> np.ndarray:
    """Per foot (lateral, forward) ball offsets (2, 2) at mid-stance in the heading frame.

    Side-stepping widens the stance so the closing foot stays 0.14 m from the leading one."""
    offsets = REST_BALL[:, [0, 2]].copy()
    offsets[:, 1] += MIDSTANCE_SHIFT.get(variant, 0.0)
    if variant == "sideways":
        widen = max(0.0, (0.14 + step - FOOT_WIDTH) / 2)
        offsets[:, 0] += [widen, -widen]
    return offsets


@register("walk")
def walk(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    variant = request.variant
    direction = request.side or FEET[int(rng.integers(2))]
    sign = rig.SIDE_SIGN[direction]
    lead = {"sideways": direction, "forward": direction, "backward": direction}
    first = FEET.index(lead.get(variant, FEET[int(rng.integers(2))]))
    tempo = TEMPO[request.speed]
    period = jitter(rng, 0.52) * tempo**0.6
    swing = 2 * period * (1 - jitter(rng, 0.59, 0.03))
    step = jitter(rng, WALK_STEP[variant], 0.08) * tempo**-0.1
    start = WALK_START * tempo**0.5
    turn = (start + 2 * period, start + 2 * period + np.clip(jitter(rng, 1.7), 1.2, 2.4))
    least = int(np.ceil((turn[1] - start) / period)) + 3 if variant == "turn" else 4
    budget = duration_budget(request, (3.0, 7.0), rng)
    count = step_count(budget, start, period, swing, least)
    timing = regular_steps(first, start, period, swing, count, rng)
    path, act = walk_path(variant, timing, period, step / period, sign, turn, rng)
    plan = gait_plan(
        timing, path, gait_offsets(variant, step), WALK_STYLE.get(variant, WALK_STYLE["forward"])
    )
    stride, support = gait_signals(plan, path)
    sway_pelvis(plan, path, support, 0.0 if variant == "sideways" else jitter(rng, 0.025, 0.3))
    plan.turn = -jitter(rng, 8 * DEG) * stride
    plan.roll = -jitter(rng, 3 * DEG) * support * act
    plan.tilt = jitter(rng, 3 * DEG) * act
    settle_height(plan, STAND - jitter(rng, 0.035) * act, free_reach=0.97)
    pose = solve_legs(plan)
    elbow = jitter(rng, 14 * DEG) * act
    swing_arms(pose, stride, jitter(rng, 30 * DEG, 0.2), elbow, 0.4)
    gait_trunk(pose, plan, stride, act, 2 * DEG)
    facts = facts_of(dataclasses.replace(request, side=direction if variant in DIRECTED else None))
    return ActionResult(body_motion(plan, pose), facts)


def gait_plan(timing: GaitTiming, path: Path, offsets: np.ndarray, style: FootStyle) -> LegPlan:
    """A plan whose feet step at ``timing`` onto neutral points of ``path``."""
    plan = LegPlan.standing(timing.frames)
    stances = neutral_stances(timing.steps(), timing.end, path, offsets)
    place_feet(plan, stances, style)
    plan.pelvis[:, [0, 2]] = path.xz
    plan.heading = path.heading.copy()
    return plan


# --- run ---------------------------------------------------------------------------------------

# Per variant: step period (s), step length (m), stance time (s), swing lift of the ball (m),
# trunk lean and pelvis tilt (deg), elbow bend (deg), arm swing (deg per m of stride).
RUN_SHAPES = {
    "forward": {"period": 0.36, "step": 1.1, "stance": 0.25, "lift": 0.3, "lean": 9, "tilt": 5,
                "elbow": 90, "arms": 45},
    "jog": {"period": 0.37, "step": 0.8, "stance": 0.29, "lift": 0.2, "lean": 6, "tilt": 3,
            "elbow": 80, "arms": 35},
    "circle": {"period": 0.36, "step": 0.95, "stance": 0.26, "lift": 0.3, "lean": 8, "tilt": 4,
               "elbow": 90, "arms": 40},
}  # fmt: skip
RUN_MIDSTANCE = -0.06  # ball at mid-stance behind its rest spot (m): the push-off leg reaches
RUN_FREE_REACH = 0.95  # a trailing lifted foot stays within this share of the leg's reach
RUN_MIN_SWING = 0.3  # s: the shortest swing of a run (its first and last steps)
RUN_FLIGHT = 0.1  # s of flight the bounce of the stance is shaped for
RUN_CROUCH = 0.05  # m the pelvis runs lower than standing
RUN_BANK = 0.6  # share of the centripetal lean a circling runner takes
RUN_CADENCE, RUN_STRIDE, RUN_EARLY, RUN_GLIDE, RUN_ROLL = 0.35, 0.1, 0.35, 0.35, 0.16
WALK_PERIOD, WALK_STANCE = 0.45, 0.6  # period and stance (s) of a run's first and last steps


def run_timing(request: ActionRequest, shape: dict, first: int, rng):
    """(GaitTiming, activity (T,), top speed m/s) of a run: it accelerates from a standstill
    over ~1 s and stops again, every step's period and stance following the current speed, so
    the first and last steps are walking steps and the fast ones have flights."""
    tempo = TEMPO[request.speed]
    period = jitter(rng, shape["period"], 0.06) * tempo**RUN_CADENCE
    stance = jitter(rng, shape["stance"], 0.06) * tempo
    speed = jitter(rng, shape["step"], 0.08) * tempo**-RUN_STRIDE / period
    start = WALK_START * tempo**0.5
    up, down = max(1.0, speed / 2.2), max(0.9, speed / 2.6)
    cruise = max(0.6, duration_budget(request, (2.5, 6.0), rng) - start - up - down - SETTLE)
    keys = [
        start - 0.1,
        start - 0.1 + up,
        start - 0.1 + up + cruise,
        start - 0.1 + up + cruise + down,
    ]
    t, lifts, periods, stances = start, [], [], []
    while True:
        ahead = np.array([t + 0.5 * period, t + 1.5 * period])  # during the coming stance
        now = speed * float(ease_keys(ahead, keys, [0.0, 1.0, 1.0, 0.0]).max())
        lifts.append(t)
        periods.append(WALK_PERIOD + (period - WALK_PERIOD) * min(1.0, now / 1.5))
        stances.append(float(np.clip(speed * stance / max(now, 1e-3), stance, WALK_STANCE)))
        if t + periods[-1] > keys[-1] - 0.15 and len(lifts) >= 4:
            break
        t += periods[-1]
    periods, stances = np.array(periods), np.array(stances)
    swings = np.maximum(periods + np.append(periods[1:], periods[-1]) - stances, RUN_MIN_SWING)
    timing = GaitTiming(first, np.array(lifts), swings, 0.0)
    timing.end = min(timing.last_land + jitter(rng, SETTLE), MAX_SECONDS)
    act = speed_profile(timing.frames, *keys[:3], timing.last_land + 0.05)
    return timing, act, speed


def stance_dip(plan: LegPlan, depth: np.ndarray) -> np.ndarray:
    """A sine dip (T,) of ``depth`` (T,) over every stretch on one foot (the run's bounce)."""
    single = plan.planted.sum(axis=1) == 1
    dip = np.zeros(plan.frames)
    t = 0
    while t < plan.frames:
        if not single[t]:
            t += 1
            continue
        start = t
        while t < plan.frames and single[t]:
            t += 1
        u = (np.arange(start, t) - start + 1) / (t - start + 1)
        dip[start:t] = np.sin(np.pi * u)
    return depth * dip


@register("run")
def run(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    variant = request.variant
    shape = RUN_SHAPES[variant]
    direction = request.side or FEET[int(rng.integers(2))]
    first = FEET.index(direction) if variant != "circle" else int(rng.integers(2))
    timing, act, speed = run_timing(request, shape, first, rng)
    sign = rig.SIDE_SIGN[direction]
    heading, lean_in = np.zeros(timing.frames), np.zeros(timing.frames)
    if variant == "circle":
        radius = jitter(rng, 2.5, 0.2)
        heading = circle_heading(speed * act, radius, sign)
        lean_in = -sign * np.arctan(RUN_BANK * (speed * act) ** 2 / (GRAVITY * radius))
    path = Path(travel(speed * act, heading), heading)
    offsets = REST_BALL[:, [0, 2]] * [[0.6, 1.0]] + [[0.0, RUN_MIDSTANCE]]
    style = FootStyle(
        lift=jitter(rng, shape["lift"]), full_step=1.6, heel_off=40 * DEG, heel_land=8 * DEG,
        heel_swing=15 * DEG, roll=RUN_ROLL, early=RUN_EARLY, glide=RUN_GLIDE,
    )  # fmt: skip
    plan = gait_plan(timing, path, offsets, style)
    stride, support = gait_signals(plan, path)
    sway_pelvis(plan, path, support, 0.01)
    plan.turn = -jitter(rng, 7 * DEG) * stride
    plan.tilt = jitter(rng, shape["tilt"] * DEG) * act
    plan.roll = lean_in if variant == "circle" else -2 * DEG * support * act
    depth = GRAVITY * RUN_FLIGHT * shape["stance"] / (2 * np.pi) * act  # meets the flight arcs
    nominal = STAND - jitter(rng, RUN_CROUCH) * act - stance_dip(plan, depth)
    settle_height(plan, nominal, sigma=1.0, free_reach=RUN_FREE_REACH)
    pose = solve_legs(plan)
    elbow = jitter(rng, shape["elbow"] * DEG) * act
    swing_arms(pose, stride, jitter(rng, shape["arms"] * DEG, 0.15), elbow, 0.25)
    gait_trunk(pose, plan, stride, act, jitter(rng, shape["lean"] * DEG))
    facts = facts_of(dataclasses.replace(request, side=direction if variant == "circle" else None))
    return ActionResult(body_motion(plan, pose), facts)


# --- jump --------------------------------------------------------------------------------------

# Per variant: crouch and rebound depths (m), flight time range (s), tuck of the feet in the air
# (m), push time (s), forward take-off speed (m/s), trunk lean at the bottom (deg) and where the
# pelvis is relative to the feet (m, forward): hips back in the crouch, ahead at take-off, and
# how far ahead of the pelvis the feet land.
JUMP_SHAPES = {
    "in_place": {"depth": 0.2, "absorb": 0.16, "flight": (0.34, 0.46), "tuck": 0.12,
                 "push": 0.24, "speed": 0.0, "lean": 30, "back": 0.04, "front": 0.0, "ahead": 0.0},
    "forward": {"depth": 0.22, "absorb": 0.18, "flight": (0.34, 0.44), "tuck": 0.12,
                "push": 0.26, "speed": 1.2, "lean": 35, "back": 0.08, "front": 0.2, "ahead": 0.25},
    "hop": {"depth": 0.12, "absorb": 0.1, "flight": (0.32, 0.38), "tuck": 0.08, "push": 0.22,
            "speed": 0.0, "lean": 15, "back": 0.02, "front": 0.0, "ahead": 0.0},
    "jumping_jacks": {"depth": 0.08, "absorb": 0.07, "flight": (0.34, 0.42), "tuck": 0.03,
                      "push": 0.2, "speed": 0.0, "lean": 8, "back": 0.02, "front": 0.0,
                      "ahead": 0.0},
}  # fmt: skip
TAKEOFF_HEEL, LANDING_HEEL = 38 * DEG, 22 * DEG  # toes pointed leaving / meeting the floor
HOP_HOLD = np.array([0.0, 0.32, -0.28])  # free foot of a hop: up and behind its rest spot (m)
HOP_SHIFT = 0.07  # m the pelvis moves sideways over the hopping foot


@dataclass
class Jump:
    """One jump: crouch bottom (s), last frame on the floor, first frame back, absorbed (s)."""

    low: float
    takeoff: int
    land: int
    settle: float

    @property
    def flight(self) -> float:
        return (self.land - self.takeoff) / FPS


def jump_schedule(request: ActionRequest, shape: dict, rng) -> tuple[list[Jump], float, float]:
    """(jumps, crouch start s, end s): the first crouch, then push -> flight -> absorb per rep
    (each absorption is the crouch of the next push), then standing up."""
    tempo = TEMPO[request.speed]
    start = jitter(rng, 0.15) * tempo
    t = start + jitter(rng, 0.55 if request.variant == "hop" else 0.38) * tempo
    jumps = []
    for _ in range(request.reps):
        takeoff = int(np.ceil((t + jitter(rng, shape["push"]) * tempo**0.3) * FPS))
        land = takeoff + round(rng.uniform(*shape["flight"]) * FPS)
        settle = land / FPS + jitter(rng, 0.25) * tempo**0.5
        jumps.append(Jump(t, takeoff, land, settle))
        t = settle
    stand = jitter(rng, 0.45) * tempo + (0.35 if request.variant == "hop" else 0.0)
    return jumps, start, min(t + stand, MAX_SECONDS)


def ground_phases(jumps: list[Jump], frames: int) -> list[tuple[int, int]]:
    """(first, last) frames of each stretch on the floor around the jumps."""
    edges = [0] + [f for j in jumps for f in (j.takeoff, j.land)] + [frames - 1]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]


def jump_travel(jumps: list[Jump], shape: dict, end: float, frames: int, rng):
    """(pelvis forward offset (T,), feet spots (P,)): the pelvis shifts back over the feet in
    the crouch, drives ahead of them at take-off, flies at constant speed and lands behind them.
    In place, it is back over the feet and still 0.1 s before each take-off (no drift)."""
    speed = jitter(rng, shape["speed"]) if shape["speed"] else 0.0
    back, front, ahead = shape["back"], shape["front"], shape["ahead"]
    keys, spots, spot = [(0.0, 0.0, 0.0)], [0.0], 0.0
    for k, jump in enumerate(jumps):
        if k == 0:
            keys.append((jump.low, -back, 0.0))
        takeoff, land = jump.takeoff / FPS, jump.land / FPS
        if speed:
            landing = spot + front + speed * jump.flight
            keys += [(takeoff, spot + front, speed), (land, landing, speed)]
            spot = landing + ahead
        else:
            keys += [(takeoff - 0.1, spot, 0.0), (land + 0.05, spot, 0.0)]
        spots.append(spot)
        keys.append((jump.settle, spot - back, 0.0))
    keys.append((end - 0.1, spot, 0.0))
    return hermite(frames, keys), np.array(spots)


def jump_ground_feet(plan: LegPlan, jumps: list[Jump], spots: np.ndarray, feet: Sequence[int]):
    """Plant ``feet`` on their spots between the jumps; heels rise for each push and come down
    after each landing. The frames between are airborne."""
    t = np.arange(plan.frames) / FPS
    phases = ground_phases(jumps, plan.frames)
    plan.planted[:, list(feet)] = False
    for p, (first, last) in enumerate(phases):
        span = slice(first, last + 1)
        heel = np.zeros(last + 1 - first)
        if p < len(jumps):
            rise = min(0.2, 0.8 * (last - first) / FPS)
            heel += TAKEOFF_HEEL * minjerk((t[span] - (last / FPS - rise)) / rise)
        if p > 0:
            heel += LANDING_HEEL * (1 - minjerk((t[span] - first / FPS) / 0.12))
        for f in feet:
            plan.balls[span, f] = REST_BALL[f] + [0.0, STAND, spots[p]]
            plan.heel[span, f] = heel
            plan.planted[span, f] = True
    plan.airborne = np.ones(plan.frames, dtype=bool)
    for first, last in phases:
        plan.airborne[first : last + 1] = False


def jump_keys(jumps: list[Jump], shape: dict, start: float, end: float, limit: np.ndarray):
    """Hermite keys (time, height, slope) of the pelvis: crouch, push into a flight that joins
    the take-off and landing heights under gravity, absorb, stand (``limit``: reach (T,))."""
    keys = [(0.0, STAND, 0.0), (start, STAND, 0.0)]
    for k, jump in enumerate(jumps):
        if k == 0:
            keys.append((jump.low, STAND - shape["depth"], 0.0))
        rise, fall = limit[jump.takeoff] - 0.006, limit[jump.land] - 0.008
        climb = (fall - rise) / jump.flight + 0.5 * GRAVITY * jump.flight
        keys += [
            (jump.takeoff / FPS, rise, climb),
            (jump.land / FPS, fall, climb - GRAVITY * jump.flight),
            (jump.settle, STAND - shape["absorb"], 0.0),
        ]
    return [*keys, (end - 0.08, STAND, 0.0)]


def jump_heights(plan: LegPlan, jumps: list[Jump], shape: dict, start: float, end: float):
    """Pelvis height: the keys' curve capped by the planted legs' reach, flights ballistic.
    The trunk leans and the pelvis tilts forward with the depth of the crouch."""
    rough = hermite(plan.frames, jump_keys(jumps, shape, start, end, np.full(plan.frames, STAND)))
    crouch = np.clip((STAND - rough) / shape["depth"], 0.0, 1.2)
    plan.tilt = 0.5 * shape["lean"] * DEG * crouch
    limit = reach_height(plan, plan.planted)
    height = hermite(plan.frames, jump_keys(jumps, shape, start, end, limit))
    height = np.where(plan.airborne, np.nan, np.minimum(height, limit))
    plan.pelvis[:, 1] = ballistic_fill(height, plan.airborne)
    return crouch


def jump_flight_feet(plan: LegPlan, jumps: list[Jump], feet: Sequence[int], tuck: float, spread):
    """Feet in the air: from their take-off to their landing place relative to the pelvis,
    tucked up ``tuck`` m (and spread ``spread`` m sideways: jumping jacks) halfway."""
    for jump in jumps:
        span = np.arange(jump.takeoff + 1, jump.land)
        u = (span - jump.takeoff) / (jump.land - jump.takeoff)
        for f in feet:
            before = plan.balls[jump.takeoff, f] - plan.pelvis[jump.takeoff]
            after = plan.balls[jump.land, f] - plan.pelvis[jump.land]
            rel = before + (after - before) * minjerk(u)[:, None]
            rel[:, 1] += tuck * bump(u)
            rel[:, 0] += (1.0 if f == 0 else -1.0) * spread * bump(u)
            plan.balls[span, f] = plan.pelvis[span] + rel
            plan.heel[span, f] = ease_keys(u, [0, 0.5, 1], [TAKEOFF_HEEL, 30 * DEG, LANDING_HEEL])


def hop_free_foot(plan: LegPlan, free: int, jumps: list[Jump], start: float, end: float):
    """The free foot of a hop: planted until it lifts early in the first crouch, then held up
    behind the body (moving with it), set down again after the last landing. Returns the 0..1
    holding curve (T,)."""
    t = np.arange(plan.frames) / FPS
    lift = start + 0.3 * (jumps[0].low - start)
    floor = min(jumps[-1].settle + 0.3, end - 0.15)
    held = keyframes(plan.frames, [lift, jumps[0].low, jumps[-1].settle, floor], [0, 1, 1, 0])
    plan.planted[:, free] = held <= 0.0
    return held, t < 0.5 * (lift + floor)


def hold_free_foot(plan: LegPlan, free: int, held: np.ndarray, early: np.ndarray) -> None:
    """World target of the free foot: from its floor spot to its held place and back."""
    spots = plan.balls[:, free].copy()
    home = np.where(early[:, None], spots[0], spots[-1])  # (T, 3)
    carried = plan.pelvis + REST_BALL[free] + HOP_HOLD
    plan.balls[:, free] = home + (carried - home) * held[:, None]
    plan.heel[:, free] = 25 * DEG * held


def jump_arms(pose: rig.Pose, jumps: list[Jump], variant: str, end: float, rng) -> None:
    """Arms: swing back in the crouch and forward-up into each take-off (a hop: smaller, arms
    out for balance); jumping jacks: out to the sides and overhead at each flight's apex."""
    frames = pose.frames
    if variant == "jumping_jacks":
        times, values = [0.0, jumps[0].low], [0.0, 15.0]
        for jump in jumps:
            times += [0.5 * (jump.takeoff + jump.land) / FPS, jump.settle]
            values += [jitter(rng, 165, 0.04), 15.0]
        raised = swing_keys(frames, [*times, end - 0.05], [*values, 0.0]) * DEG
        for side in FEET:
            rig.shoulder_abduct(pose, side, raised)
            rig.collar_raise(pose, side, 0.08 * raised)
            rig.elbow_flex(pose, side, 0.08 * raised)
        return
    gain = 0.35 if variant == "hop" else jitter(rng, 0.9)
    times, values = [0.0, jumps[0].low - 0.08], [0.0, -25.0]
    for k, jump in enumerate(jumps):
        last = k == len(jumps) - 1
        back = jump.settle - (0.0 if last else 0.4 * (jump.settle - jump.land / FPS))
        times += [jump.takeoff / FPS + 0.15, back]
        values += [jitter(rng, 100, 0.08), 20.0 if last else -25.0]
    swing = swing_keys(frames, [*times, end - 0.05], [*values, 0.0]) * DEG * gain
    out = keyframes(frames, [0.0, jumps[0].low, jumps[-1].settle, end - 0.05], [0, 1, 1, 0])
    for side in FEET:
        rig.shoulder_flex(pose, side, swing)
        rig.shoulder_abduct(pose, side, (30 if variant == "hop" else 8) * DEG * out)
        rig.elbow_flex(pose, side, 20 * DEG * out + 0.15 * np.abs(swing))


@register("jump")
def jump(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    variant = request.variant
    shape = JUMP_SHAPES[variant]
    side = (request.side or FEET[int(rng.integers(2))]) if variant == "hop" else None
    jumps, start, end = jump_schedule(request, shape, rng)
    plan = LegPlan.standing(seconds_to_frames(end))
    forward, spots = jump_travel(jumps, shape, end, plan.frames, rng)
    plan.pelvis[:, 2] = forward
    feet = [FEET.index(side)] if side else [0, 1]
    jump_ground_feet(plan, jumps, spots, feet)
    if side:
        held, early = hop_free_foot(plan, 1 - feet[0], jumps, start, end)
        shift = rig.SIDE_SIGN[side] * jitter(rng, HOP_SHIFT)  # the pelvis over the hopping foot
        keys = [start - 0.1, jumps[0].low - 0.05, back_down(held), end - 0.1]
        plan.pelvis[:, 0] = keyframes(plan.frames, keys, [0.0, shift, shift, 0.0])
    crouch = jump_heights(plan, jumps, shape, start, end)
    if side:
        hold_free_foot(plan, 1 - feet[0], held, early)
    spread = jitter(rng, 0.22) if variant == "jumping_jacks" else 0.0
    jump_flight_feet(plan, jumps, feet, jitter(rng, shape["tuck"]), spread)
    lift_free_feet(plan)
    pose = solve_legs(plan)
    lean = 0.5 * jitter(rng, shape["lean"]) * DEG * crouch
    rig.spine_flex(pose, lean)
    rig.neck_flex(pose, -0.6 * (lean + plan.tilt))
    jump_arms(pose, jumps, variant, end, rng)
    facts = facts_of(dataclasses.replace(request, side=side))
    return ActionResult(body_motion(plan, pose), facts)


def back_down(held: np.ndarray) -> float:
    """Second at which a held foot (holding curve (T,)) is back on the floor."""
    down = np.nonzero(held > 0)[0]
    return (down[-1] + 1) / FPS


# --- spin --------------------------------------------------------------------------------------

SPIN_HEEL = 15 * DEG  # heels raised: the spin is on the balls of the feet
SPIN_LIFT = 0.75  # share of each paddle step with the free foot off the floor
SPIN_TURN = 0.6  # share of each paddle step turning (done just before the free foot lands)


@dataclass
class SpinSchedule:
    """A paddle turn: the body turns on the ball of the ``pivot`` foot, straight above it; the
    other foot lifts and turns along, touching down briefly (no turning) between paddles."""

    paddles: np.ndarray  # (N + 1,) paddle boundaries (s)
    pivot: int  # the foot the body turns on (0 left, 1 right)
    end: float  # clip end (s)

    def phase(self, t: float) -> tuple[int, float]:
        """(k, u): paddle k at progress u in [0, 1); u = -1 before (k = 0) and after (k = N)."""
        k = int(np.searchsorted(self.paddles, t, side="right")) - 1
        if k < 0 or k >= len(self.paddles) - 1:
            return (0 if k < 0 else len(self.paddles) - 1), -1.0
        return k, (t - self.paddles[k]) / (self.paddles[k + 1] - self.paddles[k])


def spin_schedule(request: ActionRequest, pivot: int, rng) -> SpinSchedule:
    """Three or four paddles per turn (~1.7 s a turn at normal tempo)."""
    tempo = TEMPO[request.speed]
    per_rep = min(jitter(rng, 1.7) * tempo**0.6, (MAX_SECONDS - 1.4) / request.reps)
    go = max(0.35, jitter(rng, 0.4) * tempo**0.5)
    count = request.reps * int(rng.integers(3, 5))
    paddles = go + per_rep * request.reps * np.linspace(0.0, 1.0, count + 1)
    return SpinSchedule(paddles, pivot, min(paddles[-1] + jitter(rng, 0.5), MAX_SECONDS))


def spin_heading(schedule: SpinSchedule, frames: int, angle: float) -> np.ndarray:
    """Heading (T,): each paddle turns its share of ``angle`` while the free foot is up."""
    heading = np.zeros(frames)
    count = len(schedule.paddles) - 1
    for i in range(frames):
        k, u = schedule.phase(i / FPS)
        turn = np.clip(u / SPIN_TURN, 0.0, 1.0)
        done = k + (0.5 * (1 - np.cos(np.pi * turn)) if u >= 0 else 0.0)
        heading[i] = angle * done / count
    return heading


def spin_feet(
    plan: LegPlan, schedule: SpinSchedule, act: np.ndarray, angle: float, lift: float
) -> None:
    """The pelvis moves over the pivot ball (and back at the end); the free foot circles it at
    its rest distance, lifted ``lift`` m while the body turns, and lands where the paddle's
    turn (its share of ``angle``) puts it."""
    pivot, free = schedule.pivot, 1 - schedule.pivot
    forward, left = heading_axes(plan.heading)
    home = REST_BALL[pivot, [0, 2]]
    away = home * (1 - act[:, None])  # body-frame offset of the pivot ball from the pelvis
    plan.pelvis[:, [0, 2]] = home - (away[:, :1] * left + away[:, 1:] * forward)
    rel = REST_BALL[free, [0, 2]] - home
    circling = home + rel[0] * left + rel[1] * forward  # (T, 2)
    count = len(schedule.paddles) - 1
    for i in range(plan.frames):
        k, u = schedule.phase(i / FPS)
        turned = angle * min(k + (u >= 0), count) / count  # heading once this paddle is done
        forward_k, left_k = heading_axes(np.array(turned))
        plan.balls[i, free, [0, 2]] = home + rel[0] * left_k + rel[1] * forward_k
        if 0 <= u < SPIN_LIFT:
            plan.balls[i, free, [0, 2]] = circling[i]
            plan.balls[i, free, 1] = SOLE[free] + lift * bump(np.array(u / SPIN_LIFT))
            plan.planted[i, free] = False


@register("spin")
def spin(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    side = request.side or FEET[int(rng.integers(2))]
    sign = rig.SIDE_SIGN[side]
    schedule = spin_schedule(request, FEET.index(side), rng)
    plan = LegPlan.standing(seconds_to_frames(schedule.end))
    go, stop = schedule.paddles[0], schedule.paddles[-1]
    angle = sign * 2 * np.pi * request.reps * jitter(rng, 1.0, 0.04)
    plan.heading = spin_heading(schedule, plan.frames, angle)
    plan.foot_yaw = np.repeat(plan.heading[:, None], 2, axis=1)  # the feet pivot with the body
    act = speed_profile(plan.frames, 0.05, go, stop, schedule.end - 0.15)
    spin_feet(plan, schedule, act, angle, jitter(rng, 0.05, 0.3))
    plan.heel = SPIN_HEEL * np.repeat(act[:, None], 2, axis=1)
    settle_height(plan, STAND - 0.02 * act)
    pose = solve_legs(plan)
    for arm in FEET:
        rig.shoulder_abduct(pose, arm, jitter(rng, 35) * DEG * act)
        rig.shoulder_flex(pose, arm, jitter(rng, 20) * DEG * act)
        rig.elbow_flex(pose, arm, jitter(rng, 40) * DEG * act)
    rig.neck_turn(pose, sign * jitter(rng, 12) * DEG * act)  # the head leads into the turn
    facts = facts_of(dataclasses.replace(request, side=side))
    return ActionResult(body_motion(plan, pose), facts)


# --- dance -------------------------------------------------------------------------------------

BEAT = 0.5  # s per beat at normal tempo (2 Hz)
STEP_OUT = 0.3  # m a step-touch steps out to the side


def beat_grid(request: ActionRequest, beats_per_step: int, rng) -> tuple[np.ndarray, float]:
    """(beat times (N,), clip end s): beats from ~0.4 s filling the duration, a whole number of
    step-touch cycles (4 steps)."""
    tempo = TEMPO[request.speed]
    beat = jitter(rng, BEAT, 0.06) * tempo**0.5
    start = jitter(rng, 0.4) * tempo**0.5
    budget = duration_budget(request, (3.0, 8.0), rng)
    cycle = 4 * beats_per_step * beat
    cycles = max(1, int((min(budget, MAX_SECONDS - 0.9) - start - 0.6) / cycle))
    beats = start + beat * np.arange(4 * beats_per_step * cycles + 1)
    return beats, min(beats[-1] + jitter(rng, 0.6), MAX_SECONDS)


def step_touch(first: int, lands: np.ndarray, swing: float, out: float, end: float):
    """Stances (per foot) of a step-touch: ``first`` steps out, the other closes beside it, it
    steps out the other way, the first closes: back to the start every 4 steps (``lands``)."""
    x = REST_BALL[:, 0].copy()
    direction = 1.0 if first == 0 else -1.0  # the left foot steps out toward +x
    events = []
    for i, land in enumerate(lands):
        move = i % 4
        foot = first if move in (0, 3) else 1 - first
        if move == 0:
            x[foot] += direction * out
        elif move == 1:
            x[foot] = x[first] - direction * FOOT_WIDTH
        elif move == 2:
            x[foot] -= direction * out
        else:
            x[foot] = x[1 - first] + direction * FOOT_WIDTH
        events.append((foot, land - swing, land, x[foot]))
    stances: list[list[Stance]] = [[], []]
    since, spot = [0.0, 0.0], REST_BALL[:, 0].copy()
    for foot, lift, land, target in events:
        stances[foot].append(
            Stance(since[foot], lift, np.array([spot[foot], REST_BALL[foot, 2]]), 0.0)
        )
        since[foot], spot[foot] = land, target
    for foot in range(2):
        stances[foot].append(
            Stance(since[foot], end, np.array([spot[foot], REST_BALL[foot, 2]]), 0.0)
        )
    return stances


def bounce(frames: int, beats: np.ndarray) -> np.ndarray:
    """0..1 (T,): 1 on every beat, 0 halfway between (the knees dip on the beat)."""
    t = np.arange(frames) / FPS
    beat = beats[1] - beats[0]
    return 0.5 * (1 + np.cos(2 * np.pi * (t - beats[0]) / beat))


def dance_plan(request: ActionRequest, beats: np.ndarray, per_step: int, end: float, rng):
    """Plan of a step-touch dance (a step per ``per_step`` beats) with hips swaying over the
    stepping foot and the knees bouncing on every beat; returns (plan, activity (T,))."""
    frames = seconds_to_frames(end)
    beat = beats[1] - beats[0]
    plan = LegPlan.standing(frames)
    lands = beats[per_step::per_step]
    stances = step_touch(int(rng.integers(2)), lands, 0.45 * beat, jitter(rng, STEP_OUT), end)
    place_feet(plan, stances, FootStyle(lift=0.06, full_step=0.3, heel_off=10 * DEG, heel_swing=0))
    act = speed_profile(frames, beats[0] - 0.3, beats[0], beats[-1], end - 0.15)
    _, support = gait_signals(plan, Path(plan.pelvis[:, [0, 2]], plan.heading))
    middle = smooth(plan.balls[:, :, 0].mean(axis=1), 2.0) - REST_BALL[:, 0].mean()
    plan.pelvis[:, 0] = middle + jitter(rng, 0.04) * support * act
    plan.roll = -jitter(rng, 5 * DEG) * support * act  # the hip drops on the free side
    dip = jitter(rng, 0.04) + jitter(rng, 0.035) * bounce(frames, beats)
    settle_height(plan, STAND - dip * act, sigma=1.0)
    return plan, act


def groove_upper(pose: rig.Pose, beats: np.ndarray, act: np.ndarray, rng) -> None:
    """Bent arms swinging forward and back in turn (one swing per two beats), the shoulders
    rocking with them, the head nodding on the beat."""
    t = np.arange(pose.frames) / FPS
    beat = beats[1] - beats[0]
    swing = np.sin(np.pi * (t - beats[0]) / beat)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        rig.shoulder_flex(
            pose, side, (jitter(rng, 30) + sign * jitter(rng, 25) * swing) * DEG * act
        )
        rig.shoulder_abduct(pose, side, jitter(rng, 18) * DEG * act)
        rig.elbow_flex(pose, side, jitter(rng, 85) * DEG * act)
    rig.spine_twist(pose, -jitter(rng, 10) * DEG * swing * act)
    rig.neck_flex(pose, jitter(rng, 8) * DEG * bounce(pose.frames, beats) * act)


def disco_upper(pose: rig.Pose, beats: np.ndarray, act: np.ndarray, rng) -> None:
    """One arm points up and out, then down across the body to the other hip, every two beats;
    the other hand rests on the hip; the head follows the pointing hand."""
    arm = FEET[int(rng.integers(2))]
    other = "right" if arm == "left" else "left"
    up = swing_keys(pose.frames, beats, (np.arange(len(beats)) % 2 == 1).astype(float))
    rig.shoulder_abduct(pose, arm, (-35 + jitter(rng, 175, 0.05) * up) * DEG * act)
    rig.shoulder_flex(pose, arm, (35 - 15 * up) * DEG * act)
    rig.elbow_flex(pose, arm, jitter(rng, 8, 0.5) * DEG * act)
    rig.shoulder_abduct(pose, other, jitter(rng, 40) * DEG * act)
    rig.shoulder_flex(pose, other, -15 * DEG * act)
    rig.shoulder_rotate(pose, other, -70 * DEG * act)
    rig.elbow_flex(pose, other, jitter(rng, 95) * DEG * act)
    toward = rig.SIDE_SIGN[arm]
    rig.neck_turn(pose, toward * jitter(rng, 20) * DEG * (up - 0.3) * act)
    rig.neck_flex(pose, -jitter(rng, 15) * DEG * (up - 0.3) * act)


def twist_plan(beats: np.ndarray, end: float, rng) -> tuple[LegPlan, np.ndarray]:
    """The twist: feet planted, swivelling on the balls with the hips (one way per beat), knees
    bent, going down and up again over the dance."""
    frames = seconds_to_frames(end)
    plan = LegPlan.standing(frames)
    t = np.arange(frames) / FPS
    beat = beats[1] - beats[0]
    act = speed_profile(frames, beats[0] - 0.3, beats[0], beats[-1], end - 0.15)
    plan.turn = jitter(rng, 32) * DEG * np.sin(np.pi * (t - beats[0]) / beat) * act
    plan.foot_yaw = np.repeat(0.7 * plan.turn[:, None], 2, axis=1)
    plan.heel = np.repeat(12 * DEG * act[:, None], 2, axis=1)
    low = 0.5 * (1 - np.cos(2 * np.pi * (t - beats[0]) / (beats[-1] - beats[0])))
    dip = jitter(rng, 0.08) + jitter(rng, 0.1) * low + 0.02 * bounce(frames, beats)
    settle_height(plan, STAND - dip * act, sigma=1.0)
    return plan, act


def twist_upper(pose: rig.Pose, plan: LegPlan, act: np.ndarray, rng) -> None:
    """Shoulders turn against the hips, bent arms held out in front swing with them."""
    rig.spine_twist(pose, -jitter(rng, 1.8) * plan.turn)
    rig.neck_turn(pose, 0.6 * plan.turn)
    rig.spine_flex(pose, jitter(rng, 12) * DEG * act)
    for side in FEET:
        rig.shoulder_flex(pose, side, jitter(rng, 40) * DEG * act)
        rig.shoulder_abduct(pose, side, jitter(rng, 35) * DEG * act)
        rig.elbow_flex(pose, side, jitter(rng, 90) * DEG * act)


@register("dance")
def dance(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    variant = request.variant
    per_step = 2 if variant == "disco" else 1
    beats, end = beat_grid(request, per_step, rng)
    if variant == "twist":
        plan, act = twist_plan(beats, end, rng)
    else:
        plan, act = dance_plan(request, beats, per_step, end, rng)
    pose = solve_legs(plan)
    if variant == "groove":
        groove_upper(pose, beats, act, rng)
    elif variant == "disco":
        disco_upper(pose, beats, act, rng)
    else:
        twist_upper(pose, plan, act, rng)
    return ActionResult(body_motion(plan, pose), facts_of(request))


# --- climb -------------------------------------------------------------------------------------

RUNG = np.array([0.0, 0.38, 0.22])  # lifted foot: up onto a rung and forward (m)
REACH_ARM = (170.0, 10.0)  # shoulder flexion, elbow (deg): a hand reaching for a rung overhead
PULL_ARM = (105.0, 95.0)  # a hand pulling down at head height


def climb_steps(request: ActionRequest, rng) -> tuple[np.ndarray, float, float]:
    """(step start times (N,), step duration s, clip end s): alternate feet, ~0.8 s a step."""
    tempo = TEMPO[request.speed]
    step = jitter(rng, 0.8) * tempo**0.7
    start = jitter(rng, 0.6) * tempo**0.5
    budget = min(duration_budget(request, (3.0, 7.0), rng), MAX_SECONDS - 0.7)
    count = max(4, int((budget - start - 0.7) / step))
    return start + step * np.arange(count), step, min(start + count * step + 0.7, MAX_SECONDS)


def climb_feet(plan: LegPlan, starts: np.ndarray, step: float, first: int, rng) -> None:
    """Each step lifts one foot up and forward onto an imaginary rung and sets it back down on
    its spot (0.85 of the step; both feet stand in between)."""
    t = np.arange(plan.frames) / FPS
    rung = RUNG * [1.0, jitter(rng, 1.0), jitter(rng, 1.0)]
    for k, start in enumerate(starts):
        foot = (first + k) % 2
        window = (t >= start) & (t < start + 0.85 * step)
        u = (t[window] - start) / (0.85 * step)
        lifted = ease_keys(u, [0.0, 0.45, 0.6, 1.0], [0.0, 1.0, 1.0, 0.0])
        plan.balls[window, foot] = REST_BALL[foot] + [0.0, STAND, 0.0] + lifted[:, None] * rung
        plan.planted[window, foot] = False


def climb_arms(pose: rig.Pose, starts: np.ndarray, step: float, first: int, act, rng) -> None:
    """The hand opposite the lifted knee reaches overhead as the knee comes up, then pulls down
    to head height as the foot goes back; the hands alternate."""
    peaks = starts + 0.45 * 0.85 * step
    for arm, side in enumerate(FEET):
        reaching = np.array([float((first + k) % 2 != arm) for k in range(len(starts))])
        reach = swing_keys(pose.frames, peaks, reaching)
        flex = PULL_ARM[0] + (REACH_ARM[0] - PULL_ARM[0]) * reach
        elbow = PULL_ARM[1] + (REACH_ARM[1] - PULL_ARM[1]) * reach
        rig.shoulder_flex(pose, side, jitter(rng, 1.0, 0.05) * flex * DEG * act)
        rig.shoulder_abduct(pose, side, jitter(rng, 12) * DEG * act)
        rig.elbow_flex(pose, side, elbow * DEG * act)


@register("climb")
def climb(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    starts, step, end = climb_steps(request, rng)
    first = int(rng.integers(2))
    plan = LegPlan.standing(seconds_to_frames(end))
    climb_feet(plan, starts, step, first, rng)
    act = speed_profile(plan.frames, 0.05, starts[0] + 0.3 * step, starts[-1] + step, end - 0.1)
    _, support = gait_signals(plan, Path(plan.pelvis[:, [0, 2]], plan.heading))
    plan.pelvis[:, 0] = jitter(rng, 0.04) * support * act  # weight over the standing foot
    plan.tilt = jitter(rng, 6) * DEG * act  # leaning in toward the ladder
    settle_height(plan, STAND - jitter(rng, 0.02) * act)
    pose = solve_legs(plan)
    climb_arms(pose, starts, step, first, act, rng)
    rig.neck_flex(pose, -jitter(rng, 18) * DEG * act)  # looking up the ladder
    return ActionResult(body_motion(plan, pose), facts_of(request))
