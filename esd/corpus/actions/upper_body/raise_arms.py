"""raise_arms: one arm (side left / right) or both (side both) raised, held and lowered.

Timeline per rep (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster): up (0.4-1.4, drawn per clip) -> hold (0.2-1.6, drawn per clip) ->
down (as long as up, +-15%) -> pause (0.15). The ranges were widened to cover real studio capture,
where raises rise and fall in 0.4-1.6 s (brisk to weary) and stay up 0.5-2.1 s in all.

While held, a raised hand (overhead, hand_up, shoulder; the level forward / sideways raises stay
put) is not frozen: the arm drifts slowly (a few degrees, aperiodic, keys HOLD_DRIFT_PERIOD
apart), as real held arms do; far below a wave's regular 18-34 deg swings at 1-2 Hz.

Shapes (variants), calibrated on real studio raises (upper arm from hanging, elbow bend, plane
from forward to the side):

* overhead: the arm straight up or nearly (138-172 deg, elbow 0-50, plane 45-95): the hand
  0.2-0.45 m above the head;
* hand_up: a hand raised as to ask a question (upper arm 90-130 deg, elbow 55-95, forearm
  upright): the hand 0.1-0.25 m above the head;
* shoulder: the forearm raised in front of the shoulder with the upper arm low (12-35 deg,
  elbow 125-145): the hand at chin height;
* forward / sideways: straight arms to shoulder height in front / out to the side.

The arm not raised (one-arm raises) hangs; an arm raised overhead alone leans the trunk a little
the other way.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import DEG, ActionRequest, ActionResult, other_side, register
from esd.corpus.actions.upper_body.postures import SIDES, Body, Posture
from esd.corpus.actions.upper_body.timing import (
    clip_frames,
    fitted_tempo,
    frame_times,
    sign,
    span,
    standing_result,
    sway,
    vary,
)
from esd.corpus.curves import minjerk, smooth_noise

# Raised arm per variant: (low, high) degrees per angle of ``postures.apply_arm``, drawn per clip.
RAISE_SHAPES: dict[str, dict[str, tuple[float, float]]] = {
    "overhead": {"turn": (45, 95), "flex": (138, 172), "elbow": (0, 50), "shrug": (8, 14)},
    "hand_up": {"turn": (35, 60), "flex": (90, 130), "twist": (-10, 5), "elbow": (55, 95)},
    "shoulder": {"turn": (30, 60), "flex": (12, 35), "twist": (0, 10), "elbow": (125, 145)},
    "forward": {"flex": (86, 94), "turn": (-3, -1), "elbow": (3, 5)},
    "sideways": {"abduct": (86, 94), "turn": (3, 5), "elbow": (3, 5)},
}
RAISED_TRUNK = {"overhead": {"flex": -5, "nod": -10}, "sideways": {"flex": -2}}
ONE_ARM_LEAN = 3.0  # deg the trunk bends away from an arm raised overhead alone
HOLD_SECONDS = (0.2, 1.6)  # how long the arms stay up (normal tempo), drawn per clip
# s at normal tempo of the rise (drawn log-uniformly per clip: median ~0.75 s) and the pause;
# the fall lasts as long as the rise, +-DOWN_SPREAD
MOVE_SECONDS = (0.4, 1.4)
DOWN_SPREAD = 0.15
PAUSE_SECONDS = 0.15
HOLD_DRIFT_DEG = (2.0, 5.0)  # amplitude of the held arm's slow drift, drawn per clip
HOLD_DRIFT_PERIOD = 1.5  # s between the drift's random keys (a drift, not an oscillation)
HOLD_DRIFT_ANGLES = ("flex", "turn")
# variants whose held arm drifts; straight arms to shoulder height (forward / sideways) stay level
DRIFTING = ("overhead", "hand_up", "shoulder")
DRIFT_RAMP = 0.25  # s over which the drift fades in after the rise and out before the fall
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


def move_seconds(rng: np.random.Generator) -> tuple[float, float]:
    """(rise, fall) s at normal tempo: log-uniform in MOVE_SECONDS, the fall about as long."""
    rise = float(np.exp(rng.uniform(*np.log(MOVE_SECONDS))))
    return rise, rise * rng.uniform(1.0 - DOWN_SPREAD, 1.0 + DOWN_SPREAD)


def hold_window(frames: int, holds: list[tuple[float, float]]) -> np.ndarray:
    """(T,) 1 inside each held interval (s), faded in and out over DRIFT_RAMP; else 0."""
    t = frame_times(frames)
    window = np.zeros(frames)
    for start, end in holds:
        ramp = min(DRIFT_RAMP, 0.5 * (end - start))
        if ramp <= 0:
            continue
        rise = minjerk((t - start) / ramp) * minjerk((end - t) / ramp)
        window = np.maximum(window, np.where((t > start) & (t < end), rise, 0.0))
    return window


def hold_drift(
    frames: int, holds: list[tuple[float, float]], arms: list[str], rng: np.random.Generator
) -> dict[str, dict[str, np.ndarray]]:
    """Per raised arm, slow aperiodic drift (radians, (T,)) of HOLD_DRIFT_ANGLES while held."""
    window = hold_window(frames, holds)
    scale = rng.uniform(*HOLD_DRIFT_DEG) * DEG
    return {
        arm: {
            name: window * smooth_noise(frames, rng, scale, HOLD_DRIFT_PERIOD)
            for name in HOLD_DRIFT_ANGLES
        }
        for arm in arms
    }


@register("raise_arms")
def raise_arms(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    hold = rng.uniform(*HOLD_SECONDS)
    rise, fall = move_seconds(rng)
    tempo = fitted_tempo(request.speed, 0.2 + request.reps * (rise + fall + PAUSE_SECONDS + hold))
    arms = raised_arms(request, rng)
    trunk = raised_trunk(request, rng)
    body = Body()
    quickest = MIN_MOVE.get(request.variant, MIN_MOVE_OTHER)
    t = span(rng, 0.1, tempo)
    holds = []
    for _ in range(request.reps):
        top = t + span(rng, rise, tempo, quickest)
        held = top + span(rng, hold, tempo)
        down = held + span(rng, fall, tempo, quickest)
        for arm, raised in arms.items():
            body.arm(arm).to(t, {}).to(top, raised).hold(held).to(down, {})
        body.trunk.to(t, {}).to(top, trunk).hold(held).to(down, {})
        holds.append((top, held))
        t = down + span(rng, PAUSE_SECONDS, tempo)
    frames = clip_frames(t)
    extra: dict[str, dict] = {"trunk": sway(frames, rng)}
    if request.variant in DRIFTING:
        extra.update(hold_drift(frames, holds, list(arms), rng))
    return standing_result(request, body.render(frames, extra))
