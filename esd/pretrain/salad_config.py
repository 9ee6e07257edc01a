"""What the ``salad`` pretraining stage trains: a reduced SALAD-family model and its settings.

``SaladSizes`` is the architecture (SALAD's option keys, smaller values than the released
``t2m_denoiser_vpred_vaegelu``); ``SALAD_PRESETS`` names the sizes ``python -m esd.pretrain salad
--config`` offers. ``SaladTrainConfig`` holds the optimisation settings of both networks.

Normalisation (SALAD_COMPAT §1): SALAD trains on motions normalised with the T2M evaluator's
``meta`` statistics, which are HumanML3D's Mean / Std with the std of the 4 root dims and the 4
foot-contact dims divided by ``FEAT_BIAS`` (``meta_statistics``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from esd.motion.skeleton import FEATURE_DIM, FOOT_CONTACT

FEAT_BIAS = 5.0  # T2M's feat_bias: meta std of the root and contact dims = Std / 5
ROOT_DIMS = slice(0, 4)  # root rotation velocity, linear velocity (x, z), height


@dataclass(frozen=True)
class SaladSizes:
    """Architecture of a SALAD-family model (the real one: 32 / 1, 256 / 8 / 5 / 1024)."""

    vae_latent_dim: int  # C: channels per joint, group and latent part (VAE ``latent_dim``)
    vae_extra_layers: int  # ResSTConv blocks per level beyond the first (``n_extra_layers``)
    model_dim: int  # D: denoiser width (denoiser ``latent_dim``)
    num_heads: int  # attention heads (``n_heads``; divides model_dim)
    num_layers: int  # skip-transformer layers (``n_layers``; odd)
    ff_dim: int  # FFN hidden width (``ff_dim``)
    dropout: float = 0.1  # dropout of both networks (SALAD's default)
    text_dim: int | None = None  # CLIP token-state width; None: read from the CLIP folder

    def with_text_dim(self, width: int) -> SaladSizes:
        """These sizes for a CLIP of ``width``-d states; ValueError when ``text_dim`` differs."""
        if self.text_dim is not None and self.text_dim != width:
            raise ValueError(
                f"the config's text width {self.text_dim} does not match the CLIP's {width}-d "
                f"token states: give a CLIP with {self.text_dim}-d states (--clip_path) or drop "
                "--text_dim"
            )
        return replace(self, text_dim=width)


SALAD_PRESETS = {
    # half the real widths, 3 layers; on the 2-core CPU (1 thread, benchmarks/
    # bench_salad_pretrain.py) the VAE did 4.1 steps/s (32 windows), the denoiser 2.0 (16 clips)
    "small": SaladSizes(vae_latent_dim=16, vae_extra_layers=1, model_dim=128, num_heads=4,
                        num_layers=3, ff_dim=512),
    # for tests: seconds per hundred steps
    "tiny": SaladSizes(vae_latent_dim=8, vae_extra_layers=0, model_dim=32, num_heads=2,
                       num_layers=1, ff_dim=64),
}  # fmt: skip
DEFAULT_PRESET = "small"


@dataclass(frozen=True)
class SaladTrainConfig:
    """Optimisation settings of the VAE and the denoiser of the ``salad`` stage."""

    vae_steps: int = 1000  # VAE optimizer steps
    denoiser_steps: int = 2000  # denoiser optimizer steps
    vae_batch_size: int = 64  # windows per VAE step
    batch_size: int = 64  # clips per denoiser step
    window: int = 64  # VAE training window in frames (SALAD's window_size; a multiple of 4)
    # VAE AdamW peak lr: SALAD's 2e-4 is for ~50 epochs at batch 256; in 300 steps of 32 windows
    # (600 corpus clips, "small") 1e-3 reached 29 cm val MPJPE where 2e-4 reached 49 cm
    vae_lr: float = 1e-3
    lr: float = 5e-4  # denoiser AdamW peak learning rate (SALAD's denoiser lr)
    warmup_share: float = 0.05  # share of each stage's steps spent warming the lr up linearly
    vae_weight_decay: float = 0.0  # SALAD's VAE weight_decay
    weight_decay: float = 1e-6  # SALAD's denoiser weight_decay
    lambda_recon: float = 1.0  # weight of the feature reconstruction term (SALAD's VAE opt.txt)
    lambda_pos: float = 0.5  # weight of the joint-position (ric) term
    lambda_vel: float = 0.5  # weight of the local-velocity term
    lambda_kl: float = 0.02  # weight of the KL term (keeps the unnormalised latents near N(0, I))
    cond_drop: float = 0.1  # probability of training on the "" prompt (for CFG)
    length_buckets: int = 8  # denoiser batches come from one of these length-sorted groups
    grad_clip: float = 1.0  # gradient-norm clip of both networks
    seed: int = 0  # seeds windows, batches, timesteps, noise and dropout

    def __post_init__(self) -> None:
        for name in ("vae_steps", "denoiser_steps", "vae_batch_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if self.window < 4 or self.window % 4:
            raise ValueError(f"the VAE window must be a positive multiple of 4, got {self.window}")


def meta_statistics(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The T2M evaluator's ``meta`` (mean, std) (263,) from a folder's Mean / Std:

    meta_mean = Mean,  meta_std[d] = Std[d] / FEAT_BIAS for d in root (0-3) and contacts
    (259-262), Std[d] otherwise.
    """
    mean, std = np.asarray(mean, np.float32), np.array(std, np.float32)
    if mean.shape != (FEATURE_DIM,) or std.shape != (FEATURE_DIM,):
        raise ValueError(f"Mean / Std must be ({FEATURE_DIM},), got {mean.shape}, {std.shape}")
    std[ROOT_DIMS] /= FEAT_BIAS
    std[FOOT_CONTACT] /= FEAT_BIAS
    return mean.copy(), std
