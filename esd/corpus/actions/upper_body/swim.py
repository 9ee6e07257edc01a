"""Swimming strokes while standing: freestyle and breaststroke.

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* swim: freestyle: 2-3 windmill strokes per arm (1.4 s each), the arms half a stroke apart,
  with a trunk roll; breaststroke: 2-3 cycles (1.5 s) of glide with the hands together in
  front -> sweep out -> elbows bend, hands back together under the chin -> shoot forward.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import DEG, ActionRequest, ActionResult, jitter, other_side, register
from esd.corpus.actions.upper_body.arm_ik import reach_posture
from esd.corpus.actions.upper_body.postures import SIDES, Body, Keys
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

# Freestyle arm keys within one stroke cycle: (fraction of the cycle, posture). The flex track
# only turns at the reach (overhead in front) and the exit (behind the hip); turn and elbow bend
# the arm out to the side with a high elbow during the recovery and a little during the pull.
CRAWL_FLEX = ((0.45, {"flex": 165}), (1.0, {"flex": -20}))
CRAWL_SHAPE = (
    (0.22, {"turn": 80, "elbow": 95}),
    (0.45, {"turn": 18, "elbow": 5}),
    (0.72, {"turn": 8, "elbow": 40}),
    (1.0, {"turn": 15, "elbow": 10}),
)
CRAWL_ROLL = 11  # deg: trunk twist toward the recovering arm
CRAWL_PERIOD = 1.4  # s per stroke cycle of one arm
# Breaststroke: hands together forward (glide), sweep out, elbows bend and the hands come
# together under the chin, then shoot forward again. Targets in the chest frame (left hand).
BREAST_GLIDE = ((0.05, 0.12, 0.47), {"flex": 85, "turn": -20, "elbow": 8})
BREAST_PRAY = ((0.05, 0.02, 0.27), {"flex": 25, "turn": -38, "elbow": 80})
BREAST_OUT = {"flex": 80, "turn": 45, "elbow": 15}
BREAST_IN = {"flex": 45, "turn": 15, "elbow": 105}
BREAST_PERIOD = 1.5  # s per stroke cycle


def key_crawl(body: Body, arm: str, start: float, cycles: int, period: float) -> float:
    """Freestyle strokes of one arm from rest at ``start``; returns when the arm is at rest."""
    flex, shape = body.arms[arm]
    flex.to(start, {})
    shape.to(start, {})
    for cycle in range(cycles):
        t0 = start + cycle * period
        for fraction, posture in CRAWL_FLEX:
            flex.to(t0 + fraction * period, posture)
        for fraction, posture in CRAWL_SHAPE:
            shape.to(t0 + fraction * period, posture)
    end = start + cycles * period + 0.3 * period
    flex.to(end, {})
    shape.to(end, {})
    return end


def freestyle(body: Body, tempo: float, rng: np.random.Generator) -> tuple[float, list]:
    """Key alternating freestyle strokes; returns the end (s) and the trunk roll bursts."""
    period = max(jitter(rng, CRAWL_PERIOD) * tempo, 1.35)
    cycles = int(rng.integers(2, 4))
    first = SIDES[int(rng.integers(2))]
    start = span(rng, 0.15, tempo)
    end = 0.0
    for i, arm in enumerate((first, other_side(first))):
        body.arms[arm] = [Keys(), Keys()]
        end = max(end, key_crawl(body, arm, start + 0.5 * period * i, cycles, period))
    return end + span(rng, 0.1, tempo), [(first, start, cycles, period)]


def breaststroke(body: Body, tempo: float, rng: np.random.Generator) -> tuple[float, list]:
    """Key breaststroke cycles with both arms; returns the end (s) (no trunk roll)."""
    period = max(jitter(rng, BREAST_PERIOD) * tempo, 1.2)
    cycles = int(rng.integers(2, 4))
    glide = {arm: reach_posture(arm, *BREAST_GLIDE) for arm in SIDES}
    pray = {arm: reach_posture(arm, *BREAST_PRAY) for arm in SIDES}
    out = dict.fromkeys(SIDES, vary(BREAST_OUT, rng))
    inward = dict.fromkeys(SIDES, vary(BREAST_IN, rng))
    t = span(rng, 0.45, tempo, 0.35)
    for arm in SIDES:
        body.arm(arm).to(t, pray[arm])
    for _ in range(cycles):
        keys = ((0.18, glide), (0.2, glide), (0.3, out), (0.2, inward), (0.12, pray))
        for fraction, posture in keys:
            t += fraction * period
            for arm in SIDES:
                body.arm(arm).to(t, posture[arm])
        body.trunk.to(t - 0.62 * period, {"flex": 8, "nod": -6}).to(t, {"flex": -2, "nod": 4})
        body.stance.to(t - 0.3 * period, {"knees": 6}).to(t, {"knees": 14})
    end = t + span(rng, 0.5, tempo, 0.4)
    for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
        track.to(end, {})
    return end, []


@register("swim")
def swim(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    nominal = 0.9 + 3 * (CRAWL_PERIOD if request.variant == "freestyle" else BREAST_PERIOD)
    tempo = fitted_tempo(request.speed, nominal * 1.1)
    body = Body()
    stroke = freestyle if request.variant == "freestyle" else breaststroke
    end, rolls = stroke(body, tempo, rng)
    frames = clip_frames(end)
    extra: dict[str, dict] = {"trunk": sway(frames, rng)}
    for first, start, cycles, period in rolls:
        roll = sign(first) * jitter(rng, CRAWL_ROLL) * DEG
        twist = roll * burst(frames, start, cycles, period, 0.4 * period)
        extra["trunk"]["twist"] = twist
        extra["trunk"]["look"] = -0.5 * twist
    return standing_result(request, body.render(frames, extra))
