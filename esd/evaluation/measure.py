"""Measuring one model on a plan: generate each block, embed it, compute its metrics with their
95% intervals.

* ``generate_embeddings``: a block's motions, generated in batches and embedded by the evaluator.
* Preservation (``caption_metrics``): the field's metrics (FID, R-precision top-1..3 in pools of
  32, matching score, diversity; Guo et al. 2022, ``esd.evaluation.metrics``) of the retain and
  forget blocks, against the real motions of the same clips; multimodality on its own block.
* Efficacy (``efficacy_metrics``): concept rate (share of motions the zero-shot recogniser
  assigns to the target), matching score, and ``heldout_concept_rate`` on the held-out phrasings
  alone (phrasings never seen in training: does erasure generalise?).
* Specificity (``concept_metrics``): concept rate and matching score of each related concept.

Every concept rate and R-precision (shares of items) has a Wilson interval (``concept_rate_ci95``,
``r_precision_ci95``: one per k; Wilson, unlike a bootstrap, is not [1, 1] when every item hits),
FID and matching score a bootstrap interval (``fid_ci95``, ``matching_score_ci95``;
``esd.evaluation.uncertainty``). The bootstrap replicates are kept in a ``Measurement`` (not in
metrics.json): a baseline measured on the same plan has the same resamples, so
``esd.evaluation.changes.paired_changes`` gets the paired interval of every change from them.

FID is the strict computation of the reference code: a materially complex matrix root raises
``metrics.FIDError`` (one line, naming the block). With N <= D samples (the quick preset: 32 in
128 dimensions) the covariances are rank-deficient and the FID is biased upward, strongly so at
small N (the same two distributions measure ~0.4 at N = 32 and ~0.07 at N = 256 with the bundled
evaluator): such an FID is reported with ``fid_indicative: true``, a note and a label on its row;
compare it only with FIDs of the same sample count (as the baseline's is).

Diversity uses Guo et al.'s 300 pairs, of two different motions (``distinct=True``), and reports
the pairs used (``diversity_pairs``: fewer only below 26 samples); multimodality their 10 pairs
per caption among 30 generations, never a generation with itself (``multimodality_pairs``).

``measure_model`` gives one model's ``Measurement``; ``evaluate_model`` its metrics.json block;
``evaluate_real`` the ceiling of the real motions. Every random draw of a metric comes from
``(seed, block, metric)``, the same for the model, its baseline and the real motions.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from esd.evaluation import metrics
from esd.evaluation import uncertainty as ci
from esd.evaluation.context import EvalContext, MotionSource, ProgressFn
from esd.evaluation.plan import ConceptTarget, EvalPlan, PromptBlock
from esd.evaluation.settings import EvalSettings

Path = tuple[str | int, ...]  # where a metric sits in a metrics.json block
POSITIVE = (0.0, float("inf"))  # range of distances


@dataclass
class Measurement:
    """One model measured on a plan: its metrics.json block and the bootstrap replicates (B,) of
    each metric by its path in the block (``("preservation", "retain", "fid")``, ...)."""

    block: dict[str, Any]
    replicates: dict[Path, np.ndarray] = field(default_factory=dict)
    plan_key: tuple = ()  # the blocks' prompts, lengths and seeds, and the settings' seed


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


# --- metrics ---------------------------------------------------------------------------------


def _rng(settings: EvalSettings, block: str, metric: str) -> np.random.Generator:
    """A metric's generator: the same for the model, its baseline and the real ceiling."""
    return np.random.default_rng((settings.seed, zlib.crc32(f"{block}/{metric}".encode())))


def _boot(settings: EvalSettings, block: str, metric: str, num_items: int) -> np.ndarray:
    """The (B, N) resamples of a metric of a block (shared with the baseline: paired)."""
    generator = ci.bootstrap_generator(settings.seed, block, metric)
    return ci.resample_indices(num_items, settings.bootstrap_resamples, generator)


def _mean_with_interval(
    values: np.ndarray, settings: EvalSettings, block: str, metric: str, bounds: tuple
) -> tuple[float, list[float], np.ndarray]:
    """Mean of per-item values (N,), its bootstrap interval and replicates (B,)."""
    reps = ci.mean_replicates(values, _boot(settings, block, metric, len(values)))
    estimate = float(np.mean(values))
    return estimate, ci.interval(reps, estimate, bounds), reps


