"""Timing of the lower-body actions: the tempo fitted to MAX_SECONDS, key times of repeated
phases, min-jerk curves through keys, plateaus and time windows.
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import jitter
from esd.corpus.curves import keyframes
from esd.motion.skeleton import FPS

MAX_SECONDS = 8.2  # longest clip with every jitter at its maximum (the contract allows 8.5 s)
TIMING_SLACK = 1.2  # how much longer than nominal jittered timings can make a clip


def fit_tempo(tempo: float, reps: int, rep_seconds: float, fixed_seconds: float) -> float:
    """``tempo``, shortened when the repetitions would take the clip past MAX_SECONDS."""
    longest = TIMING_SLACK * tempo * (reps * rep_seconds + fixed_seconds)
    return tempo * min(1.0, MAX_SECONDS / longest)


def phase_keys(
    start: float, reps: int, phases: tuple[float, ...], tempo: float, rng: np.random.Generator
) -> list[list[float]]:
    """Key times of each repetition: its start, then the end of each phase but the last (a pause
    before the next repetition). Hold phases (index 2) vary more."""
    t, out = start, []
    for _ in range(reps):
        keys = [t]
        for i, seconds in enumerate(phases[:-1]):
            keys.append(keys[-1] + jitter(rng, seconds * tempo, 0.4 if i == 2 else 0.1))
        out.append(keys)
        t = keys[-1] + jitter(rng, phases[-1] * tempo, 0.4)
    return out


def keyed(frames: int, keys: list[tuple[float, object]]) -> np.ndarray:
    """Min-jerk curve through (time, value) keys; values may be scalars (T,) or vectors (T, n)."""
    times = [k[0] for k in keys]
    values = np.array([k[1] for k in keys], dtype=np.float64)
    if values.ndim == 1:
        return keyframes(frames, times, values)
    return np.stack([keyframes(frames, times, values[:, i]) for i in range(values.shape[1])], 1)


def plateau(frames: int, rise: float, top: float, fall: float, bottom: float) -> np.ndarray:
    """(T,) 0 until ``rise`` s, eased up to 1 at ``top``, held until ``fall``, 0 at ``bottom``."""
    return keyed(frames, [(0.0, 0.0), (rise, 0.0), (top, 1.0), (fall, 1.0), (bottom, 0.0)])


def between(frames: int, start: float, end: float) -> np.ndarray:
    """(T,) bool: frames strictly between ``start`` and ``end`` seconds."""
    t = np.arange(frames) / FPS
    return (t > start) & (t < end)
