"""SALAD's folders: read a model (denoiser + the VAE its ``vae_name`` names + the evaluator's
normalisation statistics) and write an unlearned denoiser back in SALAD's own format.

    {checkpoints_dir}/t2m/{name}/opt.txt, model/net_best_fid.tar   {'denoiser': sd, 'epoch'}
    {checkpoints_dir}/t2m/{vae_name}/opt.txt, model/net_best_fid.tar   {'vae': sd, 'epoch'}
    {checkpoints_dir}/t2m/Comp_v6_KLD005/meta/{mean,std}.npy        feature normalisation

The normalisation is the T2M evaluator's ``meta`` statistics (their root and foot-contact std are
HumanML3D's divided by 5), never HumanML3D's ``Std.npy``: that gives wrong motions silently.
Files are loaded with ``weights_only=True``; the VAE strictly, the denoiser strictly up to
``clip_model.*`` keys (SALAD saves none); sizes come from ``opt.txt`` and are checked against
the tensors' shapes, with one line naming the mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from esd.common.files import atomic_save
from esd.models import checkpoints as ck
from esd.models.diffusion.schedule import NoiseSchedule
from esd.models.salad.denoiser import SaladDenoiser, SaladDenoiserConfig
from esd.models.salad.options import read_salad_opt, vae_dir, write_salad_opt
from esd.models.salad.vae import SaladVAE, SaladVAEConfig

MODEL_FILE = "net_best_fid.tar"  # what SALAD's loaders read
META_FOLDER = "Comp_v6_KLD005"  # the T2M evaluator's folder holding meta/{mean,std}.npy
CLIP_PREFIX = "clip_model."  # keys of the frozen CLIP inside SALAD's module (never saved)
SPACING = "leading"  # diffusers' default timestep spacing, SALAD's
ARCHITECTURE_KEYS = frozenset({  # options a writer may not change: SALAD builds the model from them
    "latent_dim", "n_heads", "n_layers", "ff_dim", "dropout", "vae_name", "dataset_name",
    "prediction_type", "beta_schedule", "beta_start", "beta_end", "num_train_timesteps",
    "clip_version",
})  # fmt: skip


@dataclass
class SaladModel:
    """The parts of a SALAD model, ready for ``MotionGenerator``."""

    vae: SaladVAE
    denoiser: SaladDenoiser
    schedule: NoiseSchedule
    stats: dict[str, torch.Tensor]  # feature_mean/std (263,), latent_mean/std (224,) = 0 / 1
    options: dict[str, Any]  # the denoiser's opt.txt (typed)
    epoch: int | None  # the checkpoint's epoch


def vae_config(options: Mapping[str, Any]) -> SaladVAEConfig:
    """The VAE's config from its opt.txt (SALAD's option defaults where a key is absent)."""
    d = SaladVAEConfig()
    return SaladVAEConfig(
        latent_dim=int(options.get("latent_dim", d.latent_dim)),
        kernel_size=int(options.get("kernel_size", d.kernel_size)),
        n_layers=int(options.get("n_layers", d.n_layers)),
        n_extra_layers=int(options.get("n_extra_layers", d.n_extra_layers)),
        activation=str(options.get("activation", d.activation)),
        norm=str(options.get("norm", d.norm)),
        dropout=float(options.get("dropout", d.dropout)),
    )


def denoiser_config(
    options: Mapping[str, Any], vae: SaladVAEConfig, text_dim: int | None = None
) -> SaladDenoiserConfig:
    """The denoiser's config from its opt.txt and its VAE's latent width; ``text_dim``: the
    width of the text states (opt.txt has no key for it: ``word_emb.weight``'s columns)."""
    d = SaladDenoiserConfig()
    return SaladDenoiserConfig(
        text_dim=text_dim or d.text_dim,
        model_dim=int(options.get("latent_dim", d.model_dim)),
        num_heads=int(options.get("n_heads", d.num_heads)),
        num_layers=int(options.get("n_layers", d.num_layers)),
        ff_dim=int(options.get("ff_dim", d.ff_dim)),
        dropout=float(options.get("dropout", d.dropout)),
        latent_dim=vae.latent_dim,
    )


def salad_schedule(options: Mapping[str, Any]) -> NoiseSchedule:
    """diffusers' DDIMScheduler as SALAD configures it (v-prediction only)."""
    prediction = options.get("prediction_type", "v_prediction")
    if prediction != "v_prediction":
        raise ck.CheckpointError(
            f"prediction_type {prediction!r}: this project samples v-prediction models only"
        )
    return NoiseSchedule(
        num_steps=int(options.get("num_train_timesteps", 1000)),
        kind=str(options.get("beta_schedule", "scaled_linear")),
        beta_start=float(options.get("beta_start", 0.00085)),
        beta_end=float(options.get("beta_end", 0.012)),
        spacing=SPACING,
    )


def meta_stats(checkpoints_dir: Path, options: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """feature_mean, feature_std (263,) from the evaluator's ``meta`` folder."""
    folder = Path(str(options.get("dataset_opt_path", META_FOLDER))).parent.name or META_FOLDER
    meta = checkpoints_dir / str(options.get("dataset_name", "t2m")) / folder / "meta"
    files = [meta / "mean.npy", meta / "std.npy"]
    if not all(f.is_file() for f in files):
        raise ck.CheckpointError(
            f"SALAD normalises motions with the T2M evaluator's statistics and {meta} has no "
            "mean.npy / std.npy: copy SALAD's checkpoints/t2m/Comp_v6_KLD005 there (HumanML3D's "
            "Mean.npy / Std.npy are different statistics)"
        )
    mean, std = (torch.from_numpy(np.load(f, allow_pickle=False)).float() for f in files)
    return {"feature_mean": mean, "feature_std": std}


def text_width(state: Mapping[str, torch.Tensor]) -> int | None:
    """The text-state width a denoiser state dict expects (``word_emb.weight`` (D, width))."""
    weight = state.get("word_emb.weight")
    return int(weight.shape[1]) if isinstance(weight, torch.Tensor) and weight.dim() == 2 else None


def read_state(path: Path, key: str) -> tuple[dict[str, torch.Tensor], int | None]:
    """``data[key]`` and ``data['epoch']`` of a SALAD ``.tar`` (weights_only)."""
    data = ck.load_raw(path)
    if not isinstance(data, dict) or not isinstance(data.get(key), dict) or "format" in data:
        raise ck.CheckpointError(f"{path} is not a SALAD checkpoint: it has no {key!r} dict")
    epoch = data.get("epoch")
    return data[key], epoch if isinstance(epoch, int) else None


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], source: Path) -> None:
    """Load ``state`` into ``module``: the same keys (``clip_model.*`` ignored), equal shapes."""
    state = {k: v for k, v in state.items() if not k.startswith(CLIP_PREFIX)}
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(state[k].shape)} (opt.txt gives {tuple(own[k].shape)})"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        raise ck.CheckpointError(
            f"{source} does not fit the {type(module).__name__} its opt.txt describes: "
            f"missing {missing[:3]}, unexpected {unexpected[:3]}, shapes {wrong[:2]}"
        )
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


