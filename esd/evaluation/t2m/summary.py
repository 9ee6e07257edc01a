"""Per-replication numbers of a T2M run -> metrics.json entries, and the paired changes.

Every metric of a split is measured once per replication r = 1..R. An entry holds::

    {"mean": m, "ci95": [m - h, m + h], "half_width": h, "per_replication": [x_1, ..., x_R]}

with ``h = 1.96 * std(x) / sqrt(R)`` (np.std, ddof 0: the papers' "mean +- h",
``metrics.replication_summary``). R-precision carries its three values (top-1, 2, 3) in each
field (``ci95`` is then three [lo, hi] pairs).

Changes (model - baseline). The model and its baseline run the protocol with the same seed:
in replication r they see the same captions, lengths, windows and generation noise, and the
ground truth is the same. Their numbers pair up by replication, so the change of a metric is
summarised from the per-replication differences ``d_r = model_r - baseline_r`` exactly as a
metric is (``{"change": mean(d), "ci95", "half_width", "per_replication"}``); identical models
give a change of 0 with the interval [0, 0]. For FID, ``relative`` also summarises
``model_r / baseline_r - 1`` (None when a baseline FID is not positive).

With few replications the 1.96 interval is optimistic (a Student-t interval with the unbiased
std would be about 9 times wider at R = 2, 1.10 times at R = 20); it is the papers' convention
and is kept, and metrics.json says how many replications made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from esd.evaluation import metrics

Entry = dict[str, Any]
METRIC_ORDER = ("r_precision", "matching_score", "fid", "diversity", "multimodality")


def summarise(values: Sequence[float] | Sequence[Sequence[float]]) -> Entry:
    """(R,) or (R, K) per-replication values -> mean, ci95 ([lo, hi], or K of them),
    half_width and the values themselves."""
    x = np.asarray(values, dtype=np.float64)  # (R,) or (R, K)
    mean, half = metrics.replication_summary(x)
    lo, hi = mean - half, mean + half
    ci95 = np.stack([lo, hi], axis=-1)  # (2,) or (K, 2)
    return {
        "mean": mean.tolist(),
        "ci95": ci95.tolist(),
        "half_width": half.tolist(),
        "per_replication": x.tolist(),
    }


def group_values(replications: Sequence[dict[str, Any]], group: str) -> dict[str, list]:
    """{metric: per-replication values} of ``group`` ("generated" or "ground_truth") of a
    split's ``SplitResult.replications``, in ``METRIC_ORDER``."""
    if not replications:
        return {}
    keys = [k for k in METRIC_ORDER if k in replications[0][group]]
    return {k: [rep[group][k] for rep in replications] for k in keys}


def split_entries(values: dict[str, list]) -> dict[str, Entry]:
    """{metric: summarise(values)} of one split."""
    return {metric: summarise(v) for metric, v in values.items()}


def paired_change(model: Sequence, baseline: Sequence, relative: bool = False) -> Entry:
    """The change model - baseline from the per-replication values of both (module docstring)."""
    m, b = np.asarray(model, np.float64), np.asarray(baseline, np.float64)
    if m.shape != b.shape:
        raise ValueError(f"model and baseline have {m.shape} and {b.shape} replications")
    entry = summarise(m - b)
    entry["change"] = entry.pop("mean")
    if relative:
        entry["relative"] = None
        if (b > 0).all():
            rel = summarise(m / b - 1.0)
            rel["change"] = rel.pop("mean")
            entry["relative"] = rel
    return entry


def split_changes(model: dict[str, list], baseline: dict[str, list]) -> dict[str, Entry]:
    """{metric: paired_change} for the metrics both sides measured (FID with ``relative``)."""
    return {
        metric: paired_change(values, baseline[metric], relative=metric == "fid")
        for metric, values in model.items()
        if metric in baseline
    }
