"""TextBatch: what every text encoder hands the denoiser (token states and their mask)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class TextBatch:
    """Encoded prompts: token states and a mask of real tokens (all False = null prompt)."""

    states: torch.Tensor  # (B, L, D_text) float32, zeros where mask is False
    mask: torch.Tensor  # (B, L) bool, True for real tokens ([CLS] and [SEP] included)

    def __post_init__(self) -> None:
        if self.states.dim() != 3 or self.mask.dim() != 2:
            raise ValueError(
                f"TextBatch needs states (B, L, D) and mask (B, L); got "
                f"{tuple(self.states.shape)} and {tuple(self.mask.shape)}"
            )
        if self.states.shape[:2] != self.mask.shape or self.mask.dtype != torch.bool:
            raise ValueError(
                f"TextBatch mask must be bool with shape {tuple(self.states.shape[:2])}; got "
                f"{self.mask.dtype} {tuple(self.mask.shape)}"
            )

    def __len__(self) -> int:
        return self.states.shape[0]

    @property
    def is_null(self) -> torch.Tensor:
        """(B,) bool: rows of the null (empty) prompt."""
        return ~self.mask.any(dim=1)

    def to(self, device: torch.device | str) -> TextBatch:
        return TextBatch(self.states.to(device), self.mask.to(device))

    def index(self, rows: torch.Tensor | Sequence[int] | slice) -> TextBatch:
        """The rows ``rows`` (indices, bool mask or slice) as a new batch."""
        if not isinstance(rows, slice):
            rows = torch.as_tensor(rows, device=self.mask.device)
        return TextBatch(self.states[rows], self.mask[rows])

    def repeat(self, times: int) -> TextBatch:
        """The batch tiled ``times`` times along B (rows 0..B-1, then 0..B-1 again, ...)."""
        return TextBatch(self.states.repeat(times, 1, 1), self.mask.repeat(times, 1))

    def padded(self, length: int) -> TextBatch:
        """The batch padded with masked-out zero tokens to ``length`` (>= L) tokens."""
        extra = length - self.mask.shape[1]
        if extra < 0:
            raise ValueError(f"cannot pad {self.mask.shape[1]} tokens down to {length}")
        states = torch.nn.functional.pad(self.states, (0, 0, 0, extra))  # (B, length, D)
        mask = torch.nn.functional.pad(self.mask, (0, extra), value=False)  # (B, length)
        return TextBatch(states, mask)

    @staticmethod
    def cat(*batches: TextBatch) -> TextBatch:
        """Concatenate along B, padding every batch to the longest L."""
        if not batches:
            raise ValueError("TextBatch.cat needs at least one batch")
        length = max(b.mask.shape[1] for b in batches)
        padded = [b.padded(length) for b in batches]
        return TextBatch(torch.cat([b.states for b in padded]), torch.cat([b.mask for b in padded]))
