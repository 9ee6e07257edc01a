"""What an evaluation from the workbench measures, and with what instruments.

``evaluation_targets`` fills the request's blanks with the run's own concepts (its target and
the related concepts it was trained with) and its base as the baseline; ``find_instruments``
resolves the evaluator and the reference set up front (a missing one is refused before a job
starts); ``ContextCache`` loads them once (``instruments.load_context``) and keeps one context,
since it holds the reference set.

Any family is measured with the same evaluator: it reads the 263-d HumanML3D features every
generator returns (``evaluator_problem`` says in one line when an evaluator reads others).
``family_settings`` samples with the model family's own guidance (and, in the full preset, its
own DDIM steps); a baseline of another family is refused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from esd.evaluation.context import EvalContext
from esd.evaluation.instruments import (
    DEFAULT_RELATED,
    DEFAULT_TARGET,
    default_reference,
    load_context,
    resolve_evaluator,
)
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.motion.skeleton import FEATURE_DIM
from esd.workbench.catalogue import ModelCatalogue, file_stamp
from esd.workbench.families import family_sampler
from esd.workbench.user_input import (
    MAX_RELATED,
    EvaluationRequest,
    WorkbenchError,
    as_text,
    as_texts,
    is_blank,
)


@dataclass(frozen=True)
class EvaluationTargets:
    """What one evaluation measures."""

    model: str  # the model evaluated
    target: str  # the erased concept
    related: tuple[str, ...]  # concepts that should be kept
    baseline: str | None  # the model compared with (its base), None: none
    family: str = "bundled"  # the model's family (its sampler settings are used)
    also_erased: tuple[str, ...] = ()  # the run's other targets: they leave the retain set


def evaluation_targets(
    models: ModelCatalogue, entry: ck.ModelEntry, request: EvaluationRequest
) -> EvaluationTargets:
    """What evaluating ``entry`` measures, with the run's own concepts and base as defaults."""
    info = models.usable_info(entry.name)
    concepts = info.settings.get("concepts") or [DEFAULT_TARGET]
    target = as_text("target concept", request.target or concepts[0])
    default_related = info.settings.get("related") or DEFAULT_RELATED
    related = as_texts("related concepts", request.related or default_related, MAX_RELATED)
    if target in related:
        raise WorkbenchError("a related concept repeats the target concept; remove it")
    baseline = info.base if request.baseline is None else (request.baseline or None)
    if baseline is not None:
        other = models.info(models.entry(baseline)).family
        if other != info.family:
            raise WorkbenchError(
                f"{entry.name} is a {info.family} model and {baseline} a {other} one: measure "
                "a model against a baseline of its own family"
            )
    others = tuple(c for c in concepts if c.strip() != target.strip())
    return EvaluationTargets(entry.name, target, related, baseline, info.family, others)


def family_settings(
    settings: EvalSettings, family: str, request: EvaluationRequest
) -> EvalSettings:
    """``settings`` sampling like the model family: its guidance scale, and its DDIM steps in
    the full preset (the quick preset keeps its few steps; steps the user gave win)."""
    sampler = family_sampler(family)
    steps = settings.ddim_steps
    if is_blank(request.ddim_steps) and request.preset != "quick":
        steps = sampler.steps
    return replace(settings, guidance_scale=sampler.guidance, ddim_steps=steps).validated()


def evaluator_problem(context: EvalContext, evaluator: Path) -> str | None:
    """Why the evaluator cannot measure the models' motions (None: it can): it must read the
    263-d HumanML3D features every family generates."""
    width = context.evaluator.model.cfg.feature_dim
    if width == FEATURE_DIM:
        return None
    return (
        f"the evaluator {evaluator} reads {width}-d motion features, the models make "
        f"HumanML3D's {FEATURE_DIM}-d ones: use an evaluator trained on HumanML3D-format data"
    )


def find_instruments(request: EvaluationRequest, checkpoints_dir: Path) -> tuple[Path, str | Path]:
    """(evaluator file, reference: a .npz file or a data folder); WorkbenchError if absent."""
    evaluator = resolve_evaluator(request.evaluator, checkpoints_dir)
    reference = request.data_root or request.reference or default_reference(evaluator)
    if request.data_root and not Path(request.data_root).is_dir():
        raise WorkbenchError(f"data folder not found: {request.data_root}")
    if not request.data_root and not Path(reference).is_file():
        raise WorkbenchError(f"reference set not found: {reference}")
    return evaluator, reference


class ContextCache:
    """Evaluator, recogniser and reference set of the last request, loaded once per version
    of their files (one context at a time: it holds the reference set)."""

    def __init__(self, checkpoints_dir: Path, device: torch.device) -> None:
        self.checkpoints_dir = checkpoints_dir
        self.device = device
        self._lock = threading.Lock()  # a long load blocks only who needs the context
        self._contexts: dict[tuple, tuple[EvalContext, Path]] = {}  # key -> (context, evaluator)

    def get(self, request: EvaluationRequest) -> tuple[EvalContext, Path]:
        """(context, evaluator file) of ``request``; WorkbenchError for a missing instrument."""
        evaluator, reference = find_instruments(request, self.checkpoints_dir)
        key = (str(evaluator), file_stamp(evaluator), str(reference), bool(request.data_root))
        if not request.data_root:
            key += (file_stamp(Path(reference)),)
        with self._lock:
            if key not in self._contexts:
                self._contexts = {
                    key: load_context(
                        self.checkpoints_dir,
                        evaluator,
                        request.data_root,
                        request.reference,
                        self.device,
                    )
                }
            return self._contexts[key]
