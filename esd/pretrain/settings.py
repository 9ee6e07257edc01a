"""What pretraining trains and where it writes: ``PretrainSettings``, file names, callback types.

``python -m esd.pretrain`` turns its flags into one ``PretrainSettings``; every stage reads the
fields it needs. Stages report through two callbacks (``Log`` lines for the run's log and
``Progress`` for a progress display); they never print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig
from esd.models.bundled.vae import VAEConfig
from esd.motion.humanml3d import CORPUS_ROOT
from esd.pretrain.denoiser import DenoiserTrainConfig
from esd.pretrain.evaluator import EvaluatorTrainConfig
from esd.pretrain.vae import VAETrainConfig

DEFAULT_DATA_ROOT = CORPUS_ROOT  # the corpus `python -m esd.corpus` writes by default
EVALUATOR_FILE = "evaluator.tar"  # the trained evaluator, in the evaluator run's model/
REFERENCE_FILE = "reference_test.npz"  # its reference set of the test split, beside model/

Log = Callable[[str], None]  # one line for the run's log
Progress = Callable[[str, int, int, str], None]  # (stage, steps done, steps planned, status)


@dataclass(frozen=True)
class PretrainSettings:
    """The settings of every pretraining stage (the flags of ``python -m esd.pretrain``)."""

    name: str = ck.BASE_MODEL_NAME  # base model folder name (checkpoints/t2m/NAME)
    data_root: Path = DEFAULT_DATA_ROOT  # HumanML3D-format folder to train on
    checkpoints_dir: Path = ck.DEFAULT_CHECKPOINTS_DIR  # where the runs are written
    seed: int = 0  # seeds every stage
    vae_steps: int = VAETrainConfig.steps  # optimizer steps of the VAE
    denoiser_steps: int = DenoiserTrainConfig.steps  # optimizer steps of the denoiser
    evaluator_steps: int = EvaluatorTrainConfig.steps  # optimizer steps of the evaluator
    batch_size: int = DenoiserTrainConfig.batch_size  # clips per denoiser step
    model_dim: int = DenoiserConfig.model_dim  # width of the denoiser
    num_layers: int = DenoiserConfig.num_layers  # transformer layers of the denoiser
    latent_dim: int = VAEConfig.latent_dim  # channels per latent token of the VAE
    vae_velocity_weight: float = VAETrainConfig.velocity_weight  # VAE joint-velocity term
    vae_contact_weight: float = VAETrainConfig.contact_weight  # VAE planted-foot sliding term
    vae_peak_weight: float = VAETrainConfig.peak_weight  # VAE worst-joint term
    max_clips: int | None = None  # use at most this many training clips (None: all)


def no_log(message: str) -> None:
    """A ``Log`` that drops the line."""


def no_progress(stage: str, step: int, total: int, status: str) -> None:
    """A ``Progress`` that shows nothing."""
