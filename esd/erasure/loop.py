"""The ESD training loop: ``run_esd`` erases concepts from a base model's denoiser.

Each optimizer step takes batch ``step`` of the x_t source (``esd.erasure.sources``), moves the
student towards the ESD target (``esd.erasure.objective``), plus the weighted preservation term
on anchor prompts when asked, and reports an ``ESDStep``. With a run folder it saves
``net_e_XX.tar`` after every epoch and ``latest.tar`` after every epoch, on stop and at the end
(``esd.erasure.checkpointing``); a resumed run draws the batches it would have drawn, because
every batch depends only on the seed and the step.

An epoch is one pass over the x_t samples: ``trajectories * ddim_steps`` points for pool and
teacher, the concept's clips for data; ``iterations`` overrides ``epochs``.
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

from esd.erasure.checkpointing import make_saver, resume_state
from esd.erasure.config import ESDConfig, validate_config
from esd.erasure.objective import esd_loss, preservation_loss
from esd.erasure.parameters import fingerprint, freeze, prepare_student
from esd.erasure.sources import PoolSource, XtSource, make_source
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
    stopped: bool  # True when the stop event ended the loop early
    losses: list[float] = field(default_factory=list)
    trainable: int = 0  # number of trained scalars
    checkpoint: Path | None = None  # latest.tar, when a run folder was given


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
    state = resume_state(run, cfg, student, optimizer) if resume else None
    status(f"preparing x_t ({cfg.xt_source})")
    source = make_source(base, teacher, cfg, data_latents)
    anchors = _anchor_source(base, teacher, cfg)
    per_epoch = source.iterations_per_epoch
    total = total_steps(cfg, per_epoch)
    step, losses = (state["total_iter"], list(state["losses"])) if state else (0, [])
    ref = {**(base_ref or {}), "fingerprint": fingerprint(teacher)}
    save = make_saver(run, student, names, cfg, ref, optimizer)
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


def _anchor_source(
    base: MotionGenerator, teacher: LatentDenoiser, cfg: ESDConfig
) -> PoolSource | None:
    """A pool of teacher trajectories of the anchor prompts (seed + 1), when preservation is on."""
    if cfg.preservation_weight <= 0:
        return None
    return PoolSource(base, teacher, cfg.anchors, cfg, cfg.seed + 1)


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
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
