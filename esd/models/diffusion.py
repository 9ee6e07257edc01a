"""Diffusion math, separate from the network: noise schedule, parameterisations, DDIM sampler.

Notation (Ho et al. 2020; Salimans & Ho 2022 for v): for a discrete timestep t in {0..T-1},

    alpha_t = sqrt(alpha_bar_t),  sigma_t = sqrt(1 - alpha_bar_t),  alpha_t^2 + sigma_t^2 = 1
    x_t = alpha_t x0 + sigma_t eps                      (q_sample)
    v   = alpha_t eps - sigma_t x0                      (v_target)
    x0  = alpha_t x_t - sigma_t v,   eps = sigma_t x_t + alpha_t v

Tensors: latents x (B, N, C) (any trailing dims work), timesteps t (B,) integer. Nothing here
clamps x0: the latents are normalised motion features, not images in [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from esd.models.text.batch import TextBatch

SCHEDULES = ("cosine", "linear")
MIN_DDIM_STEPS = 10  # fewer steps than this give visibly broken motions
TRAIN_STEPS = 1000  # diffusion steps of the training schedule (the most DDIM can take)
DenoiseFn = Callable[[torch.Tensor, torch.Tensor, TextBatch], torch.Tensor]


def cosine_alphas_cumprod(
    num_steps: int, s: float = 0.008, max_beta: float = 0.999
) -> torch.Tensor:
    """alpha_bar (T,) of the cosine schedule (Nichol & Dhariwal 2021), in float64.

    f(u) = cos^2((u + s) / (1 + s) * pi / 2),  beta_t = min(1 - f((t+1)/T) / f(t/T), max_beta),
    alpha_bar_t = prod_{i <= t} (1 - beta_i).
    """
    u = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps  # (T+1,)
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)  # (T,)
    return torch.cumprod(1 - betas, dim=0)


def linear_alphas_cumprod(
    num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02
) -> torch.Tensor:
    """alpha_bar (T,) of DDPM's linear beta schedule scaled to T steps, in float64.

    beta_t = linspace(beta_start, beta_end) * 1000 / T,  alpha_bar_t = prod_{i <= t} (1 - beta_i).
    """
    scale = 1000 / num_steps
    betas = torch.linspace(beta_start * scale, beta_end * scale, num_steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0)


class NoiseSchedule:
    """alpha_bar_t for t in {0..T-1} and the alpha_t / sigma_t lookups built on it.

    ``NoiseSchedule(**schedule.config())`` rebuilds an identical schedule (checkpoints store
    the config, not the table).
    """

    def __init__(self, num_steps: int = TRAIN_STEPS, kind: str = "cosine") -> None:
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
        if num_steps < 2:
            raise ValueError(f"num_steps must be >= 2, got {num_steps}")
        self.num_steps = int(num_steps)  # T, the number of training timesteps
        self.kind = kind  # name of the alpha_bar curve
        table = (cosine_alphas_cumprod if kind == "cosine" else linear_alphas_cumprod)(num_steps)
        self.alphas_cumprod = table.float()  # (T,) alpha_bar_t
        self.alphas = table.sqrt().float()  # (T,) alpha_t
        self.sigmas = (1 - table).sqrt().float()  # (T,) sigma_t

    def config(self) -> dict[str, Any]:
        return {"num_steps": self.num_steps, "kind": self.kind}

    def to(self, device: torch.device | str) -> NoiseSchedule:
        """This schedule with its tables on ``device`` (in place; returns self)."""
        for name in ("alphas_cumprod", "alphas", "sigmas"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def alpha(self, t: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        """alpha_t for timesteps t (B,): shape (B,), or (B, 1, ..., 1) to broadcast to ``like``."""
        return _lookup(self.alphas, self._index(t), like)

    def sigma(self, t: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        """sigma_t for timesteps t (B,): shape (B,), or (B, 1, ..., 1) to broadcast to ``like``."""
        return _lookup(self.sigmas, self._index(t), like)

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio alpha_t^2 / sigma_t^2 (B,)."""
        return (self.alpha(t) / self.sigma(t)) ** 2

    def _index(self, t: torch.Tensor | int) -> torch.Tensor:
        t = torch.as_tensor(t)
        if t.is_floating_point():
            if not torch.equal(t, t.round()):
                raise ValueError("timesteps index a discrete schedule: pass integers 0..T-1")
            t = t.long()
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.num_steps):
            raise ValueError(
                f"timesteps must lie in [0, {self.num_steps - 1}], got [{int(t.min())}, "
                f"{int(t.max())}]"
            )
        return t.to(self.alphas.device)


