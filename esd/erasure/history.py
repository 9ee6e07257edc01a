"""The loss history of an ESD run, bounded: every loss up to ``MAX_LOSSES``, then downsampled.

``values[i]`` is the mean loss of steps ``i * stride + 1 .. (i + 1) * stride``. While fewer than
``MAX_LOSSES`` values are kept the stride is 1 (every loss); when the list reaches the cap,
adjacent pairs are averaged into one value and the stride doubles, so memory and checkpoint size
stay under ``MAX_LOSSES`` floats for any run length. Losses of an unfinished bucket wait in
``pending``. The history depends only on the sequence of losses, so a resumed run's history
equals the uninterrupted one bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LOSSES = 10_000  # loss values kept in memory and in each checkpoint (even)


@dataclass
class LossHistory:
    """Bucket means of the losses so far (see the module docstring)."""

    values: list[float] = field(default_factory=list)  # mean loss of each full bucket
    stride: int = 1  # steps per bucket
    pending: list[float] = field(default_factory=list)  # losses of the unfinished bucket
    last: float | None = None  # the latest loss
    cap: int = MAX_LOSSES  # values kept before pairs are merged

    def append(self, loss: float) -> None:
        """Record one step's loss."""
        self.last = loss
        self.pending.append(loss)
        if len(self.pending) < self.stride:
            return
        self.values.append(sum(self.pending) / self.stride)
        self.pending.clear()
        if len(self.values) >= self.cap:
            pairs = zip(self.values[0::2], self.values[1::2], strict=False)
            self.values = [(a + b) / 2 for a, b in pairs]
            self.stride *= 2

    def state(self) -> dict[str, Any]:
        """What a checkpoint stores (``losses`` keeps its old meaning while stride is 1)."""
        return {
            "losses": list(self.values),
            "loss_stride": self.stride,
            "loss_pending": list(self.pending),
            "last_loss": self.last,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], cap: int = MAX_LOSSES) -> LossHistory:
        """The history saved in a checkpoint (older checkpoints: every loss, stride 1)."""
        values = [float(v) for v in state.get("losses", [])]
        pending = [float(v) for v in state.get("loss_pending", [])]
        last = state.get("last_loss", values[-1] if values else None)
        return cls(values, int(state.get("loss_stride", 1)), pending, last, cap)
