"""Stage 2 of pretraining: the latent denoiser (v-prediction, text cross-attention, CFG dropout).

Training example: a clip's VAE latent mean z_0 (normalised per channel), one of its captions
(replaced by the empty prompt with probability ``cond_drop``), t ~ U{0..999}, noise eps:

    x_t = alpha_t z_0 + sigma_t eps,   v = alpha_t eps - sigma_t z_0
    L = mean_masked w(t) ||v_theta(x_t, t, c) - v||^2,   w(t) = min(SNR(t), gamma) / (SNR(t) + 1)

``w`` is min-SNR-gamma weighting (Hang et al., 2023) written for v-prediction; gamma = inf gives
plain v-MSE. Latents and caption encodings are computed once up front (the VAE and the text
encoder are frozen), so a step costs one denoiser forward and backward.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser
from esd.models.diffusion import NoiseSchedule, q_sample, v_target
from esd.models.text.batch import TextBatch
from esd.models.text.minilm import TextEncoder
from esd.pretrain.vae import lr_at

# (x_t (B, N, C), t (B,), v_hat (B, N, C)) -> a scalar added to the loss
ExtraTerm = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# (the batch's clip indices, its clean latents (B, N, C), its mask (B, N)) -> its ExtraTerm
ExtraTermFactory = Callable[[Sequence[int], torch.Tensor, torch.Tensor], ExtraTerm]


@dataclass
class DenoiserTrainConfig:
    """Optimisation settings of the denoiser stage."""

    steps: int = 6000  # optimizer steps (~30 min on the 2-core reference CPU)
    batch_size: int = 64  # clips per step
    lr: float = 4e-4  # AdamW peak learning rate (warm-up, then cosine decay to 5%)
    warmup: int = 200  # linear warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay
    cond_drop: float = 0.1  # probability of training on the empty prompt (for CFG)
    length_buckets: int = 8  # a batch comes from one of these length-sorted groups (1: any clips)
    min_snr_gamma: float = 5.0  # min-SNR weighting clip; math.inf disables the weighting
    ema_decay: float = 0.999  # decay of the exponential moving average of the weights
    grad_clip: float = 1.0  # gradient-norm clip
    eval_every: int = 1000  # steps between validations (the caller's criterion)
    checkpoint_every: int = 500  # steps between resumable states handed to on_checkpoint
    seed: int = 0  # seeds batch sampling, timesteps, noise and dropout


@dataclass
class DenoiserStep:
    """What the denoiser loop reports after each step."""

    step: int
    total: int
    loss: float
    elapsed: float
    validation: float | None = None  # the caller's criterion (lower is better), when measured


class TextBank:
    """Every distinct caption encoded once: states (U, L, D) fp16 and masks (U, L)."""

    def __init__(self, captions: Sequence[str], encoder: TextEncoder, batch_size: int = 256):
        self.captions = sorted(set(captions) | {""})
        self.index = {c: i for i, c in enumerate(self.captions)}
        states, masks = [], []
        for start in range(0, len(self.captions), batch_size):
            batch = encoder.encode(self.captions[start : start + batch_size])
            states.append(batch.states.half().cpu())
            masks.append(batch.mask.cpu())
        width = max(s.shape[1] for s in states)
        self.states = torch.cat([_pad_tokens(s, width) for s in states])  # (U, L, D)
        self.masks = torch.cat([_pad_tokens(m, width) for m in masks])  # (U, L)

    def batch(self, indices: torch.Tensor, device: torch.device) -> TextBatch:
        """TextBatch for caption indices (B,), trimmed to the longest row."""
        mask = self.masks[indices]
        width = max(1, int(mask.sum(1).max()))
        return TextBatch(
            self.states[indices, :width].float().to(device), mask[:, :width].to(device)
        )


def _pad_tokens(x: torch.Tensor, width: int) -> torch.Tensor:
    pad = [0, 0] * (x.dim() - 2) + [0, width - x.shape[1]]
    return torch.nn.functional.pad(x, pad)


def latent_statistics(latents: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (C,) over all latent tokens."""
    tokens = torch.cat(list(latents))  # (sum N_i, C)
    return tokens.mean(0), tokens.std(0).clamp_min(1e-4)


def min_snr_weight(schedule: NoiseSchedule, t: torch.Tensor, gamma: float) -> torch.Tensor:
    """w(t) = min(SNR, gamma) / (SNR + 1) for the v-MSE (B,); 1 when gamma is inf."""
    if math.isinf(gamma):
        return torch.ones_like(t, dtype=torch.float32)
    snr = (schedule.alpha(t) / schedule.sigma(t)) ** 2
    return snr.clamp(max=gamma) / (snr + 1.0)


