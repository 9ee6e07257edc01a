"""Denoiser loss terms on decoded motion: planted feet stay put, joints move as the clip's do.

The VAE's round trip keeps corpus walks planted (about 5 cm/s on the supporting foot), yet the
bundled denoiser's walks glide (about 17 cm/s): small, structured errors in a generated latent
become a sliding foot once decoded. The v-MSE cannot see this (it weighs every latent channel
alike), so these terms judge the denoiser's clean-latent estimate in the unit the gait target is
stated in (MDM, Tevet et al. 2023, uses the same two geometric losses on its x0 estimate). For a
training example (normalised latent z_0 of a clip, the clip's foot-contact channels c (T, 4)),
timestep t and the denoiser's v-prediction v_hat on x_t:

    z0_hat = alpha_t x_t - sigma_t v_hat                            (x0_from_v)
    J_hat  = J(D(z0_hat s_z + m_z) s_x + m_x),   J_ref = J(D(z_0 s_z + m_z) s_x + m_x)
             (frozen VAE decoder D, ric joints J in metres; J_ref carries no gradient)
    S_b = sum_{f,k} c_bfk ||fps (J_hat_b(f+1,k) - J_hat_bfk)_xz|| / sum_{f,k} c_bfk      m/s
    V_b = mean_{f} (1/22) sum_j ||fps (dJ_hat_bfj - dJ_ref_bfj)||                     m/s
    L   = mean_b alpha_t^2 (contact_weight S_b + velocity_weight V_b)

S is over the 4 foot-contact joints k and frame pairs inside the clip; c_bfk = 1 where the
clip's own contact feature exceeds 0.5 (the planted frames of the VAE's contact term). V keeps
the motion moving: a standing body has no sliding feet, and S alone taught a fine-tuned denoiser
to stop walking (pelvis 0.87 -> 0.21 m/s on the walk family; README, issue 14). alpha_t^2 =
SNR / (SNR + 1) leans both toward low noise, where z0_hat is meant to be the clip itself. Only
the denoiser learns: the VAE is frozen and passes the gradient back to z0_hat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from esd.models.bundled.vae import LATENT_REDUCTION, MotionVAE
from esd.models.diffusion import NoiseSchedule, x0_from_v
from esd.motion.features import features_to_joints
from esd.motion.skeleton import FOOT_CONTACT, FOOT_CONTACT_JOINTS
from esd.pretrain.vae import CONTACT_THRESHOLD, planted_slide_sums, velocity_error_sums

# (x_t (B, N, C), t (B,), v_hat (B, N, C)) -> the weighted terms, a scalar
BatchTerm = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def planted_speed_per_clip(
    joints: torch.Tensor, planted: torch.Tensor, frames: torch.Tensor
) -> torch.Tensor:
    """S_b of the module docstring, (B,): each clip's mean horizontal foot speed (m/s) on its
    planted frames (``esd.pretrain.vae.planted_slide_sums`` per clip).

    joints: (B, F, 22, 3) metres; planted: (B, F, 4) flags in {0, 1} for the joints
    ``FOOT_CONTACT_JOINTS``; frames: (B, F) bool valid frames. A clip that plants nothing gets 0.
    """
    sums, counts = planted_slide_sums(joints, planted, frames)
    return sums / counts.clamp(min=1.0)


def velocity_error_per_clip(
    joints: torch.Tensor, reference: torch.Tensor, frames: torch.Tensor
) -> torch.Tensor:
    """V_b of the module docstring, (B,): each clip's mean joint-velocity error (m/s).

    joints, reference: (B, F, 22, 3) metres; frames: (B, F) bool valid frames.
    """
    sums, counts = velocity_error_sums(joints, reference, frames)
    return sums / counts.clamp(min=1.0)


class DecodedGaitTerm:
    """The module docstring's L for the batches of a ``LatentBatcher`` (same clip order).

    ``contacts``: per training clip its raw foot-contact features (T_i, 4) (HumanML3D features
    259-262); ``stats``: the generator's ``feature_mean``/``feature_std`` (263,) and
    ``latent_mean``/``latent_std`` (C,).
    """

    def __init__(
        self,
        vae: MotionVAE,
        stats: dict[str, torch.Tensor],
        contacts: Sequence[np.ndarray],
        schedule: NoiseSchedule,
        contact_weight: float,
        velocity_weight: float = 0.0,
    ) -> None:
        if contact_weight < 0 or velocity_weight < 0:
            raise ValueError(
                f"the decoded-gait weights must be >= 0, got {contact_weight}, {velocity_weight}"
            )
        self.vae = vae.eval().requires_grad_(False)
        self.stats = stats
        self.planted = [torch.from_numpy(np.asarray(c) > CONTACT_THRESHOLD) for c in contacts]
        self.schedule = schedule
        self.contact_weight = contact_weight
        self.velocity_weight = velocity_weight

    @staticmethod
    def raw_contacts(
        clips: Sequence[np.ndarray], stats: dict[str, torch.Tensor]
    ) -> list[np.ndarray]:
        """The raw foot-contact features (T_i, 4) of normalised clips (T_i, 263)."""
        mean = stats["feature_mean"].cpu().numpy()[FOOT_CONTACT]
        std = stats["feature_std"].cpu().numpy()[FOOT_CONTACT]
        return [np.asarray(c)[:, FOOT_CONTACT] * std + mean for c in clips]

    def decode_joints(self, z0: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, N, C), mask (B, N) -> joints (B, 4N, 22, 3); differentiable."""
        s = {k: v.to(z0.device) for k, v in self.stats.items()}
        z = z0 * s["latent_std"] + s["latent_mean"]
        normalised = self.vae.decode(z, mask)  # (B, 4N, 263)
        return features_to_joints(normalised * s["feature_std"] + s["feature_mean"])

    def for_batch(self, picks: Sequence[int], z0: torch.Tensor, mask: torch.Tensor) -> BatchTerm:
        """The terms for one batch: ``picks`` its clips' indices, ``z0`` (B, N, C) its clean
        latents, ``mask`` (B, N) its tokens."""
        count, frames = mask.shape[0], mask.shape[1] * LATENT_REDUCTION
        planted = torch.zeros(count, frames, len(FOOT_CONTACT_JOINTS))
        valid = torch.zeros(count, frames, dtype=torch.bool)
        for row, index in enumerate(picks):
            flags = self.planted[index][:frames]
            planted[row, : len(flags)], valid[row, : len(flags)] = flags.float(), True
        planted, valid = planted.to(mask.device), valid.to(mask.device)
        reference = None
        if self.velocity_weight:
            with torch.no_grad():
                reference = self.decode_joints(z0, mask)  # (B, 4N, 22, 3)

        def term(x_t: torch.Tensor, t: torch.Tensor, v_hat: torch.Tensor) -> torch.Tensor:
            z0_hat = x0_from_v(self.schedule, x_t, t, v_hat.float())  # (B, N, C)
            joints = self.decode_joints(z0_hat, mask)  # (B, 4N, 22, 3)
            per_clip = self.contact_weight * planted_speed_per_clip(joints, planted, valid)
            if reference is not None:
                velocity = velocity_error_per_clip(joints, reference, valid)
                per_clip = per_clip + self.velocity_weight * velocity
            return (self.schedule.alpha(t) ** 2 * per_clip).mean()

        return term