def _r_precision(
    text_emb: np.ndarray, motion_emb: np.ndarray, settings: EvalSettings, block: str, pool: int
) -> tuple[dict[str, Any], np.ndarray]:
    """R-precision top-1..3 in shuffled pools (``metrics.r_precision``), each with the Wilson
    interval of its share of hits; and the bootstrap replicates (B, 3) of the pooled texts' hits
    (for the paired change)."""
    order = _rng(settings, block, "r_precision").permutation(len(motion_emb))  # as r_precision
    hits = metrics.retrieval_hits(text_emb[order], motion_emb[order], pool)  # (P * pool, 3)
    counts, total = hits.sum(axis=0), hits.shape[0]  # (3,)
    reps = ci.mean_replicates(hits, _boot(settings, block, "r_precision", total))  # (B, 3)
    intervals = [ci.rate_interval(int(c), total) for c in counts]
    return {"r_precision": (counts / total).tolist(), "r_precision_ci95": intervals}, reps


def retrieval_metrics(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    settings: EvalSettings,
    block: str,
    notes: list[str],
    replicates: dict[Path, np.ndarray] | None = None,
    path: Path = (),
) -> dict[str, Any]:
    """R-precision (top-1..3), matching score (each with its 95% interval) and diversity of
    paired (N, D) embeddings; ``replicates[path + (metric, ...)]`` receives the replicates.

    With N < 32 the R-precision pool shrinks to N (noted); with N < 2 it is null.
    """
    n, reps = len(motion_emb), {} if replicates is None else replicates
    pool = min(metrics.R_PRECISION_POOL, n)
    result: dict[str, Any] = {"r_precision": None, "r_precision_ci95": None}
    if pool >= 2:
        if pool < metrics.R_PRECISION_POOL:
            notes.append(
                f"{block}: only {n} samples, R-precision uses pools of {pool} (not "
                f"{metrics.R_PRECISION_POOL}): not comparable with standard numbers"
            )
        result, r_reps = _r_precision(text_emb, motion_emb, settings, block, pool)
        reps.update({(*path, "r_precision", k): r_reps[:, k] for k in range(r_reps.shape[1])})
    distances = metrics.matching_distances(text_emb, motion_emb)  # (N,)
    score, score_ci, reps[(*path, "matching_score")] = _mean_with_interval(
        distances, settings, block, "matching_score", POSITIVE
    )
    result.update(matching_score=score, matching_score_ci95=score_ci)
    result.update(diversity=None, diversity_pairs=0)
    if n > 1:
        result["diversity"] = metrics.diversity(
            motion_emb, generator=_rng(settings, block, "diversity"), clamp=True, distinct=True
        )
        result["diversity_pairs"] = metrics.distinct_pair_count(n, metrics.DIVERSITY_PAIRS)
    return result


def _fid(
    real: np.ndarray, motion_emb: np.ndarray, settings: EvalSettings, block: str, notes: list
) -> tuple[dict[str, Any], np.ndarray]:
    """Strict FID of generated vs real (N, D), its bootstrap interval, replicates (B,), and the
    indicative flag (N <= D: rank-deficient covariances)."""
    try:
        fid = metrics.frechet_distance(real, motion_emb, strict=True)
    except metrics.FIDError as err:
        raise metrics.FIDError(f"{block} set: {err}") from None
    reps = ci.fid_replicates(real, motion_emb, _boot(settings, block, "fid", len(real)))
    n, dim = motion_emb.shape
    indicative = n <= dim
    if indicative:
        notes.append(
            f"{block}: FID from {n} samples in {dim} dimensions (rank-deficient covariances) is "
            "indicative: biased upward at this size, comparable only at the same sample count"
        )
    return {
        "fid": fid,
        "fid_ci95": ci.interval(reps, fid, POSITIVE),
        "fid_indicative": indicative,
    }, reps


