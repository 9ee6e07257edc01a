"""An ESD run's checkpoints: what ``latest.tar`` / ``net_e_XX.tar`` hold, and resuming from them.

A checkpoint (kind ``"esd"``) holds only the trained parameters of the denoiser (an overlay on
its base, ``esd.models.generator.apply_denoiser_overlay``), the denoiser config, the base's
reference (name, checkpoint file, fingerprint), the ``ESDConfig``, the epoch, the step count, the
loss history and, in ``latest.tar``, the optimizer state. Files are written atomically
(``esd.models.checkpoints.save_checkpoint``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import torch

from esd.erasure.config import ESDConfig
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser

# Settings a resumed run must share with the saved one: they define the x_t samples, their order
# and the loss (the optimizer state, lr included, is restored). Only epochs / iterations may grow.
RESUME_MUST_MATCH = tuple(
    f.name for f in fields(ESDConfig) if f.name not in ("epochs", "iterations")
)

Saver = Callable[[int, int, list[float], bool], None]  # (step, epoch, losses, epoch_file)


def make_saver(
    run: ck.RunPaths | None,
    student: LatentDenoiser,
    names: list[str],
    cfg: ESDConfig,
    base_ref: dict[str, Any],
    optimizer: torch.optim.Optimizer,
) -> Saver:
    """A function that writes latest.tar (and net_e_XX.tar) for the current student state.

    Without a run folder (``run`` None) the function does nothing.
    """

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


def resume_state(
    run: ck.RunPaths | None,
    cfg: ESDConfig,
    student: LatentDenoiser,
    optimizer: torch.optim.Optimizer,
) -> dict[str, Any]:
    """Load latest.tar into the student and optimizer; refuse a run with other settings.

    Returns the checkpoint (``total_iter`` and ``losses`` continue the loop).
    """
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
