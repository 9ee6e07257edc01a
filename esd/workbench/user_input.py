"""What the user asks the workbench for, checked: limits, one-line errors, typed requests.

``TrainingRequest`` -> ``training_config`` (an ``esd.erasure.config.ESDConfig``) and
``EvaluationRequest`` -> ``evaluation_settings`` (an ``esd.evaluation.settings.EvalSettings``);
every bad value raises ``WorkbenchError`` with a message that names the field and says what to
enter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from esd.common.errors import one_line
from esd.common.prompts import MAX_PROMPT_CHARS, PromptError, check_prompt
from esd.erasure.config import (
    MAX_AUTO_ANCHORS,
    MAX_BATCH_SIZE,
    METHODS,
    RECIPE,
    XT_SOURCES,
    ESDConfig,
    validate_config,
)
from esd.evaluation.instruments import DEFAULT_RELATED, DEFAULT_TARGET
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.models.diffusion import MIN_DDIM_STEPS, TRAIN_STEPS
from esd.motion.humanml3d import CORPUS_ROOT
from esd.motion.skeleton import MAX_SECONDS, MIN_SECONDS

GUIDANCE_RANGE = (0.5, 5.0)  # negative guidance eta the UI accepts
LR_RANGE = (1e-8, 1e-1)  # learning rates the UI accepts
MAX_ITERATIONS = 100_000  # optimizer steps of one run
MAX_EPOCHS = 1_000  # epochs of one run
MAX_TRAJECTORIES = 512  # teacher trajectories in the pool
MAX_RELATED = 8  # related concepts kept for comparison / evaluation
MAX_PROMPTS = 8  # prompts of one comparison
MAX_TEXT = MAX_PROMPT_CHARS  # characters of a concept or prompt (esd.common.prompts)
MAX_SEED = 2**31 - 1  # seeds are stored as int32-friendly values
MAX_VARIANTS = 8  # extra phrasings of the target concept, erased with it
MAX_SAMPLES = 4096  # evaluation prompts per block (the full preset uses 256)
MAX_GUIDANCE = 20.0  # classifier-free guidance scale of a comparison
COMPARE_SECONDS = 4.0  # default length of compared motions
PRESETS = ("quick", "full")  # evaluation presets (``esd.evaluation.settings.EvalSettings``)
RUN_LENGTH_UNITS = ("epochs", "iterations")  # how the training form gives the length of a run


class WorkbenchError(ValueError):
    """A user-facing error of the workbench: the message says what is wrong and what to do."""


class BusyError(WorkbenchError):
    """A job is already running: one background job at a time."""


# --- validation helpers -------------------------------------------------------------------------


def number_text(value: float) -> str:
    """A limit as a reader writes it: 2147483647, 0.5, 1e-08 (never 2.14748e+09)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:g}"


def is_blank(value: Any) -> bool:
    """None or a text of spaces only: an optional field left empty."""
    return value is None or (isinstance(value, str) and not value.strip())


def as_number(name: str, value: Any, low: float, high: float, hint: str = "") -> float:
    """``value`` as a finite float in [low, high]; WorkbenchError naming ``name`` otherwise."""
    if isinstance(value, bool):
        raise WorkbenchError(f"{name} must be a number, got {value!r}")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise WorkbenchError(f"{name} is empty: enter a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WorkbenchError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise WorkbenchError(
            f"{name} must be between {number_text(low)} and {number_text(high)}{hint}, "
            f"got {value!r}"
        )
    return number


def as_integer(name: str, value: Any, low: int, high: int, hint: str = "") -> int:
    """``value`` as a whole number in [low, high] (a float like 3.0 from a UI field is fine)."""
    number = as_number(name, value, low, high, hint)
    if number != int(number):
        raise WorkbenchError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def optional_integer(name: str, value: Any, low: int, high: int, empty: str) -> int | None:
    """None for an empty field (``empty`` says what that means), else ``as_integer``."""
    return None if is_blank(value) else as_integer(name, value, low, high, f" ({empty})")


def optional_number(name: str, value: Any, low: float, high: float, empty: str) -> float | None:
    """None for an empty field (``empty`` says what that means), else ``as_number``."""
    return None if is_blank(value) else as_number(name, value, low, high, f" ({empty})")


def as_text(name: str, value: Any) -> str:
    """A usable prompt (``esd.common.prompts.check_prompt``: non-empty, at most MAX_TEXT
    characters, no control character, a letter or digit in any script), stripped."""
    try:
        return check_prompt(value, name)
    except PromptError as err:
        raise WorkbenchError(str(err)) from None


def as_texts(name: str, value: str | Sequence[str] | None, limit: int) -> tuple[str, ...]:
    """Prompts from a sequence or a text with one prompt per line; blanks and repeats dropped."""
    items = value.splitlines() if isinstance(value, str) else list(value or ())
    texts = tuple(dict.fromkeys(as_text(name, v) for v in items if str(v or "").strip()))
    if len(texts) > limit:
        raise WorkbenchError(f"at most {limit} {name} are allowed, got {len(texts)}")
    return texts


def as_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise WorkbenchError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return value


