"""The protocol's generation callback for a text-to-motion model (any family).

``generation_callback(model, evaluator, num_steps, guidance_scale)`` gives the callback of
``esd.evaluation.t2m.protocol.evaluate_t2m``::

    generate(texts (B,), m_lens (B,) int, seed) -> (B, max(m_lens), 263) float32

* Row i is sampled from the noise of ``seed + i`` (``MotionGenerator.initial_noise``), so a
  model and its baseline called with the same seeds start from the same noise.
* The length is the protocol's m_len exactly, as SALAD samples it. m_len may be 36 frames (a
  40-frame clip drawn one unit shorter), below ``MotionGenerator.generate``'s 40-frame floor,
  so the callback runs the generator's two public stages, ``sample_latents`` and ``decode``.
* The model's raw (unnormalised) 263-d features are normalised with the evaluator's meta
  statistics, ``(x - meta_mean) / meta_std``, the scale the evaluator reads every motion in; the
  protocol's driver zeroes the frames from m_len on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from esd.evaluation.t2m.evaluator import T2MEvaluator
from esd.evaluation.t2m.protocol import Generate
from esd.motion.skeleton import FEATURE_DIM


class LatentModel(Protocol):
    """What the callback uses of ``esd.models.generator.MotionGenerator``."""

    def sample_latents(
        self,
        prompts: Sequence[str],
        lengths: Sequence[int],
        seed: int = 0,
        num_steps: int | None = None,
        guidance_scale: float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, latents: torch.Tensor, lengths: Sequence[int]) -> tuple[np.ndarray, ...]: ...


def meta_normalise(features: np.ndarray, evaluator: T2MEvaluator) -> np.ndarray:
    """Raw features (B, T, 263) -> ``(x - meta_mean) / meta_std`` float32 (B, T, 263)."""
    return ((np.asarray(features, np.float32) - evaluator.meta_mean) / evaluator.meta_std).astype(
        np.float32
    )


def meta_denormalise(motions: np.ndarray, evaluator: T2MEvaluator) -> np.ndarray:
    """The inverse of ``meta_normalise``: (B, T, 263) -> raw features float32."""
    return (np.asarray(motions, np.float32) * evaluator.meta_std + evaluator.meta_mean).astype(
        np.float32
    )


def generation_callback(
    model: LatentModel,
    evaluator: T2MEvaluator,
    num_steps: int | None = None,
    guidance_scale: float | None = None,
) -> Generate:
    """The protocol's ``generate`` for ``model`` (module docstring); ``num_steps`` /
    ``guidance_scale`` None: the model family's sampler defaults."""

    def generate(texts: list[str], m_lens: np.ndarray, seed: int) -> np.ndarray:
        lengths = [int(n) for n in m_lens]
        latents, _ = model.sample_latents(texts, lengths, seed, num_steps, guidance_scale)
        features = model.decode(latents, lengths)[0]  # (B, max(m_lens), 263) raw
        if features.shape[0] != len(texts) or features.shape[-1] != FEATURE_DIM:
            raise ValueError(
                f"the model returned features of shape {features.shape} for {len(texts)} texts"
            )
        return meta_normalise(features, evaluator)

    return generate
