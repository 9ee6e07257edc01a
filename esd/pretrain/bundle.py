"""``assets/``: the trained base model (weights in fp16) and the evaluator, shipped with the code.

Copies ``checkpoints/t2m/NAME/model/net_best_fid.tar`` (halved) and its ``opt.txt`` to
``assets/NAME/``, and the evaluator with its reference set to ``assets/t2m_evaluator/``. Every
file is written atomically (``esd.common.files.atomic_save``).

Weights trained on non-commercial data (a mixed folder with imported Bandai-Namco motion capture,
``esd.pretrain.mixed``) are refused before anything is written: their run folder, or the data
folder their opt.txt / checkpoint names, holds a provenance.json saying so
(``esd.pretrain.licences.licence_refusal``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from esd.common.files import atomic_save
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.pretrain.licences import licence_refusal
from esd.pretrain.settings import EVALUATOR_FILE, REFERENCE_FILE


def bundle_assets(checkpoints_dir: Path, name: str) -> tuple[Path, Path]:
    """Copy base model ``name`` and the evaluator into ``ck.ASSETS_DIR``; returns both targets.

    Returns (the bundled base checkpoint, the bundled evaluator's folder).
    """
    run = ck.run_paths(checkpoints_dir, name)
    payload = ck.load_checkpoint(run.best, kind="base")
    evaluator = ck.run_paths(checkpoints_dir, ck.EVALUATOR_NAME)
    evaluator_file = evaluator.model_dir / EVALUATOR_FILE
    evaluator_info = ck.load_checkpoint(evaluator_file, kind="evaluator").get("info") or {}
    data_roots = [
        ck.read_opt(run.opt_file).get("data_root") if run.opt_file.is_file() else None,
        (payload.get("info") or {}).get("data_root"),
        evaluator_info.get("data_root"),
    ]
    folders = [run.root, evaluator.root] + [Path(d) for d in data_roots if d]
    refusal = licence_refusal(folders)
    if refusal is not None:
        raise ValueError(refusal)
    generator = MotionGenerator.from_payload(payload, torch.device("cpu"), shared_text_encoder())
    target = ck.RunPaths(ck.ASSETS_DIR / name)
    ck.save_checkpoint(generator.to_payload(half=True), target.best)
    copy_file(run.opt_file, target.opt_file)
    destination = ck.RunPaths(ck.ASSETS_DIR / ck.EVALUATOR_NAME)
    copy_file(evaluator_file, destination.model_dir / EVALUATOR_FILE)
    copy_file(evaluator.root / REFERENCE_FILE, destination.root / REFERENCE_FILE)
    return target.best, destination.root


def copy_file(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` atomically (temp file beside it, fsync, rename)."""
    with source.open("rb") as handle:
        return atomic_save(target, lambda out: shutil.copyfileobj(handle, out))