def caption_metrics(
    motion_emb: np.ndarray,
    block: PromptBlock,
    context: EvalContext,
    settings: EvalSettings,
    notes: list[str],
    replicates: dict[Path, np.ndarray] | None = None,
    path: Path = (),
) -> dict[str, Any]:
    """FID vs the real motions of the same clips, plus ``retrieval_metrics``; every value with
    its 95% interval (replicates into ``replicates[path + ...]``)."""
    reps = {} if replicates is None else replicates
    result: dict[str, Any] = {"fid": None, "fid_ci95": None, "fid_indicative": None}
    if len(block) == 0:
        result.update(r_precision=None, r_precision_ci95=None, matching_score=None)
        return {**result, "matching_score_ci95": None, "diversity": None, "diversity_pairs": 0}
    real = context.reference.motion_emb[list(block.clip_idx)]  # (N, D)
    text = context.text_emb(block.prompts)  # (N, D)
    if len(block) >= 2:
        result, reps[(*path, "fid")] = _fid(real, motion_emb, settings, block.name, notes)
    result.update(retrieval_metrics(text, motion_emb, settings, block.name, notes, reps, path))
    return {**result, "num_samples": len(block)}


def _rate(
    flags: np.ndarray, settings: EvalSettings, block: str, metric: str
) -> tuple[float | None, list[float] | None, np.ndarray | None]:
    """Share of True in (N,) flags, its Wilson interval and bootstrap replicates (for pairing)."""
    if len(flags) == 0:
        return None, None, None
    reps = ci.mean_replicates(flags, _boot(settings, block, metric, len(flags)))
    return float(flags.mean()), ci.rate_interval(int(flags.sum()), len(flags)), reps


def recognised_shares(context: EvalContext, motion_emb: np.ndarray, top: int = 3) -> dict:
    """The ``top`` most recognised concepts and their shares (what the motions look like)."""
    return _shares(context.recogniser.recognise(motion_emb), top)


def _shares(names: list[str], top: int = 3) -> dict[str, float]:
    counts = Counter(names)
    return {name: count / len(names) for name, count in counts.most_common(top)}


def _flags(context: EvalContext, motion_emb: np.ndarray, concept: ConceptTarget) -> np.ndarray:
    """(N,) True where a motion is recognised as the concept (all False when unplaced)."""
    names = context.recogniser.recognise(motion_emb) if len(motion_emb) else []
    return np.array([n == concept.name for n in names], dtype=bool)


def concept_metrics(
    motion_emb: np.ndarray,
    block: PromptBlock,
    concept: ConceptTarget,
    context: EvalContext,
    settings: EvalSettings,
    replicates: dict[Path, np.ndarray] | None = None,
    path: Path = (),
) -> dict[str, Any]:
    """Concept rate (null when unplaced) with its Wilson interval, matching score with its
    bootstrap interval, and the top recognised concepts."""
    reps = {} if replicates is None else replicates
    names = context.recogniser.recognise(motion_emb)
    flags = np.array([n == concept.name for n in names], dtype=bool)  # (N,)
    rate, rate_ci, rate_reps = _rate(flags, settings, block.name, "concept_rate")
    if concept.name is None:
        rate, rate_ci, rate_reps = None, None, None
    if rate_reps is not None:
        reps[(*path, "concept_rate")] = rate_reps
    distances = metrics.matching_distances(context.text_emb(block.prompts), motion_emb)
    score, score_ci, reps[(*path, "matching_score")] = _mean_with_interval(
        distances, settings, block.name, "matching_score", POSITIVE
    )
    return {
        "concept": concept.text,
        "recognised_as": concept.name,
        "concept_rate": rate,
        "concept_rate_ci95": rate_ci,
        "matching_score": score,
        "matching_score_ci95": score_ci,
        "recognised": _shares(names),
        "num_samples": len(block),
    }


def efficacy_metrics(
    motion_emb: np.ndarray,
    block: PromptBlock,
    concept: ConceptTarget,
    context: EvalContext,
    settings: EvalSettings,
    replicates: dict[Path, np.ndarray] | None = None,
) -> dict[str, Any]:
    """``concept_metrics`` plus the concept rate on held-out phrasings only (null if none)."""
    reps = {} if replicates is None else replicates
    heldout = np.array([k == "heldout" for k in block.kinds], dtype=bool)
    result = concept_metrics(motion_emb, block, concept, context, settings, reps, ("efficacy",))
    flags = _flags(context, motion_emb[heldout], concept)
    rate, rate_ci, rate_reps = _rate(flags, settings, block.name, "heldout_concept_rate")
    if concept.name is None:
        rate, rate_ci, rate_reps = None, None, None
    if rate_reps is not None:
        reps[("efficacy", "heldout_concept_rate")] = rate_reps
    result.update(heldout_concept_rate=rate, heldout_concept_rate_ci95=rate_ci)
    result["heldout_samples"] = int(heldout.sum())
    return result


