"""Walking: forward, backward, sideways, on a circle, or with a turn.

Timeline (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* walk: weight shift (0.3) -> a step every ~0.52 s (swing ~0.43, both feet down ~0.1; the first
  steps speed up, the last two slow down and bring the feet together) -> stand (0.4). Steps
  ~0.62 m (~1.2 m/s); the heel rises before the foot leaves, the arms swing opposite to the
  legs, the pelvis turns, sways and dips a little, the thorax counter-rotates. forward (side:
  the first foot) / backward (shorter steps, toes land first) / sideways (step-close: the
  leading foot steps wide, the other closes; side = direction) / circle (radius 0.9-1.5 m,
  side = turning direction) / turn (two steps, a 90-180 deg turn over 1.2-2.4 s, walking on).
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
    FOOT_WIDTH,
    REST_BALL,
    STAND,
    body_motion,
    settle_height,
    solve_legs,
)
from esd.corpus.actions.locomotion.walk_styles import WALK_MANNERS, WalkManner
from esd.corpus.curves import keyframes

WALK_STEP = {"forward": 0.62, "backward": 0.42, "sideways": 0.24, "circle": 0.55, "turn": 0.58}
WALK_STYLE = {
    "forward": FootStyle(lift=0.1, full_step=0.9, heel_off=50 * DEG, roll=0.2, early=0.3),
    "backward": FootStyle(
        lift=0.05, full_step=0.6, heel_off=0.0, heel_land=16 * DEG, heel_swing=10 * DEG
    ),
    "sideways": FootStyle(lift=0.05, full_step=0.4, heel_off=6 * DEG, heel_swing=0.0),
}
DIRECTED = {"sideways", "circle", "turn"}  # variants whose side is the direction of travel
# Ball of the stance foot at mid-stance moved forward (m) from under the hip: a walk puts it a
# little behind, where the heel raised at push-off still lets the trailing leg reach.
MIDSTANCE_SHIFT = {"forward": -0.05, "circle": -0.05, "turn": -0.05, "backward": 0.03}
ARM_SWING = 40 * DEG  # shoulder swing per metre of stride (wrists ~0.45 m fore and aft)
WALK_CROUCH = 0.02  # m the pelvis walks lower than standing (on top of the double-support drop)


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


def gait_offsets(variant: str, step: float, width: float = 1.0) -> np.ndarray:
    """Per foot (lateral, forward) ball offsets (2, 2) at mid-stance in the heading frame;
    ``width`` scales the stance width (not of side steps).

    Side-stepping widens the stance so the closing foot stays 0.14 m from the leading one."""
    offsets = REST_BALL[:, [0, 2]].copy()
    offsets[:, 1] += MIDSTANCE_SHIFT.get(variant, 0.0)
    if variant == "sideways":
        widen = max(0.0, (0.14 + step - FOOT_WIDTH) / 2)
        offsets[:, 0] += [widen, -widen]
    else:
        offsets[:, 0] *= width
    return offsets


def foot_style(variant: str, manner: WalkManner) -> FootStyle:
    """How the feet of a walk leave, travel and land: the variant's, lifted by the manner."""
    style = WALK_STYLE.get(variant, WALK_STYLE["forward"])
    return dataclasses.replace(
        style, lift=style.lift * manner.lift, heel_off=style.heel_off * min(manner.lift, 1.0)
    )


def walk_upper_body(pose: rig.Pose, plan, stride, act, manner: WalkManner, rng) -> None:
    """Arms swinging opposite to the legs with the manner's elbow bend, the trunk and head."""
    elbow = rng.uniform(*manner.elbow) * DEG * act
    swing_arms(pose, stride, jitter(rng, ARM_SWING, 0.25) * manner.arm_swing, elbow, 0.4)
    gait_trunk(pose, plan, stride, act, jitter(rng, manner.lean * DEG, 0.3))
    rig.neck_flex(pose, jitter(rng, manner.nod * DEG, 0.3) * act)
    for side in FEET:
        rig.collar_raise(pose, side, manner.shrug * DEG * act)


@register("walk")
def walk(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    variant = request.variant
    direction = request.side or FEET[int(rng.integers(2))]
    sign = rig.SIDE_SIGN[direction]
    lead = {"sideways": direction, "forward": direction, "backward": direction}
    first = FEET.index(lead.get(variant, FEET[int(rng.integers(2))]))
    manner = WALK_MANNERS[request.style]
    tempo = TEMPO[request.speed]
    period = jitter(rng, 0.52) * tempo**0.6 / manner.cadence
    swing = 2 * period * (1 - jitter(rng, 0.59, 0.03))
    step = jitter(rng, WALK_STEP[variant], 0.08) * tempo**-0.1 * manner.step
    start = WALK_START * tempo**0.5
    turn = (start + 2 * period, start + 2 * period + np.clip(jitter(rng, 1.7), 1.2, 2.4))
    least = int(np.ceil((turn[1] - start) / period)) + 3 if variant == "turn" else 4
    budget = duration_budget(request, (3.0, 7.0), rng)
    count = step_count(budget, start, period, swing, least)
    timing = regular_steps(first, start, period, swing, count, rng)
    path, act = walk_path(variant, timing, period, step / period, sign, turn, rng)
    offsets = gait_offsets(variant, step, manner.width)
    plan = gait_plan(timing, path, offsets, foot_style(variant, manner))
    stride, support = gait_signals(plan, path)
    sway_pelvis(plan, path, support, 0.0 if variant == "sideways" else jitter(rng, 0.025, 0.3))
    plan.turn = -jitter(rng, 8 * DEG) * stride
    plan.roll = -jitter(rng, 3 * DEG) * manner.roll * support * act
    plan.tilt = jitter(rng, 3 * DEG) * act
    drop = jitter(rng, manner.bob, 0.3) * (1 - np.abs(support))  # lowest in double support
    settle_height(plan, STAND - (jitter(rng, WALK_CROUCH, 0.5) + drop) * act, free_reach=0.97)
    pose = solve_legs(plan)
    walk_upper_body(pose, plan, stride, act, manner, rng)
    facts = facts_of(dataclasses.replace(request, side=direction if variant in DIRECTED else None))
    steady = (timing.starts[0] + 1.5 * period, timing.last_land - 1.6 * period)  # act == 1
    return ActionResult(body_motion(plan, pose), facts, steady_frames(*steady, timing.frames))
