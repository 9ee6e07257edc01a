"""The T2M protocol, model-agnostic: replications of seeded passes over the test items.

Specification: SALAD_COMPAT.md 3.5. ``evaluate_t2m`` takes the evaluator, the vectoriser, named
item sets (``splits``: the whole test set and, e.g., the forget / retain / related sets of
``esd.evaluation.t2m.splits``) and a generation callback::

    generate(texts: list[str], m_lens: (B,) int64, seed: int) -> (B, T, 263) motions

returning motions **normalised with the evaluator's meta statistics** (``evaluator.meta_mean`` /
``meta_std``), T >= max(m_lens) (cropped or zero-padded to 196). Row i may draw its noise from
``seed + i``: the seeds of different rows never collide within a run.

Each replication r, for each split: one pass of ``sample_batches`` (fresh captions, lengths and
windows, so the ground-truth embeddings are recomputed), and for each batch the ground truth's
and the generated motions' co-embeddings (generated frames from m_len on set to 0). Metrics per
replication: R-precision top-1/2/3 per batch of 32 and matching score (ground truth and
generated), FID (ground truth vs generated, strict), diversity of both, and optionally Guo's
multimodality. Summary per metric: mean +- 1.96 std / sqrt(R) (``metrics.replication_summary``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from esd.evaluation import metrics
from esd.evaluation.t2m.evaluator import T2MEvaluator
from esd.evaluation.t2m.sampling import BATCH_SIZE, T2MBatch, batch_count, draw_item, sample_batches
from esd.evaluation.t2m.testset import T2MItem
from esd.evaluation.t2m.vectorizer import WordVectorizer
from esd.motion.skeleton import FEATURE_DIM, MAX_FRAMES

Generate = Callable[[list[str], np.ndarray, int], np.ndarray]
Progress = Callable[[str, int, int, int], None]  # (split, replication, batches done, total)
Observe = Callable[[str, int, T2MBatch, np.ndarray], None]  # (split, replication, batch, motions)
REPLICATION_SEED_STRIDE = 10_000_000  # generation seeds of replication r: seed + r * this + ...
SPLIT_SEED_STRIDE = 100_000  # ... + k * this for split k (at most 100 splits) ...
MM_SEED_OFFSET = 50_000  # ... + this for multimodality (passes use rows below it)
SAMPLING_STREAM, DIVERSITY_STREAM, MM_STREAM = 0, 1, 2  # independent np.random streams


class T2MProtocolError(ValueError):
    """The protocol cannot run on these inputs (empty split, bad generated motions, ...)."""


class T2MCancelled(RuntimeError):
    """The evaluation was stopped through its ``stop`` event."""


@dataclass
class T2MSettings:
    """The protocol's settings (the papers' values by default)."""

    replications: int = 20  # independent passes; the papers report mean +- 95% over 20
    seed: int = 1234  # SALAD's fixseed; every draw and generation seed derives from it
    batch_size: int = BATCH_SIZE  # loader batch and R-precision pool (32)
    diversity_pairs: int | None = None  # None: the protocol's rule, 300 if N > 300 else 100
    multimodality: bool = False  # Guo's multimodality (SALAD's test_denoiser leaves it off)
    mm_texts: int = 100  # multimodality: texts (Guo et al.)
    mm_repeats: int = 30  # multimodality: generations per text
    mm_pairs: int = 10  # multimodality: random pairs per text
    mm_split: str | None = None  # split that gets multimodality; None: the first split

    def check(self) -> None:
        if self.replications < 1 or self.batch_size < 2:
            raise T2MProtocolError("replications must be >= 1 and batch_size >= 2")
        if self.multimodality and self.mm_repeats < self.mm_pairs:
            raise T2MProtocolError(
                f"mm_repeats ({self.mm_repeats}) must be >= mm_pairs ({self.mm_pairs})"
            )


@dataclass
class PassEmbeddings:
    """One pass's embeddings, batch after batch (rows of a batch in align order)."""

    text: list[np.ndarray] = field(default_factory=list)  # (B, E) per batch
    ground_truth: list[np.ndarray] = field(default_factory=list)  # (B, E) per batch
    generated: list[np.ndarray] = field(default_factory=list)  # (B, E) per batch

    def stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.concatenate(x) for x in (self.text, self.ground_truth, self.generated))


def generation_seed(settings: T2MSettings, replication: int, split: int, row: int) -> int:
    """The seed of generated row ``row`` of split number ``split`` in ``replication``.

    A pass's batch b starts at row ``b * batch_size``; multimodality rows start at
    ``MM_SEED_OFFSET``. Distinct (replication, split, row) give distinct seeds.
    """
    return settings.seed + replication * REPLICATION_SEED_STRIDE + split * SPLIT_SEED_STRIDE + row


