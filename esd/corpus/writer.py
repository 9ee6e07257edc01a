"""Write a procedural corpus as a HumanML3D folder (``python -m esd.corpus --out DIR``).

    DIR/new_joints/ID.npy        (T, 22, 3) float32 canonical joints (E1-E4 of the format spec)
    DIR/new_joint_vecs/ID.npy    (T-1, 263) float32 features (motion.features.joints_to_features)
    DIR/texts/ID.txt             three lines ``caption#tokens#0.0#0.0``
    DIR/train.txt val.txt test.txt all.txt     clip ids
    DIR/Mean.npy Std.npy         feature statistics of the TRAIN split (spec §7)
    DIR/labels.json              {id: {"concepts": [...], "segments": [{concept, variant, side,
                                  reps, speed, start, end}, ...]}}
    DIR/heldout.json             {concept: [phrasings that no caption uses]}
    DIR/manifest.json            generator version, seed, counts, plausibility statistics

Determinism: clip i is drawn from ``np.random.default_rng([seed, i])`` (its captions from
``[seed, i, 1]``), its main concept from a balanced, seeded assignment (every concept gets
``clips / 25`` clips, +-1) and its split from a per-concept stratified shuffle, so the folder is a
function of (clips, seed) and does not depend on the number of worker processes.

Atomicity: everything is written into a hidden sibling folder that is renamed to DIR at the very
end, so an interrupted run never leaves DIR looking complete.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from esd.common.files import replace_dir
from esd.corpus.captions.generator import clip_captions
from esd.corpus.captions.heldout import HELDOUT_PHRASINGS
from esd.corpus.captions.tokens import caption_line
from esd.corpus.compose import compose_clip, sample_requests
from esd.corpus.stats import ClipStats, clip_stats, summarise
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.features import canonical_joints, feature_statistics, joints_to_features
from esd.motion.humanml3d import FEATURES_DIR, JOINTS_DIR, TEXTS_DIR, read_npy

# Bumped whenever the same seed yields different clips. /2: one-hand and overhead raises, wider
# walks and wave styles, widened captions (the bundled evaluator e2 was trained on it; commit
# 729b274 writes it). /3: raises at real tempos with a drifting hold, slower and wider big waves.
GENERATOR_VERSION = "esd-motion-corpus/3"
DEFAULT_CLIPS = 12_000
SPLIT_SHARES = {"train": 0.8, "val": 0.1, "test": 0.1}
CAPTIONS_PER_CLIP = 3
CHUNK = 64  # clips per worker task

ProgressFn = Callable[[int, int], None]  # (clips done, total)


class CorpusError(ValueError):
    """The corpus cannot be written where or as asked; the message says what to do."""


@dataclass(frozen=True)
class ClipRecord:
    """What a worker returns about one written clip (arrays stay on disk)."""

    clip_id: str
    label: dict[str, Any]  # the labels.json entry
    stats: ClipStats


def clip_id(index: int) -> str:
    return f"{index:06d}"


def primary_concepts(clips: int, seed: int) -> np.ndarray:
    """Main concept index per clip (clips,): balanced over the vocabulary, seeded order."""
    balanced = np.resize(np.arange(len(CONCEPT_NAMES)), clips)
    return np.random.default_rng([seed, 0xC0]).permutation(balanced)


def assign_splits(primary: np.ndarray, seed: int) -> dict[str, list[int]]:
    """Stratified split of clip indices by main concept; every concept in every split if >= 3."""
    rng = np.random.default_rng([seed, 0x5B])
    splits: dict[str, list[int]] = {name: [] for name in SPLIT_SHARES}
    for concept in range(len(CONCEPT_NAMES)):
        members = rng.permutation(np.flatnonzero(primary == concept))
        n = len(members)
        n_val = max(1, round(SPLIT_SHARES["val"] * n)) if n >= 3 else 0
        n_test = max(1, round(SPLIT_SHARES["test"] * n)) if n >= 3 else 0
        splits["val"] += members[:n_val].tolist()
        splits["test"] += members[n_val : n_val + n_test].tolist()
        splits["train"] += members[n_val + n_test :].tolist()
    return {name: sorted(ids) for name, ids in splits.items()}


def make_clip(index: int, primary: str, seed: int) -> tuple[np.ndarray, np.ndarray, list, Any]:
    """Clip ``index``: canonical joints (T, 22, 3), features (T-1, 263), captions, the Clip."""
    rng = np.random.default_rng([seed, index])
    clip = compose_clip(sample_requests(primary, rng), rng, main=primary)
    joints = canonical_joints(clip.joints).astype(np.float32)  # (T, 22, 3)
    features = joints_to_features(clip.joints)  # (T-1, 263), invariant to the placement
    captions = clip_captions(clip.facts, np.random.default_rng([seed, index, 1]), CAPTIONS_PER_CLIP)
    return joints, features, captions, clip


def _write_clip(root: Path, index: int, primary: str, seed: int) -> ClipRecord:
    joints, features, captions, clip = make_clip(index, primary, seed)
    name = clip_id(index)
    np.save(root / JOINTS_DIR / f"{name}.npy", joints)
    np.save(root / FEATURES_DIR / f"{name}.npy", features)
    text = "".join(caption_line(c) + "\n" for c in captions)
    (root / TEXTS_DIR / f"{name}.txt").write_text(text, encoding="utf-8")
    segments = [asdict(f) for f in clip.facts]
    concepts = list(dict.fromkeys(f.concept for f in clip.facts))
    label = {"concepts": concepts, "segments": segments}
    return ClipRecord(name, label, clip_stats(clip.joints, clip.motion, features))


def _write_chunk(args: tuple[str, Sequence[int], Sequence[str], int]) -> list[ClipRecord]:
    root, indices, primaries, seed = args
    return [_write_clip(Path(root), i, p, seed) for i, p in zip(indices, primaries)]


def _check_destination(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CorpusError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise CorpusError(f"{out} is not empty; pass --overwrite to replace it, or another --out")
    parent = out.parent if out.parent != Path("") else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise CorpusError(f"cannot write into {parent}; choose a writable --out")


def _generate(
    tmp: Path, primary: np.ndarray, seed: int, workers: int, on_progress: ProgressFn | None
) -> list[ClipRecord]:
    names = [CONCEPT_NAMES[k] for k in primary]
    tasks = [
        (str(tmp), range(s, min(s + CHUNK, len(names))), names[s : s + CHUNK], seed)
        for s in range(0, len(names), CHUNK)
    ]
    records: list[ClipRecord] = []

    def collect(chunks) -> list[ClipRecord]:
        for chunk in chunks:
            records.extend(chunk)
            if on_progress is not None:
                on_progress(len(records), len(names))
        return records

    if workers <= 1:
        return collect(map(_write_chunk, tasks))
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ctx.Pool(workers) as pool:
        return collect(pool.imap(_write_chunk, tasks))


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def _write_tables(
    tmp: Path, records: list[ClipRecord], splits: dict[str, list[int]], manifest: dict
) -> None:
    for name, indices in splits.items():
        (tmp / f"{name}.txt").write_text("".join(clip_id(i) + "\n" for i in indices))
    (tmp / "all.txt").write_text("".join(r.clip_id + "\n" for r in records))
    train = [read_npy(tmp / FEATURES_DIR / f"{clip_id(i)}.npy") for i in splits["train"]]
    mean, std = feature_statistics(train)
    np.save(tmp / "Mean.npy", mean)
    np.save(tmp / "Std.npy", std)
    _write_json(tmp / "labels.json", {r.clip_id: r.label for r in records})
    _write_json(tmp / "heldout.json", {k: list(v) for k, v in HELDOUT_PHRASINGS.items()})
    _write_json(tmp / "manifest.json", manifest)


def build_manifest(
    records: list[ClipRecord], splits: dict[str, list[int]], seed: int, seconds: float
) -> dict[str, Any]:
    """Generator version, seed, counts per concept and split, plausibility statistics."""
    contains = Counter(c for r in records for c in r.label["concepts"])
    composed = sum(len(r.label["segments"]) > 1 for r in records)
    frames = np.array([r.stats.frames for r in records])
    return {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "clips": len(records),
        "composed_clips": composed,
        "frames": {"total": int(frames.sum()), "min": int(frames.min()), "max": int(frames.max())},
        "splits": {name: len(ids) for name, ids in splits.items()},
        "clips_containing": {name: contains.get(name, 0) for name in CONCEPT_NAMES},
        "plausibility": summarise([r.stats for r in records]),
        "generation_seconds": round(seconds, 1),
    }


def write_corpus(
    out: str | Path,
    clips: int = DEFAULT_CLIPS,
    seed: int = 0,
    workers: int = 1,
    overwrite: bool = False,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Generate ``clips`` clips into the HumanML3D folder ``out``; returns the manifest."""
    if clips < 1:
        raise CorpusError(f"--clips must be at least 1, got {clips}")
    if workers < 1:
        raise CorpusError(f"--workers must be at least 1, got {workers}")
    out = Path(out)
    _check_destination(out, overwrite)
    began = time.monotonic()
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for sub in (JOINTS_DIR, FEATURES_DIR, TEXTS_DIR):
            (tmp / sub).mkdir(parents=True)
        primary = primary_concepts(clips, seed)
        records = _generate(tmp, primary, seed, workers, on_progress)
        splits = assign_splits(primary, seed)
        manifest = build_manifest(records, splits, seed, time.monotonic() - began)
        _write_tables(tmp, records, splits, manifest)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
