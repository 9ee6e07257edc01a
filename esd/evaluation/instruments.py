"""The measuring instruments of an evaluation: evaluator, reference set, recogniser, models.

Shared by ``python -m esd.evaluate`` and the workbench: resolve and load the evaluator checkpoint
(trained locally under ``checkpoints/t2m/t2m_evaluator`` or bundled in ``assets/``), the reference
set of real test motions (built from a HumanML3D-format folder or loaded from the ``.npz`` beside
the evaluator), the concept recogniser, the models to measure, and where the report goes.
``choose_evaluator`` decides between that bundled evaluator and the T2M evaluator of the papers
(``esd.evaluation.t2m``; its files: ``t2m_missing``). Every failure is a ValueError subclass with
one actionable line (CheckpointError, ReferenceError, DatasetError, T2MFilesError).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from esd.common.errors import one_line
from esd.common.files import atomic_write
from esd.common.runtime import pick_device
from esd.evaluation.context import EvalContext
from esd.evaluation.contrastive import EvaluatorBundle
from esd.evaluation.recogniser import ConceptRecogniser
from esd.evaluation.reference import REFERENCE_FILE, ProgressFn, ReferenceSet
from esd.evaluation.report import markdown_report
from esd.evaluation.t2m.evaluator import T2MFilesError, T2MPaths
from esd.evaluation.t2m.report import t2m_markdown_report
from esd.evaluation.t2m.testset import DEFAULT_SPLIT
from esd.evaluation.t2m.vectorizer import glove_paths
from esd.models import checkpoints as ck
from esd.models.generator import ARCHITECTURE_ERRORS, MotionGenerator, shared_text_encoder
from esd.motion.humanml3d import MotionFolder

EVALUATOR_FILE = "evaluator.tar"  # the evaluator checkpoint inside an evaluator's model/ folder
DEFAULT_TARGET = "a person kicking"  # the concept erased by default
DEFAULT_RELATED = ("a person jumping", "a person punching", "a person lunging")  # specificity
REPORT_NAME = "REPORT.md"
METRICS_NAME = "metrics.json"
T2M, BUNDLED, AUTO = "t2m", "bundled", "auto"  # --evaluator's words (anything else: a file)


# --- resolvers ----------------------------------------------------------------------------------


def evaluator_candidates(checkpoints_dir: str | Path) -> list[Path]:
    """Default evaluator files, in order: trained locally, then bundled."""
    local = ck.run_paths(checkpoints_dir, ck.EVALUATOR_NAME).model_dir / EVALUATOR_FILE
    return [local, ck.ASSETS_DIR / ck.EVALUATOR_NAME / "model" / EVALUATOR_FILE]


def resolve_evaluator(path: str | Path | None, checkpoints_dir: str | Path) -> Path:
    """``--evaluator`` or the first default that exists; CheckpointError otherwise."""
    if path is not None:
        if not Path(path).is_file():
            raise ck.CheckpointError(f"evaluator checkpoint not found: {path}")
        return Path(path)
    candidates = evaluator_candidates(checkpoints_dir)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ck.CheckpointError(
        f"no evaluator found (looked for {candidates[0]} and {candidates[1]}); train one with "
        "`python -m esd.pretrain` or pass --evaluator FILE"
    )


def load_evaluator(path: str | Path) -> EvaluatorBundle:
    """An evaluator checkpoint as an EvaluatorBundle on the CPU; CheckpointError if unusable."""
    payload = ck.load_checkpoint(path, kind="evaluator")
    try:
        return EvaluatorBundle.from_payload(payload)
    except ARCHITECTURE_ERRORS as err:
        raise ck.CheckpointError(
            f"{path} does not fit this project's evaluator architecture ({one_line(err, 200)})"
        ) from None


def default_reference(evaluator_path: Path) -> Path:
    """``reference_test.npz`` in the evaluator's folder (the parent of model/)."""
    folder = evaluator_path.parent
    return (folder.parent if folder.name == "model" else folder) / REFERENCE_FILE


def output_dir(name: str, checkpoints_dir: str | Path) -> Path:
    """``evaluation/`` of the model's folder; bundled models write under checkpoints_dir."""
    paths = ck.resolve_model(name, checkpoints_dir)
    return ck.run_paths(checkpoints_dir, name).eval_dir if paths.bundled else paths.eval_dir


# --- which evaluator -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluatorChoice:
    """The evaluator an evaluation uses, and why (one line for the terminal)."""

    kind: str  # T2M or BUNDLED
    file: str | None  # the bundled evaluator file given as --evaluator FILE, else None
    reason: str  # e.g. "t2m: its files are under checkpoints/t2m, ..."


def t2m_missing(
    checkpoints_dir: str | Path, glove_dir: str | Path, data_root: str | Path | None
) -> str | None:
    """What the T2M evaluation lacks, as one phrase naming the file or flag; None if nothing."""
    missing = T2MPaths.under(checkpoints_dir).missing()
    if missing:
        return f"no T2M evaluator file {missing[0]}"
    absent = [p for p in glove_paths(glove_dir) if not p.is_file()]
    if absent:
        return f"no GloVe file {absent[0]} (--glove_dir)"
    if not data_root:
        return "no --data_root (a HumanML3D folder)"
    split_file = Path(data_root) / f"{DEFAULT_SPLIT}.txt"
    if not split_file.is_file():
        return f"no test split {split_file}"
    return None


