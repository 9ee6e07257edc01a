"""Evaluation engine: efficacy, preservation and specificity of a model, and verdicts vs a baseline.

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

Verdicts (``compare``, when a baseline is given), tolerances as named constants:
efficacy passes when the target concept rate fell; preservation when retain FID rose by at most
``FID_TOLERANCE`` (relative) and R-precision top-3 fell by at most ``R3_TOLERANCE``; specificity
when each related concept rate fell by at most ``SPECIFICITY_TOLERANCE`` (rate points).

Reproducibility: every selection uses ``np.random.default_rng((seed, stream, ...))``; generation
block k uses seeds ``seed + k * SEED_STRIDE + i`` for item i (``MotionGenerator`` draws item noise
from ``seed + i``), so the model and the baseline see identical prompts, lengths and noise.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import torch

from esd.evaluation import metrics
from esd.evaluation.contrastive import EvaluatorBundle
from esd.evaluation.recogniser import Placement
from esd.evaluation.reference import ReferenceSet
from esd.models.diffusion import MIN_DDIM_STEPS
from esd.models.generator import DEFAULT_GUIDANCE, DEFAULT_STEPS, GeneratedMotion
from esd.motion.skeleton import FPS, MAX_FRAMES, MIN_FRAMES

RETAIN_SAMPLES = 256  # retain-set prompts (full preset): 8 R-precision pools of 32
FORGET_SAMPLES = 64  # forget-set prompts (full preset): 2 pools
CONCEPT_SAMPLES = 64  # prompts per concept block (target and each related concept)
QUICK_SAMPLES = 32  # every block in the quick preset: one R-precision pool
QUICK_STEPS = 20  # DDIM steps in the quick preset
MM_PROMPTS = 8  # multimodality: retain captions used (full preset)
MM_REPEATS = 10  # multimodality: generations per caption (= metrics.MULTIMODALITY_PAIRS)
PARAPHRASES = 8  # caption paraphrases per concept block
MAX_HELDOUT = 8  # held-out phrasings per concept block
DEFAULT_SECONDS = 4.0  # length of concept prompts when the reference has no clip of the concept
SEED_STRIDE = 100_000  # generation seeds of block k start at seed + k * SEED_STRIDE

FID_TOLERANCE = 0.25  # preservation: retain FID may rise by at most 25% (relative)
FID_SLACK = 1e-6  # absolute slack on the FID rule (a baseline FID of exactly 0)
R3_TOLERANCE = 0.03  # preservation: retain R-precision top-3 may fall by at most 0.03
SPECIFICITY_TOLERANCE = 0.10  # specificity: each related concept rate may fall <= 10 points

ProgressFn = Callable[[str, int, int], None]  # on_progress(stage, done, total)


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalSettings:
    """How much to generate and how. ``EvalSettings.full()`` / ``EvalSettings.quick()``."""

    retain_samples: int = RETAIN_SAMPLES  # retain-set prompts
    forget_samples: int = FORGET_SAMPLES  # forget-set prompts
    concept_samples: int = CONCEPT_SAMPLES  # prompts per concept block
    seed: int = 0  # seeds prompt selection and generation noise
    ddim_steps: int = DEFAULT_STEPS  # sampler steps (the generator's default)
    guidance_scale: float = DEFAULT_GUIDANCE  # classifier-free guidance scale
    batch_size: int = 64  # prompts per generate() call
    mm_prompts: int = MM_PROMPTS  # multimodality prompts; 0 disables it (quick preset)
    mm_repeats: int = MM_REPEATS  # multimodality generations per prompt
    preset: str = "full"  # "full", "quick" or "custom" (reported in metrics.json)

    @classmethod
    def full(cls, seed: int = 0, **changes: Any) -> EvalSettings:
        """The reported setting: 256 retain / 64 forget / 64 per concept, 50 DDIM steps, MM on."""
        return replace(cls(seed=seed, preset="full"), **changes)

    @classmethod
    def quick(cls, seed: int = 0, **changes: Any) -> EvalSettings:
        """The workbench's seconds-scale check: 32 per block, 20 DDIM steps, no multimodality."""
        base = cls(
            retain_samples=QUICK_SAMPLES,
            forget_samples=QUICK_SAMPLES,
            concept_samples=QUICK_SAMPLES,
            seed=seed,
            ddim_steps=QUICK_STEPS,
            mm_prompts=0,
            preset="quick",
        )
        return replace(base, **changes)

    def with_num_samples(self, count: int) -> EvalSettings:
        """The same settings with ``count`` prompts in every block."""
        return replace(
            self, retain_samples=count, forget_samples=count, concept_samples=count
        ).validated()

    def validated(self) -> EvalSettings:
        """Return self, or raise ValueError naming the bad setting."""
        for name in ("retain_samples", "forget_samples", "concept_samples", "batch_size"):
            if not 1 <= int(getattr(self, name)) < SEED_STRIDE:
                raise ValueError(
                    f"{name} must be between 1 and {SEED_STRIDE - 1}, got {getattr(self, name)}"
                )
        if self.ddim_steps < MIN_DDIM_STEPS:
            raise ValueError(f"ddim_steps must be at least {MIN_DDIM_STEPS}, got {self.ddim_steps}")
        if not math.isfinite(self.guidance_scale):
            raise ValueError(f"guidance_scale must be finite, got {self.guidance_scale}")
        if self.mm_prompts < 0 or (self.mm_prompts > 0 and self.mm_repeats < 2):
            raise ValueError("multimodality needs mm_prompts >= 0 and mm_repeats >= 2")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        return self


