"""Jumping: in place, forward, hopping on one leg, jumping jacks.

Timeline (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* jump: crouch (0.38) -> push up (0.24; heels rise, arms swing forward and up) -> flight
  (0.3-0.45, ballistic) -> land on the balls and absorb (0.25) -> [push into the next jump] ->
  stand up (0.45). in_place: on the spot; forward: the hips go back in the crouch and drive
  forward, the feet land ~0.8-1 m ahead; hop: on the ``side`` leg, the other foot held up
  behind from the crouch (0.55) until after the last landing; jumping_jacks: shallow bounces,
  legs spread and arms overhead in the air, feet together and arms down at each landing.
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
    register,
    seconds_to_frames,
)
from esd.corpus.actions.locomotion.curve_tools import bump, ease_keys, hermite, swing_keys
from esd.corpus.actions.locomotion.gait import MAX_SECONDS
from esd.corpus.actions.locomotion.leg_plan import (
    FEET,
    REST_BALL,
    STAND,
    LegPlan,
    body_motion,
    lift_free_feet,
    reach_height,
    solve_legs,
)
from esd.corpus.curves import keyframes, minjerk
from esd.corpus.physics import GRAVITY, ballistic_fill
from esd.motion.skeleton import FPS

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
