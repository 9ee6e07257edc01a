"""CLI: measure a model (base or ESD run) for efficacy, preservation and specificity.

    python -m esd.evaluate --name t2m_denoiser_vpred_vaegelu_ESD_a_person_kicking \\
        --target_concept "a person kicking" \\
        --related_concepts "a person jumping" "a person punching" "a person lunging"

Writes ``checkpoints/t2m/NAME/evaluation/{REPORT.md,metrics.json}`` (for a bundled model in
``assets/``: the same path under ``--checkpoints_dir``; nothing is ever written into assets/),
prints a Rich table, and with ``--json OUT`` also writes metrics.json to OUT.

Baseline: ``--baseline_name`` (and ``--baseline_ckpt``); an ESD run without it is compared with
its own base model (named in its checkpoint, ``payload["base"]``) unless ``--no_baseline``.

Evaluator: ``--evaluator FILE``, default ``checkpoints/t2m/t2m_evaluator/model/evaluator.tar``,
else the bundled ``assets/t2m_evaluator/model/evaluator.tar``. Reference set (the test split's
captions and real motion embeddings): ``--data_root DIR`` builds it from a HumanML3D-format folder
(e.g. real HumanML3D); otherwise ``--reference FILE``, default ``reference_test.npz`` in the
evaluator's folder (beside model/). Presets: full (default) or ``--quick`` (see
``esd.evaluation.EvalSettings``). Same seed, same numbers.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from esd import checkpoints as ck
from esd.console import CONSOLE, fail, plain_warnings, positive_int, seed_int
from esd.data import MotionFolder
from esd.evaluation import EvalContext, EvalSettings, make_plan, run_evaluation
from esd.evaluator import EvaluatorBundle
from esd.files import atomic_write
from esd.generator import ARCHITECTURE_ERRORS, MotionGenerator, shared_text_encoder
from esd.jobs import one_line
from esd.recogniser import ConceptRecogniser
from esd.reference import REFERENCE_FILE, ProgressFn, ReferenceSet
from esd.report import markdown_report, rich_table
from esd.runtime import DEVICE_CHOICES, pick_device

EVALUATOR_FILE = "evaluator.tar"  # the evaluator checkpoint inside an evaluator's model/ folder
DEFAULT_TARGET = "a person kicking"  # the concept erased by default
DEFAULT_RELATED = ("a person jumping", "a person punching", "a person lunging")  # specificity
REPORT_NAME = "REPORT.md"
METRICS_NAME = "metrics.json"


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


# --- models -------------------------------------------------------------------------------------


def describe_model(name: str, ckpt: str | None, checkpoints_dir: str | Path) -> dict[str, Any]:
    """{"name", "ckpt", "kind", "base"} of a model, reading its checkpoint (cheap, CPU)."""
    paths = ck.resolve_model(name, checkpoints_dir)
    file = ck.resolve_checkpoint(paths, ckpt)
    payload = ck.load_checkpoint(file, kind=("base", "esd"))
    base = payload.get("base") if payload["kind"] == "esd" else None
    if payload["kind"] == "esd" and not (isinstance(base, dict) and base.get("name")):
        raise ck.CheckpointError(f"{file} is an ESD checkpoint that does not name its base model")
    return {"name": name, "ckpt": str(file), "kind": payload["kind"], "base": base}


def load_generator(
    info: dict[str, Any], checkpoints_dir: str | Path, device: torch.device
) -> MotionGenerator:
    """The MotionGenerator of a described model; CheckpointError for a foreign architecture."""
    return MotionGenerator.from_checkpoint(
        info["name"], info["ckpt"], checkpoints_dir, device, shared_text_encoder(device)
    )


def baseline_info(args: argparse.Namespace, model: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline to compare with: --baseline_name, else an ESD run's base, else none."""
    if args.no_baseline:
        return None
    if args.baseline_name:
        return describe_model(args.baseline_name, args.baseline_ckpt, args.checkpoints_dir)
    if model["kind"] == "esd":
        base = model["base"]
        return describe_model(base["name"], base.get("ckpt"), args.checkpoints_dir)
    return None


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


# --- terminal -----------------------------------------------------------------------------------


class StageProgress:
    """Rich progress, one bar per stage; pass it as ``on_progress(stage, done, total)``."""

    def __init__(self, console: Console = CONSOLE) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


