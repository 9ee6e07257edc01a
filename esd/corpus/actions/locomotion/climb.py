"""Climbing a ladder in place.

Timeline (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* climb: climbing a ladder in place: each step (~0.8 s) lifts one knee high (the foot up onto
  an imaginary rung) while the opposite hand reaches overhead, then pulls down to head height
  as the foot returns; the body leans in toward the ladder, the eyes look up.
"""

from __future__ import annotations

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
from esd.corpus.actions.locomotion.curve_tools import ease_keys, swing_keys
from esd.corpus.actions.locomotion.gait import (
    MAX_SECONDS,
    Path,
    duration_budget,
    gait_signals,
    speed_profile,
)
from esd.corpus.actions.locomotion.leg_plan import (
    FEET,
    REST_BALL,
    STAND,
    LegPlan,
    body_motion,
    settle_height,
    solve_legs,
)
from esd.motion.skeleton import FPS

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
