"""What the workbench UI shows, as pure functions of the service's values.

Status lines of jobs (``progress_text``), the metrics table and its summary line, the model
list, the prompts a run was trained with. No state, no I/O: app.py calls these on what
``esd.workbench.service.Workbench`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from esd.common.errors import one_line
from esd.evaluation.instruments import DEFAULT_RELATED, DEFAULT_TARGET
from esd.evaluation.report import report_rows, verdict_text
from esd.models import checkpoints as ck
from esd.workbench.catalogue import ModelInfo
from esd.workbench.jobs import JobSnapshot
from esd.workbench.user_input import WorkbenchError

METRICS_HEADERS = ("block", "metric", "unlearned", "original", "change", "real", "verdict")
MODEL_HEADERS = (
    "name", "kind", "base", "concept", "method", "eta", "lr", "steps", "batch", "created",
    "concept rate", "verdict", "note",
)  # fmt: skip


def default_base_model(names: Sequence[str]) -> str | None:
    """The bundled default base model when it is listed, else the first one (None: no model)."""
    if ck.BASE_MODEL_NAME in names:
        return ck.BASE_MODEL_NAME
    return names[0] if names else None


def duration_text(seconds: float | None) -> str:
    """``"42.0 s"``, ``"3 min 05 s"``, ``"2 h 07 min"`` ("-" for None)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def progress_text(snap: JobSnapshot) -> str:
    """Status of a job for the UI: one line of numbers (step, epoch, loss, elapsed, rate, ETA),
    then the job's message on a second line."""
    unit = "it/s" if snap.kind == "training" else "motions/s"
    parts = [snap.state] + ([snap.run_name] if snap.run_name else [])
    if snap.total:
        parts.append(f"step {snap.step}/{snap.total} ({snap.progress:.0%})")
    if snap.epoch:
        parts.append(f"epoch {snap.epoch}")
    if snap.losses:
        parts.append(f"loss {snap.losses[-1]:.5f}")
    if snap.started_at is not None:
        parts.append(f"elapsed {duration_text(snap.elapsed_s)}")
    if snap.rate:
        parts.append(f"{snap.rate:.1f} {unit}")
    if snap.active and snap.eta_s is not None:
        parts.append(f"ETA {duration_text(snap.eta_s)}")
    return " · ".join(parts) + (f"\n{snap.message}" if snap.message else "")


def metrics_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """Rows of the metrics table (``METRICS_HEADERS``) from a metrics.json dict: the model (an
    unlearned run) against its baseline (the original model), as
    ``esd.evaluation.report`` renders them."""
    try:
        rows = report_rows(metrics)
    except (KeyError, TypeError, IndexError) as err:
        raise WorkbenchError(
            f"the metrics are incomplete ({one_line(err)}); evaluate the model again"
        ) from None
    return [[r.section, r.metric, r.model, r.baseline, r.change, r.real, r.verdict] for r in rows]


def metrics_summary(metrics: dict[str, Any]) -> str:
    """One line above the metrics table: models, preset, samples and the verdicts."""
    model = (metrics.get("model") or {}).get("name", "?")
    base = (metrics.get("baseline") or {}).get("name")
    settings = metrics.get("settings") or {}
    line = f"{model}" + (f" vs original {base}" if base else " (no baseline)")
    line += f" · preset {settings.get('preset', '?')}, seed {settings.get('seed', '?')}"
    verdicts = metrics.get("verdicts")
    if not verdicts:
        return line
    parts = [f"{k} {verdict_text(verdicts[k].get('pass'))}" for k in ("efficacy", "preservation")]
    for text, verdict in (verdicts.get("specificity") or {}).items():
        parts.append(f"specificity '{text}' {verdict_text(verdict.get('pass'))}")
    return f"{line} · overall {verdict_text(verdicts.get('overall'))} ({', '.join(parts)})"


def _dig(block: Any, *keys: str) -> Any:
    for key in keys:
        block = block.get(key) if isinstance(block, dict) else None
    return block


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def model_rows(infos: Sequence[ModelInfo]) -> list[list[str]]:
    """Rows of the model list (``MODEL_HEADERS``): settings of each run and its last metrics."""
    rows = []
    for info in infos:
        esd = info.settings if info.kind == "esd" else {}
        metrics = info.metrics or {}
        verdicts = metrics.get("verdicts")
        values = [
            info.name,
            info.kind + (" (bundled)" if info.bundled else ""),
            info.base,
            esd.get("concepts"),
            esd.get("method"),
            esd.get("negative_guidance"),
            esd.get("lr"),
            info.steps,
            esd.get("batch_size"),
            info.created,
            _dig(metrics, "model", "efficacy", "concept_rate"),
            verdict_text(verdicts.get("overall")) if isinstance(verdicts, dict) else None,
            info.error,
        ]
        rows.append([_cell(v) for v in values])
    return rows


def run_prompts(info: ModelInfo) -> tuple[str, tuple[str, ...]]:
    """(target concept, related concepts) of a run; the defaults for a base model."""
    concepts = info.settings.get("concepts") if info.kind == "esd" else None
    related = info.settings.get("related") if info.kind == "esd" else None
    target = str(concepts[0]) if concepts else DEFAULT_TARGET
    return target, tuple(str(r) for r in (related or DEFAULT_RELATED))
