"""The denoiser's decoded gait terms (esd.pretrain.decoded_gait) and the fine-tune path.

Oracle values are computed by hand: a decoder stub returns features whose root moves
``STEP_M * z[0, 0]`` per frame in x (a clip's first latent value sets its speed), so every
joint slides at fps * STEP_M * z m/s; the contact term must equal weight * mean_b alpha_t^2 *
that speed on the clips that plant a foot, and the velocity term the speed difference to the
clean latent's decoding. Mutants that drop the alpha^2 weighting, pool clips before averaging,
read contacts past a clip's end, compare with the noisy latent or let the VAE learn give other
numbers.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser
from esd.models.diffusion import NoiseSchedule
from esd.motion.features import FEATURE_DIM
from esd.motion.skeleton import FOOT_CONTACT, FOOT_CONTACT_JOINTS, FPS, NUM_JOINTS
from esd.pretrain.cli import main
from esd.pretrain.decoded_gait import (
    DecodedGaitTerm,
    planted_speed_per_clip,
    velocity_error_per_clip,
)
from esd.pretrain.denoiser import DenoiserTrainConfig, LatentBatcher, train_denoiser
from tests.fakes import write_fake_humanml3d

STEP_M = 0.01  # the stub's root moves this far in x per frame
LATENT = 3  # channels of the stub latents


class SlidingDecoder(torch.nn.Module):
    """A VAE stand-in: decode(z, mask) -> normalised features (B, 4N, 263) whose root moves
    STEP_M * z[b, 0, 0] per frame in x (differentiable in z)."""

    def decode(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        frames = z.shape[1] * 4
        features = torch.zeros(z.shape[0], frames, FEATURE_DIM)
        root = STEP_M * z[:, :1, :1].expand(-1, frames, 1)  # (B, 4N, 1)
        return torch.cat([features[..., :1], root, features[..., 2:]], dim=-1)


def unit_stats() -> dict[str, torch.Tensor]:
    return {
        "feature_mean": torch.zeros(FEATURE_DIM),
        "feature_std": torch.ones(FEATURE_DIM),
        "latent_mean": torch.zeros(LATENT),
        "latent_std": torch.ones(LATENT),
    }


def still(frames: int, batch: int) -> torch.Tensor:
    return torch.zeros(batch, frames, NUM_JOINTS, 3)


def test_planted_speed_is_per_clip_horizontal_and_only_on_planted_valid_pairs() -> None:
    joints = still(3, batch=2)
    ankle, toe = FOOT_CONTACT_JOINTS[0], FOOT_CONTACT_JOINTS[1]
    joints[0, 1:, ankle, 0] = torch.tensor([0.02, 0.04])  # clip 0: the ankle slides 2 cm/frame
    joints[0, 1:, toe, 1] = torch.tensor([0.05, 0.10])  # clip 0: the toe only rises
    joints[1, 1:, ankle, 2] = torch.tensor([0.10, 0.20])  # clip 1 slides fast but plants nothing
    planted = torch.zeros(2, 3, 4)
    planted[0, :, :2] = 1.0  # clip 0 plants ankle and toe
    frames = torch.ones(2, 3, dtype=torch.bool)
    speeds = planted_speed_per_clip(joints, planted, frames)
    assert speeds.tolist() == pytest.approx([FPS * 0.02 / 2, 0.0])
    frames[0, 2] = False  # the second pair of clip 0 is padding; the first still slides
    assert planted_speed_per_clip(joints, planted, frames)[0] == pytest.approx(FPS * 0.02 / 2)


def test_velocity_error_is_per_clip_over_valid_pairs() -> None:
    reference = still(3, batch=2)
    moved = reference.clone()
    moved[0, 1:, 0, 0] = torch.tensor([0.01, 0.02])  # clip 0: the pelvis drifts 1 cm / frame
    frames = torch.ones(2, 3, dtype=torch.bool)
    errors = velocity_error_per_clip(moved, reference, frames)
    assert errors.tolist() == pytest.approx([FPS * 0.01 / NUM_JOINTS, 0.0])


def gait_term(contacts, contact: float, velocity: float = 0.0) -> DecodedGaitTerm:
    return DecodedGaitTerm(
        SlidingDecoder(), unit_stats(), contacts, NoiseSchedule(), contact, velocity
    )


def latents(first: list[float], tokens: int = 2) -> torch.Tensor:
    """(B, tokens, LATENT) zeros but z[b, 0, 0] = first[b] (the stub's speed factor)."""
    z = torch.zeros(len(first), tokens, LATENT)
    z[:, 0, 0] = torch.tensor(first)
    return z


def v_for(x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The v whose x0 estimate at (x_t, t) is x0: v = (alpha x_t - x0) / sigma."""
    s = NoiseSchedule()
    return (s.alpha(t, x_t) * x_t - x0) / s.sigma(t, x_t)


def test_the_contact_term_weighs_each_clip_by_alpha_squared_and_skips_unplanted_clips() -> None:
    planted = np.ones((8, 4))  # 8 frames, every foot joint planted
    contacts = [planted, np.zeros((8, 4)), planted[:5]]  # clip 2 is 5 frames long
    term = gait_term(contacts, contact=2.0)
    mask = torch.ones(3, 2, dtype=torch.bool)  # 2 tokens = 8 frames each
    t = torch.tensor([10, 500, 900])
    x_t = torch.randn(3, 2, LATENT)
    x0_hat = latents([1.0, 1.0, 3.0])  # clip 2 slides three times as fast
    a2 = NoiseSchedule().alpha(t) ** 2
    speed = FPS * STEP_M  # 0.2 m/s on every planted pair at speed factor 1
    expected = 2.0 * float((a2 * torch.tensor([speed, 0.0, 3 * speed])).sum()) / 3
    value = term.for_batch([0, 1, 2], x0_hat, mask)(x_t, t, v_for(x0_hat, x_t, t))
    assert float(value) == pytest.approx(expected, rel=1e-4)
    zero = gait_term(contacts, contact=0.0).for_batch([0], x0_hat[:1], mask[:1])
    assert float(zero(x_t[:1], t[:1], v_for(x0_hat[:1], x_t[:1], t[:1]))) == 0.0


def test_the_velocity_term_compares_with_the_clean_latents_decoding() -> None:
    term = gait_term([np.zeros((8, 4))], contact=0.0, velocity=3.0)  # no contacts: velocity only
    mask = torch.ones(1, 2, dtype=torch.bool)
    t = torch.tensor([100])
    x_t = torch.randn(1, 2, LATENT)
    clean = latents([1.0])  # the clip's root moves 1 cm / frame
    batch = term.for_batch([0], clean, mask)
    assert float(batch(x_t, t, v_for(clean, x_t, t))) == pytest.approx(0.0, abs=1e-5)
    standing = latents([0.0])  # an estimate that stands still: every joint is 0.2 m/s off
    a2 = float(NoiseSchedule().alpha(t) ** 2)
    expected = 3.0 * a2 * FPS * STEP_M
    assert float(batch(x_t, t, v_for(standing, x_t, t))) == pytest.approx(expected, rel=1e-4)


def test_the_term_reads_the_raw_contact_features_of_normalised_clips() -> None:
    stats = unit_stats()
    stats["feature_mean"][FOOT_CONTACT] = 0.5
    stats["feature_std"][FOOT_CONTACT] = 0.5
    clip = np.full((8, FEATURE_DIM), -1.0, np.float32)  # raw contacts 0: nothing planted
    clip[:, FOOT_CONTACT.start] = 1.0  # raw 1.0: the left ankle planted
    raw = DecodedGaitTerm.raw_contacts([clip], stats)
    term = DecodedGaitTerm(SlidingDecoder(), stats, raw, NoiseSchedule(), 1.0)
    assert term.planted[0].sum() == 8 and term.planted[0][:, 0].all()


def test_the_gradient_reaches_the_prediction_and_the_vae_stays_frozen() -> None:
    from esd.models.bundled.vae import MotionVAE, VAEConfig

    vae = MotionVAE(VAEConfig(latent_dim=LATENT, hidden_dim=16))
    term = DecodedGaitTerm(vae, unit_stats(), [np.ones((8, 4))], NoiseSchedule(), 1.0, 1.0)
    v = torch.randn(1, 2, LATENT, requires_grad=True)
    clean = torch.randn(1, 2, LATENT)
    value = term.for_batch([0], clean, torch.ones(1, 2, dtype=torch.bool))(
        torch.randn(1, 2, LATENT), torch.tensor([10]), v
    )
    value.backward()
    assert v.grad is not None and v.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in vae.parameters())


def test_sample_indexed_is_sample_plus_the_clip_indices() -> None:
    latents = [torch.full((4 + i % 3, 2), float(i)) for i in range(30)]
    bank = SimpleNamespace(index={"": 0, "c": 1})
    cfg = DenoiserTrainConfig(batch_size=6, cond_drop=0.0)
    batcher = LatentBatcher(latents, [["c"]] * 30, bank, cfg)
    cpu = torch.device("cpu")
    z0, mask, caps = batcher.sample(torch.Generator().manual_seed(3), cpu)
    z0b, maskb, capsb, picks = batcher.sample_indexed(torch.Generator().manual_seed(3), cpu)
    assert torch.equal(z0, z0b) and torch.equal(mask, maskb) and torch.equal(caps, capsb)
    assert [int(z0b[row, 0, 0]) for row in range(6)] == picks


def test_init_weights_start_the_model_and_its_ema() -> None:
    model_cfg = DenoiserConfig(latent_dim=2, model_dim=16, num_layers=1, text_dim=8)
    source = LatentDenoiser(model_cfg)
    with torch.no_grad():
        for p in source.parameters():
            p.fill_(0.25)
    cfg = DenoiserTrainConfig(steps=0)
    ema = train_denoiser(None, NoiseSchedule(), model_cfg, cfg, torch.device("cpu"),
                         init_weights=source.state_dict())  # fmt: skip
    assert all(torch.equal(p, q) for p, q in zip(ema.parameters(), source.parameters()))


TINY = ["--model_dim", "32", "--num_layers", "1", "--latent_dim", "4", "--batch_size", "8"]


def test_finetune_keeps_the_source_vae_and_trains_with_the_contact_term(tmp_path) -> None:
    data = write_fake_humanml3d(tmp_path / "data", lengths=[60, 80, 100, 45, 120, 70] * 3)
    common = ["base", "--data_root", str(data), "--checkpoints_dir", str(tmp_path), *TINY]
    main([*common, "--name", "src", "--vae_steps", "2", "--denoiser_steps", "2"])
    main([*common, "--name", "ft", "--finetune_from", "src", "--denoiser_steps", "2",
          "--denoiser_contact_weight", "1", "--denoiser_velocity_weight", "0.5",
          "--denoiser_lr", "1e-5"])  # fmt: skip
    source = ck.load_checkpoint(ck.run_paths(tmp_path, "src").best, kind="base")
    tuned = ck.load_checkpoint(ck.run_paths(tmp_path, "ft").latest, kind="base")
    assert all(torch.equal(source["vae"][k], tuned["vae"][k]) for k in source["vae"])
    assert tuned["train_state"]["step"] == 2
    assert not all(
        torch.equal(source["denoiser"][k], tuned["train_state"]["denoiser"][k])
        for k in source["denoiser"]
    )
    log = (ck.run_paths(tmp_path, "ft").logs_dir / "train.log").read_text()
    assert "fine-tuning the denoiser of src" in log
    assert "contact weight 1, velocity weight 0.5" in log


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--denoiser_contact_weight", "-1"], "--denoiser_contact_weight must be >= 0"),
        (["--denoiser_velocity_weight", "-1"], "--denoiser_velocity_weight must be >= 0"),
        (["--denoiser_lr", "0"], "--denoiser_lr must be > 0"),
        (["evaluator", "--finetune_from", "x"], "--finetune_from applies to the base stage only"),
        (["--finetune_from", "nosuchmodel"], "unknown model 'nosuchmodel'"),
        (["--name", "same", "--finetune_from", "same"], "choose another --name"),
    ],
)
def test_bad_finetune_flags_are_one_line_errors(argv, message, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoints_dir", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "t2m").exists()  # nothing written