class LatentBatcher:
    """Random (latent, caption) batches; captions dropped to "" with probability cond_drop.

    Length bucketing: the clips are sorted by length and cut into ``cfg.length_buckets`` equal
    groups; each batch draws a group uniformly, then its clips uniformly from that group. Every
    clip keeps the same chance to be drawn (equal groups), but a batch pads to the longest of
    similar lengths: on the corpus (10 to 49 latent tokens) 8 groups cut the padded tokens, and
    so the time per step, by about a third.
    """

    def __init__(
        self,
        latents: Sequence[torch.Tensor],
        captions: Sequence[Sequence[str]],
        bank: TextBank,
        cfg: DenoiserTrainConfig,
    ) -> None:
        self.latents = latents
        self.caption_ids = [[bank.index[c] for c in caps] for caps in captions]
        self.bank = bank
        self.cfg = cfg
        order = sorted(range(len(latents)), key=lambda i: len(latents[i]))
        groups = max(1, min(cfg.length_buckets, len(order)))
        self.buckets = [torch.tensor(part) for part in np.array_split(order, groups)]

    def sample(self, generator: torch.Generator, device: torch.device) -> tuple[torch.Tensor, ...]:
        """z_0 (B, N, C), latent mask (B, N), caption indices (B,)."""
        return self.sample_indexed(generator, device)[:3]

    def sample_indexed(
        self, generator: torch.Generator, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
        """``sample``'s batch and the indices of its clips (same draws, same random stream)."""
        count = self.cfg.batch_size
        bucket = self.buckets[int(torch.randint(len(self.buckets), (1,), generator=generator))]
        picks = bucket[torch.randint(len(bucket), (count,), generator=generator)].tolist()
        tokens = [self.latents[i] for i in picks]
        width = max(len(z) for z in tokens)
        z0 = torch.zeros(count, width, tokens[0].shape[1])
        mask = torch.zeros(count, width, dtype=torch.bool)
        for row, z in enumerate(tokens):
            z0[row, : len(z)], mask[row, : len(z)] = z, True
        choice = torch.rand(count, generator=generator)
        caps = [
            ids[int(choice[row] * len(ids))]
            for row, ids in enumerate(self.caption_ids[i] for i in picks)
        ]
        drop = torch.rand(count, generator=generator) < self.cfg.cond_drop
        caption_ids = torch.tensor(caps).masked_fill(drop, self.bank.index[""])
        return z0.to(device), mask.to(device), caption_ids, picks


def denoiser_loss(
    model: LatentDenoiser,
    schedule: NoiseSchedule,
    z0: torch.Tensor,
    mask: torch.Tensor,
    text: TextBatch,
    generator: torch.Generator,
    gamma: float,
    extra: ExtraTerm | None = None,
) -> torch.Tensor:
    """The weighted v-MSE of the module docstring for one batch z0 (B, N, C), plus
    ``extra(x_t, t, v_hat)`` when given (e.g. ``esd.pretrain.decoded_gait``)."""
    count = z0.shape[0]
    t = torch.randint(schedule.num_steps, (count,), generator=generator).to(z0.device)
    noise = torch.randn(z0.shape, generator=generator).to(z0.device)
    x_t = q_sample(schedule, z0, t, noise)
    target = v_target(schedule, z0, noise, t)
    pred = model(x_t, t, text, mask)
    per_token = ((pred.float() - target) ** 2).mean(-1)  # (B, N)
    per_item = (per_token * mask).sum(-1) / mask.sum(-1)  # (B,)
    loss = (per_item * min_snr_weight(schedule, t, gamma)).mean()
    return loss if extra is None else loss + extra(x_t, t, pred)


class EMA:
    """Exponential moving average of a model's parameters: e <- d e + (1 - d) p."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for ema_p, p in zip(self.model.parameters(), model.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - self.decay)


def train_denoiser(
    batcher: LatentBatcher,
    schedule: NoiseSchedule,
    model_cfg: DenoiserConfig,
    cfg: DenoiserTrainConfig,
    device: torch.device,
    validate: Callable[[LatentDenoiser], float] | None = None,
    on_step: Callable[[DenoiserStep], None] | None = None,
    on_checkpoint: Callable[[dict[str, Any], bool], None] | None = None,
    resume: dict[str, Any] | None = None,
    stop: threading.Event | None = None,
    extra_term: ExtraTermFactory | None = None,
    init_weights: dict[str, torch.Tensor] | None = None,
) -> LatentDenoiser:
    """Train the denoiser; returns the EMA model. ``on_checkpoint(state, is_best)`` receives
    resumable states ({"denoiser", "ema", "optimizer", "step", "best"}) to save.

    ``extra_term(picks, z0, mask)`` adds a term per batch (``denoiser_loss``'s ``extra``);
    ``init_weights`` starts the model and its EMA from a trained denoiser's state dict (a
    fine-tune: fresh optimizer and schedule; ``resume`` takes precedence)."""
    torch.manual_seed(cfg.seed)
    model = LatentDenoiser(model_cfg).to(device).train()
    if init_weights is not None:
        model.load_state_dict(init_weights)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = EMA(model, cfg.ema_decay)
    start, best = 0, math.inf
    if resume is not None:
        model.load_state_dict(resume["denoiser"])
        ema.model.load_state_dict(resume["ema"])
        optimizer.load_state_dict(resume["optimizer"])
        start, best = int(resume["step"]), float(resume["best"])
    generator = torch.Generator().manual_seed(cfg.seed + start)  # resumes a new, seeded stream
    began = time.monotonic()
    for step in range(start, cfg.steps):
        if stop is not None and stop.is_set():
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
        z0, mask, caption_ids, picks = batcher.sample_indexed(generator, device)
        text = batcher.bank.batch(caption_ids, device)
        extra = extra_term(picks, z0, mask) if extra_term is not None else None
        loss = denoiser_loss(model, schedule, z0, mask, text, generator, cfg.min_snr_gamma, extra)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        ema.update(model)
        done = step + 1
        value = None
        if validate is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            value = validate(ema.model)
        is_best = value is not None and value < best
        best = value if is_best else best
        if on_checkpoint is not None and (
            done % cfg.checkpoint_every == 0 or is_best or done == cfg.steps
        ):
            state = {
                "denoiser": model.state_dict(),
                "ema": ema.model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": done,
                "best": best,
            }
            on_checkpoint(state, is_best)
        if on_step is not None:
            on_step(
                DenoiserStep(done, cfg.steps, float(loss.detach()), time.monotonic() - began, value)
            )
    return ema.model
