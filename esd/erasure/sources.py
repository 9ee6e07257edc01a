"""Where ESD's x_t comes from: three sources of (x_t, t) with the teacher's predictions there.

``xt_source`` (``ESDConfig``) picks one:

* ``teacher`` (as the ESD authors): each iteration runs the teacher's DDIM sampler with the
  target prompt (guidance ``start_guidance``) from fresh noise up to a random step k and takes x_k.
* ``pool`` (default): the same trajectories generated once up front and reused. The teacher is
  frozen, so pooled points and their teacher predictions are exactly what ``teacher`` would
  recompute; the cond/uncond predictions are by-products of the guided sampler itself.
* ``data``: VAE latents of corpus clips that contain the concept, forward-noised at t ~ U{0..999}
  (the clips come from ``esd.erasure.concept_clips``).

Every source has ``samples`` (its x_t samples per pass: ``trajectories x concepts x
ddim_steps`` points for pool and teacher, the concept's clips for data) and ``batch(step)``, which
depends on the seed and the step only, so a resumed run draws the same batches. Batches hold
equal shares of every prompt (``esd.erasure.batching``). The pool is built in chunks of
``POOL_CHUNK`` trajectories; a set ``stop`` event ends its building between two teacher DDIM
steps (``PreparationStopped``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from esd.erasure.batching import BalancedSampler, balanced_shares, step_generator
from esd.erasure.config import ESDConfig
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.bundled.vae import LATENT_REDUCTION
from esd.models.diffusion import DDIMStep, ddim_sample, q_sample
from esd.models.generator import MotionGenerator
from esd.models.text.batch import TextBatch
from esd.motion.skeleton import FPS, MIN_FRAMES

NOISE_SEEDS = 2**31  # the teacher source draws each step's noise seed from [0, NOISE_SEEDS)
POOL_CHUNK = 32  # trajectories sampled together while the pool is built (one chunk by default)


class PreparationStopped(Exception):
    """The stop event was set while x_t was being prepared (no training step was taken)."""


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
    return [_frames(s) for s in rng.uniform(*cfg.seconds, size=count)]


def trajectory_lengths_max(cfg: ESDConfig) -> int:
    """The longest frame count ``trajectory_lengths`` can give (the pool's token budget)."""
    return _frames(cfg.seconds[1])


def _frames(seconds: float) -> int:
    return max(MIN_FRAMES, round(seconds * FPS) // LATENT_REDUCTION * LATENT_REDUCTION)


@torch.no_grad()
def teacher_trajectories(
    base: MotionGenerator,
    teacher: LatentDenoiser,
    prompts: Sequence[str],
    lengths: Sequence[int],
    cfg: ESDConfig,
    seed: int,
    stop_at: int | None = None,
    record_from: int = 0,
    stop: threading.Event | None = None,
) -> TrajectoryPool:
    """Run the teacher's guided DDIM sampler on ``prompts`` and record the x_t it visits.

    Records (x_t, t, teacher cond / uncond predictions) at steps record_from .. S-1, or
    record_from .. stop_at only; item i starts from the noise of ``seed + i``. A set ``stop``
    raises PreparationStopped before the next DDIM step.
    Shapes: P = len(prompts) trajectories, S recorded steps, N = the longest length / 4.
    """
    records: list[DDIMStep] = []
    mask = base.latent_mask(lengths)
    fn = base.denoise_fn(mask, teacher)
    cond, uncond = base.encode_prompts(prompts)

    def record(step: DDIMStep) -> None:
        if stop is not None and stop.is_set():
            raise PreparationStopped
        if step.i < record_from:
            return
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


def build_pool(
    base: MotionGenerator,
    teacher: LatentDenoiser,
    prompts: Sequence[str],
    ids: Sequence[int],
    lengths: Sequence[int],
    cfg: ESDConfig,
    seed: int,
    stop: threading.Event | None = None,
) -> TrajectoryPool:
    """The pool of trajectories ``ids`` (prompt index of each), built ``POOL_CHUNK`` at a time.

    Trajectory i starts from the noise of ``seed + i`` whatever the chunking; chunks shorter
    than the longest trajectory are zero-padded (their mask says which tokens are valid).
    Raises PreparationStopped when ``stop`` is set (checked between DDIM steps and chunks).
    """
    mask = base.latent_mask(lengths)  # (P, N) for the whole pool
    pool: TrajectoryPool | None = None
    for first in range(0, len(ids), POOL_CHUNK):
        if stop is not None and stop.is_set():
            raise PreparationStopped
        chunk = range(first, min(first + POOL_CHUNK, len(ids)))
        part = teacher_trajectories(
            base, teacher, [prompts[ids[i]] for i in chunk], [lengths[i] for i in chunk], cfg,
            seed + first, stop=stop,
        )  # fmt: skip
        if pool is None:
            pool = _empty_pool(part, mask, ids)
        tokens = part.x_t.shape[2]
        for name in ("x_t", "pred_cond", "pred_uncond"):  # (P, S, N, C) <- (chunk, S, n, C)
            getattr(pool, name)[chunk.start : chunk.stop, :, :tokens] = getattr(part, name)
    assert pool is not None  # validate_config: at least one trajectory
    return pool


def _empty_pool(part: TrajectoryPool, mask: torch.Tensor, ids: Sequence[int]) -> TrajectoryPool:
    """Zero tensors for the whole pool, shaped like ``part`` with P = len(ids), N = mask's."""
    steps, channels = part.x_t.shape[1], part.x_t.shape[3]
    shape = (len(ids), steps, mask.shape[1], channels)  # (P, S, N, C)
    zeros = [part.x_t.new_zeros(shape) for _ in range(3)]
    prompt_ids = torch.as_tensor(list(ids), dtype=torch.long, device=mask.device)
    return TrajectoryPool(zeros[0], part.t, zeros[1], zeros[2], mask, prompt_ids)


def pool_assignment(prompts: int, count: int) -> list[int]:
    """Prompt index of each of ``count`` trajectories: round-robin over ``prompts`` prompts."""
    return [i % prompts for i in range(count)]


class PoolSource:
    """x_t from a pool of teacher trajectories generated once (``trajectories`` per concept)."""

    def __init__(
        self,
        base: MotionGenerator,
        teacher: LatentDenoiser,
        prompts: Sequence[str],
        cfg: ESDConfig,
        seed: int | None = None,
        trajectories: int | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        seed = cfg.seed if seed is None else seed
        count = cfg.trajectories * len(cfg.concepts) if trajectories is None else trajectories
        rng = np.random.default_rng(seed)
        ids = pool_assignment(len(prompts), count)
        lengths = trajectory_lengths(cfg, count, rng)
        self.pool = build_pool(base, teacher, prompts, ids, lengths, cfg, seed, stop)
        steps = self.pool.x_t.shape[1]
        members = [  # flat indices (trajectory * S + step) of each prompt's samples
            (torch.tensor([i for i, p in enumerate(ids) if p == g])[:, None] * steps
             + torch.arange(steps)).flatten()
            for g in range(len(prompts))
        ]  # fmt: skip
        self.sampler = BalancedSampler(members, cfg.batch_size, seed)

    @property
    def samples(self) -> int:
        return len(self.pool)

    def batch(self, step: int) -> XtBatch:
        """Batch ``step``: equal shares of every prompt's pool samples (resumable by step)."""
        flat, _ = self.sampler.indices(step)
        return self.pool.batch(flat.to(self.pool.mask.device))


class TeacherSource:
    """x_t regenerated every iteration: teacher DDIM from fresh noise up to a random step k."""

    def __init__(
        self, base: MotionGenerator, teacher: LatentDenoiser, prompts: Sequence[str], cfg: ESDConfig
    ) -> None:
        self.base, self.teacher, self.prompts, self.cfg = base, teacher, list(prompts), cfg

    @property
    def samples(self) -> int:
        return self.cfg.trajectories * len(self.cfg.concepts) * self.cfg.ddim_steps

    def batch(self, step: int) -> XtBatch:
        """x_k of fresh teacher runs (one k per batch), equal shares of every prompt."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step])
        k = int(rng.integers(cfg.ddim_steps))
        ids = prompt_rows(cfg.batch_size, len(self.prompts), step)
        lengths = trajectory_lengths(cfg, cfg.batch_size, rng)
        seed = int(rng.integers(NOISE_SEEDS))
        run = teacher_trajectories(
            self.base, self.teacher, [self.prompts[i] for i in ids], lengths, cfg, seed, k, k
        )  # records step k only: x_t (B, 1, N, C)
        run.prompt_ids = torch.as_tensor(ids, device=run.mask.device)
        return run.batch(torch.arange(cfg.batch_size, device=run.mask.device))


def prompt_rows(batch_size: int, prompts: int, step: int) -> list[int]:
    """The prompt index of each row of batch ``step``: equal shares, prompt by prompt."""
    shares = balanced_shares(batch_size, prompts, step)
    return [g for g, count in enumerate(shares) for _ in range(count)]


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
    def samples(self) -> int:
        return len(self.latents)

    @torch.no_grad()
    def batch(self, step: int) -> XtBatch:
        cfg, base = self.cfg, self.base
        generator = step_generator(cfg.seed, step)
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
        ids = torch.tensor(prompt_rows(cfg.batch_size, len(self.prompts), step))
        cond, uncond = base.encode_prompts([self.prompts[i] for i in ids])
        fn = base.denoise_fn(mask, self.teacher)
        both = fn(x_t.repeat(2, 1, 1), t.to(base.device).repeat(2), TextBatch.cat(cond, uncond))
        pred_cond, pred_uncond = both.chunk(2)
        return XtBatch(x_t, t.to(base.device), mask, ids.to(base.device), pred_cond, pred_uncond)


XtSource = PoolSource | TeacherSource | DataSource


def make_source(
    base: MotionGenerator,
    teacher: LatentDenoiser,
    cfg: ESDConfig,
    data_latents: Sequence[torch.Tensor] | None,
    stop: threading.Event | None = None,
) -> XtSource:
    """The x_t source named by ``cfg.xt_source`` (``stop`` ends the pool's building)."""
    if cfg.xt_source == "pool":
        return PoolSource(base, teacher, cfg.prompts, cfg, stop=stop)
    if cfg.xt_source == "teacher":
        return TeacherSource(base, teacher, cfg.prompts, cfg)
    return DataSource(base, teacher, cfg.prompts, cfg, data_latents or [])
