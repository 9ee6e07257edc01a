"""CLI: measure a model (base or ESD run) for efficacy, preservation and specificity.

    python -m esd.evaluate --name t2m_denoiser_vpred_vaegelu_ESD_a_person_kicking \\
        --target_concept "a person kicking" \\
        --related_concepts "a person jumping" "a person punching" "a person lunging"

Writes ``checkpoints/t2m/NAME/evaluation/{REPORT.md,metrics.json}`` (for a bundled model in
``assets/``: the same path under ``--checkpoints_dir``; nothing is ever written into assets/),
prints a Rich table, and with ``--json OUT`` also writes metrics.json to OUT.

Baseline: ``--baseline_name`` (and ``--baseline_ckpt``); an ESD run without it is compared with
its own base model (named in its checkpoint, ``payload["base"]``) unless ``--no_baseline``.

Evaluator (``--evaluator``, one line says which is used and why):

* ``t2m``: the papers' T2M evaluator (Guo et al. 2022) on real HumanML3D, SALAD's layout:
  ``{checkpoints_dir}/t2m/text_mot_match/model/finest.tar``, ``.../t2m/Comp_v6_KLD005/meta``,
  ``--glove_dir`` (default ``glove``) and ``--data_root HUMANML3D`` (its test split). Forget /
  retain / related splits of the test items from caption keywords (and the whole test split
  unless ``--no_test_split``), ``--replications`` (20) passes of the protocol for the model and
  its baseline with the same seeds, FID / R-precision / matching score / diversity (and
  ``--mm`` multimodality) as mean and 95% interval, verdicts from the paired changes
  (``esd.evaluation.t2m.verdicts``), the bundled recogniser's concept rates beside them. An
  estimate of the run's time is printed after the first batch; Ctrl-C stops it, writing nothing.
* ``bundled``: the contrastive evaluator trained on this project's corpus, default
  ``checkpoints/t2m/t2m_evaluator/model/evaluator.tar``, else the bundled
  ``assets/t2m_evaluator/model/evaluator.tar``; ``--evaluator FILE`` names one. Reference set (the
  test split's captions and real motion embeddings): ``--data_root DIR`` builds it from a
  HumanML3D-format folder; otherwise ``--reference FILE``, default ``reference_test.npz`` in the
  evaluator's folder (beside model/). Presets: full (default) or ``--quick`` (see
  ``esd.evaluation.settings.EvalSettings``).
* ``auto`` (default): t2m when its files are there (``instruments.t2m_missing``), else bundled.

Same seed, same numbers. metrics.json says ``"evaluator": "t2m"`` or ``"bundled"``; a T2M run
keeps its numbers in its ``t2m`` block (``esd.evaluation.t2m.run``).
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

from esd.common.runtime import DEVICE_CHOICES, pick_device
from esd.console import (
    CONSOLE,
    StageProgress,
    T2MProgress,
    fail,
    notice,
    plain_warnings,
    positive_int,
    run_cli,
    seed_int,
)
from esd.evaluation.context import EvalContext
from esd.evaluation.instruments import (
    AUTO,
    BUNDLED,
    DEFAULT_RELATED,
    DEFAULT_TARGET,
    METRICS_NAME,
    REPORT_NAME,
    T2M,
    EvaluatorChoice,
    choose_evaluator,
    describe_model,
    load_context,
    load_generator,
    other_targets,
    output_dir,
    resolve_evaluator,
    write_outputs,
)
from esd.evaluation.plan import make_plan
from esd.evaluation.protocol import run_evaluation
from esd.evaluation.report import rich_table
from esd.evaluation.settings import QUICK_STEPS, EvalSettings
from esd.evaluation.t2m.generation import generation_callback
from esd.evaluation.t2m.instruments import load_concept_probe, load_scorer, load_t2m_instruments
from esd.evaluation.t2m.protocol import T2MSettings
from esd.evaluation.t2m.report import t2m_rich_table
from esd.evaluation.t2m.run import BASELINE, MODEL, planned_batches, run_t2m
from esd.evaluation.t2m.splits import ALL_SPLIT, RETAIN_SPLIT, keyword_splits
from esd.evaluation.t2m.vectorizer import DEFAULT_GLOVE_DIR
from esd.evaluation.t2m.verdicts import t2m_verdicts
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


def _inconclusive(verdicts: dict[str, Any]) -> list[str]:
    named = {**verdicts["efficacy"].get("metrics", {"efficacy": verdicts["efficacy"]})}
    named.update(verdicts["preservation"]["metrics"])
    named.update({f"specificity '{t}'": v for t, v in verdicts["specificity"].items()})
    return [name for name, v in named.items() if v.get("verdict") == "inconclusive"]


def verdict_hint(metrics: dict[str, Any]) -> str | None:
    """One line after an inconclusive comparison: which metrics, and what to do."""
    verdicts = metrics.get("verdicts") or {}
    if verdicts.get("overall_verdict") != "inconclusive":
        return None
    unsure = ", ".join(_inconclusive(verdicts))
    if metrics.get("evaluator") == T2M:
        reps = metrics["t2m"]["settings"]["replications"]
        return (
            f"inconclusive: the 95% interval of the change straddles the rule for {unsure} "
            f"({reps} replications); run more replications (--replications, the papers use 20)"
        )
    samples = metrics["settings"]["num_samples"]["retain"]
    return (
        f"inconclusive: the 95% interval of the change straddles the rule for {unsure}"
        f" ({samples} retain samples); evaluate more samples (the full preset, or --num_samples)"
    )


# --- command line -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m esd.evaluate",
        description="Measure efficacy, preservation and specificity of a (possibly unlearned) "
        "text-to-motion model, with the papers' T2M evaluator on HumanML3D or the bundled "
        "contrastive evaluator.",
    )
    p.add_argument("--name", default=ck.BASE_MODEL_NAME, help="model or ESD run to evaluate")
    p.add_argument("--ckpt", help="checkpoint file (default: net_best_fid.tar / latest.tar)")
    p.add_argument("--target_concept", default=DEFAULT_TARGET, help="the erased concept")
    p.add_argument(
        "--related_concepts", nargs="+", default=list(DEFAULT_RELATED), help="specificity"
    )
    p.add_argument(
        "--also_erased",
        nargs="+",
        default=[],
        metavar="CONCEPT",
        help="a multi-concept run's other targets (their clips leave the retain set)",
    )
    p.add_argument(
        "--baseline_name", help="model to compare with (default for an ESD run: its base)"
    )
    p.add_argument("--baseline_ckpt", help="checkpoint of the baseline")
    p.add_argument("--no_baseline", action="store_true", help="never compare with a baseline")
    p.add_argument("--seed", type=seed_int, help="seeds prompts and noise (bundled 0, T2M 1234)")
    p.add_argument("--ddim_steps", type=positive_int, help="sampler steps (default: the preset's "
                   "for bundled, the model family's for t2m)")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="bundled: seconds-scale preset (32 per "
                   "block); t2m: 2 replications and 20 DDIM steps")  # fmt: skip
    p.add_argument("--json", type=Path, help="also write metrics.json to this path")
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--data_root", help="HumanML3D-format folder (t2m: its test split; bundled: "
                   "the reference is built from it)")  # fmt: skip
    p.add_argument("--evaluator", metavar="t2m|bundled|auto|FILE", default=AUTO,
                   help="which evaluator (default auto: t2m when its files are there); a FILE "
                   "is a bundled evaluator checkpoint")  # fmt: skip
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--clip_path", type=Path, help="a SALAD model's CLIP folder (default: "
                   "{checkpoints_dir}/clip-vit-base-patch32)")  # fmt: skip
    bundled = p.add_argument_group("bundled evaluator only")
    bundled.add_argument("--num_samples", type=positive_int, help="prompts per block")
    bundled.add_argument("--batch_size", type=positive_int, help="prompts per batch (64)")
    bundled.add_argument("--reference", help="reference set .npz (default: beside the evaluator)")
    t2m = p.add_argument_group("T2M evaluator only")
    t2m.add_argument("--glove_dir", default=DEFAULT_GLOVE_DIR, help="our_vab_* files (default: "
                     "./glove, SALAD's layout)")  # fmt: skip
    t2m.add_argument("--replications", type=positive_int, help="protocol passes (default 20, "
                     "the papers'; 2 with --quick)")  # fmt: skip
    t2m.add_argument("--mm", "--multimodality", dest="mm", action="store_true",
                     help="also Guo's multimodality (100 texts x 30 generations)")  # fmt: skip
    t2m.add_argument(
        "--no_test_split",
        action="store_true",
        help="skip the whole test split "
        "(the papers' numbers): forget / retain / related only, about half the time",
    )
    return p


def make_settings(args: argparse.Namespace) -> EvalSettings:
    """The preset (full or --quick) with the command line's overrides ("custom" if any)."""
    seed = 0 if args.seed is None else args.seed
    settings = EvalSettings.quick(seed) if args.quick else EvalSettings.full(seed)
    changes: dict[str, Any] = {"batch_size": args.batch_size or EvalSettings.batch_size}
    if args.num_samples is not None:
        changes.update(preset="custom", retain_samples=args.num_samples)
        changes.update(forget_samples=args.num_samples, concept_samples=args.num_samples)
    if args.ddim_steps is not None:
        changes.update(preset="custom", ddim_steps=args.ddim_steps)
    return replace(settings, **changes).validated()


