"""The evaluation reference set: the test split's captions, lengths, concepts and REAL embeddings.

A fresh machine has no corpus on disk, so ``python -m esd.evaluate`` works from a small bundled
file (``assets/t2m_evaluator/reference_test.npz``, next to the evaluator that made it) holding,
for every record of a HumanML3D-format folder's test split:

    ids          (N,) str     record ids (sub-clips "ID@start-end" included)
    lengths      (N,) int32   frames
    captions     all captions of each record (flattened + offsets)
    concepts     ground-truth concept names from labels.json (may be empty: real HumanML3D)
    heldout      held-out phrasings per concept from heldout.json (may be empty)
    motion_emb   (N, D) float16  the evaluator's embeddings of the real motions

plus the evaluator's fingerprint, so a reference is never used with another evaluator. The file
is a ``np.savez_compressed`` archive of plain arrays (strings as unicode arrays), loadable with
``allow_pickle=False``.

Retain / forget split (``retain_forget``): the forget set holds the clips that contain the target
concept, the retain set all others. With labels (the procedural corpus) membership comes from
labels.json; without labels (real HumanML3D) a clip is in the forget set when one of its captions
contains every keyword of the target text. Keywords are the target's words minus stopwords ("a",
"person", "someone", "the", "is", ...), reduced by a simple stemmer (kick / kicks / kicking /
kicked -> "kick"; lunge / lunges / lunging -> "lung").
"""

from __future__ import annotations

import hashlib
import itertools
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from esd.common.files import atomic_save
from esd.evaluation.contrastive import EvaluatorBundle
from esd.motion.humanml3d import MotionFolder, MotionRecord
from esd.motion.keywords import caption_stems, target_keywords

REFERENCE_FILE = "reference_test.npz"  # file name beside an evaluator's model/ folder
REFERENCE_VERSION = 1  # bump when the archive layout changes
EMBED_BATCH = 128  # clips per evaluator forward pass while building
PROGRESS_STAGES = ("reading", "embedding")  # stages reported by ReferenceSet.build

ProgressFn = Callable[[str, int, int], None]  # progress(stage, done, total)


class ReferenceError(ValueError):
    """A reference set file is missing, unreadable, empty or made by another evaluator."""


# --- fingerprint --------------------------------------------------------------------------------


