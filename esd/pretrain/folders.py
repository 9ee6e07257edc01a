"""The folders pretraining reads and writes: the data folder's clips and the run folder.

The data folder is in the HumanML3D layout (``esd.motion.humanml3d.MotionFolder``); a run folder
is ``checkpoints/t2m/NAME/`` (``esd.models.checkpoints.RunPaths``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from esd.models import checkpoints as ck
from esd.motion.humanml3d import DatasetError, MotionFolder
from esd.pretrain.settings import DEFAULT_DATA_ROOT


def open_folder(root: Path) -> MotionFolder:
    """The data folder at ``root``; the default one, when missing, says how to generate it."""
    if not root.exists() and root == DEFAULT_DATA_ROOT:
        raise DatasetError(
            f"no corpus at {root}: generate it first with `python -m esd.corpus --out {root}`"
        )
    return MotionFolder(root)


def load_clips(
    folder: MotionFolder, split: str, limit: int | None = None
) -> tuple[list[np.ndarray], list[tuple[str, ...]]]:
    """Normalised feature arrays (T_i, 263) and caption tuples of a split (at most ``limit``)."""
    records = folder.load_split(split, limit=limit)
    mean, std = folder.mean, folder.std
    clips = [((r.features - mean) / std).astype(np.float32) for r in records]
    return clips, [r.captions for r in records]


def prepare_run_folder(run: ck.RunPaths, *, resume: bool, overwrite: bool) -> ck.RunPaths:
    """``run`` with ``model/`` created; an existing folder needs ``resume`` or ``overwrite``.

    ``overwrite`` (without ``resume``) deletes the old folder first. Raises ValueError naming
    the flag to pass.
    """
    if run.root.exists() and not (resume or overwrite):
        raise ValueError(
            f"{run.root} already exists: pass --resume to continue it or --overwrite to replace it"
        )
    if overwrite and not resume and run.root.exists():
        shutil.rmtree(run.root)
    run.model_dir.mkdir(parents=True, exist_ok=True)
    return run
