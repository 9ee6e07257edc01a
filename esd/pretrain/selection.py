"""Which denoiser checkpoint is kept: the validation FID under the evaluator, when one exists.

The criterion generates ``VALIDATION_CLIPS`` validation clips with ``VALIDATION_STEPS`` DDIM
steps (same seed every time, so values are comparable) and computes their Frechet distance to
the real validation clips in the evaluator's motion embedding. Without a trained evaluator there
is no criterion and the final EMA weights are the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from esd.evaluation.contrastive import EvaluatorBundle
from esd.evaluation.metrics import frechet_distance
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.bundled.vae import LATENT_REDUCTION
from esd.models.generator import MotionGenerator
from esd.motion.humanml3d import MotionFolder
from esd.motion.skeleton import MAX_FRAMES
from esd.pretrain.settings import EVALUATOR_FILE

VALIDATION_CLIPS = 128  # validation clips generated for the FID criterion
VALIDATION_STEPS = 10  # DDIM steps of the validation samples (a cheap, consistent criterion)

Validator = Callable[[LatentDenoiser], float]  # denoiser -> validation FID (lower is better)


def make_validator(
    generator: MotionGenerator,
    folder: MotionFolder,
    evaluator: EvaluatorBundle | None,
    seed: int,
) -> tuple[str, Validator | None]:
    """The denoiser's selection criterion: ("fid", fn) with an evaluator, else ("none", None)."""
    if evaluator is None:
        return "none", None
    records = folder.load_split("val", limit=VALIDATION_CLIPS)
    lengths = [
        min(len(r.features) // LATENT_REDUCTION * LATENT_REDUCTION, MAX_FRAMES) for r in records
    ]
    prompts = [r.captions[0] for r in records]
    real = torch.zeros(len(records), max(lengths), records[0].features.shape[1])  # (B, T, 263)
    for row, (r, n) in enumerate(zip(records, lengths)):
        real[row, :n] = torch.from_numpy(np.array(r.features[:n]))  # a writable copy
    real_emb = evaluator.embed_motion(real, torch.tensor(lengths)).numpy()

    def fid_of(denoiser: LatentDenoiser) -> float:
        candidate = generator.with_denoiser(denoiser)
        out = candidate.generate(prompts, lengths, seed=seed, num_steps=VALIDATION_STEPS)
        emb = evaluator.embed_motion(torch.from_numpy(out.features), torch.tensor(lengths))
        denoiser.eval()
        return frechet_distance(emb.numpy(), real_emb)

    return "fid", fid_of


def load_evaluator_if_any(checkpoints_dir: Path) -> EvaluatorBundle | None:
    """The trained evaluator of ``checkpoints_dir``, else the bundled one, else None."""
    for root in (
        ck.run_paths(checkpoints_dir, ck.EVALUATOR_NAME).root,
        ck.ASSETS_DIR / ck.EVALUATOR_NAME,
    ):
        path = root / "model" / EVALUATOR_FILE
        if path.is_file():
            return EvaluatorBundle.from_payload(ck.load_checkpoint(path, kind="evaluator"))
    return None
