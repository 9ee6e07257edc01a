"""Tiny, randomly initialised models for fast tests of the pipeline (not of model quality)."""

from __future__ import annotations

import torch

from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser
from esd.models.bundled.vae import MotionVAE, VAEConfig
from esd.models.diffusion import NoiseSchedule
from esd.models.generator import MotionGenerator
from esd.models.text.minilm import TextEncoder
from esd.motion.skeleton import FEATURE_DIM

TINY_VAE = VAEConfig(hidden_dim=16, latent_dim=4, num_res_blocks=1)
TINY_DENOISER = DenoiserConfig(latent_dim=4, model_dim=32, num_layers=2, num_heads=2, freq_dim=32)
PRETRAINING_INFO = {"epoch": 3, "total_iter": 6000, "metrics": {"fid": 0.15}, "created": "2026"}


def tiny_generator(text_encoder: TextEncoder, seed: int = 0) -> MotionGenerator:
    """A MotionGenerator with tiny random VAE and denoiser (output layers made non-zero)."""
    torch.manual_seed(seed)
    denoiser = LatentDenoiser(TINY_DENOISER)
    with torch.no_grad():  # DiT init zeroes the output path; perturb it so outputs depend on input
        for name, param in denoiser.named_parameters():
            if "modulation" in name or "out_proj" in name:
                param.normal_(0, 0.05)
    stats = {
        "feature_mean": torch.zeros(FEATURE_DIM),
        "feature_std": torch.ones(FEATURE_DIM),
        "latent_mean": torch.zeros(TINY_VAE.latent_dim),
        "latent_std": torch.ones(TINY_VAE.latent_dim),
    }
    return MotionGenerator(
        MotionVAE(TINY_VAE), denoiser, NoiseSchedule(), stats, text_encoder, torch.device("cpu")
    )


def write_tiny_base(
    checkpoints_dir, text_encoder: TextEncoder, name: str | None = None, seed: int = 0
) -> MotionGenerator:
    """Save a tiny random base model as ``checkpoints_dir/t2m/NAME/model/net_best_fid.tar``
    (NAME: the bundled default's name) and return its generator."""
    from esd.models import checkpoints as ck

    generator = tiny_generator(text_encoder, seed)
    generator.info.update(PRETRAINING_INFO)  # what a pretrained base carries
    paths = ck.run_paths(checkpoints_dir, name or ck.BASE_MODEL_NAME)
    ck.save_checkpoint(generator.to_payload(), paths.best)
    return generator
