"""How much an evaluation generates and how: ``EvalSettings`` and its two presets.

``EvalSettings.full()`` is the reported setting (256 retain / 64 forget / 64 prompts per concept,
50 DDIM steps, multimodality on); ``EvalSettings.quick()`` the workbench's seconds-scale check
(32 per block, 20 DDIM steps, no multimodality). The same settings and seed give the same plan
(``esd.evaluation.plan``), the same numbers and the same intervals.

Multimodality follows Guo et al.: ``MM_REPEATS`` = 30 generations per caption (their
``mm_num_repeats``), of which ``metrics.MULTIMODALITY_PAIRS`` = 10 pairs of two different
generations are compared. Every interval is a 95% interval; bootstraps draw
``bootstrap_resamples`` resamples (``esd.evaluation.uncertainty``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from esd.evaluation.uncertainty import BOOTSTRAP_RESAMPLES
from esd.models.diffusion import MIN_DDIM_STEPS
from esd.models.generator import DEFAULT_GUIDANCE, DEFAULT_STEPS

RETAIN_SAMPLES = 256  # retain-set prompts (full preset): 8 R-precision pools of 32
FORGET_SAMPLES = 64  # forget-set prompts (full preset): 2 pools
CONCEPT_SAMPLES = 64  # prompts per concept block (target and each related concept)
QUICK_SAMPLES = 32  # every block in the quick preset: one R-precision pool
QUICK_STEPS = 20  # DDIM steps in the quick preset
MM_PROMPTS = 8  # multimodality: retain captions used (full preset)
MM_REPEATS = 30  # multimodality: generations per caption (Guo et al.'s mm_num_repeats)
MIN_RESAMPLES = 100  # fewest bootstrap resamples accepted (the 2.5% tails need a few each)
SEED_STRIDE = 100_000  # generation seeds of block k start at seed + k * SEED_STRIDE


@dataclass(frozen=True)
class EvalSettings:
    """How much to generate and how. ``EvalSettings.full()`` / ``EvalSettings.quick()``."""

    retain_samples: int = RETAIN_SAMPLES  # retain-set prompts
    forget_samples: int = FORGET_SAMPLES  # forget-set prompts
    concept_samples: int = CONCEPT_SAMPLES  # prompts per concept block
    seed: int = 0  # seeds prompt selection and generation noise
    ddim_steps: int = DEFAULT_STEPS  # sampler steps (the generator's default)
    guidance_scale: float = DEFAULT_GUIDANCE  # classifier-free guidance scale
    batch_size: int = 64  # prompts per generate() call
    mm_prompts: int = MM_PROMPTS  # multimodality prompts; 0 disables it (quick preset)
    mm_repeats: int = MM_REPEATS  # multimodality generations per prompt
    bootstrap_resamples: int = BOOTSTRAP_RESAMPLES  # resamples per bootstrap interval
    preset: str = "full"  # "full", "quick" or "custom" (reported in metrics.json)

    @classmethod
    def full(cls, seed: int = 0, **changes: Any) -> EvalSettings:
        """The reported setting: 256 retain / 64 forget / 64 per concept, 50 DDIM steps, MM on."""
        return replace(cls(seed=seed, preset="full"), **changes)

    @classmethod
    def quick(cls, seed: int = 0, **changes: Any) -> EvalSettings:
        """The workbench's seconds-scale check: 32 per block, 20 DDIM steps, no multimodality."""
        base = cls(
            retain_samples=QUICK_SAMPLES,
            forget_samples=QUICK_SAMPLES,
            concept_samples=QUICK_SAMPLES,
            seed=seed,
            ddim_steps=QUICK_STEPS,
            mm_prompts=0,
            preset="quick",
        )
        return replace(base, **changes)

    def with_num_samples(self, count: int) -> EvalSettings:
        """The same settings with ``count`` prompts in every block."""
        return replace(
            self, retain_samples=count, forget_samples=count, concept_samples=count
        ).validated()

    def validated(self) -> EvalSettings:
        """Return self, or raise ValueError naming the bad setting."""
        for name in ("retain_samples", "forget_samples", "concept_samples", "batch_size"):
            if not 1 <= int(getattr(self, name)) < SEED_STRIDE:
                raise ValueError(
                    f"{name} must be between 1 and {SEED_STRIDE - 1}, got {getattr(self, name)}"
                )
        if self.ddim_steps < MIN_DDIM_STEPS:
            raise ValueError(f"ddim_steps must be at least {MIN_DDIM_STEPS}, got {self.ddim_steps}")
        if not math.isfinite(self.guidance_scale):
            raise ValueError(f"guidance_scale must be finite, got {self.guidance_scale}")
        if self.mm_prompts < 0 or (self.mm_prompts > 0 and self.mm_repeats < 2):
            raise ValueError("multimodality needs mm_prompts >= 0 and mm_repeats >= 2")
        if self.bootstrap_resamples < MIN_RESAMPLES:
            raise ValueError(
                f"bootstrap_resamples must be at least {MIN_RESAMPLES}, "
                f"got {self.bootstrap_resamples}"
            )
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        return self