def evaluator_fingerprint(evaluator: EvaluatorBundle) -> str:
    """Short SHA-256 of the evaluator's weights and feature statistics."""
    digest = hashlib.sha256()
    state = {**evaluator.model.state_dict(), "_mean": evaluator.mean, "_std": evaluator.std}
    for name, tensor in sorted(state.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


@torch.no_grad()
def embed_records(
    evaluator: EvaluatorBundle,
    records: Sequence[MotionRecord],
    batch_size: int = EMBED_BATCH,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Evaluator embeddings (N, D) float32 of the records' raw features, in record order.

    Records are batched by length (the evaluator ignores padding, so this only saves time).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort([r.num_frames for r in records], kind="stable")
    device = evaluator.mean.device
    chunks: list[np.ndarray] = []
    for start in range(0, len(order), batch_size):
        batch = [records[i] for i in order[start : start + batch_size]]
        lengths = torch.tensor([r.num_frames for r in batch])  # (B,)
        features = torch.zeros(len(batch), int(lengths.max()), batch[0].features.shape[1])
        for row, record in enumerate(batch):
            features[row, : record.num_frames] = torch.tensor(record.features)  # (T_i, 263)
        emb = evaluator.embed_motion(features.to(device), lengths.to(device))  # (B, D)
        chunks.append(emb.float().cpu().numpy())
        if progress is not None:
            progress("embedding", min(start + batch_size, len(order)), len(order))
    emb = np.concatenate(chunks)  # (N, D) in length order
    result = np.empty_like(emb)
    result[order] = emb
    return result


# --- the set ------------------------------------------------------------------------------------


def _flatten(groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Strings (M,) and offsets (N + 1,) of a list of string lists."""
    flat = [s for group in groups for s in group]
    offsets = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    return np.array(flat, dtype=str), offsets


def _unflatten(flat: np.ndarray, offsets: np.ndarray) -> tuple[tuple[str, ...], ...]:
    items = flat.tolist()
    return tuple(tuple(items[a:b]) for a, b in itertools.pairwise(offsets))


@dataclass(frozen=True)
class ReferenceSet:
    """Captions, lengths, concepts and real motion embeddings of one split (see module doc)."""

    ids: tuple[str, ...]  # N record ids
    captions: tuple[tuple[str, ...], ...]  # N tuples, each with >= 1 caption
    lengths: np.ndarray  # (N,) int32 frames
    concepts: tuple[tuple[str, ...], ...]  # N tuples of concept names, () when unlabelled
    motion_emb: np.ndarray  # (N, D) float32 real motion embeddings (unit rows)
    heldout: dict[str, tuple[str, ...]] = field(default_factory=dict)  # concept -> phrasings
    fingerprint: str = ""  # evaluator_fingerprint of the evaluator that embedded the motions
    source: str = ""  # the folder it was built from (for the report)
    split: str = "test"  # the split it holds

    def __post_init__(self) -> None:
        n = len(self.ids)
        if n == 0:
            raise ReferenceError(
                "the reference set is empty: build it from a split with at least one clip"
            )
        sizes = (len(self.captions), len(self.lengths), len(self.concepts), len(self.motion_emb))
        if sizes != (n, n, n, n) or self.motion_emb.ndim != 2:
            raise ReferenceError(
                f"reference arrays disagree: {n} ids, {sizes[0]} caption lists, {sizes[1]} "
                f"lengths, {sizes[2]} concept lists, motion_emb {self.motion_emb.shape}"
            )
        if any(not caps for caps in self.captions):
            raise ReferenceError("every reference clip needs at least one caption")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def embed_dim(self) -> int:
        return int(self.motion_emb.shape[1])

    @property
    def has_labels(self) -> bool:
        """True when at least one clip carries ground-truth concepts (labels.json)."""
        return any(self.concepts)

    @property
    def concept_names(self) -> list[str]:
        """Every labelled concept name, sorted."""
        return sorted({c for group in self.concepts for c in group})

    # -- construction --

    @classmethod
    def build(
        cls,
        folder: MotionFolder,
        evaluator: EvaluatorBundle,
        split: str = "test",
        batch_size: int = EMBED_BATCH,
        progress: ProgressFn | None = None,
    ) -> ReferenceSet:
        """Read ``split`` of ``folder`` (DatasetError if unusable) and embed its real motions.

        ``progress(stage, done, total)`` reports "reading" (files) and "embedding" (clips).
        """
        reading = (lambda done, total: progress("reading", done, total)) if progress else None
        records = folder.load_split(split, progress=reading)
        emb = embed_records(evaluator, records, batch_size, progress)
        heldout = folder.heldout or {}
        if not isinstance(heldout, dict):
            raise ReferenceError(f"{folder.root}/heldout.json must map concept names to lists")
        return cls(
            ids=tuple(r.id for r in records),
            captions=tuple(r.captions for r in records),
            lengths=np.array([r.num_frames for r in records], dtype=np.int32),
            concepts=tuple(r.concepts for r in records),
            motion_emb=emb,
            heldout={str(k): tuple(str(p) for p in v) for k, v in heldout.items()},
            fingerprint=evaluator_fingerprint(evaluator),
            source=str(folder.root),
            split=split,
        )

    # -- files --

    def save(self, path: str | Path) -> Path:
        """Write the set as one compressed .npz, atomically (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        captions, caption_offsets = _flatten(self.captions)
        concepts, concept_offsets = _flatten(self.concepts)
        heldout_keys = sorted(self.heldout)
        phrasings, phrasing_offsets = _flatten([self.heldout[k] for k in heldout_keys])
        arrays = {
            "version": np.array(REFERENCE_VERSION),
            "ids": np.array(self.ids, dtype=str),
            "lengths": self.lengths.astype(np.int32),
            "captions": captions,
            "caption_offsets": caption_offsets,
            "concepts": concepts,
            "concept_offsets": concept_offsets,
            "heldout_concepts": np.array(heldout_keys, dtype=str),
            "heldout_phrasings": phrasings,
            "heldout_offsets": phrasing_offsets,
            "motion_emb": self.motion_emb.astype(np.float16),
            "fingerprint": np.array(self.fingerprint),
            "source": np.array(self.source),
            "split": np.array(self.split),
        }
        return atomic_save(path, lambda handle: np.savez_compressed(handle, **arrays))

    @classmethod
    def load(cls, path: str | Path) -> ReferenceSet:
        """Read a set written by ``save``; ReferenceError says what is wrong and how to fix it."""
        path = Path(path)
        hint = "rebuild it with `python -m esd.evaluate --data_root DIR` (see --help)"
        if not path.is_file():
            raise ReferenceError(f"no reference set at {path}; {hint}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ReferenceError(
                f"{path} is not a readable reference set ({err}); {hint}"
            ) from None
        version = int(arrays.get("version", -1))
        if version != REFERENCE_VERSION:
            raise ReferenceError(
                f"{path} has reference format {version}, this code reads "
                f"{REFERENCE_VERSION}; {hint}"
            )
        try:
            heldout = _unflatten(arrays["heldout_phrasings"], arrays["heldout_offsets"])
            return cls(
                ids=tuple(arrays["ids"].tolist()),
                captions=_unflatten(arrays["captions"], arrays["caption_offsets"]),
                lengths=arrays["lengths"].astype(np.int32),
                concepts=_unflatten(arrays["concepts"], arrays["concept_offsets"]),
                motion_emb=arrays["motion_emb"].astype(np.float32),
                heldout=dict(zip(arrays["heldout_concepts"].tolist(), heldout)),
                fingerprint=str(arrays["fingerprint"]),
                source=str(arrays["source"]),
                split=str(arrays["split"]),
            )
        except KeyError as err:
            raise ReferenceError(f"{path} lacks the array {err}; {hint}") from None

    def check_evaluator(self, evaluator: EvaluatorBundle) -> None:
        """Raise ReferenceError unless this set was embedded by ``evaluator``."""
        own = evaluator_fingerprint(evaluator)
        if self.fingerprint != own:
            raise ReferenceError(
                f"the reference set (from {self.source or 'unknown'}) was embedded by another "
                f"evaluator (fingerprint {self.fingerprint or 'none'}, this one {own}); pass "
                "--data_root DIR to build a reference with this evaluator"
            )

    # -- selections --

    def clips_with_keywords(self, keywords: Sequence[str]) -> np.ndarray:
        """(N,) bool: clips with a caption that contains every stemmed keyword."""
        wanted = set(keywords)
        return np.array(
            [any(wanted <= caption_stems(c) for c in caps) for caps in self.captions], dtype=bool
        )

    def forget_mask(self, target: str | Sequence[str]) -> tuple[np.ndarray, str]:
        """(N,) bool mask of clips containing ``target``, and the rule used (for the report).

        ``target``: a concept name of labels.json (used when the set has labels and knows
        the name), else a target text (its keywords) or a list of already stemmed keywords.
        """
        if isinstance(target, str) and self.has_labels and target in self.concept_names:
            mask = np.array([target in group for group in self.concepts], dtype=bool)
            return mask, f"labels: clips labelled {target!r}"
        keywords = target_keywords(target) if isinstance(target, str) else tuple(target)
        if not keywords:
            raise ValueError("give at least one keyword for the forget set")
        rule = f"keywords: a caption contains {' + '.join(keywords)}"
        return self.clips_with_keywords(keywords), rule

    def retain_forget(self, target: str | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Indices (int64) of the retain set (clips without the target) and the forget set."""
        mask, _ = self.forget_mask(target)
        return np.flatnonzero(~mask), np.flatnonzero(mask)

    def concept_clips(
        self, target: str | Sequence[str], rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Indices of the clips of a concept (``forget_mask`` rule), single-concept clips first
        (their captions describe only that concept: the cleanest paraphrases); each group
        shuffled by ``rng`` when given."""
        _, forget = self.retain_forget(target)
        groups = [
            np.array([i for i in forget if len(self.concepts[i]) <= 1], dtype=np.int64),
            np.array([i for i in forget if len(self.concepts[i]) > 1], dtype=np.int64),
        ]
        if rng is not None:
            groups = [rng.permutation(g) for g in groups]
        return np.concatenate(groups)