# --- interfaces ---------------------------------------------------------------------------------


class MotionSource(Protocol):
    """Anything that generates motions like ``MotionGenerator.generate`` (fakes in tests)."""

    def generate(
        self,
        prompts: Sequence[str],
        lengths: Sequence[int] | None = None,
        *,
        seed: int = 0,
        num_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
    ) -> GeneratedMotion: ...


class Recogniser(Protocol):
    """What the engine uses of ``esd.evaluation.recogniser.ConceptRecogniser``."""

    names: list[str]

    def embed_text(self, texts: list[str]) -> np.ndarray: ...

    def recognise(self, motion_emb: np.ndarray) -> list[str]: ...

    def rate(self, motion_emb: np.ndarray, name: str) -> float: ...

    def place(self, text: str) -> Placement: ...


@dataclass
class EvalContext:
    """The measuring instruments: evaluator, concept recogniser, reference set."""

    evaluator: EvaluatorBundle
    recogniser: Recogniser
    reference: ReferenceSet
    _text_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def text_emb(self, texts: Sequence[str]) -> np.ndarray:
        """Evaluator text embeddings (N, D) of ``texts`` (each distinct text embedded once)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            self._text_cache.update(zip(missing, self.recogniser.embed_text(missing)))
        return np.stack([self._text_cache[t] for t in texts])

    @torch.no_grad()
    def motion_emb(self, features: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Evaluator embeddings (B, D) of raw features (B, T, 263) with lengths (B,)."""
        device = self.evaluator.mean.device
        x = torch.as_tensor(np.asarray(features, dtype=np.float32), device=device)
        n = torch.as_tensor(np.asarray(lengths, dtype=np.int64), device=device)
        return self.evaluator.embed_motion(x, n).float().cpu().numpy()


# --- the plan: prompts shared by model and baseline ---------------------------------------------


@dataclass(frozen=True)
class ConceptTarget:
    """A concept text and where it lands on the recogniser's vocabulary."""

    text: str
    name: str | None  # vocabulary concept, None when the text could not be placed
    nearest: str  # nearest vocabulary concept (even when unplaced)
    similarity: float  # cosine similarity to it


@dataclass(frozen=True)
class PromptBlock:
    """The prompts of one block, with their lengths and generation seed."""

    name: str  # "retain", "forget", "efficacy", "multimodality" or a related concept text
    prompts: tuple[str, ...]
    lengths: tuple[int, ...]  # frames per prompt
    kinds: tuple[str, ...]  # "caption", "concept", "paraphrase" or "heldout" per prompt
    seed: int  # generation seed of item 0 (item i uses seed + i)
    clip_idx: tuple[int, ...] = ()  # reference clip of each prompt (retain / forget blocks)

    def __len__(self) -> int:
        return len(self.prompts)


@dataclass(frozen=True)
class EvalPlan:
    """Everything decided before generating: identical for the model and its baseline."""

    target: ConceptTarget
    related: tuple[ConceptTarget, ...]
    retain: PromptBlock
    forget: PromptBlock
    efficacy: PromptBlock
    specificity: tuple[PromptBlock, ...]  # one per related concept, same order
    multimodality: PromptBlock | None  # None in the quick preset
    forget_rule: str  # how the forget set was chosen (labels or keywords)
    retain_size: int  # clips in the whole retain set
    forget_size: int  # clips in the whole forget set
    notes: tuple[str, ...] = ()

    def blocks(self) -> list[PromptBlock]:
        """Every block to generate, in order."""
        extra = [self.multimodality] if self.multimodality is not None else []
        return [self.retain, self.forget, self.efficacy, *extra, *self.specificity]