def check_concepts(args: argparse.Namespace) -> None:
    """One-line errors for empty concepts (before anything slow happens)."""
    for text in (args.target_concept, *args.related_concepts, *args.also_erased):
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


def prepare(args: argparse.Namespace, evaluator_file: str | None, model: dict) -> Job:
    """Resolve and load models, evaluator and reference; cheap checks first."""
    device = pick_device(args.device)
    baseline = baseline_info(args, model)
    out_dir = output_dir(args.name, args.checkpoints_dir)
    settings = make_settings(args)
    with StageProgress() as progress:
        context, evaluator_path = load_context(
            args.checkpoints_dir, evaluator_file, args.data_root, args.reference, device, progress
        )
    return Job(model, baseline, out_dir, evaluator_path, context, settings, device)


KEEP = ("name", "ckpt", "kind", "anchors")  # what metrics.json records of a model


def evaluate(
    args: argparse.Namespace, evaluator_file: str | None, model: dict[str, Any]
) -> tuple[dict, Path]:
    """Run the bundled evaluation of the command line (``model``: ``describe_model`` of
    --name); returns metrics.json and the output folder."""
    began = time.monotonic()
    job = prepare(args, evaluator_file, model)
    plan = make_plan(
        job.context, args.target_concept, args.related_concepts, job.settings, args.also_erased
    )
    model = load_generator(job.model, args.checkpoints_dir, job.device, args.clip_path)
    baseline = (
        load_generator(job.baseline, args.checkpoints_dir, job.device, args.clip_path)
        if job.baseline
        else None
    )
    with StageProgress() as progress:
        metrics = run_evaluation(
            model,
            plan,
            job.context,
            job.settings,
            {k: job.model[k] for k in KEEP},
            baseline,
            {k: job.baseline[k] for k in KEEP} if job.baseline else None,
            progress,
        )
    metrics["evaluator"] = BUNDLED
    metrics["run"] = {  # not part of the measurement: differs between identical runs
        "evaluator": str(job.evaluator_path),
        "device": str(job.device),
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    return metrics, job.out_dir


# --- the T2M evaluator --------------------------------------------------------------------------


def check_t2m_flags(args: argparse.Namespace) -> None:
    """Bundled-only flags are refused with the T2M evaluator (one line)."""
    for flag in ("num_samples", "reference", "batch_size"):
        if getattr(args, flag) is not None:
            raise ValueError(
                f"--{flag} applies to the bundled evaluator; the T2M protocol uses every test "
                "item in batches of 32 (use --replications, or --evaluator bundled)"
            )


def t2m_settings(args: argparse.Namespace, splits: dict[str, list]) -> T2MSettings:
    """The protocol's settings from the command line (the papers' by default)."""
    replications = args.replications or (2 if args.quick else T2MSettings.replications)
    mm_split = ALL_SPLIT if ALL_SPLIT in splits else RETAIN_SPLIT
    settings = T2MSettings(
        replications=replications,
        seed=T2MSettings.seed if args.seed is None else args.seed,
        multimodality=args.mm,
        mm_split=mm_split if args.mm else None,
    )
    settings.check()
    return settings


def t2m_notes(block: dict[str, Any]) -> list[str]:
    """Notes on splits too small for the protocol (no batch of 32)."""
    return [
        f"split {name!r} has {info['items']} test items, fewer than one batch of 32: not evaluated"
        for name, info in block["splits"].items()
        if not info["evaluated"]
    ]


def evaluate_t2m(
    args: argparse.Namespace, model: dict[str, Any], scorer: tuple, device: torch.device
) -> tuple[dict[str, Any], Path]:
    """Run the T2M evaluation of the command line (``model``: ``describe_model`` of --name,
    ``scorer``: ``load_scorer``); returns metrics.json and the output folder."""
    began = time.monotonic()
    infos = {MODEL: model}
    baseline = baseline_info(args, model)
    if baseline is not None:
        infos[BASELINE] = baseline
    out_dir = output_dir(args.name, args.checkpoints_dir)
    instruments = load_t2m_instruments(scorer, args.data_root, args.checkpoints_dir, args.glove_dir)
    splits = keyword_splits(
        instruments.items, args.target_concept, args.related_concepts, not args.no_test_split,
        args.also_erased,
    )  # fmt: skip
    settings = t2m_settings(args, splits)
    instruments.probe, notes = load_concept_probe(
        args.checkpoints_dir, args.target_concept, list(args.related_concepts), device
    )
    callbacks, sampler = {}, {}
    for label, info in infos.items():
        generator = load_generator(info, args.checkpoints_dir, device, args.clip_path)
        steps = args.ddim_steps or (QUICK_STEPS if args.quick else generator.sampler.steps)
        sampler[label] = {"steps": steps, "guidance": generator.sampler.guidance}
        callbacks[label] = generation_callback(
            generator, instruments.evaluator, steps, generator.sampler.guidance
        )
    batches = planned_batches(splits, settings)
    with T2MProgress(batches, len(callbacks), settings.replications, device) as progress:
        block = run_t2m(callbacks, instruments, splits, settings, progress)
    block.update(target=args.target_concept, related=list(args.related_concepts), sampler=sampler)
    metrics: dict[str, Any] = {"evaluator": T2M, **{k: {f: v[f] for f in KEEP}
                                                   for k, v in infos.items()}}  # fmt: skip
    metrics["t2m"] = block
    if BASELINE in infos:
        metrics["verdicts"] = t2m_verdicts(
            block[MODEL], block[BASELINE], block["changes"], block["splits"]
        )
    preset = "t2m-quick" if args.quick else "t2m"
    metrics["settings"] = {"preset": preset, "seed": settings.seed,
                           "replications": settings.replications}  # fmt: skip
    metrics["notes"] = notes + t2m_notes(block)
    metrics["run"] = {
        "evaluator": block["data"]["evaluator_dir"],
        "device": str(device),
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    return metrics, out_dir


def run(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    """Choose the evaluator and check its quick parts (a bad model, file or flag is one line
    alone), say which is used in one line, then evaluate with it."""
    model = describe_model(args.name, args.ckpt, args.checkpoints_dir)
    args.also_erased = other_targets(args.also_erased, args.target_concept, model)
    if args.also_erased:
        CONSOLE.print(
            "retain set: also without " + ", ".join(repr(c) for c in args.also_erased),
            soft_wrap=True,
            markup=False,
        )
    names = [args.name, None if args.no_baseline else args.baseline_name]
    for line in ck.shadow_notes(names, args.checkpoints_dir):  # hiding a bundled model
        notice(line)
    choice: EvaluatorChoice = choose_evaluator(
        args.evaluator, args.checkpoints_dir, args.glove_dir, args.data_root
    )
    if choice.kind == T2M:
        check_t2m_flags(args)
        device = pick_device(args.device)
        scorer = load_scorer(args.checkpoints_dir, args.glove_dir, device)
        CONSOLE.print(f"evaluator: {choice.reason}", soft_wrap=True, markup=False)
        return evaluate_t2m(args, model, scorer, device)
    if choice.file is not None:
        resolve_evaluator(choice.file, args.checkpoints_dir)  # the file exists
    CONSOLE.print(f"evaluator: {choice.reason}", soft_wrap=True, markup=False)
    return evaluate(args, choice.file, model)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain_warnings()
    check_concepts(args)

    def measure() -> tuple[dict, Path]:  # CheckpointError, DatasetError, T2MFilesError, ...
        metrics, out_dir = run(args)
        write_outputs(metrics, out_dir, args.json)
        return metrics, out_dir

    metrics, out_dir = run_cli(measure, interrupted="interrupted; nothing was written")
    console = Console()
    if not console.is_terminal:  # piped or captured: room for the values and their intervals
        console = Console(width=TABLE_WIDTH)
    table = t2m_rich_table if metrics["evaluator"] == T2M else rich_table
    console.print(table(metrics))
    hint = verdict_hint(metrics)
    if hint:
        CONSOLE.print(hint, soft_wrap=True)
    CONSOLE.print(f"wrote {out_dir / REPORT_NAME} and {out_dir / METRICS_NAME}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
