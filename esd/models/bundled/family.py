"""The bundled family behind ``esd.models.family.ModelFamily``: MotionVAE + LatentDenoiser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser
from esd.models.bundled.vae import MotionVAE, VAEConfig, encode_latents, latent_lengths
from esd.models.family import SamplerPreset
from esd.models.text.batch import TextBatch
from esd.models.text.clip import ClipTextEncoder

DEFAULT_GUIDANCE = 2.5  # classifier-free guidance scale used for sampling
DEFAULT_STEPS = 50  # DDIM steps


class BundledFamily:
    """1-D conv VAE with (T/4, C) latents, latent transformer on MiniLM, cosine schedule."""

    name = "bundled"
    text_encoder_name = "all-MiniLM-L6-v2"
    masked_vae = True  # latent lengths ceil(T / 4) and a mask: any length, padded batches
    sampler = SamplerPreset(guidance=DEFAULT_GUIDANCE, steps=DEFAULT_STEPS)

    def build(
        self, vae_config: dict[str, Any], denoiser_config: dict[str, Any]
    ) -> tuple[MotionVAE, LatentDenoiser]:
        return MotionVAE(VAEConfig(**vae_config)), LatentDenoiser(DenoiserConfig(**denoiser_config))

    def latent_channels(self, denoiser: LatentDenoiser) -> int:
        return denoiser.cfg.latent_dim

    def latent_lengths(self, lengths: torch.Tensor | Sequence[int]) -> torch.Tensor:
        return latent_lengths(torch.as_tensor(lengths))

    def predict(
        self,
        denoiser: LatentDenoiser,
        x_t: torch.Tensor,
        t: torch.Tensor,
        text: TextBatch,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        return denoiser(x_t, t, text, mask)

    def encode(
        self, vae: MotionVAE, clips: Sequence[np.ndarray], device: torch.device
    ) -> list[torch.Tensor]:
        return encode_latents(vae, clips, device)

    def decode(self, vae: MotionVAE, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return vae.decode(z, tokens)

    def is_text_encoder(self, encoder: Any) -> bool:
        return not isinstance(encoder, ClipTextEncoder)  # MiniLM, or a test's stand-in


BUNDLED = BundledFamily()
