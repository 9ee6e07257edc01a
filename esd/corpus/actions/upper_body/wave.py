"""wave: a hand raised and swung side to side, in three styles (``catalog.WAVE_STYLES``).

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster): arm out and up (0.6) -> the hand swings side to side (one cycle
~0.62 s, 1.1-2.3 Hz; big waves slower, ~0.85 s, 0.9-1.7 Hz) -> down (0.6). The frequency ranges
were widened to cover real studio capture, whose waves swing at about 0.8-2.5 Hz, the big
two-handed ones overhead the slowest. one_hand + both: one hand, then the other;
both_hands: both (a named side's hand a little earlier and higher).

Styles, calibrated on real studio waves (upper arm from hanging, elbow bend, what swings):

* plain: the upper arm out and up (~105 deg), the forearm up (elbow ~70), the forearm swings
  about the elbow; reps + 2 cycles; the hand above the head.
* big: the arm high overhead (upper arm 130-165 deg, elbow 15-50), the whole arm sways (~26 deg)
  about the shoulder; 2 reps + 2 cycles.
* small: the upper arm low (12-35 deg), the forearm up in front of the shoulder (elbow
  115-140), the forearm swings about the upper arm's axis; the hand stays below the chin;
  2 reps + 2 cycles.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import DEG, ActionRequest, ActionResult, jitter, other_side, register
from esd.corpus.actions.upper_body.postures import SIDES, Body, Keys, Posture
from esd.corpus.actions.upper_body.timing import (
    burst,
    clip_frames,
    fitted_tempo,
    sign,
    span,
    standing_result,
    sway,
    vary,
)
from esd.corpus.catalog import PLAIN

WAVE_RAISED = {"turn": 65, "flex": 105, "twist": -15, "elbow": 70}  # plain: upper arm out and up
# Raised arm of the other styles: (low, high) degrees per angle, drawn per hand.
WAVE_SHAPES = {
    "big": {"turn": (50, 95), "flex": (130, 165), "twist": (-20, -5), "elbow": (15, 50)},
    "small": {"turn": (20, 55), "flex": (12, 35), "twist": (0, 10), "elbow": (115, 140)},
}
WAVE_SWAY = {PLAIN: 34, "big": 26, "small": 32}  # deg of the swinging angle either way
WAVE_PERIOD = {PLAIN: 0.62, "big": 0.85, "small": 0.62}  # s per side-to-side cycle
WAVE_PERIOD_SPREAD = 0.3  # the period varies +-30% between clips


def wave_cycles(request: ActionRequest) -> int:
    """Side-to-side cycles of one waving hand: real waves (other than plain) go on longer."""
    return request.reps + 2 if request.style == PLAIN else 2 * request.reps + 2


def wave_plan(request: ActionRequest, rng: np.random.Generator) -> list[tuple[str, int, float]]:
    """(hand, cycles, delay s) of each waving hand; delays relative to the previous hand."""
    cycles = wave_cycles(request)
    if request.variant == "both_hands":
        lead = request.side if request.side in SIDES else "left"
        delay = 0.12 if request.side in SIDES else 0.0
        return [(lead, cycles, 0.0), (other_side(lead), cycles, delay)]
    if request.side in SIDES:
        return [(request.side, cycles, 0.0)]
    first = SIDES[int(rng.integers(2))]
    cycles_first = max(2, (cycles + 1) // 2)
    return [(first, cycles_first, 0.0), (other_side(first), max(2, cycles + 1 - cycles_first), 0.0)]


def raised_posture(style: str, rng: np.random.Generator) -> Posture:
    """The raised arm of a waving hand (degrees)."""
    if style == PLAIN:
        return vary(WAVE_RAISED, rng)
    return {name: rng.uniform(*limits) for name, limits in WAVE_SHAPES[style].items()}


def swing_curves(style: str, swing: np.ndarray, hand: str) -> dict[str, np.ndarray]:
    """The angles a style swings (radians, (T,)): the forearm about the elbow (plain), the
    whole arm sideways about the shoulder (big), the forearm about the upper arm (small)."""
    s = sign(hand)
    if style == "big":
        return {"abduct": swing * s, "elbow": 0.4 * np.abs(swing)}
    if style == "small":
        return {"twist": swing * s}
    return {"elbow": swing * s, "turn": 0.2 * swing * s}


@register("wave")
def wave(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    plan = wave_plan(request, rng)
    sequential = request.variant == "one_hand" and request.side == "both"
    period = jitter(rng, WAVE_PERIOD[request.style], WAVE_PERIOD_SPREAD)
    tempo = fitted_tempo(request.speed, 1.5 * len(plan) + period * sum(c for _, c, _ in plan))
    period = max(period * tempo, 0.4)
    body, bursts, t, end = Body(), [], 0.0, 0.0
    for hand, cycles, delay in plan:
        start = t + span(rng, 0.1, tempo) + delay * tempo
        up = start + span(rng, 0.6, tempo, 0.5)
        down = up + cycles * period
        raised = raised_posture(request.style, rng)
        if hand != plan[0][0] and request.variant == "both_hands" and request.side in SIDES:
            raised["flex"] *= 0.92  # the named hand leads: the other a little lower
        lower = span(rng, 0.6, tempo, 0.5)
        key_wave_arm(body, hand, (start, up, down, down + lower), raised)
        bursts.append((hand, up, cycles, period))
        end = max(end, body.arm(hand).time)
        t = down + 0.4 * lower if sequential else start  # the next rises as this one drops
    end += span(rng, 0.1, tempo)
    frames = clip_frames(end)
    extra: dict[str, dict] = {"trunk": sway(frames, rng)}
    amplitude = jitter(rng, WAVE_SWAY[request.style]) * DEG
    for hand, up, cycles, period_ in bursts:
        swing = amplitude * burst(frames, up - 0.1 * period_, cycles, period_, 0.3 * period_)
        extra[hand] = swing_curves(request.style, swing, hand)
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
