"""An erasure on disk: its run folder and the base model it starts from.

The layout is the seed's: ``{checkpoints_dir}/{BASE}_ESD_{CONCEPT_SLUG}/`` with ``model/``
(``net_e_XX.tar``, ``latest.tar``, written by ``esd.erasure.loop.run_esd``), ``logs/`` and
``opt.txt``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from esd.erasure.config import ESDConfig
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator


def prepare_run_folder(
    checkpoints_dir: Path, base_name: str, cfg: ESDConfig, *, overwrite: bool, resume: bool
) -> ck.RunPaths:
    """The run folder of ``cfg``'s concepts erased from ``base_name``, with ``model/`` created.

    An existing folder is refused unless ``overwrite`` (replaced) or ``resume`` (kept; it must
    hold ``latest.tar``). Raises ValueError with the flag to pass.
    """
    run = ck.run_paths(checkpoints_dir, ck.esd_run_name(base_name, list(cfg.concepts)))
    if run.root.exists() and not (overwrite or resume):
        raise ValueError(
            f"{run.root} already exists: pass --resume to continue it or --overwrite to replace it"
        )
    if resume and not run.latest.is_file():
        raise ValueError(f"nothing to resume: {run.latest} does not exist")
    if overwrite and not resume and run.root.exists():
        shutil.rmtree(run.root)
    run.model_dir.mkdir(parents=True, exist_ok=True)
    return run


def load_base(
    name: str, checkpoints_dir: Path, device: torch.device
) -> tuple[MotionGenerator, dict[str, Any]]:
    """The base model ``name`` and its reference ``{"name", "ckpt"}`` for the run's checkpoints."""
    paths = ck.resolve_model(name, checkpoints_dir)
    base = MotionGenerator.from_checkpoint(name, checkpoints_dir=checkpoints_dir, device=device)
    return base, {"name": name, "ckpt": ck.default_checkpoint(paths).name}
