"""What state a run folder is in, for the model list and before a run is used.

A run is usable (compared, evaluated, exported, resumed) only when its ``latest.tar`` holds at
least one completed step of finite trained weights; it is then ``trained`` (every planned step
done) or ``incomplete`` (stopped, or interrupted by a crash or a killed server). Otherwise it is
``broken`` (unreadable, non-finite weights, no completed step) or ``failed`` (the job failed, or
stopped before its first step, and left no checkpoint). The workbench records each job's state
in ``status.json`` beside ``opt.txt`` (``write_status``): "running" from the start, then
"finished", "stopped" or "failed" with its message, so a run left "running" by a killed server
reads as interrupted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from esd.common.files import atomic_write
from esd.models import checkpoints as ck

STATUS_FILE = "status.json"  # the workbench job's state, in the run folder
TRAINED, INCOMPLETE, BROKEN, FAILED, TRAINING = (
    "trained", "incomplete", "broken", "failed", "training",
)  # fmt: skip
USABLE = frozenset({TRAINED, INCOMPLETE})  # states a run can be compared / evaluated in


@dataclass(frozen=True)
class RunState:
    """The state of a run and one line that explains it ('' for a plain trained run)."""

    status: str
    note: str = ""


def write_status(root: Path, state: str, message: str = "", steps: int = 0, total: int = 0) -> None:
    """Record a workbench job's state in ``root/status.json`` (atomically)."""
    record = {"state": state, "message": message, "steps": steps, "total": total}
    atomic_write(root / STATUS_FILE, json.dumps(record) + "\n")


def read_status(root: Path) -> dict[str, Any]:
    """``root/status.json`` as a dict ({} when absent or unreadable: a CLI run)."""
    try:
        data = json.loads((root / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def planned_steps(payload: dict[str, Any]) -> int | None:
    """Optimizer steps the run was asked for (None: unknown from the checkpoint alone)."""
    if isinstance(payload.get("total_steps"), int):
        return payload["total_steps"]
    cfg = payload.get("esd") or {}
    iterations, concepts = cfg.get("iterations"), cfg.get("concepts") or [None]
    return iterations * len(concepts) if isinstance(iterations, int) else None


def non_finite_tensor(tensors: dict[str, Any]) -> str | None:
    """The name of the first tensor with a NaN or an infinity (None: all finite)."""
    for name, value in tensors.items():
        floating = isinstance(value, torch.Tensor) and value.is_floating_point()
        if floating and not bool(torch.isfinite(value).all()):
            return name
    return None


def checkpoint_state(paths: ck.RunPaths, payload: dict[str, Any]) -> RunState:
    """The state of a run from its latest.tar ``payload`` and its status.json."""
    steps = payload.get("total_iter") or 0
    bad = non_finite_tensor(payload.get("denoiser") or {})
    if bad is not None:
        return RunState(BROKEN, f"non-finite trained weights ({bad}): the training diverged")
    if steps < 1:
        return RunState(BROKEN, "no training step completed (stopped while x_t was prepared)")
    record = read_status(paths.root)
    if record.get("state") == "failed":
        return RunState(FAILED, f"failed at step {steps}: {record.get('message', '')}".strip())
    planned = planned_steps(payload)
    epochs = (payload.get("esd") or {}).get("epochs")
    if planned is None and isinstance(epochs, int):  # epoch runs end with their last epoch file
        done = paths.epoch_checkpoint(epochs).is_file()
    else:
        done = planned is not None and steps >= planned
    if done:
        return RunState(TRAINED)
    why = "interrupted" if record.get("state") == "running" else "stopped"
    of = f"/{planned}" if planned is not None else ""
    return RunState(INCOMPLETE, f"{why} at step {steps}{of}; resume it to finish")


def orphan_state(paths: ck.RunPaths) -> RunState:
    """The state of a run folder with no checkpoint (its job failed or stopped early)."""
    record = read_status(paths.root)
    message = str(record.get("message") or "")
    if record.get("state") == "running":
        return RunState(FAILED, "interrupted before its first checkpoint")
    return RunState(FAILED, message or "no checkpoint: failed or stopped before its first step")


def orphan_runs(checkpoints_dir: Path, listed: set[str]) -> list[ck.RunPaths]:
    """Run folders (``*_ESD_*`` with model/) of ``checkpoints_dir/t2m`` without a checkpoint
    that ``ck.list_models`` therefore skips; sorted by name."""
    root = Path(checkpoints_dir) / ck.DATASET_NAME
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and "_ESD_" in p.name):
        paths = ck.RunPaths(folder)
        if folder.name not in listed and paths.model_dir.is_dir() and not paths.latest.exists():
            found.append(paths)
    return found
