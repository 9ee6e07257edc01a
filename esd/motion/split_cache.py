"""The consolidated on-disk copy of a split (``MotionFolder(use_cache=True)``).

Reading 12,000 small .npy files takes seconds even from the page cache; this cache keeps each
loaded split of a HumanML3D folder as two files under ``ROOT/cache/``::

    SPLIT-KEY.features.npy   float32 (sum T, 263): every clip's features, one after the other
    SPLIT-KEY.index.npz      frame offsets (n + 1,), clip ids and texts/ID.txt contents

``KEY`` (``KEY_CHARS`` hex characters) is computed by ``MotionFolder`` from the split file,
manifest.json and every listed file's size and mtime, so any change gives a new key; writing a
split's new version removes its older ones. Both files are written with
``esd.common.files.atomic_save``, the index last, so a reader never sees a half-written cache;
a damaged or stale one reads as None and is rebuilt. Features come back memory-mapped and
read-only.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from esd.common.files import atomic_save
from esd.motion.skeleton import FEATURE_DIM

CACHE_VERSION = 1  # bump when the cache layout changes
KEY_CHARS = 20  # hex characters of the cache key in cache file names


@dataclass(frozen=True)
class RawClip:
    """A listed clip as stored on disk: its features and the raw text of texts/ID.txt."""

    id: str
    features: np.ndarray  # (T, 263) float32
    text: str


def _pack_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes (L,) uint8 and offsets (n + 1,) int64 of a list of strings."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.cumsum([0] + [len(b) for b in encoded]).astype(np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _unpack_strings(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = data.tobytes()
    return [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]


def _cache_paths(cache_dir: Path, split: str, key: str) -> tuple[Path, Path]:
    return cache_dir / f"{split}-{key}.features.npy", cache_dir / f"{split}-{key}.index.npz"


def write_cache(cache_dir: Path, split: str, key: str, clips: list[RawClip]) -> None:
    """features.npy (sum T, 263) and index.npz (ids, texts, frame offsets); the index last."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    features_path, index_path = _cache_paths(cache_dir, split, key)
    features = np.concatenate([c.features for c in clips])  # (sum T, 263)
    frame_offsets = np.cumsum([0] + [c.features.shape[0] for c in clips]).astype(np.int64)
    id_bytes, id_offsets = _pack_strings([c.id for c in clips])
    text_bytes, text_offsets = _pack_strings([c.text for c in clips])
    atomic_save(features_path, lambda f: np.save(f, features))
    index = {
        "frames": frame_offsets,
        "ids": id_bytes,
        "id_offsets": id_offsets,
        "texts": text_bytes,
        "text_offsets": text_offsets,
    }
    atomic_save(index_path, lambda f: np.savez(f, **index))
    stale_name = re.compile(
        rf"{re.escape(split)}-[0-9a-f]{{{KEY_CHARS}}}\.(features\.npy|index\.npz)"
    )
    for stale in cache_dir.iterdir():  # older versions of this split
        if stale_name.fullmatch(stale.name) and stale not in (features_path, index_path):
            stale.unlink(missing_ok=True)


def read_cache(cache_dir: Path, split: str, key: str) -> list[RawClip] | None:
    """The cached clips of a split (features memory-mapped, read-only), or None if stale."""
    features_path, index_path = _cache_paths(cache_dir, split, key)
    if not (index_path.is_file() and features_path.is_file()):
        return None
    try:
        features = np.load(features_path, mmap_mode="r").view(np.ndarray)  # (sum T, 263)
        with np.load(index_path, allow_pickle=False) as index:
            frames = index["frames"]
            ids = _unpack_strings(index["ids"], index["id_offsets"])
            texts = _unpack_strings(index["texts"], index["text_offsets"])
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache is rebuilt
    if features.shape[1:] != (FEATURE_DIM,) or frames[-1] != features.shape[0]:
        return None
    return [RawClip(i, features[a:b], t) for i, t, a, b in zip(ids, texts, frames[:-1], frames[1:])]
