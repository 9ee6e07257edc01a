"""HumanML3D-format motion folders: layout validation, splits, captions, Mean/Std normalisation.

A HumanML3D folder (the official dataset, or one written by ``python -m esd.corpus``)::

    new_joint_vecs/ID.npy   float32 (T, 263) features (esd.motion.skeleton layout)
    new_joints/ID.npy       float32 (T, 22, 3) joints (optional: only for visualisation)
    texts/ID.txt            one caption per line: ``caption#tokens#start#end`` (seconds)
    train.txt val.txt test.txt   clip ids, one per line
    Mean.npy Std.npy        float32 (263,) feature statistics (spec §7)
    labels.json heldout.json manifest.json   optional, written by the procedural corpus

Caption time ranges (as HumanML3D's ``Text2MotionDatasetV2``): ``0.0#0.0`` (or a NaN end with a
0 start) is a caption of the whole clip. Any other range is a sub-clip that becomes its own
record, frames ``[round(start * FPS), round(end * FPS))`` (a NaN end runs to the end of the
clip), id ``"ID@start-end"``, holding every caption with that range. HumanML3D truncates with
``int()``, which loses a frame to float error (``1.15 * 20 = 22.999...``); we round. A range that
covers the whole clip counts as a whole-clip caption.

Length rule: records shorter than ``min_frames`` are dropped; longer than ``max_frames`` are
cropped to their first ``max_frames`` frames. (HumanML3D drops clips of >= 200 frames, which its
own <= 10 s clips never reach, and then randomly crops to a multiple of 4, so at most 196 frames.)

Speed (2-core reference machine, 12,000 clips, 1.41 M frames, files in the page cache):
``np.load`` per file takes 6-10 s, the ``read_npy`` used here 2.4 s.
``MotionFolder(use_cache=True)`` keeps a consolidated copy of each split under ``cache/``
(``esd.motion.split_cache``: one memory-mapped feature array plus an index, keyed by the split
file, manifest.json and every listed file's size and mtime): 0.65 s once written; writing it
(about the size of the features) took 15 s.

The training dataset over these records (crops, captions, batches) is ``esd.motion.dataset``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from esd.motion.skeleton import FEATURE_DIM, FPS, MAX_FRAMES, MIN_FRAMES
from esd.motion.split_cache import CACHE_VERSION, KEY_CHARS, RawClip, read_cache, write_cache

FEATURES_DIR = "new_joint_vecs"
JOINTS_DIR = "new_joints"
TEXTS_DIR = "texts"
CACHE_DIR = "cache"
MEAN_FILE = "Mean.npy"
STD_FILE = "Std.npy"
LABELS_FILE = "labels.json"
HELDOUT_FILE = "heldout.json"
MANIFEST_FILE = "manifest.json"
CORPUS_ROOT = Path("data/t2m_synth")  # python -m esd.corpus writes here; every data_root default
SPLITS = ("train", "val", "test")  # the standard split files
SUBCLIP_SEPARATOR = "@"  # sub-clip record ids are "ID@start-end" (frames)
PROGRESS_EVERY = 256  # files between two progress callbacks

ProgressFn = Callable[[int, int], None]  # progress(done, total)
Array = TypeVar("Array", np.ndarray, torch.Tensor)


class DatasetError(ValueError):
    """The folder is not a usable HumanML3D-format dataset; the message says what to fix."""


@dataclass(frozen=True)
class MotionRecord:
    """One training sample: a clip (or caption sub-clip) and its captions."""

    id: str  # clip id, or "ID@start-end" for a caption sub-clip
    features: np.ndarray  # (T, 263) float32, raw (not normalised), read-only
    captions: tuple[str, ...]  # at least one caption
    concepts: tuple[str, ...] = ()  # ground-truth concept names from labels.json, () if none

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


# --- normalisation ------------------------------------------------------------------------------


def _stats_like(stat: Any, x: Array) -> Array:
    if isinstance(x, torch.Tensor):
        if isinstance(stat, torch.Tensor):
            return stat.to(dtype=x.dtype, device=x.device)
        return torch.tensor(np.asarray(stat), dtype=x.dtype, device=x.device)  # copies read-only
    return np.asarray(stat, dtype=x.dtype)


def normalize(features: Array, mean: Any, std: Any) -> Array:
    """x_hat = (x - Mean) / Std over the last axis; NumPy arrays or torch tensors, (..., 263)."""
    if features.shape[-1] != np.shape(mean)[-1] or np.shape(mean) != np.shape(std):
        raise ValueError(
            f"features (..., {features.shape[-1]}) do not match mean {tuple(np.shape(mean))} / "
            f"std {tuple(np.shape(std))}; use the Mean/Std of the same feature format"
        )
    return (features - _stats_like(mean, features)) / _stats_like(std, features)


def denormalize(features: Array, mean: Any, std: Any) -> Array:
    """x = x_hat * Std + Mean over the last axis (inverse of ``normalize``), (..., 263)."""
    if features.shape[-1] != np.shape(mean)[-1] or np.shape(mean) != np.shape(std):
        raise ValueError(
            f"features (..., {features.shape[-1]}) do not match mean {tuple(np.shape(mean))} / "
            f"std {tuple(np.shape(std))}; use the Mean/Std of the same feature format"
        )
    return features * _stats_like(std, features) + _stats_like(mean, features)


# --- captions -----------------------------------------------------------------------------------


def _seconds(field: str, path: str, line_no: int) -> float:
    try:
        value = float(field)
        if math.isinf(value):
            raise ValueError(field)
        return value
    except ValueError:
        raise DatasetError(
            f"{path} line {line_no}: time {field!r} is not a number; lines must read "
            "caption#tokens#start#end with start/end in seconds (0.0#0.0 = whole clip)"
        ) from None


def _time_range(fields: list[str], path: str, line_no: int) -> tuple[float, float]:
    """(start, end) seconds of one caption line; a NaN start is 0 (end may stay NaN)."""
    if len(fields) == 1:
        return 0.0, 0.0
    if len(fields) != 4:
        raise DatasetError(
            f"{path} line {line_no} has {len(fields)} '#'-fields; expected "
            "caption#tokens#start#end (or a bare caption)"
        )
    start, end = _seconds(fields[2], path, line_no), _seconds(fields[3], path, line_no)
    return (0.0 if math.isnan(start) else start), end


def parse_captions(text: str, path: str = "texts/ID.txt") -> list[tuple[str, int, int]]:
    """Parse a texts/ID.txt file into ``(caption, start_frame, end_frame)`` triples.

    ``end_frame`` is -1 for "to the end of the clip"; ``(caption, 0, -1)`` is a whole-clip
    caption. A line with no ``#`` is a whole-clip caption; blank lines are skipped.
    """
    result = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = line.strip().split("#")
        if not fields[0].strip():
            continue
        start, end = _time_range(fields, path, line_no)
        whole = math.isnan(end) or (start == 0.0 and end == 0.0)
        result.append((fields[0].strip(), round(start * FPS), -1 if whole else round(end * FPS)))
    return result


def _records_for_clip(
    clip: RawClip, concepts: tuple[str, ...], min_frames: int, max_frames: int
) -> list[MotionRecord]:
    """The whole-clip record and one record per sub-clip range (see the module docstring)."""
    num_frames = clip.features.shape[0]
    ranges: dict[tuple[int, int], list[str]] = {}
    for caption, start, end in parse_captions(clip.text, f"{TEXTS_DIR}/{clip.id}.txt"):
        end = num_frames if end < 0 else min(end, num_frames)
        key = (0, num_frames) if start <= 0 and end >= num_frames else (start, end)
        ranges.setdefault(key, []).append(caption)
    records = []
    for (start, end), captions in ranges.items():
        whole = (start, end) == (0, num_frames)
        if end - start < min_frames:
            continue
        clip_id = clip.id if whole else f"{clip.id}{SUBCLIP_SEPARATOR}{start}-{end}"
        features = clip.features[start:end][:max_frames]  # (<= max_frames, 263) view
        records.append(MotionRecord(clip_id, features, tuple(captions), concepts))
    return records


# --- the folder ---------------------------------------------------------------------------------


def _generate_hint(root: Path) -> str:
    return f"generate one with `python -m esd.corpus --out {root}`"


def _load_statistic(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(
            f"no {path.name} in {path.parent}: every HumanML3D folder needs Mean.npy and "
            f"Std.npy (263,); {_generate_hint(path.parent)}"
        )
    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path} is not a readable .npy file ({err}); regenerate it") from None
    if value.shape != (FEATURE_DIM,) or not np.isfinite(value).all():
        raise DatasetError(
            f"{path} must hold {FEATURE_DIM} finite numbers, got shape {value.shape}; "
            "recompute the statistics of the new_joint_vecs features"
        )
    value = value.astype(np.float32)
    value.setflags(write=False)
    return value


class MotionFolder:
    """A validated HumanML3D-format folder: splits, records, Mean/Std and optional corpus files.

    ``use_cache`` keeps a consolidated copy of each loaded split under ``ROOT/cache/`` (written
    atomically, rebuilt when the split file, manifest.json or any listed file changes; about the
    size of the split's features). A read-only folder just loads without it.

    ``mean``, ``std`` and every record's ``features`` are read-only arrays (cached features are
    memory-mapped): convert with ``torch.tensor(x)`` (a copy), not ``torch.from_numpy``.
    """

    def __init__(self, root: str | Path, use_cache: bool = False) -> None:
        self.root = Path(root).expanduser()
        self.use_cache = use_cache
        self._check_layout()
        self.mean = _load_statistic(self.root / MEAN_FILE)  # (263,) float32
        self.std = _load_statistic(self.root / STD_FILE)  # (263,) float32
        if not (self.std > 0).all():
            bad = int(np.flatnonzero(self.std <= 0)[0])
            raise DatasetError(
                f"{self.root / STD_FILE} has a non-positive entry at dim {bad}; every Std must "
                "be > 0 (HumanML3D averages the std within each feature group)"
            )

    def _check_layout(self) -> None:
        if not self.root.is_dir():
            raise DatasetError(
                f"dataset folder {self.root} does not exist; {_generate_hint(self.root)}"
            )
        for sub in (FEATURES_DIR, TEXTS_DIR):
            if not (self.root / sub).is_dir():
                raise DatasetError(
                    f"no {sub}/ folder in {self.root}: is this a HumanML3D folder? "
                    f"{_generate_hint(self.root)}"
                )
        if not any((self.root / f"{s}.txt").is_file() for s in SPLITS):
            raise DatasetError(
                f"no split file (train.txt, val.txt or test.txt) in {self.root}; list the clip "
                "ids of each split, one per line"
            )

    def __repr__(self) -> str:
        return f"MotionFolder({str(self.root)!r})"

    # -- optional corpus files --

    def _json(self, name: str) -> Any:
        path = self.root / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DatasetError(f"{path} is not valid JSON ({err}); regenerate the folder") from None

    @cached_property
    def labels(self) -> dict[str, Any] | None:
        """labels.json ({id: {"concepts": [...], "segments": [...]}}), or None if absent."""
        labels = self._json(LABELS_FILE)
        if labels is not None and not isinstance(labels, dict):
            raise DatasetError(f"{self.root / LABELS_FILE} must map clip ids to label objects")
        return labels

    @cached_property
    def heldout(self) -> dict[str, list[str]] | None:
        """heldout.json ({concept: [phrasings]}), or None if absent."""
        return self._json(HELDOUT_FILE)

    @cached_property
    def manifest(self) -> dict[str, Any] | None:
        """manifest.json of a generated corpus, or None if absent."""
        return self._json(MANIFEST_FILE)

    def concepts_of(self, clip_id: str) -> tuple[str, ...]:
        """Ground-truth concepts of a clip (or of its parent, for a sub-clip id); () if unknown."""
        entry = (self.labels or {}).get(clip_id.split(SUBCLIP_SEPARATOR)[0], {})
        return tuple(entry.get("concepts", ())) if isinstance(entry, dict) else ()

    # -- splits --

    def split_ids(self, split: str) -> list[str]:
        """Clip ids listed in ``ROOT/{split}.txt`` (order kept, blank lines skipped)."""
        path = self.root / f"{split}.txt"
        if os.sep in split or "/" in split or not path.is_file():
            available = sorted(p.stem for p in self.root.glob("*.txt"))
            raise DatasetError(
                f"no split {split!r} in {self.root} (no {split}.txt); available: "
                f"{', '.join(available) or 'none'}"
            )
        ids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        ids = [clip_id for clip_id in ids if clip_id]
        if not ids:
            raise DatasetError(f"split file {path} lists no clip ids; add ids, one per line")
        return ids

    def load_split(
        self,
        split: str,
        min_frames: int = MIN_FRAMES,
        max_frames: int = MAX_FRAMES,
        limit: int | None = None,
        progress: ProgressFn | None = None,
    ) -> list[MotionRecord]:
        """Records of a split (see the module docstring for the caption and length rules).

        ``limit`` loads only the first ``limit`` listed ids (and bypasses the cache).
        ``progress(done, total)`` is called while files are read. Clips with non-finite
        features are skipped with a warning. Raises DatasetError when files are missing or
        no record is left.
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1 (or None for the whole split), got {limit}")
        if not 1 <= min_frames <= max_frames:
            raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
        ids = self.split_ids(split)[:limit] if limit is not None else self.split_ids(split)
        self._check_files(split, ids)
        clips = self._read_clips(split, ids, progress, cacheable=limit is None)
        records = []
        for clip in self._finite(clips):
            records += _records_for_clip(clip, self.concepts_of(clip.id), min_frames, max_frames)
        if not records:
            raise DatasetError(
                f"no clip of split {split!r} in {self.root} ({len(ids)} ids) has a caption and at "
                f"least min_frames={min_frames} frames; lower min_frames or check the data"
            )
        return records

    def _check_files(self, split: str, ids: Sequence[str]) -> None:
        have_npy = {n[:-4] for n in os.listdir(self.root / FEATURES_DIR) if n.endswith(".npy")}
        have_txt = {n[:-4] for n in os.listdir(self.root / TEXTS_DIR) if n.endswith(".txt")}
        missing = [i for i in ids if i not in have_npy or i not in have_txt]
        if missing:
            first = missing[0]
            what = (
                f"{FEATURES_DIR}/{first}.npy"
                if first not in have_npy
                else f"{TEXTS_DIR}/{first}.txt"
            )
            raise DatasetError(
                f"{len(missing)} of {len(ids)} ids in {split}.txt have missing files (first: "
                f"{what}); restore the files or remove those ids from {split}.txt"
            )

    def _finite(self, clips: list[RawClip]) -> list[RawClip]:
        good = [c for c in clips if np.isfinite(c.features).all()]
        if len(good) < len(clips):
            bad = [c.id for c in clips if not np.isfinite(c.features).all()]
            warnings.warn(
                f"skipped {len(bad)} clip(s) with NaN/inf features in {self.root} "
                f"(first: {bad[0]}), as HumanML3D's Mean/Std script does",
                RuntimeWarning,
                stacklevel=3,
            )
        return good

    # -- reading, with the optional cache --

    def _read_clips(
        self, split: str, ids: list[str], progress: ProgressFn | None, cacheable: bool
    ) -> list[RawClip]:
        if not (self.use_cache and cacheable):
            return [self._read_clip(i) for i in _with_progress(ids, progress)]
        key = self._fingerprint(split, ids)
        clips = read_cache(self._cache_dir(), split, key)
        if clips is None:
            clips = [self._read_clip(i) for i in _with_progress(ids, progress)]
            try:
                write_cache(self._cache_dir(), split, key, clips)
            except OSError as err:  # read-only folder, full disk: loading still works
                warnings.warn(f"could not write the dataset cache ({err})", stacklevel=3)
        elif progress is not None:
            progress(len(ids), len(ids))
        return clips

    def _read_clip(self, clip_id: str) -> RawClip:
        path = os.path.join(self.root, FEATURES_DIR, f"{clip_id}.npy")
        try:
            features = read_npy(path)
        except (OSError, ValueError) as err:
            raise DatasetError(f"{path} is not a readable .npy file ({err})") from None
        if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
            raise DatasetError(
                f"{path} has shape {features.shape}; HumanML3D features are (T, {FEATURE_DIM})"
            )
        features = features.astype(np.float32, copy=False)
        features.setflags(write=False)
        text_path = os.path.join(self.root, TEXTS_DIR, f"{clip_id}.txt")
        with open(text_path, encoding="utf-8", errors="replace") as handle:
            return RawClip(clip_id, features, handle.read())

    def _cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    def _fingerprint(self, split: str, ids: list[str]) -> str:
        """Hash of the split file, manifest.json and each listed file's size and mtime."""
        digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
        digest.update((self.root / f"{split}.txt").read_bytes())
        manifest = self.root / MANIFEST_FILE
        digest.update(manifest.read_bytes() if manifest.is_file() else b"")
        features_dir, texts_dir = str(self.root / FEATURES_DIR), str(self.root / TEXTS_DIR)
        for clip_id in ids:  # os.path, not pathlib: 24,000 stats must stay cheap
            npy = os.stat(os.path.join(features_dir, f"{clip_id}.npy"))
            txt = os.stat(os.path.join(texts_dir, f"{clip_id}.txt"))
            digest.update(f"{clip_id}:{npy.st_size}:{npy.st_mtime_ns}:{txt.st_size}:".encode())
            digest.update(f"{txt.st_mtime_ns};".encode())
        return digest.hexdigest()[:KEY_CHARS]

    def load_joints(self, clip_id: str) -> np.ndarray:
        """new_joints of a clip (T, 22, 3); a sub-clip id "ID@start-end" gives its frames."""
        base, _, frames = clip_id.partition(SUBCLIP_SEPARATOR)
        path = self.root / JOINTS_DIR / f"{base}.npy"
        if not path.is_file():
            raise DatasetError(f"no {JOINTS_DIR}/{base}.npy in {self.root} (joints are optional)")
        joints = np.load(path, allow_pickle=False)
        if frames:
            start, end = (int(v) for v in frames.split("-"))
            joints = joints[start:end]  # (end - start, 22, 3)
        return joints


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """``np.load`` of a plain .npy file, several times faster for many small files.

    Reads the bytes in one call and wraps them without a copy (``np.load`` goes through
    ``np.fromfile``, about 0.5 ms per 100 KB file here). The result is read-only.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    header = io.BytesIO(raw)
    version = np.lib.format.read_magic(header)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(header)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(header)
    else:  # format 3.0 (utf-8 field names): rare, let NumPy handle it
        return np.load(path, allow_pickle=False)
    if dtype.hasobject:
        raise ValueError("it holds Python objects, not numbers")
    count = math.prod(shape)
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=header.tell())
    return flat.reshape(shape[::-1]).T if fortran_order else flat.reshape(shape)


def _with_progress(ids: list[str], progress: ProgressFn | None):
    for done, clip_id in enumerate(ids):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(ids))
        yield clip_id
    if progress is not None:
        progress(len(ids), len(ids))
