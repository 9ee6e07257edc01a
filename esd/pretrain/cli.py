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
* ``salad``: a reduced SALAD-family model (``--config small|tiny``: skeleton-aware VAE, then the
  skip-transformer v-denoiser on the CLIP of ``--clip_path``) written in SALAD's own layout
  (``esd.pretrain.salad_stage``), so ``esd.generate``, ``esd.train`` and the workbench load it as
  a SALAD model; default name ``t2m_salad_CONFIG``.

This module parses the flags, shows progress and prints; the stages are library code
(``esd.pretrain.base_stage``, ``evaluator_stage``, ``bundle``).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import torch

from esd.common.runtime import pick_device, seed_everything
from esd.console import CONSOLE, RunLog, StepProgress, fail, plain_warnings
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig
from esd.models.bundled.vae import VAEConfig
from esd.models.text.clip import CLIP_FOLDER, ClipTextEncoder
from esd.motion.humanml3d import DatasetError
from esd.pretrain.base_stage import train_base
from esd.pretrain.bundle import bundle_assets
from esd.pretrain.denoiser import DenoiserTrainConfig
from esd.pretrain.evaluator import EvaluatorTrainConfig
from esd.pretrain.evaluator_stage import build_reference, train_evaluator_stage, trained_evaluator
from esd.pretrain.folders import open_folder, prepare_run_folder
from esd.pretrain.salad_config import DEFAULT_PRESET, SALAD_PRESETS, SaladTrainConfig
from esd.pretrain.salad_stage import SaladFolders, check_sizes, train_salad
from esd.pretrain.settings import DEFAULT_DATA_ROOT, PretrainSettings
from esd.pretrain.vae import VAETrainConfig

STAGES = ("base", "evaluator", "reference", "all", "bundle", "salad")
LOG_FILE = "train.log"  # in the run's logs/
SALAD_NAME = "t2m_salad_{config}"  # the salad stage's default model name
SALAD_FLAGS = (
    "config",
    "clip_path",
    "text_dim",
    "num_heads",
    "vae_batch_size",
)  # read by the salad stage only
STAGE_DEFAULTS = {  # flags whose default depends on the stage: (base stages, salad)
    "vae_steps": (VAETrainConfig.steps, SaladTrainConfig.vae_steps),
    "denoiser_steps": (DenoiserTrainConfig.steps, SaladTrainConfig.denoiser_steps),
    "batch_size": (DenoiserTrainConfig.batch_size, SaladTrainConfig.batch_size),
    "model_dim": (DenoiserConfig.model_dim, None),  # salad: the preset's
    "num_layers": (DenoiserConfig.num_layers, None),
    "latent_dim": (VAEConfig.latent_dim, None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m esd.pretrain", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("stage", nargs="?", default="base", choices=STAGES)
    parser.add_argument(
        "--name", help=f"model folder name (default: {ck.BASE_MODEL_NAME}; salad: "
        f"{SALAD_NAME.format(config='CONFIG')})"
    )  # fmt: skip
    parser.add_argument("--data_root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--checkpoints_dir", type=Path, default=ck.DEFAULT_CHECKPOINTS_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    for flag, (base, salad) in STAGE_DEFAULTS.items():
        shown = "the preset's" if salad is None else salad
        parser.add_argument(f"--{flag}", type=int, help=f"default {base} (salad: {shown})")
    parser.add_argument("--evaluator_steps", type=int, default=EvaluatorTrainConfig.steps)
    parser.add_argument("--max_clips", type=int, default=None, help="use at most N train clips")
    parser.add_argument("--resume", action="store_true", help="continue from model/latest.tar")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    salad = parser.add_argument_group("salad stage")
    salad.add_argument(
        "--config",
        default=DEFAULT_PRESET,
        choices=sorted(SALAD_PRESETS),
        help="SALAD-family sizes (esd.pretrain.salad_config.SALAD_PRESETS)",
    )
    salad.add_argument(
        "--clip_path",
        type=Path,
        help="local CLIP folder (default: <checkpoints_dir>/clip-vit-base-patch32)",
    )
    salad.add_argument(
        "--text_dim", type=int, help="the CLIP's token width, checked (default: read from the CLIP)"
    )
    salad.add_argument("--num_heads", type=int, help="denoiser heads (default: the preset's)")
    salad.add_argument("--vae_batch_size", type=int, default=SaladTrainConfig.vae_batch_size,
                       help="VAE windows per step")  # fmt: skip
    return parser


def stage_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the flags left out set to the stage's defaults (``STAGE_DEFAULTS``)."""
    salad = args.stage == "salad"
    for flag, defaults in STAGE_DEFAULTS.items():
        if getattr(args, flag) is None:
            setattr(args, flag, defaults[salad])
    if args.name is None:
        args.name = SALAD_NAME.format(config=args.config) if salad else ck.BASE_MODEL_NAME
    return args


def check_args(args: argparse.Namespace) -> None:
    """Refuse impossible settings with a one-line message (via ValueError)."""
    if args.stage == "salad" and args.resume:
        raise ValueError("the salad stage cannot resume: run it again with --overwrite")
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
    flags = {k: v for k, v in vars(args).items() if k not in SALAD_FLAGS}
    options = {**flags, "data_root": str(settings.data_root), "device": str(device)}
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


def salad_command(args: argparse.Namespace, device: torch.device) -> None:
    sizes = SALAD_PRESETS[args.config]
    overrides = {"model_dim": args.model_dim, "num_layers": args.num_layers,
                 "vae_latent_dim": args.latent_dim, "num_heads": args.num_heads,
                 "text_dim": args.text_dim}  # fmt: skip
    sizes = replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    cfg = SaladTrainConfig(
        vae_steps=args.vae_steps, denoiser_steps=args.denoiser_steps,
        batch_size=args.batch_size, vae_batch_size=args.vae_batch_size, seed=args.seed,
    )  # fmt: skip
    folder = open_folder(args.data_root)
    clip_dir = args.clip_path or args.checkpoints_dir / CLIP_FOLDER
    encoder = ClipTextEncoder(clip_dir, device)
    sizes = check_sizes(sizes.with_text_dim(encoder.dim))  # a mismatch fails before training
    try:
        encoder.load()
    except OSError as err:
        raise ValueError(f"the CLIP at {encoder.model_dir} does not load: {err}") from err
    folders = SaladFolders(args.checkpoints_dir, args.name)
    folders.prepare(args.overwrite)
    log = RunLog(folders.model / "logs" / LOG_FILE)
    with StageBars() as bars:
        result = train_salad(folders, folder, sizes, cfg, encoder, device, args.max_clips,
                             log, bars)  # fmt: skip
    CONSOLE.print(f"SALAD-family model {args.name} written to {result.folders.model}")


def main(argv: list[str] | None = None) -> None:
    args = stage_defaults(build_parser().parse_args(argv))
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
        if args.stage == "salad":
            salad_command(args, device)
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
