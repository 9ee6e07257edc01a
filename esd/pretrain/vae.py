"""Stage 1 of pretraining: the motion VAE (features <-> latent tokens, time compressed by 4).

Loss per batch of random windows (normalised features x, reconstruction x_hat, masks on frames):

    L = mean_masked |x_hat - x|_1                        feature reconstruction (normalised units)
      + joint_weight * mean_masked ||J(x_hat) - J(x)||   joint positions in metres, J = ric decoder
      + velocity_weight * mean_masked ||fps (dJ(x_hat) - dJ(x))||      joint velocities, m/s
      + contact_weight * mean_contacts ||fps dJ_foot(x_hat)_xz||       planted feet slide, m/s
      + peak_weight * mean_masked max_j ||R(x_hat)_j - R(x)_j||^p  worst root-relative joint, m^p
      + kl_weight * KL(q(z|x) || N(0, I))

dJ is the frame-to-frame difference of global joints; "contacts" are the frames where the input's
own foot-contact channels (features 259-262) say a foot joint is planted. The joint terms
backpropagate through the differentiable HumanML3D decoder, so the VAE is judged in the unit the
quality targets are stated in (MPJPE, foot speed). Without the velocity and contact terms a VAE
that fits positions well on average smooths the fast limb motion away: its reconstructed walks
glide and its kicks stop low (``benchmarks/bench_vae.py --gait``). The peak term (R: joints
relative to the pelvis, p = ``peak_power``, 2 by default) charges each frame its worst joint,
squared: a kicking foot is 1 joint of 22 on a few frames, and the absolute-error terms above
pull every frame toward the typical pose with the same force whatever the error, so they let a
rare 0.7 m kick come back as a standing leg (``benchmarks/bench_vae_loss.py``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from esd.models.bundled.vae import LATENT_REDUCTION, MotionVAE, VAEConfig
from esd.motion.features import features_to_joints
from esd.motion.skeleton import FOOT_CONTACT, FOOT_CONTACT_JOINTS, FPS

CONTACT_THRESHOLD = 0.5  # a foot-contact feature above this marks the joint as planted
HORIZONTAL = (0, 2)  # x and z of a joint position (y is up)


@dataclass
class VAETrainConfig:
    """Optimisation settings of the VAE stage."""

    steps: int = 2000  # optimizer steps (~10 min on the 2-core reference CPU)
    batch_size: int = 64  # windows per step
    window: int = 64  # frames per training window (a multiple of 4; shorter clips use their length)
    lr: float = 1e-3  # AdamW peak learning rate (cosine decay to 5% after a short warm-up)
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.0  # AdamW weight decay
    joint_weight: float = 4.0  # weight of the joint-position L1 term (metres)
    # The gait terms are off in the bundled recipe; the measured candidate that turns them on
    # (velocity 1, contact 2, latent 32, 3,000 steps) is in the README's issue-14 table.
    velocity_weight: float = 0.0  # weight of the joint-velocity term (m/s)
    contact_weight: float = 0.0  # weight of the planted-foot sliding term (m/s)
    peak_weight: float = 0.0  # weight of the worst-joint (root-relative) term (metres^p)
    peak_power: int = 2  # p of that term: 2 weighs a large miss more than many small ones
    kl_weight: float = 1e-4  # weight of the KL term
    grad_clip: float = 1.0  # gradient-norm clip
    eval_every: int = 500  # steps between validation MPJPE measurements
    seed: int = 0  # seeds window sampling and the reparameterisation noise


@dataclass
class VAEStep:
    """What the VAE loop reports after each step."""

    step: int
    total: int
    loss: float
    elapsed: float
    val_mpjpe_cm: float | None = None  # set on validation steps


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak`` then cosine decay to 5% of it at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress)))


class WindowSampler:
    """Random fixed-size windows (multiples of 4 frames) from a list of normalised clips."""

    def __init__(self, clips: Sequence[np.ndarray], window: int, seed: int) -> None:
        self.clips = clips  # each (T_i, 263) normalised float32
        self.window = window - window % LATENT_REDUCTION
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows (B, W, 263) zero-padded and their lengths (B,)."""
        batch = np.zeros((batch_size, self.window, self.clips[0].shape[1]), np.float32)
        lengths = np.zeros(batch_size, np.int64)
        for row, index in enumerate(self.rng.integers(len(self.clips), size=batch_size)):
            clip = self.clips[index]
            length = min(self.window, len(clip) - len(clip) % LATENT_REDUCTION)
            start = self.rng.integers(len(clip) - length + 1)
            batch[row, :length] = clip[start : start + length]
            lengths[row] = length
        return torch.from_numpy(batch), torch.from_numpy(lengths)


