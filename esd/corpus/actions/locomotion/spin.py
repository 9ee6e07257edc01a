"""Spinning on the ball of one foot (a paddle turn).

Timeline (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* spin: lean over the ball of the ``side`` foot (0.4) -> a paddle turn of 360 deg per rep
  (~1.7 s): the body pivots on that ball while the other foot, lifted a little, circles along
  and touches down 3-4 times a turn; heels raised, arms slightly out -> back to standing
  (0.5). left = counter-clockwise (heading increasing).
"""

from __future__ import annotations

import dataclasses
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
    register,
    seconds_to_frames,
)
from esd.corpus.actions.locomotion.curve_tools import bump
from esd.corpus.actions.locomotion.gait import MAX_SECONDS, speed_profile
from esd.corpus.actions.locomotion.leg_plan import (
    FEET,
    REST_BALL,
    SOLE,
    STAND,
    LegPlan,
    body_motion,
    heading_axes,
    settle_height,
    solve_legs,
)
from esd.motion.skeleton import FPS

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
