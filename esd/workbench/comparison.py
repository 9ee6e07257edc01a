"""Comparison: the original and the unlearned motion of every prompt, from identical noise.

``compare`` checks its settings and generates with both models of a ``ModelCatalogue``;
``comparison_prompts`` builds the prompt list of the UI's form (target, related, extra);
``motion_choices`` and ``pick_clip`` name and find one motion of a comparison (for export).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from esd.models.diffusion import MIN_DDIM_STEPS, TRAIN_STEPS
from esd.motion.skeleton import MAX_SECONDS, MIN_SECONDS
from esd.workbench.catalogue import ModelCatalogue
from esd.workbench.recognition_notes import PairNote
from esd.workbench.user_input import (
    COMPARE_SECONDS,
    MAX_GUIDANCE,
    MAX_PROMPTS,
    MAX_SEED,
    WorkbenchError,
    as_integer,
    as_number,
    as_text,
    as_texts,
    optional_integer,
    optional_number,
)


@dataclass(frozen=True)
class MotionClip:
    """One generated motion (read-only arrays, cropped to its length)."""

    label: str  # "original" or "unlearned"
    model: str  # the model that generated it
    prompt: str
    joints: np.ndarray  # (T, 22, 3) metres, y up
    features: np.ndarray  # (T, 263) HumanML3D features

    @property
    def frames(self) -> int:
        return int(self.joints.shape[0])


@dataclass(frozen=True)
class ComparisonPair:
    """The original and the unlearned motion of one prompt, from identical noise."""

    prompt: str
    original: MotionClip
    unlearned: MotionClip


@dataclass(frozen=True)
class Comparison:
    """Result of ``compare`` (``Workbench.compare``)."""

    base_name: str  # the original model
    unlearned_name: str  # the run (or "RUN (in memory)" for the last job's student)
    seed: int  # item i of both models starts from the noise of seed + i
    seconds: float
    steps: int  # DDIM steps (the model family's default unless the user gave them)
    guidance: float  # classifier-free guidance scale (likewise)
    pairs: tuple[ComparisonPair, ...]
    notes: tuple[PairNote, ...] = ()  # the recogniser's reading of each pair
    notes_skipped: str = ""  # why there are no notes ('' when there are)
    plant_feet: bool = False  # both models' motions went through esd.motion.foot_plant


def _clips(motion: Any, label: str, model: str) -> list[MotionClip]:
    """The items of a GeneratedMotion as read-only MotionClips."""
    clips = []
    for i, prompt in enumerate(motion.prompts):
        joints, features = (np.array(a, dtype=np.float32) for a in motion.clip(i))
        joints.setflags(write=False)
        features.setflags(write=False)
        clips.append(MotionClip(label, model, prompt, joints, features))
    return clips


def compare(
    models: ModelCatalogue,
    base_name: str | None,
    run_name: str | None,
    prompts: str | Sequence[str],
    seconds: float = COMPARE_SECONDS,
    seed: int = 0,
    steps: int | str | None = None,
    guidance: float | str | None = None,
    plant_feet: bool = False,
) -> Comparison:
    """Original and unlearned motions of every prompt, generated from identical noise.

    ``run_name`` None uses the student of the last finished/stopped training job.
    ``base_name`` None uses the run's own base; another base is refused (the unlearned model
    only exists on top of the base it was erased from). ``prompts``: a list, or one text
    with a prompt per line (at most MAX_PROMPTS). ``steps`` / ``guidance`` None (or an empty
    field): the base model's own sampler settings (``MotionGenerator.sampler``).
    ``plant_feet``: both models' motions with their feet held on the floor
    (``esd.motion.foot_plant``, a root correction applied alike to both sides).
    """
    texts = as_texts("prompts", prompts, MAX_PROMPTS)
    if not texts:
        raise WorkbenchError("give at least one prompt, such as 'a person kicking'")
    seconds = as_number("seconds", seconds, MIN_SECONDS, MAX_SECONDS)
    seed = as_integer("seed", seed, 0, MAX_SEED)
    own = "or empty: the model's own"
    steps = optional_integer("DDIM steps", steps, MIN_DDIM_STEPS, TRAIN_STEPS, own)
    guidance = optional_number("guidance", guidance, 0.0, MAX_GUIDANCE, own)
    unlearned, label, base_ref = models.unlearned(run_name)
    if base_name and base_name != base_ref["name"]:
        raise WorkbenchError(
            f"{label} was erased from {base_ref['name']}, not {base_name}; compare it with "
            f"{base_ref['name']}"
        )
    base = models.base_generator(base_ref["name"], base_ref.get("ckpt"))
    steps = base.sampler.steps if steps is None else steps
    guidance = base.sampler.guidance if guidance is None else guidance
    kwargs = {"seconds": seconds, "seed": seed, "num_steps": steps, "guidance_scale": guidance,
              "plant_feet": bool(plant_feet)}  # fmt: skip
    original = _clips(base.generate(texts, **kwargs), "original", base_ref["name"])
    erased = _clips(unlearned.generate(texts, **kwargs), "unlearned", label)
    pairs = tuple(ComparisonPair(p, o, u) for p, o, u in zip(texts, original, erased))
    return Comparison(
        base_ref["name"], label, seed, seconds, steps, guidance, pairs, plant_feet=bool(plant_feet)
    )


# --- prompts and motion choices (pure functions) ------------------------------------------------


def comparison_prompts(
    target: str, related: str | Sequence[str] = (), extra: str | Sequence[str] = ()
) -> tuple[str, ...]:
    """The prompts of a comparison: the target first, then related and extra ones (texts with
    one prompt per line, or sequences); blanks and repeats dropped, at most MAX_PROMPTS."""
    first = as_text("target prompt", target)
    rest = as_texts("related prompts", related, MAX_PROMPTS)
    rest += as_texts("extra prompts", extra, MAX_PROMPTS)
    prompts = tuple(dict.fromkeys((first, *rest)))
    if len(prompts) > MAX_PROMPTS:
        raise WorkbenchError(
            f"at most {MAX_PROMPTS} prompts can be compared at once (target, related and extra "
            f"together), got {len(prompts)}; remove some"
        )
    return prompts


def motion_choices(comparison: Comparison | None) -> list[tuple[str, str]]:
    """(label, key) of every motion of a comparison, for a dropdown; keys are ``"i:label"``."""
    if comparison is None:
        return []
    return [
        (f"{pair.prompt} · {clip.label} ({clip.model})", f"{i}:{clip.label}")
        for i, pair in enumerate(comparison.pairs)
        for clip in (pair.original, pair.unlearned)
    ]


def pick_clip(comparison: Comparison | None, key: str | None) -> MotionClip:
    """The motion ``key`` (see ``motion_choices``) of a comparison; WorkbenchError otherwise."""
    if comparison is None or not comparison.pairs:
        raise WorkbenchError("no motion shown yet: run a comparison first")
    index, _, label = str(key or "").partition(":")
    known = index.isdigit() and int(index) < len(comparison.pairs)
    if not known or label not in ("original", "unlearned"):
        raise WorkbenchError("pick one of the motions of the comparison shown")
    return getattr(comparison.pairs[int(index)], label)
