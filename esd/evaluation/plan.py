"""The plan of an evaluation: every prompt, length and seed, chosen before generating.

``make_plan`` places the target and related concepts on the recogniser's vocabulary
(``place_concept``), splits the reference set into a retain set (clips without the target) and a
forget set (clips with it; a multi-concept run's other targets, ``also_erased``, leave the
retain set too), and builds the blocks (``PromptBlock``):

* ``retain`` / ``forget``: seeded captions of distinct reference clips (``caption_block``), each
  with its clip's length;
* ``efficacy``: the target's text, held-out phrasings (heldout.json) and caption paraphrases
  from reference clips of the concept (``concept_block``);
* one specificity block per related concept (text and paraphrases, no held-out phrasings);
* ``multimodality``: the first retain captions, each repeated ``mm_repeats`` (30) times with
  its own seed (full preset only).

Reproducibility: every selection uses ``np.random.default_rng((seed, stream, ...))``; block k
generates with seeds ``seed + k * SEED_STRIDE + i`` for item i (``MotionGenerator`` draws item
noise from ``seed + i``), so the model and its baseline see identical prompts, lengths and noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.evaluation.context import EvalContext, Recogniser
from esd.evaluation.reference import ReferenceSet
from esd.evaluation.settings import SEED_STRIDE, EvalSettings
from esd.motion.skeleton import FPS, MAX_FRAMES, MIN_FRAMES

PARAPHRASES = 8  # caption paraphrases per concept block
MAX_HELDOUT = 8  # held-out phrasings per concept block
DEFAULT_SECONDS = 4.0  # length of concept prompts when the reference has no clip of the concept


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


def anchored_notes(plan: EvalPlan, anchors: Sequence[str]) -> list[str]:
    """A note for every related concept the erasure anchored (``ESDConfig.anchors``, automatic
    ones included): its specificity rate is read on the very prompt training held still."""
    held = {a.strip() for a in anchors}
    return [
        f"related concept '{r.text}' was an anchor of the erasure (held equal to the base in "
        "training): its specificity is measured on that same prompt, so it cannot show damage "
        "to the concept; judge it on other phrasings (bench_esd.py reads its held-out ones)"
        for r in plan.related
        if r.text.strip() in held
    ]


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
    also_erased: Sequence[str] = (),
) -> EvalPlan:
    """Choose every prompt, length and seed of an evaluation (deterministic given the seed).

    ``also_erased``: the other targets of a multi-concept run; clips containing any of them
    leave the retain set (preservation is measured on motions no target names) but do not join
    the forget set, which stays the ``target``'s.

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
    erased = mask.copy()
    for text in also_erased:
        other = place_concept(recogniser, text)
        known = other.name is not None and other.name in reference.concept_names
        erased |= reference.forget_mask(other.name if known else other.text)[0]
    if also_erased:
        rule += f"; retain set also without {', '.join(repr(t) for t in also_erased)}"
    retain_pool, forget_pool = np.flatnonzero(~erased), np.flatnonzero(mask)
    if len(retain_pool) == 0:
        named = " or ".join(repr(t) for t in (goal.text, *also_erased))
        raise ValueError(
            f"every clip of the reference's {reference.split} split contains {named}: "
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
