"""Punching: jab, cross, hook, uppercut and combinations.

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* punch: guard up (0.4) -> per punch [load (0.15): hook, uppercut] -> strike (0.17 jab, 0.2
  cross, 0.24 hook, 0.22 uppercut) -> hold (0.06) -> back to the guard (0.24) -> ... -> guard
  down (0.42). Jab / cross: the fist shoots forward at shoulder height, the trunk twists into
  it (the cross much more); hook: the elbow up at shoulder height bent 90 deg, the fist sweeps
  across to the midline; uppercut: the knees dip, the fist drops to the waist and drives up to
  the chin. both = alternating arms. combo: reps combinations jab, cross (, hook), lead hand =
  side (both: the lead alternates), a pause (0.3) after each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.corpus.actions.base import ActionRequest, ActionResult, jitter, other_side, register
from esd.corpus.actions.upper_body.postures import SIDES, Body, Posture
from esd.corpus.actions.upper_body.timing import (
    clip_frames,
    fitted_tempo,
    sign,
    span,
    standing_result,
    sway,
    vary,
)

GUARD = {"flex": 50, "abduct": 10, "turn": -28, "elbow": 118}  # fists up in front of the chin
BOXING_KNEES = 14  # deg: soft knees of the boxing stance


@dataclass(frozen=True)
class PunchShape:
    strike: Posture  # the punching arm at impact
    twist: float  # deg: trunk turn into the punch (toward the other side)
    seconds: float  # strike duration at normal tempo
    floor: float  # shortest strike (s): keeps the fist's acceleration plausible at 20 fps
    load: Posture | None = None  # the arm before the strike (hook, uppercut)
    load_twist: float = 0.0  # deg: trunk turn away from the punch while loading
    dip: float = 0.0  # deg: extra knee bend while loading


PUNCH_SHAPES = {
    "jab": PunchShape({"flex": 88, "turn": -5, "elbow": 4}, 12, 0.17, 0.17),
    "cross": PunchShape({"flex": 90, "turn": 16, "elbow": 3, "shrug": 6}, 36, 0.2, 0.19),
    "hook": PunchShape(
        {"flex": 8, "abduct": 84, "turn": -58, "elbow": 88},
        34,
        0.24,
        0.23,
        load={"flex": 12, "abduct": 72, "turn": 0, "elbow": 100},
        load_twist=14,
    ),
    "uppercut": PunchShape(
        {"flex": 62, "turn": -22, "elbow": 112},
        26,
        0.22,
        0.2,
        load={"flex": 12, "turn": -5, "elbow": 85},
        load_twist=14,
        dip=14,
    ),
}


def punch_sequence(request: ActionRequest, rng: np.random.Generator) -> list[list[tuple]]:
    """Groups of (kind, arm) punches: one group per combination, or one punch per group."""
    side = request.side or "right"
    if request.variant == "combo":
        lead = side if side in SIDES else SIDES[int(rng.integers(2))]
        groups = []
        for _ in range(request.reps):
            group = [("jab", lead), ("cross", other_side(lead))]
            if rng.random() < 0.5:
                group.append(("hook", lead))
            groups.append(group)
            lead = other_side(lead) if side == "both" else lead
        return groups
    arm = side if side in SIDES else SIDES[int(rng.integers(2))]
    groups = []
    for _ in range(request.reps):
        groups.append([(request.variant, arm)])
        arm = other_side(arm) if side == "both" else arm
    return groups


def add_punch(body: Body, kind: str, arm: str, start: float, tempo: float, rng) -> float:
    """Key one punch of ``arm`` from the guard at ``start``; returns when it is back in guard."""
    shape = PUNCH_SHAPES[kind]
    keys, s = body.arm(arm), sign(arm)
    t = start
    if shape.load is not None:
        t += span(rng, 0.15, tempo, 0.14)
        keys.to(t, vary(shape.load, rng))
        twist = s * jitter(rng, shape.load_twist)
        body.trunk.to(t, {"twist": twist, "look": -0.8 * twist, "flex": 4})
        body.stance.to(t, {"knees": BOXING_KNEES + jitter(rng, shape.dip + 1)})
    t += span(rng, shape.seconds, tempo, shape.floor)
    keys.to(t, vary(shape.strike, rng, 0.05))
    twist = -s * jitter(rng, shape.twist)
    body.trunk.to(t, {"twist": twist, "look": -0.8 * twist, "flex": 4})
    body.stance.to(t, {"knees": BOXING_KNEES})
    t += span(rng, 0.06, tempo, 0.05)
    keys.hold(t)
    body.trunk.hold(t)
    t += span(rng, 0.24, tempo, 0.22)
    keys.to(t, GUARD)
    body.trunk.to(t, {"flex": 4})
    return t


@register("punch")
def punch(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    groups = punch_sequence(request, rng)
    count = sum(len(group) for group in groups)
    tempo = fitted_tempo(request.speed, 0.9 + 0.66 * count + 0.3 * len(groups))
    body = Body()
    t = span(rng, 0.4, tempo, 0.36)
    guard = {arm: vary(GUARD, rng, 0.05) for arm in SIDES}
    for arm in SIDES:
        body.arm(arm).to(t, guard[arm])
    body.trunk.to(t, {"flex": 4})
    body.stance.to(t, {"knees": BOXING_KNEES})
    for group in groups:
        for kind, arm in group:
            t = add_punch(body, kind, arm, t + span(rng, 0.04, tempo), tempo, rng)
        t += span(rng, 0.3 if request.variant == "combo" else 0.1, tempo)
        for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
            track.hold(t)
    end = t + span(rng, 0.42, tempo, 0.38)
    for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
        track.to(end, {})
    frames = clip_frames(end)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))
