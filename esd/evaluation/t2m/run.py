"""An unlearning evaluation with the T2M evaluator: a model and its baseline through the papers'
protocol on the same splits and seeds, their changes, verdicts and concept rates.

``run_t2m(generators, instruments, splits, settings)`` runs ``evaluate_t2m`` once per model
("model", then "baseline" when given) with the same ``T2MSettings`` (so replication r of both
draws the same captions, lengths, windows and noise: their numbers pair up), and returns the
``t2m`` block of metrics.json::

    {"settings": {...}, "data": {...},
     "splits": {split: {"items", "batches", "evaluated", "motions_per_pass", "fid_indicative"}},
     "model" | "baseline": {split: {metric: entry}},   # generated motions
     "real": {split: {metric: entry}},                 # the ground truth (ceiling)
     "changes": {split: {metric: change entry}},       # with a baseline
     "concept_probe": {"evaluator", "concepts": {split: concept}}}  # with a probe

entries as ``esd.evaluation.t2m.summary`` (mean, ci95 [lo, hi], half_width, per_replication);
metrics: r_precision (top-1/2/3), matching_score, fid (generated only), diversity,
multimodality (with ``settings.multimodality``), and ``concept_rate`` where a ``ConceptProbe``
recognises a split's generated motions (the bundled recogniser: the share of motions it
assigns to the split's concept, per replication). ``t2m_verdicts`` reads the changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from esd.evaluation.t2m.evaluator import T2MEvaluator
from esd.evaluation.t2m.generation import meta_denormalise
from esd.evaluation.t2m.protocol import Generate, T2MResult, T2MSettings, evaluate_t2m
from esd.evaluation.t2m.sampling import T2MBatch, batch_count
from esd.evaluation.t2m.summary import group_values, split_changes, split_entries, summarise
from esd.evaluation.t2m.testset import ItemsSummary, T2MItem
from esd.evaluation.t2m.vectorizer import WordVectorizer

RunProgress = Callable[[str, str, int, int, int], None]  # (model label, split, rep, done, total)
MODEL, BASELINE = "model", "baseline"


@dataclass
class ConceptProbe:
    """The bundled recogniser measuring generated motions: which concept each split's motions
    should show, and how to embed raw features and recognise them."""

    embed: Callable[[np.ndarray, np.ndarray], np.ndarray]  # raw (B, T, 263), (B,) -> (B, D)
    recognise: Callable[[np.ndarray], list[str]]  # (B, D) -> concept name per motion
    concepts: dict[str, str]  # split -> vocabulary concept its motions should show
    source: str  # the evaluator file (for metrics.json)


@dataclass
class T2MInstruments:
    """The T2M evaluator, the vocabulary, the test items and the optional concept probe."""

    evaluator: T2MEvaluator
    words: WordVectorizer
    items: list[T2MItem]
    items_summary: ItemsSummary
    data_root: str
    probe: ConceptProbe | None = None
    data_info: dict[str, Any] = field(default_factory=dict)  # e.g. the tagger's agreement


def planned_batches(splits: Mapping[str, Sequence[T2MItem]], settings: T2MSettings) -> int:
    """Generation calls of one model's run: pass batches, plus multimodality's texts."""
    passes = sum(batch_count(len(items), settings.batch_size) for items in splits.values())
    mm = 0
    if settings.multimodality:
        mm_items = splits[settings.mm_split or next(iter(splits))]
        mm = min(settings.mm_texts, len(mm_items))  # one generation call of mm_repeats per text
    return settings.replications * (passes + mm)


class _ConceptCounter:
    """``observe`` of the protocol: per split and replication, motions recognised as the
    split's concept."""

    def __init__(self, probe: ConceptProbe, evaluator: T2MEvaluator) -> None:
        self.probe, self.evaluator = probe, evaluator
        self.counts: dict[str, dict[int, list[int]]] = {}  # split -> rep -> [hits, motions]

    def __call__(self, split: str, rep: int, batch: T2MBatch, motions: np.ndarray) -> None:
        concept = self.probe.concepts.get(split)
        if concept is None:
            return
        raw = meta_denormalise(motions, self.evaluator)  # (B, 196, 263)
        names = self.probe.recognise(self.probe.embed(raw, batch.m_lens))
        tally = self.counts.setdefault(split, {}).setdefault(rep, [0, 0])
        tally[0] += sum(name == concept for name in names)
        tally[1] += len(names)

    def entries(self) -> dict[str, dict[str, Any]]:
        """{split: concept-rate entry} (per-replication rates, summarised)."""
        out = {}
        for split, reps in self.counts.items():
            rates = [hits / total for hits, total in (reps[r] for r in sorted(reps))]
            out[split] = {"concept": self.probe.concepts[split], **summarise(rates)}
        return out


