"""``python -m esd.pretrain``: train the base model (VAE, then denoiser) and the evaluator.

    python -m esd.pretrain [base|evaluator|all|bundle] --name NAME --data_root DIR [...]

* ``base`` (default): the VAE, then the latent denoiser, into ``checkpoints/t2m/NAME/``:
  ``opt.txt``, ``logs/train.log``, ``model/latest.tar`` (resumable with ``--resume``: a finished
  VAE stage is kept and the denoiser continues from its last saved step) and
  ``model/net_best_fid.tar`` (the EMA weights with the best validation FID of generated
  validation clips under the evaluator when one exists, else the final EMA weights).
  ``--finetune_from NAME`` skips the VAE stage and starts from base model NAME's VAE, statistics
  and denoiser (fresh optimizer; ``--denoiser_lr``); ``--denoiser_contact_weight`` and
  ``--denoiser_velocity_weight`` add the decoded gait terms (``esd.pretrain.decoded_gait``).
* ``evaluator``: the contrastive evaluator into ``checkpoints/t2m/t2m_evaluator/model/
  evaluator.tar``, plus the evaluation reference of the test split (``reference_test.npz``,
  beside ``model/``). ``--resume`` keeps an evaluator already trained on the same folder with the
  same seed and steps (``mixed --resume`` then trains only what is missing).
* ``reference``: rebuild only ``reference_test.npz`` of the trained evaluator from
  ``--data_root`` (after the corpus changed its held-out phrasings, say; no training).
* ``all``: evaluator, then base.
* ``bundle``: copy a trained base model (fp16) and the evaluator into ``assets/``.
* ``mixed``: build a mixed folder (``--mixed_root``, default ``data/t2m_mixed``) from the corpus
  of ``--data_root`` plus imported motion capture (``--mocap``, only ``--mocap_ids`` when given,
  never ``--exclude_ids``, repeated ``--mocap_repeat`` times in train.txt), then train the
  evaluator and the base model on it into ``--checkpoints_dir`` (default ``checkpoints_mixed``,
  name ``t2m_mixed``), each run folder with a MODEL_CARD.md and provenance.json. Imported
  Bandai-Namco data is CC BY-NC 4.0: the folder and the weights stay local (never in assets/;
  ``bundle`` refuses them).
* ``salad``: a reduced SALAD-family model (``--config small|tiny``: skeleton-aware VAE, then the
  skip-transformer v-denoiser on the CLIP of ``--clip_path``) written in SALAD's own layout
  (``esd.pretrain.salad_stage``), so ``esd.generate``, ``esd.train`` and the workbench load it as
  a SALAD model; default name ``t2m_salad_CONFIG``.

This module parses the flags, shows progress and prints; the stages are library code
(``esd.pretrain.base_stage``, ``evaluator_stage``, ``bundle``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import torch

from esd.common.runtime import pick_device, seed_everything
from esd.console import (
    CONSOLE,
    RunLog,
    StepProgress,
    plain_warnings,
    run_cli,
)
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig
from esd.models.text.clip import CLIP_FOLDER, ClipTextEncoder
from esd.pretrain.base_stage import train_base
from esd.pretrain.bundle import bundle_assets
from esd.pretrain.denoiser import DenoiserTrainConfig
from esd.pretrain.evaluator import EvaluatorTrainConfig
from esd.pretrain.evaluator_stage import (
    build_reference,
    finished_evaluator,
    train_evaluator_stage,
    trained_evaluator,
)
from esd.pretrain.folders import open_folder, prepare_run_folder
from esd.pretrain.licences import check_outside_assets, read_provenance, write_run_card
from esd.pretrain.mixed import MixSettings, build_mixed_folder
from esd.pretrain.salad_config import DEFAULT_PRESET, SALAD_PRESETS, SaladTrainConfig
from esd.pretrain.salad_stage import SaladFolders, check_sizes, train_salad
from esd.pretrain.settings import (
    BASE_LATENT_DIM,
    BASE_VAE_CONTACT_WEIGHT,
    BASE_VAE_PEAK_WEIGHT,
    BASE_VAE_STEPS,
    BASE_VAE_VELOCITY_WEIGHT,
    DEFAULT_DATA_ROOT,
    PretrainSettings,
)

STAGES = ("base", "evaluator", "reference", "all", "bundle", "salad", "mixed")
LOG_FILE = "train.log"  # in the run's logs/
SALAD_NAME = "t2m_salad_{config}"  # the salad stage's default model name
MIXED_NAME = "t2m_mixed"  # the mixed stage's default model name
MIXED_ROOT = Path("data/t2m_mixed")  # the mixed stage's default data folder
MIXED_CHECKPOINTS = Path("checkpoints_mixed")  # the mixed stage's default checkpoints dir
SALAD_FLAGS = (
    "config",
    "clip_path",
    "text_dim",
    "num_heads",
    "vae_batch_size",
)  # read by the salad stage only
MIXED_FLAGS = (
    "mocap",
    "mocap_ids",
    "exclude_ids",
    "mocap_repeat",
    "mixed_root",
    "skip_unknown_concepts",
)  # read by the mixed stage only
STAGE_DEFAULTS = {  # flags whose default depends on the stage: (base stages, salad)
    "vae_steps": (BASE_VAE_STEPS, SaladTrainConfig.vae_steps),
    "denoiser_steps": (DenoiserTrainConfig.steps, SaladTrainConfig.denoiser_steps),
    "batch_size": (DenoiserTrainConfig.batch_size, SaladTrainConfig.batch_size),
    "model_dim": (DenoiserConfig.model_dim, None),  # salad: the preset's
    "num_layers": (DenoiserConfig.num_layers, None),
    "latent_dim": (BASE_LATENT_DIM, None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m esd.pretrain", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("stage", nargs="?", default="base", choices=STAGES)
    parser.add_argument(
        "--name", help=f"model folder name (default: {ck.BASE_MODEL_NAME}; salad: "
        f"{SALAD_NAME.format(config='CONFIG')}; mixed: {MIXED_NAME})"
    )  # fmt: skip
    parser.add_argument("--data_root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument(
        "--checkpoints_dir",
        type=Path,
        help=f"default {ck.DEFAULT_CHECKPOINTS_DIR} (mixed: {MIXED_CHECKPOINTS})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    for flag, (base, salad) in STAGE_DEFAULTS.items():
        shown = "the preset's" if salad is None else salad
        parser.add_argument(f"--{flag}", type=int, help=f"default {base} (salad: {shown})")
    parser.add_argument("--evaluator_steps", type=int, default=EvaluatorTrainConfig.steps)
    parser.add_argument(
        "--vae_velocity_weight",
        type=float,
        default=BASE_VAE_VELOCITY_WEIGHT,
        help="VAE joint-velocity loss weight (m/s; esd.pretrain.vae)",
    )
    parser.add_argument(
        "--vae_contact_weight",
        type=float,
        default=BASE_VAE_CONTACT_WEIGHT,
        help="VAE planted-foot sliding loss weight (m/s; esd.pretrain.vae)",
    )
    parser.add_argument(
        "--vae_peak_weight",
        type=float,
        default=BASE_VAE_PEAK_WEIGHT,
        help="VAE squared worst-joint (root-relative) loss weight (m^2; esd.pretrain.vae)",
    )
    parser.add_argument(
        "--denoiser_lr",
        type=float,
        default=DenoiserTrainConfig.lr,
        help="denoiser AdamW peak learning rate (warm-up, then cosine decay to 5%%)",
    )
    parser.add_argument(
        "--denoiser_contact_weight",
        type=float,
        default=0.0,
        help="denoiser decoded planted-foot loss weight (m/s; esd.pretrain.decoded_gait)",
    )
    parser.add_argument(
        "--denoiser_velocity_weight",
        type=float,
        default=0.0,
        help="denoiser decoded joint-velocity loss weight (m/s; esd.pretrain.decoded_gait)",
    )
    parser.add_argument(
        "--finetune_from",
        metavar="NAME",
        help="base stage: start from this base model's VAE and denoiser (no VAE stage)",
    )
    parser.add_argument("--max_clips", type=int, default=None, help="use at most N train clips")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from model/latest.tar (an evaluator already trained as asked is kept)",
    )
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
    add_mixed_flags(parser.add_argument_group("mixed stage (imported motion capture)"))
    return parser


def add_mixed_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--mocap", type=Path, action="append", default=[],
                       help="imported folder (python -m esd.import_bvh); repeatable")  # fmt: skip
    group.add_argument("--mocap_ids", type=Path, help="only these mocap ids (e.g. calibration.txt)")
    group.add_argument("--exclude_ids", type=Path, help="never these mocap ids (e.g. heldout.txt)")
    group.add_argument("--mocap_repeat", type=int, default=1,
                       help="times each mocap clip is listed in train.txt")  # fmt: skip
    group.add_argument("--mixed_root", type=Path, default=MIXED_ROOT, help="mixed folder to write")
    group.add_argument("--skip_unknown_concepts", action="store_true",
                       help="drop mocap clips whose concepts the corpus does not know")  # fmt: skip


def stage_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the flags left out set to the stage's defaults (``STAGE_DEFAULTS``)."""
    salad = args.stage == "salad"
    for flag, defaults in STAGE_DEFAULTS.items():
        if getattr(args, flag) is None:
            setattr(args, flag, defaults[salad])
    mixed = args.stage == "mixed"
    if args.name is None:
        names = {"salad": SALAD_NAME.format(config=args.config), "mixed": MIXED_NAME}
        args.name = names.get(args.stage, ck.BASE_MODEL_NAME)
    if args.checkpoints_dir is None:
        args.checkpoints_dir = MIXED_CHECKPOINTS if mixed else ck.DEFAULT_CHECKPOINTS_DIR
    return args


