"""The training dataset of a HumanML3D split: normalised, cropped motions with one caption each.

``MotionDataset`` wraps the records of ``MotionFolder.load_split`` (``esd.motion.humanml3d``):
each item is a ``MotionItem`` cropped to a multiple of ``UNIT_LENGTH`` frames and normalised
with the folder's Mean/Std; ``collate_motions`` pads items into a ``MotionBatch`` for a
``torch.utils.data.DataLoader``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from esd.motion.humanml3d import MotionRecord, normalize
from esd.motion.skeleton import FEATURE_DIM

UNIT_LENGTH = 4  # training crops are a multiple of this many frames (HumanML3D; VAE downsampling)


@dataclass(frozen=True)
class MotionItem:
    """One sample of ``MotionDataset``."""

    features: torch.Tensor  # (T, 263) float32, normalised; T a multiple of unit_length
    length: int  # T
    caption: str  # one of the record's captions
    id: str  # the record id


@dataclass
class MotionBatch:
    """A zero-padded batch of motions and their captions."""

    features: torch.Tensor  # (B, T_max, 263) float32, zero after each length
    lengths: torch.Tensor  # (B,) int64
    captions: list[str]  # B captions
    ids: list[str]  # B record ids

    @property
    def mask(self) -> torch.Tensor:
        """(B, T_max) bool, True on valid frames."""
        steps = torch.arange(self.features.shape[1], device=self.lengths.device)
        return steps[None, :] < self.lengths[:, None]

    def to(self, device: torch.device | str) -> MotionBatch:
        return MotionBatch(
            self.features.to(device), self.lengths.to(device), self.captions, self.ids
        )


def collate_motions(items: Sequence[MotionItem]) -> MotionBatch:
    """Stack ``MotionItem``s into a ``MotionBatch`` padded with zeros to the longest item."""
    if not items:
        raise ValueError("cannot collate an empty list of motions")
    lengths = torch.tensor([item.length for item in items], dtype=torch.long)  # (B,)
    features = torch.zeros(len(items), int(lengths.max()), items[0].features.shape[-1])
    for row, item in enumerate(items):
        features[row, : item.length] = item.features  # (T_i, 263) into (T_max, 263)
    return MotionBatch(features, lengths, [i.caption for i in items], [i.id for i in items])


class MotionDataset(Dataset):
    """Normalised, HumanML3D-style cropped motions with one caption each.

    Each item is cropped to ``T - T % unit_length`` frames. Training mode (``deterministic``
    False) takes a random offset and a random caption from a NumPy generator seeded with
    ``(seed, epoch, index)``: reproducible whatever the DataLoader's worker count, and different
    every epoch once ``set_epoch`` is called. Deterministic mode (evaluation) crops from frame 0
    and picks the caption from ``(seed, index)``, the same in every epoch.
    """

    def __init__(
        self,
        records: Sequence[MotionRecord],
        mean: np.ndarray,
        std: np.ndarray,
        unit_length: int = UNIT_LENGTH,
        deterministic: bool = False,
        seed: int = 0,
    ) -> None:
        if not records:
            raise ValueError("MotionDataset needs at least one record; load a split first")
        short = [r.id for r in records if r.num_frames < unit_length]
        if short:
            raise ValueError(
                f"{len(short)} record(s) shorter than unit_length={unit_length} (first: {short[0]})"
            )
        if np.shape(mean) != (FEATURE_DIM,) or np.shape(std) != (FEATURE_DIM,):
            raise ValueError(
                f"mean/std must be ({FEATURE_DIM},), got {np.shape(mean)}, {np.shape(std)}"
            )
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.records = list(records)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.unit_length = unit_length
        self.deterministic = deterministic
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw new crops and captions (training mode) for a new epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> MotionItem:
        record = self.records[index]
        num_frames = record.num_frames
        length = num_frames - num_frames % self.unit_length
        if self.deterministic:
            rng = np.random.default_rng((self.seed, index))
            offset = 0
        else:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            offset = int(rng.integers(0, num_frames - length + 1))
        caption = record.captions[int(rng.integers(len(record.captions)))]
        crop = normalize(record.features[offset : offset + length], self.mean, self.std)  # (L, 263)
        return MotionItem(torch.from_numpy(np.ascontiguousarray(crop)), length, caption, record.id)
