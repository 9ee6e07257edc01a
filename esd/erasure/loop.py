"""The ESD training loop: ``run_esd`` erases concepts from a base model's denoiser.

Each optimizer step takes batch ``step`` of the x_t source (``esd.erasure.sources``), moves the
student towards the ESD target (``esd.erasure.objective``), plus the weighted preservation term
on anchor prompts when asked, and reports an ``ESDStep``. With a run folder it saves
``net_e_XX.tar`` after every epoch (the newest ``KEEP_EPOCH_FILES``) and ``latest.tar`` after
every epoch, on stop and at the end (``esd.erasure.checkpointing``; over a SALAD base also
the student in SALAD's format, ``esd.erasure.runs``); a resumed run draws the
batches it would have drawn, because every batch depends only on the seed and the step.

Length (``total_steps``), n = the number of target concepts: n x ``iterations`` when set, else
``epochs`` x an epoch of n x ceil(``train_clips`` / batch) iterations (``esd.erasure.epochs``),
or of one pass over the x_t samples when ``train_clips`` is None.

Before any work the run's size is checked against the budgets (``esd.erasure.budget``). A set
``stop`` ends the loop before the next step, and the pool's building between teacher DDIM
steps: with no step taken nothing is written. A non-finite loss or weight ends the run with
``NonFiniteError`` before the optimizer applies it (nothing of it is saved).
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from esd.erasure.anchors import resolve_anchors
from esd.erasure.budget import anchor_trajectories, check_budget, run_size
from esd.erasure.checkpointing import NonFiniteError, make_saver, resume_state
from esd.erasure.config import ESDConfig, validate_config
from esd.erasure.epochs import iterations_per_epoch
from esd.erasure.history import LossHistory
from esd.erasure.objective import esd_loss, preservation_loss
from esd.erasure.parameters import freeze, prepare_student
from esd.erasure.sources import (
    PoolSource,
    PreparationStopped,
    XtSource,
    make_source,
    trajectory_lengths_max,
)
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.generator import MotionGenerator


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

    student: LatentDenoiser  # the unlearned denoiser (eval mode)
    steps_done: int  # optimizer steps done, resumed ones included
    total_steps: int  # optimizer steps planned
    stopped: bool  # True when the stop event ended the run early
    losses: list[float] = field(default_factory=list)  # bounded history (esd.erasure.history)
    trainable: int = 0  # number of trained scalars
    checkpoint: Path | None = None  # latest.tar, when a run folder holds one
    loss_stride: int = 1  # steps per value of ``losses``
    final_loss: float | None = None  # the last step's loss (None: no step taken)


def epoch_length(cfg: ESDConfig, samples: int) -> int:
    """Iterations per epoch: n x ceil(train_clips / batch), else ceil(samples / batch)."""
    if cfg.train_clips is not None:
        return iterations_per_epoch(cfg.train_clips, cfg.batch_size, len(cfg.concepts))
    return max(1, math.ceil(samples / cfg.batch_size))


def total_steps(cfg: ESDConfig, per_epoch: int) -> int:
    """Optimizer steps of the run: n x ``iterations`` if set, else epochs x ``per_epoch``."""
    if cfg.iterations is not None:
        return cfg.iterations * len(cfg.concepts)
    return cfg.epochs * per_epoch


def source_samples(cfg: ESDConfig, data_latents: Sequence[torch.Tensor] | None) -> int:
    """x_t samples per pass of ``cfg``'s source, known before it is built."""
    if cfg.xt_source == "data":
        return len(data_latents or [])
    return cfg.trajectories * len(cfg.concepts) * cfg.ddim_steps


