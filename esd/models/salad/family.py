"""SALAD's family behind ``esd.models.family.ModelFamily``.

SALAD's latents (B, N, 7, 32) are presented to the generic code as (B, N, 224) in the same
memory order (a reshape, no copy), so a noise draw of SALAD's shape is the same draw in either
layout; ``predict``, ``encode`` and ``decode`` reshape at the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from esd.models.family import SamplerPreset
from esd.models.salad.denoiser import SaladDenoiser, SaladDenoiserConfig
from esd.models.salad.vae import SaladVAE, SaladVAEConfig
from esd.models.text.batch import TextBatch
from esd.models.text.clip import CLIP_NAME, ClipTextEncoder

GUIDANCE = 7.5  # SALAD's cfg scale (test_denoiser.py), on v with the "" prompt
STEPS = 50  # SALAD's DDIM steps
UNIT = 4  # frames per latent token; SALAD crops clips to a multiple of it


class SaladFamily:
    """Skeleton-aware VAE, skip-transformer v-denoiser on CLIP states, scaled-linear schedule."""

    name = "salad"
    text_encoder_name = CLIP_NAME
    masked_vae = False  # no mask: whole 4-frame units, no padding (``encode`` crops and groups)
    sampler = SamplerPreset(guidance=GUIDANCE, steps=STEPS)

    def build(
        self, vae_config: dict[str, Any], denoiser_config: dict[str, Any]
    ) -> tuple[SaladVAE, SaladDenoiser]:
        vae = SaladVAE(SaladVAEConfig(**vae_config))
        return vae, SaladDenoiser(SaladDenoiserConfig(**denoiser_config))

    def latent_channels(self, denoiser: SaladDenoiser) -> int:
        return denoiser.cfg.channels

    def latent_lengths(self, lengths: torch.Tensor | Sequence[int]) -> torch.Tensor:
        lengths = torch.as_tensor(lengths).long()
        return torch.div(lengths + UNIT - 1, UNIT, rounding_mode="floor")

    def predict(
        self,
        denoiser: SaladDenoiser,
        x_t: torch.Tensor,
        t: torch.Tensor,
        text: TextBatch,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        cfg = denoiser.cfg
        x = x_t.reshape(*x_t.shape[:2], cfg.num_parts, cfg.latent_dim)  # (B, N, 7, 32)
        v = denoiser(x, t, text.states, text.mask, mask)
        return v.reshape(x_t.shape)  # (B, N, 224)

    @torch.no_grad()
    def encode(
        self, vae: SaladVAE, clips: Sequence[np.ndarray], device: torch.device
    ) -> list[torch.Tensor]:
        """Posterior means (T_i // 4, 224) of clips cropped to a multiple of 4 frames; clips of
        one length share a batch (SALAD's VAE has no mask: no padding may enter)."""
        vae.eval()
        crops = [np.asarray(c, dtype=np.float32)[: len(c) - len(c) % UNIT] for c in clips]
        if any(len(c) == 0 for c in crops):
            raise ValueError(f"every clip needs at least {UNIT} frames")
        result: dict[int, torch.Tensor] = {}
        by_length: dict[int, list[int]] = {}
        for i, crop in enumerate(crops):
            by_length.setdefault(len(crop), []).append(i)
        for rows in by_length.values():
            x = torch.from_numpy(np.stack([crops[i] for i in rows])).to(device)  # (b, T, 263)
            mu, _ = vae.encode_stats(x)  # (b, T / 4, 7, 32)
            for row, i in enumerate(rows):
                result[i] = mu[row].reshape(mu.shape[1], -1).float().cpu()  # (T / 4, 224)
        return [result[i] for i in range(len(crops))]

    def decode(self, vae: SaladVAE, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The whole padded batch is decoded, as SALAD's evaluation does (``tokens`` unused)."""
        latents = z.reshape(*z.shape[:2], -1, vae.cfg.latent_dim)  # (B, N, 7, 32)
        return vae.decode(latents)

    def is_text_encoder(self, encoder: Any) -> bool:
        return isinstance(encoder, ClipTextEncoder)


SALAD = SaladFamily()


def replay_noise(batch: int, tokens: int, seed: int, parts: int = 7, dim: int = 32) -> torch.Tensor:
    """x_T (B, N, P C) as SALAD's ``DenoiserTrainer.generate`` draws it after
    ``torch.manual_seed(seed)``: the SECOND ``randn`` of shape (B, N, P, C), the first being
    consumed by the throw-away ``vae.encode`` of the padded batch (same shape: its posterior
    sample). Replays SALAD's evaluation seeds (``seed: 1234`` in its opt.txt)."""
    generator = torch.Generator().manual_seed(seed)
    torch.randn((batch, tokens, parts, dim), generator=generator)  # vae.encode's draw
    noise = torch.randn((batch, tokens, parts, dim), generator=generator)
    return noise.reshape(batch, tokens, parts * dim)  # same memory order
