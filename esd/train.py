"""``python -m esd.train``: erase a concept from a base model with ESD (the seed's command line).

    python -m esd.train --name t2m_denoiser_vpred_vaegelu --dataset_name t2m \\
        --target_concept "a person kicking" --negative_guidance 1.5 --unlearn_epochs 10 \\
        --unlearn_lr 1e-5 --batch_size 128 --num_workers 8

Output: ``checkpoints/t2m/{NAME}_ESD_{CONCEPT_SLUG}/`` with ``opt.txt``, ``logs/train.log``,
``model/net_e_XX.tar`` (every epoch; the newest 10 are kept) and ``model/latest.tar`` (every
epoch, on Ctrl-C, at the end). Over a SALAD base (``--checkpoints_dir`` holding SALAD's
``t2m/`` folders, its CLIP from ``--clip_path``) the run folder is also a SALAD model:
``model/net_best_fid.tar`` in SALAD's format beside every latest.tar, and ``opt.txt`` in SALAD's
format carrying the run's flags (``esd.erasure.runs``).

An epoch is the seed's: one pass over the base model's training split, ceil(training clips /
batch size) iterations per target concept, with x_t drawn from the chosen source
(``esd.erasure.epochs``); the training clips are counted in ``--data_root``'s train.txt when
given, else taken from the base (the bundled base: 9,600; a SALAD t2m base: HumanML3D's 23,384).

This module parses the flags, renders progress and handles Ctrl-C; the work is library code
(``esd.erasure.runs`` for the run folder and the base, ``esd.erasure.loop.run_esd``).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from esd.common.runtime import pick_device, seed_everything
from esd.console import (
    CONSOLE,
    EXIT_INTERRUPTED,
    RunLog,
    StepProgress,
    notice,
    plain_warnings,
    positive_float,
    positive_int,
    run_cli,
    seed_int,
)
from esd.erasure.anchors import resolve_anchors
from esd.erasure.concept_clips import source_latents
from esd.erasure.config import (
    AUTO_ANCHOR_WEIGHT,
    METHODS,
    XT_SOURCES,
    ESDConfig,
    validate_config,
)
from esd.erasure.epochs import BUNDLED_TRAIN_CLIPS, HUMANML3D_TRAIN_CLIPS, training_clips
from esd.erasure.loop import ESDResult, ESDStep, plan_run, run_esd
from esd.erasure.runs import load_base, prepare_run_folder, write_run_options
from esd.models import checkpoints as ck
from esd.models.text.clip import CLIP_FOLDER
from esd.motion.humanml3d import CORPUS_ROOT

SUPPORTED_DATASETS = ("t2m",)  # HumanML3D layout (KIT-ML is not supported)
DEFAULT_DATA_ROOT = CORPUS_ROOT  # the data source's clips when --data_root is absent
RESUME_HINT = "interrupted: run again with --resume to continue from the last epoch"
LOG_EVERY = 50  # a loss line in train.log every LOG_EVERY steps (and at the last one)
EPOCH_HELP = (
    "epochs; an epoch is the seed's pass over the base's training split: ceil(training clips / "
    "batch size) iterations per target concept, x_t still drawn from --xt_source. Training "
    "clips: --data_root's train.txt when given, else the base's (bundled base: "
    f"{BUNDLED_TRAIN_CLIPS:,}; SALAD t2m base: HumanML3D's {HUMANML3D_TRAIN_CLIPS:,})"
)


def build_parser() -> argparse.ArgumentParser:
    d = ESDConfig()
    p = argparse.ArgumentParser(prog="python -m esd.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--name", default=ck.BASE_MODEL_NAME, help="base model to erase from")
    p.add_argument("--dataset_name", default="t2m", help="dataset layout (t2m = HumanML3D)")
    p.add_argument(
        "--target_concept",
        nargs="+",
        default=list(d.concepts),
        help="concept prompt(s) to erase, e.g. 'a person kicking'",
    )
    p.add_argument("--variants", nargs="*", default=[], help="extra prompts of the concept")
    p.add_argument(
        "--negative_guidance",
        type=positive_float,
        default=d.negative_guidance,
        help="eta in p(null) - eta (p(c) - p(null))",
    )
    p.add_argument("--unlearn_epochs", type=positive_int, default=d.epochs, help=EPOCH_HELP)
    p.add_argument("--unlearn_lr", type=positive_float, default=d.lr)
    p.add_argument("--batch_size", type=positive_int, default=d.batch_size)
    p.add_argument(
        "--num_workers",
        type=int,
        default=8,
        help="accepted for the seed's command line and unused: x_t samples live in memory "
        "(no data loader)",
    )
    p.add_argument(
        "--iterations",
        type=positive_int,
        default=None,
        help="optimizer steps per target concept; overrides --unlearn_epochs",
    )
    p.add_argument("--method", choices=METHODS, default=d.method)
    p.add_argument("--xt_source", choices=XT_SOURCES, default=d.xt_source)
    p.add_argument(
        "--trajectories",
        type=positive_int,
        default=d.trajectories,
        help="teacher trajectories per concept in the x_t pool",
    )
    p.add_argument("--ddim_steps", type=positive_int, default=d.ddim_steps)
    p.add_argument("--start_guidance", type=positive_float, default=d.start_guidance)
    p.add_argument("--anchors", nargs="*", default=[], help="prompts to preserve (optional)")
    p.add_argument("--preservation_weight", type=float, default=d.preservation_weight)
    p.add_argument(
        "--auto_anchors", type=int, default=d.auto_anchors, metavar="K",
        help="also anchor the K vocabulary concepts whose prompts the base's text encoder puts "
        f"nearest the targets (weight {AUTO_ANCHOR_WEIGHT} unless --preservation_weight is set)",
    )  # fmt: skip
    p.add_argument("--seed", type=seed_int, default=d.seed)
    p.add_argument(
        "--data_root",
        type=Path,
        default=None,
        help="HumanML3D-format folder: its train split sets the epoch length, and --xt_source "
        f"data takes the concept's clips from it (that source's default: {DEFAULT_DATA_ROOT})",
    )
    p.add_argument("--checkpoints_dir", type=Path, default=ck.DEFAULT_CHECKPOINTS_DIR)
    p.add_argument(
        "--clip_path", type=Path, default=None,
        help=f"SALAD bases: a local Hugging Face CLIP folder (default: <checkpoints_dir>/"
        f"{CLIP_FOLDER}; a hub-cache snapshot such as .../models--openai--clip-vit-base-patch32"
        "/snapshots/<rev> works)",
    )  # fmt: skip
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--resume", action="store_true", help="continue the run from latest.tar")
    return p


def config_from_args(args: argparse.Namespace) -> ESDConfig:
    if args.dataset_name not in SUPPORTED_DATASETS:
        raise ValueError(
            f"--dataset_name {args.dataset_name!r} is not supported; use t2m (HumanML3D layout)"
        )
    cfg = ESDConfig(
        concepts=tuple(c.strip() for c in args.target_concept),
        variants=tuple(args.variants),
        negative_guidance=args.negative_guidance,
        method=args.method,
        lr=args.unlearn_lr,
        epochs=args.unlearn_epochs,
        iterations=args.iterations,
        batch_size=args.batch_size,
        xt_source=args.xt_source,
        trajectories=args.trajectories,
        ddim_steps=args.ddim_steps,
        start_guidance=args.start_guidance,
        anchors=tuple(args.anchors),
        preservation_weight=args.preservation_weight,
        auto_anchors=args.auto_anchors,
        seed=args.seed,
    )
    validate_config(cfg)
    return cfg


def graceful_interrupt(stop: threading.Event, log: RunLog):
    """SIGINT handler: the first Ctrl-C stops after the current step (latest.tar is written),
    a second one aborts at once."""

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log("Ctrl-C: stopping after this step (press again to abort without saving)")

    return handler


def train(args: argparse.Namespace) -> ESDResult:
    """Load the base, size the run, then erase under a progress bar (see the module docstring).

    A run folder this call creates is removed again when no checkpoint was written in it
    (stopped before the first step, interrupted, or diverged at once).
    """
    cfg = config_from_args(args)
    device = pick_device(args.device)
    seed_everything(cfg.seed)
    base_paths = ck.resolve_model(args.name, args.checkpoints_dir)
    for line in ck.shadow_notes(args.name, args.checkpoints_dir):
        notice(line)
    base, base_ref = load_base(args.name, args.checkpoints_dir, device, args.clip_path)
    cfg, clips_note = with_epoch_length(cfg, args, base.info)
    cfg = resolve_anchors(base, cfg)  # the run folder records the anchors it chose
    data_root = args.data_root or DEFAULT_DATA_ROOT
    latents = source_latents(base, cfg, data_root)
    total, per_epoch = plan_run(base, cfg, latents)  # refuses bad settings, runs too large
    name = ck.esd_run_name(args.name, list(cfg.concepts))
    fresh = args.overwrite or not ck.run_paths(args.checkpoints_dir, name).root.exists()
    run = prepare_run_folder(
        args.checkpoints_dir, args.name, cfg, overwrite=args.overwrite, resume=args.resume
    )
    try:
        log = RunLog(run.logs_dir / "train.log")
        # "anchored": --anchors and the automatic ones, as trained
        options = {**vars(args), "base_model": str(base_paths.root), "device": str(device),
                   "anchored": list(cfg.anchors)}  # fmt: skip
        write_run_options(run, options, base)  # a SALAD base: SALAD's format (esd.erasure.runs)
        log(
            f"ESD: erasing {list(cfg.prompts)} from {args.name} ({cfg.method}, "
            f"eta {cfg.negative_guidance}, lr {cfg.lr}, x_t from {cfg.xt_source}) on {device}; "
            f"{total} steps, {per_epoch} per epoch{clips_note}"
        )
        if latents is not None:
            log(f"data source: {len(latents)} clips of the concept from {data_root}")
        began = time.monotonic()
        result = with_progress_and_ctrl_c(
            log,
            lambda on_step, stop: run_esd(
                base, cfg, run, base_ref, on_step=on_step, on_status=log, stop=stop,
                resume=args.resume, data_latents=latents,
            ),
        )  # fmt: skip
    except BaseException:
        _remove_if_unsaved(run, fresh)
        raise
    if result.steps_done == 0:
        _remove_if_unsaved(run, fresh)
    report(result, run, cfg, time.monotonic() - began, log)
    return result


def with_epoch_length(
    cfg: ESDConfig, args: argparse.Namespace, base_info: dict
) -> tuple[ESDConfig, str]:
    """``cfg`` with ``train_clips`` (the epoch length) and a note of where it came from.

    With --iterations an unknown base is fine (epochs then count passes over the x_t samples).
    """
    try:
        clips = training_clips(args.name, base_info, args.data_root)
    except ValueError:
        if cfg.iterations is None:
            raise
        return cfg, ""
    times = f"{len(cfg.concepts)} concepts x " if len(cfg.concepts) > 1 else ""
    note = (
        f" ({times}ceil({clips.count:,} training clips: {clips.source} / batch {cfg.batch_size}))"
    )
    return replace(cfg, train_clips=clips.count), note


def _remove_if_unsaved(run: ck.RunPaths, fresh: bool) -> None:
    """Delete a run folder this call created when it holds no checkpoint (nothing was saved)."""
    if fresh and run.root.is_dir() and not run.latest.exists():
        shutil.rmtree(run.root, ignore_errors=True)


def with_progress_and_ctrl_c(
    log: RunLog, work: Callable[[Callable[[ESDStep], None], threading.Event], ESDResult]
) -> ESDResult:
    """Run ``work(on_step, stop)`` under a progress bar, the first Ctrl-C setting ``stop``."""
    stop = threading.Event()
    progress: StepProgress | None = None

    def on_step(step: ESDStep) -> None:
        nonlocal progress
        if progress is None:
            progress = StepProgress("ESD", step.total).__enter__()
        progress.update(step.step, f"epoch {step.epoch} loss {step.loss:.5f}")
        if step.step == step.total or step.step % LOG_EVERY == 0:
            log(f"step {step.step}/{step.total} epoch {step.epoch} loss {step.loss:.5f}")

    previous = signal.signal(signal.SIGINT, graceful_interrupt(stop, log))
    try:
        return work(on_step, stop)
    finally:
        signal.signal(signal.SIGINT, previous)
        if progress is not None:
            progress.__exit__(None, None, None)


def report(
    result: ESDResult, run: ck.RunPaths, cfg: ESDConfig, seconds: float, log: RunLog
) -> None:
    """The run's last lines: stopped or done, steps, time, final loss, checkpoint, next command.

    Stopped before any step of this call: one line, exit status 130 (nothing was saved).
    """
    if result.final_loss is None:
        CONSOLE.print("stopped before the first step: nothing saved, no checkpoint written")
        sys.exit(EXIT_INTERRUPTED)
    if result.stopped:
        log(f"stopped at step {result.steps_done}: latest.tar saved; continue with --resume")
    log(
        f"done: {result.steps_done}/{result.total_steps} steps in {seconds / 60:.2f} min, "
        f"{result.trainable:,} trained parameters, final loss {result.final_loss:.5f}"
    )
    log(f"checkpoint: {result.checkpoint}")
    log(
        f"evaluate it: python -m esd.evaluate --name {run.name} --target_concept "
        f"'{cfg.concepts[0]}'"
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    plain_warnings()
    # bad input, missing files: one line; an abort (the second Ctrl-C): the hint, status 130
    run_cli(lambda: train(args), resume_hint=RESUME_HINT)


if __name__ == "__main__":
    main()
