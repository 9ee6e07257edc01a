"""raise_arms: one arm (side left / right) or both (side both) raised, held and lowered.

Timeline per rep (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster): up (0.5) -> hold (0.3-2.2, drawn per clip) -> down (0.55) ->
pause (0.15). Real raises rise and fall in 0.3-0.7 s and hold 0.5-2.5 s.

Shapes (variants), calibrated on real studio raises (upper arm from hanging, elbow bend, plane
from forward to the side):

* overhead: the arm straight up or nearly (145-172 deg, elbow 0-35, plane 45-95): the hand
  0.25-0.45 m above the head;
* hand_up: a hand raised as to ask a question (upper arm 95-120 deg, elbow 65-95, forearm
  upright): the hand 0.1-0.25 m above the head;
* shoulder: the forearm raised in front of the shoulder with the upper arm low (12-35 deg,
  elbow 125-145): the hand at chin height;
* forward / sideways: straight arms to shoulder height in front / out to the side.

The arm not raised (one-arm raises) hangs; an arm raised overhead alone leans the trunk a little
the other way.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import ActionRequest, ActionResult, other_side, register
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

# Raised arm per variant: (low, high) degrees per angle of ``postures.apply_arm``, drawn per clip.
RAISE_SHAPES: dict[str, dict[str, tuple[float, float]]] = {
    "overhead": {"turn": (45, 95), "flex": (145, 172), "elbow": (0, 35), "shrug": (8, 14)},
    "hand_up": {"turn": (35, 60), "flex": (95, 120), "twist": (-10, 5), "elbow": (65, 95)},
    "shoulder": {"turn": (30, 60), "flex": (12, 35), "twist": (0, 10), "elbow": (125, 145)},
    "forward": {"flex": (86, 94), "turn": (-3, -1), "elbow": (3, 5)},
    "sideways": {"abduct": (86, 94), "turn": (3, 5), "elbow": (3, 5)},
}
RAISED_TRUNK = {"overhead": {"flex": -5, "nod": -10}, "sideways": {"flex": -2}}
ONE_ARM_LEAN = 3.0  # deg the trunk bends away from an arm raised overhead alone
HOLD_SECONDS = (0.3, 2.2)  # how long the arms stay up (normal tempo), drawn per clip
PHASES = {"up": 0.5, "down": 0.55, "pause": 0.15}  # s at normal tempo
# s: the quickest rise or fall; the wrist's centripetal acceleration on the long arc overhead
# needs more time to stay under the contract's limit
MIN_MOVE = {"overhead": 0.55, "hand_up": 0.45}
MIN_MOVE_OTHER = 0.4
LEVEL_SPREAD = 0.04  # the two arms of a both-arm raise differ by up to 4% in each angle


def raised_arms(request: ActionRequest, rng: np.random.Generator) -> dict[str, Posture]:
    """The raised posture (degrees) of each raised arm."""
    shape = {name: rng.uniform(*limits) for name, limits in RAISE_SHAPES[request.variant].items()}
    arms = SIDES if request.side == "both" else (request.side,)
    return {arm: vary(shape, rng, LEVEL_SPREAD) for arm in arms}


def raised_trunk(request: ActionRequest, rng: np.random.Generator) -> Posture:
    trunk = vary(RAISED_TRUNK.get(request.variant, {}), rng, 0.3)
    if request.variant == "overhead" and request.side in SIDES:
        trunk["bend"] = sign(other_side(request.side)) * ONE_ARM_LEAN
    return trunk


@register("raise_arms")
def raise_arms(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    hold = rng.uniform(*HOLD_SECONDS)
    tempo = fitted_tempo(request.speed, 0.2 + request.reps * (sum(PHASES.values()) + hold))
    arms = raised_arms(request, rng)
    trunk = raised_trunk(request, rng)
    body = Body()
    quickest = MIN_MOVE.get(request.variant, MIN_MOVE_OTHER)
    t = span(rng, 0.1, tempo)
    for _ in range(request.reps):
        top = t + span(rng, PHASES["up"], tempo, quickest)
        held = top + span(rng, hold, tempo)
        down = held + span(rng, PHASES["down"], tempo, quickest)
        for arm, raised in arms.items():
            body.arm(arm).to(t, {}).to(top, raised).hold(held).to(down, {})
        body.trunk.to(t, {}).to(top, trunk).hold(held).to(down, {})
        t = down + span(rng, PHASES["pause"], tempo)
    frames = clip_frames(t)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))
