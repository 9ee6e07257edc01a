"""Where ESD's x_t comes from: three sources of (x_t, t) with the teacher's predictions there.

``xt_source`` (``ESDConfig``) picks one:

* ``teacher`` (as the ESD authors): each iteration runs the teacher's DDIM sampler with the
  target prompt (guidance ``start_guidance``) from fresh noise up to a random step k and takes x_k.
* ``pool`` (default): the same trajectories generated once up front and reused. The teacher is
  frozen, so pooled points and their teacher predictions are exactly what ``teacher`` would
  recompute; the cond/uncond predictions are by-products of the guided sampler itself.
* ``data``: VAE latents of corpus clips that contain the concept, forward-noised at t ~ U{0..999}
  (the clips come from ``esd.erasure.concept_clips``).

Every source has ``iterations_per_epoch`` (one pass over its x_t samples: ``trajectories x
ddim_steps`` points for pool and teacher, the concept's clips for data) and ``batch(step)``, which
depends on the seed and the step only, so a resumed run draws the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from esd.erasure.config import ESDConfig
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.bundled.vae import LATENT_REDUCTION
from esd.models.diffusion import DDIMStep, ddim_sample, q_sample
from esd.models.generator import MotionGenerator
from esd.models.text.batch import TextBatch
from esd.motion.skeleton import FPS, MIN_FRAMES

NOISE_SEEDS = 2**31  # the teacher source draws each step's noise seed from [0, NOISE_SEEDS)


@dataclass
class XtBatch:
    """One batch of ESD inputs and teacher predictions."""

    x_t: torch.Tensor  # (B, N, C) noisy latents
    t: torch.Tensor  # (B,) timesteps
    mask: torch.Tensor  # (B, N) valid latent tokens
    prompt_ids: torch.Tensor  # (B,) index into the prompt list
    pred_cond: torch.Tensor  # (B, N, C) teacher prediction with the prompt
    pred_uncond: torch.Tensor  # (B, N, C) teacher prediction with the null prompt


@dataclass
class TrajectoryPool:
    """Teacher trajectories: every DDIM step of ``P`` samples, with both teacher predictions."""

    x_t: torch.Tensor  # (P, S, N, C)
    t: torch.Tensor  # (S,)
    pred_cond: torch.Tensor  # (P, S, N, C)
    pred_uncond: torch.Tensor  # (P, S, N, C)
    mask: torch.Tensor  # (P, N)
    prompt_ids: torch.Tensor  # (P,)

    def __len__(self) -> int:
        return self.x_t.shape[0] * self.x_t.shape[1]

    def batch(self, flat: torch.Tensor) -> XtBatch:
        """Samples at flat indices (B,) = trajectory * S + step."""
        steps = self.x_t.shape[1]
        traj, step = flat // steps, flat % steps
        return XtBatch(
            self.x_t[traj, step],
            self.t[step],
            self.mask[traj],
            self.prompt_ids[traj],
            self.pred_cond[traj, step],
            self.pred_uncond[traj, step],
        )


def trajectory_lengths(cfg: ESDConfig, count: int, rng: np.random.Generator) -> list[int]:
    """Frame counts of ``count`` trajectories, uniform in ``cfg.seconds`` (whole latent tokens)."""
    seconds = rng.uniform(*cfg.seconds, size=count)
    return [max(MIN_FRAMES, round(s * FPS) // LATENT_REDUCTION * LATENT_REDUCTION) for s in seconds]


@torch.no_grad()
def teacher_trajectories(
    base: MotionGenerator,
    teacher: LatentDenoiser,
    prompts: Sequence[str],
    lengths: Sequence[int],
    cfg: ESDConfig,
    seed: int,
    stop_at: int | None = None,
) -> TrajectoryPool:
    """Run the teacher's guided DDIM sampler on ``prompts`` and record every visited x_t.

    Records (x_t, t, teacher cond / uncond predictions) at steps 0..S-1, or 0..stop_at only.
    Shapes: P = len(prompts) trajectories, S recorded steps, N = the longest length / 4.
    """
    records: list[DDIMStep] = []
    mask = base.latent_mask(lengths)
    fn = base.denoise_fn(mask, teacher)
    cond, uncond = base.encode_prompts(prompts)

    def record(step: DDIMStep) -> None:
        if step.pred_uncond is None:  # start_guidance == 1 runs the conditional pass only
            step = replace(step, pred_uncond=fn(step.x_t, step.t, uncond))
        records.append(step)

    ddim_sample(
        fn,
        base.initial_noise(len(prompts), mask.shape[1], seed),
        base.schedule,
        num_steps=cfg.ddim_steps,
        guidance_scale=cfg.start_guidance,
        cond=cond,
        uncond=uncond,
        callback=record,
        stop_at=None if stop_at is None else stop_at + 1,
    )
    return TrajectoryPool(
        x_t=torch.stack([r.x_t for r in records], 1),
        t=torch.stack([r.t[0] for r in records]),
        pred_cond=torch.stack([r.pred_cond for r in records], 1),
        pred_uncond=torch.stack([r.pred_uncond for r in records], 1),
        mask=mask,
        prompt_ids=torch.zeros(len(prompts), dtype=torch.long, device=mask.device),
    )


class PoolSource:
    """x_t from a pool of teacher trajectories generated once; an epoch is one pass over it."""

    def __init__(
        self,
        base: MotionGenerator,
        teacher: LatentDenoiser,
        prompts: Sequence[str],
        cfg: ESDConfig,
        seed: int | None = None,
    ) -> None:
        seed = cfg.seed if seed is None else seed
        rng = np.random.default_rng(seed)
        ids = [i % len(prompts) for i in range(cfg.trajectories)]
        lengths = trajectory_lengths(cfg, cfg.trajectories, rng)
        self.pool = teacher_trajectories(
            base, teacher, [prompts[i] for i in ids], lengths, cfg, seed
        )
        self.pool.prompt_ids = torch.tensor(ids, device=self.pool.mask.device)
        self.batch_size = cfg.batch_size
        self.seed = seed

    @property
    def iterations_per_epoch(self) -> int:
        return math.ceil(len(self.pool) / self.batch_size)

    def batch(self, step: int) -> XtBatch:
        """Batch ``step`` of a seeded per-epoch permutation of the pool (resumable by step)."""
        epoch, within = divmod(step, self.iterations_per_epoch)
        order = torch.randperm(len(self.pool), generator=_generator(self.seed, epoch))
        chosen = order[within * self.batch_size : (within + 1) * self.batch_size]
        return self.pool.batch(chosen.to(self.pool.mask.device))


class TeacherSource:
    """x_t regenerated every iteration: teacher DDIM from fresh noise up to a random step k."""

    def __init__(
        self, base: MotionGenerator, teacher: LatentDenoiser, prompts: Sequence[str], cfg: ESDConfig
    ) -> None:
        self.base, self.teacher, self.prompts, self.cfg = base, teacher, list(prompts), cfg

    @property
    def iterations_per_epoch(self) -> int:
        return math.ceil(self.cfg.trajectories * self.cfg.ddim_steps / self.cfg.batch_size)

    def batch(self, step: int) -> XtBatch:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step])
        k = int(rng.integers(cfg.ddim_steps))
        ids = rng.integers(len(self.prompts), size=cfg.batch_size)
        lengths = trajectory_lengths(cfg, cfg.batch_size, rng)
        seed = int(rng.integers(NOISE_SEEDS))
        run = teacher_trajectories(
            self.base, self.teacher, [self.prompts[i] for i in ids], lengths, cfg, seed, k
        )
        last = torch.full((cfg.batch_size,), k, device=run.mask.device)
        flat = torch.arange(cfg.batch_size, device=run.mask.device) * run.x_t.shape[1] + last
        run.prompt_ids = torch.as_tensor(ids, device=run.mask.device)
        return run.batch(flat)


class DataSource:
    """x_t = q_sample(z_0, t, eps) for VAE latents z_0 of real clips of the concept."""

    def __init__(
        self,
        base: MotionGenerator,
        teacher: LatentDenoiser,
        prompts: Sequence[str],
        cfg: ESDConfig,
        latents: Sequence[torch.Tensor],
    ) -> None:
        if not latents:
            raise ValueError(
                "xt_source 'data' needs clips of the concept, and none were found; use "
                "--xt_source pool, or give --data_root with clips of the concept"
            )
        self.base, self.teacher, self.prompts, self.cfg = base, teacher, list(prompts), cfg
        self.latents = list(latents)  # each (N_i, C), normalised like the denoiser's latents

    @property
    def iterations_per_epoch(self) -> int:
        return math.ceil(len(self.latents) / self.cfg.batch_size)

    @torch.no_grad()
    def batch(self, step: int) -> XtBatch:
        cfg, base = self.cfg, self.base
        generator = _generator(cfg.seed, step)
        picks = torch.randint(len(self.latents), (cfg.batch_size,), generator=generator).tolist()
        lengths = [LATENT_REDUCTION * len(self.latents[i]) for i in picks]
        mask = base.latent_mask(lengths)
        z0 = torch.zeros(cfg.batch_size, mask.shape[1], self.latents[0].shape[1])
        for row, i in enumerate(picks):
            z0[row, : len(self.latents[i])] = self.latents[i]
        z0 = z0.to(base.device)
        t = torch.randint(base.schedule.num_steps, (cfg.batch_size,), generator=generator)
        noise = torch.randn(z0.shape, generator=generator).to(base.device)
        x_t = q_sample(base.schedule, z0, t.to(base.device), noise) * mask[..., None]
        ids = torch.randint(len(self.prompts), (cfg.batch_size,), generator=generator)
        cond, uncond = base.encode_prompts([self.prompts[i] for i in ids])
        fn = base.denoise_fn(mask, self.teacher)
        both = fn(x_t.repeat(2, 1, 1), t.to(base.device).repeat(2), TextBatch.cat(cond, uncond))
        pred_cond, pred_uncond = both.chunk(2)
        return XtBatch(x_t, t.to(base.device), mask, ids.to(base.device), pred_cond, pred_uncond)


def _generator(seed: int, stream: int) -> torch.Generator:
    """A CPU generator for (seed, stream): batches depend on the step, not on history."""
    return torch.Generator().manual_seed(
        int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0] >> 1)
    )


XtSource = PoolSource | TeacherSource | DataSource


def make_source(
    base: MotionGenerator,
    teacher: LatentDenoiser,
    cfg: ESDConfig,
    data_latents: Sequence[torch.Tensor] | None,
) -> XtSource:
    """The x_t source named by ``cfg.xt_source``."""
    if cfg.xt_source == "pool":
        return PoolSource(base, teacher, cfg.prompts, cfg)
    if cfg.xt_source == "teacher":
        return TeacherSource(base, teacher, cfg.prompts, cfg)
    return DataSource(base, teacher, cfg.prompts, cfg, data_latents or [])
