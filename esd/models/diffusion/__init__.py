"""Diffusion maths, separate from the networks: ``schedule`` (alpha-bar curves, forward process,
v-parameterisation) and ``sampling`` (guidance, DDIM timesteps and updates, the sampler).

The names below are re-exported so that ``from esd.models.diffusion import ddim_sample`` works.
"""

from esd.models.diffusion.sampling import (
    MIN_DDIM_STEPS,
    DDIMStep,
    DenoiseFn,
    classifier_free_guidance,
    ddim_sample,
    ddim_timesteps,
    ddim_update,
    prev_coefficients,
)
from esd.models.diffusion.schedule import (
    SCHEDULES,
    SPACINGS,
    TRAIN_STEPS,
    NoiseSchedule,
    eps_from_v,
    q_sample,
    v_target,
    x0_from_v,
)

__all__ = [
    "MIN_DDIM_STEPS",
    "SCHEDULES",
    "SPACINGS",
    "TRAIN_STEPS",
    "DDIMStep",
    "DenoiseFn",
    "NoiseSchedule",
    "classifier_free_guidance",
    "ddim_sample",
    "ddim_timesteps",
    "ddim_update",
    "eps_from_v",
    "prev_coefficients",
    "q_sample",
    "v_target",
    "x0_from_v",
]
