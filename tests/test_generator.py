import numpy as np
import pytest
import torch

from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator, frames_from_seconds
from tests.tiny import tiny_generator


@pytest.fixture(scope="module")
def gen(text_encoder):
    return tiny_generator(text_encoder)


def test_generate_shapes_and_lengths(gen):
    out = gen.generate(["a person kicking", "a person walking"], lengths=[40, 62], num_steps=10)
    assert out.joints.shape == (2, 62, 22, 3) and out.features.shape == (2, 62, 263)
    assert out.lengths.tolist() == [40, 62]
    joints, features = out.clip(0)
    assert joints.shape == (40, 22, 3) and features.shape == (40, 263)
    assert np.isfinite(out.joints).all()


def test_same_seed_same_motion_whatever_the_batch(gen):
    a = gen.generate(["a person kicking"], lengths=[48], seed=3, num_steps=10)
    b = gen.generate(
        ["a person kicking", "a person jumping"], lengths=[48, 80], seed=3, num_steps=10
    )
    c = gen.generate(["a person kicking"], lengths=[48], seed=4, num_steps=10)
    # fp32 kernels differ with the batch shape; the root trajectory integrates it: 0.1 mm
    np.testing.assert_allclose(a.joints[0], b.joints[0, :48], atol=1e-4)
    assert not np.allclose(a.joints, c.joints)


def test_seconds_are_validated():
    assert frames_from_seconds(6.0) == [120]
    assert frames_from_seconds([2, 9.8]) == [40, 196]
    for bad in (1.0, 10.0, float("nan")):
        with pytest.raises(ValueError, match="seconds must be between"):
            frames_from_seconds(bad)


def test_base_payload_round_trip_and_esd_overlay(gen, text_encoder, tmp_path):
    base = ck.run_paths(tmp_path, "tiny_base")
    ck.save_checkpoint(gen.to_payload(), base.best)
    loaded = MotionGenerator.from_checkpoint(
        "tiny_base", checkpoints_dir=tmp_path, device="cpu", text_encoder=text_encoder
    )
    ref = gen.generate(["a person kicking"], lengths=[40], num_steps=10)
    out = loaded.generate(["a person kicking"], lengths=[40], num_steps=10)
    np.testing.assert_allclose(out.joints, ref.joints, atol=1e-5)

    # an ESD run stores only trained tensors + a reference to its base
    key = next(k for k in gen.denoiser.state_dict() if "cross_attn" in k)
    changed = gen.denoiser.state_dict()[key] + 0.5
    run = ck.run_paths(tmp_path, "tiny_base_ESD_kick")
    ck.save_checkpoint(
        {"kind": "esd", "denoiser": {key: changed}, "base": {"name": "tiny_base"}}, run.latest
    )
    erased = MotionGenerator.from_checkpoint(
        run.name, checkpoints_dir=tmp_path, device="cpu", text_encoder=text_encoder
    )
    torch.testing.assert_close(erased.denoiser.state_dict()[key], changed)
    assert torch.equal(loaded.denoiser.state_dict()[key], gen.denoiser.state_dict()[key])

    ck.save_checkpoint(
        {"kind": "esd", "denoiser": {"nope": changed}, "base": {"name": "tiny_base"}}, run.latest
    )
    with pytest.raises(ck.CheckpointError, match="does not fit"):
        MotionGenerator.from_checkpoint(
            run.name, checkpoints_dir=tmp_path, device="cpu", text_encoder=text_encoder
        )


def test_half_payload_is_smaller_and_still_loads(gen, text_encoder, tmp_path):
    full, half = tmp_path / "full.tar", tmp_path / "half.tar"
    ck.save_checkpoint(gen.to_payload(), full)
    ck.save_checkpoint(gen.to_payload(half=True), half)
    assert half.stat().st_size < 0.7 * full.stat().st_size
    loaded = MotionGenerator.from_payload(
        ck.load_checkpoint(half), torch.device("cpu"), text_encoder
    )
    assert next(loaded.denoiser.parameters()).dtype == torch.float32


def test_the_bundled_family_keeps_its_defaults_and_payload(gen, text_encoder):
    """None = the family's sampler preset (bundled: guidance 2.5, 50 steps, trailing); the
    payload names its family."""
    assert (gen.family.name, gen.sampler.guidance, gen.sampler.steps) == ("bundled", 2.5, 50)
    assert gen.schedule.spacing == "trailing" and gen.schedule.config() == {
        "num_steps": 1000, "kind": "cosine"
    }  # fmt: skip
    default = gen.generate(["a person kicking"], lengths=[40], num_steps=10)
    explicit = gen.generate(["a person kicking"], lengths=[40], num_steps=10, guidance_scale=2.5)
    np.testing.assert_array_equal(default.features, explicit.features)
    payload = gen.to_payload()
    assert payload["family"] == "bundled" and "salad_options" not in payload
    rebuilt = MotionGenerator.from_payload(payload, torch.device("cpu"), text_encoder)
    assert rebuilt.family is gen.family and rebuilt.text_encoder is text_encoder


def test_plant_feet_corrects_each_clip_within_its_length(gen):
    from esd.motion.features import features_to_joints
    from esd.motion.foot_plant import plant_feet

    kwargs = {"lengths": [40, 62], "seed": 2, "num_steps": 10}
    raw = gen.generate(["a person walking", "a person running"], **kwargs)
    planted = gen.generate(["a person walking", "a person running"], plant_feet=True, **kwargs)
    for i, n in enumerate([40, 62]):
        expected = plant_feet(raw.features[i, :n])
        np.testing.assert_allclose(planted.features[i, :n], expected, atol=1e-5)
        np.testing.assert_allclose(planted.joints[i, :n], features_to_joints(expected), atol=1e-4)
        rel = planted.joints[i, :n] - planted.joints[i, :n, :1]  # the pose is not touched
        np.testing.assert_allclose(rel, raw.joints[i, :n] - raw.joints[i, :n, :1], atol=1e-4)
    np.testing.assert_array_equal(planted.features[0, 40:], raw.features[0, 40:])  # padding
