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
from esd.evaluation.report import report_rows
from esd.evaluation.verdicts import UNDECIDED, combine, read_verdict
from esd.models import checkpoints as ck
from esd.workbench.catalogue import ModelInfo
from esd.workbench.families import family_text
from esd.workbench.jobs import JobSnapshot
from esd.workbench.recognition_notes import PairNote
from esd.workbench.user_input import WorkbenchError

METRICS_HEADERS = ("block", "metric", "unlearned", "original", "change", "real", "verdict")
MODEL_HEADERS = (
    "name", "status", "efficacy", "preservation", "specificity", "concept rate", "concept",
    "method", "η", "lr", "steps", "batch", "base", "family", "created", "note",
)  # fmt: skip
SHADOW_TEXT = "shadows the bundled model of the same name"  # a checkpoints model named so
RUN_MARKERS = {  # run status -> marker in the model list
    "trained": "✓ trained", "incomplete": "◐ incomplete", "training": "▶ training",
    "broken": "✗ broken", "failed": "✗ failed",
}  # fmt: skip


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


def combined_verdict(labels: Sequence[str]) -> str:
    """One label for several verdicts (``esd.evaluation.verdicts.combine``): n/a for none."""
    return combine(labels) if labels else UNDECIDED


def block_verdicts(metrics: dict[str, Any] | None) -> dict[str, str]:
    """{"efficacy", "preservation", "specificity", "overall"} labels of a metrics.json ({}
    without verdicts: no baseline, or not evaluated)."""
    verdicts = (metrics or {}).get("verdicts")
    if not isinstance(verdicts, dict):
        return {}
    specificity = verdicts.get("specificity") or {}
    labels = {
        "efficacy": read_verdict(verdicts.get("efficacy")),
        "preservation": read_verdict(verdicts.get("preservation")),
        "specificity": combined_verdict([read_verdict(v) for v in specificity.values()]),
    }
    overall = verdicts.get("overall_verdict", verdicts.get("overall"))
    labels["overall"] = (
        read_verdict(overall) if overall is not None else combined_verdict(list(labels.values()))
    )
    return labels


def metrics_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """Rows of the metrics table (``METRICS_HEADERS``) from a metrics.json dict: the model (an
    unlearned run) against its baseline (the original model), as
    ``esd.evaluation.report.report_rows`` renders them; each row's verdict is the engine's
    verdict of that metric (pass / fail / inconclusive; '' for a row without one)."""
    try:
        rows = report_rows(metrics)
    except (KeyError, TypeError, IndexError) as err:
        raise WorkbenchError(
            f"the metrics are incomplete ({one_line(err)}); evaluate the model again"
        ) from None
    return [
        [r.section, r.metric, r.model, r.baseline, r.change, r.real,
         read_verdict(r.verdict) if r.verdict else ""]
        for r in rows
    ]  # fmt: skip


def metrics_summary(metrics: dict[str, Any]) -> str:
    """One line above the metrics table: models, preset, samples and the verdicts per block."""
    model = (metrics.get("model") or {}).get("name", "?")
    base = (metrics.get("baseline") or {}).get("name")
    settings = metrics.get("settings") or {}
    line = f"{model}" + (f" vs original {base}" if base else " (no baseline)")
    line += f" · preset {settings.get('preset', '?')}, seed {settings.get('seed', '?')}"
    labels = block_verdicts(metrics)
    if not labels:
        return line
    parts = [f"efficacy {labels['efficacy']}", f"preservation {labels['preservation']}"]
    per_metric = ((metrics.get("verdicts") or {}).get("preservation") or {}).get("metrics")
    if isinstance(per_metric, dict) and per_metric:
        inner = ", ".join(f"{k.replace('_', ' ')} {read_verdict(v)}" for k, v in per_metric.items())
        parts[-1] += f" [{inner}]"
    for text, verdict in ((metrics.get("verdicts") or {}).get("specificity") or {}).items():
        parts.append(f"specificity '{text}' {read_verdict(verdict)}")
    return f"{line} · overall {labels['overall']} ({', '.join(parts)})"


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


def status_text(info: ModelInfo) -> str:
    """The marker of a model in the list: a run's state and why; "base model" (or refused),
    and that it shadows the bundled model of its name when it does."""
    if info.kind != "esd":
        text = "✗ refused" if info.error else "base model" + (" (bundled)" if info.bundled else "")
        return f"{text} · {SHADOW_TEXT}" if info.shadows else text
    marker = RUN_MARKERS.get(info.status, info.status)
    text = f"{marker}: {info.status_note}" if info.status_note else marker
    return f"{text} · {SHADOW_TEXT}" if info.shadows else text


def model_rows(infos: Sequence[ModelInfo]) -> list[list[str]]:
    """Rows of the model list (``MODEL_HEADERS``): state, verdicts, settings of each run, the
    family and text encoder of every model ("SALAD · CLIP ViT-B/32")."""
    rows = []
    for info in infos:
        esd = info.settings if info.kind == "esd" else {}
        metrics = info.metrics or {}
        labels = block_verdicts(metrics)
        values = [
            info.name,
            status_text(info),
            labels.get("efficacy"),
            labels.get("preservation"),
            labels.get("specificity"),
            _dig(metrics, "model", "efficacy", "concept_rate"),
            esd.get("concepts"),
            esd.get("method"),
            esd.get("negative_guidance"),
            esd.get("lr"),
            info.steps,
            esd.get("batch_size"),
            info.base,
            family_text(info.family, info.text_encoder),
            info.created,
            info.error if info.kind != "esd" else None,
        ]
        rows.append([_cell(v) for v in values])
    return rows


def run_label(name: str) -> str:
    """A run as a picker shows it: its concept first ("a_person_kicking · from BASE"), so a
    narrow field never cuts the part that tells runs apart; other models by name."""
    base, sep, concept = name.partition("_ESD_")
    return f"{concept} · from {base}" if sep and concept else name


def run_choices(names: Sequence[str]) -> list[tuple[str, str]]:
    """(label, name) choices of a picker of runs / models (``run_label``)."""
    return [(run_label(n), n) for n in names]


def run_prompts(info: ModelInfo) -> tuple[str, tuple[str, ...]]:
    """(target concept, related concepts) of a run; the defaults for a base model."""
    concepts = info.settings.get("concepts") if info.kind == "esd" else None
    related = info.settings.get("related") if info.kind == "esd" else None
    target = str(concepts[0]) if concepts else DEFAULT_TARGET
    return target, tuple(str(r) for r in (related or DEFAULT_RELATED))


def note_sides(note: PairNote) -> tuple[str, str]:
    """(under the original, under the unlearned) texts of a pair: "kick 0.92 · walk 0.04"."""
    left = " · ".join(f"{c} {p:.2f}" for c, p in zip(note.concepts, note.original))
    right = " · ".join(f"{c} {p:.2f}" for c, p in zip(note.concepts, note.unlearned))
    return left, right


def note_line(note: PairNote) -> str:
    """A pair's note on one line: "kick 0.92 → 0.03 · walk 0.04 → 0.81"."""
    return " · ".join(
        f"{c} {p:.2f} → {q:.2f}" for c, p, q in zip(note.concepts, note.original, note.unlearned)
    )
