"""Measuring one model on a plan: generate each block, embed it, compute its metrics.

* ``generate_embeddings``: a block's motions, generated in batches and embedded by the evaluator.
* Preservation (``caption_metrics``): the field's metrics (FID, R-precision top-1..3 in pools of
  32, matching score, diversity; Guo et al. 2022, ``esd.evaluation.metrics``) of the retain and
  forget blocks, against the real motions of the same clips; multimodality on its own block.
* Efficacy (``efficacy_metrics``): concept rate (share of motions the zero-shot recogniser
  assigns to the target), matching score, and ``heldout_concept_rate`` on the held-out phrasings
  alone (phrasings never seen in training: does erasure generalise?).
* Specificity (``concept_metrics``): concept rate and matching score of each related concept.

``evaluate_model`` gives one model's metrics.json block; ``evaluate_real`` the ceiling of the
real motions. Every random draw of a metric comes from ``(seed, block, metric)``, the same for
the model, its baseline and the real motions.
"""

from __future__ import annotations

import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from esd.evaluation import metrics
from esd.evaluation.context import EvalContext, MotionSource, ProgressFn
from esd.evaluation.plan import ConceptTarget, EvalPlan, PromptBlock
from esd.evaluation.settings import EvalSettings

# --- generation ---------------------------------------------------------------------------------


def generate_embeddings(
    source: MotionSource,
    block: PromptBlock,
    context: EvalContext,
    settings: EvalSettings,
    on_progress: ProgressFn | None = None,
    stage: str = "",
) -> np.ndarray:
    """Generate the block's motions in batches and embed them: (N, D) float32.

    Batch ``[s, e)`` is generated with ``seed = block.seed + s`` so item i always gets the
    noise of ``block.seed + i``, whatever the batch size.
    """
    chunks = []
    total = len(block)
    for start in range(0, total, settings.batch_size):
        stop = min(start + settings.batch_size, total)
        motion = source.generate(
            list(block.prompts[start:stop]),
            lengths=list(block.lengths[start:stop]),
            seed=block.seed + start,
            num_steps=settings.ddim_steps,
            guidance_scale=settings.guidance_scale,
        )
        features = np.asarray(motion.features)  # (b, T, 263)
        if features.shape[0] != stop - start or not np.isfinite(features).all():
            raise ValueError(
                f"the model returned {features.shape[0]} motions for {stop - start} prompts, or "
                f"non-finite features (prompt {block.prompts[start]!r}); is the checkpoint broken?"
            )
        chunks.append(context.motion_emb(features, np.asarray(motion.lengths)))
        if on_progress is not None:
            on_progress(stage or block.name, stop, total)
    return np.concatenate(chunks)


# --- metrics ------------------------------------------------------------------------------------


def _rng(settings: EvalSettings, block: str, metric: str) -> np.random.Generator:
    """A metric's generator: the same for the model, its baseline and the real ceiling."""
    return np.random.default_rng((settings.seed, zlib.crc32(f"{block}/{metric}".encode())))


