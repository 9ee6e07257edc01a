"""The change of every metric between a model and its baseline, with its 95% interval.

``paired_changes`` (the evaluation's own): the two models were measured on the same plan (same
prompts, lengths and noise seeds: ``Measurement.plan_key``), so their items pair up and their
bootstrap replicates share the resamples (``esd.evaluation.uncertainty``); the replicates of the
change are the differences of the replicates (``model / baseline - 1`` for the relative FID
change), read with the same bias-corrected percentile interval. Identical models give a change of
exactly 0 with the interval [0, 0].

``block_changes`` (metrics.json blocks only, e.g. read back from disk): the blocks' own intervals
combined as for independent estimates (``uncertainty.difference_interval``, conservative
``ratio_interval`` for FID); a block without intervals gives the point change as its interval.

Layout (``changes`` in metrics.json), each entry ``{"change": d, "ci95": [lo, hi]}`` or null::

    {"paired": bool, "method": str,
     "efficacy": {"concept_rate", "heldout_concept_rate", "matching_score"},
     "preservation": {"retain" | "forget": {"fid" (+ "relative", "relative_ci95"),
                                            "r_precision": [top-1, top-2, top-3],
                                            "matching_score"}},
     "specificity": {concept text: {"concept_rate", "matching_score"}}}
"""

from __future__ import annotations

import math
from typing import Any

from esd.evaluation import uncertainty as ci
from esd.evaluation.measure import Measurement, Path

RATE_CHANGE = (-1.0, 1.0)  # range of the change of a rate or an R-precision
ANY = (-math.inf, math.inf)
PAIRED_METHOD = "paired bootstrap over the items (same prompts and seeds for both models)"
UNPAIRED_METHOD = "the two blocks' own intervals combined as independent estimates (MOVER)"


def metric_paths(block: dict[str, Any]) -> list[Path]:
    """Every metric of a block that has a change: rates, FID, R-precision, matching scores."""
    paths: list[Path] = [("efficacy", m) for m in ("concept_rate", "heldout_concept_rate")]
    paths.append(("efficacy", "matching_score"))
    for part in ("retain", "forget"):
        base = ("preservation", part)
        paths += [(*base, "fid"), *[(*base, "r_precision", k) for k in range(3)]]
        paths.append((*base, "matching_score"))
    for text in block["specificity"]:
        paths += [("specificity", text, "concept_rate"), ("specificity", text, "matching_score")]
    return paths


def lookup(block: dict | None, path: Path) -> Any:
    """The value at ``path`` (None when any step is missing or null)."""
    value: Any = block
    for key in path:
        if value is None:
            return None
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and key < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def interval_of(block: dict | None, path: Path) -> list[float] | None:
    """The 95% interval stored beside the metric at ``path`` (``name_ci95``), or None."""
    if isinstance(path[-1], int):
        return lookup(block, (*path[:-2], f"{path[-2]}_ci95", path[-1]))
    return lookup(block, (*path[:-1], f"{path[-1]}_ci95"))


def _bounds(path: Path) -> tuple[float, float]:
    return ANY if path[-1] in ("fid", "matching_score") else RATE_CHANGE


def _store(changes: dict[str, Any], path: Path, entry: dict[str, Any] | None) -> None:
    """Put ``entry`` at ``path`` of the nested ``changes`` (R-precision entries in a list)."""
    indexed = isinstance(path[-1], int)
    node = changes
    for key in path[:-2] if indexed else path[:-1]:
        node = node.setdefault(key, {})
    if indexed:
        node.setdefault(path[-2], [None] * 3)[path[-1]] = entry
    else:
        node[path[-1]] = entry


def _paired_entry(path: Path, model: Measurement, baseline: Measurement) -> dict[str, Any] | None:
    m, b = lookup(model.block, path), lookup(baseline.block, path)
    m_reps, b_reps = model.replicates.get(path), baseline.replicates.get(path)
    if m is None or b is None or m_reps is None or b_reps is None:
        return None
    entry = {"change": m - b, "ci95": ci.interval(m_reps - b_reps, m - b, _bounds(path))}
    if path[-1] == "fid":
        ratio_ok = b > 0 and bool((b_reps > 0).all())
        relative = m / b - 1 if ratio_ok else None
        entry["relative"] = relative
        entry["relative_ci95"] = (
            ci.interval(m_reps / b_reps - 1, relative, (-1.0, math.inf)) if ratio_ok else None
        )
    return entry


def paired_changes(model: Measurement, baseline: Measurement) -> dict[str, Any]:
    """Change (model - baseline) of every metric with its paired bootstrap interval.

    Raises ValueError when the two were not measured on the same plan and settings."""
    if model.plan_key != baseline.plan_key:
        raise ValueError(
            "the model and its baseline were measured on different plans (prompts, lengths, "
            "seeds or resamples): the change of a metric needs the same plan for both"
        )
    changes: dict[str, Any] = {"paired": True, "method": PAIRED_METHOD}
    for path in metric_paths(model.block):
        _store(changes, path, _paired_entry(path, model, baseline))
    return changes


def _unpaired_entry(path: Path, model: dict, baseline: dict) -> dict[str, Any] | None:
    m, b = lookup(model, path), lookup(baseline, path)
    if m is None or b is None:
        return None
    m_ci, b_ci = interval_of(model, path) or [m, m], interval_of(baseline, path) or [b, b]
    entry = {"change": m - b, "ci95": ci.difference_interval(m, m_ci, b, b_ci)}
    if path[-1] == "fid":
        entry["relative"] = m / b - 1 if b > 0 else None
        entry["relative_ci95"] = ci.ratio_interval(m, m_ci, b, b_ci) if b > 0 else None
    return entry


def block_changes(model: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Change of every metric from two metrics.json blocks (their own intervals, unpaired)."""
    changes: dict[str, Any] = {"paired": False, "method": UNPAIRED_METHOD}
    for path in metric_paths(model):
        if path[0] == "specificity" and path[1] not in baseline.get("specificity", {}):
            continue
        _store(changes, path, _unpaired_entry(path, model, baseline))
    return changes