def place_concept(recogniser: Recogniser, text: str) -> ConceptTarget:
    """Place a concept text on the vocabulary (``ConceptRecogniser.place``)."""
    text = text.strip()
    if not text:
        raise ValueError("a concept is empty; give a prompt such as 'a person kicking'")
    placement = recogniser.place(text)
    name = placement.concept.name if placement.concept is not None else None
    return ConceptTarget(text, name, placement.nearest.name, float(placement.similarity))


def _clamp_length(frames: int) -> int:
    return int(min(max(frames, MIN_FRAMES), MAX_FRAMES))


def caption_block(
    reference: ReferenceSet, pool: np.ndarray, count: int, name: str, seed: int, stream: int
) -> PromptBlock:
    """``min(count, len(pool))`` distinct clips of ``pool`` (seeded), a seeded caption of each,
    each clip's own length; generation seeds from ``seed + stream * SEED_STRIDE``."""
    rng = np.random.default_rng((seed, stream))
    picked = rng.choice(pool, size=min(count, len(pool)), replace=False) if len(pool) else []
    prompts, lengths = [], []
    for i in picked:
        captions = reference.captions[i]
        prompts.append(captions[int(rng.integers(len(captions)))])
        lengths.append(_clamp_length(int(reference.lengths[i])))
    return PromptBlock(
        name,
        tuple(prompts),
        tuple(lengths),
        ("caption",) * len(prompts),
        seed + stream * SEED_STRIDE,
        tuple(int(i) for i in picked),
    )


def _concept_pool(
    reference: ReferenceSet, concept: ConceptTarget, rng: np.random.Generator, heldout: bool
) -> tuple[list[tuple[str, str, int | None]], np.ndarray]:
    """(text, kind, length or None) entries: the text, held-out phrasings, and up to PARAPHRASES
    captions of distinct reference clips of the concept (a seeded caption of each; clips in
    ``ReferenceSet.concept_clips`` order); and the lengths of the concept's reference clips."""
    labelled = concept.name is not None and concept.name in reference.concept_names
    clips = reference.concept_clips(concept.name if labelled else concept.text, rng)
    pool: list[tuple[str, str, int | None]] = [(concept.text, "concept", None)]
    if heldout and concept.name is not None:
        phrasings = reference.heldout.get(concept.name, ())[:MAX_HELDOUT]
        pool += [(p, "heldout", None) for p in phrasings]
    seen = {concept.text}
    for i in clips:
        captions = reference.captions[i]
        caption = captions[int(rng.integers(len(captions)))]  # one per clip: more variety
        if caption not in seen:
            seen.add(caption)
            pool.append((caption, "paraphrase", int(reference.lengths[i])))
        if len(seen) > PARAPHRASES:
            break
    return pool, reference.lengths[clips]


def concept_block(
    reference: ReferenceSet,
    concept: ConceptTarget,
    count: int,
    seed: int,
    stream: int,
    heldout: bool = True,
) -> PromptBlock:
    """``count`` prompts cycling over [text] + held-out phrasings + caption paraphrases.

    Paraphrases keep their clip's length; the others draw a length from the concept's
    reference clips (``DEFAULT_SECONDS`` when there is none).
    """
    rng = np.random.default_rng((seed, stream))
    pool, clip_lengths = _concept_pool(reference, concept, rng, heldout)
    prompts, lengths, kinds = [], [], []
    for i in range(count):
        text, kind, length = pool[i % len(pool)]
        if length is None:
            length = (
                int(rng.choice(clip_lengths)) if len(clip_lengths) else int(DEFAULT_SECONDS * FPS)
            )
        prompts.append(text)
        lengths.append(_clamp_length(length))
        kinds.append(kind)
    name = "efficacy" if heldout else concept.text
    return PromptBlock(
        name, tuple(prompts), tuple(lengths), tuple(kinds), seed + stream * SEED_STRIDE
    )


def multimodality_block(retain: PromptBlock, settings: EvalSettings, stream: int) -> PromptBlock:
    """The first ``mm_prompts`` retain captions, each repeated ``mm_repeats`` times (P*R items)."""
    count = min(settings.mm_prompts, len(retain))
    prompts = [p for p in retain.prompts[:count] for _ in range(settings.mm_repeats)]
    lengths = [n for n in retain.lengths[:count] for _ in range(settings.mm_repeats)]
    return PromptBlock(
        "multimodality",
        tuple(prompts),
        tuple(lengths),
        ("caption",) * len(prompts),
        settings.seed + stream * SEED_STRIDE,
    )


