"""The evaluation protocol: efficacy, preservation and specificity of a model, and verdicts vs a
baseline, in one metrics.json (``run_evaluation``).

Three blocks, all measured with the contrastive evaluator (``esd.evaluation.contrastive``) on
prompts chosen deterministically from the reference set (``esd.evaluation.reference``) and the seed:

* Efficacy: prompts of the TARGET concept (its text, caption paraphrases from reference clips of
  the concept, and held-out phrasings from heldout.json). Concept rate (share of motions the
  zero-shot recogniser assigns to the target), matching score, and ``heldout_concept_rate`` on the
  held-out phrasings alone (phrasings never seen in training: does erasure generalise?).
* Preservation: the field's metrics (FID, R-precision top-1..3 in pools of 32, matching score,
  diversity; Guo et al. 2022, ``esd.evaluation.metrics``) on captions of test clips WITHOUT the
  target (retain set) and, separately, WITH it (forget set). Generated motions are compared with
  the real motions of the same clips. Multimodality (``MM_PROMPTS`` retain captions x
  ``MM_REPEATS`` generations) is computed in the full preset only (null in quick mode: it needs
  many generations).
* Specificity: concept rate and matching score for each RELATED concept (text + paraphrases).

``real`` holds the ceiling: the same retain/forget metrics for the real motions.

Every concept rate and R-precision carries a 95% Wilson interval, every FID and matching score a
95% bootstrap interval (``*_ci95`` beside the value); with a baseline, ``changes`` holds the change
of each metric with its paired bootstrap interval (``esd.evaluation.changes``) and ``verdicts``
reads pass / fail / inconclusive per metric from those intervals (``esd.evaluation.verdicts``).

The steps, one module each:

* ``esd.evaluation.settings``: how much to generate (``EvalSettings``, full and quick presets);
* ``esd.evaluation.context``: the instruments (``EvalContext``) and what is measured
  (``MotionSource``);
* ``esd.evaluation.plan``: every prompt, length and seed (``make_plan``), identical for the model
  and its baseline;
* ``esd.evaluation.measure``: generation and metrics of one model (``evaluate_model``) and of the
  real motions (``evaluate_real``);
* ``esd.evaluation.uncertainty``: bootstrap and Wilson intervals;
* ``esd.evaluation.changes``: the change of each metric vs the baseline, with its interval;
* ``esd.evaluation.verdicts``: pass / fail / inconclusive vs the baseline (``compare``) and its
  tolerances;
* ``esd.evaluation.report``: the Rich table and REPORT.md of a metrics.json.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from esd.evaluation import metrics
from esd.evaluation.changes import PAIRED_METHOD, paired_changes
from esd.evaluation.context import EvalContext, MotionSource, ProgressFn
from esd.evaluation.measure import evaluate_real, measure_model
from esd.evaluation.plan import EvalPlan, anchored_notes
from esd.evaluation.settings import EvalSettings
from esd.evaluation.uncertainty import CI_LEVEL
from esd.evaluation.verdicts import FID_TOLERANCE, R3_TOLERANCE, SPECIFICITY_TOLERANCE, compare


def settings_dict(settings: EvalSettings, plan: EvalPlan, context: EvalContext) -> dict:
    """The ``settings`` block of metrics.json."""
    reference = context.reference
    return {
        **asdict(settings),
        "num_samples": {
            "retain": len(plan.retain),
            "forget": len(plan.forget),
            "concept": len(plan.efficacy),
        },
        "multimodality": (
            {
                "prompts": settings.mm_prompts,
                "repeats": settings.mm_repeats,
                "pairs": metrics.distinct_pair_count(
                    settings.mm_repeats, metrics.MULTIMODALITY_PAIRS
                ),
            }
            if plan.multimodality is not None
            else None
        ),
        "intervals": {
            "level": CI_LEVEL,
            "rates": "Wilson score interval (concept rates, R-precision)",
            "fid_matching": f"bias-corrected percentile bootstrap, "
            f"{settings.bootstrap_resamples} resamples of the items",
            "changes": PAIRED_METHOD,
        },
        "tolerances": {
            "fid_relative": FID_TOLERANCE,
            "r_precision_top3": R3_TOLERANCE,
            "specificity_points": SPECIFICITY_TOLERANCE * 100,
        },
        "reference": {
            "source": reference.source,
            "split": reference.split,
            "clips": len(reference),
            "evaluator": reference.fingerprint,
        },
        "target": asdict(plan.target),
        "related": [asdict(c) for c in plan.related],
        "forget_rule": plan.forget_rule,
        "retain_clips": plan.retain_size,
        "forget_clips": plan.forget_size,
    }


def run_evaluation(
    model: MotionSource,
    plan: EvalPlan,
    context: EvalContext,
    settings: EvalSettings,
    model_info: dict[str, Any] | None = None,
    baseline: MotionSource | None = None,
    baseline_info: dict[str, Any] | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The full metrics.json: model, baseline, changes and verdicts (when a baseline is given),
    real, settings and plan notes."""
    measured = measure_model(model, plan, context, settings, model_info, on_progress, "model")
    result: dict[str, Any] = {"model": measured.block}
    if baseline is not None:
        base = measure_model(
            baseline, plan, context, settings, baseline_info, on_progress, "baseline"
        )
        result["baseline"] = base.block
        result["changes"] = paired_changes(measured, base)
        result["verdicts"] = compare(measured.block, base.block, result["changes"])
    result["real"] = evaluate_real(plan, context, settings)
    result["settings"] = settings_dict(settings, plan, context)
    anchors = (model_info or {}).get("anchors") or ()
    result["notes"] = [*plan.notes, *anchored_notes(plan, anchors)]
    return result
