"""Rendering of an evaluation (metrics.json of ``esd.evaluation.protocol``): Rich table, REPORT.md.

Both renderings come from one list of rows (``report_rows``), so the terminal and the file never
disagree. Pure functions: nothing here prints or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table

from esd.evaluation.changes import interval_of, lookup
from esd.evaluation.metrics import DIVERSITY_PAIRS, MULTIMODALITY_PAIRS
from esd.evaluation.settings import MM_PROMPTS, MM_REPEATS
from esd.evaluation.verdicts import (
    FID_TOLERANCE,
    R3_TOLERANCE,
    SPECIFICITY_TOLERANCE,
    read_verdict,
)

PASS, FAIL, INCONCLUSIVE, UNKNOWN = "PASS", "FAIL", "INCONCLUSIVE", "n/a"
LABELS = {"pass": PASS, "fail": FAIL, "inconclusive": INCONCLUSIVE, "n/a": UNKNOWN}

METRIC_HELP = {
    "concept rate": "share of motions the zero-shot recogniser assigns to the concept",
    "held-out concept rate": "concept rate on held-out phrasings only (never seen in training)",
    "matching score": "mean distance between a prompt's text embedding and its motion (lower = "
    "closer)",
    "FID": "Frechet distance between generated and real motions of the same clips (lower is "
    "better); 'indicative' when there are no more samples than embedding dimensions (the "
    "covariances are rank-deficient and the value is biased upward: compare only at the same "
    "sample count)",
    "R-precision": "a caption retrieves its own motion among 32 candidates, top-1/2/3 (higher "
    "is better; real = ceiling)",
    "diversity": f"mean distance between {DIVERSITY_PAIRS} random pairs of two different motions "
    "(closer to real is better; fewer pairs are named on the row)",
    "multimodality": f"mean distance between {MULTIMODALITY_PAIRS} pairs of two different "
    f"generations among {MM_REPEATS} of one caption, {MM_PROMPTS} captions; full preset only "
    "(null in quick mode)",
    "[lo, hi]": "95% interval: Wilson for concept rates and R-precision, bootstrap over the "
    "samples for FID and matching score; on a change, the paired bootstrap (same prompts and "
    "seeds for both models: [0, 0] when both models agree on every sample)",
    "INCONCLUSIVE": "the interval of the change straddles the rule's threshold: too few samples "
    "to tell (evaluate more samples, e.g. the full preset)",
}


@dataclass(frozen=True)
class Row:
    """One line of the report; values are already formatted strings ('' when absent), a value
    followed by its 95% interval in brackets when it has one."""

    section: str
    metric: str
    model: str
    baseline: str = ""
    change: str = ""
    real: str = ""
    verdict: str = ""


def fmt(value: Any, digits: int = 3, interval: Any = None) -> str:
    """A number with ``digits`` decimals ('-' for None), then ``[lo, hi]`` when given."""
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    if interval is not None:
        text += f" [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
    return text


def fmt_change(model: Any, baseline: Any, relative: bool = False, entry: Any = None) -> str:
    """Signed difference model - baseline with its interval (``changes`` entry); for
    ``relative``, the relative change in parentheses and ITS interval (in %)."""
    if model is None or baseline is None:
        return "-"
    text = f"{model - baseline:+.3f}"
    interval = entry.get("ci95") if isinstance(entry, dict) else None
    if relative and baseline:
        text += f" ({(model - baseline) / baseline:+.0%})"
        bounds = entry.get("relative_ci95") if isinstance(entry, dict) else None
        return text + (f" [{bounds[0]:+.0%}, {bounds[1]:+.0%}]" if bounds is not None else "")
    if interval is not None:
        text += f" [{interval[0]:+.3f}, {interval[1]:+.3f}]"
    return text


def verdict_text(passed: Any) -> str:
    """PASS / FAIL / INCONCLUSIVE / n/a of a verdict (``esd.evaluation.verdicts.read_verdict``:
    a verdict dict, a verdict string, or a legacy bool / None)."""
    return LABELS[read_verdict(passed)]


def overall_text(verdicts: dict[str, Any]) -> str:
    """The overall verdict of a metrics.json ``verdicts`` block (legacy files: ``overall``)."""
    return verdict_text(verdicts.get("overall_verdict", verdicts.get("overall")))


class _Rows:
    """Collects rows; each metric is read from model, baseline, changes and real with the same
    path, with its interval."""

    def __init__(self, metrics: dict[str, Any]) -> None:
        self.model = metrics["model"]
        self.baseline = metrics.get("baseline")
        self.changes = metrics.get("changes")
        self.real = metrics.get("real", {})
        self.rows: list[Row] = []

    def add(
        self,
        section: str,
        metric: str,
        path: tuple[str | int, ...],
        real_path: tuple[str | int, ...] | None = None,
        verdict: Any = "",  # "" = this row carries no verdict; else a verdict dict
        relative: bool = False,
    ) -> None:
        m, b = lookup(self.model, path), lookup(self.baseline, path)
        real = ""
        if real_path:
            real = fmt(lookup(self.real, real_path), interval=interval_of(self.real, real_path))
        model = fmt(m, interval=interval_of(self.model, path))
        if self.baseline is None:
            self.rows.append(Row(section, metric, model, real=real))
            return
        shown = "" if verdict == "" else verdict_text(verdict)
        change = fmt_change(m, b, relative, lookup(self.changes, path))
        baseline = fmt(b, interval=interval_of(self.baseline, path))
        self.rows.append(Row(section, metric, model, baseline, change, real, shown))


def report_rows(metrics: dict[str, Any]) -> list[Row]:
    """Every row of the report, in order: efficacy, preservation (retain, forget), specificity.

    A verdict sits on the row of the metric it reads (concept rates, retain FID, retain
    R-precision top-3), never a block's verdict on one metric's row."""
    rows = _Rows(metrics)
    verdicts = metrics.get("verdicts")
    _efficacy_rows(rows, metrics, verdicts)
    for part in ("retain", "forget"):
        _preservation_rows(rows, part, verdicts if part == "retain" else None)
    for text in metrics["model"]["specificity"]:
        section = f"Specificity: {text}"
        verdict = lookup(verdicts, ("specificity", text)) if verdicts else ""
        rows.add(section, "concept rate ↑", ("specificity", text, "concept_rate"), None, verdict)
        rows.add(section, "matching score", ("specificity", text, "matching_score"))
    return rows.rows


def _efficacy_rows(rows: _Rows, metrics: dict, verdicts: dict | None) -> None:
    target = metrics["model"]["efficacy"]["concept"]
    section = f"Efficacy: {target}"
    verdict = lookup(verdicts, ("efficacy",)) if verdicts else ""
    real = ("forget", "concept_rate")
    rows.add(section, "concept rate ↓", ("efficacy", "concept_rate"), real, verdict)
    rows.add(section, "held-out concept rate ↓", ("efficacy", "heldout_concept_rate"))
    rows.add(section, "matching score", ("efficacy", "matching_score"))


def _metric_verdict(verdicts: dict | None, name: str) -> Any:
    """The verdict of one preservation metric ('' when there is none: no row verdict)."""
    if not verdicts:
        return ""
    verdict = lookup(verdicts, ("preservation", "metrics", name))
    return verdict if verdict is not None else ""


def _preservation_rows(rows: _Rows, part: str, verdicts: dict | None) -> None:
    section = f"Preservation: {part} set"
    base = ("preservation", part)
    fid_label = "FID ↓"
    if lookup(rows.model, (*base, "fid_indicative")):
        fid_label += " (indicative)"
    fid_verdict = _metric_verdict(verdicts, "fid")
    rows.add(section, fid_label, (*base, "fid"), None, fid_verdict, relative=True)
    for k in range(3):
        rows.add(
            section,
            f"R-precision top-{k + 1} ↑",
            (*base, "r_precision", k),
            (part, "r_precision", k),
            _metric_verdict(verdicts, "r_precision_top3") if k == 2 else "",
        )
    rows.add(section, "matching score ↓", (*base, "matching_score"), (part, "matching_score"))
    pairs = lookup(rows.model, (*base, "diversity_pairs"))
    few = f" ({pairs} pairs)" if pairs and pairs < DIVERSITY_PAIRS else ""
    rows.add(section, f"diversity →{few}", (*base, "diversity"), (part, "diversity"))
    if part == "retain":
        rows.add(section, "multimodality", (*base, "multimodality"))


# --- terminal ----------------------------------------------------------------------------------

STYLES = {PASS: "green", FAIL: "bold red", INCONCLUSIVE: "yellow"}  # verdict cell colours


def _cell(text: str) -> str:
    """A value cell: the value, its interval dim on a second line."""
    value, bracket, rest = text.partition(" [")
    if not bracket:
        return escape(text)
    return f"{escape(value)}\n[dim]{escape('[' + rest)}[/]"


def rich_table(metrics: dict[str, Any]) -> Table:
    """The report as one Rich table, a section per block; the overall verdict as its caption."""
    has_base = "baseline" in metrics
    model_name = metrics["model"].get("name", "model")
    caption = None
    if "verdicts" in metrics:
        caption = escape(f"Overall: {overall_text(metrics['verdicts'])} · [lo, hi] = 95% interval")
    table = Table(title=f"Evaluation of {model_name}", show_lines=False, caption=caption)
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
            table.add_row(f"[bold]{escape(section)}[/]")
        values = [row.model] + ([row.baseline, row.change] if has_base else []) + [row.real]
        cells = [_cell(v) for v in values]
        if has_base:
            style = STYLES.get(row.verdict, "dim")
            cells.append(f"[{style}]{row.verdict}[/]" if row.verdict else "")
        table.add_row(f"  {escape(row.metric)}", *cells)
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
    intervals = settings.get("intervals")
    if intervals:
        lines.append(
            f"- Intervals: {intervals['level']:.0%}; rates: {intervals['rates']}; FID and "
            f"matching score: {intervals['fid_matching']}; changes: {intervals['changes']}"
        )
    return lines


def _verdict_line(label: str, verdict: dict[str, Any]) -> str:
    reason = f" ({verdict['reason']})" if verdict.get("reason") else ""
    bounds = verdict.get("change_ci95")
    interval = ""
    if bounds is not None:
        relative = verdict.get("change_relative") is not None
        lo, hi = (f"{x:+.0%}" if relative else f"{x:+.3f}" for x in bounds)
        interval = f", change in [{lo}, {hi}]"
    return f"- {label} [{verdict['rule']}]: **{verdict_text(verdict)}**{interval}{reason}"


def _verdict_lines(metrics: dict[str, Any]) -> list[str]:
    if "verdicts" not in metrics:
        return ["No baseline was given: no verdicts (pass --baseline_name)."]
    verdicts = metrics["verdicts"]
    lines = [f"**Overall: {overall_text(verdicts)}**", ""]
    lines.append(_verdict_line("Efficacy", verdicts["efficacy"]))
    preservation = verdicts["preservation"]
    parts = preservation.get("metrics")
    if parts:
        lines.append(f"- Preservation: **{verdict_text(preservation)}**")
        lines.append("  " + _verdict_line("FID", parts["fid"]))
        lines.append("  " + _verdict_line("R-precision top-3", parts["r_precision_top3"]))
    else:  # a metrics.json written before per-metric verdicts
        lines.append(_verdict_line("Preservation", preservation))
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
        "Each rule is read on the 95% interval of the change: PASS when the whole interval meets "
        "it, FAIL when none of it does, INCONCLUSIVE when it straddles the threshold. A block and "
        "the overall verdict fail if any metric fails, else are inconclusive if any is.",
        "",
        "- Efficacy passes when the target concept rate fell.",
        f"- Preservation: the retain FID rose by at most {FID_TOLERANCE:.0%} (relative), and "
        f"R-precision top-3 fell by at most {R3_TOLERANCE}.",
        "- Specificity passes when a related concept's rate fell by at most "
        f"{SPECIFICITY_TOLERANCE * 100:.0f} points.",
    ]
