"""Stage 1 of the ``salad`` pretraining: SALAD's skeleton-aware VAE on random motion windows.

Loss per batch of windows x (B, W, 263) normalised with the meta statistics (``salad_config``):

    z = mu + exp(logvar / 2) eps,  x_hat = decode(z)
    L = lambda_recon SL1(x_hat, x)                       all 263 dims
      + lambda_pos   SL1(x_hat[ric], x[ric])             joint positions (dims 4-66)
      + lambda_vel   SL1(x_hat[vel], x[vel])             local joint velocities (dims 193-258)
      + lambda_kl    mean 0.5 (mu^2 + e^logvar - 1 - logvar)

SL1 is the smooth L1 (Huber, beta 1) mean. The weights and the smooth L1 are the keys and values
of SALAD's released VAE ``opt.txt`` (``lambda_recon / pos / vel / kl``, ``recon_loss: l1_smooth``);
which dims SALAD's trainer gives the position and velocity terms is not in SALAD_COMPAT, so this
is the project's reading of those keys, not a verified copy of SALAD's loss.

SALAD's VAE has no length mask, so no padding may enter a window: clips shorter than the window
are left out of VAE training (as SALAD's window dataset does), whole clips of any length (a
multiple of 4) are encoded later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from esd.models.salad.vae import SaladVAE, SaladVAEConfig, kl_loss
from esd.motion.features import features_to_joints
from esd.motion.skeleton import LOCAL_VEL, RIC
from esd.pretrain.salad_config import SaladSizes, SaladTrainConfig
from esd.pretrain.vae import VAEStep, lr_at

UNIT = 4  # frames per latent token of SALAD's VAE (two x2 poolings)


def vae_config(sizes: SaladSizes) -> SaladVAEConfig:
    """The SaladVAEConfig of ``sizes`` (SALAD's defaults for everything else)."""
    return SaladVAEConfig(
        latent_dim=sizes.vae_latent_dim, n_extra_layers=sizes.vae_extra_layers,
        dropout=sizes.dropout,
    )  # fmt: skip


def unit_crop(clip: np.ndarray) -> np.ndarray:
    """The clip (T, 263) cut to a multiple of 4 frames (SALAD's unit length)."""
    return clip[: len(clip) - len(clip) % UNIT]


class FullWindowSampler:
    """Random windows (B, W, 263) lying wholly inside a clip (no padding).

    W = min(window, the longest clip cut to a multiple of 4); clips shorter than W are skipped.
    """

    def __init__(self, clips: Sequence[np.ndarray], window: int, seed: int) -> None:
        longest = max(len(unit_crop(c)) for c in clips)
        if longest < UNIT:
            raise ValueError(f"every clip is shorter than {UNIT} frames: nothing to train on")
        self.window = min(window, longest)
        self.clips = [c for c in clips if len(c) >= self.window]
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int) -> torch.Tensor:
        rows = []
        for index in self.rng.integers(len(self.clips), size=batch_size):
            clip = self.clips[index]
            start = self.rng.integers(len(clip) - self.window + 1)
            rows.append(clip[start : start + self.window])
        return torch.from_numpy(np.stack(rows)).float()  # (B, W, 263)


