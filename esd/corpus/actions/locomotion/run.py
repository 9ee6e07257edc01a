"""Running: forward, jogging or on a circle, from a standstill and back.

Timeline (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* run: from a standstill it speeds up over ~1.3 s (walking steps turning into running ones),
  runs, and slows to a stop; each step's period and stance follow the speed. forward: ~3 m/s,
  a step every 0.36 s, stance 0.25 s, so both feet are off the floor ~0.1 s between stances;
  the heel kicks up and the knee drives forward, elbows bent ~90 deg pump, the trunk leans
  forward. jog: ~2.2 m/s, lower feet, less lean. circle: radius 2-3 m, leaning into the turn
  (side = turning direction).
"""

from __future__ import annotations

import dataclasses

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
)
from esd.corpus.actions.locomotion.curve_tools import ease_keys
from esd.corpus.actions.locomotion.gait import (
    MAX_SECONDS,
    SETTLE,
    WALK_START,
    FootStyle,
    GaitTiming,
    Path,
    circle_heading,
    duration_budget,
    gait_plan,
    gait_signals,
    gait_trunk,
    speed_profile,
    steady_frames,
    sway_pelvis,
    swing_arms,
    travel,
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
from esd.corpus.physics import GRAVITY

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
    """(GaitTiming, activity (T,), top speed m/s, (start, end) s of the cruise) of a run: it
    accelerates from a standstill over ~1 s and stops again, every step's period and stance
    following the current speed, so the first and last steps are walking steps and the fast
    ones have flights."""
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
    return timing, act, speed, (keys[1], keys[2])


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
    timing, act, speed, cruise = run_timing(request, shape, first, rng)
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
    return ActionResult(body_motion(plan, pose), facts, steady_frames(*cruise, timing.frames))