def zero_after_lengths(motions: np.ndarray, m_lens: np.ndarray) -> np.ndarray:
    """(B, T, 263) generated motions -> (B, 196, 263) float32, rows zero from m_len on."""
    x = np.asarray(motions, dtype=np.float32)
    if x.ndim != 3 or x.shape[0] != len(m_lens) or x.shape[2] != FEATURE_DIM:
        raise T2MProtocolError(
            f"generate returned shape {x.shape}; expected ({len(m_lens)}, T, {FEATURE_DIM})"
        )
    if x.shape[1] < int(np.max(m_lens)) or not np.isfinite(x).all():
        raise T2MProtocolError(
            f"generate returned {x.shape[1]} frames (need {int(np.max(m_lens))}) or NaN/inf"
        )
    out = np.zeros((x.shape[0], MAX_FRAMES, FEATURE_DIM), dtype=np.float32)
    frames = min(x.shape[1], MAX_FRAMES)
    out[:, :frames] = x[:, :frames]
    out[np.arange(MAX_FRAMES)[None, :] >= np.asarray(m_lens)[:, None]] = 0.0  # (B, 196) mask
    return out


def embed_batch(
    evaluator: T2MEvaluator, batch: T2MBatch, generated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, ground-truth motion, generated motion) embeddings (B, E), all in align order."""
    text, gt, _ = evaluator.co_embeddings(
        batch.word_embs, batch.pos_ohot, batch.cap_lens, batch.motions, batch.m_lens
    )
    gen, _ = evaluator.motion_embeddings(zero_after_lengths(generated, batch.m_lens), batch.m_lens)
    return text, gt, gen


def run_pass(
    evaluator: T2MEvaluator,
    words: WordVectorizer,
    items: Sequence[T2MItem],
    generate: Generate,
    rng: np.random.Generator,
    seeds: Callable[[int], int],
    on_batch: Callable[[int], None],
    batch_size: int = BATCH_SIZE,
    observe: Callable[[T2MBatch, np.ndarray], None] | None = None,
) -> PassEmbeddings:
    """Embed one pass: every batch of ``sample_batches``, generated with seed ``seeds(b)``;
    ``observe(batch, motions)`` sees each batch's generated motions (B, 196, 263), normalised
    and zero from m_len on, in the batch's row order."""
    out = PassEmbeddings()
    for b, batch in enumerate(sample_batches(items, rng, evaluator, words, batch_size)):
        generated = generate(list(batch.captions), batch.m_lens.copy(), seeds(b))
        generated = zero_after_lengths(generated, batch.m_lens)  # (B, 196, 263)
        text, gt, gen = embed_batch(evaluator, batch, generated)
        if observe is not None:
            observe(batch, generated)
        out.text.append(text)
        out.ground_truth.append(gt)
        out.generated.append(gen)
        on_batch(b + 1)
    return out


def pass_metrics(
    emb: PassEmbeddings, settings: T2MSettings, rng: np.random.Generator
) -> dict[str, dict[str, Any]]:
    """The metrics of one pass, for the ground truth and the generated motions."""
    text, gt, gen = emb.stacked()
    pairs = settings.diversity_pairs or metrics.diversity_pairs_for(len(gt))
    pool = settings.batch_size
    result = {}
    for name, motion in (("ground_truth", gt), ("generated", gen)):
        result[name] = {
            "r_precision": metrics.r_precision_batches(text, motion, pool).tolist(),
            "matching_score": metrics.matching_score(text, motion),
            "diversity": metrics.diversity(motion, pairs, generator=rng, clamp=True),
        }
    result["generated"]["fid"] = metrics.frechet_distance(gt, gen, strict=True)
    result["diversity_pairs"] = min(pairs, len(gt))
    return result


def multimodality_pass(
    evaluator: T2MEvaluator,
    items: Sequence[T2MItem],
    generate: Generate,
    rng: np.random.Generator,
    settings: T2MSettings,
    first_seed: int,
) -> float:
    """Guo's multimodality: ``mm_texts`` random items (a random caption and length each),
    ``mm_repeats`` generations of each, mean distance of ``mm_pairs`` random pairs per text."""
    chosen = rng.choice(len(items), min(settings.mm_texts, len(items)), replace=False)
    groups = []
    for k, i in enumerate(chosen):
        draw = draw_item(items[i], rng, evaluator)
        m_lens = np.full(settings.mm_repeats, draw.m_len, dtype=np.int64)  # (R,)
        seed = first_seed + k * settings.mm_repeats
        motions = zero_after_lengths(
            generate([draw.caption.text] * len(m_lens), m_lens, seed), m_lens
        )
        groups.append(evaluator.motion_embeddings(motions, m_lens)[0])  # (R, E)
    return metrics.multimodality(np.stack(groups), settings.mm_pairs, generator=rng)