# --- command line -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m esd.evaluate",
        description="Measure efficacy, preservation and specificity of a (possibly unlearned) "
        "text-to-motion model with the contrastive evaluator.",
    )
    p.add_argument("--name", default=ck.BASE_MODEL_NAME, help="model or ESD run to evaluate")
    p.add_argument("--ckpt", help="checkpoint file (default: net_best_fid.tar / latest.tar)")
    p.add_argument("--target_concept", default=DEFAULT_TARGET, help="the erased concept")
    p.add_argument(
        "--related_concepts", nargs="+", default=list(DEFAULT_RELATED), help="specificity"
    )
    p.add_argument(
        "--baseline_name", help="model to compare with (default for an ESD run: its base)"
    )
    p.add_argument("--baseline_ckpt", help="checkpoint of the baseline")
    p.add_argument("--no_baseline", action="store_true", help="never compare with a baseline")
    p.add_argument("--num_samples", type=positive_int, help="prompts per block (all blocks)")
    p.add_argument("--seed", type=seed_int, default=0, help="seeds prompts and noise")
    p.add_argument("--ddim_steps", type=positive_int, help="sampler steps (preset default)")
    p.add_argument("--batch_size", type=positive_int, default=64, help="prompts per batch")
    p.add_argument("--quick", action="store_true", help="seconds-scale preset (32 per block)")
    p.add_argument("--json", type=Path, help="also write metrics.json to this path")
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--data_root", help="HumanML3D-format folder: build the reference from it")
    p.add_argument("--reference", help="reference set .npz (default: beside the evaluator)")
    p.add_argument("--evaluator", help="evaluator checkpoint (default: see module doc)")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    return p


def make_settings(args: argparse.Namespace) -> EvalSettings:
    """The preset (full or --quick) with the command line's overrides ("custom" if any)."""
    settings = EvalSettings.quick(args.seed) if args.quick else EvalSettings.full(args.seed)
    changes: dict[str, Any] = {"batch_size": args.batch_size}
    if args.num_samples is not None:
        changes.update(preset="custom", retain_samples=args.num_samples)
        changes.update(forget_samples=args.num_samples, concept_samples=args.num_samples)
    if args.ddim_steps is not None:
        changes.update(preset="custom", ddim_steps=args.ddim_steps)
    return replace(settings, **changes).validated()


def check_concepts(args: argparse.Namespace) -> None:
    """One-line errors for empty concepts (before anything slow happens)."""
    for text in (args.target_concept, *args.related_concepts):
        if not text.strip():
            fail("a concept is empty: give a prompt such as --target_concept 'a person kicking'")


@dataclass
class Job:
    """Everything loaded and checked before the first motion is generated."""

    model: dict[str, Any]  # describe_model of the evaluated model
    baseline: dict[str, Any] | None  # describe_model of the baseline, if any
    out_dir: Path  # where REPORT.md and metrics.json go
    evaluator_path: Path
    context: EvalContext
    settings: EvalSettings
    device: torch.device


def prepare(args: argparse.Namespace) -> Job:
    """Resolve and load models, evaluator and reference; cheap checks first."""
    device = pick_device(args.device)
    model = describe_model(args.name, args.ckpt, args.checkpoints_dir)
    baseline = baseline_info(args, model)
    out_dir = output_dir(args.name, args.checkpoints_dir)
    settings = make_settings(args)
    with StageProgress() as progress:
        context, evaluator_path = load_context(
            args.checkpoints_dir, args.evaluator, args.data_root, args.reference, device, progress
        )
    return Job(model, baseline, out_dir, evaluator_path, context, settings, device)


def evaluate(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    """Run the evaluation of the command line; returns metrics.json and the output folder."""
    began = time.monotonic()
    job = prepare(args)
    plan = make_plan(job.context, args.target_concept, args.related_concepts, job.settings)
    model = load_generator(job.model, args.checkpoints_dir, job.device)
    baseline = (
        load_generator(job.baseline, args.checkpoints_dir, job.device) if job.baseline else None
    )
    keep = ("name", "ckpt", "kind")
    with StageProgress() as progress:
        metrics = run_evaluation(
            model,
            plan,
            job.context,
            job.settings,
            {k: job.model[k] for k in keep},
            baseline,
            {k: job.baseline[k] for k in keep} if job.baseline else None,
            progress,
        )
    metrics["run"] = {  # not part of the measurement: differs between identical runs
        "evaluator": str(job.evaluator_path),
        "device": str(job.device),
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    return metrics, job.out_dir


def write_outputs(metrics: dict[str, Any], out_dir: Path, json_path: Path | None) -> None:
    """metrics.json and REPORT.md in ``out_dir``, and metrics.json at ``json_path`` too."""
    text = json.dumps(metrics, indent=2) + "\n"
    atomic_write(out_dir / METRICS_NAME, text)
    atomic_write(out_dir / REPORT_NAME, markdown_report(metrics))
    if json_path is not None:
        atomic_write(json_path, text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain_warnings()
    check_concepts(args)
    try:
        metrics, out_dir = evaluate(args)
        write_outputs(metrics, out_dir, args.json)
    except (ValueError, OSError) as err:  # CheckpointError, DatasetError, ReferenceError, ...
        fail(one_line(err))
    except KeyboardInterrupt:
        fail("interrupted; nothing was written")
    Console().print(rich_table(metrics))
    CONSOLE.print(f"wrote {out_dir / REPORT_NAME} and {out_dir / METRICS_NAME}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
