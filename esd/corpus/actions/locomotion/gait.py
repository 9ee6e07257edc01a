"""Footsteps and the shared pieces of a gait (walk, run, dance).

Stances and swings of each foot (``place_feet``: a foot lands on the neutral point of the path
under its hip, rolls from heel to ball, lifts and swings along an eased arc), the step rhythm
(``GaitTiming``), the pelvis path, the sway toward the supporting foot, and the arm swing and
trunk counter-rotation that follow the stride. ``duration_budget`` sizes a segment from the
catalog range and ``MAX_SECONDS`` caps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import DEG, TEMPO, ActionRequest, seconds_to_frames
from esd.corpus.actions.locomotion.curve_tools import bump, ease_keys, smooth
from esd.corpus.actions.locomotion.leg_plan import REST_BALL, SOLE, LegPlan, heading_axes
from esd.corpus.curves import keyframes, minjerk
from esd.motion.skeleton import FPS

MAX_SECONDS = 8.2  # longest segment generated (the contract allows 8.5 s)


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


def steady_frames(first: float, last: float, frames: int) -> tuple[int, int] | None:
    """Frames [first, last) (seconds in) of a gait at full speed; None when there are none."""
    begin, end = round(first * FPS), min(round(last * FPS), frames)
    return (begin, end) if end > begin else None


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


WALK_START = 0.3  # s of weight shift before the first step
SETTLE = 0.4  # s standing still after the last step


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


def circle_heading(speed: np.ndarray, radius: float, sign: float) -> np.ndarray:
    """Heading (T,) of a path on a circle of ``radius`` m at ``speed`` (T,) m/s; ``sign`` +1
    turns left (counter-clockwise)."""
    return sign * np.concatenate([[0.0], np.cumsum(speed / radius)[:-1]]) / FPS


def gait_plan(timing: GaitTiming, path: Path, offsets: np.ndarray, style: FootStyle) -> LegPlan:
    """A plan whose feet step at ``timing`` onto neutral points of ``path``."""
    plan = LegPlan.standing(timing.frames)
    stances = neutral_stances(timing.steps(), timing.end, path, offsets)
    place_feet(plan, stances, style)
    plan.pelvis[:, [0, 2]] = path.xz
    plan.heading = path.heading.copy()
    return plan