def _noted(notes: list[str], fn: Callable[[], Any]) -> Any:
    """Run ``fn``, turning its warnings into report notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn()
    notes += [str(w.message) for w in caught]
    return value


def retrieval_metrics(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    settings: EvalSettings,
    block: str,
    notes: list[str],
) -> dict[str, Any]:
    """R-precision (top-1..3), matching score and diversity of paired (N, D) embeddings.

    With N < 32 the R-precision pool shrinks to N (noted); with N < 2 it is null.
    """
    n = len(motion_emb)
    pool = min(metrics.R_PRECISION_POOL, n)
    r_precision = None
    if pool >= 2:
        if pool < metrics.R_PRECISION_POOL:
            notes.append(
                f"{block}: only {n} samples, R-precision uses pools of {pool} (not "
                f"{metrics.R_PRECISION_POOL}): not comparable with standard numbers"
            )
        rng = _rng(settings, block, "r_precision")
        r_precision = metrics.r_precision(text_emb, motion_emb, pool, generator=rng).tolist()
    div_rng = _rng(settings, block, "diversity")
    return {
        "r_precision": r_precision,
        "matching_score": metrics.matching_score(text_emb, motion_emb),
        "diversity": metrics.diversity(motion_emb, generator=div_rng, clamp=True)
        if n > 1
        else None,
    }


def caption_metrics(
    motion_emb: np.ndarray,
    block: PromptBlock,
    context: EvalContext,
    settings: EvalSettings,
    notes: list[str],
) -> dict[str, Any]:
    """FID vs the real motions of the same clips, plus ``retrieval_metrics``."""
    if len(block) == 0:
        return {"fid": None, "r_precision": None, "matching_score": None, "diversity": None}
    real = context.reference.motion_emb[list(block.clip_idx)]  # (N, D)
    text = context.text_emb(block.prompts)  # (N, D)
    fid = None
    if len(block) >= 2:
        fid = _noted(notes, lambda: metrics.frechet_distance(real, motion_emb))
    result = {"fid": fid, **retrieval_metrics(text, motion_emb, settings, block.name, notes)}
    return {**result, "num_samples": len(block)}


def _rate(context: EvalContext, emb: np.ndarray, name: str | None) -> float | None:
    return context.recogniser.rate(emb, name) if name is not None and len(emb) else None


def recognised_shares(context: EvalContext, motion_emb: np.ndarray, top: int = 3) -> dict:
    """The ``top`` most recognised concepts and their shares (what the motions look like)."""
    counts = Counter(context.recogniser.recognise(motion_emb))
    return {name: count / len(motion_emb) for name, count in counts.most_common(top)}


def concept_metrics(
    motion_emb: np.ndarray, block: PromptBlock, concept: ConceptTarget, context: EvalContext
) -> dict[str, Any]:
    """Concept rate (null when unplaced), matching score and top recognised concepts."""
    text = context.text_emb(block.prompts)
    return {
        "concept": concept.text,
        "recognised_as": concept.name,
        "concept_rate": _rate(context, motion_emb, concept.name),
        "matching_score": metrics.matching_score(text, motion_emb),
        "recognised": recognised_shares(context, motion_emb),
        "num_samples": len(block),
    }


def efficacy_metrics(
    motion_emb: np.ndarray, block: PromptBlock, concept: ConceptTarget, context: EvalContext
) -> dict[str, Any]:
    """``concept_metrics`` plus the concept rate on held-out phrasings only (null if none)."""
    heldout = np.array([k == "heldout" for k in block.kinds], dtype=bool)
    result = concept_metrics(motion_emb, block, concept, context)
    result["heldout_concept_rate"] = _rate(context, motion_emb[heldout], concept.name)
    result["heldout_samples"] = int(heldout.sum())
    return result


# --- blocks -------------------------------------------------------------------------------------


def evaluate_model(
    source: MotionSource,
    plan: EvalPlan,
    context: EvalContext,
    settings: EvalSettings,
    info: dict[str, Any] | None = None,
    on_progress: ProgressFn | None = None,
    label: str = "model",
) -> dict[str, Any]:
    """The metrics.json block of one model: ``info`` (name, ckpt) + efficacy, preservation,
    specificity and notes. Progress stages read "{label}: {block}"."""
    notes: list[str] = []

    def embed(block: PromptBlock) -> np.ndarray:
        if len(block) == 0:
            return np.zeros((0, context.reference.embed_dim), dtype=np.float32)
        return generate_embeddings(
            source, block, context, settings, on_progress, f"{label}: {block.name}"
        )

    retain = caption_metrics(embed(plan.retain), plan.retain, context, settings, notes)
    retain["multimodality"] = None
    if plan.multimodality is not None:
        mm = embed(plan.multimodality)  # (P * R, D)
        mm = mm.reshape(-1, settings.mm_repeats, mm.shape[-1])  # (P, R, D)
        retain["multimodality"] = metrics.multimodality(
            mm, generator=_rng(settings, "retain", "multimodality"), clamp=True
        )
    forget = caption_metrics(embed(plan.forget), plan.forget, context, settings, notes)
    efficacy = efficacy_metrics(embed(plan.efficacy), plan.efficacy, plan.target, context)
    specificity = {
        block.name: concept_metrics(embed(block), block, concept, context)
        for block, concept in zip(plan.specificity, plan.related)
    }
    return {
        **(info or {}),
        "efficacy": efficacy,
        "preservation": {"retain": retain, "forget": forget},
        "specificity": specificity,
        "notes": list(dict.fromkeys(notes)),
    }


def evaluate_real(plan: EvalPlan, context: EvalContext, settings: EvalSettings) -> dict[str, Any]:
    """The ceiling: retrieval metrics of the REAL motions of the retain / forget prompts, and
    how often the recogniser calls real retain / forget clips the target concept."""
    result: dict[str, Any] = {}
    for block in (plan.retain, plan.forget):
        if len(block) == 0:
            result[block.name] = {"r_precision": None, "matching_score": None, "diversity": None}
            continue
        real = context.reference.motion_emb[list(block.clip_idx)]  # (N, D)
        text = context.text_emb(block.prompts)
        values = retrieval_metrics(text, real, settings, block.name, [])
        values["concept_rate"] = _rate(context, real, plan.target.name)
        result[block.name] = {**values, "num_samples": len(block)}
    return result
