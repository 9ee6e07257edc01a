"""The ``data`` x_t source of ESD: VAE latents of the dataset clips that show the concept.

A clip belongs to the concept when one of its captions contains one of the concept's keywords
(the same stems the evaluation's forget set uses, ``esd.reference.target_keywords``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from esd.data import MotionFolder
from esd.generator import MotionGenerator
from esd.reference import caption_stems, target_keywords
from esd.train_denoiser import encode_latents


def concept_latents(
    base: MotionGenerator, data_root: Path, concepts: tuple[str, ...]
) -> list[torch.Tensor]:
    """Normalised VAE latents of the training clips whose captions name the concept."""
    folder = MotionFolder(data_root)
    keywords = {k for c in concepts for k in target_keywords(c)}
    records = [
        r
        for r in folder.load_split("train")
        if any(keywords & caption_stems(caption) for caption in r.captions)
    ]
    mean = base.stats["feature_mean"].cpu().numpy()
    std = base.stats["feature_std"].cpu().numpy()
    clips = [((np.asarray(r.features) - mean) / std).astype(np.float32) for r in records]
    latents = encode_latents(base.vae, clips, base.device)
    lat_mean, lat_std = base.stats["latent_mean"].cpu(), base.stats["latent_std"].cpu()
    return [(z - lat_mean) / lat_std for z in latents]
