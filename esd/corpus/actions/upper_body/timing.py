"""Timing and variation of the upper-body actions: the tempo of a clip (faster when it would
exceed MAX_SECONDS), randomised durations and postures, mirrored sides, the idle sway of the trunk
and the faded oscillation (``burst``) of waves and strokes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import DEG, TEMPO, ActionRequest, ActionResult, facts_of, jitter
from esd.corpus.actions.upper_body.postures import Posture
from esd.corpus.curves import minjerk, smooth_noise
from esd.corpus.physics import BodyMotion
from esd.motion.skeleton import FPS

MAX_SECONDS = 8.3  # longest clip generated here (the contract allows 8.5 s)
TIMING_SPREAD = 0.12  # jitter spread of the timings


def fitted_tempo(speed: str, nominal: float) -> float:
    """TEMPO of ``speed``, made faster when a clip of ``nominal`` s (normal tempo) would exceed
    MAX_SECONDS."""
    tempo = TEMPO[speed]
    return min(tempo, MAX_SECONDS / (nominal * (1.0 + TIMING_SPREAD)))


def span(rng: np.random.Generator, seconds: float, tempo: float, floor: float = 0.0) -> float:
    """A randomised duration of ``seconds`` at ``tempo``, never shorter than ``floor``."""
    return max(jitter(rng, seconds * tempo, TIMING_SPREAD), floor)


def vary(posture: Posture, rng: np.random.Generator, spread: float = 0.08) -> Posture:
    """``posture`` with every angle scaled by a random factor."""
    return {name: jitter(rng, angle, spread) for name, angle in posture.items()}


def clip_frames(end: float) -> int:
    """Frames of a clip whose last key is at ``end`` s (the last frame is at or after it)."""
    return int(np.ceil(end * FPS - 1e-6)) + 1


def frame_times(frames: int) -> np.ndarray:
    return np.arange(frames) / FPS


def sign(side: str) -> float:
    """+1 for the left (+x), -1 for the right."""
    return rig.SIDE_SIGN[side]


def mirrored(side: str, posture: Posture, names: Sequence[str] = ("twist", "look", "bend")):
    """A trunk posture written for a left-side action, mirrored for ``side``."""
    return {k: (v * sign(side) if k in names else v) for k, v in posture.items()}


def sway(frames: int, rng: np.random.Generator, scale_deg: float = 1.5) -> dict[str, np.ndarray]:
    """Slow idle drift of the trunk and head (radians), zero at both ends."""
    window = np.sin(np.pi * np.linspace(0.0, 1.0, frames)) ** 2
    return {
        name: window * smooth_noise(frames, rng, scale_deg * DEG)
        for name in ("flex", "bend", "nod", "look")
    }


def standing_result(request: ActionRequest, pose: rig.Pose) -> ActionResult:
    return ActionResult(BodyMotion.standing(pose), facts_of(request))


def burst(frames: int, start: float, cycles: int, period: float, ramp: float) -> np.ndarray:
    """sin over ``cycles`` periods from ``start`` (s), faded in and out over ``ramp`` s; else 0."""
    t = frame_times(frames) - start
    length = cycles * period
    window = minjerk(t / ramp) * minjerk((length - t) / ramp)
    return np.where((t > 0) & (t < length), np.sin(2 * np.pi * t / period) * window, 0.0)
