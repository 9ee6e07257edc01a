"""The size of an erasure, checked against named budgets before any work starts.

Three products of the settings can exhaust the machine while each setting looks harmless:

* the x_t pool (``pool`` source): trajectories x DDIM steps x tokens x channels x 4 bytes x 3
  tensors (x_t and the teacher's conditional / unconditional predictions, float32);
* the teacher's DDIM work to prepare x_t, in sample-steps (one sample advanced one DDIM step):
  pool: trajectories x DDIM steps; teacher source: steps x batch x (DDIM steps + 1) / 2 on average;
* the optimizer steps of the run.

``check_budget`` refuses a run over any budget with one line giving the estimate and the limit
(``BudgetError``, a ValueError). The budgets fit the reference machine (2 cores, 24 GiB).
"""

from __future__ import annotations

from dataclasses import dataclass

from esd.erasure.config import ESDConfig

FLOAT_BYTES = 4  # float32
POOL_TENSORS = 3  # x_t, teacher conditional and unconditional predictions
MAX_POOL_BYTES = 2 * 2**30  # 2 GiB of pool: a twelfth of the reference machine's 24 GiB
MAX_TEACHER_SAMPLE_STEPS = 20_000_000  # teacher DDIM sample-steps (the bundled model: ~2 h CPU)
MAX_TOTAL_STEPS = 200_000  # optimizer steps (the bundled model at batch 64: ~6 h on 2 cores)
GIB = 2**30


class BudgetError(ValueError):
    """A run larger than a budget; the message gives the estimate and the limit."""


@dataclass(frozen=True)
class RunSize:
    """Estimated size of one erasure."""

    total_steps: int  # optimizer steps
    pool_trajectories: int  # pooled trajectories (x_t pool and anchor pool)
    pool_steps: int  # DDIM steps recorded per pool trajectory
    tokens: int  # latent tokens of the longest trajectory
    channels: int  # latent channels
    teacher_sample_steps: int  # teacher DDIM sample-steps to prepare x_t

    @property
    def pool_bytes(self) -> int:
        """trajectories x steps x tokens x channels x 4 bytes x 3 tensors (0 without a pool)."""
        cells = self.pool_trajectories * self.pool_steps * self.tokens * self.channels
        return cells * FLOAT_BYTES * POOL_TENSORS


def run_size(cfg: ESDConfig, total_steps: int, tokens: int, channels: int) -> RunSize:
    """The size of ``cfg``'s run: ``total_steps`` optimizer steps, trajectories of at most
    ``tokens`` latent tokens with ``channels`` channels."""
    pooled = anchor_trajectories(cfg) if cfg.preservation_weight > 0 else 0
    if cfg.xt_source == "pool":
        pooled += cfg.trajectories * len(cfg.concepts)
    work = pooled * cfg.ddim_steps
    if cfg.xt_source == "teacher":
        work += total_steps * cfg.batch_size * (cfg.ddim_steps + 1) // 2
    return RunSize(total_steps, pooled, cfg.ddim_steps, tokens, channels, work)


def anchor_trajectories(cfg: ESDConfig) -> int:
    """Trajectories of the anchor pool (preservation): ``trajectories``, one per anchor at least."""
    return max(cfg.trajectories, len(cfg.anchors))


def check_budget(cfg: ESDConfig, size: RunSize) -> None:
    """Raise BudgetError with the estimate and the limit when ``size`` exceeds a budget."""
    if size.pool_bytes > MAX_POOL_BYTES:
        raise BudgetError(
            f"the x_t pool would need {size.pool_trajectories} trajectories x {size.pool_steps} "
            f"steps x {size.tokens} tokens x {size.channels} channels x {FLOAT_BYTES} bytes x "
            f"{POOL_TENSORS} = {size.pool_bytes / GIB:.1f} GiB, over the limit of "
            f"{MAX_POOL_BYTES / GIB:.0f} GiB: lower trajectories, ddim_steps or the longest seconds"
        )
    if size.teacher_sample_steps > MAX_TEACHER_SAMPLE_STEPS:
        raise BudgetError(
            f"preparing x_t would take {size.teacher_sample_steps:,} teacher DDIM sample-steps "
            f"({cfg.xt_source} source), over the limit of {MAX_TEACHER_SAMPLE_STEPS:,}: lower "
            "trajectories, ddim_steps, batch_size or the length of the run"
        )
    if size.total_steps > MAX_TOTAL_STEPS:
        raise BudgetError(
            f"the run would take {size.total_steps:,} optimizer steps, over the limit of "
            f"{MAX_TOTAL_STEPS:,}: lower epochs / iterations or raise batch_size"
        )
