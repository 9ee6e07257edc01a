"""Stage 2 of the ``salad`` pretraining: SALAD's skip-transformer denoiser on the VAE's latents.

Training example (SALAD_COMPAT §2.4): a clip's posterior sample z_0 = mu + exp(logvar / 2) e
(drawn afresh every step, as SALAD encodes each batch with its always-sampling ``encode``;
(N, 7, C), N = T / 4, not normalised), one of its captions (``""`` with probability
``cond_drop``: classifier-free guidance), t ~ U{0..999} on SALAD's scaled-linear schedule,
noise eps, everything beyond the clip's length set to zero:

    x_t = alpha_t z_0 + sigma_t eps,   v = alpha_t eps - sigma_t z_0
    L = sum_{valid n, p, c} (v_theta(x_t, t, CLIP(caption))[n, p, c] - v[n, p, c])^2
        / (valid tokens x 7 x C)                                    (plain v-MSE, no weighting)

The posterior statistics and the captions' CLIP states are computed once (VAE and CLIP frozen).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from esd.models.diffusion import NoiseSchedule, q_sample, v_target
from esd.models.salad.denoiser import SaladDenoiser, SaladDenoiserConfig
from esd.models.text.batch import TextBatch
from esd.pretrain.denoiser import DenoiserStep, DenoiserTrainConfig, LatentBatcher, TextBank
from esd.pretrain.salad_config import SaladSizes, SaladTrainConfig
from esd.pretrain.vae import lr_at


def denoiser_config(sizes: SaladSizes, latent_dim: int) -> SaladDenoiserConfig:
    """The SaladDenoiserConfig of ``sizes`` for a VAE of ``latent_dim`` channels per part."""
    if sizes.text_dim is None:
        raise ValueError("the text width is unknown: take it from the CLIP (with_text_dim)")
    return SaladDenoiserConfig(
        model_dim=sizes.model_dim, num_heads=sizes.num_heads, num_layers=sizes.num_layers,
        ff_dim=sizes.ff_dim, dropout=sizes.dropout, latent_dim=latent_dim,
        text_dim=sizes.text_dim,
    )  # fmt: skip


def posterior_batcher(
    stats: Sequence[torch.Tensor], captions: Sequence[Sequence[str]], bank: TextBank,
    cfg: SaladTrainConfig,
) -> LatentBatcher:  # fmt: skip
    """Length-bucketed batches of [mu, logvar] rows (B, N, 2 P C) with caption dropout."""
    batch_cfg = DenoiserTrainConfig(
        batch_size=cfg.batch_size, cond_drop=cfg.cond_drop, length_buckets=cfg.length_buckets
    )
    return LatentBatcher(stats, captions, bank, batch_cfg)


def sample_posterior(
    both: torch.Tensor, mask: torch.Tensor, latent_dim: int, generator: torch.Generator
) -> torch.Tensor:
    """z_0 = (mu + exp(logvar / 2) e) * mask: (B, N, 2 P C) -> (B, N, P, C), zero past lengths."""
    mu, logvar = both.chunk(2, dim=-1)  # (B, N, P C) each
    eps = torch.randn(mu.shape, generator=generator).to(mu.device)
    z = (mu + torch.exp(logvar / 2) * eps) * mask[..., None]
    return z.reshape(*z.shape[:2], -1, latent_dim)


def salad_denoiser_loss(
    model: SaladDenoiser,
    schedule: NoiseSchedule,
    z0: torch.Tensor,
    mask: torch.Tensor,
    text: TextBatch,
    generator: torch.Generator,
) -> torch.Tensor:
    """The masked v-MSE of the module docstring; z0 (B, N, P, C), mask (B, N) bool."""
    t = torch.randint(schedule.num_steps, (z0.shape[0],), generator=generator).to(z0.device)
    valid = mask[..., None, None].float()  # (B, N, 1, 1)
    noise = torch.randn(z0.shape, generator=generator).to(z0.device) * valid
    x_t = q_sample(schedule, z0, t, noise)  # zero past the lengths
    target = v_target(schedule, z0, noise, t)
    pred = model(x_t, t, text.states, text.mask, mask)  # (B, N, P, C)
    squared = (pred - target) ** 2 * valid
    return squared.sum() / (valid.sum() * z0.shape[2] * z0.shape[3])


def train_salad_denoiser(
    batcher: LatentBatcher,
    schedule: NoiseSchedule,
    model_cfg: SaladDenoiserConfig,
    cfg: SaladTrainConfig,
    device: torch.device,
    on_step: Callable[[DenoiserStep], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[SaladDenoiser, dict[str, Any]]:
    """Train a SaladDenoiser; returns it (eval mode) and {"steps": steps done}."""
    torch.manual_seed(cfg.seed)
    model = SaladDenoiser(model_cfg).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    warmup = max(1, int(cfg.warmup_share * cfg.denoiser_steps))
    schedule = schedule.to(device)
    began, done = time.monotonic(), 0
    for step in range(cfg.denoiser_steps):
        if stop is not None and stop.is_set():
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.denoiser_steps, cfg.lr, warmup)
        both, mask, caption_ids = batcher.sample(generator, device)
        z0 = sample_posterior(both, mask, model_cfg.latent_dim, generator)
        text = batcher.bank.batch(caption_ids, device)
        loss = salad_denoiser_loss(model, schedule, z0, mask, text, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        done = step + 1
        if on_step is not None:
            elapsed = time.monotonic() - began
            on_step(DenoiserStep(done, cfg.denoiser_steps, float(loss.detach()), elapsed))
    return model.eval(), {"steps": done}