# --- training requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingRequest:
    """What the user asks for in the training form (checked by ``training_config``)."""

    base_model: str = ck.BASE_MODEL_NAME  # base model to erase the concept from
    concept: str = DEFAULT_TARGET  # the target concept (prompt) to erase
    related: tuple[str, ...] = DEFAULT_RELATED  # concepts that must survive (for evaluation)
    variants: tuple[str, ...] = ()  # more phrasings of the concept, erased too
    negative_guidance: float = RECIPE.negative_guidance  # eta, in GUIDANCE_RANGE
    lr: float = RECIPE.lr  # Adam learning rate, in LR_RANGE
    iterations: int | None = RECIPE.iterations  # optimizer steps; None: ``epochs`` passes
    epochs: int = RECIPE.epochs  # passes over the x_t samples when iterations is None
    batch_size: int = RECIPE.batch_size  # x_t samples per step, 1..MAX_BATCH_SIZE
    method: str = RECIPE.method  # trained parameters: esd-x, esd-u or full
    auto_anchors: int = RECIPE.auto_anchors  # nearest concepts kept by the preservation term
    xt_source: str = RECIPE.xt_source  # where x_t comes from: pool, teacher or data
    trajectories: int = RECIPE.trajectories  # teacher trajectories in the x_t pool
    ddim_steps: int = RECIPE.ddim_steps  # DDIM steps of those trajectories
    seconds: tuple[float, float] = RECIPE.seconds  # length range of the trajectories
    seed: int = RECIPE.seed  # seeds the pool, the batches and the noise
    overwrite: bool = False  # replace an existing run folder of the same name
    auto_suffix: bool = False  # keep existing runs: use the first free RUN_2, RUN_3, ...
    data_root: str = str(CORPUS_ROOT)  # HumanML3D-format folder (xt_source "data" only)


def training_config(request: TrainingRequest) -> ESDConfig:
    """The ESDConfig of a request; WorkbenchError with a one-line message for any bad value."""
    concept = as_text("target concept", request.concept)
    related = as_texts("related concepts", request.related, MAX_RELATED)
    if concept in related:
        raise WorkbenchError("a related concept repeats the target concept; remove it")
    low, high = (as_number("seconds", s, MIN_SECONDS, MAX_SECONDS) for s in request.seconds)
    iterations = request.iterations
    cfg = ESDConfig(
        concepts=(concept,),
        variants=as_texts("variants", request.variants, MAX_VARIANTS),
        negative_guidance=as_number(
            "negative guidance", request.negative_guidance, *GUIDANCE_RANGE
        ),
        method=as_choice("method", request.method, METHODS),
        lr=as_number("learning rate", request.lr, *LR_RANGE),
        epochs=as_integer("epochs", request.epochs, 1, MAX_EPOCHS),
        iterations=None
        if iterations is None
        else as_integer("iterations", iterations, 1, MAX_ITERATIONS),
        batch_size=as_integer(
            "batch size", request.batch_size, 1, MAX_BATCH_SIZE, " (larger batches exhaust memory)"
        ),
        xt_source=as_choice("x_t source", request.xt_source, XT_SOURCES),
        trajectories=as_integer("trajectories", request.trajectories, 1, MAX_TRAJECTORIES),
        ddim_steps=as_integer("DDIM steps", request.ddim_steps, MIN_DDIM_STEPS, TRAIN_STEPS),
        seconds=(low, high),
        seed=as_integer("seed", request.seed, 0, MAX_SEED),
        auto_anchors=as_integer("anchored concepts", request.auto_anchors, 0, MAX_AUTO_ANCHORS),
    )
    try:
        validate_config(cfg)
    except ValueError as err:
        raise WorkbenchError(one_line(err)) from None
    return cfg


# --- evaluation requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationRequest:
    """What the user asks for in the metrics tab."""

    model: str | None = None  # run or model to evaluate; None: the last trained run
    preset: str = "quick"  # "quick" (seconds to minutes) or "full" (the reported setting)
    target: str | None = None  # erased concept; None: the run's own concept
    related: tuple[str, ...] | None = None  # None: the run's related concepts (or defaults)
    baseline: str | None = None  # None: an ESD run's base model; "": no baseline
    seed: int = 0  # seeds prompts and noise (same seed, same numbers)
    num_samples: int | str | None = None  # prompts per block; None or "": the preset's
    ddim_steps: int | str | None = None  # sampler steps; None or "": the preset's
    evaluator: str | None = None  # evaluator checkpoint; None: local, then bundled
    reference: str | None = None  # reference set .npz; None: beside the evaluator
    data_root: str | None = None  # build the reference from this HumanML3D-format folder


def evaluation_settings(request: EvaluationRequest) -> EvalSettings:
    """The preset with the request's overrides ("custom" when overridden)."""
    preset = as_choice("preset", request.preset, PRESETS)
    seed = as_integer("seed", request.seed, 0, MAX_SEED)
    settings = EvalSettings.quick(seed) if preset == "quick" else EvalSettings.full(seed)
    count = optional_integer(
        "samples per block", request.num_samples, 1, MAX_SAMPLES, "or empty: the preset's"
    )
    if count is not None:
        settings = replace(settings.with_num_samples(count), preset="custom")
    steps = optional_integer(
        "DDIM steps", request.ddim_steps, MIN_DDIM_STEPS, TRAIN_STEPS, "or empty: the preset's"
    )
    if steps is not None:
        settings = replace(settings, ddim_steps=steps, preset="custom")
    return settings.validated()


def run_length(unit: str, count: Any) -> dict[str, int | None]:
    """The ``iterations`` / ``epochs`` fields of a TrainingRequest from the form's unit + count."""
    unit = as_choice("run length unit", unit, RUN_LENGTH_UNITS)
    if unit == "iterations":
        iterations = as_integer("iterations", count, 1, MAX_ITERATIONS)
        return {"iterations": iterations, "epochs": RECIPE.epochs}
    return {"iterations": None, "epochs": as_integer("epochs", count, 1, MAX_EPOCHS)}
