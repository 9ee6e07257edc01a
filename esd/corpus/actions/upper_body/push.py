"""Pushing forward with one hand or two.

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* push: hands to the chest (0.45) -> per rep push forward at chest height, trunk and body
  leaning in (0.3) -> hold (0.35) -> back to the chest (0.35) -> down (0.45). one_hand + both:
  the hands alternate; two_hands + a side: that hand leads.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import ActionRequest, ActionResult, jitter, other_side, register
from esd.corpus.actions.upper_body.postures import SIDES, Body
from esd.corpus.actions.upper_body.timing import (
    clip_frames,
    fitted_tempo,
    sign,
    span,
    standing_result,
    sway,
    vary,
)

PUSH_CHEST = {"flex": 10, "turn": -30, "abduct": 15, "elbow": 105}  # hands at the chest
PUSHED = {"flex": 80, "turn": -9, "elbow": 5}  # arms extended forward at chest height
PUSH_LEAN = {"flex": 12, "nod": -6}  # trunk while pushing
BODY_LEAN = 5  # deg: the whole body leans forward from the ankles while pushing


def push_hands(request: ActionRequest, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """The pushing hands of each rep (the first is the lead)."""
    if request.variant == "two_hands":
        lead = request.side if request.side in SIDES else SIDES[int(rng.integers(2))]
        return [(lead, other_side(lead))] * request.reps
    if request.side in SIDES:
        return [(request.side,)] * request.reps
    hand = SIDES[int(rng.integers(2))]
    return [(hand,) if i % 2 == 0 else (other_side(hand),) for i in range(request.reps)]


@register("push")
def push(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = fitted_tempo(request.speed, 1.0 + 1.05 * request.reps)
    body, lead_only = Body(), request.variant == "two_hands" and request.side in SIDES
    t = span(rng, 0.45, tempo, 0.35)
    for arm in SIDES:
        body.arm(arm).to(t, vary(PUSH_CHEST, rng, 0.05))
    for hands in push_hands(request, rng):
        out = t + span(rng, 0.3, tempo, 0.25)
        held = out + span(rng, 0.35, tempo)
        back = held + span(rng, 0.35, tempo, 0.3)
        for i, arm in enumerate(hands):
            pushed = vary(PUSHED, rng, 0.04)
            if lead_only and i == 1:  # the lead hand reaches further
                pushed = {**pushed, "flex": pushed["flex"] - 6, "elbow": 22}
            start = t + (0.05 * tempo if lead_only and i == 1 else 0.0)
            body.arm(arm).hold(start).to(out, pushed).hold(held).to(back, PUSH_CHEST)
        lean = vary(PUSH_LEAN, rng)
        if len(hands) == 1 or lead_only:  # the trunk turns the (leading) shoulder forward
            lean["twist"] = -sign(hands[0]) * jitter(rng, 12 if len(hands) == 1 else 7)
        body.trunk.hold(t).to(out, lean).hold(held).to(back, {})
        body.stance.hold(t).to(out, {"lean": jitter(rng, BODY_LEAN)}).hold(held).to(back, {})
        t = back
    end = t + span(rng, 0.45, tempo, 0.35)
    for track in (body.arm("left"), body.arm("right")):
        track.to(end, {})
    frames = clip_frames(end)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))