def _measure(
    label: str,
    generate: Generate,
    instruments: T2MInstruments,
    splits: Mapping[str, Sequence[T2MItem]],
    settings: T2MSettings,
    progress: RunProgress | None,
    stop: threading.Event | None,
) -> tuple[T2MResult, dict[str, dict[str, Any]]]:
    counter = (
        _ConceptCounter(instruments.probe, instruments.evaluator) if instruments.probe else None
    )
    result = evaluate_t2m(
        instruments.evaluator,
        instruments.words,
        splits,
        generate,
        settings,
        (lambda *a: progress(label, *a)) if progress is not None else None,
        stop,
        counter,
    )
    return result, counter.entries() if counter is not None else {}


def _blocks(result: T2MResult, rates: dict[str, dict]) -> tuple[dict, dict, dict]:
    """(generated entries, ground-truth entries, generated per-replication values) per split."""
    generated, real, values = {}, {}, {}
    for name, split in result.splits.items():
        if not split.replications:
            continue
        values[name] = group_values(split.replications, "generated")
        generated[name] = split_entries(values[name])
        real[name] = split_entries(group_values(split.replications, "ground_truth"))
        if name in rates:
            generated[name]["concept_rate"] = rates[name]
            values[name]["concept_rate"] = rates[name]["per_replication"]
    return generated, real, values


def split_info(result: T2MResult, evaluator: T2MEvaluator) -> dict[str, dict[str, Any]]:
    """{split: items, batches, evaluated, motions per pass, FID indicative (N <= D)}."""
    info = {}
    for name, split in result.splits.items():
        motions = split.batches * result.settings.batch_size
        info[name] = {
            "items": split.items,
            "batches": split.batches,
            "evaluated": bool(split.replications),
            "motions_per_pass": motions,
            "fid_indicative": bool(split.replications) and motions <= evaluator.sizes.coemb,
        }
    return info


def run_t2m(
    generators: Mapping[str, Generate],
    instruments: T2MInstruments,
    splits: Mapping[str, Sequence[T2MItem]],
    settings: T2MSettings,
    progress: RunProgress | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """The ``t2m`` block (module docstring) for ``generators`` {"model": g[, "baseline": g]}."""
    if MODEL not in generators or set(generators) - {MODEL, BASELINE}:
        raise ValueError(f"generators must be {MODEL!r} and optionally {BASELINE!r}")
    block: dict[str, Any] = {}
    values: dict[str, dict] = {}
    for label, generate in generators.items():
        result, rates = _measure(label, generate, instruments, splits, settings, progress, stop)
        block[label], real, values[label] = _blocks(result, rates)
        if label == MODEL:  # the ground truth is the same draw for both models
            block["real"] = real
            block["splits"] = split_info(result, instruments.evaluator)
    if BASELINE in generators:
        block["changes"] = {
            split: split_changes(values[MODEL][split], values[BASELINE][split])
            for split in values[MODEL]
        }
    if instruments.probe is not None:
        probe = instruments.probe
        block["concept_probe"] = {"evaluator": probe.source, "concepts": dict(probe.concepts)}
    block["settings"] = asdict(settings)
    block["data"] = {
        "data_root": instruments.data_root,
        **asdict(instruments.items_summary),
        **instruments.data_info,
    }
    return block
