"""The base model's training: the VAE, then the latent denoiser, into a run folder.

With ``settings.finetune_from`` the VAE stage is skipped: the named base model's VAE, statistics
and denoiser weights are the starting point, and the denoiser trains on (fresh optimizer).

Writes ``model/latest.tar`` (the VAE, the denoiser's EMA weights and its training state, so a
run resumes: a finished VAE stage is kept and the denoiser continues from its last saved step)
and ``model/net_best_fid.tar`` (the EMA weights with the best validation FID, see
``esd.pretrain.selection``, or the final EMA weights when there is no evaluator).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser, count_parameters
from esd.models.bundled.vae import MotionVAE, VAEConfig, encode_latents
from esd.models.diffusion import NoiseSchedule
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.motion.humanml3d import MotionFolder
from esd.pretrain.decoded_gait import DecodedGaitTerm
from esd.pretrain.denoiser import (
    DenoiserTrainConfig,
    LatentBatcher,
    TextBank,
    latent_statistics,
    train_denoiser,
)
from esd.pretrain.folders import load_clips
from esd.pretrain.selection import load_evaluator_if_any, make_validator
from esd.pretrain.settings import Log, PretrainSettings, Progress, no_log, no_progress
from esd.pretrain.vae import VAETrainConfig, reconstruction_mpjpe, train_vae

CM_PER_M = 100  # MPJPE is reported in centimetres


def train_base(
    run: ck.RunPaths,
    folder: MotionFolder,
    settings: PretrainSettings,
    device: torch.device,
    resume: bool = False,
    log: Log = no_log,
    progress: Progress = no_progress,
) -> MotionGenerator:
    """The VAE (or, resuming, the one in latest.tar), then the denoiser; returns the base model."""
    state = ck.load_checkpoint(run.latest, kind="base") if resume and run.latest.is_file() else None
    info: dict[str, Any] = {
        "metrics": {},
        "data_root": str(settings.data_root),
        "seed": settings.seed,
    }
    source = _finetune_source(settings, device, info, log)
    if source is not None and state is None:
        vae = source.vae.eval()
    else:
        vae = _saved_or_trained_vae(state, folder, settings, device, info, log, progress)
    resume_state = state.get("train_state") if state else None
    generator = denoiser_stage(
        folder, vae, run, settings, device, resume_state, info, log, progress, source
    )
    test, _ = load_clips(folder, "test")
    mean, std = (torch.tensor(x, device=device) for x in (folder.mean, folder.std))
    mpjpe = CM_PER_M * reconstruction_mpjpe(generator.vae, test, mean, std, device)
    log(f"done: VAE test MPJPE {mpjpe:.2f} cm; best checkpoint {run.best}")
    return generator


def _finetune_source(
    settings: PretrainSettings, device: torch.device, info: dict[str, Any], log: Log
) -> MotionGenerator | None:
    """The base model named by ``settings.finetune_from`` (its own checkpoint's family must be
    the bundled one), or None."""
    if settings.finetune_from is None:
        return None
    source = MotionGenerator.from_checkpoint(
        settings.finetune_from, None, settings.checkpoints_dir, device, shared_text_encoder(device)
    )
    if source.family.name != "bundled":
        raise ValueError(
            f"--finetune_from {settings.finetune_from}: only models of the bundled family can be "
            f"fine-tuned here (it is {source.family.name})"
        )
    info["finetuned_from"] = settings.finetune_from
    info["metrics"].update(
        {k: v for k, v in source.info.get("metrics", {}).items() if k.startswith("vae")}
    )
    log(f"fine-tuning the denoiser of {settings.finetune_from} (its VAE and statistics kept)")
    return source


def _saved_or_trained_vae(
    state: dict[str, Any] | None,
    folder: MotionFolder,
    settings: PretrainSettings,
    device: torch.device,
    info: dict[str, Any],
    log: Log,
    progress: Progress,
) -> MotionVAE:
    """The VAE of a resumed run's latest.tar, else a newly trained one (metrics into ``info``)."""
    if state is not None:
        vae = MotionVAE(VAEConfig(**state["vae_config"]))
        vae.load_state_dict(state["vae"])
        info["metrics"].update(state.get("metrics") or {})
        log("resuming: the VAE stage is done; continuing the denoiser")
        return vae.to(device).eval()
    vae, vae_metrics = vae_stage(folder, settings, device, log, progress)
    info["metrics"].update(vae_metrics)
    log(f"VAE done: validation MPJPE {vae_metrics['val_mpjpe_cm']:.2f} cm")
    return vae


