"""Efficacy, preservation and specificity verdicts from the T2M evaluator's numbers.

Each rule is read on the 95% interval of a paired change (``esd.evaluation.t2m.summary``:
model - baseline per replication, mean +- 1.96 std / sqrt(R)), as ``esd.evaluation.verdicts``
reads the bundled evaluation: **pass** when the whole interval meets the rule, **fail** when
none of it does, **inconclusive** when it straddles the threshold, **n/a** when the split was
not evaluated (fewer than 32 items: no R-precision batch). The tolerances are the bundled
evaluation's constants.

* Efficacy, on the ``forget`` split (test items whose caption names the target; the prompts are
  those captions): the model should no longer produce what the captions say, so its generated
  motions should match them less than the baseline's:

  - R-precision top-3 fell (change < 0);
  - matching score rose (change > 0: it is a text-motion distance, so "the match fell");
  - FID rose (change > 0: the motions moved away from the real motions of those captions).

  Efficacy is the three combined (fail if one fails, else inconclusive if one is, ...).
* Preservation, on the ``retain`` split (every other test item): FID rose by at most
  ``FID_TOLERANCE`` relative (``FID_SLACK`` absolute when a baseline FID is 0), and R-precision
  top-3 fell by at most ``R3_TOLERANCE``.
* Specificity, on each ``related:TEXT`` split (retain items whose caption names the related
  concept): R-precision top-3 fell by at most ``SPECIFICITY_TOLERANCE`` (the points the bundled
  rule allows a related concept's rate to fall).

The overall verdict combines every metric verdict the same way. The bundled recogniser's concept
rate, when measured, is reported beside these and decides nothing: it comes from an evaluator
trained on another corpus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from esd.evaluation.verdicts import (
    EDGE,
    FID_SLACK,
    FID_TOLERANCE,
    R3_TOLERANCE,
    SPECIFICITY_TOLERANCE,
    UNDECIDED,
    as_bool,
    combine,
    read_interval,
)

FORGET, RETAIN, RELATED_PREFIX = "forget", "retain", "related:"
TOP3 = 2  # index of top-3 in an R-precision triple
INDICATIVE = "FID indicative: a pass has no more motions than embedding dimensions"


def _value(entry: dict | None, key: str, index: int | None) -> Any:
    if entry is None:
        return None
    value = entry[key]
    return value[index] if index is not None else value


def metric_verdict(
    model: dict | None,
    baseline: dict | None,
    change: dict | None,
    rule: str,
    passes: Callable[[float], bool],
    index: int | None = None,
    reason: str = "the split was not evaluated",
) -> dict[str, Any]:
    """One metric's verdict on the interval of its change (``index``: top-k of R-precision)."""
    if change is None:
        return {"verdict": UNDECIDED, "pass": None, "rule": rule, "reason": reason}
    bounds = _value(change, "ci95", index)
    verdict = read_interval(bounds, passes)
    return {
        "verdict": verdict,
        "pass": as_bool(verdict),
        "rule": rule,
        "model": _value(model, "mean", index),
        "baseline": _value(baseline, "mean", index),
        "change": _value(change, "change", index),
        "change_ci95": bounds,
    }


def _split(block: dict, split: str, metric: str) -> dict | None:
    return (block.get(split) or {}).get(metric)


def _mark_indicative(verdict: dict[str, Any], splits: dict[str, Any], split: str) -> dict:
    """Flag an FID measured on no more motions than embedding dimensions (biased upward)."""
    if (splits.get(split) or {}).get("fid_indicative") and "change" in verdict:
        verdict.update(indicative=True, reason=INDICATIVE)
    return verdict


def _not_evaluated(splits: dict[str, Any], split: str) -> str:
    info = splits.get(split) or {}
    return f"the {split} split has {info.get('items', 0)} items: fewer than one batch of 32"


