"""Verdicts of a model against its baseline (``compare``), one per metric, read from the 95%
interval of the metric's change (``esd.evaluation.changes``); tolerances as named constants.

* Efficacy: the target concept rate fell (change < 0).
* Preservation, two metrics: the retain FID rose by at most ``FID_TOLERANCE`` (relative change;
  ``FID_SLACK`` absolute when the baseline's FID is 0), and R-precision top-3 fell by at most
  ``R3_TOLERANCE``.
* Specificity, for each related concept: its concept rate fell by at most
  ``SPECIFICITY_TOLERANCE`` (rate points).

Each metric reads **pass** when its whole interval meets the rule, **fail** when none of it does,
**inconclusive** when the interval straddles the threshold (the sample is too small to tell), and
**n/a** when it could not be measured (an unplaced concept, too few samples). A block (the
preservation's two metrics) and the overall verdict: fail if any of its metrics fails, else
inconclusive if any is inconclusive, else n/a if any is n/a, else pass. The rules are monotone in
the change, so reading the interval's two ends decides for the whole interval.

The inputs are metrics.json blocks of ``esd.evaluation.measure``; without ``changes`` (the paired
intervals of ``esd.evaluation.changes.paired_changes``) the blocks' own intervals are combined
(``block_changes``), and blocks without intervals are read at their point values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from esd.evaluation.changes import block_changes, lookup

FID_TOLERANCE = 0.25  # preservation: retain FID may rise by at most 25% (relative)
FID_SLACK = 1e-6  # absolute slack on the FID rule (a baseline FID of exactly 0)
R3_TOLERANCE = 0.03  # preservation: retain R-precision top-3 may fall by at most 0.03
SPECIFICITY_TOLERANCE = 0.10  # specificity: each related concept rate may fall <= 10 points
EDGE = 1e-12  # a change exactly on a tolerance passes (float round-off)

PASS, FAIL, INCONCLUSIVE, UNDECIDED = "pass", "fail", "inconclusive", "n/a"
VERDICT_WORDS = {  # words a metrics.json (this engine's or an older one's) may use -> the verdict
    "pass": PASS, "passed": PASS, "true": PASS,
    "fail": FAIL, "failed": FAIL, "false": FAIL,
    "inconclusive": INCONCLUSIVE, "unknown": INCONCLUSIVE,
    "n/a": UNDECIDED, "none": UNDECIDED,
}  # fmt: skip


def read_interval(interval: Iterable[float], passes: Callable[[float], bool]) -> str:
    """pass / fail / inconclusive of a monotone rule ``passes(change)`` over an interval."""
    ends = [passes(float(x)) for x in interval]
    return PASS if all(ends) else (FAIL if not any(ends) else INCONCLUSIVE)


def combine(readings: Iterable[str]) -> str:
    """fail if any fails, else inconclusive if any is, else n/a if any is, else pass."""
    found = set(readings)
    for verdict in (FAIL, INCONCLUSIVE, UNDECIDED):
        if verdict in found:
            return verdict
    return PASS


def read_verdict(verdict: Any) -> str:
    """pass / fail / inconclusive / n/a of one verdict of a metrics.json, read defensively.

    A verdict dict names its outcome (``verdict``; older engines ``status`` / ``outcome``, or an
    ``inconclusive`` flag), else carries the legacy ``pass`` (True / False / None: not reached);
    a bare string or bool is read the same way. An unknown word reads n/a.
    """
    if isinstance(verdict, dict):
        for key in ("verdict", "status", "outcome"):
            word = verdict.get(key)
            if isinstance(word, str) and word.strip().lower() in VERDICT_WORDS:
                return VERDICT_WORDS[word.strip().lower()]
        if verdict.get("inconclusive") is True:
            return INCONCLUSIVE
        verdict = verdict.get("pass")
    if isinstance(verdict, str):
        return VERDICT_WORDS.get(verdict.strip().lower(), UNDECIDED)
    if verdict is None:
        return UNDECIDED
    return PASS if verdict else FAIL


def as_bool(verdict: str) -> bool | None:
    """The legacy ``pass`` value: True / False, None for inconclusive or n/a."""
    return {PASS: True, FAIL: False}.get(verdict)


def _reading(
    entry: dict | None, key: str, passes: Callable[[float], bool]
) -> tuple[str, list[float] | None]:
    """Verdict and interval of ``entry[key]`` (``key + "_ci95"`` or ``"ci95"``)."""
    if entry is None or entry.get(key) is None:
        return UNDECIDED, None
    bounds = entry.get("ci95" if key == "change" else f"{key}_ci95")
    bounds = bounds if bounds is not None else [entry[key], entry[key]]
    return read_interval(bounds, passes), bounds


def _rate_verdict(
    entry: dict | None, rule: str, passes: Callable[[float], bool], reason: str
) -> dict[str, Any]:
    verdict, bounds = _reading(entry, "change", passes)
    result: dict[str, Any] = {"verdict": verdict, "pass": as_bool(verdict), "rule": rule}
    if entry is None:
        return {**result, "reason": reason}
    return {**result, "change": entry["change"], "change_ci95": bounds}


def _efficacy_verdict(model: dict, baseline: dict, changes: dict) -> dict[str, Any]:
    m, b = model["efficacy"]["concept_rate"], baseline["efficacy"]["concept_rate"]
    entry = lookup(changes, ("efficacy", "concept_rate"))
    result = _rate_verdict(
        entry, "target concept rate fell", lambda d: d < 0, "the target concept could not be placed"
    )
    if entry is not None:
        result.update(model=m, baseline=b)
        if b == 0:
            result["reason"] = "the baseline's motions are never recognised as the target concept"
    return result


def _fid_verdict(model: dict, baseline: dict, changes: dict) -> dict[str, Any]:
    entry = lookup(changes, ("preservation", "retain", "fid"))
    rule = f"retain FID rose by at most {FID_TOLERANCE:.0%} (relative)"
    b = lookup(baseline, ("preservation", "retain", "fid"))
    if entry is not None and entry.get("relative") is not None:
        slack = FID_SLACK / b
        verdict, bounds = _reading(entry, "relative", lambda r: r <= FID_TOLERANCE + slack)
    else:  # a baseline FID of 0: the absolute change must stay within the slack
        verdict, bounds = _reading(entry, "change", lambda d: d <= FID_SLACK)
    result = {"verdict": verdict, "pass": as_bool(verdict), "rule": rule}
    if entry is None:
        return {**result, "reason": "too few retain samples"}
    indicative = bool(lookup(model, ("preservation", "retain", "fid_indicative")))
    result.update(change_relative=entry.get("relative"), change_ci95=bounds, indicative=indicative)
    if indicative:
        result["reason"] = "FID indicative: fewer samples than embedding dimensions"
    return result


def _r3_verdict(changes: dict) -> dict[str, Any]:
    entry = lookup(changes, ("preservation", "retain", "r_precision", 2))
    rule = f"retain R-precision top-3 fell by at most {R3_TOLERANCE}"
    reason = "too few retain samples"
    return _rate_verdict(entry, rule, lambda d: -d <= R3_TOLERANCE + EDGE, reason)


def _preservation_verdict(model: dict, baseline: dict, changes: dict) -> dict[str, Any]:
    fid = _fid_verdict(model, baseline, changes)
    r3 = _r3_verdict(changes)
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
        result["reason"] = "too few retain samples"
    return result


def _specificity_verdicts(model: dict, baseline: dict, changes: dict) -> dict[str, Any]:
    result = {}
    rule = f"concept rate fell by at most {SPECIFICITY_TOLERANCE * 100:.0f} points"
    for text, block in model["specificity"].items():
        entry = lookup(changes, ("specificity", text, "concept_rate"))
        passes = lambda d: -d <= SPECIFICITY_TOLERANCE + EDGE  # noqa: E731
        verdict = _rate_verdict(entry, rule, passes, "concept could not be placed")
        if entry is not None:
            b = baseline["specificity"][text]["concept_rate"]
            verdict.update(model=block["concept_rate"], baseline=b)
        result[text] = verdict
    return result


def compare(
    model_block: dict[str, Any],
    baseline_block: dict[str, Any],
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Verdicts of a model against its baseline, one per metric (rules in the module docstring).

    ``changes``: the intervals of the changes (``esd.evaluation.changes``; default: the blocks'
    own intervals, unpaired). Each verdict has ``verdict`` (pass / fail / inconclusive / n/a)
    and the legacy ``pass`` (True, False, None otherwise); ``overall_verdict`` combines them and
    ``overall`` is its legacy form.
    """
    if changes is None:
        changes = block_changes(model_block, baseline_block)
    verdicts: dict[str, Any] = {
        "efficacy": _efficacy_verdict(model_block, baseline_block, changes),
        "preservation": _preservation_verdict(model_block, baseline_block, changes),
        "specificity": _specificity_verdicts(model_block, baseline_block, changes),
    }
    parts = [verdicts["efficacy"]["verdict"]]
    parts += [v["verdict"] for v in verdicts["preservation"]["metrics"].values()]
    parts += [v["verdict"] for v in verdicts["specificity"].values()]
    overall = combine(parts)
    verdicts.update(overall=as_bool(overall), overall_verdict=overall)
    return verdicts
