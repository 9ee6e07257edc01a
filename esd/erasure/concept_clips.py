"""The ``data`` x_t source of ESD: VAE latents of the dataset clips that show the concept.

A clip belongs to the concept when one of its captions contains one of the concept's keywords
(the same stems the evaluation's forget set uses, ``esd.motion.keywords.target_keywords``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from esd.erasure.config import ESDConfig
from esd.models.generator import MotionGenerator
from esd.motion.humanml3d import MotionFolder
from esd.motion.keywords import caption_stems, target_keywords


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
    return base.encode_features([np.asarray(r.features) for r in records])


def source_latents(
    base: MotionGenerator, cfg: ESDConfig, data_root: Path
) -> list[torch.Tensor] | None:
    """The data source's latents when ``cfg.xt_source`` is ``data``; None (nothing read) else."""
    if cfg.xt_source != "data":
        return None
    return concept_latents(base, data_root, cfg.concepts)