def efficacy(model: dict, baseline: dict, changes: dict, splits: dict) -> dict[str, Any]:
    """The forget split's three readings and their combination (module docstring)."""
    reason = _not_evaluated(splits, FORGET)
    rules = {
        "r_precision_top3": ("r_precision", "forget R-precision top-3 fell", lambda d: d < 0, TOP3),
        "matching_score": ("matching_score", "forget matching score rose", lambda d: d > 0, None),
        "fid": ("fid", "forget FID rose", lambda d: d > 0, None),
    }
    parts = {}
    for name, (metric, rule, passes, index) in rules.items():
        m, b, c = (_split(x, FORGET, metric) for x in (model, baseline, changes))
        parts[name] = metric_verdict(m, b, c, rule, passes, index, reason)
    _mark_indicative(parts["fid"], splits, FORGET)
    verdict = combine(v["verdict"] for v in parts.values())
    rule = "the forget split's R-precision top-3 fell, its matching score and its FID rose"
    result = {"verdict": verdict, "pass": as_bool(verdict), "rule": rule, "metrics": parts}
    if verdict == UNDECIDED:
        result["reason"] = reason
    return result


def _fid_preservation(model: dict, baseline: dict, changes: dict, reason: str) -> dict:
    rule = f"retain FID rose by at most {FID_TOLERANCE:.0%} (relative)"
    m, b, c = (_split(x, RETAIN, "fid") for x in (model, baseline, changes))
    if c is None or c.get("relative") is None:  # not evaluated, or a baseline FID of 0
        verdict = metric_verdict(m, b, c, rule, lambda d: d <= FID_SLACK, None, reason)
        return {**verdict, "change_relative": None}
    slack = FID_SLACK / min(b["per_replication"])  # relative slack (every baseline FID > 0)
    rel = c["relative"]
    verdict = metric_verdict(m, b, rel, rule, lambda r: r <= FID_TOLERANCE + slack)
    return {**verdict, "change_relative": rel["change"], "change": c["change"]}


def preservation(model: dict, baseline: dict, changes: dict, splits: dict) -> dict[str, Any]:
    """The retain split's FID and R-precision top-3 (module docstring)."""
    reason = _not_evaluated(splits, RETAIN)
    fid = _mark_indicative(_fid_preservation(model, baseline, changes, reason), splits, RETAIN)
    r3_rule = f"retain R-precision top-3 fell by at most {R3_TOLERANCE}"
    m, b, c = (_split(x, RETAIN, "r_precision") for x in (model, baseline, changes))
    r3 = metric_verdict(m, b, c, r3_rule, lambda d: -d <= R3_TOLERANCE + EDGE, TOP3, reason)
    verdict = combine([fid["verdict"], r3["verdict"]])
    result = {
        "verdict": verdict,
        "pass": as_bool(verdict),
        "rule": f"{fid['rule']} and {r3['rule']}",
        "fid_change_relative": fid.get("change_relative"),
        "r_precision_top3_change": r3.get("change"),
        "metrics": {"fid": fid, "r_precision_top3": r3},
    }
    if verdict == UNDECIDED:
        result["reason"] = reason
    return result


def specificity(model: dict, baseline: dict, changes: dict, splits: dict) -> dict[str, Any]:
    """{related text: verdict} on each related split's R-precision top-3."""
    rule = f"R-precision top-3 fell by at most {SPECIFICITY_TOLERANCE * 100:.0f} points"
    result = {}
    for split in splits:
        if not split.startswith(RELATED_PREFIX):
            continue
        m, b, c = (_split(x, split, "r_precision") for x in (model, baseline, changes))
        passes = lambda d: -d <= SPECIFICITY_TOLERANCE + EDGE  # noqa: E731
        reason = _not_evaluated(splits, split)
        result[split[len(RELATED_PREFIX) :]] = metric_verdict(m, b, c, rule, passes, TOP3, reason)
    return result


def t2m_verdicts(
    model: dict[str, Any], baseline: dict[str, Any], changes: dict[str, Any], splits: dict
) -> dict[str, Any]:
    """Verdicts of a model against its baseline from T2M blocks ``{split: {metric: entry}}``,
    their ``changes`` and the ``splits`` info ``{split: {"items", ...}}``; the layout of
    ``esd.evaluation.verdicts.compare`` (``efficacy`` also has per-metric ``metrics``)."""
    verdicts: dict[str, Any] = {
        "efficacy": efficacy(model, baseline, changes, splits),
        "preservation": preservation(model, baseline, changes, splits),
        "specificity": specificity(model, baseline, changes, splits),
    }
    parts = [v["verdict"] for v in verdicts["efficacy"]["metrics"].values()]
    parts += [v["verdict"] for v in verdicts["preservation"]["metrics"].values()]
    parts += [v["verdict"] for v in verdicts["specificity"].values()]
    overall = combine(parts)
    verdicts.update(overall=as_bool(overall), overall_verdict=overall)
    return verdicts
