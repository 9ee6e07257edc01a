"""Rendering of an evaluation (metrics.json of ``esd.evaluation.protocol``): Rich table, REPORT.md.

Both renderings come from one list of rows (``report_rows``), so the terminal and the file never
disagree. Pure functions: nothing here prints or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table

from esd.evaluation.settings import MM_PROMPTS, MM_REPEATS
from esd.evaluation.verdicts import FID_TOLERANCE, R3_TOLERANCE, SPECIFICITY_TOLERANCE

PASS, FAIL, UNKNOWN = "PASS", "FAIL", "n/a"

METRIC_HELP = {
    "concept rate": "share of motions the zero-shot recogniser assigns to the concept",
    "held-out concept rate": "concept rate on held-out phrasings only (never seen in training)",
    "matching score": "mean distance between a prompt's text embedding and its motion (lower = "
    "closer)",
    "FID": "Frechet distance between generated and real motions of the same clips (lower is "
    "better)",
    "R-precision": "a caption retrieves its own motion among 32 candidates, top-1/2/3 (higher "
    "is better; real = ceiling)",
    "diversity": "mean distance between random pairs of motions (closer to real is better)",
    "multimodality": f"mean distance between {MM_REPEATS} generations of one caption, "
    f"{MM_PROMPTS} captions; full preset only (null in quick mode)",
}


@dataclass(frozen=True)
class Row:
    """One line of the report; values are already formatted strings ('' when absent)."""

    section: str
    metric: str
    model: str
    baseline: str = ""
    change: str = ""
    real: str = ""
    verdict: str = ""


def fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; '-' for None."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def fmt_change(model: Any, baseline: Any, relative: bool = False) -> str:
    """Signed difference model - baseline (plus the relative change for ``relative``)."""
    if model is None or baseline is None:
        return "-"
    text = f"{model - baseline:+.3f}"
    if relative and baseline:
        text += f" ({(model - baseline) / baseline:+.0%})"
    return text


def verdict_text(passed: bool | None) -> str:
    return UNKNOWN if passed is None else (PASS if passed else FAIL)


def _get(block: dict | None, *keys: str | int) -> Any:
    value: Any = block
    for key in keys:
        if value is None:
            return None
        value = value[key]
    return value


class _Rows:
    """Collects rows; each metric is read from model, baseline and real with the same path."""

    def __init__(self, metrics: dict[str, Any]) -> None:
        self.model = metrics["model"]
        self.baseline = metrics.get("baseline")
        self.real = metrics.get("real", {})
        self.rows: list[Row] = []

    def add(
        self,
        section: str,
        metric: str,
        path: tuple[str | int, ...],
        real_path: tuple[str | int, ...] | None = None,
        verdict: bool | str | None = "",  # "" = this row carries no verdict
        relative: bool = False,
    ) -> None:
        m, b = _get(self.model, *path), _get(self.baseline, *path)
        real = fmt(_get(self.real, *real_path)) if real_path else ""
        if self.baseline is None:
            self.rows.append(Row(section, metric, fmt(m), real=real))
            return
        shown = (
            "" if verdict == "" else verdict_text(verdict if isinstance(verdict, bool) else None)
        )
        change = fmt_change(m, b, relative)
        self.rows.append(Row(section, metric, fmt(m), fmt(b), change, real, shown))


def report_rows(metrics: dict[str, Any]) -> list[Row]:
    """Every row of the report, in order: efficacy, preservation (retain, forget), specificity."""
    rows = _Rows(metrics)
    verdicts = metrics.get("verdicts", {})
    _efficacy_rows(rows, metrics, verdicts)
    for part in ("retain", "forget"):
        _preservation_rows(rows, part, verdicts if part == "retain" else {})
    for text in metrics["model"]["specificity"]:
        section = f"Specificity: {text}"
        passed = _get(verdicts, "specificity", text, "pass") if verdicts else ""
        rows.add(section, "concept rate ↑", ("specificity", text, "concept_rate"), None, passed)
        rows.add(section, "matching score", ("specificity", text, "matching_score"))
    return rows.rows


def _efficacy_rows(rows: _Rows, metrics: dict, verdicts: dict) -> None:
    target = metrics["model"]["efficacy"]["concept"]
    section = f"Efficacy: {target}"
    passed = _get(verdicts, "efficacy", "pass") if verdicts else ""
    real = ("forget", "concept_rate")
    rows.add(section, "concept rate ↓", ("efficacy", "concept_rate"), real, passed)
    rows.add(section, "held-out concept rate ↓", ("efficacy", "heldout_concept_rate"))
    rows.add(section, "matching score", ("efficacy", "matching_score"))


def _preservation_rows(rows: _Rows, part: str, verdicts: dict) -> None:
    section = f"Preservation: {part} set"
    base = ("preservation", part)
    passed = _get(verdicts, "preservation", "pass") if verdicts else ""
    rows.add(section, "FID ↓", (*base, "fid"), None, passed, relative=True)
    for k in range(3):
        rows.add(
            section,
            f"R-precision top-{k + 1} ↑",
            (*base, "r_precision", k),
            (part, "r_precision", k),
            passed if k == 2 else "",
        )
    rows.add(section, "matching score ↓", (*base, "matching_score"), (part, "matching_score"))
    rows.add(section, "diversity →", (*base, "diversity"), (part, "diversity"))
    if part == "retain":
        rows.add(section, "multimodality", (*base, "multimodality"))


# --- terminal ----------------------------------------------------------------------------------


def rich_table(metrics: dict[str, Any]) -> Table:
    """The report as one Rich table, a section per block."""
    has_base = "baseline" in metrics
    model_name = metrics["model"].get("name", "model")
    table = Table(title=f"Evaluation of {model_name}", show_lines=False)
    table.add_column("metric", no_wrap=True, overflow="ellipsis")
    table.add_column(model_name if not has_base else "model", justify="right")
    if has_base:
        table.add_column("baseline", justify="right")
        table.add_column("change", justify="right")
    table.add_column("real", justify="right")
    if has_base:
        table.add_column("verdict", justify="center")
    section = None
    for row in report_rows(metrics):
        if row.section != section:
            section = row.section
            table.add_section()
            table.add_row(f"[bold]{section}[/]")
        cells = [row.model] + ([row.baseline, row.change] if has_base else []) + [row.real]
        if has_base:
            style = {PASS: "green", FAIL: "bold red"}.get(row.verdict, "dim")
            cells.append(f"[{style}]{row.verdict}[/]" if row.verdict else "")
        table.add_row(f"  {row.metric}", *cells)
    return table


# --- REPORT.md ---------------------------------------------------------------------------------


def _md_table(rows: list[Row], has_base: bool) -> list[str]:
    header = ["metric", "model"] + (["baseline", "change"] if has_base else []) + ["real"]
    header += ["verdict"] if has_base else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.metric, row.model] + ([row.baseline, row.change] if has_base else [])
        cells += [row.real] + ([f"**{row.verdict}**" if row.verdict else ""] if has_base else [])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _summary(metrics: dict[str, Any]) -> list[str]:
    model, settings = metrics["model"], metrics["settings"]
    lines = [f"- Model: `{model.get('name')}` (`{model.get('ckpt')}`)"]
    if "baseline" in metrics:
        base = metrics["baseline"]
        lines.append(f"- Baseline: `{base.get('name')}` (`{base.get('ckpt')}`)")
    target = settings["target"]
    lines.append(
        f'- Target concept: "{target["text"]}" -> recognised as '
        f"`{target['name'] or 'unplaced'}`; forget set rule: {settings['forget_rule']} "
        f"({settings['forget_clips']} forget / {settings['retain_clips']} retain clips)"
    )
    counts = settings["num_samples"]
    lines.append(
        f"- Settings: preset `{settings['preset']}`, seed {settings['seed']}, "
        f"{settings['ddim_steps']} DDIM steps, guidance {settings['guidance_scale']}, samples: "
        f"{counts['retain']} retain / {counts['forget']} forget / {counts['concept']} per concept"
    )
    ref = settings["reference"]
    lines.append(
        f"- Reference: {ref['clips']} clips of the `{ref['split']}` split of `{ref['source']}` "
        f"(evaluator {ref['evaluator']})"
    )
    return lines


def _verdict_line(label: str, verdict: dict[str, Any]) -> str:
    reason = f" ({verdict['reason']})" if verdict.get("reason") else ""
    return f"- {label} [{verdict['rule']}]: **{verdict_text(verdict['pass'])}**{reason}"


def _verdict_lines(metrics: dict[str, Any]) -> list[str]:
    if "verdicts" not in metrics:
        return ["No baseline was given: no verdicts (pass --baseline_name)."]
    verdicts = metrics["verdicts"]
    lines = [f"**Overall: {verdict_text(verdicts['overall'])}**", ""]
    lines.append(_verdict_line("Efficacy", verdicts["efficacy"]))
    lines.append(_verdict_line("Preservation", verdicts["preservation"]))
    for text, verdict in verdicts["specificity"].items():
        lines.append(_verdict_line(f'Specificity "{text}"', verdict))
    return lines


def markdown_report(metrics: dict[str, Any]) -> str:
    """REPORT.md: summary, verdicts, one table per block, tolerances, notes, definitions."""
    has_base = "baseline" in metrics
    lines = [f"# Evaluation of `{metrics['model'].get('name')}`", "", *_summary(metrics), ""]
    lines += ["## Verdicts", "", *_verdict_lines(metrics), ""]
    rows = report_rows(metrics)
    for section in dict.fromkeys(r.section for r in rows):
        lines += [f"## {section}", ""]
        lines += [*_md_table([r for r in rows if r.section == section], has_base), ""]
    lines += [*_tolerance_lines(), ""]
    notes = list(dict.fromkeys(metrics.get("notes", []) + _model_notes(metrics)))
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    lines += ["## Definitions", ""]
    lines += [f"- **{name}**: {text}" for name, text in METRIC_HELP.items()]
    lines += ["", "Arrows: ↓ lower is better for an erased target / preserved model, "
              "↑ higher is better, → closer to real is better.", ""]  # fmt: skip
    return "\n".join(lines)


def _model_notes(metrics: dict[str, Any]) -> list[str]:
    """Notes raised while measuring the model and the baseline (mostly the same ones)."""
    return [n for key in ("model", "baseline") for n in metrics.get(key, {}).get("notes", [])]


def _tolerance_lines() -> list[str]:
    return [
        "## Tolerances",
        "",
        "- Efficacy passes when the target concept rate fell.",
        f"- Preservation passes when the retain FID rose by at most {FID_TOLERANCE:.0%} "
        f"(relative) and R-precision top-3 fell by at most {R3_TOLERANCE}.",
        "- Specificity passes when a related concept's rate fell by at most "
        f"{SPECIFICITY_TOLERANCE * 100:.0f} points.",
    ]
