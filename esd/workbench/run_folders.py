"""The folder of a new training run started from the workbench.

``new_run_folder`` names it ``{BASE}_ESD_{SLUG}`` (or the first free ``_2``, ``_3``... with
``auto_suffix``), replaces an existing one only with ``overwrite``, and writes what the run was
asked for: ``opt.txt`` with the keys of ``python -m esd.train`` plus provenance, and the typed
request as ``request.json`` (its related concepts are the run's defaults for comparisons and
evaluations).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from esd.common.files import atomic_write
from esd.erasure.config import ESDConfig
from esd.models import checkpoints as ck
from esd.motion.humanml3d import MotionFolder
from esd.workbench.user_input import TrainingRequest, WorkbenchError

REQUEST_FILE = "request.json"  # the typed training request, beside opt.txt
MAX_SUFFIX = 99  # auto_suffix tries RUN_2 .. RUN_99


def run_options(
    request: TrainingRequest, cfg: ESDConfig, run: ck.RunPaths, base: Path
) -> dict[str, Any]:
    """opt.txt of a workbench run: the CLI's keys (``python -m esd.train``) plus provenance.

    ``request`` is the checked request (its related concepts already cleaned)."""
    return {
        "name": request.base_model,
        "dataset_name": ck.DATASET_NAME,
        "target_concept": list(cfg.concepts),
        "related_concepts": list(request.related),
        "variants": list(cfg.variants),
        "negative_guidance": cfg.negative_guidance,
        "unlearn_epochs": cfg.epochs,
        "unlearn_lr": cfg.lr,
        "iterations": cfg.iterations,
        "batch_size": cfg.batch_size,
        "method": cfg.method,
        "xt_source": cfg.xt_source,
        "trajectories": cfg.trajectories,
        "ddim_steps": cfg.ddim_steps,
        "seconds": list(cfg.seconds),
        "seed": cfg.seed,
        "data_root": request.data_root,
        "base_model": str(base),
        "run_name": run.name,
        "started_from": "workbench",
    }


def check_data_source(data_root: str | Path) -> None:
    """Refuse the "data" x_t source before a run folder exists when its corpus is missing."""
    try:
        folder = MotionFolder(data_root)
    except ValueError as err:
        raise WorkbenchError(
            f"the 'data' x_t source needs a corpus: {err} (or choose the 'pool' source)"
        ) from None
    if not (folder.root / "train.txt").is_file():
        raise WorkbenchError(
            f"the 'data' x_t source reads the train split: no train.txt in {folder.root}"
        )


def _tuple(value: Any) -> Any:
    """Lists read back from JSON or a checkpoint as the tuples that were written."""
    return tuple(value) if isinstance(value, list) else value


def resume_request(run: ck.RunPaths) -> tuple[TrainingRequest, ESDConfig]:
    """The request and the settings of a run to resume, from its request.json and latest.tar
    (the settings must be the saved ones: ``esd.erasure.checkpointing.resume_state``)."""
    payload = ck.load_checkpoint(run.latest, kind="esd")
    saved = {k: _tuple(v) for k, v in (payload.get("esd") or {}).items()}
    try:
        cfg = ESDConfig(**saved)
    except TypeError:
        raise WorkbenchError(
            f"{run.name} was trained by another version (its settings do not match ESDConfig); "
            "it cannot be resumed"
        ) from None
    base = (payload.get("base") or {}).get("name") or ck.BASE_MODEL_NAME
    try:
        fields = json.loads((run.root / REQUEST_FILE).read_text(encoding="utf-8"))
        request = TrainingRequest(**{k: _tuple(v) for k, v in fields.items()})
    except (OSError, ValueError, TypeError):
        request = TrainingRequest(concept=cfg.concepts[0], related=())
    # a request.json older than automatic anchors lacks the field: the run's own settings say
    return replace(request, base_model=base, auto_anchors=cfg.auto_anchors), cfg


def new_run_folder(
    checkpoints_dir: Path,
    request: TrainingRequest,
    cfg: ESDConfig,
    base: Path,
    on_replaced: Callable[[str], None],
) -> ck.RunPaths:
    """Create the run's folder (with model/), opt.txt and request.json; its paths.

    WorkbenchError when the folder exists and the request neither overwrites nor suffixes.
    ``on_replaced(run_name)`` is called after an existing folder was deleted (``overwrite``).
    """
    name = ck.esd_run_name(request.base_model, list(cfg.concepts))
    run = ck.run_paths(checkpoints_dir, name)
    if run.root.exists() and request.auto_suffix:
        free = (ck.run_paths(checkpoints_dir, f"{name}_{i}") for i in range(2, MAX_SUFFIX + 1))
        run = next((r for r in free if not r.root.exists()), run)
    if run.root.exists():
        if not request.overwrite:
            raise WorkbenchError(
                f"run {run.name} already exists: choose overwrite to replace it, or "
                "auto-suffix to keep it and train a new one beside it"
            )
        shutil.rmtree(run.root)
        on_replaced(run.name)
    run.model_dir.mkdir(parents=True)
    ck.write_opt(run.opt_file, run_options(request, cfg, run, base))
    atomic_write(run.root / REQUEST_FILE, json.dumps(asdict(request), indent=2) + "\n")
    return run
