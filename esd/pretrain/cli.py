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
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from esd.common.runtime import pick_device, seed_everything
from esd.console import CONSOLE, RunLog, StepProgress, fail, plain_warnings
from esd.evaluation.contrastive import EvaluatorBundle, EvaluatorConfig
from esd.evaluation.metrics import frechet_distance
from esd.evaluation.reference import ReferenceSet
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser, count_parameters
from esd.models.bundled.vae import MotionVAE, VAEConfig, encode_latents
from esd.models.diffusion import NoiseSchedule
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.motion.humanml3d import DatasetError, MotionFolder
from esd.pretrain.denoiser import (
    DenoiserTrainConfig,
    LatentBatcher,
    TextBank,
    latent_statistics,
)
from esd.pretrain.denoiser import train_denoiser as run_denoiser_stage
from esd.pretrain.evaluator import CaptionedClips, EvaluatorTrainConfig, train_evaluator
from esd.pretrain.vae import VAETrainConfig, reconstruction_mpjpe, train_vae

DEFAULT_DATA_ROOT = Path("data/t2m_synth")
STAGES = ("base", "evaluator", "reference", "all", "bundle")
EVALUATOR_FILE = "evaluator.tar"
REFERENCE_FILE = "reference_test.npz"
VALIDATION_CLIPS = 128  # validation clips generated for the FID criterion
VALIDATION_STEPS = 10  # DDIM steps of the validation samples (a cheap, consistent criterion)


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


# --- data -------------------------------------------------------------------------------------


def load_clips(folder: MotionFolder, split: str, limit: int | None = None) -> tuple[list, list]:
    """Normalised feature arrays and caption tuples of a split."""
    records = folder.load_split(split, limit=limit)
    mean, std = folder.mean, folder.std
    clips = [((r.features - mean) / std).astype(np.float32) for r in records]
    return clips, [r.captions for r in records]


def open_folder(root: Path) -> MotionFolder:
    if not root.exists() and root == DEFAULT_DATA_ROOT:
        raise DatasetError(
            f"no corpus at {root}: generate it first with `python -m esd.corpus --out {root}`"
        )
    return MotionFolder(root)


# --- base model -------------------------------------------------------------------------------


def vae_stage(
    args: argparse.Namespace, folder: MotionFolder, device: torch.device, log: RunLog
) -> tuple[MotionVAE, dict[str, Any]]:
    train, _ = load_clips(folder, "train", args.max_clips)
    val, _ = load_clips(folder, "val")
    log(f"VAE: {len(train)} train clips, {len(val)} validation clips")
    cfg = VAETrainConfig(steps=args.vae_steps, seed=args.seed)
    vae_cfg = VAEConfig(latent_dim=args.latent_dim)
    began = time.monotonic()
    with StepProgress("VAE", cfg.steps) as bar:

        def report(step):
            extra = f" val MPJPE {step.val_mpjpe_cm:.2f} cm" if step.val_mpjpe_cm else ""
            bar.update(step.step, f"loss {step.loss:.4f}{extra}")
            if step.val_mpjpe_cm:
                log(f"VAE step {step.step}: loss {step.loss:.4f}{extra}")

        vae, metrics = train_vae(train, val, folder.mean, folder.std, vae_cfg, cfg, device, report)
    metrics["vae_minutes"] = (time.monotonic() - began) / 60
    return vae, metrics


