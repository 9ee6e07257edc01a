"""Small fake HumanML3D-format folders for tests (no real data needed).

``write_fake_humanml3d(root)`` writes random features in the exact on-disk layout that
``esd.data.MotionFolder`` reads: new_joint_vecs/, new_joints/, texts/, the split files,
Mean.npy/Std.npy (group-averaged std, spec §7) and, optionally, the corpus's labels.json,
heldout.json and manifest.json.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from esd.skeleton import FEATURE_DIM, FEATURE_GROUPS, NUM_JOINTS

FAKE_CONCEPTS = ("walk", "kick", "wave")  # concepts cycled over the fake clips


def fake_clip_ids(count: int) -> list[str]:
    return [f"{i:06d}" for i in range(count)]


def group_std(features: np.ndarray) -> np.ndarray:
    """HumanML3D Std: per-dim population std, averaged within each feature group (263,)."""
    std = features.std(axis=0)
    for _, group in FEATURE_GROUPS:
        std[group] = std[group].mean()
    return std.astype(np.float32)


def write_fake_humanml3d(
    root: str | Path,
    lengths: Sequence[int] = (60, 80, 100, 45, 120, 70, 90, 50, 64, 130),
    splits: dict[str, slice] | None = None,
    seed: int = 0,
    corpus_files: bool = True,
) -> Path:
    """Write one clip per entry of ``lengths`` (frames) under ``root``; return ``root``.

    Captions: two whole-clip lines "a person does <concept> number <i>" (tokens and 0.0#0.0),
    plus, for clips of >= 100 frames, a sub-clip caption over seconds [0.5, 3.0) = frames
    [10, 60). Splits default to 60% / 20% / 20% of the ids in order.
    """
    root = Path(root)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = fake_clip_ids(len(lengths))
    all_features = []
    for i, (clip_id, length) in enumerate(zip(ids, lengths)):
        features = rng.normal(loc=i % 3, size=(length, FEATURE_DIM)).astype(np.float32)
        np.save(root / "new_joint_vecs" / f"{clip_id}.npy", features)
        np.save(root / "new_joints" / f"{clip_id}.npy", rng.normal(size=(length, NUM_JOINTS, 3)))
        concept = FAKE_CONCEPTS[i % len(FAKE_CONCEPTS)]
        lines = [f"a person does {concept} number {i}#a/DET person/NOUN#0.0#0.0"]
        lines.append(f"someone does {concept} {i}#someone/PRON#0.0#0.0")
        if length >= 100:
            lines.append(f"the first part of clip {i}#x#0.5#3.0")
        (root / "texts" / f"{clip_id}.txt").write_text("\n".join(lines) + "\n")
        all_features.append(features)
    stacked = np.concatenate(all_features)  # (sum T, 263)
    np.save(root / "Mean.npy", stacked.mean(axis=0).astype(np.float32))
    np.save(root / "Std.npy", group_std(stacked))
    n = len(ids)
    splits = splits or {
        "train": slice(0, int(0.6 * n)),
        "val": slice(int(0.6 * n), int(0.8 * n)),
        "test": slice(int(0.8 * n), n),
    }
    for name, part in splits.items():
        (root / f"{name}.txt").write_text("\n".join(ids[part]) + "\n")
    if corpus_files:
        _write_corpus_files(root, ids)
    return root


def _write_corpus_files(root: Path, ids: list[str]) -> None:
    labels = {}
    for i, clip_id in enumerate(ids):
        concept = FAKE_CONCEPTS[i % len(FAKE_CONCEPTS)]
        segment = {"concept": concept, "variant": "default", "side": "left", "start": 0, "end": 1}
        labels[clip_id] = {"concepts": [concept], "segments": [segment]}
    (root / "labels.json").write_text(json.dumps(labels))
    heldout = {c: [f"an unseen way to {c}"] for c in FAKE_CONCEPTS}
    (root / "heldout.json").write_text(json.dumps(heldout))
    (root / "manifest.json").write_text(json.dumps({"generator": "tests.fakes", "clips": len(ids)}))
