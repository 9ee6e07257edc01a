"""Dancing to a beat: groove, twist, disco.

Timeline (seconds at normal tempo, randomised; durations scale with TEMPO, capped at 8.2 s):

* dance: beats every 0.5 s. groove: step-touch side to side (a step per beat), the knees dip
  on every beat, hips sway, bent arms swing in turn, the head nods; twist: feet planted, knees
  bent, the hips swivel one way per beat on the balls of the feet while the shoulders
  counter-rotate, going down and up; disco: step-touch every two beats with hip sway, one arm
  pointing up and out then down across the body, the other hand on the hip.
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
from esd.corpus.actions.locomotion.curve_tools import smooth, swing_keys
from esd.corpus.actions.locomotion.gait import (
    MAX_SECONDS,
    FootStyle,
    Path,
    Stance,
    duration_budget,
    gait_signals,
    place_feet,
    speed_profile,
)
from esd.corpus.actions.locomotion.leg_plan import (
    FEET,
    FOOT_WIDTH,
    REST_BALL,
    STAND,
    LegPlan,
    body_motion,
    settle_height,
    solve_legs,
)
from esd.motion.skeleton import FPS

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
