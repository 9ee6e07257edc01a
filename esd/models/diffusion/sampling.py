"""DDIM in v-parameterisation with classifier-free guidance (one sampler, small pure functions).

    v = v_null + s (v_cond - v_null)                            (classifier_free_guidance)
    x0 = alpha_t x_t - sigma_t v,   eps = sigma_t x_t + alpha_t v
    x_prev = alpha_prev x0 + sigma_prev eps                     (ddim_update, eta = 0)

After the last timestep alpha_bar_prev = 1 (diffusers' ``set_alpha_to_one``): alpha_prev = 1,
sigma_prev = 0, so the last update lands on x0. Two timestep spacings: ``trailing`` (the bundled
family: 999, 979, ..., 19 for 50 steps) and ``leading`` (SALAD / diffusers: k * floor(T / S) for
k = S-1..0, i.e. 980, 960, ..., 0).

Tensors: latents x (B, N, C) (any trailing dims work), timesteps t (B,) integer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from esd.models.diffusion.schedule import (
    SPACINGS,
    TRAIN_STEPS,
    NoiseSchedule,
    eps_from_v,
    x0_from_v,
)
from esd.models.text.batch import TextBatch

MIN_DDIM_STEPS = 10  # fewer steps than this give visibly broken motions
DenoiseFn = Callable[[torch.Tensor, torch.Tensor, TextBatch], torch.Tensor]


def classifier_free_guidance(
    pred_uncond: torch.Tensor, pred_cond: torch.Tensor, scale: float
) -> torch.Tensor:
    """Guided prediction p_uncond + scale (p_cond - p_uncond) (Ho & Salimans 2022), any shape.

    The project's only guidance combine: scale 1 is the conditional prediction, 0 the
    unconditional one, a negative scale guides away from the condition (ESD's target).
    """
    return pred_uncond + scale * (pred_cond - pred_uncond)


def ddim_timesteps(
    num_steps: int, num_train_steps: int = TRAIN_STEPS, spacing: str = "trailing"
) -> torch.Tensor:
    """Descending DDIM timesteps, LongTensor (S,).

    ``trailing`` (Lin et al. 2024): t_i = round(T - i T / S) - 1 for i = 0..S-1; the first step
    is T-1 (pure noise under the cosine schedule), e.g. S = 50: 999, 979, ..., 19.
    ``leading`` (diffusers, offset 0): t_k = k floor(T / S) for k = S-1..0, e.g. 980, ..., 0.
    """
    if not isinstance(num_steps, int) or not MIN_DDIM_STEPS <= num_steps <= num_train_steps:
        raise ValueError(
            f"num_steps must be an integer in [{MIN_DDIM_STEPS}, {num_train_steps}], got "
            f"{num_steps!r}; 50 is a good default"
        )
    if spacing == "leading":
        return torch.arange(num_steps - 1, -1, -1) * (num_train_steps // num_steps)
    if spacing != "trailing":
        raise ValueError(f"unknown spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")
    i = torch.arange(num_steps, dtype=torch.float64)
    return (torch.round(num_train_steps - i * num_train_steps / num_steps) - 1).long()


def ddim_update(
    x0: torch.Tensor, eps: torch.Tensor, alpha_prev: torch.Tensor, sigma_prev: torch.Tensor
) -> torch.Tensor:
    """One deterministic DDIM move to t_prev (Song et al. 2021, eq. 12 with eta = 0), (B, ...).

        x_prev = alpha_prev x0 + sigma_prev eps

    x0, eps (B, ...) are the predictions at t; alpha_prev, sigma_prev broadcast against them.
    """
    return alpha_prev * x0 + sigma_prev * eps


def prev_coefficients(
    schedule: NoiseSchedule, timesteps: torch.Tensor, i: int, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha_prev, sigma_prev) of step i, shaped (1, 1, ..., 1) to broadcast to ``like``.

    t_prev = timesteps[i + 1]; after the last step alpha_bar_prev = 1: (1, 0).
    """
    if i + 1 < len(timesteps):
        t_prev = timesteps[i + 1 : i + 2]  # (1,)
        return schedule.alpha(t_prev, like), schedule.sigma(t_prev, like)
    one = torch.ones((1,) * like.dim(), device=like.device, dtype=like.dtype)
    return one, torch.zeros_like(one)


@dataclass(frozen=True)
class DDIMStep:
    """What ``ddim_sample`` hands its callback at step i (before moving x_t to t_prev)."""

    i: int  # step index, 0 .. num_steps - 1
    num_steps: int  # S, the number of sampler steps
    t: torch.Tensor  # (B,) long timestep of x_t
    x_t: torch.Tensor  # (B, N, C) the sampler's current point
    pred_cond: torch.Tensor  # (B, N, C) v with the prompt
    pred_uncond: torch.Tensor | None  # (B, N, C) v with the null prompt; None without guidance
    pred: torch.Tensor  # (B, N, C) guided v used for the update
    x0_pred: torch.Tensor  # (B, N, C) x0 = alpha_t x_t - sigma_t pred


def ddim_sample(
    denoise_fn: DenoiseFn,
    x_T: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    num_steps: int = 50,
    guidance_scale: float,
    cond: TextBatch,
    uncond: TextBatch | None = None,
    spacing: str | None = None,
    mask: torch.Tensor | None = None,
    callback: Callable[[DDIMStep], None] | None = None,
    stop_at: int | None = None,
    start_at: int = 0,
) -> torch.Tensor:
    """DDIM (eta 0) in v-parameterisation with classifier-free guidance; returns x0 (B, N, C).

    ``denoise_fn(x_t (B', N, C), t (B',), text) -> v (B', N, C)`` with the latent mask bound by
    the caller. With guidance (``guidance_scale != 1``) the conditional and null passes run as
    ONE call of batch 2B (rows 0..B-1 = ``cond``, B..2B-1 = ``uncond``) and are combined by
    ``classifier_free_guidance``; at scale 1 only the conditional pass runs. ``spacing``: the
    timestep spacing (default: the schedule's, ``schedule.spacing``). ``mask`` (B, N)
    bool: x is multiplied by it after every update (SALAD's sampler; valid tokens are unchanged
    for a denoiser that ignores padding). ``stop_at = k`` (0 <= k <= S) returns x_t after k
    updates (the input of step k, at timestep ``ddim_timesteps(S)[k]``) instead of x0;
    callbacks run for steps 0..k-1. ``start_at = j`` takes ``x_T`` as the latent at timestep
    ``ddim_timesteps(S)[j]`` and runs updates j..S-1 only (SDEdit, Meng et al. 2022: noise a
    clean latent to that timestep with ``q_sample``, then denoise). Everything runs on x_T's
    device and dtype.
    """
    guided = _check_sampler_args(x_T, guidance_scale, cond, uncond, mask)
    spacing = schedule.spacing if spacing is None else spacing
    timesteps = ddim_timesteps(num_steps, schedule.num_steps, spacing).to(x_T.device)
    end = num_steps if stop_at is None else _check_stop_at(stop_at, num_steps)
    start = _check_start_at(start_at, end)
    text = TextBatch.cat(cond, uncond) if guided else cond
    text = text.to(x_T.device)
    keep = None if mask is None else _broadcastable(mask.to(x_T.device), x_T)
    x = x_T
    for i in range(start, end):
        t = timesteps[i].repeat(x.shape[0])  # (B,)
        pred_cond, pred_uncond = _predict(denoise_fn, x, t, text, guided)
        pred = pred_cond
        if pred_uncond is not None:
            pred = classifier_free_guidance(pred_uncond, pred_cond, guidance_scale)
        x0 = x0_from_v(schedule, x, t, pred)
        eps = eps_from_v(schedule, x, t, pred)
        if callback is not None:
            callback(DDIMStep(i, num_steps, t, x, pred_cond, pred_uncond, pred, x0))
        x = ddim_update(x0, eps, *prev_coefficients(schedule, timesteps, i, x0))
        if keep is not None:
            x = x * keep
    return x


def _broadcastable(mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B, N) bool -> (B, N, 1, ..., 1) in x's dtype."""
    return mask.reshape(mask.shape + (1,) * (x.dim() - mask.dim())).to(x.dtype)


def _predict(
    denoise_fn: DenoiseFn, x: torch.Tensor, t: torch.Tensor, text: TextBatch, guided: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(pred_cond, pred_uncond) from one network call (batch 2B with guidance, else B)."""
    count = 2 if guided else 1
    x_in = x.repeat(count, *([1] * (x.dim() - 1)))  # (count B, N, C)
    out = denoise_fn(x_in, t.repeat(count), text)
    if out.shape != x_in.shape:
        raise ValueError(
            f"denoise_fn returned shape {tuple(out.shape)} for x_t of shape {tuple(x_in.shape)}"
        )
    out = out.to(x.dtype)
    return (out[: x.shape[0]], out[x.shape[0] :]) if guided else (out, None)


def _check_sampler_args(
    x_T: torch.Tensor,
    guidance_scale: float,
    cond: TextBatch,
    uncond: TextBatch | None,
    mask: torch.Tensor | None,
) -> bool:
    """Validate the sampler's inputs; returns whether the guided (2B) path runs."""
    if x_T.dim() < 2:
        raise ValueError(f"x_T must be (B, N, C), got shape {tuple(x_T.shape)}")
    if not math.isfinite(guidance_scale):
        raise ValueError(f"guidance_scale must be finite, got {guidance_scale}")
    if len(cond) != x_T.shape[0] or (uncond is not None and len(uncond) != x_T.shape[0]):
        sizes = f"cond {len(cond)}" + ("" if uncond is None else f", uncond {len(uncond)}")
        raise ValueError(f"text batches ({sizes}) must match the {x_T.shape[0]} rows of x_T")
    if uncond is None and guidance_scale != 1.0:
        raise ValueError(
            f"guidance_scale={guidance_scale} needs the null-prompt batch: pass "
            "uncond=encoder.encode([''] * B), or guidance_scale=1.0 for no guidance"
        )
    if mask is not None and (mask.shape != x_T.shape[:2] or mask.dtype != torch.bool):
        raise ValueError(f"mask must be bool {tuple(x_T.shape[:2])}, got {tuple(mask.shape)}")
    return uncond is not None and guidance_scale != 1.0


def _check_start_at(start_at: int, end: int) -> int:
    if not isinstance(start_at, int) or not 0 <= start_at <= end:
        raise ValueError(f"start_at must be an integer step index in [0, {end}], got {start_at}")
    return start_at


def _check_stop_at(stop_at: int, num_steps: int) -> int:
    if not isinstance(stop_at, int) or not 0 <= stop_at <= num_steps:
        raise ValueError(
            f"stop_at must be an integer step index in [0, {num_steps}], got {stop_at}"
        )
    return stop_at
