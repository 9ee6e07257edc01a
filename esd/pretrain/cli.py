"""``python -m esd.pretrain``: train the base model (VAE, then denoiser) and the evaluator.

    python -m esd.pretrain [base|evaluator|all|bundle] --name NAME --data_root DIR [...]

* ``base`` (default): the VAE, then the latent denoiser, into ``checkpoints/t2m/NAME/``:
  ``opt.txt``, ``logs/train.log``, ``model/latest.tar`` (resumable with ``--resume``: a finished
  VAE stage is kept and the denoiser continues from its last saved step) and
  ``model/net_best_fid.tar`` (the EMA weights with the best validation FID of generated
  validation clips under the evaluator when one exists, else the final EMA weights).
* ``evaluator``: the contrastive evaluator into ``checkpoints/t2m/t2m_evaluator/model/
  evaluator.tar``, plus the evaluation reference of the test split (``reference_test.npz``,
  beside ``model/``).
* ``reference``: rebuild only ``reference_test.npz`` of the trained evaluator from
  ``--data_root`` (after the corpus changed its held-out phrasings, say; no training).
* ``all``: evaluator, then base.
* ``bundle``: copy a trained base model (fp16) and the evaluator into ``assets/``.

This module parses the flags, shows progress and prints; the stages are library code
(``esd.pretrain.base_stage``, ``evaluator_stage``, ``bundle``).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import torch

from esd.common.runtime import pick_device, seed_everything
from esd.console import CONSOLE, RunLog, StepProgress, fail, plain_warnings
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig
from esd.models.bundled.vae import VAEConfig
from esd.motion.humanml3d import DatasetError
from esd.pretrain.base_stage import train_base
from esd.pretrain.bundle import bundle_assets
from esd.pretrain.denoiser import DenoiserTrainConfig
from esd.pretrain.evaluator import EvaluatorTrainConfig
from esd.pretrain.evaluator_stage import build_reference, train_evaluator_stage, trained_evaluator
from esd.pretrain.folders import open_folder, prepare_run_folder
from esd.pretrain.settings import DEFAULT_DATA_ROOT, PretrainSettings
from esd.pretrain.vae import VAETrainConfig

STAGES = ("base", "evaluator", "reference", "all", "bundle")
LOG_FILE = "train.log"  # in the run's logs/


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m esd.pretrain", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("stage", nargs="?", default="base", choices=STAGES)
    parser.add_argument("--name", default=ck.BASE_MODEL_NAME, help="base model folder name")
    parser.add_argument("--data_root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--checkpoints_dir", type=Path, default=ck.DEFAULT_CHECKPOINTS_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--vae_steps", type=int, default=VAETrainConfig.steps)
    parser.add_argument("--denoiser_steps", type=int, default=DenoiserTrainConfig.steps)
    parser.add_argument("--evaluator_steps", type=int, default=EvaluatorTrainConfig.steps)
    parser.add_argument("--batch_size", type=int, default=DenoiserTrainConfig.batch_size)
    parser.add_argument("--model_dim", type=int, default=DenoiserConfig.model_dim)
    parser.add_argument("--num_layers", type=int, default=DenoiserConfig.num_layers)
    parser.add_argument("--latent_dim", type=int, default=VAEConfig.latent_dim)
    parser.add_argument("--max_clips", type=int, default=None, help="use at most N train clips")
    parser.add_argument("--resume", action="store_true", help="continue from model/latest.tar")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser


def check_args(args: argparse.Namespace) -> None:
    """Refuse impossible settings with a one-line message (via ValueError)."""
    for name in ("vae_steps", "denoiser_steps", "evaluator_steps", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_clips is not None and args.max_clips < 1:
        raise ValueError(f"--max_clips must be at least 1, got {args.max_clips}")
    ck.validate_name(args.name)


def settings_from_args(args: argparse.Namespace) -> PretrainSettings:
    return PretrainSettings(
        name=args.name,
        data_root=args.data_root,
        checkpoints_dir=args.checkpoints_dir,
        seed=args.seed,
        vae_steps=args.vae_steps,
        denoiser_steps=args.denoiser_steps,
        evaluator_steps=args.evaluator_steps,
        batch_size=args.batch_size,
        model_dim=args.model_dim,
        num_layers=args.num_layers,
        latent_dim=args.latent_dim,
        max_clips=args.max_clips,
    )


class StageBars(AbstractContextManager):
    """The stages' ``progress`` callback: one Rich bar per stage, closed when the stage ends."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._bar: StepProgress | None = None

    def __call__(self, stage: str, step: int, total: int, status: str) -> None:
        if stage != self._stage:
            self.close()
            self._stage, self._bar = stage, StepProgress(stage, total).__enter__()
        assert self._bar is not None
        self._bar.update(step, status)
        if step >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self._stage, self._bar = None, None

    def __exit__(self, *exc: object) -> None:
        self.close()


def base_command(
    args: argparse.Namespace, settings: PretrainSettings, device: torch.device
) -> None:
    run = ck.run_paths(settings.checkpoints_dir, settings.name)
    prepare_run_folder(run, resume=args.resume, overwrite=args.overwrite)
    log = RunLog(run.logs_dir / LOG_FILE)
    folder = open_folder(settings.data_root)
    options = {**vars(args), "data_root": str(settings.data_root), "device": str(device)}
    ck.write_opt(run.opt_file, options)
    with StageBars() as bars:
        train_base(run, folder, settings, device, args.resume, log, bars)


def evaluator_command(
    args: argparse.Namespace, settings: PretrainSettings, device: torch.device
) -> None:
    run = ck.run_paths(settings.checkpoints_dir, ck.EVALUATOR_NAME)
    prepare_run_folder(run, resume=args.resume, overwrite=args.overwrite)
    log = RunLog(run.logs_dir / LOG_FILE)
    folder = open_folder(settings.data_root)
    with StageBars() as bars:
        train_evaluator_stage(run, folder, settings, device, log, bars)


def reference_command(settings: PretrainSettings) -> None:
    run = ck.run_paths(settings.checkpoints_dir, ck.EVALUATOR_NAME)
    bundle = trained_evaluator(run)
    folder = open_folder(settings.data_root)
    build_reference(run, folder, bundle, RunLog(run.logs_dir / LOG_FILE))


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    plain_warnings()
    try:
        check_args(args)
        settings = settings_from_args(args)
        device = pick_device(args.device)
        if args.threads:
            torch.set_num_threads(args.threads)
        seed_everything(args.seed)
        if args.stage in ("evaluator", "all"):
            evaluator_command(args, settings, device)
        if args.stage in ("base", "all"):
            base_command(args, settings, device)
        if args.stage == "reference":
            reference_command(settings)
        if args.stage == "bundle":
            model, evaluator = bundle_assets(settings.checkpoints_dir, settings.name)
            CONSOLE.print(f"bundled {model} and {evaluator}")
    except (ValueError, DatasetError, ck.CheckpointError, FileNotFoundError) as err:
        fail(str(err))
    except KeyboardInterrupt:
        CONSOLE.print("interrupted: model/latest.tar keeps the last saved step (use --resume)")
        sys.exit(130)


if __name__ == "__main__":
    main()
