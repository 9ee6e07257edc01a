"""Small fake HumanML3D-format folders for tests (no real data needed).

``write_fake_humanml3d(root)`` writes random features in the exact on-disk layout that
``esd.motion.humanml3d.MotionFolder`` reads: new_joint_vecs/, new_joints/, texts/, the split files,
Mean.npy/Std.npy (group-averaged std, spec §7) and, optionally, the corpus's labels.json,
heldout.json and manifest.json.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from esd.motion.skeleton import FEATURE_DIM, FEATURE_GROUPS, NUM_JOINTS

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


# --- evaluation fakes ---------------------------------------------------------------------------

TINY_EVALUATOR = dict(hidden_dim=32, embed_dim=16, num_blocks=1)  # EvaluatorConfig overrides


def tiny_evaluator(folder, seed: int = 0):
    """A randomly initialised tiny EvaluatorBundle using ``folder``'s Mean/Std."""
    import torch

    from esd.evaluation.contrastive import EvaluatorBundle, EvaluatorConfig, MotionTextEvaluator

    torch.manual_seed(seed)
    model = MotionTextEvaluator(EvaluatorConfig(**TINY_EVALUATOR)).eval()
    return EvaluatorBundle(model, torch.tensor(folder.mean), torch.tensor(folder.std))


def hashed_unit_vectors(texts: Sequence[str], dim: int) -> np.ndarray:
    """Deterministic pseudo-random unit vectors (N, dim), one per distinct text."""
    import hashlib

    rows = []
    for text in texts:
        seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        row = np.random.default_rng(seed).normal(size=dim)
        rows.append(row / np.linalg.norm(row))
    return np.stack(rows)


class FakeRecogniser:
    """A recogniser whose answers are known: concept prototypes are the mean REAL motion
    embeddings of the reference clips labelled with each concept; text placement finds the
    concept's name among the text's word stems; text embeddings are hashed unit vectors."""

    def __init__(self, reference, names: Sequence[str] = FAKE_CONCEPTS) -> None:
        from esd.motion.concepts import CONCEPT_BY_NAME

        self.concepts = [CONCEPT_BY_NAME[n] for n in names]
        self.names = list(names)
        rows = []
        for name in self.names:
            emb = reference.motion_emb[[name in c for c in reference.concepts]].mean(axis=0)
            rows.append(emb / np.linalg.norm(emb))
        self.concept_emb = np.stack(rows)  # (K, D)
        self.dim = reference.embed_dim

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return hashed_unit_vectors(texts, self.dim)

    def recognise(self, motion_emb: np.ndarray) -> list[str]:
        from esd.evaluation import metrics

        return [self.names[i] for i in metrics.recognise(motion_emb, self.concept_emb)]

    def rate(self, motion_emb: np.ndarray, name: str) -> float:
        from esd.evaluation import metrics

        return metrics.concept_rate(motion_emb, self.concept_emb, self.names.index(name))

    def place(self, text: str):
        from esd.evaluation.recogniser import Placement
        from esd.motion.keywords import caption_stems, stem

        stems = caption_stems(text)
        for concept in self.concepts:
            if stem(concept.name) in stems:
                return Placement(text, concept, 0.9, concept)
        return Placement(text, None, 0.1, self.concepts[0])


class FakeClipSource:
    """A MotionSource that returns REAL clips of a fake folder instead of generating.

    A prompt that is a caption of a record returns that record; a prompt that names a concept
    (its stem) returns a record of that concept (picked by the item's seed); anything else a
    seeded record. ``erase`` replaces every record of that concept by a record of
    ``replacement`` (a perfectly "erased" model: it never shows the concept). ``calls``
    records (prompts, seed) of every call.
    """

    def __init__(self, records, erase: str | None = None, replacement: str = "walk") -> None:
        self.records = list(records)
        self.by_caption: dict[str, int] = {}
        for i, record in enumerate(self.records):
            for caption in record.captions:
                self.by_caption.setdefault(caption, i)
        self.erase, self.replacement = erase, replacement
        self.calls: list[tuple[list[str], int]] = []

    def _of_concept(self, name: str, seed: int) -> int:
        matches = [i for i, r in enumerate(self.records) if name in r.concepts]
        return matches[int(np.random.default_rng(seed).integers(len(matches)))]

    def _pick(self, prompt: str, seed: int) -> int:
        index = self._natural(prompt, seed)
        if self.erase is not None and self.erase in self.records[index].concepts:
            return self._of_concept(self.replacement, seed)
        return index

    def _natural(self, prompt: str, seed: int) -> int:
        from esd.motion.keywords import caption_stems, stem

        if prompt in self.by_caption:
            return self.by_caption[prompt]
        stems = caption_stems(prompt)
        for name in FAKE_CONCEPTS:
            if stem(name) in stems:
                return self._of_concept(name, seed)
        return int(np.random.default_rng(seed).integers(len(self.records)))

    def generate(self, prompts, lengths=None, seed=0, num_steps=50, guidance_scale=2.5):
        from esd.models.generator import GeneratedMotion

        self.calls.append((list(prompts), seed))
        picks = [self.records[self._pick(p, seed + i)] for i, p in enumerate(prompts)]
        sizes = np.array([r.num_frames for r in picks])
        features = np.zeros((len(picks), sizes.max(), FEATURE_DIM), dtype=np.float32)
        for row, record in enumerate(picks):
            features[row, : record.num_frames] = record.features
        joints = np.zeros((*features.shape[:2], NUM_JOINTS, 3), dtype=np.float32)
        return GeneratedMotion(list(prompts), joints, features, sizes)


def write_tiny_evaluator(checkpoints_dir, data_root) -> Path:
    """A tiny random evaluator where the CLI and the workbench look for one by default
    (``checkpoints_dir/t2m/t2m_evaluator/model/evaluator.tar``), with the reference set of the
    fake HumanML3D folder ``data_root`` beside it. Returns the evaluator file."""
    from esd.evaluation.instruments import evaluator_candidates
    from esd.evaluation.reference import REFERENCE_FILE, ReferenceSet
    from esd.models import checkpoints as ck
    from esd.motion.humanml3d import MotionFolder

    folder = MotionFolder(data_root)
    evaluator = tiny_evaluator(folder)
    path = evaluator_candidates(checkpoints_dir)[0]
    ck.save_checkpoint(evaluator.to_payload(), path)
    ReferenceSet.build(folder, evaluator).save(path.parent.parent / REFERENCE_FILE)
    return path


# --- browser ------------------------------------------------------------------------------------

CHROMIUM_ARGS = (  # STACK_NOTES: Debian's Chromium, offline, WebGL through SwiftShader
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
)


def chromium_executable() -> str:
    """Path of Chromium for Playwright; skips the test when it (or playwright) is missing,
    fails instead when ESD_REQUIRE_BROWSER=1 (CI)."""
    import os
    import shutil

    import pytest

    path = shutil.which("chromium") or "/usr/bin/chromium"
    missing = None
    if not Path(path).exists():
        missing = "Chromium not installed (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install playwright)"
    if missing is None:
        return path
    if os.environ.get("ESD_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"{missing}; ESD_REQUIRE_BROWSER=1 makes this an error")
    pytest.skip(missing)
