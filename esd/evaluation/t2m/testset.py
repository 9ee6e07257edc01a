"""The T2M protocol's test set: items read from a HumanML3D folder, and their seeded sampling.

Specification: SALAD_COMPAT.md 3.5 ("Test data"). Reading (``load_test_items``):

* the ids of ``split.txt`` (``test.txt``: 4,384 ids); a clip whose features or caption file is
  missing, or whose length T is outside ``MIN_FRAMES <= T < MAX_FRAMES_EXCLUSIVE`` (40 <= T <
  200), is dropped, with its sub-captions;
* a caption line ``caption#tokens#from#to`` with from = to = 0 (or NaN) belongs to the whole clip;
  a line with a time range becomes its own item (frames ``int(from * 20)`` to ``int(to * 20)``,
  same length filter); the whole clip is an item only when it has a whole-clip caption;
* items are sorted by length (stable), as the reference dataset.

Sampling them into batches is ``esd.evaluation.t2m.sampling``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from esd.motion.humanml3d import FEATURES_DIR, TEXTS_DIR
from esd.motion.skeleton import FEATURE_DIM, FPS, MIN_FRAMES

MAX_FRAMES_EXCLUSIVE = 200  # clips of 200 frames and more are dropped (reference dataset)
DEFAULT_SPLIT = "test"


class T2MDataError(ValueError):
    """The HumanML3D folder cannot give the protocol's test set."""


@dataclass(frozen=True)
class Caption:
    """One caption of an item and its ``word/POS`` tokens."""

    text: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class T2MItem:
    """One test item: a clip (or a captioned range of one) and its captions."""

    name: str  # clip id, or "ID#line" for a captioned range
    motion: np.ndarray  # (T, 263) raw features, 40 <= T < 200
    captions: tuple[Caption, ...]

    def with_captions(self, captions: Sequence[Caption]) -> T2MItem:
        return replace(self, captions=tuple(captions))


@dataclass(frozen=True)
class ItemsSummary:
    """What ``load_test_items`` kept and dropped."""

    ids: int  # ids in the split file
    items: int  # items kept (clips + captioned ranges)
    dropped_length: int  # clips or ranges outside 40 <= T < 200
    missing: int  # ids without features or caption file
    tagged: int  # captions without tokens, tagged by the lexicon tagger


def _time(field: str) -> float:
    try:
        value = float(field)
    except ValueError:
        return math.nan
    return 0.0 if math.isnan(value) else value


def parse_caption_line(line: str) -> tuple[Caption, float, float] | None:
    """``caption#tokens#from#to`` -> (Caption, from seconds, to seconds), None for a blank line.

    Missing or unreadable times count as 0 (whole clip), as the reference reader does with NaN;
    a line without a token field gets no tokens.
    """
    fields = line.strip().split("#")
    text = fields[0].strip()
    if not text:
        return None
    tokens = tuple(t for t in (fields[1].split(" ") if len(fields) > 1 else []) if t)
    start = _time(fields[2]) if len(fields) > 2 else 0.0
    end = _time(fields[3]) if len(fields) > 3 else 0.0
    return Caption(text, tokens), start, end


def _length_ok(frames: int) -> bool:
    return MIN_FRAMES <= frames < MAX_FRAMES_EXCLUSIVE


def _read_clip(root: Path, clip_id: str) -> tuple[np.ndarray, list[str]] | None:
    feature_path = root / FEATURES_DIR / f"{clip_id}.npy"
    text_path = root / TEXTS_DIR / f"{clip_id}.txt"
    if not feature_path.is_file() or not text_path.is_file():
        return None
    try:
        motion = np.load(feature_path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise T2MDataError(f"{feature_path} is not a readable .npy array: {err}") from None
    if motion.ndim != 2 or motion.shape[1] != FEATURE_DIM:
        raise T2MDataError(f"{feature_path} has shape {motion.shape}, expected (T, {FEATURE_DIM})")
    return motion.astype(np.float32), text_path.read_text(encoding="utf-8").splitlines()


def _clip_items(clip_id, motion, lines, tag, counts) -> list[tuple[T2MItem, int]]:
    """(item, insertion order) pairs of one clip: its captioned ranges, then the whole clip."""
    whole, items = [], []
    for line_no, line in enumerate(lines, start=1):
        parsed = parse_caption_line(line)
        if parsed is None:
            continue
        caption, start, end = parsed
        if not caption.tokens and tag is not None:
            caption = Caption(caption.text, tuple(tag(caption.text)))
            counts["tagged"] += 1
        if start == 0.0 and end == 0.0:
            whole.append(caption)
            continue
        part = motion[int(start * FPS) : int(end * FPS)]  # (T', 263)
        if not _length_ok(part.shape[0]):
            counts["dropped_length"] += 1
            continue
        items.append(T2MItem(f"{clip_id}#{line_no}", part, (caption,)))
    if whole:
        items.append(T2MItem(clip_id, motion, tuple(whole)))
    return items


def load_test_items(
    data_root: str | Path,
    split: str = DEFAULT_SPLIT,
    tag: Callable[[str], list[str]] | None = None,
) -> tuple[list[T2MItem], ItemsSummary]:
    """Read the protocol's items of ``split`` from a HumanML3D folder (see the module docstring).

    ``tag`` gives tokens to captions that have none (e.g. ``tagger.tag_caption``); without it
    such captions keep an empty token list. Raises T2MDataError (one line) when the split file
    is missing or no item is left.
    """
    root = Path(data_root)
    split_file = root / f"{split}.txt"
    if not split_file.is_file():
        raise T2MDataError(
            f"split file not found: {split_file} (a HumanML3D folder has {split}.txt)"
        )
    ids = [line.strip() for line in split_file.read_text(encoding="utf-8").splitlines()]
    ids = [clip_id for clip_id in ids if clip_id]
    counts = {"dropped_length": 0, "missing": 0, "tagged": 0}
    items: list[T2MItem] = []
    for clip_id in ids:
        clip = _read_clip(root, clip_id)
        if clip is None:
            counts["missing"] += 1
        elif not _length_ok(clip[0].shape[0]):
            counts["dropped_length"] += 1
        else:
            items += _clip_items(clip_id, clip[0], clip[1], tag, counts)
    if not items:
        raise T2MDataError(
            f"no test item in {root}: every clip of {split}.txt is missing or outside "
            f"{MIN_FRAMES} <= frames < {MAX_FRAMES_EXCLUSIVE}"
        )
    items.sort(key=lambda item: item.motion.shape[0])  # stable, as the reference
    return items, ItemsSummary(len(ids), len(items), **counts)
