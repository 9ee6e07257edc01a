"""ESD: erase a concept from the latent denoiser (Gandikota et al., 2023).

A frozen copy of the base denoiser (the teacher, p*) defines the target that the trainable copy
(the student, p_theta) must output for the concept prompt c at points x_t of the concept's own
sampling trajectories:

    target(x_t, t) = p*(x_t, t, null) - eta * (p*(x_t, t, c) - p*(x_t, t, null))      (esd_target)
    L = || p_theta(x_t, t, c) - target(x_t, t) ||^2   (masked mean over latent tokens)

Parameterisation. Our denoiser predicts v = alpha_t eps - sigma_t x0. At a fixed x_t, substituting
x0 = (x_t - sigma_t eps) / alpha_t gives v = eps / alpha_t - (sigma_t / alpha_t) x_t: v is the same
affine function of eps for every prompt. Hence the v-target above is exactly the v of the
eps-target eps_null - eta (eps_c - eps_null), and ||v_theta - v_target||^2 =
||eps_theta - eps_target||^2 / alpha_t^2: the v-form is ESD's eps-form with the per-timestep
weight 1 / alpha_t^2 = 1 + 1/SNR(t) on the loss (heavier at high noise). Nothing else changes.

Where x_t comes from (``xt_source``):
* ``teacher`` (as the ESD authors): each iteration runs the teacher's DDIM sampler with the
  target prompt (guidance ``start_guidance``) from fresh noise up to a random step k and takes x_k.
* ``pool`` (default): the same trajectories generated once up front and reused. The teacher is
  frozen, so pooled points and their teacher predictions are exactly what ``teacher`` would
  recompute; the cond/uncond predictions are by-products of the guided sampler itself.
* ``data``: VAE latents of corpus clips that contain the concept, forward-noised at t ~ U{0..999}.

An epoch is one pass over the x_t samples: ``trajectories * ddim_steps`` points for pool and
teacher, the concept's clips for data; ``iterations`` overrides ``epochs``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser, select_parameters
from esd.models.bundled.vae import LATENT_REDUCTION
from esd.models.diffusion import (
    MIN_DDIM_STEPS,
    TRAIN_STEPS,
    DDIMStep,
    classifier_free_guidance,
    ddim_sample,
    q_sample,
)
from esd.models.generator import MotionGenerator
from esd.models.text.batch import TextBatch
from esd.motion.skeleton import FPS, MAX_SECONDS, MIN_FRAMES, MIN_SECONDS

METHODS = ("esd-x", "esd-u", "full")
XT_SOURCES = ("pool", "teacher", "data")


def esd_target(
    pred_uncond: torch.Tensor, pred_cond: torch.Tensor, negative_guidance: float
) -> torch.Tensor:
    """ESD target: p(x_t, null) - eta * (p(x_t, c) - p(x_t, null)), any shape (B, N, C).

    It is classifier-free guidance with scale -eta: the student is pulled to the prediction
    that guides *away* from the concept.
    """
    return classifier_free_guidance(pred_uncond, pred_cond, -negative_guidance)


@dataclass
class ESDConfig:
    """Settings of one erasure (stored in every checkpoint of the run)."""

    concepts: tuple[str, ...] = ("a person kicking",)  # target concepts (prompts) to erase
    variants: tuple[str, ...] = ()  # extra prompts of the same concepts (paraphrases), also erased
    negative_guidance: float = 1.0  # eta: 1 moves the concept to "unconditional", >1 pushes away
    method: str = "esd-x"  # trained parameters: esd-x (cross-attention), esd-u (the rest), full
    lr: float = 1e-5  # Adam learning rate (the seed's default)
    epochs: int = 10  # passes over the x_t samples (see the module docstring)
    iterations: int | None = None  # total optimizer steps; overrides epochs when set
    batch_size: int = 128  # x_t samples per step
    xt_source: str = "pool"  # pool | teacher | data
    trajectories: int = 32  # teacher trajectories in the pool (and per epoch for teacher)
    ddim_steps: int = 50  # DDIM steps of the teacher's trajectories
    start_guidance: float = 3.0  # CFG scale of the teacher when it generates x_t (ESD authors: 3)
    seconds: tuple[float, float] = (2.0, 6.0)  # length range of the generated trajectories
    anchors: tuple[str, ...] = ()  # preservation prompts: the student must match the teacher there
    preservation_weight: float = 0.0  # weight of the anchor term (0 = off, as plain ESD)
    seed: int = 0  # seeds pool, batches and noise

    @property
    def prompts(self) -> tuple[str, ...]:
        """All prompts that are erased: the concepts, then their variants."""
        return tuple(dict.fromkeys((*self.concepts, *self.variants)))


MAX_BATCH_SIZE = 1024  # x_t samples per step; larger teacher/data batches exhaust memory
NOISE_SEEDS = 2**31  # the teacher source draws each step's noise seed from [0, NOISE_SEEDS)

# The documented default recipe (README, "ESD on the bundled model"): on the bundled model it
# erases "a person kicking" in about 17 s on the 2-core CPU (benchmarks/bench_esd.py measures
# it). The workbench form starts from it; the CLI keeps the seed's flag defaults (lr 1e-5,
# 10 epochs) and takes it as --unlearn_lr 5e-5 --iterations 100 --batch_size 64.
RECIPE = ESDConfig(lr=5e-5, iterations=100, batch_size=64)


def validate_config(cfg: ESDConfig) -> None:
    """Raise ValueError with an actionable message for any bad setting."""
    concepts = [c.strip() for c in cfg.concepts]
    if not concepts or any(not c for c in concepts):
        raise ValueError("target concept is empty: give a prompt such as 'a person kicking'")
    for c in concepts:
        ck.concept_slug(c)  # raises for text with no letters or digits
    for name in ("negative_guidance", "lr", "start_guidance"):
        value = getattr(cfg, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if cfg.method not in METHODS:
        raise ValueError(f"unknown method {cfg.method!r}; choose one of {', '.join(METHODS)}")
    if cfg.xt_source not in XT_SOURCES:
        raise ValueError(f"unknown xt_source {cfg.xt_source!r}; choose {', '.join(XT_SOURCES)}")
    for name in ("batch_size", "epochs", "trajectories"):
        if int(getattr(cfg, name)) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if int(cfg.batch_size) > MAX_BATCH_SIZE:
        raise ValueError(
            f"batch_size must be at most {MAX_BATCH_SIZE}, got {cfg.batch_size} (larger batches "
            "exhaust memory; a pool epoch is already one pass over all its samples)"
        )
    if cfg.iterations is not None and cfg.iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {cfg.iterations}")
    if not MIN_DDIM_STEPS <= cfg.ddim_steps <= TRAIN_STEPS:
        raise ValueError(
            f"ddim_steps must be in [{MIN_DDIM_STEPS}, {TRAIN_STEPS}], got {cfg.ddim_steps}"
        )
    low, high = cfg.seconds
    if not MIN_SECONDS <= low <= high <= MAX_SECONDS:
        raise ValueError(f"seconds must satisfy {MIN_SECONDS} <= low <= high <= {MAX_SECONDS}")
    if cfg.preservation_weight < 0 or (cfg.preservation_weight > 0 and not cfg.anchors):
        raise ValueError("preservation_weight must be >= 0, and > 0 needs anchor prompts")


# --- trainable parameters ---------------------------------------------------------------------


def prepare_student(teacher: LatentDenoiser, method: str) -> tuple[LatentDenoiser, list[str]]:
    """A trainable copy of the teacher with only ``method``'s parameters requiring grad.

    The student stays in eval mode (no dropout): ESD fine-tunes deterministic predictions.
    """
    student = copy.deepcopy(teacher).eval()
    names = list(select_parameters(student, method))  # raises for an empty/unknown selection
    chosen = set(names)
    for name, param in student.named_parameters():
        param.requires_grad_(name in chosen)
    return student, names


def freeze(model: LatentDenoiser) -> LatentDenoiser:
    """The teacher: eval mode, no gradients."""
    return model.eval().requires_grad_(False)


def fingerprint(model: torch.nn.Module) -> str:
    """Short SHA-256 of a model's parameters (identifies the base an ESD run started from)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


