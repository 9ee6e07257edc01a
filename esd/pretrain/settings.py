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
from esd.motion.humanml3d import CORPUS_ROOT
from esd.pretrain.denoiser import DenoiserTrainConfig
from esd.pretrain.evaluator import EvaluatorTrainConfig

DEFAULT_DATA_ROOT = CORPUS_ROOT  # the corpus `python -m esd.corpus` writes by default
EVALUATOR_FILE = "evaluator.tar"  # the trained evaluator, in the evaluator run's model/
REFERENCE_FILE = "reference_test.npz"  # its reference set of the test split, beside model/

Log = Callable[[str], None]  # one line for the run's log
Progress = Callable[[str, int, int, str], None]  # (stage, steps done, steps planned, status)


# The bundled base's VAE recipe (assets/t2m_denoiser_vpred_vaegelu/MODEL_CARD.md, issue 14):
# `python -m esd.pretrain base` with no flags rebuilds it. The class defaults of VAEConfig /
# VAETrainConfig stay the plain VAE (latent 16, reconstruction + joints + KL, 2,000 steps).
BASE_VAE_STEPS = 3000  # VAE optimizer steps
BASE_LATENT_DIM = 32  # channels per latent token
BASE_VAE_VELOCITY_WEIGHT = 1.0  # joint-velocity term (m/s)
BASE_VAE_CONTACT_WEIGHT = 2.0  # planted-foot sliding term (m/s)
BASE_VAE_PEAK_WEIGHT = 20.0  # squared worst-joint term (m^2): keeps kicks in the round trip


@dataclass(frozen=True)
class PretrainSettings:
    """The settings of every pretraining stage (the flags of ``python -m esd.pretrain``)."""

    name: str = ck.BASE_MODEL_NAME  # base model folder name (checkpoints/t2m/NAME)
    data_root: Path = DEFAULT_DATA_ROOT  # HumanML3D-format folder to train on
    checkpoints_dir: Path = ck.DEFAULT_CHECKPOINTS_DIR  # where the runs are written
    seed: int = 0  # seeds every stage
    vae_steps: int = BASE_VAE_STEPS  # optimizer steps of the VAE
    denoiser_steps: int = DenoiserTrainConfig.steps  # optimizer steps of the denoiser
    evaluator_steps: int = EvaluatorTrainConfig.steps  # optimizer steps of the evaluator
    batch_size: int = DenoiserTrainConfig.batch_size  # clips per denoiser step
    model_dim: int = DenoiserConfig.model_dim  # width of the denoiser
    num_layers: int = DenoiserConfig.num_layers  # transformer layers of the denoiser
    latent_dim: int = BASE_LATENT_DIM  # channels per latent token of the VAE
    vae_velocity_weight: float = BASE_VAE_VELOCITY_WEIGHT  # VAE joint-velocity term
    vae_contact_weight: float = BASE_VAE_CONTACT_WEIGHT  # VAE planted-foot sliding term
    vae_peak_weight: float = BASE_VAE_PEAK_WEIGHT  # VAE worst-joint term
    denoiser_lr: float = DenoiserTrainConfig.lr  # AdamW peak learning rate of the denoiser
    denoiser_contact_weight: float = 0.0  # decoded planted-foot term (esd.pretrain.decoded_gait)
    denoiser_velocity_weight: float = 0.0  # decoded joint-velocity term (same module)
    finetune_from: str | None = None  # start from this base model's VAE and denoiser (no VAE stage)
    max_clips: int | None = None  # use at most this many training clips (None: all)


def no_log(message: str) -> None:
    """A ``Log`` that drops the line."""


def no_progress(stage: str, step: int, total: int, status: str) -> None:
    """A ``Progress`` that shows nothing."""
