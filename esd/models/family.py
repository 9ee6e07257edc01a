"""What the generic pipeline needs from a model family (the bundled one, SALAD's).

The generator, ESD and the evaluation see every family the same way:

    latents      (B, N, C) float, N = ceil(T / 4) tokens, C = ``latent_channels(denoiser)``
                 (bundled: C = 16; SALAD: its (N, 7, 32) latents in the same memory order, C = 224)
    predict      v = predict(denoiser, x_t (B, N, C), t (B,), TextBatch, mask (B, N))
    encode       normalised frames -> posterior means (N_i, C) per clip
    decode       latents (B, N, C) -> normalised frames (B, 4 N, 263)
    sampler      default guidance, steps (and the schedule carries the timestep spacing)

A family also rebuilds its VAE and denoiser from the configs stored in a checkpoint, and names
its text encoder. Family objects are stateless singletons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from esd.models.text.batch import TextBatch


@dataclass(frozen=True)
class SamplerPreset:
    """A family's default sampling settings (the timestep spacing lives on its schedule)."""

    guidance: float  # classifier-free guidance scale
    steps: int  # DDIM steps


class ModelFamily(Protocol):
    """The adapter a family supplies to ``MotionGenerator`` (see the module doc)."""

    name: str  # "bundled" or "salad"
    text_encoder_name: str  # shown in the model list
    sampler: SamplerPreset
    # False: the VAE has no mask, reads whole units of 4 frames only, and padding in a decoded
    # batch reaches the last frames of its shorter clips (SALAD's)
    masked_vae: bool

    def build(
        self, vae_config: dict[str, Any], denoiser_config: dict[str, Any]
    ) -> tuple[nn.Module, nn.Module]:
        """A VAE and a denoiser of the stored configs (random weights)."""
        ...

    def latent_channels(self, denoiser: nn.Module) -> int:
        """C of the generic (B, N, C) latent layout."""
        ...

    def latent_lengths(self, lengths: torch.Tensor | Sequence[int]) -> torch.Tensor:
        """Latent tokens (B,) of clips of ``lengths`` frames: ceil(T / 4)."""
        ...

    def predict(
        self,
        denoiser: nn.Module,
        x_t: torch.Tensor,
        t: torch.Tensor,
        text: TextBatch,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """v (B, N, C) for x_t (B, N, C), t (B,), latent mask (B, N) bool."""
        ...

    def encode(
        self, vae: nn.Module, clips: Sequence[np.ndarray], device: torch.device
    ) -> list[torch.Tensor]:
        """Posterior means (N_i, C) on the CPU of normalised clips (T_i, 263)."""
        ...

    def decode(self, vae: nn.Module, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised frames (B, 4 N, 263) of latents z (B, N, C) with ``tokens`` (B,) valid."""
        ...

    def is_text_encoder(self, encoder: Any) -> bool:
        """Whether ``encoder`` is the kind this family's denoiser was trained on."""
        ...