def vae_stage(
    folder: MotionFolder,
    settings: PretrainSettings,
    device: torch.device,
    log: Log = no_log,
    progress: Progress = no_progress,
) -> tuple[MotionVAE, dict[str, Any]]:
    """Train the VAE on the train split (validated on val); returns it and its metrics."""
    train, _ = load_clips(folder, "train", settings.max_clips)
    val, _ = load_clips(folder, "val")
    log(f"VAE: {len(train)} train clips, {len(val)} validation clips")
    cfg = VAETrainConfig(
        steps=settings.vae_steps,
        seed=settings.seed,
        velocity_weight=settings.vae_velocity_weight,
        contact_weight=settings.vae_contact_weight,
        peak_weight=settings.vae_peak_weight,
    )
    vae_cfg = VAEConfig(latent_dim=settings.latent_dim)
    began = time.monotonic()

    def report(step) -> None:
        extra = f" val MPJPE {step.val_mpjpe_cm:.2f} cm" if step.val_mpjpe_cm else ""
        progress("VAE", step.step, cfg.steps, f"loss {step.loss:.4f}{extra}")
        if step.val_mpjpe_cm:
            log(f"VAE step {step.step}: loss {step.loss:.4f}{extra}")

    vae, metrics = train_vae(train, val, folder.mean, folder.std, vae_cfg, cfg, device, report)
    metrics["vae_minutes"] = (time.monotonic() - began) / 60
    return vae, metrics


def denoiser_stage(
    folder: MotionFolder,
    vae: MotionVAE,
    run: ck.RunPaths,
    settings: PretrainSettings,
    device: torch.device,
    resume_state: dict[str, Any] | None,
    info: dict[str, Any],
    log: Log = no_log,
    progress: Progress = no_progress,
    source: MotionGenerator | None = None,
) -> MotionGenerator:
    """Train the denoiser on the VAE's latents; latest.tar and the best checkpoint as it goes.

    ``source``: a trained base model whose statistics, schedule and denoiser weights start the
    training (a fine-tune; ``vae`` is its VAE)."""
    clips, captions = load_clips(folder, "train", settings.max_clips)
    if source is not None:
        clips = _renormalised(clips, folder, source.stats)
    latents, stats = _training_latents(clips, folder, vae, device, source)
    schedule = source.schedule if source is not None else NoiseSchedule()
    gait = _gait_term(vae, stats, clips, settings, schedule, log)
    del clips
    log(f"denoiser: {len(latents)} latent clips, encoding {len(captions)} caption sets")
    encoder = shared_text_encoder(device)
    bank = TextBank([c for caps in captions for c in caps], encoder)
    log(f"text bank: {len(bank.captions)} distinct captions")
    cfg = DenoiserTrainConfig(
        steps=settings.denoiser_steps,
        batch_size=settings.batch_size,
        seed=settings.seed,
        lr=settings.denoiser_lr,
    )
    model_cfg = source.denoiser.cfg if source is not None else DenoiserConfig(
        latent_dim=vae.cfg.latent_dim, model_dim=settings.model_dim, num_layers=settings.num_layers
    )  # fmt: skip
    generator = MotionGenerator(vae, LatentDenoiser(model_cfg), schedule, stats, encoder, device)
    evaluator = load_evaluator_if_any(settings.checkpoints_dir)
    criterion, validate = make_validator(generator, folder, evaluator, settings.seed)
    log(f"selection criterion: {criterion}; {count_parameters(generator.denoiser):,} parameters")
    began = time.monotonic()

    def report(step) -> None:
        progress("denoiser", step.step, cfg.steps, f"loss {step.loss:.4f}")
        if step.validation is not None:
            value = f"{criterion} {step.validation:.4f}"
            log(f"denoiser step {step.step}: loss {step.loss:.4f} {value}")

    ema = train_denoiser(
        LatentBatcher(latents, captions, bank, cfg),
        schedule,
        model_cfg,
        cfg,
        device,
        validate=validate,
        on_step=report,
        on_checkpoint=_checkpoint_writer(generator, run, info, criterion, log),
        resume=resume_state,
        extra_term=gait.for_batch if gait is not None else None,
        init_weights=source.denoiser.state_dict() if source is not None else None,
    )
    if not run.best.is_file():  # no criterion: the final EMA weights are the model
        generator.denoiser.load_state_dict(ema.state_dict())
        ck.save_checkpoint(generator.to_payload(), run.best)
    info.setdefault("metrics", {})["denoiser_minutes"] = (time.monotonic() - began) / 60
    return generator