def make_validator(
    generator: MotionGenerator,
    folder: MotionFolder,
    evaluator: EvaluatorBundle | None,
    seed: int,
) -> tuple[str, Any]:
    """The denoiser's selection criterion: ("fid", fn) with an evaluator, else ("none", None)."""
    if evaluator is None:
        return "none", None
    records = folder.load_split("val", limit=VALIDATION_CLIPS)
    lengths = [min(len(r.features) // 4 * 4, 196) for r in records]
    prompts = [r.captions[0] for r in records]
    real = torch.zeros(len(records), max(lengths), records[0].features.shape[1])
    for row, (r, n) in enumerate(zip(records, lengths)):
        real[row, :n] = torch.from_numpy(np.array(r.features[:n]))  # a writable copy
    real_emb = evaluator.embed_motion(real, torch.tensor(lengths)).numpy()

    def fid_of(denoiser) -> float:
        candidate = generator.with_denoiser(denoiser)
        out = candidate.generate(prompts, lengths, seed=seed, num_steps=VALIDATION_STEPS)
        emb = evaluator.embed_motion(torch.from_numpy(out.features), torch.tensor(lengths))
        denoiser.eval()
        return frechet_distance(emb.numpy(), real_emb)

    return "fid", fid_of


def load_evaluator_if_any(checkpoints_dir: Path) -> EvaluatorBundle | None:
    for root in (
        ck.run_paths(checkpoints_dir, ck.EVALUATOR_NAME).root,
        ck.ASSETS_DIR / ck.EVALUATOR_NAME,
    ):
        path = root / "model" / EVALUATOR_FILE
        if path.is_file():
            return EvaluatorBundle.from_payload(ck.load_checkpoint(path, kind="evaluator"))
    return None


def denoiser_stage(
    args: argparse.Namespace,
    folder: MotionFolder,
    vae: MotionVAE,
    run: ck.RunPaths,
    device: torch.device,
    log: RunLog,
    resume_state: dict[str, Any] | None,
    info: dict[str, Any],
) -> MotionGenerator:
    train, captions = load_clips(folder, "train", args.max_clips)
    latents = encode_latents(vae, train, device)
    latent_mean, latent_std = latent_statistics(latents)
    latents = [(z - latent_mean) / latent_std for z in latents]
    log(f"denoiser: {len(latents)} latent clips, encoding {len(captions)} caption sets")
    encoder = shared_text_encoder(device)
    bank = TextBank([c for caps in captions for c in caps], encoder)
    log(f"text bank: {len(bank.captions)} distinct captions")
    cfg = DenoiserTrainConfig(steps=args.denoiser_steps, batch_size=args.batch_size, seed=args.seed)
    model_cfg = DenoiserConfig(
        latent_dim=vae.cfg.latent_dim, model_dim=args.model_dim, num_layers=args.num_layers
    )
    stats = {
        "feature_mean": torch.tensor(folder.mean),
        "feature_std": torch.tensor(folder.std),
        "latent_mean": latent_mean,
        "latent_std": latent_std,
    }
    schedule = NoiseSchedule()
    generator = MotionGenerator(vae, LatentDenoiser(model_cfg), schedule, stats, encoder, device)
    evaluator = load_evaluator_if_any(args.checkpoints_dir)
    criterion, validate = make_validator(generator, folder, evaluator, args.seed)
    log(f"selection criterion: {criterion}; {count_parameters(generator.denoiser):,} parameters")
    began = time.monotonic()

    def save(state: dict[str, Any], is_best: bool) -> None:
        generator.denoiser.load_state_dict(state["ema"])
        generator.info.update(info, total_iter=state["step"], created=time.strftime("%F %T"))
        generator.info["metrics"] = {**info.get("metrics", {}), "best_" + criterion: state["best"]}
        payload = generator.to_payload()
        ck.save_checkpoint({**payload, "stage": "denoiser", "train_state": state}, run.latest)
        if is_best:
            ck.save_checkpoint(payload, run.best)
            log(f"step {state['step']}: new best {criterion} {state['best']:.4f}")

    with StepProgress("denoiser", cfg.steps) as bar:

        def report(step):
            bar.update(step.step, f"loss {step.loss:.4f}")
            if step.validation is not None:
                value = f"{criterion} {step.validation:.4f}"
                log(f"denoiser step {step.step}: loss {step.loss:.4f} {value}")

        ema = run_denoiser_stage(
            LatentBatcher(latents, captions, bank, cfg),
            schedule,
            model_cfg,
            cfg,
            device,
            validate=validate,
            on_step=report,
            on_checkpoint=save,
            resume=resume_state,
        )
    if not run.best.is_file():  # no criterion: the final EMA weights are the model
        generator.denoiser.load_state_dict(ema.state_dict())
        ck.save_checkpoint(generator.to_payload(), run.best)
    info.setdefault("metrics", {})["denoiser_minutes"] = (time.monotonic() - began) / 60
    return generator


def train_base(args: argparse.Namespace, device: torch.device) -> None:
    run = ck.run_paths(args.checkpoints_dir, args.name)
    prepare_run_folder(run, args)
    log = RunLog(run.logs_dir / "train.log")
    folder = open_folder(args.data_root)
    ck.write_opt(
        run.opt_file, {**vars(args), "data_root": str(args.data_root), "device": str(device)}
    )
    state = (
        ck.load_checkpoint(run.latest, kind="base")
        if args.resume and run.latest.is_file()
        else None
    )
    info: dict[str, Any] = {"metrics": {}, "data_root": str(args.data_root), "seed": args.seed}
    if state is not None:
        vae = MotionVAE(VAEConfig(**state["vae_config"]))
        vae.load_state_dict(state["vae"])
        vae = vae.to(device).eval()
        info["metrics"].update(state.get("metrics") or {})
        log("resuming: the VAE stage is done; continuing the denoiser")
    else:
        vae, vae_metrics = vae_stage(args, folder, device, log)
        info["metrics"].update(vae_metrics)
        log(f"VAE done: validation MPJPE {vae_metrics['val_mpjpe_cm']:.2f} cm")
    resume_state = state.get("train_state") if state else None
    generator = denoiser_stage(args, folder, vae, run, device, log, resume_state, info)
    test, _ = load_clips(folder, "test")
    mean, std = (torch.tensor(x, device=device) for x in (folder.mean, folder.std))
    mpjpe = 100 * reconstruction_mpjpe(generator.vae, test, mean, std, device)
    log(f"done: VAE test MPJPE {mpjpe:.2f} cm; best checkpoint {run.best}")


def prepare_run_folder(run: ck.RunPaths, args: argparse.Namespace) -> None:
    if run.root.exists() and not (args.resume or args.overwrite):
        raise ValueError(
            f"{run.root} already exists: pass --resume to continue it or --overwrite to replace it"
        )
    if args.overwrite and not args.resume and run.root.exists():
        shutil.rmtree(run.root)
    run.model_dir.mkdir(parents=True, exist_ok=True)


# --- evaluator --------------------------------------------------------------------------------


def train_evaluator_stage(args: argparse.Namespace, device: torch.device) -> None:
    run = ck.run_paths(args.checkpoints_dir, ck.EVALUATOR_NAME)
    prepare_run_folder(run, args)
    log = RunLog(run.logs_dir / "train.log")
    folder = open_folder(args.data_root)
    train, captions = load_clips(folder, "train", args.max_clips)
    encoder = shared_text_encoder(device)
    data = CaptionedClips(train, captions, encoder.sentence_embeddings)
    cfg = EvaluatorTrainConfig(steps=args.evaluator_steps, seed=args.seed)
    began = time.monotonic()
    with StepProgress("evaluator", cfg.steps) as bar:
        bundle = train_evaluator(
            data,
            folder.mean,
            folder.std,
            EvaluatorConfig(),
            cfg,
            device,
            on_step=lambda s: bar.update(s.step, f"loss {s.loss:.4f}"),
        )
    minutes = (time.monotonic() - began) / 60
    bundle.info = {
        "steps": cfg.steps,
        "minutes": minutes,
        "data_root": str(args.data_root),
        "seed": args.seed,
        "config": asdict(cfg),
    }
    ck.save_checkpoint(bundle.to_payload(), run.model_dir / EVALUATOR_FILE)
    log(f"evaluator trained in {minutes:.1f} min")
    build_reference(run, folder, bundle, log)


def build_reference(
    run: ck.RunPaths, folder: MotionFolder, bundle: EvaluatorBundle, log: RunLog
) -> None:
    """The test split's reference set, beside model/ (where esd.evaluate looks for it)."""
    reference = ReferenceSet.build(folder, bundle, split="test")
    reference.save(run.root / REFERENCE_FILE)
    log(f"reference set of {len(reference)} test clips saved to {run.root / REFERENCE_FILE}")


def reference_stage(args: argparse.Namespace) -> None:
    run = ck.run_paths(args.checkpoints_dir, ck.EVALUATOR_NAME)
    path = run.model_dir / EVALUATOR_FILE
    if not path.is_file():
        raise ValueError(f"no trained evaluator at {path}; run `python -m esd.pretrain evaluator`")
    bundle = EvaluatorBundle.from_payload(ck.load_checkpoint(path, kind="evaluator"))
    build_reference(run, open_folder(args.data_root), bundle, RunLog(run.logs_dir / "train.log"))


# --- bundling ---------------------------------------------------------------------------------


def bundle_assets(args: argparse.Namespace) -> None:
    """Copy the trained base model (weights in fp16) and the evaluator into assets/."""
    run = ck.run_paths(args.checkpoints_dir, args.name)
    payload = ck.load_checkpoint(run.best, kind="base")
    generator = MotionGenerator.from_payload(payload, torch.device("cpu"), shared_text_encoder())
    target = ck.RunPaths(ck.ASSETS_DIR / args.name)
    ck.save_checkpoint(generator.to_payload(half=True), target.best)
    shutil.copyfile(run.opt_file, target.opt_file)
    evaluator = ck.run_paths(args.checkpoints_dir, ck.EVALUATOR_NAME)
    destination = ck.RunPaths(ck.ASSETS_DIR / ck.EVALUATOR_NAME)
    destination.model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(evaluator.model_dir / EVALUATOR_FILE, destination.model_dir / EVALUATOR_FILE)
    shutil.copyfile(evaluator.root / REFERENCE_FILE, destination.root / REFERENCE_FILE)
    CONSOLE.print(f"bundled {target.best} and {destination.root}")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    plain_warnings()
    try:
        check_args(args)
        device = pick_device(args.device)
        if args.threads:
            torch.set_num_threads(args.threads)
        seed_everything(args.seed)
        if args.stage in ("evaluator", "all"):
            train_evaluator_stage(args, device)
        if args.stage in ("base", "all"):
            train_base(args, device)
        if args.stage == "reference":
            reference_stage(args)
        if args.stage == "bundle":
            bundle_assets(args)
    except (ValueError, DatasetError, ck.CheckpointError, FileNotFoundError) as err:
        fail(str(err))
    except KeyboardInterrupt:
        CONSOLE.print("interrupted: model/latest.tar keeps the last saved step (use --resume)")
        sys.exit(130)


if __name__ == "__main__":
    main()
