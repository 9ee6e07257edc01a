"""Verdicts of a model against its baseline (``compare``), tolerances as named constants.

* Efficacy passes when the target concept rate fell.
* Preservation passes when the retain FID rose by at most ``FID_TOLERANCE`` (relative) and
  R-precision top-3 fell by at most ``R3_TOLERANCE``.
* Specificity passes, for each related concept, when its concept rate fell by at most
  ``SPECIFICITY_TOLERANCE`` (rate points).

The inputs are metrics.json blocks of ``esd.evaluation.measure.evaluate_model``.
"""

from __future__ import annotations

from typing import Any

FID_TOLERANCE = 0.25  # preservation: retain FID may rise by at most 25% (relative)
FID_SLACK = 1e-6  # absolute slack on the FID rule (a baseline FID of exactly 0)
R3_TOLERANCE = 0.03  # preservation: retain R-precision top-3 may fall by at most 0.03
SPECIFICITY_TOLERANCE = 0.10  # specificity: each related concept rate may fall <= 10 points


def _efficacy_verdict(model: dict, baseline: dict) -> dict[str, Any]:
    m, b = model["efficacy"]["concept_rate"], baseline["efficacy"]["concept_rate"]
    rule = "target concept rate fell"
    if m is None or b is None:
        return {"pass": None, "rule": rule, "reason": "the target concept could not be placed"}
    result = {"pass": m < b, "rule": rule, "model": m, "baseline": b, "change": m - b}
    if b == 0:
        result["reason"] = "the baseline's motions are never recognised as the target concept"
    return result


def _preservation_verdict(model: dict, baseline: dict) -> dict[str, Any]:
    m, b = model["preservation"]["retain"], baseline["preservation"]["retain"]
    rule = (
        f"retain FID rose by at most {FID_TOLERANCE:.0%} (relative) and R-precision top-3 "
        f"fell by at most {R3_TOLERANCE}"
    )
    if m["fid"] is None or b["fid"] is None or m["r_precision"] is None:
        return {"pass": None, "rule": rule, "reason": "too few retain samples"}
    fid_ok = m["fid"] <= b["fid"] * (1 + FID_TOLERANCE) + FID_SLACK
    r3_change = m["r_precision"][-1] - b["r_precision"][-1]
    return {
        "pass": bool(fid_ok and -r3_change <= R3_TOLERANCE + 1e-12),
        "rule": rule,
        "fid_change_relative": (m["fid"] - b["fid"]) / b["fid"] if b["fid"] > 0 else None,
        "r_precision_top3_change": r3_change,
    }


def _specificity_verdict(model: dict, baseline: dict) -> dict[str, Any]:
    result = {}
    rule = f"concept rate fell by at most {SPECIFICITY_TOLERANCE * 100:.0f} points"
    for text, block in model["specificity"].items():
        m, b = block["concept_rate"], baseline["specificity"][text]["concept_rate"]
        if m is None or b is None:
            result[text] = {"pass": None, "rule": rule, "reason": "concept could not be placed"}
            continue
        ok = b - m <= SPECIFICITY_TOLERANCE + 1e-12
        result[text] = {"pass": ok, "rule": rule, "model": m, "baseline": b, "change": m - b}
    return result


def compare(model_block: dict[str, Any], baseline_block: dict[str, Any]) -> dict[str, Any]:
    """Verdicts of a model against its baseline (rules in the module docstring).

    ``overall`` is True when every verdict passes, False when one fails, None when a verdict
    could not be reached (an unplaced concept, too few samples) and none failed.
    """
    verdicts = {
        "efficacy": _efficacy_verdict(model_block, baseline_block),
        "preservation": _preservation_verdict(model_block, baseline_block),
        "specificity": _specificity_verdict(model_block, baseline_block),
    }
    passes = [verdicts["efficacy"]["pass"], verdicts["preservation"]["pass"]]
    passes += [v["pass"] for v in verdicts["specificity"].values()]
    verdicts["overall"] = False if False in passes else (None if None in passes else True)
    return verdicts
