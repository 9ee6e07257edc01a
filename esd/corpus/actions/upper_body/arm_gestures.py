"""Arm gestures with the feet planted: clap and arm_circles (wave and raise_arms have their own
modules).

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* clap: hands up (0.45; overhead 0.6) -> reps x [close to contact (0.17) -> open (0.21)] ->
  down (0.5), in front of the chest or above the head; the palms stop exactly at contact.
* arm_circles: arms out to the side (0.55) -> reps circles, small (14-22 deg, 0.65 s) or big
  (30-42 deg, 1.0 s) -> down (0.55); side both / left / right.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import DEG, ActionRequest, ActionResult, jitter, register
from esd.corpus.actions.upper_body.arm_ik import reach_posture
from esd.corpus.actions.upper_body.postures import SIDES, Body, Posture
from esd.corpus.actions.upper_body.timing import (
    clip_frames,
    fitted_tempo,
    frame_times,
    span,
    standing_result,
    sway,
    vary,
)
from esd.corpus.curves import minjerk

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
