"""Rendering of a T2M evaluation (metrics.json with ``"evaluator": "t2m"``): Rich table and
REPORT.md, both from one list of rows (``t2m_report_rows``, ``esd.evaluation.report.Row``).

Sections: efficacy (the forget split), preservation (retain), specificity (each related split),
then the whole test split (the papers' numbers). Values are "mean [lo, hi]" over the
replications; changes are the paired per-replication changes with their intervals; a verdict
sits on the row of the metric it reads. Pure functions: nothing here prints or writes files.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from esd.evaluation.report import STYLES, Row, fmt, overall_text, verdict_text
from esd.evaluation.t2m.splits import ALL_SPLIT, FORGET_SPLIT, RELATED_PREFIX, RETAIN_SPLIT
from esd.evaluation.verdicts import FID_TOLERANCE, R3_TOLERANCE, SPECIFICITY_TOLERANCE

ARROWS = {"efficacy": ("↓", "↑", "↑"), "other": ("↑", "↓", "↓")}  # R-precision, MS, FID
METRIC_LABELS = {"r_precision_top3": "R-precision top-3", "matching_score": "matching score",
                 "fid": "FID"}  # fmt: skip
DEFINITIONS = [
    "**R-precision top-k**: per batch of 32, a caption's own motion is among its k nearest",
    "**matching score**: mean distance between a caption's and its motion's embeddings",
    "**FID**: Frechet distance between the generated and the real motions' embeddings of a "
    "pass ('indicative' when a pass has no more motions than embedding dimensions)",
    "**diversity**: mean distance of 300 random pairs of motions of a pass",
    "**multimodality**: mean distance of 10 pairs among 30 generations of one caption, "
    "100 captions (Guo et al.)",
    "**concept rate**: share of generated motions the bundled recogniser assigns to the split's "
    "concept (beside the T2M numbers; decides no verdict)",
    "**[lo, hi]**: mean +- 1.96 std / sqrt(R) over R replications (the papers' convention); on "
    "a change, the same over the per-replication changes (model and baseline share every "
    "draw and seed)",
]


def _at(entry: dict | None, key: str, index: int | None) -> Any:
    if entry is None:
        return None
    value = entry.get(key)
    return value[index] if index is not None and value is not None else value


def _value(entry: dict | None, index: int | None = None) -> str:
    return fmt(_at(entry, "mean", index), interval=_at(entry, "ci95", index))


def _change(entry: dict | None, index: int | None = None) -> str:
    if entry is None:
        return ""
    lo, hi = _at(entry, "ci95", index)
    text = f"{_at(entry, 'change', index):+.3f} [{lo:+.3f}, {hi:+.3f}]"
    relative = entry.get("relative")
    if relative:
        rlo, rhi = relative["ci95"]
        text += f" ({relative['change']:+.0%} [{rlo:+.0%}, {rhi:+.0%}])"
    return text


class _Rows:
    def __init__(self, metrics: dict[str, Any]) -> None:
        self.t2m = metrics["t2m"]
        self.has_base = "baseline" in self.t2m
        self.rows: list[Row] = []

    def add(self, section, split, metric, label, index=None, verdict: Any = "") -> None:
        pick = lambda key: (self.t2m.get(key) or {}).get(split, {}).get(metric)  # noqa: E731
        model = pick("model")
        if model is None:
            return
        real = _value(pick("real"), index) if pick("real") is not None else ""
        if not self.has_base:
            self.rows.append(Row(section, label, _value(model, index), real=real))
            return
        shown = verdict_text(verdict) if verdict else ""
        self.rows.append(
            Row(section, label, _value(model, index), _value(pick("baseline"), index),
                _change(pick("changes"), index), real, shown)
        )  # fmt: skip

    def split(self, section: str, split: str, arrows: tuple[str, str, str], verdicts: dict):
        r_arrow, ms_arrow, fid_arrow = arrows
        fid_label = f"FID {fid_arrow}"
        if (self.t2m.get("splits", {}).get(split) or {}).get("fid_indicative"):
            fid_label += " (indicative)"
        self.add(section, split, "fid", fid_label, verdict=verdicts.get("fid", ""))
        for k in range(3):
            verdict = verdicts.get("r_precision_top3", "") if k == 2 else ""
            self.add(section, split, "r_precision", f"R-precision top-{k + 1} {r_arrow}", k,
                     verdict)  # fmt: skip
        self.add(section, split, "matching_score", f"matching score {ms_arrow}",
                 verdict=verdicts.get("matching_score", ""))  # fmt: skip
        self.add(section, split, "diversity", "diversity →")
        self.add(section, split, "multimodality", "multimodality")
        rate = self.t2m.get("model", {}).get(split, {}).get("concept_rate") or {}
        concept = rate.get("concept")
        arrow = "↓" if arrows is ARROWS["efficacy"] else "↑"
        self.add(section, split, "concept_rate", f"concept rate {arrow} ({concept}, bundled)")


def t2m_report_rows(metrics: dict[str, Any]) -> list[Row]:
    """Every row of a T2M report, in order (module docstring)."""
    rows = _Rows(metrics)
    verdicts = metrics.get("verdicts") or {}
    target = metrics["t2m"].get("target", "the target")
    efficacy = (verdicts.get("efficacy") or {}).get("metrics", {})
    rows.split(f"Efficacy: forget split ('{target}')", FORGET_SPLIT, ARROWS["efficacy"], efficacy)
    preservation = (verdicts.get("preservation") or {}).get("metrics", {})
    rows.split("Preservation: retain split", RETAIN_SPLIT, ARROWS["other"], preservation)
    for split in metrics["t2m"].get("splits", {}):
        if split.startswith(RELATED_PREFIX):
            text = split[len(RELATED_PREFIX) :]
            verdict = (verdicts.get("specificity") or {}).get(text, "")
            rows.split(f"Specificity: related split ('{text}')", split, ARROWS["other"],
                       {"r_precision_top3": verdict} if verdict else {})  # fmt: skip
    rows.split("Test split (the papers' numbers)", ALL_SPLIT, ARROWS["other"], {})
    return rows.rows


def _cell(text: str) -> str:
    value, bracket, rest = text.partition(" [")
    return escape(text) if not bracket else f"{escape(value)}\n[dim]{escape('[' + rest)}[/]"


def t2m_rich_table(metrics: dict[str, Any]) -> Table:
    """The T2M report as one Rich table, a section per split; the overall verdict as caption."""
    has_base = "baseline" in metrics["t2m"]
    name = metrics["model"].get("name", "model")
    caption = None
    if "verdicts" in metrics:
        caption = escape(f"Overall: {overall_text(metrics['verdicts'])} · [lo, hi] = 95% interval")
    table = Table(title=f"T2M evaluation of {name}", caption=caption)
    table.add_column("metric", no_wrap=True, overflow="ellipsis")
    for column in ["model", "baseline", "change"] if has_base else [name]:
        table.add_column(column, justify="right")
    table.add_column("real", justify="right")
    if has_base:
        table.add_column("verdict", justify="center")
    section = None
    for row in t2m_report_rows(metrics):
        if row.section != section:
            section = row.section
            table.add_section()
            table.add_row(f"[bold]{escape(section)}[/]")
        values = [row.model, *([row.baseline, row.change] if has_base else []), row.real]
        cells = [_cell(v) for v in values]
        if has_base:
            style = STYLES.get(row.verdict, "dim")
            cells.append(f"[{style}]{row.verdict}[/]" if row.verdict else "")
        table.add_row(f"  {escape(row.metric)}", *cells)
    return table


# --- REPORT.md ---------------------------------------------------------------------------------


def _md_table(rows: list[Row], has_base: bool) -> list[str]:
    header = ["metric", "model", *(["baseline", "change"] if has_base else []), "real"]
    header += ["verdict"] if has_base else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.metric, row.model, *([row.baseline, row.change] if has_base else [])]
        cells += [row.real, *([f"**{row.verdict}**" if row.verdict else ""] if has_base else [])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _summary(metrics: dict[str, Any]) -> list[str]:
    t2m, model = metrics["t2m"], metrics["model"]
    settings, data = t2m["settings"], t2m["data"]
    lines = [f"- Model: `{model.get('name')}` (`{model.get('ckpt')}`)"]
    if "baseline" in metrics:
        base = metrics["baseline"]
        lines.append(f"- Baseline: `{base.get('name')}` (`{base.get('ckpt')}`)")
    lines.append(
        f"- Data: `{data['data_root']}`, {data['items']} test items from {data['ids']} ids "
        f"({data['dropped_length']} outside 40-199 frames, {data['missing']} missing)"
    )
    sizes = ", ".join(f"{name} {info['items']}" for name, info in t2m["splits"].items())
    lines.append(f'- Splits (items): {sizes}; target "{t2m.get("target")}"')
    lines.append(
        f"- Protocol: {settings['replications']} replications, seed {settings['seed']}, batches "
        f"of {settings['batch_size']}, multimodality {'on' if settings['multimodality'] else 'off'}"
    )
    for label, sampler in (t2m.get("sampler") or {}).items():
        lines.append(f"- Sampler ({label}): {sampler['steps']} DDIM steps, guidance "
                     f"{sampler['guidance']}")  # fmt: skip
    agreement = data.get("tagger_agreement")
    if agreement:
        lines.append(f"- Lexicon tagger vs the caption files' tokens: {agreement['line']}")
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
    for block in ("efficacy", "preservation"):
        lines.append(f"- {block.capitalize()}: **{verdict_text(verdicts[block])}**")
        for name, verdict in verdicts[block]["metrics"].items():
            lines.append("  " + _verdict_line(METRIC_LABELS.get(name, name), verdict))
    for text, verdict in verdicts["specificity"].items():
        lines.append(_verdict_line(f'Specificity "{text}"', verdict))
    return lines


def _tolerances() -> list[str]:
    return [
        "## Rules",
        "",
        "Each rule is read on the 95% interval of the paired change (mean +- 1.96 std / sqrt(R) "
        "of the per-replication changes): PASS when the whole interval meets it, FAIL when none "
        "of it does, INCONCLUSIVE when it straddles the threshold.",
        "",
        "- Efficacy (forget split): R-precision top-3 fell, matching score rose, FID rose.",
        f"- Preservation (retain split): FID rose by at most {FID_TOLERANCE:.0%} (relative) and "
        f"R-precision top-3 fell by at most {R3_TOLERANCE}.",
        "- Specificity (each related split): R-precision top-3 fell by at most "
        f"{SPECIFICITY_TOLERANCE * 100:.0f} points.",
    ]


def t2m_markdown_report(metrics: dict[str, Any]) -> str:
    """REPORT.md of a T2M evaluation: summary, verdicts, one table per split, rules, notes."""
    has_base = "baseline" in metrics["t2m"]
    lines = [f"# T2M evaluation of `{metrics['model'].get('name')}`", "", *_summary(metrics), ""]
    lines += ["## Verdicts", "", *_verdict_lines(metrics), ""]
    rows = t2m_report_rows(metrics)
    for section in dict.fromkeys(r.section for r in rows):
        lines += [f"## {section}", ""]
        lines += [*_md_table([r for r in rows if r.section == section], has_base), ""]
    lines += [*_tolerances(), ""]
    if metrics.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in metrics["notes"]], ""]
    lines += ["## Definitions", "", *[f"- {d}" for d in DEFINITIONS], ""]
    lines += ["Arrows: the direction an erased target (efficacy) or a preserved model should "
              "move; → closer to real is better.", ""]  # fmt: skip
    return "\n".join(lines)