def _lookup(table: torch.Tensor, t: torch.Tensor, like: torch.Tensor | None) -> torch.Tensor:
    values = table[t]  # (B,)
    if like is None:
        return values
    values = values.to(device=like.device, dtype=like.dtype)
    return values.reshape(values.shape + (1,) * (like.dim() - values.dim()))  # (B, 1, ..., 1)


# --- parameterisations (all exact inverses of each other) ---------------------------------------


def q_sample(
    schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Forward noising x_t = alpha_t x0 + sigma_t eps; x0, noise (B, ...), t (B,) -> (B, ...)."""
    return schedule.alpha(t, x0) * x0 + schedule.sigma(t, x0) * noise


def v_target(
    schedule: NoiseSchedule, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """Velocity v = alpha_t eps - sigma_t x0 (Salimans & Ho 2022); (B, ...), t (B,) -> (B, ...)."""
    return schedule.alpha(t, x0) * noise - schedule.sigma(t, x0) * x0


def x0_from_v(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """x0 = alpha_t x_t - sigma_t v; (B, ...), t (B,) -> (B, ...)."""
    return schedule.alpha(t, x_t) * x_t - schedule.sigma(t, x_t) * v


def eps_from_v(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """eps = sigma_t x_t + alpha_t v; (B, ...), t (B,) -> (B, ...)."""
    return schedule.sigma(t, x_t) * x_t + schedule.alpha(t, x_t) * v


def v_from_eps(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """v = (eps - sigma_t x_t) / alpha_t; (B, ...), t (B,) -> (B, ...).

    Ill-conditioned where alpha_t -> 0 (t near T-1 of the cosine schedule): prefer v there.
    """
    return (eps - schedule.sigma(t, x_t) * x_t) / schedule.alpha(t, x_t)


def x0_from_eps(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """x0 = (x_t - sigma_t eps) / alpha_t; (B, ...), t (B,) -> (B, ...)."""
    return (x_t - schedule.sigma(t, x_t) * eps) / schedule.alpha(t, x_t)


def eps_from_x0(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor
) -> torch.Tensor:
    """eps = (x_t - alpha_t x0) / sigma_t; (B, ...), t (B,) -> (B, ...)."""
    return (x_t - schedule.alpha(t, x_t) * x0) / schedule.sigma(t, x_t)


def v_from_x0(
    schedule: NoiseSchedule, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor
) -> torch.Tensor:
    """v = (alpha_t x_t - x0) / sigma_t (from x0 = alpha_t x_t - sigma_t v); -> (B, ...)."""
    return (schedule.alpha(t, x_t) * x_t - x0) / schedule.sigma(t, x_t)


def classifier_free_guidance(
    pred_uncond: torch.Tensor, pred_cond: torch.Tensor, scale: float
) -> torch.Tensor:
    """Guided prediction p_uncond + scale (p_cond - p_uncond) (Ho & Salimans 2022), any shape.

    The project's only guidance combine: scale 1 is the conditional prediction, 0 the
    unconditional one, a negative scale guides away from the condition (ESD's target).
    """
    return pred_uncond + scale * (pred_cond - pred_uncond)


# --- DDIM ---------------------------------------------------------------------------------------


def ddim_timesteps(num_steps: int, num_train_steps: int = 1000) -> torch.Tensor:
    """Descending DDIM timesteps with "trailing" spacing (Lin et al. 2024), LongTensor (S,).

    t_i = round(T - i T / S) - 1 for i = 0..S-1: the first step is T-1 (pure noise under the
    cosine schedule) and the steps are evenly spaced, e.g. S = 50: 999, 979, ..., 19.
    """
    if not isinstance(num_steps, int) or not MIN_DDIM_STEPS <= num_steps <= num_train_steps:
        raise ValueError(
            f"num_steps must be an integer in [{MIN_DDIM_STEPS}, {num_train_steps}], got "
            f"{num_steps!r}; 50 is a good default"
        )
    i = torch.arange(num_steps, dtype=torch.float64)
    return (torch.round(num_train_steps - i * num_train_steps / num_steps) - 1).long()


def ddim_update(
    x0: torch.Tensor,
    eps: torch.Tensor,
    alpha_t: torch.Tensor,
    sigma_t: torch.Tensor,
    alpha_prev: torch.Tensor,
    sigma_prev: torch.Tensor,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """One DDIM move t -> t_prev (Song et al. 2021, eq. 12 with sigma from eq. 16), (B, ...).

        s = eta * (sigma_prev / sigma_t) * sqrt(1 - alpha_t^2 / alpha_prev^2)
        x_prev = alpha_prev x0 + sqrt(sigma_prev^2 - s^2) eps + s z,   z ~ N(0, I)

    eta = 0 is deterministic (``noise`` unused); the scalars broadcast against x0.
    """
    if eta == 0.0:
        return alpha_prev * x0 + sigma_prev * eps
    s = eta * sigma_prev / sigma_t * (1 - alpha_t**2 / alpha_prev**2).clamp_min(0).sqrt()
    direction = (sigma_prev**2 - s**2).clamp_min(0).sqrt()
    return alpha_prev * x0 + direction * eps + s * noise


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
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    callback: Callable[[DDIMStep], None] | None = None,
    stop_at: int | None = None,
) -> torch.Tensor:
    """DDIM in v-parameterisation with classifier-free guidance; returns x0 (B, N, C).

    ``denoise_fn(x_t (B', N, C), t (B',), text) -> v (B', N, C)`` with the latent mask bound by
    the caller. With guidance (``guidance_scale != 1``) the conditional and null passes run as
    ONE call of batch 2B (rows 0..B-1 = ``cond``, B..2B-1 = ``uncond``) and are combined by
    ``classifier_free_guidance``; at scale 1 only the conditional pass runs.
    ``stop_at = k`` (0 <= k <= S) returns x_t after k updates (the input of step k, at timestep
    ``ddim_timesteps(S)[k]``) instead of x0; callbacks run for steps 0..k-1. ``eta > 0`` adds
    fresh noise from ``generator`` (required then) at every step but the last.
    Everything runs on x_T's device and dtype.
    """
    guided = _check_sampler_args(x_T, guidance_scale, cond, uncond, eta, generator)
    timesteps = ddim_timesteps(num_steps, schedule.num_steps).to(x_T.device)
    end = num_steps if stop_at is None else _check_stop_at(stop_at, num_steps)
    text = TextBatch.cat(cond, uncond) if guided else cond
    text = text.to(x_T.device)
    x = x_T
    for i in range(end):
        t = timesteps[i].repeat(x.shape[0])  # (B,)
        pred_cond, pred_uncond = _predict(denoise_fn, x, t, text, guided)
        pred = pred_cond
        if pred_uncond is not None:
            pred = classifier_free_guidance(pred_uncond, pred_cond, guidance_scale)
        x0 = x0_from_v(schedule, x, t, pred)
        eps = eps_from_v(schedule, x, t, pred)
        if callback is not None:
            callback(DDIMStep(i, num_steps, t, x, pred_cond, pred_uncond, pred, x0))
        x = _move(schedule, x0, eps, timesteps, i, eta, generator)
    return x


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


def _move(
    schedule: NoiseSchedule,
    x0: torch.Tensor,
    eps: torch.Tensor,
    timesteps: torch.Tensor,
    i: int,
    eta: float,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """x at the next timestep; after the last step (t_prev = -1: alpha = 1, sigma = 0) x0."""
    if i + 1 == len(timesteps):
        return x0
    t, t_prev = timesteps[i : i + 1], timesteps[i + 1 : i + 2]  # (1,) each
    coefs = [f(s, x0) for s in (t, t_prev) for f in (schedule.alpha, schedule.sigma)]
    noise = None
    if eta > 0:
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    return ddim_update(x0, eps, *coefs, eta=eta, noise=noise)


def _check_sampler_args(
    x_T: torch.Tensor,
    guidance_scale: float,
    cond: TextBatch,
    uncond: TextBatch | None,
    eta: float,
    generator: torch.Generator | None,
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
    if eta < 0 or (eta > 0 and generator is None):
        raise ValueError("eta must be >= 0, and eta > 0 needs generator=torch.Generator(...)")
    if eta > 0 and generator.device.type != x_T.device.type:
        raise ValueError(f"generator is on {generator.device} but x_T on {x_T.device}")
    return uncond is not None and guidance_scale != 1.0


def _check_stop_at(stop_at: int, num_steps: int) -> int:
    if not isinstance(stop_at, int) or not 0 <= stop_at <= num_steps:
        raise ValueError(
            f"stop_at must be an integer step index in [0, {num_steps}], got {stop_at}"
        )
    return stop_at
