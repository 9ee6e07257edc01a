"""The ESD objective (Gandikota et al., 2023): the target, the loss and the preservation term.

A frozen copy of the base denoiser (the teacher, p*) defines the target that the trainable copy
(the student, p_theta) must output for the concept prompt c at points x_t of the concept's own
sampling trajectories:

    target(x_t, t) = p*(x_t, t, null) - eta * (p*(x_t, t, c) - p*(x_t, t, null))      (esd_target)
    L = || p_theta(x_t, t, c) - target(x_t, t) ||^2   (masked mean over latent tokens)

Parameterisation. Our denoiser predicts v = alpha_t eps - sigma_t x0. At a fixed x_t, substituting
x0 = (x_t - sigma_t eps) / alpha_t gives v = eps / alpha_t - (sigma_t / alpha_t) x_t: v is the same
affine function of eps for every prompt. Hence the v-target above is exactly the v of the
eps-target eps_null - eta (eps_c - eps_null), and ||v_theta - v_target||^2 =
||eps_theta - eps_target||^2 / alpha_t^2: the v-form is ESD's eps-form with the per-timestep
weight 1 / alpha_t^2 = 1 + 1/SNR(t) on the loss (heavier at high noise). Nothing else changes.

Shapes: latents and predictions (B, N, C), timesteps (B,), token masks (B, N) (1 = valid).
"""

from __future__ import annotations

import torch

from esd.erasure.sources import XtBatch
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.diffusion import classifier_free_guidance
from esd.models.generator import MotionGenerator
from esd.models.text.batch import TextBatch


def esd_target(
    pred_uncond: torch.Tensor, pred_cond: torch.Tensor, negative_guidance: float
) -> torch.Tensor:
    """ESD target: p(x_t, null) - eta * (p(x_t, c) - p(x_t, null)), any shape (B, N, C).

    It is classifier-free guidance with scale -eta: the student is pulled to the prediction
    that guides *away* from the concept.
    """
    return classifier_free_guidance(pred_uncond, pred_cond, -negative_guidance)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum_{b,n} m_bn mean_c (pred - target)^2 / sum m: pred, target (B, N, C), mask (B, N).

    The mean over valid tokens and channels (padding tokens do not count); a scalar.
    """
    per_token = ((pred.float() - target.float()) ** 2).mean(-1)  # (B, N)
    return (per_token * mask).sum() / mask.sum().clamp_min(1)


def esd_loss(
    base: MotionGenerator,
    student: LatentDenoiser,
    batch: XtBatch,
    texts: TextBatch,
    eta: float,
) -> torch.Tensor:
    """||student(x_t, t, c) - esd_target(teacher uncond, teacher cond, eta)||^2 (masked).

    ``texts`` encodes each row's prompt c (B rows); the teacher's predictions come with the
    batch (``batch.pred_uncond``, ``batch.pred_cond``, (B, N, C)). Returns a scalar.
    """
    target = esd_target(batch.pred_uncond, batch.pred_cond, eta)
    pred = base.denoise_fn(batch.mask, student)(batch.x_t, batch.t, texts)
    return masked_mse(pred, target, batch.mask)


def preservation_loss(
    base: MotionGenerator, student: LatentDenoiser, batch: XtBatch, texts: TextBatch
) -> torch.Tensor:
    """||student(x_t, t, a) - teacher(x_t, t, a)||^2 on anchor prompts a (masked), a scalar."""
    pred = base.denoise_fn(batch.mask, student)(batch.x_t, batch.t, texts)
    return masked_mse(pred, batch.pred_cond, batch.mask)