def salad_vae_loss(
    vae: SaladVAE, x: torch.Tensor, cfg: SaladTrainConfig, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The loss of the module docstring for normalised windows x (B, W, 263), W % 4 == 0."""
    z, mu, logvar = vae.encode(x, generator)  # (B, W / 4, 7, C) each
    x_hat = vae.decode(z)  # (B, W, 263)
    recon = F.smooth_l1_loss(x_hat, x)
    pos = F.smooth_l1_loss(x_hat[..., RIC], x[..., RIC])
    vel = F.smooth_l1_loss(x_hat[..., LOCAL_VEL], x[..., LOCAL_VEL])
    return (
        cfg.lambda_recon * recon + cfg.lambda_pos * pos + cfg.lambda_vel * vel
        + cfg.lambda_kl * kl_loss(mu, logvar)
    )  # fmt: skip


def train_salad_vae(
    clips: Sequence[np.ndarray],
    sizes: SaladSizes,
    cfg: SaladTrainConfig,
    device: torch.device,
    on_step: Callable[[VAEStep], None] | None = None,
    stop: threading.Event | None = None,
) -> SaladVAE:
    """Train a SaladVAE on normalised clips (T_i, 263); returns it in eval mode."""
    torch.manual_seed(cfg.seed)
    vae = SaladVAE(vae_config(sizes)).to(device).train()
    trainable = [p for p in vae.parameters() if p.requires_grad]  # graphs / pools are constants
    optimizer = torch.optim.AdamW(trainable, lr=cfg.vae_lr, weight_decay=cfg.vae_weight_decay)
    sampler = FullWindowSampler(clips, cfg.window, cfg.seed)
    noise = torch.Generator(device=device).manual_seed(cfg.seed)
    warmup = max(1, int(cfg.warmup_share * cfg.vae_steps))
    began = time.monotonic()
    for step in range(cfg.vae_steps):
        if stop is not None and stop.is_set():
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.vae_steps, cfg.vae_lr, warmup)
        x = sampler.sample(cfg.vae_batch_size).to(device)
        loss = salad_vae_loss(vae, x, cfg, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
        optimizer.step()
        if on_step is not None:
            elapsed = time.monotonic() - began
            on_step(VAEStep(step + 1, cfg.vae_steps, float(loss.detach()), elapsed))
    return vae.eval()


def by_length(clips: Sequence[np.ndarray]) -> dict[int, list[int]]:
    """Indices of the clips (already cut to multiples of 4) grouped by their length."""
    groups: dict[int, list[int]] = {}
    for i, clip in enumerate(clips):
        groups.setdefault(len(clip), []).append(i)
    return groups


@torch.no_grad()
def posterior_stats(
    vae: SaladVAE, clips: Sequence[np.ndarray], device: torch.device, batch_size: int = 64
) -> list[torch.Tensor]:
    """Per clip (cut to a multiple of 4 frames) the posterior's [mu, logvar] (T_i / 4, 2 P C),
    CPU; clips of one length share a batch (no padding enters SALAD's unmasked VAE)."""
    vae.eval()
    crops = [unit_crop(c) for c in clips]
    result: list[torch.Tensor | None] = [None] * len(crops)
    for length, rows in by_length(crops).items():
        if length == 0:
            raise ValueError(f"a clip is shorter than {UNIT} frames: it has no latent")
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            x = torch.from_numpy(np.stack([crops[i] for i in chunk])).float().to(device)
            mu, logvar = vae.encode_stats(x)  # (b, T / 4, P, C)
            both = torch.cat([mu.flatten(2), logvar.flatten(2)], dim=-1).cpu()  # (b, T/4, 2PC)
            for row, i in enumerate(chunk):
                result[i] = both[row]
    return [r for r in result if r is not None]


@torch.no_grad()
def salad_reconstruction_mpjpe(
    vae: SaladVAE,
    clips: Sequence[np.ndarray],
    mean: np.ndarray,
    std: np.ndarray,
    device: torch.device,
) -> float:
    """Frame-weighted mean per-joint position error (metres) of decode(mu) of whole clips
    (normalised (T_i, 263), cut to multiples of 4), against the clips' own joints."""
    mean_t, std_t = (torch.as_tensor(a, dtype=torch.float32, device=device) for a in (mean, std))
    vae.eval()
    crops = [unit_crop(c) for c in clips]
    total, frames = 0.0, 0
    for length, rows in by_length(crops).items():
        if length == 0:
            continue
        x = torch.from_numpy(np.stack([crops[i] for i in rows])).float().to(device)  # (b, T, 263)
        mu, _ = vae.encode_stats(x)  # (b, T / 4, P, C)
        x_hat = vae.decode(mu)  # (b, T, 263)
        error = features_to_joints(x_hat * std_t + mean_t) - features_to_joints(x * std_t + mean_t)
        total += float(error.norm(dim=-1).mean(-1).sum())  # (b, T, 22) -> sum over frames
        frames += x.shape[0] * length
    return total / max(1, frames)
