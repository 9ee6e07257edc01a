"""Small curve tools of the locomotion planners: eased keys at arbitrary times, swing-phase
keys, a smooth bump, Gaussian smoothing, widening of boolean masks and Hermite curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from esd.corpus.curves import minjerk
from esd.motion.skeleton import FPS


def ease_keys(u: np.ndarray, times: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """Values at arbitrary times ``u`` through (time, value) keys, min-jerk eased between them."""
    times, values = np.asarray(times, float), np.asarray(values, float)
    index = np.clip(np.searchsorted(times, u, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(index + 1, len(times) - 1)
    span = np.maximum(times[nxt] - times[index], 1e-9)
    return values[index] + (values[nxt] - values[index]) * minjerk((u - times[index]) / span)


def swing_keys(frames: int, times: Sequence[float], values: Sequence[float]) -> np.ndarray:
    """Curve (T,) through (time s, value) keys with cosine easing: back-and-forth swings move
    like a pendulum (lower peak speed than min-jerk keys, still at rest at each key)."""
    times, values = np.asarray(times, float), np.asarray(values, float)
    t = np.arange(frames) / FPS
    index = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    nxt = np.minimum(index + 1, len(times) - 1)
    u = np.clip((t - times[index]) / np.maximum(times[nxt] - times[index], 1e-9), 0.0, 1.0)
    return values[index] + (values[nxt] - values[index]) * 0.5 * (1 - np.cos(np.pi * u))


def bump(u: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 on u in [0, 1] with zero slope at both ends (peak at u = 0.5)."""
    u = np.clip(u, 0.0, 1.0)
    return 64.0 * u**3 * (1.0 - u) ** 3


def smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (T,) over frames, the edges held."""
    if sigma <= 0:
        return values.copy()
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def widen(values: np.ndarray, radius: int) -> np.ndarray:
    """Running maximum (T,) over +-``radius`` frames."""
    padded = np.pad(values, radius, mode="edge")
    return np.max([padded[i : i + len(values)] for i in range(2 * radius + 1)], axis=0)


def hermite(frames: int, keys: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Curve (T,) through (time s, value, slope per s) keys, cubic Hermite between them."""
    t = np.arange(frames) / FPS
    times = np.array([k[0] for k in keys])
    index = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(keys) - 2)
    out = np.empty(frames)
    for i in range(len(keys) - 1):
        (t0, y0, m0), (t1, y1, m1) = keys[i], keys[i + 1]
        mask = index == i
        span = max(t1 - t0, 1e-9)
        u = np.clip((t[mask] - t0) / span, 0.0, 1.0)
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
        h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
        out[mask] = h00 * y0 + h10 * span * m0 + h01 * y1 + h11 * span * m1
    out[t < times[0]] = keys[0][1]
    out[t > times[-1]] = keys[-1][1]
    return out