def _placement_notes(
    target: ConceptTarget, related: Sequence[ConceptTarget], known: list[str]
) -> list[str]:
    notes = []
    for concept in (target, *related):
        if concept.name is None:
            notes.append(
                f"{concept.text!r} could not be placed on the concept vocabulary (nearest: "
                f"{concept.nearest}, similarity {concept.similarity:.2f}); its concept rate is "
                f"null. Known concepts: {', '.join(known)}"
            )
    for concept in related:
        if concept.name is not None and concept.name == target.name:
            notes.append(
                f"related concept {concept.text!r} is recognised as the target's concept "
                f"({concept.name}); its specificity measures the erased concept itself"
            )
    return notes


def _size_notes(
    retain: PromptBlock, forget: PromptBlock, settings: EvalSettings, target: str
) -> list[str]:
    notes = []
    if len(forget) == 0:
        notes.append(f"no reference clip contains {target}: the forget set is empty")
    for block, wanted in ((retain, settings.retain_samples), (forget, settings.forget_samples)):
        if 0 < len(block) < wanted:
            notes.append(
                f"{block.name}: only {len(block)} clips in the reference, fewer than the "
                f"{wanted} requested; each is used once"
            )
    return notes


def make_plan(
    context: EvalContext,
    target: str,
    related: Sequence[str],
    settings: EvalSettings,
) -> EvalPlan:
    """Choose every prompt, length and seed of an evaluation (deterministic given the seed).

    Raises ValueError for an empty concept or when no retain clip is left.
    """
    settings.validated()
    reference, recogniser = context.reference, context.recogniser
    goal = place_concept(recogniser, target)
    others = tuple(place_concept(recogniser, text) for text in related)
    if any(c.text == goal.text for c in others):
        raise ValueError(f"related concepts must differ from the target {goal.text!r}")
    if len({c.text for c in others}) < len(others):
        raise ValueError("a related concept is listed twice; give each one once")
    labelled = goal.name is not None and goal.name in reference.concept_names
    mask, rule = reference.forget_mask(goal.name if labelled else goal.text)
    retain_pool, forget_pool = np.flatnonzero(~mask), np.flatnonzero(mask)
    if len(retain_pool) == 0:
        raise ValueError(
            f"every clip of the reference's {reference.split} split contains {goal.text!r}: "
            "no retain set is left; evaluate on a split with other motions"
        )
    seed = settings.seed
    retain = caption_block(reference, retain_pool, settings.retain_samples, "retain", seed, 0)
    forget = caption_block(reference, forget_pool, settings.forget_samples, "forget", seed, 1)
    notes = _placement_notes(goal, others, list(recogniser.names))
    notes += _size_notes(retain, forget, settings, f"{goal.text!r} ({rule})")
    return EvalPlan(
        target=goal,
        related=others,
        retain=retain,
        forget=forget,
        efficacy=concept_block(reference, goal, settings.concept_samples, seed, 2),
        specificity=tuple(
            concept_block(reference, c, settings.concept_samples, seed, 4 + j, heldout=False)
            for j, c in enumerate(others)
        ),
        multimodality=multimodality_block(retain, settings, 3) if settings.mm_prompts else None,
        forget_rule=rule,
        retain_size=len(retain_pool),
        forget_size=len(forget_pool),
        notes=tuple(notes),
    )


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


# --- verdicts -----------------------------------------------------------------------------------


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


# --- the whole evaluation -----------------------------------------------------------------------


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
            {"prompts": settings.mm_prompts, "repeats": settings.mm_repeats}
            if plan.multimodality is not None
            else None
        ),
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
    """The full metrics.json: model, baseline and verdicts (when a baseline is given), real,
    settings and plan notes."""
    result: dict[str, Any] = {
        "model": evaluate_model(model, plan, context, settings, model_info, on_progress, "model")
    }
    if baseline is not None:
        result["baseline"] = evaluate_model(
            baseline, plan, context, settings, baseline_info, on_progress, "baseline"
        )
        result["verdicts"] = compare(result["model"], result["baseline"])
    result["real"] = evaluate_real(plan, context, settings)
    result["settings"] = settings_dict(settings, plan, context)
    result["notes"] = list(plan.notes)
    return result
