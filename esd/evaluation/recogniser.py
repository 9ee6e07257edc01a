"""Zero-shot concept recognition in the evaluator's joint text/motion space.

Each concept of the vocabulary (``esd.motion.concepts``) is represented by the normalised mean of
the evaluator text embeddings of its descriptions:

    e_k = normalize( mean_j  TextHead(MiniLM(description_kj)) )          (K, D)

A motion is recognised as the concept whose e_k is most cosine-similar to its motion embedding
(``esd.evaluation.metrics.recognise``). The same text side places free text (a user's target
concept, e.g. "someone doing a roundhouse kick") onto the vocabulary, or says that it cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from esd.evaluation import metrics
from esd.evaluation.contrastive import EvaluatorBundle
from esd.motion.concepts import CONCEPTS, Concept

PLACE_MIN_SIMILARITY = 0.5  # free text further than this (cosine) from every concept is unplaced


@dataclass(frozen=True)
class Placement:
    """Where a free-text concept lands in the vocabulary."""

    text: str
    concept: Concept | None  # None when no concept is similar enough
    similarity: float  # cosine similarity to the nearest concept
    nearest: Concept  # the nearest concept even when unplaced (for the error message)


class ConceptRecogniser:
    """Recognise motions as concepts, and place free text onto the concept vocabulary."""

    def __init__(
        self,
        evaluator: EvaluatorBundle,
        sentence_embed: Callable[[list[str]], torch.Tensor],
        concepts: Sequence[Concept] = CONCEPTS,
    ) -> None:
        self.evaluator = evaluator
        self.sentence_embed = sentence_embed  # list[str] -> (B, 384) sentence embeddings
        self.concepts = tuple(concepts)
        self.names = [c.name for c in self.concepts]
        rows = []
        for concept in self.concepts:
            emb = self.embed_text(list(concept.descriptions)).mean(0)
            rows.append(emb / np.linalg.norm(emb))
        self.concept_emb = np.stack(rows)  # (K, D)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """Evaluator text embeddings (B, D) of free texts."""
        return self.evaluator.embed_text(self.sentence_embed(texts).float()).cpu().numpy()

    def index(self, name: str) -> int:
        """Row of concept ``name`` in ``concept_emb``."""
        if name not in self.names:
            raise ValueError(f"unknown concept {name!r}; known: {', '.join(self.names)}")
        return self.names.index(name)

    def recognise(self, motion_emb: np.ndarray) -> list[str]:
        """Concept name recognised for each motion embedding (N, D)."""
        return [self.names[i] for i in metrics.recognise(motion_emb, self.concept_emb)]

    def rate(self, motion_emb: np.ndarray, name: str) -> float:
        """Share of motions recognised as concept ``name``."""
        return metrics.concept_rate(motion_emb, self.concept_emb, self.index(name))

    def place(self, text: str) -> Placement:
        """Nearest vocabulary concept to free ``text``; unplaced below PLACE_MIN_SIMILARITY."""
        emb = self.embed_text([text])[0]
        similarity = self.concept_emb @ (emb / np.linalg.norm(emb))  # (K,)
        best = int(similarity.argmax())
        nearest = self.concepts[best]
        placed = nearest if similarity[best] >= PLACE_MIN_SIMILARITY else None
        return Placement(text, placed, float(similarity[best]), nearest)


def recognition_accuracy(
    recogniser: ConceptRecogniser, motion_emb: np.ndarray, labels: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """How well the recogniser names REAL motions (N, D) with ground-truth concepts ``labels``.

    ``single``: share of one-concept motions recognised as their concept, overall and per
    concept; ``composed``: share of multi-concept motions recognised as one of their concepts.
    Motions without labels are ignored. Values are None where no motion qualifies.
    """
    guesses = recogniser.recognise(motion_emb) if len(motion_emb) else []
    single = [(g, c[0]) for g, c in zip(guesses, labels) if len(c) == 1]
    composed = [g in c for g, c in zip(guesses, labels) if len(c) > 1]
    per_concept = {}
    for name in recogniser.names:
        hits = [g == truth for g, truth in single if truth == name]
        per_concept[name] = float(np.mean(hits)) if hits else None
    return {
        "single": float(np.mean([g == t for g, t in single])) if single else None,
        "single_count": len(single),
        "per_concept": per_concept,
        "composed": float(np.mean(composed)) if composed else None,
        "composed_count": len(composed),
    }