def frame_mask(lengths: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(B, T) bool mask of valid frames."""
    return torch.arange(num_frames, device=lengths.device)[None] < lengths[:, None]


def velocity_error_sums(
    joints_hat: torch.Tensor, joints: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per clip, the summed joint-velocity error (m/s, averaged over the 22 joints) over valid
    frame pairs and the number of those pairs, (B,) each:

        sum_b = sum_t m_bt m_b(t+1) (1/22) sum_j ||fps (J^_b(t+1,j) - J^_btj)
                                                 - fps (J_b(t+1,j) - J_btj)||,
        count_b = sum_t m_bt m_b(t+1)

    joints_hat, joints: (B, T, 22, 3) metres; mask: (B, T) bool valid frames.
    """
    pair = (mask[:, 1:] & mask[:, :-1]).float()  # (B, T-1)
    diff = FPS * ((joints_hat[:, 1:] - joints_hat[:, :-1]) - (joints[:, 1:] - joints[:, :-1]))
    per_pair = diff.norm(dim=-1).mean(-1)  # (B, T-1)
    return (per_pair * pair).sum(-1), pair.sum(-1)


def velocity_error(
    joints_hat: torch.Tensor, joints: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean joint-velocity error (m/s) over valid frame pairs, a scalar.

        E = sum_{b,t,j} m_bt m_b(t+1) ||fps (J^_b(t+1,j) - J^_bt,j) - fps (J_b(t+1,j) - J_btj)|| /
            (22 sum_{b,t} m_bt m_b(t+1))

    joints_hat, joints: (B, T, 22, 3) metres; mask: (B, T) bool valid frames.
    """
    sums, counts = velocity_error_sums(joints_hat, joints, mask)
    return sums.sum() / counts.sum().clamp(min=1.0)


def planted_slide_sums(
    joints_hat: torch.Tensor, planted: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per clip, the summed horizontal speed (m/s) of foot joints on planted frame pairs and
    the number of those (joint, pair) terms, (B,) each:

        sum_b = sum_{t,k} p_btk m_bt m_b(t+1) ||fps (J^_b(t+1,k) - J^_btk)_xz||,
        count_b = sum_{t,k} p_btk m_bt m_b(t+1)

    over the 4 foot-contact joints k (L ankle, L foot, R ankle, R foot). joints_hat:
    (B, T, 22, 3) metres; planted: (B, T, 4) flags in {0, 1}; mask: (B, T) bool valid frames.
    """
    pair = (mask[:, 1:] & mask[:, :-1]).float()[..., None]  # (B, T-1, 1)
    weights = planted[:, :-1].float() * pair  # (B, T-1, 4)
    feet = joints_hat[:, :, list(FOOT_CONTACT_JOINTS)][..., list(HORIZONTAL)]  # (B, T, 4, 2)
    speed = FPS * (feet[:, 1:] - feet[:, :-1]).norm(dim=-1)  # (B, T-1, 4)
    return (speed * weights).sum((1, 2)), weights.sum((1, 2))


def contact_slide(
    joints_hat: torch.Tensor, contacts: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean horizontal speed (m/s) of reconstructed foot joints on frames the input plants them.

        S = sum_{b,t,k} c_btk ||fps (J^_b(t+1,k) - J^_btk)_xz|| / sum_{b,t,k} c_btk

    over the 4 foot-contact joints k (L ankle, L foot, R ankle, R foot) and frame pairs whose both
    frames are valid; c_btk = 1 when the input's contact feature k of frame t is > 0.5.
    joints_hat: (B, T, 22, 3) metres; contacts: (B, T, 4) raw contact features; mask: (B, T) bool.
    Zero when nothing is planted.
    """
    sums, counts = planted_slide_sums(joints_hat, contacts > CONTACT_THRESHOLD, mask)
    return sums.sum() / counts.sum().clamp(min=1.0)


def worst_joint_error(
    joints_hat: torch.Tensor, joints: torch.Tensor, mask: torch.Tensor, power: int = 1
) -> torch.Tensor:
    """Mean over valid frames of the largest root-relative joint error to the ``power``
    (metres^power), a scalar.

        P = sum_{b,t} m_bt (max_j ||(J^_btj - J^_bt0) - (J_btj - J_bt0)||)^power / sum_{b,t} m_bt

    joint 0 is the pelvis; joints_hat, joints: (B, T, 22, 3) metres; mask: (B, T) bool.
    """
    rel_hat = joints_hat - joints_hat[:, :, :1]  # (B, T, 22, 3)
    rel = joints - joints[:, :, :1]
    worst = (rel_hat - rel).norm(dim=-1).amax(dim=-1) ** power  # (B, T)
    m = mask.float()
    return (worst * m).sum() / m.sum().clamp(min=1.0)


def vae_loss(
    vae: MotionVAE,
    x: torch.Tensor,
    lengths: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    cfg: VAETrainConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The loss of the module docstring for normalised windows x (B, T, 263)."""
    mu, logvar = vae.encode(x, lengths)  # (B, N, C) each
    z = vae.reparameterize(mu, logvar, generator)
    tokens = vae.latent_lengths(lengths)  # (B,)
    x_hat = vae.decode(z, tokens)[:, : x.shape[1]]  # (B, T, 263)
    mask = frame_mask(lengths, x.shape[1])  # (B, T)
    weights = mask.float() / mask.sum()
    recon = ((x_hat - x).abs().mean(-1) * weights).sum()
    raw = x * std + mean  # (B, T, 263) the input in HumanML3D units
    joints_hat = features_to_joints(x_hat * std + mean)  # (B, T, 22, 3)
    joints = features_to_joints(raw)
    joint_err = ((joints_hat - joints).norm(dim=-1).mean(-1) * weights).sum()
    kl = vae.kl_divergence(mu, logvar, frame_mask(tokens, mu.shape[1]))
    loss = recon + cfg.joint_weight * joint_err + cfg.kl_weight * kl
    if cfg.velocity_weight:
        loss = loss + cfg.velocity_weight * velocity_error(joints_hat, joints, mask)
    if cfg.contact_weight:
        loss = loss + cfg.contact_weight * contact_slide(joints_hat, raw[..., FOOT_CONTACT], mask)
    if cfg.peak_weight:
        loss = loss + cfg.peak_weight * worst_joint_error(joints_hat, joints, mask, cfg.peak_power)
    return loss


@torch.no_grad()
def reconstruction_mpjpe(
    vae: MotionVAE,
    clips: Sequence[np.ndarray],
    mean: torch.Tensor,
    std: torch.Tensor,
    device: torch.device,
    batch_size: int = 64,
) -> float:
    """Mean per-joint position error (metres) of encode(mu) -> decode on whole clips."""
    vae.eval()
    total, count = 0.0, 0
    for start in range(0, len(clips), batch_size):
        chunk = clips[start : start + batch_size]
        lengths = torch.tensor([len(c) for c in chunk])
        x = torch.zeros(len(chunk), int(lengths.max()), chunk[0].shape[1])
        for row, clip in enumerate(chunk):
            x[row, : len(clip)] = torch.from_numpy(clip)
        x, lengths = x.to(device), lengths.to(device)
        mu, _ = vae.encode(x, lengths)
        x_hat = vae.decode(mu, vae.latent_lengths(lengths))[:, : x.shape[1]]
        err = (features_to_joints(x_hat * std + mean) - features_to_joints(x * std + mean)).norm(
            dim=-1
        )  # (B, T, 22)
        mask = frame_mask(lengths, x.shape[1])
        total += float(err.mean(-1)[mask].sum())
        count += int(mask.sum())
    vae.train()
    return total / max(1, count)


def train_vae(
    train_clips: Sequence[np.ndarray],
    val_clips: Sequence[np.ndarray],
    mean: np.ndarray,
    std: np.ndarray,
    vae_cfg: VAEConfig,
    cfg: VAETrainConfig,
    device: torch.device,
    on_step: Callable[[VAEStep], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[MotionVAE, dict[str, float]]:
    """Train a VAE on normalised clips; returns it (eval mode) and its validation MPJPE (cm)."""
    torch.manual_seed(cfg.seed)
    vae = MotionVAE(vae_cfg).to(device).train()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sampler = WindowSampler(train_clips, cfg.window, cfg.seed)
    mean_t, std_t = torch.tensor(mean, device=device), torch.tensor(std, device=device)
    noise = torch.Generator(device=device).manual_seed(cfg.seed)
    started, val_cm = time.monotonic(), None
    for step in range(cfg.steps):
        if stop is not None and stop.is_set():
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
        x, lengths = (t.to(device) for t in sampler.sample(cfg.batch_size))
        loss = vae_loss(vae, x, lengths, mean_t, std_t, cfg, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), cfg.grad_clip)
        optimizer.step()
        last = step + 1 == cfg.steps
        if (step + 1) % cfg.eval_every == 0 or last:
            val_cm = 100 * reconstruction_mpjpe(vae, val_clips, mean_t, std_t, device)
        if on_step is not None:
            done = (step + 1) % cfg.eval_every == 0 or last
            report = VAEStep(step + 1, cfg.steps, float(loss.detach()), time.monotonic() - started)
            report.val_mpjpe_cm = val_cm if done else None
            on_step(report)
    return vae.eval(), {"val_mpjpe_cm": val_cm if val_cm is not None else float("nan")}
