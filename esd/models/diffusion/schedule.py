"""Noise schedules and the v-parameterisation: the diffusion maths that knows no sampler.

Notation (Ho et al. 2020; Salimans & Ho 2022 for v): for a discrete timestep t in {0..T-1},

    alpha_t = sqrt(alpha_bar_t),  sigma_t = sqrt(1 - alpha_bar_t),  alpha_t^2 + sigma_t^2 = 1
    x_t = alpha_t x0 + sigma_t eps                      (q_sample)
    v   = alpha_t eps - sigma_t x0                      (v_target)
    x0  = alpha_t x_t - sigma_t v,   eps = sigma_t x_t + alpha_t v

Three alpha_bar curves: ``cosine`` (the bundled family), ``linear`` (DDPM) and ``scaled_linear``
(Stable Diffusion and SALAD: diffusers' ``DDIMScheduler`` in float32, reproduced bitwise).

Tensors: latents x (B, ...) (any trailing dims), timesteps t (B,) integer. Nothing here clamps
x0: the latents are normalised motion features, not images in [-1, 1].
"""

from __future__ import annotations

import math
from typing import Any

import torch

SCHEDULES = ("cosine", "linear", "scaled_linear")
SPACINGS = ("trailing", "leading")  # DDIM timestep spacings (see sampling.ddim_timesteps)
TRAIN_STEPS = 1000  # diffusion steps of the training schedule (the most DDIM can take)
BETA_RANGES = {  # (beta_start, beta_end) defaults of the beta-based curves
    "linear": (1e-4, 0.02),  # DDPM (Ho et al. 2020), for 1000 steps
    "scaled_linear": (0.00085, 0.012),  # Stable Diffusion / SALAD
}


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


def linear_alphas_cumprod(num_steps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """alpha_bar (T,) of DDPM's linear beta schedule scaled to T steps, in float64.

    beta_t = linspace(beta_start, beta_end) * 1000 / T,  alpha_bar_t = prod_{i <= t} (1 - beta_i).
    """
    scale = 1000 / num_steps
    betas = torch.linspace(beta_start * scale, beta_end * scale, num_steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0)


def scaled_linear_betas(num_steps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """beta (T,) of the scaled-linear schedule, in float32 as diffusers computes it.

    beta_t = (sqrt(beta_start) + (sqrt(beta_end) - sqrt(beta_start)) t / (T - 1))^2: a float32
    ``linspace`` of the square roots, squared (t = 0..T-1).
    """
    roots = torch.linspace(beta_start**0.5, beta_end**0.5, num_steps, dtype=torch.float32)
    return roots**2


class NoiseSchedule:
    """alpha_bar_t for t in {0..T-1} and the alpha_t / sigma_t lookups built on it.

    ``NoiseSchedule(**schedule.config())`` rebuilds an identical schedule (checkpoints store
    the config, not the table). ``cosine`` and ``linear`` tables are computed in float64 and
    rounded; ``scaled_linear`` is float32 throughout (alpha_bar = cumprod(1 - beta),
    alpha = alpha_bar ** 0.5, sigma = (1 - alpha_bar) ** 0.5), bitwise as diffusers' DDIM.
    ``spacing`` is the DDIM timestep spacing samplers use on this schedule by default (like
    diffusers' ``timestep_spacing``, it belongs to the model: SALAD was tuned with "leading").
    """

    def __init__(
        self,
        num_steps: int = TRAIN_STEPS,
        kind: str = "cosine",
        beta_start: float | None = None,
        beta_end: float | None = None,
        spacing: str = "trailing",
    ) -> None:
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
        if num_steps < 2:
            raise ValueError(f"num_steps must be >= 2, got {num_steps}")
        if kind == "cosine" and (beta_start is not None or beta_end is not None):
            raise ValueError("the cosine schedule takes no beta_start / beta_end")
        if spacing not in SPACINGS:
            raise ValueError(f"unknown spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")
        self.num_steps = int(num_steps)  # T, the number of training timesteps
        self.kind = kind  # name of the alpha_bar curve
        self.spacing = spacing  # default DDIM timestep spacing
        default = BETA_RANGES.get(kind, (None, None))
        self.beta_start = default[0] if beta_start is None else float(beta_start)  # beta_0
        self.beta_end = default[1] if beta_end is None else float(beta_end)  # beta_{T-1}
        if kind == "scaled_linear":
            table = torch.cumprod(1 - scaled_linear_betas(num_steps, *self._betas()), dim=0)
            self.alphas_cumprod = table  # (T,) alpha_bar_t, float32
            self.alphas = table**0.5  # (T,) alpha_t
            self.sigmas = (1 - table) ** 0.5  # (T,) sigma_t
            return
        if kind == "cosine":
            table = cosine_alphas_cumprod(num_steps)
        else:
            table = linear_alphas_cumprod(num_steps, *self._betas())
        self.alphas_cumprod = table.float()  # (T,) alpha_bar_t
        self.alphas = table.sqrt().float()  # (T,) alpha_t
        self.sigmas = (1 - table).sqrt().float()  # (T,) sigma_t

    def _betas(self) -> tuple[float, float]:
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ValueError(
                f"betas must satisfy 0 < beta_start < beta_end < 1, got {self.beta_start}, "
                f"{self.beta_end}"
            )
        return self.beta_start, self.beta_end

    def config(self) -> dict[str, Any]:
        """The constructor arguments (betas only for the beta-based curves, spacing only when
        not "trailing": the bundled family's stored configs stay as they were)."""
        config: dict[str, Any] = {"num_steps": self.num_steps, "kind": self.kind}
        if self.kind != "cosine":
            config.update(beta_start=self.beta_start, beta_end=self.beta_end)
        if self.spacing != "trailing":
            config["spacing"] = self.spacing
        return config

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


# --- forward process and the v-parameterisation ------------------------------------------------


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
    """eps = sigma_t x_t + alpha_t v; (B, ...), t (B,) -> (B, ...).

    At fixed x_t, eps is affine in v with slope alpha_t: ||eps_a - eps_b|| = alpha_t ||v_a - v_b||,
    so ||v_a - v_b||^2 = ||eps_a - eps_b||^2 (1 + 1 / SNR_t), SNR_t = alpha_t^2 / sigma_t^2.
    """
    return schedule.sigma(t, x_t) * x_t + schedule.alpha(t, x_t) * v