# --- x_t samples ------------------------------------------------------------------------------


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


# --- the loop ---------------------------------------------------------------------------------


@dataclass
class ESDStep:
    """What the ESD loop reports after each optimizer step."""

    step: int  # steps done (1-based)
    total: int  # steps planned
    epoch: int  # 1-based epoch of this step
    loss: float  # ESD loss (plus the weighted preservation term)
    elapsed: float  # seconds since the loop started (preparation included)


@dataclass
class ESDResult:
    """Outcome of ``run_esd``."""

    student: LatentDenoiser
    steps_done: int
    total_steps: int
    stopped: bool  # True when the stop event ended the loop early
    losses: list[float] = field(default_factory=list)
    trainable: int = 0  # number of trained scalars
    checkpoint: Path | None = None  # latest.tar, when a run folder was given


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean (pred - target)^2 over valid tokens and channels; (B, N, C) each, mask (B, N)."""
    per_token = ((pred.float() - target.float()) ** 2).mean(-1)  # (B, N)
    return (per_token * mask).sum() / mask.sum().clamp_min(1)


def esd_loss(
    base: MotionGenerator,
    student: LatentDenoiser,
    batch: XtBatch,
    texts: TextBatch,
    eta: float,
) -> torch.Tensor:
    """||student(x_t, t, c) - esd_target(teacher uncond, teacher cond, eta)||^2 (masked)."""
    target = esd_target(batch.pred_uncond, batch.pred_cond, eta)
    pred = base.denoise_fn(batch.mask, student)(batch.x_t, batch.t, texts)
    return masked_mse(pred, target, batch.mask)


def preservation_loss(
    base: MotionGenerator, student: LatentDenoiser, batch: XtBatch, texts: TextBatch
) -> torch.Tensor:
    """||student(x_t, t, a) - teacher(x_t, t, a)||^2 on anchor prompts a (masked)."""
    pred = base.denoise_fn(batch.mask, student)(batch.x_t, batch.t, texts)
    return masked_mse(pred, batch.pred_cond, batch.mask)


def make_source(
    base: MotionGenerator,
    teacher: LatentDenoiser,
    cfg: ESDConfig,
    data_latents: Sequence[torch.Tensor] | None,
) -> PoolSource | TeacherSource | DataSource:
    """The x_t source named by ``cfg.xt_source``."""
    if cfg.xt_source == "pool":
        return PoolSource(base, teacher, cfg.prompts, cfg)
    if cfg.xt_source == "teacher":
        return TeacherSource(base, teacher, cfg.prompts, cfg)
    return DataSource(base, teacher, cfg.prompts, cfg, data_latents or [])


def total_steps(cfg: ESDConfig, iterations_per_epoch: int) -> int:
    """Optimizer steps of the run: ``iterations`` if set, else epochs x iterations per epoch."""
    return cfg.iterations if cfg.iterations is not None else cfg.epochs * iterations_per_epoch


def run_esd(
    base: MotionGenerator,
    cfg: ESDConfig,
    run: ck.RunPaths | None = None,
    base_ref: dict[str, Any] | None = None,
    on_step: Callable[[ESDStep], None] | None = None,
    on_status: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    resume: bool = False,
    data_latents: Sequence[torch.Tensor] | None = None,
) -> ESDResult:
    """Erase ``cfg.concepts`` from ``base.denoiser``; returns the student (the unlearned model).

    With ``run`` given, writes ``model/net_e_XX.tar`` after every epoch and ``model/latest.tar``
    after every epoch, on stop and at the end (atomic writes); ``resume`` continues from
    latest.tar. ``stop`` is checked before every step. ``base_ref`` ({"name", "ckpt"}) is stored
    in the checkpoints so that the unlearned model can be rebuilt from its base.
    """
    validate_config(cfg)
    began = time.monotonic()
    status = on_status or (lambda message: None)
    teacher = freeze(copy.deepcopy(base.denoiser))
    student, names = prepare_student(teacher, cfg.method)
    params = [p for n, p in student.named_parameters() if n in set(names)]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    state = _resume_state(run, cfg, student, optimizer) if resume else None
    status(f"preparing x_t ({cfg.xt_source})")
    source = make_source(base, teacher, cfg, data_latents)
    anchors = (
        PoolSource(base, teacher, cfg.anchors, cfg, cfg.seed + 1)
        if cfg.preservation_weight > 0
        else None
    )
    per_epoch = source.iterations_per_epoch
    total = total_steps(cfg, per_epoch)
    step, losses = (state["total_iter"], list(state["losses"])) if state else (0, [])
    ref = {**(base_ref or {}), "fingerprint": fingerprint(teacher)}
    save = _saver(run, student, names, cfg, ref, optimizer)
    status(f"training {len(params)} tensors ({sum(p.numel() for p in params):,} scalars)")
    while step < total:
        if stop is not None and stop.is_set():
            break
        loss = _train_step(base, student, optimizer, source, anchors, cfg, step)
        step += 1
        losses.append(loss)
        epoch = math.ceil(step / per_epoch)
        if step % per_epoch == 0 or step == total:
            save(step, epoch, losses, epoch_file=step % per_epoch == 0)
        if on_step is not None:
            on_step(ESDStep(step, total, epoch, loss, time.monotonic() - began))
    stopped = step < total
    if stopped:
        save(step, math.ceil(step / per_epoch), losses, epoch_file=False)
    trainable = sum(p.numel() for p in params)
    path = run.latest if run is not None else None
    return ESDResult(student.eval(), step, total, stopped, losses, trainable, path)


def _train_step(
    base: MotionGenerator,
    student: LatentDenoiser,
    optimizer: torch.optim.Optimizer,
    source: PoolSource | TeacherSource | DataSource,
    anchors: PoolSource | None,
    cfg: ESDConfig,
    step: int,
) -> float:
    """One optimizer step on batch ``step``: ESD loss (+ weighted preservation); returns it."""
    batch = source.batch(step)
    texts = base.encode_prompts([cfg.prompts[int(i)] for i in batch.prompt_ids])[0]
    loss = esd_loss(base, student, batch, texts, cfg.negative_guidance)
    if anchors is not None:
        anchor = anchors.batch(step)
        anchor_texts = base.encode_prompts([cfg.anchors[int(i)] for i in anchor.prompt_ids])[0]
        loss = loss + cfg.preservation_weight * preservation_loss(
            base, student, anchor, anchor_texts
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _saver(
    run: ck.RunPaths | None,
    student: LatentDenoiser,
    names: list[str],
    cfg: ESDConfig,
    base_ref: dict[str, Any],
    optimizer: torch.optim.Optimizer,
) -> Callable[..., None]:
    """A function that writes latest.tar (and net_e_XX.tar) for the current student state."""

    def save(step: int, epoch: int, losses: list[float], epoch_file: bool) -> None:
        if run is None:
            return
        chosen = set(names)
        payload = {
            "kind": "esd",
            "denoiser": {
                k: v.detach().cpu() for k, v in student.state_dict().items() if k in chosen
            },
            "denoiser_config": asdict(student.cfg),
            "base": base_ref,
            "esd": asdict(cfg),
            "epoch": epoch,
            "total_iter": step,
            "losses": losses,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if epoch_file:
            ck.save_checkpoint(payload, run.epoch_checkpoint(epoch))
        ck.save_checkpoint({**payload, "optimizer": optimizer.state_dict()}, run.latest)

    return save


# Settings a resumed run must share with the saved one: they define the x_t samples, their order
# and the loss (the optimizer state, lr included, is restored). Only epochs / iterations may grow.
RESUME_MUST_MATCH = tuple(
    f.name for f in fields(ESDConfig) if f.name not in ("epochs", "iterations")
)


def _resume_state(
    run: ck.RunPaths | None,
    cfg: ESDConfig,
    student: LatentDenoiser,
    optimizer: torch.optim.Optimizer,
) -> dict[str, Any] | None:
    """Load latest.tar into the student and optimizer; refuse a run with other settings."""
    if run is None or not run.latest.is_file():
        raise ck.CheckpointError(
            f"nothing to resume: {run.latest if run else 'no run folder'} does not exist"
        )
    state = ck.load_checkpoint(run.latest, kind="esd")
    saved = ESDConfig(**state["esd"])

    def same(value: Any) -> Any:  # lists come back from the checkpoint where tuples went in
        return tuple(value) if isinstance(value, list | tuple) else value

    for key in RESUME_MUST_MATCH:
        if same(getattr(saved, key)) != same(getattr(cfg, key)):
            raise ValueError(
                f"cannot resume: the run in {run.root} used {key}={getattr(saved, key)!r}, "
                f"not {getattr(cfg, key)!r} (only epochs / iterations may change; start a new "
                "run with --overwrite otherwise)"
            )
    own = student.state_dict()
    student.load_state_dict({**own, **state["denoiser"]})
    optimizer.load_state_dict(state["optimizer"])
    return state
