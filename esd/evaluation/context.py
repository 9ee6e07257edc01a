"""What an evaluation measures and what it measures with.

* ``MotionSource``: anything that generates motions like ``MotionGenerator.generate`` (the model,
  its baseline, fakes in tests).
* ``Recogniser``: what the protocol uses of ``esd.evaluation.recogniser.ConceptRecogniser``.
* ``EvalContext``: the measuring instruments (evaluator, concept recogniser, reference set), with
  the text and motion embeddings every block is measured in. ``esd.evaluation.instruments``
  loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from esd.evaluation.contrastive import EvaluatorBundle
from esd.evaluation.recogniser import Placement
from esd.evaluation.reference import ReferenceSet
from esd.models.generator import DEFAULT_GUIDANCE, DEFAULT_STEPS, GeneratedMotion

ProgressFn = Callable[[str, int, int], None]  # on_progress(stage, done, total)


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