def load_salad_model(root: Path, file: Path | None = None) -> SaladModel:
    """The SALAD model of folder ``root`` (``{checkpoints_dir}/t2m/{name}``); ``file``: its
    denoiser checkpoint (default ``model/net_best_fid.tar``)."""
    checkpoints_dir = root.parent.parent
    options = read_salad_opt(root / "opt.txt")
    vae_root = vae_dir(options, checkpoints_dir)
    vae_options = read_salad_opt(vae_root / "opt.txt")
    vae = SaladVAE(vae_config(vae_options))
    vae_file = vae_root / "model" / MODEL_FILE
    load_strict(vae, read_state(vae_file, "vae")[0], vae_file)
    file = file or root / "model" / MODEL_FILE
    state, epoch = read_state(file, "denoiser")
    denoiser = SaladDenoiser(denoiser_config(options, vae.cfg, text_width(state)))
    load_strict(denoiser, state, file)
    channels = denoiser.cfg.channels
    stats = {
        **meta_stats(checkpoints_dir, options),
        "latent_mean": torch.zeros(channels),  # SALAD's latents are not normalised
        "latent_std": torch.ones(channels),
    }
    return SaladModel(vae, denoiser, salad_schedule(options), stats, options, epoch)


def renamed_options(options: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``options`` of a model renamed ``name``: ``name`` and the paths that embed the old one."""
    old = str(options.get("name", ""))
    renamed = {}
    for key, value in options.items():
        if old and isinstance(value, str) and key != "vae_name" and f"/{old}" in value:
            value = value.replace(f"/{old}", f"/{name}")
        renamed[key] = value
    renamed["name"] = name
    return renamed


def write_salad_model(
    root: Path,
    denoiser: SaladDenoiser,
    base_options: Mapping[str, Any],
    epoch: int,
    extra_options: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``denoiser`` as a SALAD model in folder ``root`` so that SALAD's loaders read it:
    ``model/net_best_fid.tar`` = ``{'denoiser': state_dict (no clip), 'epoch': int}`` and an
    ``opt.txt`` in SALAD's format (the base's options renamed to the folder's name, plus
    ``extra_options``, which may not change the architecture keys). Returns the .tar path."""
    extra = dict(extra_options or {})
    changed = sorted(k for k in extra if k in ARCHITECTURE_KEYS and extra[k] != base_options.get(k))
    if changed:
        raise ValueError(f"extra options may not change the model's architecture keys: {changed}")
    state = {k: v.detach().cpu().float().clone() for k, v in denoiser.state_dict().items()}
    path = root / "model" / MODEL_FILE
    data = {"denoiser": state, "epoch": int(epoch)}
    atomic_save(path, lambda handle: torch.save(data, handle))
    write_salad_opt(root / "opt.txt", {**renamed_options(base_options, root.name), **extra})
    return path