def check_args(args: argparse.Namespace) -> None:
    """Refuse impossible settings with a one-line message (via ValueError)."""
    if args.stage == "salad" and args.resume:
        raise ValueError("the salad stage cannot resume: run it again with --overwrite")
    for name in ("vae_steps", "denoiser_steps", "evaluator_steps", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if not args.denoiser_lr > 0:
        raise ValueError(f"--denoiser_lr must be > 0, got {args.denoiser_lr}")
    if args.finetune_from is not None:
        if args.stage != "base":
            raise ValueError("--finetune_from applies to the base stage only")
        if args.finetune_from == args.name:
            raise ValueError(
                f"--finetune_from {args.finetune_from} is the model being written: choose another "
                "--name (the source must stay as it is)"
            )
        ck.resolve_model(args.finetune_from, args.checkpoints_dir)  # unknown: one line, no folder
    weights = ("vae_velocity_weight", "vae_contact_weight", "vae_peak_weight")
    for name in (*weights, "denoiser_contact_weight", "denoiser_velocity_weight"):
        if not getattr(args, name) >= 0:
            raise ValueError(f"--{name} must be >= 0, got {getattr(args, name)}")
    if args.mocap_repeat < 1:
        raise ValueError(f"--mocap_repeat must be at least 1, got {args.mocap_repeat}")
    if args.stage == "mixed" and not args.mocap:
        raise ValueError("the mixed stage needs --mocap FOLDER (an esd.import_bvh output)")
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
        vae_velocity_weight=args.vae_velocity_weight,
        vae_contact_weight=args.vae_contact_weight,
        vae_peak_weight=args.vae_peak_weight,
        denoiser_lr=args.denoiser_lr,
        denoiser_contact_weight=args.denoiser_contact_weight,
        denoiser_velocity_weight=args.denoiser_velocity_weight,
        finetune_from=args.finetune_from,
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
    unread = SALAD_FLAGS + (() if args.stage == "mixed" else MIXED_FLAGS)
    flags = {k: v for k, v in vars(args).items() if k not in unread}
    if "mocap" in flags:
        flags["mocap"] = ",".join(str(folder) for folder in args.mocap)
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
    if args.resume and finished_evaluator(run, settings) is not None:
        line = f"kept the finished evaluator in {run.root} (trained as asked; --overwrite retrains)"
        log(line)
        CONSOLE.print(line)
        return
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


def note(line: str) -> None:
    """Print a line about the data (a skipped clip), plainly."""
    CONSOLE.print(line, style="yellow", soft_wrap=True, markup=False)


def mixed_command(args: argparse.Namespace, device: torch.device, argv: list[str]) -> None:
    """The mixed folder (built, or kept with --resume), then the evaluator and the base model on
    it; each run folder gets MODEL_CARD.md and provenance.json, also when training stops early."""
    check_outside_assets(args.mixed_root, args.checkpoints_dir)
    provenance = read_provenance(args.mixed_root) if args.resume else None
    if provenance is None:
        mix = MixSettings(
            procedural=args.data_root, mocap=tuple(args.mocap), out=args.mixed_root,
            mocap_ids=args.mocap_ids, exclude_ids=args.exclude_ids,
            mocap_repeat=args.mocap_repeat, skip_unknown_concepts=args.skip_unknown_concepts,
            seed=args.seed, overwrite=args.overwrite,
        )  # fmt: skip
        with StageBars() as bars:
            provenance = build_mixed_folder(
                mix, note, lambda done, total: bars("mixing", done, total, "")
            )
    CONSOLE.print(f"mixed folder {args.mixed_root}: {provenance['splits']} split entries")
    settings = replace(settings_from_args(args), data_root=args.mixed_root)
    command = " ".join(["python -m esd.pretrain", *map(shlex.quote, argv)])
    stages = ((ck.EVALUATOR_NAME, evaluator_command), (args.name, base_command))
    for name, train in stages:
        run = ck.run_paths(settings.checkpoints_dir, name)
        ours = args.resume or args.overwrite or not run.root.exists()  # else training refuses
        try:
            train(args, settings, device)
        finally:
            if ours and run.model_dir.is_dir():
                card = write_run_card(run.root, provenance, name, command)
                CONSOLE.print(f"{card} written (non-commercial: "
                              f"{', '.join(provenance['non_commercial']) or 'none'})")  # fmt: skip


RESUME_HINT = "interrupted: model/latest.tar keeps the last saved step (use --resume)"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = stage_defaults(build_parser().parse_args(argv))
    plain_warnings()
    # bad input, missing files: one line; Ctrl-C: the resume hint, status 130
    run_cli(lambda: run_stages(args, argv), resume_hint=RESUME_HINT)


def run_stages(args: argparse.Namespace, argv: list[str]) -> None:
    """The stages ``args.stage`` names, in order."""
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
    if args.stage == "mixed":
        mixed_command(args, device, argv)
    if args.stage == "bundle":
        model, evaluator = bundle_assets(settings.checkpoints_dir, settings.name)
        CONSOLE.print(f"bundled {model} and {evaluator}")


if __name__ == "__main__":
    main()
