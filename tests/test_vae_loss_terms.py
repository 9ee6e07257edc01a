"""Oracle tests for the VAE's gait terms (esd.pretrain.vae): joint velocities, planted feet and
the worst root-relative joint.

Each expected value is computed by hand from a tiny motion, so a mutant that drops the frame rate,
the mask, the horizontal projection or the contact selection gives a different number.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from esd.models import checkpoints as ck
from esd.motion.skeleton import FOOT_CONTACT_JOINTS, FPS, NUM_JOINTS
from esd.pretrain import base_stage
from esd.pretrain.cli import build_parser, settings_from_args, stage_defaults
from esd.pretrain.vae import VAETrainConfig, contact_slide, velocity_error, worst_joint_error


def still(frames: int, batch: int = 1) -> torch.Tensor:
    return torch.zeros(batch, frames, NUM_JOINTS, 3)


def test_velocity_error_is_the_mean_speed_difference_over_valid_pairs() -> None:
    truth = still(4)
    moved = truth.clone()
    moved[0, 1:, 0, 0] = torch.tensor([0.01, 0.02, 0.03])  # pelvis drifts 1 cm / frame in x
    mask = torch.ones(1, 4, dtype=torch.bool)
    # one joint of 22 moves at 0.2 m/s on each of the 3 frame pairs
    assert float(velocity_error(moved, truth, mask)) == pytest.approx(FPS * 0.01 / NUM_JOINTS)
    assert float(velocity_error(truth, truth, mask)) == 0.0


def test_velocity_error_ignores_padding_and_a_constant_offset() -> None:
    truth = still(4)
    shifted = truth + 0.5  # the same motion elsewhere: same velocities
    mask = torch.tensor([[True, True, False, False]])
    padded = shifted.clone()
    padded[0, 2:] = 9.0  # junk in padded frames
    assert float(velocity_error(shifted, truth, mask)) == pytest.approx(0.0)
    assert float(velocity_error(padded, truth, mask)) == pytest.approx(0.0)


def test_contact_slide_counts_only_planted_feet_and_only_horizontal_motion() -> None:
    joints = still(3)
    left_ankle, left_toe = FOOT_CONTACT_JOINTS[0], FOOT_CONTACT_JOINTS[1]
    joints[0, 1:, left_ankle, 0] = torch.tensor([0.02, 0.04])  # slides 2 cm / frame in x
    joints[0, 1:, left_toe, 1] = torch.tensor([0.05, 0.10])  # lifts: vertical, not sliding
    joints[0, 1:, 3, 2] = torch.tensor([0.5, 1.0])  # a joint that is not a foot
    contacts = torch.zeros(1, 3, 4)
    mask = torch.ones(1, 3, dtype=torch.bool)
    assert float(contact_slide(joints, contacts, mask)) == 0.0  # nothing planted
    contacts[0, :, 0] = 1.0  # the ankle planted
    assert float(contact_slide(joints, contacts, mask)) == pytest.approx(FPS * 0.02)
    contacts[0, :, 1] = 1.0  # the toe planted too: it only rises, so the mean halves
    assert float(contact_slide(joints, contacts, mask)) == pytest.approx(FPS * 0.02 / 2)


def test_contact_slide_uses_the_contact_of_the_pair_start_and_valid_frames_only() -> None:
    joints = still(3)
    ankle = FOOT_CONTACT_JOINTS[2]  # right ankle: contact channel 2
    joints[0, 2, ankle, 2] = 0.03  # moves only between frames 1 and 2
    contacts = torch.zeros(1, 3, 4)
    contacts[0, 1, 2] = 1.0  # planted at frame 1
    mask = torch.ones(1, 3, dtype=torch.bool)
    assert float(contact_slide(joints, contacts, mask)) == pytest.approx(FPS * 0.03)
    mask[0, 2] = False  # frame 2 is padding: the pair does not count
    assert float(contact_slide(joints, contacts, mask)) == 0.0


def test_worst_joint_error_takes_each_frames_largest_root_relative_error() -> None:
    truth = still(3)
    guess = truth.clone()
    guess[0, :, 10, 1] = torch.tensor([0.1, 0.4, 0.0])  # a foot stops 0.1 / 0.4 m short
    guess[0, :, 3, 0] = 0.2  # another joint 0.2 m off on every frame
    mask = torch.ones(1, 3, dtype=torch.bool)
    # frame maxima 0.2, 0.4, 0.2: not the mean over joints, not the sum
    assert float(worst_joint_error(guess, truth, mask)) == pytest.approx((0.2 + 0.4 + 0.2) / 3)
    drifted = guess + torch.tensor([1.0, 0.0, 2.0])  # the whole body elsewhere: pelvis-relative
    assert float(worst_joint_error(drifted, truth, mask)) == pytest.approx(0.8 / 3)
    squared = (0.2**2 + 0.4**2 + 0.2**2) / 3  # the square of each frame's worst, then the mean
    assert float(worst_joint_error(guess, truth, mask, power=2)) == pytest.approx(squared)
    mask[0, 1] = False  # padding does not count
    assert float(worst_joint_error(guess, truth, mask)) == pytest.approx(0.2)


class Captured(Exception):
    """Raised by the stand-in for train_vae with the config it was given."""


def test_the_pretrain_flags_reach_the_vae_loss(monkeypatch) -> None:
    def capture(*args, **kwargs):
        raise Captured(args[5])

    monkeypatch.setattr(base_stage, "train_vae", capture)
    monkeypatch.setattr(base_stage, "load_clips", lambda *a, **k: ([], []))
    argv = ["base", "--vae_velocity_weight", "1.5", "--vae_contact_weight", "2"]
    argv += ["--vae_peak_weight", "3"]
    settings = settings_from_args(stage_defaults(build_parser().parse_args(argv)))
    with pytest.raises(Captured) as caught:
        base_stage.vae_stage(SimpleNamespace(mean=0.0, std=1.0), settings, torch.device("cpu"))
    cfg = caught.value.args[0]
    assert (cfg.velocity_weight, cfg.contact_weight, cfg.peak_weight) == (1.5, 2.0, 3.0)
    assert cfg.peak_power == 2  # the squared worst joint (bench_vae_loss.py: kicks need it)
    assert VAETrainConfig.velocity_weight == VAETrainConfig.contact_weight == 0.0  # plain VAE
    assert VAETrainConfig.peak_weight == 0.0


def test_the_pretrain_defaults_are_the_bundled_base_recipe() -> None:
    # `python -m esd.pretrain base` with no flags rebuilds the bundled base: every VAE setting
    # its opt.txt records is the command's default
    defaults = settings_from_args(stage_defaults(build_parser().parse_args(["base"])))
    recorded = ck.read_opt(ck.ASSETS_DIR / ck.BASE_MODEL_NAME / "opt.txt")
    for key in ("vae_steps", "latent_dim", "denoiser_steps", "model_dim", "num_layers", "seed"):
        assert getattr(defaults, key) == int(recorded[key]), key
    for key in ("vae_velocity_weight", "vae_contact_weight", "vae_peak_weight"):
        assert getattr(defaults, key) == float(recorded[key]), key
    assert defaults.vae_peak_weight > 0  # the term that keeps kicks (bench_vae_loss.py)