def plan_run(
    base: MotionGenerator, cfg: ESDConfig, data_latents: Sequence[torch.Tensor] | None = None
) -> tuple[int, int]:
    """(total steps, iterations per epoch) of ``cfg``; raises BudgetError for a run too large."""
    validate_config(cfg)
    per_epoch = epoch_length(cfg, source_samples(cfg, data_latents))
    total = total_steps(cfg, per_epoch)
    tokens = base.latent_mask([trajectory_lengths_max(cfg)]).shape[1]
    channels = base.initial_noise(1, 1, 0).shape[-1]
    check_budget(cfg, run_size(cfg, total, tokens, channels))
    return total, per_epoch


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
    latest.tar. ``stop`` is checked before every step and while x_t is prepared. ``base_ref``
    ({"name", "ckpt"}) is stored in the checkpoints, with ``base``'s fingerprint, so that the
    unlearned model can be rebuilt from its base (and never put on another one: a resumed run
    whose stored fingerprint is not ``base``'s is refused, ``BaseMismatchError``).
    ``cfg.auto_anchors`` is resolved first (``esd.erasure.anchors.resolve_anchors``). Raises
    ValueError (BudgetError, NonFiniteError, BaseMismatchError) with a one-line message.
    """
    validate_config(cfg)  # before the anchors are chosen: a bad auto_anchors is one line
    cfg = resolve_anchors(base, cfg)  # auto_anchors -> anchors (the checkpoints store them)
    total, per_epoch = plan_run(base, cfg, data_latents)
    began = time.monotonic()
    status = on_status or (lambda message: None)
    if cfg.auto_anchors:
        status(f"anchored (preservation weight {cfg.preservation_weight}): {list(cfg.anchors)}")
    teacher = freeze(copy.deepcopy(base.denoiser))
    student, names = prepare_student(teacher, cfg.method)
    params = [p for n, p in student.named_parameters() if n in set(names)]
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    where = base.source or (base_ref or {}).get("name")
    state = resume_state(run, cfg, student, optimizer, base.fingerprint, where) if resume else None
    history = LossHistory.from_state(state) if state else LossHistory()
    step = first = state["total_iter"] if state else 0
    trainable = sum(p.numel() for p in params)

    def result(stopped: bool) -> ESDResult:
        latest = run.latest if run is not None and run.latest.is_file() else None
        return ESDResult(
            student.eval(), step, total, stopped, list(history.values), trainable, latest,
            history.stride, history.last,
        )  # fmt: skip

    status(f"preparing x_t ({cfg.xt_source})")
    try:
        source = make_source(base, teacher, cfg, data_latents, stop)
        anchors = _anchor_source(base, teacher, cfg, stop)
    except PreparationStopped:
        status("stopped while preparing x_t: no step taken, nothing saved")
        return result(stopped=True)
    ref = {**(base_ref or {}), "fingerprint": base.fingerprint()}  # the teacher's weights
    salad = base.info.get("salad_options")  # a SALAD base: the run is also a SALAD model
    save = make_saver(run, student, names, cfg, ref, optimizer, total, salad)
    status(f"training {len(params)} tensors ({trainable:,} scalars), {total} steps")
    while step < total:
        if stop is not None and stop.is_set():
            break
        loss = _train_step(base, student, optimizer, source, anchors, cfg, step)
        _check_finite(params, step + 1)
        step += 1
        history.append(loss)
        epoch = math.ceil(step / per_epoch)
        if step % per_epoch == 0 or step == total:
            save(step, epoch, history, step % per_epoch == 0)
        if on_step is not None:
            on_step(ESDStep(step, total, epoch, loss, time.monotonic() - began))
    if step < total and step > first and step % per_epoch != 0:
        save(step, math.ceil(step / per_epoch), history, False)
    return result(stopped=step < total)


def _check_finite(params: list[torch.Tensor], step: int) -> None:
    """Raise NonFiniteError when a trained weight is no longer finite after ``step``."""
    if not all(bool(torch.isfinite(p).all()) for p in params):
        raise NonFiniteError(
            f"training diverged at step {step}: the weights are no longer finite; lower the "
            "learning rate (--unlearn_lr); nothing of this step was saved"
        )


def _anchor_source(
    base: MotionGenerator, teacher: LatentDenoiser, cfg: ESDConfig, stop: threading.Event | None
) -> PoolSource | None:
    """A pool of teacher trajectories of the anchor prompts (seed + 1), when preservation is on."""
    if cfg.preservation_weight <= 0:
        return None
    count = anchor_trajectories(cfg)
    return PoolSource(base, teacher, cfg.anchors, cfg, cfg.seed + 1, count, stop)


def _train_step(
    base: MotionGenerator,
    student: LatentDenoiser,
    optimizer: torch.optim.Optimizer,
    source: XtSource,
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
    if not bool(torch.isfinite(loss)):
        raise NonFiniteError(
            f"training diverged at step {step + 1}: the loss is {float(loss.detach())}; lower the "
            "negative guidance (--negative_guidance) or the learning rate (--unlearn_lr); "
            "nothing of this step was saved"
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
