"""95% intervals of the evaluation's numbers: bootstrap replicates, Wilson intervals, and the
interval of a change between a model and its baseline.

* Rates (share of N motions recognised as a concept, share of texts whose motion is in their
  top k): the Wilson score interval (``esd.evaluation.recognition.wilson_interval``).
* FID and matching score: a bootstrap over the block's items (for a change: every metric).
  ``resample_indices`` draws B resamples of the N items (with replacement) from a generator
  seeded by the block and the metric only, so the model and its baseline, measured on the same
  plan (same prompts, lengths and noise seeds), are resampled with the SAME indices: their
  replicates pair up, and the replicates of the change (model - baseline, or model / baseline - 1)
  are the paired bootstrap of the change at no extra cost. Rates, R-precision and matching score
  are means of per-item values (recognised or not, ``metrics.retrieval_hits`` in the pools they
  were scored in, ``metrics.matching_distances``), resampled as such; FID is recomputed on each
  resample (``metrics.frechet_distance_closed_form``).
* ``interval``: the percentile interval corrected for the bootstrap's own bias, ``[q_lo - bias,
  q_hi - bias]`` with ``bias = mean(replicates) - estimate`` (Efron & Tibshirani 1993, ch. 10).
  For means the bias is ~0 and this is the plain percentile interval. For FID it is not: a
  resample repeats ~37% of its items, which inflates the Frechet distance (by ~50% at N = 32),
  and the plain percentile interval would not even contain the estimate.
* ``difference_interval``: the change of two independently measured numbers from their own
  intervals (MOVER, Newcombe 1998 / Zou & Donner 2008), for blocks without replicates.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np

from esd.evaluation import metrics
from esd.evaluation.recognition import wilson_interval

CI_LEVEL = 0.95  # coverage of every interval
BOOTSTRAP_RESAMPLES = 1000  # bootstrap resamples per metric and block
FID_CHUNK = 50  # resamples per stacked FID computation (memory: chunk x N x D floats per set)

Interval = list[float]  # [lo, hi], as written to metrics.json


def bootstrap_generator(seed: int, block: str, metric: str) -> np.random.Generator:
    """The generator of a metric's resamples: the same for a model, its baseline and the real
    motions measured with the same seed (this is what pairs their replicates)."""
    key = zlib.crc32(f"{block}/{metric}/bootstrap".encode())
    return np.random.default_rng((seed, key))


def resample_indices(num_items: int, resamples: int, generator: np.random.Generator) -> np.ndarray:
    """B resamples of N items with replacement: (B, N) int64, row b = the items of resample b."""
    if num_items < 1 or resamples < 1:
        raise ValueError(f"need items and resamples >= 1, got {num_items} and {resamples}")
    return generator.integers(0, num_items, size=(resamples, num_items))


def mean_replicates(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Means of per-item values over each resample: (N,) or (N, K) -> (B,) or (B, K)."""
    return np.asarray(values, dtype=np.float64)[indices].mean(axis=1)


def fid_replicates(real: np.ndarray, generated: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """FID between the resampled real and generated motions of the same items (pairs resampled
    together): (N, D), (N, D), (B, N) -> (B,)."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    chunks = [
        metrics.frechet_distance_closed_form(real[rows], generated[rows])  # (chunk,)
        for rows in np.array_split(indices, max(1, math.ceil(len(indices) / FID_CHUNK)))
    ]
    return np.concatenate(chunks)


def interval(
    replicates: np.ndarray,
    estimate: float,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    level: float = CI_LEVEL,
) -> Interval:
    """Bias-corrected percentile interval of ``estimate`` from its bootstrap replicates (B,):

        bias = mean(theta*) - theta_hat,   [q_{(1-level)/2}(theta*) - bias, q_{(1+level)/2} - bias]

    clipped to ``bounds`` (the metric's range). Non-finite replicates are an error."""
    reps = np.asarray(replicates, dtype=np.float64)
    if reps.ndim != 1 or len(reps) == 0 or not np.isfinite(reps).all():
        raise ValueError("bootstrap replicates must be a non-empty finite (B,) array")
    bias = float(reps.mean()) - estimate
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(reps, [tail, 1.0 - tail]) - bias
    return [float(max(bounds[0], lo)), float(min(bounds[1], hi))]


def rate_interval(hits: int, total: int) -> Interval:
    """95% Wilson interval of the rate hits / total."""
    return list(wilson_interval(int(hits), int(total)))


def difference_interval(
    model: float, model_ci: Sequence[float], baseline: float, baseline_ci: Sequence[float]
) -> Interval:
    """Interval of ``model - baseline`` for independent estimates, from their own intervals
    (MOVER): ``d -+ sqrt((m - l_m)^2 + (u_b - b)^2)`` below, ``sqrt((u_m - m)^2 + (b - l_b)^2)``
    above."""
    change = model - baseline
    below = math.hypot(model - model_ci[0], baseline_ci[1] - baseline)
    above = math.hypot(model_ci[1] - model, baseline - baseline_ci[0])
    return [change - below, change + above]


def ratio_interval(
    model: float, model_ci: Sequence[float], baseline: float, baseline_ci: Sequence[float]
) -> Interval | None:
    """Conservative interval of ``model / baseline - 1`` for independent positive estimates:
    ``[l_m / u_b - 1, u_m / l_b - 1]`` (None when the baseline's interval reaches 0)."""
    if baseline_ci[0] <= 0:
        return None
    return [model_ci[0] / baseline_ci[1] - 1.0, model_ci[1] / baseline_ci[0] - 1.0]
