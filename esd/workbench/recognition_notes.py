"""What the recogniser reads in a comparison: one line per original / unlearned pair.

The bundled evaluator's zero-shot recogniser (``esd.evaluation.recogniser``) gives every motion
a distribution over the concept vocabulary: the softmax of its cosine similarities to the
concept embeddings, scaled by the evaluator's own learned InfoNCE temperature,

    p_k(m) = softmax_k( s * <m / |m|, e_k> ),   s = exp(log_inv_temperature) (<= 100)

and a pair is noted by the original's top concepts, then the unlearned motion's top concept
when it is another, each with both probabilities (``PairNote``; the page writes it as "kick
0.92 → 0.03 · walk 0.05 → 0.81", ``esd.workbench.presentation.note_line``). So an erasure is
read, not only watched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.evaluation.context import EvalContext
from esd.motion.skeleton import FEATURE_DIM

TOP_CONCEPTS = 2  # concepts of the original motion named in a note
MAX_LOGIT_SCALE = 100.0  # the evaluator's clamp on its inverse temperature
DEFAULT_LOGIT_SCALE = 1 / 0.07  # an evaluator without a learned temperature (CLIP's start)


@dataclass(frozen=True)
class PairNote:
    """The recogniser's reading of one original / unlearned pair."""

    concepts: tuple[str, ...]  # the original's top concepts (+ the unlearned one's top)
    original: tuple[float, ...]  # their probabilities for the original motion
    unlearned: tuple[float, ...]  # and for the unlearned motion


def logit_scale(context: EvalContext) -> float:
    """``s`` of the module docstring: the evaluator's inverse temperature, clamped."""
    model = getattr(context.evaluator, "model", None)
    log_scale = getattr(model, "log_inv_temperature", None)
    if log_scale is None:
        return DEFAULT_LOGIT_SCALE
    return min(math.exp(float(log_scale.detach())), MAX_LOGIT_SCALE)


def concept_probabilities(
    context: EvalContext, features: Sequence[np.ndarray]
) -> tuple[list[str], np.ndarray]:
    """(concept names, p) with p (N, K): the distribution of each motion (T_i, 263) over the
    recogniser's K concepts (module docstring)."""
    lengths = np.array([len(f) for f in features])  # (N,)
    batch = np.zeros((len(features), int(lengths.max()), FEATURE_DIM), dtype=np.float32)
    for row, motion in enumerate(features):
        batch[row, : len(motion)] = motion  # (N, T_max, 263), zero padded
    emb = context.motion_emb(batch, lengths)  # (N, D)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    recogniser = context.recogniser
    concepts = np.asarray(recogniser.concept_emb)  # (K, D), unit rows
    logits = logit_scale(context) * unit @ concepts.T  # (N, K)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return list(recogniser.names), p / p.sum(axis=1, keepdims=True)


def pair_note(names: Sequence[str], original: np.ndarray, unlearned: np.ndarray) -> PairNote:
    """The note of a pair from its two distributions (K,): the original's TOP_CONCEPTS, then
    the unlearned motion's top concept if it is not among them."""
    order = [int(i) for i in np.argsort(-original, kind="stable")[:TOP_CONCEPTS]]
    top_unlearned = int(np.argmax(unlearned))
    if top_unlearned not in order:
        order.append(top_unlearned)
    return PairNote(
        tuple(names[i] for i in order),
        tuple(float(original[i]) for i in order),
        tuple(float(unlearned[i]) for i in order),
    )


def comparison_notes(
    context: EvalContext, pairs: Sequence[tuple[np.ndarray, np.ndarray]]
) -> tuple[PairNote, ...]:
    """One note per (original features, unlearned features) pair."""
    features = [f for pair in pairs for f in pair]  # original, unlearned, original, ...
    names, p = concept_probabilities(context, features)
    return tuple(pair_note(names, p[2 * i], p[2 * i + 1]) for i in range(len(pairs)))
