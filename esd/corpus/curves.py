"""Smooth time curves for joint angles: keyframes with minimum-jerk easing, pulses, time warps
and slow noise.

Every function returns a float64 array over frames; angles are in radians. Minimum-jerk easing
(Flash & Hogan, 1985) is how human point-to-point movements accelerate and decelerate:

    s(u) = 10 u^3 - 15 u^4 + 6 u^5,   u in [0, 1]    (zero velocity and acceleration at both ends)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from esd.motion.skeleton import FPS


def minjerk(u: np.ndarray) -> np.ndarray:
    """s(u) = 10u^3 - 15u^4 + 6u^5 on u clipped to [0, 1]."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


def keyframes(
    frames: int, times: Sequence[float], values: Sequence[float], fps: int = FPS
) -> np.ndarray:
    """Curve (T,) through (time s, value) keys, min-jerk eased between consecutive keys.

    Before the first key the curve holds the first value, after the last key the last value.
    Times must be non-decreasing; equal times make a step (avoid them for smooth motion).
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if times.shape != values.shape or times.ndim != 1 or len(times) == 0:
        raise ValueError("times and values must be 1-D sequences of the same non-zero length")
    if np.any(np.diff(times) < 0):
        raise ValueError("keyframe times must be non-decreasing")
    t = np.arange(frames) / fps
    index = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(index + 1, len(times) - 1)
    span = np.maximum(times[nxt] - times[index], 1e-9)
    u = np.where(nxt > index, (t - times[index]) / span, 0.0)
    return values[index] + (values[nxt] - values[index]) * minjerk(u)


def pulse(
    frames: int, start: float, rise: float, hold: float, fall: float, peak: float = 1.0
) -> np.ndarray:
    """0 -> peak -> 0: rise for ``rise`` s from ``start`` s, hold, then fall (seconds)."""
    times = [start, start + rise, start + rise + hold, start + rise + hold + fall]
    return keyframes(frames, times, [0.0, peak, peak, 0.0])


def time_warp(frames: int, rng: np.random.Generator, strength: float = 0.08) -> np.ndarray:
    """A smooth, monotone map of frame times (T,) from [0, T-1] onto itself (timing noise).

    The local speed varies by about +-strength (a sum of two random low-frequency sines).
    """
    t = np.arange(frames, dtype=np.float64)
    speed = np.ones(frames)
    for cycles in (rng.uniform(0.5, 1.5), rng.uniform(1.5, 3.0)):
        speed += strength * np.sin(2 * np.pi * cycles * t / max(frames, 1) + rng.uniform(0, 6.3))
    position = np.concatenate([[0.0], np.cumsum(np.maximum(speed, 0.2))[:-1]])
    return position / max(position[-1], 1e-9) * (frames - 1)


def smooth_noise(
    frames: int, rng: np.random.Generator, scale: float, period: float = 2.0, fps: int = FPS
) -> np.ndarray:
    """Low-frequency noise (T,) with about ``scale`` amplitude (idle sway, posture drift)."""
    keys = max(2, int(frames / fps / period) + 2)
    times = np.linspace(0.0, (frames - 1) / fps, keys)
    return keyframes(frames, times, rng.normal(0.0, scale, keys), fps)
