"""An ESD run's checkpoints: what ``latest.tar`` / ``net_e_XX.tar`` hold, and resuming from them.

A checkpoint (kind ``"esd"``) holds only the trained parameters of the denoiser (an overlay on
its base, ``esd.models.generator.apply_denoiser_overlay``), the denoiser config, the base's
reference (name, checkpoint file, fingerprint: ``esd.models.fingerprint``), the ``ESDConfig``,
the epoch, the step count, the loss history (bounded: ``esd.erasure.history``) and, in
``latest.tar``, the optimizer state.
Files are written atomically (``esd.models.checkpoints.save_checkpoint``).

Over a SALAD base, every save of ``latest.tar`` also writes the whole student in SALAD's own
format, ``model/net_best_fid.tar`` with a SALAD ``opt.txt`` (``esd.erasure.runs.write_salad_run``;
the layout is in ``esd.erasure.runs``), so SALAD's loaders read the run folder as a model.

Bounds and guards: only the last ``KEEP_EPOCH_FILES`` ``net_e_XX.tar`` are kept (older ones are
deleted when a new one is written; ``latest.tar`` always holds the newest state), and weights
that are not finite are never written (``NonFiniteError``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from esd.erasure.config import ESDConfig
from esd.erasure.history import LossHistory
from esd.erasure.runs import write_salad_run
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.fingerprint import check_base

# Settings a resumed run must share with the saved one: they define the x_t samples, their order
# and the loss (the optimizer state, lr included, is restored). Only epochs / iterations may grow.
RESUME_MUST_MATCH = tuple(
    f.name for f in fields(ESDConfig) if f.name not in ("epochs", "iterations")
)

KEEP_EPOCH_FILES = 10  # newest net_e_XX.tar kept per run (the seed's 10 epochs: all of them)

Saver = Callable[[int, int, LossHistory, bool], None]  # (step, epoch, losses, epoch_file)


class NonFiniteError(ValueError):
    """Training produced a non-finite loss or weights; nothing of it is saved."""


def make_saver(
    run: ck.RunPaths | None,
    student: LatentDenoiser,
    names: list[str],
    cfg: ESDConfig,
    base_ref: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    total_steps: int | None = None,
    salad_options: Mapping[str, Any] | None = None,
) -> Saver:
    """A function that writes latest.tar (and net_e_XX.tar) for the current student state.

    ``total_steps``: the steps planned (stored, so a reader tells a finished run from a
    stopped one). ``salad_options``: a SALAD base's options; then each latest.tar comes with
    the student in SALAD's format (``write_salad_run``). Without a run folder (``run`` None)
    the function does nothing.
    """

    def save(step: int, epoch: int, losses: LossHistory, epoch_file: bool) -> None:
        if run is None:
            return
        chosen = set(names)
        weights = {k: v.detach().cpu() for k, v in student.state_dict().items() if k in chosen}
        bad = [k for k, v in weights.items() if not bool(torch.isfinite(v).all())]
        if bad:
            raise NonFiniteError(f"step {step}: non-finite weights in {bad[0]}; nothing saved")
        payload = {
            "kind": "esd",
            "denoiser": weights,
            "denoiser_config": asdict(student.cfg),
            "base": base_ref,
            "esd": asdict(cfg),
            "epoch": epoch,
            "total_iter": step,
            "total_steps": total_steps,
            **losses.state(),
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        if epoch_file:
            ck.save_checkpoint(payload, run.epoch_checkpoint(epoch))
            prune_epoch_files(run, epoch)
        ck.save_checkpoint({**payload, "optimizer": optimizer.state_dict()}, run.latest)
        if salad_options is not None:
            write_salad_run(run, student, salad_options, epoch)

    return save


def prune_epoch_files(run: ck.RunPaths, newest: int, keep: int | None = None) -> None:
    """Delete the run's net_e_XX.tar older than the ``keep`` (default ``KEEP_EPOCH_FILES``)
    newest epochs, counting back from epoch ``newest``."""
    keep = KEEP_EPOCH_FILES if keep is None else keep
    for path in run.model_dir.glob("net_e_*.tar"):
        number = path.stem.removeprefix("net_e_")
        if number.isdigit() and int(number) <= newest - keep:
            path.unlink(missing_ok=True)


def resume_state(
    run: ck.RunPaths | None,
    cfg: ESDConfig,
    student: LatentDenoiser,
    optimizer: torch.optim.Optimizer,
    base_fingerprint: str | Callable[[], str] | None = None,
    base_source: str | Path | None = None,
) -> dict[str, Any]:
    """Load latest.tar into the student and optimizer; refuse a run with other settings, or
    one trained from another base than the one it continues on (``base_fingerprint``, found
    at ``base_source``: ``esd.models.fingerprint.BaseMismatchError``, one line; None, or a
    checkpoint that stores no fingerprint: not checked).

    Returns the checkpoint (``total_iter`` and ``losses`` continue the loop).
    """
    if run is None or not run.latest.is_file():
        raise ck.CheckpointError(
            f"nothing to resume: {run.latest if run else 'no run folder'} does not exist"
        )
    state = ck.load_checkpoint(run.latest, kind="esd")
    if base_fingerprint is not None:
        base_ref = state.get("base") or {}
        where = base_source or base_ref.get("name") or "the base given"
        check_base(run.name, base_ref, base_fingerprint, where)
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
