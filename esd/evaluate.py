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
``esd.evaluation.settings.EvalSettings``). Same seed, same numbers.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from esd.common.errors import one_line
from esd.common.runtime import DEVICE_CHOICES, pick_device
from esd.console import CONSOLE, fail, plain_warnings, positive_int, seed_int
from esd.evaluation.context import EvalContext
from esd.evaluation.instruments import (
    DEFAULT_RELATED,
    DEFAULT_TARGET,
    METRICS_NAME,
    REPORT_NAME,
    describe_model,
    load_context,
    load_generator,
    output_dir,
    write_outputs,
)
from esd.evaluation.plan import make_plan
from esd.evaluation.protocol import run_evaluation
from esd.evaluation.report import rich_table
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck


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


# --- terminal -----------------------------------------------------------------------------------

TABLE_WIDTH = 140  # columns of the report table when the output is not a terminal


def verdict_hint(metrics: dict[str, Any]) -> str | None:
    """One line after an inconclusive comparison: which metrics, and what to do."""
    verdicts = metrics.get("verdicts") or {}
    if verdicts.get("overall_verdict") != "inconclusive":
        return None
    named = {"efficacy": verdicts["efficacy"], **verdicts["preservation"]["metrics"]}
    named.update({f"specificity '{t}'": v for t, v in verdicts["specificity"].items()})
    unsure = [name for name, v in named.items() if v.get("verdict") == "inconclusive"]
    samples = metrics["settings"]["num_samples"]["retain"]
    return (
        f"inconclusive: the 95% interval of the change straddles the rule for {', '.join(unsure)}"
        f" ({samples} retain samples); evaluate more samples (the full preset, or --num_samples)"
    )


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
    console = Console()
    if not console.is_terminal:  # piped or captured: room for the values and their intervals
        console = Console(width=TABLE_WIDTH)
    console.print(rich_table(metrics))
    hint = verdict_hint(metrics)
    if hint:
        CONSOLE.print(hint, soft_wrap=True)
    CONSOLE.print(f"wrote {out_dir / REPORT_NAME} and {out_dir / METRICS_NAME}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