@dataclass
class SplitResult:
    """One split's per-replication metrics."""

    name: str
    items: int  # test items in the split
    batches: int  # batches per pass (items // batch_size); 0: the split was not evaluated
    replications: list[dict[str, Any]] = field(default_factory=list)  # pass_metrics per pass

    def summary(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{group: {metric: {"mean", "ci95"}}} for "ground_truth" and "generated"."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for group in ("ground_truth", "generated"):
            keys = self.replications[0][group] if self.replications else {}
            out[group] = {}
            for key in keys:
                values = np.array([rep[group][key] for rep in self.replications])  # (R,) or (R, 3)
                mean, ci95 = metrics.replication_summary(values)
                out[group][key] = {"mean": mean.tolist(), "ci95": ci95.tolist()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "batches": self.batches,
            "evaluated": bool(self.replications),
            "replications": self.replications,
            "summary": self.summary(),
        }


@dataclass
class T2MResult:
    """Every split's metrics and the settings that produced them."""

    settings: T2MSettings
    splits: dict[str, SplitResult]

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluator": "t2m",
            "settings": asdict(self.settings),
            "splits": {name: split.to_dict() for name, split in self.splits.items()},
        }


def _check_splits(splits: Mapping[str, Sequence[T2MItem]], settings: T2MSettings) -> None:
    if not splits or len(splits) > REPLICATION_SEED_STRIDE // SPLIT_SEED_STRIDE:
        raise T2MProtocolError("give between 1 and 100 item splits to evaluate")
    if max(len(items) for items in splits.values()) > MM_SEED_OFFSET:
        raise T2MProtocolError(f"a split has more than {MM_SEED_OFFSET} items")
    if max(len(items) for items in splits.values()) < settings.batch_size:
        raise T2MProtocolError(
            f"every split has fewer than {settings.batch_size} items: no batch to evaluate"
        )
    if settings.multimodality and settings.mm_split not in (None, *splits):
        raise T2MProtocolError(f"mm_split {settings.mm_split!r} is not one of the splits")


def _replicate(
    evaluator: T2MEvaluator,
    words: WordVectorizer,
    items: Sequence[T2MItem],
    generate: Generate,
    settings: T2MSettings,
    where: tuple[int, int],
    on_batch: Callable[[int], None],
    with_mm: bool,
    observe: Callable[[T2MBatch, np.ndarray], None] | None = None,
) -> dict[str, Any]:
    """Metrics of one pass over ``items``: replication ``where[0]``, split number ``where[1]``."""
    r, k = where
    size = settings.batch_size
    emb = run_pass(
        evaluator,
        words,
        items,
        generate,
        np.random.default_rng((settings.seed, r, k, SAMPLING_STREAM)),
        lambda b: generation_seed(settings, r, k, b * size),
        on_batch,
        size,
        observe,
    )
    rep = pass_metrics(
        emb, settings, np.random.default_rng((settings.seed, r, k, DIVERSITY_STREAM))
    )
    if with_mm:
        rng = np.random.default_rng((settings.seed, r, k, MM_STREAM))
        first = generation_seed(settings, r, k, MM_SEED_OFFSET)
        rep["generated"]["multimodality"] = multimodality_pass(
            evaluator, items, generate, rng, settings, first
        )
    return rep


def _bind(
    observe: Observe | None, split: str, replication: int
) -> Callable[[T2MBatch, np.ndarray], None] | None:
    if observe is None:
        return None
    return lambda batch, motions: observe(split, replication, batch, motions)


def evaluate_t2m(
    evaluator: T2MEvaluator,
    words: WordVectorizer,
    splits: Mapping[str, Sequence[T2MItem]],
    generate: Generate,
    settings: T2MSettings | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    observe: Observe | None = None,
) -> T2MResult:
    """Run the protocol on every split (see the module docstring).

    A split with fewer than ``batch_size`` items is reported with 0 batches and no metrics.
    ``progress(split, replication, batches done, batches)`` follows every batch; setting
    ``stop`` ends the run with T2MCancelled after the current batch. ``observe(split,
    replication, batch, motions)`` sees every pass batch's generated motions (normalised, zero
    from m_len on; not the multimodality ones), e.g. to measure them with another instrument.
    """
    settings = settings or T2MSettings()
    settings.check()
    _check_splits(splits, settings)
    names = list(splits)
    mm_split = (settings.mm_split or names[0]) if settings.multimodality else None
    size = settings.batch_size
    results = {n: SplitResult(n, len(splits[n]), batch_count(len(splits[n]), size)) for n in names}
    for r in range(settings.replications):
        for k, name in enumerate(names):
            total = results[name].batches

            def on_batch(done: int, name: str = name, r: int = r, total: int = total) -> None:
                if progress is not None:
                    progress(name, r, done, total)
                if stop is not None and stop.is_set():
                    raise T2MCancelled("the T2M evaluation was stopped")

            if total:
                rep = _replicate(
                    evaluator,
                    words,
                    splits[name],
                    generate,
                    settings,
                    (r, k),
                    on_batch,
                    name == mm_split,
                    _bind(observe, name, r),
                )
                results[name].replications.append(rep)
    return T2MResult(settings, results)
