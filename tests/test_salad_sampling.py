"""SALAD's sampler preset through the generic generator and sampler, against SALAD's outputs
(ddim_cfg_sampling.npz): the batch-1 Text2Motion path (no mask, every step of the trajectory)
and the batched DenoiserTrainer.generate path (length mask, the extra random draw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from esd.models.diffusion import DDIMStep, ddim_sample
from esd.models.generator import MotionGenerator
from esd.models.salad.family import SALAD, replay_noise
from esd.models.salad.folder import load_salad_model

TOLERANCE = 1e-5  # max |ours - SALAD's| (latents up to ~6; measured <= 7e-6)
SHAPE = (16, 7, 32)  # latent (N, P, C) of the 64-frame reference clips


@pytest.fixture(scope="module")
def generator(salad_fixture_dir: Path, salad_text_encoder) -> MotionGenerator:
    model = load_salad_model(salad_fixture_dir / "checkpoints/t2m/t2m_denoiser_vpred_vaegelu")
    return MotionGenerator(
        model.vae, model.denoiser, model.schedule, model.stats, salad_text_encoder,
        torch.device("cpu"), {"salad_options": model.options}, SALAD,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference(salad_fixture_dir: Path) -> dict[str, np.ndarray]:
    return dict(np.load(salad_fixture_dir / "reference" / "ddim_cfg_sampling.npz"))


def latents(x: torch.Tensor) -> np.ndarray:
    """Generic (B, N, 224) -> SALAD's (B, N, 7, 32)."""
    return x.reshape(x.shape[0], *SHAPE).numpy()


def test_preset(generator: MotionGenerator, reference) -> None:
    assert (generator.sampler.guidance, generator.sampler.steps) == (7.5, 50)
    assert float(reference["single_cfg_scale"]) == generator.sampler.guidance
    assert generator.schedule.kind == "scaled_linear" and generator.schedule.spacing == "leading"
    assert np.array_equal(generator.schedule.alphas_cumprod.numpy(), reference["alphas_cumprod"])


def test_text2motion_path_matches_every_step(generator: MotionGenerator, reference) -> None:
    """Batch 1, "" and the prompt as the two CFG branches, no length mask. Mutants killed:
    the final alpha_bar_prev taken from the table instead of 1, trailing spacing, CFG on the
    wrong branch, latents not flattened in SALAD's memory order."""
    x_T = torch.from_numpy(reference["single_init_noise"]).reshape(1, 16, -1)
    cond, uncond = generator.encode_prompts([str(reference["single_text"])])
    steps: list[DDIMStep] = []
    with torch.no_grad():
        z0 = ddim_sample(
            generator.denoise_fn(generator.latent_mask([64])), x_T, generator.schedule,
            num_steps=50, guidance_scale=7.5, cond=cond, uncond=uncond, callback=steps.append,
        )  # fmt: skip
        motion = SALAD.decode(generator.vae, z0, torch.tensor([16]))
    trajectory = [latents(s.x_t) for s in steps[1:]] + [latents(z0)]
    assert [int(s.t[0]) for s in steps] == reference["timesteps_50"].tolist()
    for i, point in enumerate(trajectory):
        assert np.abs(point - reference["single_trajectory"][i]).max() <= TOLERANCE, i
    assert np.abs(latents(z0) - reference["single_final_latent"]).max() <= TOLERANCE
    assert np.abs(motion.numpy() - reference["single_motion"]).max() <= TOLERANCE


def test_evaluation_path_matches(generator: MotionGenerator, reference) -> None:
    """Batched CFG with the length mask after every step, noise after the extra draw.
    Mutant killed: no length mask after each step."""
    lengths = reference["batch_m_lens"].tolist()
    x_T = replay_noise(2, 16, int(reference["batch_seed"]))
    assert np.array_equal(latents(x_T), reference["batch_noise"])  # bitwise
    mask = generator.latent_mask(lengths)
    cond, uncond = generator.encode_prompts([str(t) for t in reference["batch_texts"]])
    with torch.no_grad():
        z0 = ddim_sample(
            generator.denoise_fn(mask), x_T, generator.schedule, num_steps=50,
            guidance_scale=7.5, cond=cond, uncond=uncond, mask=mask,
        )  # fmt: skip
        motion = SALAD.decode(generator.vae, z0, mask.sum(1))
    assert np.abs(latents(z0) - reference["batch_final_latent"]).max() <= TOLERANCE
    assert not latents(z0)[1, 12:].any()  # masked after every step: padding is exactly 0
    assert np.abs(motion.numpy() - reference["batch_motion"]).max() <= TOLERANCE


def test_sample_latents_is_the_evaluation_path(generator: MotionGenerator, reference) -> None:
    """The generator's own sampling (family defaults, mask each step) gives the same latents
    from the same noise (its noise policy differs: per-item seeds)."""
    lengths = reference["batch_m_lens"].tolist()
    x_T = replay_noise(2, 16, int(reference["batch_seed"]))
    original = generator.initial_noise
    generator.initial_noise = lambda count, tokens, seed: x_T  # type: ignore[method-assign]
    try:
        z0, mask = generator.sample_latents([str(t) for t in reference["batch_texts"]], lengths)
    finally:
        generator.initial_noise = original  # type: ignore[method-assign]
    assert mask.sum(1).tolist() == [16, 12]
    assert np.abs(latents(z0) - reference["batch_final_latent"]).max() <= TOLERANCE


def test_generate_end_to_end(generator: MotionGenerator, reference) -> None:
    texts = [str(t) for t in reference["batch_texts"]]
    out = generator.generate(texts, lengths=[64, 46], num_steps=10, seed=3)
    assert out.features.shape == (2, 64, 263) and out.joints.shape == (2, 64, 22, 3)
    assert np.isfinite(out.joints).all()
    again = generator.generate(texts[:1], lengths=[64], num_steps=10, seed=3)
    np.testing.assert_allclose(again.features[0], out.features[0], atol=1e-4)
    latents_ = generator.encode_features([out.features[0], out.features[1, :46]])
    assert [tuple(z.shape) for z in latents_] == [(16, 224), (11, 224)]
