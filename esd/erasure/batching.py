"""Balanced, resumable batches: every batch holds equal shares of every prompt's x_t samples.

With n prompts (the target concepts, then their variants) and batch size B, batch ``step`` holds

    share(g, step) = B // n + [ (g - step) mod n < B mod n ]      samples of prompt g

(the remainder rotates over the prompts, so the shares sum to B and even out over n steps). Each
prompt's samples are drawn as a stream of seeded permutations (one per pass over that prompt's
samples), so a sample is seen once per pass; batch ``step`` depends on the seed and the step
only, never on history, so a resumed run draws exactly the batches it would have drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def step_generator(seed: int, *stream: int) -> torch.Generator:
    """A CPU generator for (seed, stream...): draws that depend on their position only."""
    state = np.random.SeedSequence([seed, *stream]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state >> 1))


def balanced_shares(batch_size: int, groups: int, step: int) -> list[int]:
    """Samples of each of ``groups`` prompts in batch ``step`` (they sum to ``batch_size``)."""
    base, extra = divmod(batch_size, groups)
    return [base + int((g - step) % groups < extra) for g in range(groups)]


def drawn_before(batch_size: int, groups: int, group: int, step: int) -> int:
    """Samples of prompt ``group`` drawn by batches 0 .. step - 1 (its stream position)."""
    base, extra = divmod(batch_size, groups)
    cycles, rest = divmod(step, groups)
    last_cycle = range(cycles * groups, cycles * groups + rest)
    partial = sum((group - s) % groups < extra for s in last_cycle)
    return step * base + cycles * extra + partial


class BalancedSampler:
    """Batches of indices into ``members`` (one index list per prompt), balanced per prompt."""

    def __init__(self, members: Sequence[torch.Tensor], batch_size: int, seed: int) -> None:
        if any(len(m) == 0 for m in members):
            raise ValueError("every prompt needs at least one x_t sample: raise trajectories")
        self.members = [m.long().cpu() for m in members]  # each (L_g,)
        self.batch_size, self.seed = batch_size, seed

    def indices(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices (B,), prompt of each (B,)) of batch ``step``, prompt by prompt."""
        groups = len(self.members)
        chosen, owners = [], []
        for g, count in enumerate(balanced_shares(self.batch_size, groups, step)):
            start = drawn_before(self.batch_size, groups, g, step)
            chosen.append(self._take(g, start, count))
            owners.append(torch.full((count,), g, dtype=torch.long))
        return torch.cat(chosen), torch.cat(owners)

    def _take(self, group: int, start: int, count: int) -> torch.Tensor:
        """Positions start .. start + count - 1 of prompt ``group``'s stream of permutations."""
        items = self.members[group]
        taken, position = [], start
        while position < start + count:
            one_pass, offset = divmod(position, len(items))
            order = torch.randperm(len(items), generator=step_generator(self.seed, group, one_pass))
            piece = order[offset : offset + start + count - position]
            taken.append(items[piece])
            position += len(piece)
        return torch.cat(taken) if taken else items[:0]
