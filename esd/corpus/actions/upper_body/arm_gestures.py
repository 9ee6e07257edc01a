"""Arm gestures with the feet planted: wave, raise_arms, clap, arm_circles.

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* wave: arm out and up (0.6) -> the forearm swings side to side reps + 2 times (0.5 s each)
  -> down (0.6). one_hand + both: one hand, then the other; both_hands: both (a named side's
  hand a little earlier and higher).
* raise_arms: per rep up (0.75) -> hold (0.35) -> down (0.7) -> pause (0.15): overhead (~170
  deg), forward (horizontal in front) or sideways (a "T").
* clap: hands up (0.45; overhead 0.6) -> reps x [close to contact (0.17) -> open (0.21)] ->
  down (0.5), in front of the chest or above the head; the palms stop exactly at contact.
* arm_circles: arms out to the side (0.55) -> reps circles, small (14-22 deg, 0.65 s) or big
  (30-42 deg, 1.0 s) -> down (0.55); side both / left / right.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import DEG, ActionRequest, ActionResult, jitter, other_side, register
from esd.corpus.actions.upper_body.arm_ik import reach_posture
from esd.corpus.actions.upper_body.postures import SIDES, Body, Keys, Posture
from esd.corpus.actions.upper_body.timing import (
    burst,
    clip_frames,
    fitted_tempo,
    frame_times,
    sign,
    span,
    standing_result,
    sway,
    vary,
)
from esd.corpus.curves import minjerk

WAVE_RAISED = {"turn": 65, "flex": 105, "twist": -15, "elbow": 70}  # upper arm out and up
WAVE_SWAY = 30  # deg of elbow flexion either way: the hand swings side to side
WAVE_PERIOD = 0.5  # s per side-to-side cycle (~2 Hz)


def wave_plan(request: ActionRequest, rng: np.random.Generator) -> list[tuple[str, int, float]]:
    """(hand, cycles, delay s) of each waving hand; delays relative to the previous hand."""
    cycles = request.reps + 2
    if request.variant == "both_hands":
        lead = request.side if request.side in SIDES else "left"
        delay = 0.12 if request.side in SIDES else 0.0
        return [(lead, cycles, 0.0), (other_side(lead), cycles, delay)]
    if request.side in SIDES:
        return [(request.side, cycles, 0.0)]
    first = SIDES[int(rng.integers(2))]
    cycles_first = max(2, (cycles + 1) // 2)
    return [(first, cycles_first, 0.0), (other_side(first), max(2, cycles + 1 - cycles_first), 0.0)]


@register("wave")
def wave(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    plan = wave_plan(request, rng)
    sequential = request.variant == "one_hand" and request.side == "both"
    period = jitter(rng, WAVE_PERIOD, 0.15)
    tempo = fitted_tempo(request.speed, 1.5 * len(plan) + period * sum(c for _, c, _ in plan))
    period = max(period * tempo, 0.4)
    body, bursts, t, end = Body(), [], 0.0, 0.0
    for hand, cycles, delay in plan:
        start = t + span(rng, 0.1, tempo) + delay * tempo
        up = start + span(rng, 0.6, tempo, 0.5)
        down = up + cycles * period
        raised = vary(WAVE_RAISED, rng)
        if hand != plan[0][0] and request.variant == "both_hands" and request.side in SIDES:
            raised["flex"] -= 8  # the named hand leads: the other a little lower
        lower = span(rng, 0.6, tempo, 0.5)
        key_wave_arm(body, hand, (start, up, down, down + lower), raised)
        bursts.append((hand, up, cycles, period))
        end = max(end, body.arm(hand).time)
        t = down + 0.4 * lower if sequential else start  # the next rises as this one drops
    end += span(rng, 0.1, tempo)
    frames = clip_frames(end)
    extra: dict[str, dict] = {"trunk": sway(frames, rng)}
    amplitude = jitter(rng, WAVE_SWAY) * DEG
    for hand, up, cycles, period_ in bursts:
        swing = amplitude * burst(frames, up - 0.1 * period_, cycles, period_, 0.3 * period_)
        extra[hand] = {"elbow": swing * sign(hand), "turn": 0.2 * swing * sign(hand)}
    return standing_result(request, body.render(frames, extra))


def key_wave_arm(body: Body, hand: str, times: tuple[float, ...], raised: Posture) -> None:
    """Raise ``hand`` at times (start, up, down, rest): the arm turns out to the side first."""
    start, up, down, rest = times
    body.arms[hand] = [Keys(), Keys()]
    lift, turn = body.arms[hand]
    lift.to(start, {}).to(up, {k: v for k, v in raised.items() if k != "turn"}).hold(down)
    lift.to(rest, {})
    turn.to(start, {}).to(0.5 * (start + up), {"turn": raised["turn"]})
    turn.hold(0.5 * (down + rest)).to(rest, {})


RAISED_ARMS = {
    "overhead": {"turn": -18, "abduct": 168, "shrug": 12, "elbow": 6},
    "forward": {"flex": 90, "turn": -2, "elbow": 4},
    "sideways": {"abduct": 90, "turn": 4, "elbow": 4},
}
RAISED_TRUNK = {"overhead": {"flex": -5, "nod": -10}, "forward": {}, "sideways": {"flex": -2}}


@register("raise_arms")
def raise_arms(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = fitted_tempo(request.speed, 0.2 + 1.95 * request.reps)
    body = Body()
    t = span(rng, 0.1, tempo)
    for _ in range(request.reps):
        top = t + span(rng, 0.75, tempo, 0.62 if request.variant == "overhead" else 0.45)
        held = top + span(rng, 0.35, tempo)
        down = held + span(rng, 0.7, tempo, 0.6 if request.variant == "overhead" else 0.45)
        trunk = vary(RAISED_TRUNK[request.variant], rng, 0.3)
        for arm in SIDES:
            raised = vary(RAISED_ARMS[request.variant], rng, 0.04)
            body.arm(arm).to(t, {}).to(top, raised).hold(held).to(down, {})
        body.trunk.to(t, {}).to(top, trunk).hold(held).to(down, {})
        t = down + span(rng, 0.15, tempo)
    frames = clip_frames(t)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))


CLAP_GAP = 0.055  # m between the wrist centres when the palms meet
CLAP_SHAPES = {
    # wrist at contact (chest frame, left hand), IK guess and unknowns, how the hands open
    "in_front": (
        (0.0, 0.06, 0.33),
        {"flex": 40, "turn": -35, "elbow": 100},
        ("turn", "flex", "elbow"),
        {"turn": 32, "elbow": -12},
    ),
    "overhead": (
        (0.0, 0.58, 0.1),
        {"flex": 165, "abduct": -10, "elbow": 15},
        ("flex", "abduct", "elbow"),
        {"abduct": 26, "elbow": 8},
    ),
}


def clap_postures(variant: str, rng: np.random.Generator) -> dict[str, tuple[Posture, Posture]]:
    """Per hand: (open, contact) postures; the contact is solved so the palms just meet."""
    target, guess, unknowns, opening = CLAP_SHAPES[variant]
    height = target[1] + rng.uniform(-0.04, 0.04)
    depth = target[2] + rng.uniform(-0.04, 0.04)
    widen = jitter(rng, 1.0, 0.2)
    postures = {}
    for arm in SIDES:
        contact = reach_posture(arm, (CLAP_GAP / 2, height, depth), guess, unknowns)
        opened = {k: v + widen * opening.get(k, 0.0) for k, v in contact.items()}
        postures[arm] = (opened, contact)
    return postures


@register("clap")
def clap(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    overhead = request.variant == "overhead"
    period = jitter(rng, 0.44 if overhead else 0.38, 0.12)
    tempo = fitted_tempo(request.speed, 1.2 + period * request.reps)
    postures = clap_postures(request.variant, rng)
    body = Body()
    t = span(rng, 0.6 if overhead else 0.45, tempo, 0.52 if overhead else 0.4)
    close = 0.45 * period * tempo
    for arm in SIDES:
        body.arm(arm).to(t, postures[arm][0])
    for _ in range(request.reps):
        for arm in SIDES:
            body.arm(arm).to(t + close, postures[arm][1]).to(t + period * tempo, postures[arm][0])
        t += period * tempo
    end = t + span(rng, 0.6 if overhead else 0.5, tempo, 0.52 if overhead else 0.42)
    for arm in SIDES:
        body.arm(arm).to(end, {})
    look = {"nod": -14} if overhead else {"nod": 6}
    body.trunk.to(0.5 * tempo, vary(look, rng)).hold(end - 0.4 * tempo).to(end, {})
    frames = clip_frames(end)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))


def circle_curves(frames: int, start: float, stop: float, size: float, turns: int, backward: bool):
    """Elevation and forward offsets (radians) of an arm circling ``turns`` times in [start, stop].

    Phase 0 is the top; forward circles move forward over the top.
    """
    t = frame_times(frames)
    u = np.clip((t - start) / (stop - start), 0.0, 1.0)
    phase = 2 * np.pi * turns * u
    ramp = 0.25 / turns  # fade the circle's size in and out over a quarter circle
    radius = size * minjerk(u / ramp) * minjerk((1.0 - u) / ramp)
    forward = radius * np.sin(phase) * (-1.0 if backward else 1.0)
    return {"abduct": radius * np.cos(phase), "turn": -forward}


@register("arm_circles")
def arm_circles(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    big = rng.random() < 0.5
    size = rng.uniform(30, 42) if big else rng.uniform(14, 22)
    period = jitter(rng, 1.0 if big else 0.65)
    tempo = fitted_tempo(request.speed, 1.2 + period * request.reps)
    period = max(period, (0.8 if big else 0.5) / tempo)  # no faster than this, whatever the tempo
    arms = SIDES if request.side == "both" else (request.side,)
    body = Body()
    up = span(rng, 0.55, tempo, 0.48)
    stop = up + request.reps * period * tempo
    end = stop + span(rng, 0.55, tempo, 0.48)
    height = jitter(rng, 90, 0.06)
    for arm in arms:
        body.arm(arm).to(up, {"abduct": height, "elbow": 4}).hold(stop).to(end, {})
    body.trunk.to(up, {"flex": -2}).hold(stop).to(end, {})
    frames = clip_frames(end)
    backward = request.variant == "backward"
    circle = circle_curves(frames, up, stop, size * DEG, request.reps, backward)
    extra: dict[str, dict] = dict.fromkeys(arms, circle)
    extra["trunk"] = sway(frames, rng)
    return standing_result(request, body.render(frames, extra))