# --- blocks -------------------------------------------------------------------------------------


def plan_key(plan: EvalPlan, settings: EvalSettings) -> tuple:
    """What pairs two measurements: every block's prompts, lengths and seeds, the seed and the
    number of resamples."""
    blocks = tuple((b.name, b.prompts, b.lengths, b.seed) for b in plan.blocks())
    return (settings.seed, settings.bootstrap_resamples, blocks)


def _multimodality(mm: np.ndarray, settings: EvalSettings) -> tuple[float, int]:
    """Multimodality of (P * R, D) embeddings, R = mm_repeats, and the pairs per caption."""
    groups = mm.reshape(-1, settings.mm_repeats, mm.shape[-1])  # (P, R, D)
    rng = _rng(settings, "retain", "multimodality")
    value = metrics.multimodality(groups, generator=rng, clamp=True, distinct=True)
    return value, metrics.distinct_pair_count(settings.mm_repeats, metrics.MULTIMODALITY_PAIRS)


def measure_model(
    source: MotionSource,
    plan: EvalPlan,
    context: EvalContext,
    settings: EvalSettings,
    info: dict[str, Any] | None = None,
    on_progress: ProgressFn | None = None,
    label: str = "model",
) -> Measurement:
    """One model on a plan: its metrics.json block (``info`` (name, ckpt) + efficacy,
    preservation, specificity and notes) and its bootstrap replicates. Progress stages read
    "{label}: {block}"."""
    notes: list[str] = []
    reps: dict[Path, np.ndarray] = {}

    def embed(block: PromptBlock) -> np.ndarray:
        if len(block) == 0:
            return np.zeros((0, context.reference.embed_dim), dtype=np.float32)
        return generate_embeddings(
            source, block, context, settings, on_progress, f"{label}: {block.name}"
        )

    def caption(block: PromptBlock) -> dict[str, Any]:
        path = ("preservation", block.name)
        return caption_metrics(embed(block), block, context, settings, notes, reps, path)

    retain = caption(plan.retain)
    retain.update(multimodality=None, multimodality_pairs=0)
    if plan.multimodality is not None:
        mm, pairs = _multimodality(embed(plan.multimodality), settings)
        retain.update(multimodality=mm, multimodality_pairs=pairs)
    forget = caption(plan.forget)
    efficacy = efficacy_metrics(
        embed(plan.efficacy), plan.efficacy, plan.target, context, settings, reps
    )
    specificity = {
        b.name: concept_metrics(embed(b), b, c, context, settings, reps, ("specificity", b.name))
        for b, c in zip(plan.specificity, plan.related)
    }
    block = {
        **(info or {}),
        "efficacy": efficacy,
        "preservation": {"retain": retain, "forget": forget},
        "specificity": specificity,
        "notes": list(dict.fromkeys(notes)),
    }
    return Measurement(block, reps, plan_key(plan, settings))


def evaluate_model(
    source: MotionSource,
    plan: EvalPlan,
    context: EvalContext,
    settings: EvalSettings,
    info: dict[str, Any] | None = None,
    on_progress: ProgressFn | None = None,
    label: str = "model",
) -> dict[str, Any]:
    """The metrics.json block of one model (``measure_model`` without the replicates)."""
    return measure_model(source, plan, context, settings, info, on_progress, label).block


def evaluate_real(plan: EvalPlan, context: EvalContext, settings: EvalSettings) -> dict[str, Any]:
    """The ceiling: retrieval metrics of the REAL motions of the retain / forget prompts, and
    how often the recogniser calls real retain / forget clips the target concept (Wilson
    interval)."""
    result: dict[str, Any] = {}
    for block in (plan.retain, plan.forget):
        if len(block) == 0:
            result[block.name] = {"r_precision": None, "matching_score": None, "diversity": None}
            continue
        real = context.reference.motion_emb[list(block.clip_idx)]  # (N, D)
        text = context.text_emb(block.prompts)
        values = retrieval_metrics(text, real, settings, block.name, [])
        flags = _flags(context, real, plan.target)
        rate, rate_ci, _ = _rate(flags, settings, block.name, "real_concept_rate")
        placed = plan.target.name is not None
        values.update(
            concept_rate=rate if placed else None, concept_rate_ci95=rate_ci if placed else None
        )
        result[block.name] = {**values, "num_samples": len(block)}
    return result