def _training_latents(
    clips: list[np.ndarray],
    folder: MotionFolder,
    vae: MotionVAE,
    device: torch.device,
    source: MotionGenerator | None,
) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Normalised latents (N_i, C) of the normalised train clips and the model's statistics
    (the source model's when fine-tuning, else the folder's and the latents' own)."""
    latents = encode_latents(vae, clips, device)
    if source is not None:
        stats = {k: v.detach().cpu() for k, v in source.stats.items()}
    else:
        latent_mean, latent_std = latent_statistics(latents)
        stats = {
            "feature_mean": torch.tensor(folder.mean),
            "feature_std": torch.tensor(folder.std),
            "latent_mean": latent_mean,
            "latent_std": latent_std,
        }
    return [(z - stats["latent_mean"]) / stats["latent_std"] for z in latents], stats


def _renormalised(
    clips: list[np.ndarray], folder: MotionFolder, stats: dict[str, torch.Tensor]
) -> list[np.ndarray]:
    """Clips normalised with the folder's Mean/Std (T_i, 263), re-normalised with ``stats``'."""
    mean, std = (stats[k].detach().cpu().numpy() for k in ("feature_mean", "feature_std"))
    if np.allclose(mean, folder.mean) and np.allclose(std, folder.std):
        return clips
    return [(((c * folder.std + folder.mean) - mean) / std).astype(np.float32) for c in clips]


def _gait_term(
    vae: MotionVAE,
    stats: dict[str, torch.Tensor],
    clips: list[np.ndarray],
    settings: PretrainSettings,
    schedule: NoiseSchedule,
    log: Log,
) -> DecodedGaitTerm | None:
    """The decoded planted-foot and velocity terms when either weight is > 0, else None."""
    contact, velocity = settings.denoiser_contact_weight, settings.denoiser_velocity_weight
    if not (contact or velocity):
        return None
    log(f"denoiser: decoded gait terms, contact weight {contact:g}, velocity weight {velocity:g}")
    contacts = DecodedGaitTerm.raw_contacts(clips, stats)
    return DecodedGaitTerm(vae, stats, contacts, schedule, contact, velocity)


def _checkpoint_writer(
    generator: MotionGenerator,
    run: ck.RunPaths,
    info: dict[str, Any],
    criterion: str,
    log: Log,
) -> Callable[[dict[str, Any], bool], None]:
    """The denoiser loop's ``on_checkpoint``: latest.tar always, the best checkpoint when best."""

    def save(state: dict[str, Any], is_best: bool) -> None:
        generator.denoiser.load_state_dict(state["ema"])
        generator.info.update(info, total_iter=state["step"], created=time.strftime("%F %T"))
        generator.info["metrics"] = {**info.get("metrics", {}), "best_" + criterion: state["best"]}
        payload = generator.to_payload()
        ck.save_checkpoint({**payload, "stage": "denoiser", "train_state": state}, run.latest)
        if is_best:
            ck.save_checkpoint(payload, run.best)
            log(f"step {state['step']}: new best {criterion} {state['best']:.4f}")

    return save
