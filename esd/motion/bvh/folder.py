"""Write imported clips as a HumanML3D-layout folder.

    DIR/new_joints/ID.npy       (T, 22, 3) float32 canonical joints (retargeted, floored, facing +Z)
    DIR/new_joint_vecs/ID.npy   (T-1, 263) float32 features (``joints_to_features``)
    DIR/texts/ID.txt            ``caption#tokens#0.0#0.0`` lines
    DIR/all.txt train.txt val.txt test.txt
    DIR/labels.json             {id: {"concepts": [...], "source": {...}}} when labels are known
    DIR/import.json             per-clip rig, unit, up axis, mirroring, frame rates; skipped files

No Mean/Std: a folder of real clips is measured with another dataset's statistics (the
evaluator's). Splits are by clip (one BVH take each), drawn from a hash of the id and the seed,
so adding files never moves the others. Everything is written into a hidden sibling folder that
is renamed to DIR at the end: an interrupted import never leaves DIR looking complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from esd.common.files import atomic_write
from esd.motion.bvh.labels import ClipLabel
from esd.motion.features import canonical_joints, joints_to_features
from esd.motion.humanml3d import FEATURES_DIR, JOINTS_DIR, LABELS_FILE, SPLITS, TEXTS_DIR

SPLIT_SHARES: dict[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}  # per clip, by hash
REPORT_FILE = "import.json"
HASH_BUCKETS = 10_000  # resolution of the hash-based split draw


class FolderError(ValueError):
    """The output folder cannot be written as asked."""


def split_of(clip_id: str, seed: int = 0, shares: dict[str, float] = SPLIT_SHARES) -> str:
    """The split of a clip: u = sha256(seed, id) mod HASH_BUCKETS / HASH_BUCKETS, cut by shares."""
    digest = hashlib.sha256(f"{seed}:{clip_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") % HASH_BUCKETS / HASH_BUCKETS
    edge = 0.0
    for name in SPLITS:
        edge += shares[name]
        if u < edge:
            return name
    return SPLITS[-1]


class FolderWriter:
    """Collect clips into a hidden temp folder; ``finish`` writes the indexes and renames it."""

    def __init__(
        self,
        out: str | Path,
        caption_line: Callable[[str], str],
        overwrite: bool = False,
        seed: int = 0,
    ) -> None:
        self.out = Path(out)
        if self.out.exists() and not overwrite:
            raise FolderError(f"{self.out} exists; choose another --out or pass --overwrite")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        for name in (JOINTS_DIR, FEATURES_DIR, TEXTS_DIR):
            (self.tmp / name).mkdir()
        self.caption_line = caption_line  # caption -> "caption#tokens#0.0#0.0"
        self.seed = seed
        self.clips: dict[str, dict[str, Any]] = {}  # id -> import.json entry
        self.labels: dict[str, dict[str, Any]] = {}
        self.skipped: dict[str, str] = {}  # file -> reason

    def add(self, clip_id: str, joints: np.ndarray, label: ClipLabel, info: dict[str, Any]) -> None:
        """Encode and write one clip of joints (T, 22, 3) metres at 20 fps."""
        if clip_id in self.clips:
            raise FolderError(f"two files give the clip id {clip_id!r}; rename one")
        features = joints_to_features(joints)  # (T-1, 263)
        np.save(self.tmp / FEATURES_DIR / f"{clip_id}.npy", features)
        canonical = canonical_joints(joints).astype(np.float32)  # (T, 22, 3)
        np.save(self.tmp / JOINTS_DIR / f"{clip_id}.npy", canonical)
        lines = "\n".join(self.caption_line(c) for c in label.captions) + "\n"
        (self.tmp / TEXTS_DIR / f"{clip_id}.txt").write_text(lines, encoding="utf-8")
        self.clips[clip_id] = {**info, "split": split_of(clip_id, self.seed)}
        if label.concepts or label.source:
            self.labels[clip_id] = {"concepts": list(label.concepts), "source": label.source}

    def skip(self, file: str, reason: str) -> None:
        self.skipped[file] = reason

    def finish(self, report: dict[str, Any]) -> Path:
        """Write all.txt, the split files, labels.json and import.json, then rename to ``out``."""
        if not self.clips:
            self.abort()
            raise FolderError("no clip was imported; see the skipped files above")
        ids = sorted(self.clips)
        (self.tmp / "all.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
        for split in SPLITS:
            chosen = [i for i in ids if self.clips[i]["split"] == split]
            (self.tmp / f"{split}.txt").write_text("".join(f"{i}\n" for i in chosen))
        if self.labels:
            atomic_write(self.tmp / LABELS_FILE, json.dumps(self.labels, indent=1) + "\n")
        full = {**report, "clips": self.clips, "skipped": self.skipped}
        atomic_write(self.tmp / REPORT_FILE, json.dumps(full, indent=1) + "\n")
        if self.out.exists():
            shutil.rmtree(self.out)
        self.tmp.rename(self.out)
        return self.out

    def abort(self) -> None:
        """Remove the temp folder (on error or interrupt)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