def choose_evaluator(
    value: str | None,
    checkpoints_dir: str | Path,
    glove_dir: str | Path,
    data_root: str | Path | None,
) -> EvaluatorChoice:
    """``--evaluator``: "t2m" (its files must be there: T2MFilesError naming the first one
    missing), "bundled", "auto" / None (T2M when ``t2m_missing`` finds nothing missing, else
    bundled), or a bundled evaluator checkpoint FILE."""
    if value not in (T2M, BUNDLED, AUTO, None):
        return EvaluatorChoice(BUNDLED, value, f"bundled: the evaluator file {value}")
    if value == BUNDLED:
        return EvaluatorChoice(BUNDLED, None, "bundled: --evaluator bundled")
    missing = t2m_missing(checkpoints_dir, glove_dir, data_root)
    if missing is None:
        where = T2MPaths.under(checkpoints_dir).matcher.parents[2]
        return EvaluatorChoice(
            T2M, None, f"t2m: evaluator in {where}, GloVe in {glove_dir}, test split of {data_root}"
        )
    if value == T2M:
        raise T2MFilesError(
            f"--evaluator t2m needs the T2M evaluator, GloVe and HumanML3D: {missing} "
            "(see README 'Evaluate like the papers')"
        )
    return EvaluatorChoice(BUNDLED, None, f"bundled: the T2M evaluator is not used ({missing})")


# --- models -------------------------------------------------------------------------------------


def describe_model(name: str, ckpt: str | None, checkpoints_dir: str | Path) -> dict[str, Any]:
    """{"name", "ckpt", "kind", "base", "concepts", "anchors"} of a model, reading its
    checkpoint (cheap, CPU); "concepts" / "anchors": what an ESD run erased / held still (empty
    for a base); a SALAD model folder is a base model."""
    paths = ck.resolve_model(name, checkpoints_dir)
    file = ck.resolve_checkpoint(paths, ckpt)
    data = ck.load_raw(file)
    if ck.is_salad_checkpoint(data):
        return {"name": name, "ckpt": str(file), "kind": "base", "base": None, "concepts": [],
                "anchors": []}  # fmt: skip
    payload = ck.check_payload(data, file, kind=("base", "esd"))
    base = payload.get("base") if payload["kind"] == "esd" else None
    if payload["kind"] == "esd" and not (isinstance(base, dict) and base.get("name")):
        raise ck.CheckpointError(f"{file} is an ESD checkpoint that does not name its base model")
    esd = payload.get("esd") if payload["kind"] == "esd" else None
    concepts = [str(c) for c in esd.get("concepts", ())] if isinstance(esd, dict) else []
    anchors = [str(a) for a in esd.get("anchors", ())] if isinstance(esd, dict) else []
    return {"name": name, "ckpt": str(file), "kind": payload["kind"], "base": base,
            "concepts": concepts, "anchors": anchors}  # fmt: skip


def other_targets(also_erased: Sequence[str], target: str, model: dict[str, Any]) -> list[str]:
    """``also_erased`` when given, else the other concepts the described ESD run erased
    (``describe_model``'s "concepts" without ``target``): they leave the retain set, so that
    preservation is measured on motions no target names."""
    if also_erased:
        return list(also_erased)
    return [c for c in model.get("concepts", []) if c.strip() != target.strip()]


def load_generator(
    info: dict[str, Any],
    checkpoints_dir: str | Path,
    device: torch.device,
    clip_path: str | Path | None = None,
) -> MotionGenerator:
    """The MotionGenerator of a described model; CheckpointError for a foreign architecture.
    ``clip_path``: a SALAD model's CLIP folder (default: ``checkpoints_dir``'s)."""
    return MotionGenerator.from_checkpoint(
        info["name"], info["ckpt"], checkpoints_dir, device, shared_text_encoder(device),
        clip_path=clip_path,
    )  # fmt: skip


# --- reference ----------------------------------------------------------------------------------


def load_reference(
    evaluator: EvaluatorBundle,
    evaluator_path: Path,
    data_root: str | Path | None = None,
    reference: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> ReferenceSet:
    """Build the reference from ``data_root``, or load ``reference`` (default: beside the
    evaluator) and check that this evaluator embedded it."""
    if data_root:
        return ReferenceSet.build(MotionFolder(data_root), evaluator, progress=progress)
    loaded = ReferenceSet.load(reference or default_reference(evaluator_path))
    loaded.check_evaluator(evaluator)
    return loaded


def load_context(
    checkpoints_dir: str | Path = ck.DEFAULT_CHECKPOINTS_DIR,
    evaluator: str | Path | None = None,
    data_root: str | Path | None = None,
    reference: str | Path | None = None,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
) -> tuple[EvalContext, Path]:
    """The measuring instruments (for the CLI and the workbench) and the evaluator file used.

    The evaluator stays on the CPU (it is small); the text encoder is the process's shared one
    on ``device``. Raises CheckpointError / ReferenceError / DatasetError (all ValueErrors).
    """
    evaluator_path = resolve_evaluator(evaluator, checkpoints_dir)
    bundle = load_evaluator(evaluator_path)
    ref = load_reference(bundle, evaluator_path, data_root, reference, progress)
    encoder = shared_text_encoder(pick_device(device))
    recogniser = ConceptRecogniser(bundle, lambda t: encoder.sentence_embeddings(t).cpu())
    return EvalContext(bundle, recogniser, ref), evaluator_path


def write_outputs(metrics: dict[str, Any], out_dir: Path, json_path: Path | None) -> None:
    """metrics.json and REPORT.md in ``out_dir``, and metrics.json at ``json_path`` too (the
    report of the evaluator that measured: ``metrics["evaluator"]``)."""
    text = json.dumps(metrics, indent=2) + "\n"
    report = t2m_markdown_report if metrics.get("evaluator") == T2M else markdown_report
    atomic_write(out_dir / METRICS_NAME, text)
    atomic_write(out_dir / REPORT_NAME, report(metrics))
    if json_path is not None:
        atomic_write(json_path, text)
