"""A reduced SALAD-family model trained on a HumanML3D-layout folder, written in SALAD's own layout:

    {checkpoints_dir}/t2m/{name}/opt.txt, model/net_best_fid.tar   {'denoiser': sd, 'epoch'}
                               logs/train.log
    {checkpoints_dir}/t2m/{name}_vae/opt.txt, model/net_best_fid.tar   {'vae': sd, 'epoch'}
    {checkpoints_dir}/t2m/{name}_meta/opt.txt, meta/{mean,std}.npy     the meta statistics

The denoiser's ``opt.txt`` names its VAE (``vae_name``) and its statistics
(``dataset_opt_path`` = ``{name}_meta/opt.txt``: the folder beside it holds ``meta/``, where
``Comp_v6_KLD005`` holds the T2M evaluator's). The model's own meta folder leaves a user's real
``Comp_v6_KLD005`` (the evaluator's HumanML3D statistics) untouched. ``esd.models.salad.folder``
then loads the model like one of SALAD's releases (strictly, weights_only), so ``esd.generate``,
``esd.train`` and the workbench read it as a SALAD model. Every file is written atomically.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from esd.common.files import atomic_save
from esd.models import checkpoints as ck
from esd.models.salad.denoiser import SaladDenoiser
from esd.models.salad.folder import MODEL_FILE, salad_schedule, write_salad_model
from esd.models.salad.options import write_salad_opt
from esd.models.salad.vae import SaladVAE
from esd.models.text.clip import ClipTextEncoder
from esd.motion.humanml3d import DatasetError, MotionFolder
from esd.pretrain.denoiser import TextBank
from esd.pretrain.salad_config import FEAT_BIAS, SaladSizes, SaladTrainConfig, meta_statistics
from esd.pretrain.salad_denoiser import denoiser_config, posterior_batcher, train_salad_denoiser
from esd.pretrain.salad_vae import (
    posterior_stats,
    salad_reconstruction_mpjpe,
    train_salad_vae,
    vae_config,
)
from esd.pretrain.settings import Log, Progress, no_log, no_progress

DATASET = ck.DATASET_NAME  # "t2m": SALAD's dataset_name for HumanML3D
VAE_SUFFIX = "_vae"  # the VAE's folder: {name}_vae (the denoiser's vae_name)
META_SUFFIX = "_meta"  # the statistics' folder: {name}_meta/meta/{mean,std}.npy
SCHEDULE_OPTIONS = {  # SALAD's diffusion settings (SALAD_COMPAT 2.4), written into opt.txt
    "prediction_type": "v_prediction", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
    "beta_end": 0.012, "num_train_timesteps": 1000, "num_inference_timesteps": 50,
    "cond_scale": 7.5, "classifier_free_guidance": True, "clip_version": "ViT-B/32",
}  # fmt: skip
CM_PER_M = 100


@dataclass(frozen=True)
class SaladFolders:
    """The three folders one ``salad`` run writes (see the module doc)."""

    checkpoints_dir: Path
    name: str

    @property
    def model(self) -> Path:
        return self.checkpoints_dir / DATASET / self.name

    @property
    def vae(self) -> Path:
        return self.checkpoints_dir / DATASET / f"{self.name}{VAE_SUFFIX}"

    @property
    def meta(self) -> Path:
        return self.checkpoints_dir / DATASET / f"{self.name}{META_SUFFIX}"

    def prepare(self, overwrite: bool) -> None:
        """Refuse existing folders unless ``overwrite`` (then delete them); ValueError."""
        existing = [p for p in (self.model, self.vae, self.meta) if p.exists()]
        if existing and not overwrite:
            raise ValueError(
                f"{existing[0]} already exists: pass --overwrite to replace it (or another --name)"
            )
        for path in existing:
            shutil.rmtree(path)


@dataclass
class SaladResult:
    """What a ``salad`` run produced."""

    folders: SaladFolders
    sizes: SaladSizes  # with the CLIP's text width
    metrics: dict[str, Any] = field(default_factory=dict)  # MPJPE (cm) and its split, minutes
    vae_losses: list[float] = field(default_factory=list)  # per step
    denoiser_losses: list[float] = field(default_factory=list)  # per step


def normalised_split(
    folder: MotionFolder, split: str, meta: tuple[np.ndarray, np.ndarray], limit: int | None = None
) -> tuple[list[np.ndarray], list[tuple[str, ...]]]:
    """Clips (T_i, 263) of a split normalised with the meta statistics, and their captions."""
    mean, std = meta
    records = folder.load_split(split, limit=limit)
    return [((r.features - mean) / std).astype(np.float32) for r in records], [
        r.captions for r in records
    ]


def train_salad(
    folders: SaladFolders,
    folder: MotionFolder,
    sizes: SaladSizes,
    cfg: SaladTrainConfig,
    encoder: ClipTextEncoder,
    device: torch.device,
    max_clips: int | None = None,
    log: Log = no_log,
    progress: Progress = no_progress,
    stop: threading.Event | None = None,
) -> SaladResult:
    """Train the VAE, then the denoiser, and write both in SALAD's layout (``folders``, which
    ``prepare`` made ready); returns the result with the per-step losses. ``stop`` ends the
    running loop early (the model is written with the steps done)."""
    sizes = check_sizes(sizes.with_text_dim(encoder.dim))
    meta = meta_statistics(folder.mean, folder.std)
    train, captions = normalised_split(folder, "train", meta, max_clips)
    try:
        held_out, split = normalised_split(folder, "val", meta)[0], "val"
    except DatasetError:  # a folder without validation clips: measure on the training clips
        held_out, split = train, "train"
    log(f"salad: {len(train)} train clips, MPJPE on {len(held_out)} {split} clips; sizes "
        f"{asdict(sizes)}")  # fmt: skip
    result = SaladResult(folders, sizes, {"mpjpe_split": split})
    vae = _vae_stage(train, held_out, meta, sizes, cfg, device, result, log, progress, stop)
    _write_vae(folders, vae, cfg, folder, epochs(cfg.vae_steps, cfg.vae_batch_size, len(train)))
    denoiser = _denoiser_stage(
        vae, train, captions, encoder, sizes, cfg, device, result, progress, stop
    )
    _write_meta(folders, folder, meta)
    train_ids = len(folder.split_ids("train")[:max_clips])  # train.txt ids (sub-clips not counted)
    options = denoiser_options(folders, folder, sizes, cfg, encoder, train_ids)
    write_salad_model(
        folders.model, denoiser, options, epochs(cfg.denoiser_steps, cfg.batch_size, len(train))
    )
    log(f"done: {folders.model} (VAE {folders.vae.name}, statistics {folders.meta.name})")
    return result


def check_sizes(sizes: SaladSizes) -> SaladSizes:
    """``sizes`` if both networks can be built from them, else ValueError (before training)."""
    denoiser_config(sizes, vae_config(sizes).latent_dim)
    return sizes


def epochs(steps: int, batch_size: int, clips: int) -> int:
    """Whole passes over ``clips`` made by ``steps`` batches (SALAD counts epochs)."""
    return steps * batch_size // max(1, clips)


def _vae_stage(
    train: list[np.ndarray], val: list[np.ndarray], meta: tuple[np.ndarray, np.ndarray],
    sizes: SaladSizes, cfg: SaladTrainConfig, device: torch.device, result: SaladResult,
    log: Log, progress: Progress, stop: threading.Event | None,
) -> SaladVAE:  # fmt: skip
    began = time.monotonic()

    def report(step) -> None:
        result.vae_losses.append(step.loss)
        progress("VAE", step.step, step.total, f"loss {step.loss:.4f}")

    vae = train_salad_vae(train, sizes, cfg, device, report, stop)
    mpjpe = CM_PER_M * salad_reconstruction_mpjpe(vae, val, *meta, device)
    result.metrics.update(mpjpe_cm=mpjpe, vae_minutes=(time.monotonic() - began) / 60)
    last = result.vae_losses[-1] if result.vae_losses else float("nan")
    log(f"VAE done: {len(result.vae_losses)} steps, last loss {last:.4f}, "
        f"reconstruction MPJPE {mpjpe:.2f} cm ({result.metrics['mpjpe_split']} clips)")  # fmt: skip
    return vae


def _denoiser_stage(
    vae: SaladVAE, train: list[np.ndarray], captions: list[tuple[str, ...]],
    encoder: ClipTextEncoder, sizes: SaladSizes, cfg: SaladTrainConfig, device: torch.device,
    result: SaladResult, progress: Progress, stop: threading.Event | None,
) -> SaladDenoiser:  # fmt: skip
    began = time.monotonic()
    stats = posterior_stats(vae, train, device)  # (N_i, 2 P C) per clip
    bank = TextBank([c for caps in captions for c in caps], encoder)
    batcher = posterior_batcher(stats, captions, bank, cfg)
    schedule = salad_schedule(SCHEDULE_OPTIONS)
    model_cfg = denoiser_config(sizes, vae.cfg.latent_dim)

    def report(step) -> None:
        result.denoiser_losses.append(step.loss)
        progress("denoiser", step.step, step.total, f"loss {step.loss:.4f}")

    denoiser, _ = train_salad_denoiser(batcher, schedule, model_cfg, cfg, device, report, stop)
    result.metrics["denoiser_minutes"] = (time.monotonic() - began) / 60
    return denoiser


def _common_options(folders: SaladFolders, folder: MotionFolder, name: str) -> dict[str, Any]:
    """Options both opt.txt files carry (paths as SALAD writes them, dataset constants)."""
    root = folders.checkpoints_dir / DATASET / name
    return {
        "name": name, "dataset_name": DATASET, "checkpoints_dir": str(folders.checkpoints_dir),
        "data_root": str(folder.root), "model_dir": str(root / "model"), "save_root": str(root),
        "dataset_opt_path": str(folders.meta / "opt.txt"), "is_train": True,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"), "trained_by": "python -m esd.pretrain salad",
    }  # fmt: skip


def _write_vae(
    folders: SaladFolders, vae: SaladVAE, cfg: SaladTrainConfig, folder: MotionFolder, epoch: int
) -> None:
    """``{name}_vae/model/net_best_fid.tar`` = {'vae': state_dict, 'epoch'} and its opt.txt."""
    state = {k: v.detach().cpu().float().clone() for k, v in vae.state_dict().items()}
    data = {"vae": state, "epoch": int(epoch)}
    atomic_save(folders.vae / "model" / MODEL_FILE, lambda handle: torch.save(data, handle))
    write_salad_opt(folders.vae / "opt.txt", {
        **_common_options(folders, folder, folders.vae.name), **asdict(vae.cfg),
        "recon_loss": "l1_smooth", "lambda_recon": cfg.lambda_recon, "lambda_pos": cfg.lambda_pos,
        "lambda_vel": cfg.lambda_vel, "lambda_kl": cfg.lambda_kl, "window_size": cfg.window,
        "lr": cfg.vae_lr, "weight_decay": cfg.vae_weight_decay, "batch_size": cfg.vae_batch_size,
        "total_iter": cfg.vae_steps, "seed": cfg.seed,
    })  # fmt: skip


def _write_meta(
    folders: SaladFolders, folder: MotionFolder, meta: tuple[np.ndarray, np.ndarray]
) -> None:
    """``{name}_meta/meta/{mean,std}.npy`` (float32 (263,)) and an opt.txt saying what they are."""
    for stat, array in zip(("mean", "std"), meta, strict=True):
        path = folders.meta / "meta" / f"{stat}.npy"
        atomic_save(path, lambda handle, a=array: np.save(handle, a.astype(np.float32)))
    write_salad_opt(folders.meta / "opt.txt", {
        **_common_options(folders, folder, folders.meta.name),
        "meta_dir": str(folders.meta / "meta"), "feat_bias": FEAT_BIAS, "unit_length": 4,
    })  # fmt: skip


def denoiser_options(
    folders: SaladFolders, folder: MotionFolder, sizes: SaladSizes, cfg: SaladTrainConfig,
    encoder: ClipTextEncoder, train_clips: int,
) -> dict[str, Any]:  # fmt: skip
    """The denoiser's opt.txt: SALAD's architecture and diffusion keys, the run's settings."""
    return {
        **_common_options(folders, folder, folders.name), **SCHEDULE_OPTIONS,
        "vae_name": folders.vae.name, "latent_dim": sizes.model_dim, "n_heads": sizes.num_heads,
        "n_layers": sizes.num_layers, "ff_dim": sizes.ff_dim, "dropout": sizes.dropout,
        "activation": "gelu", "text_dim": sizes.text_dim, "clip_path": str(encoder.model_dir),
        "cond_drop_prob": cfg.cond_drop, "lr": cfg.lr, "weight_decay": cfg.weight_decay,
        "batch_size": cfg.batch_size, "total_iter": cfg.denoiser_steps, "seed": cfg.seed,
        "train_clips": train_clips,
    }  # fmt: skip
