"""`python -m esd.generate` on a tiny base model: the .npy it writes, seeds, and bad input."""

import numpy as np
import pytest

from esd.generate import main
from esd.models import generator
from esd.models.bundled.family import BUNDLED
from esd.models.generator import GeneratedMotion, MotionGenerator
from esd.models.salad.family import SALAD
from tests.tiny import write_tiny_base


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory, text_encoder):
    generator._SHARED_TEXT_ENCODERS["cpu"] = text_encoder  # reuse the session's loaded encoder
    root = tmp_path_factory.mktemp("generate_cli")
    write_tiny_base(root, text_encoder, name="tiny")
    return root


def run(ckpts, out, *extra):
    argv = ["--name", "tiny", "--checkpoints_dir", str(ckpts), "--device", "cpu", "--steps", "10"]
    return main([*argv, "--out", str(out), *extra])


def test_writes_joints_and_features_reproducibly(ckpts, tmp_path):
    prompts = ["--prompt", "a person kicking", "--prompt", "a person jumping"]
    features = ["--features", str(tmp_path / "f.npy")]
    run(ckpts, tmp_path / "a.npy", *prompts, "--seconds", "2.5", *features)
    run(ckpts, tmp_path / "b.npy", *prompts, "--seconds", "2.5")
    run(ckpts, tmp_path / "c.npy", *prompts, "--seconds", "2.5", "--seed", "1")
    a, b, c = (np.load(tmp_path / f"{n}.npy") for n in "abc")
    assert a.shape == (2, 50, 22, 3) and a.dtype == np.float32
    assert np.load(tmp_path / "f.npy").shape == (2, 50, 263)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prompt", "a person kicking", "--seconds", "20"], "seconds must be between"),
        (["--prompt", "   "], "is empty"),
        (["--prompt", "x", "--steps", "3"], "--steps must be at least 10"),
        (["--prompt", "x", "--guidance", "-2"], "--guidance must be between"),
        (["--prompt", "x", "--seed", "-1"], "seed must be >= 0"),
    ],
)
def test_bad_input_is_a_one_line_error(ckpts, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        run(ckpts, tmp_path / "x.npy", *extra)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_unknown_model_lists_the_available_ones(ckpts, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--name", "nope", "--checkpoints_dir", str(ckpts), "--prompt", "x", "--out",
              str(tmp_path / "x.npy")])  # fmt: skip
    err = capsys.readouterr().err
    assert "nope" in err and "tiny" in err


def test_an_over_long_prompt_is_truncated_with_one_warning_line(ckpts, tmp_path, capsys):
    run(ckpts, tmp_path / "long.npy", "--prompt", "a person kicking " * 100, "--seconds", "2")
    assert np.load(tmp_path / "long.npy").shape == (1, 40, 22, 3)
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if line.startswith("warning: prompt")]
    assert len(warning) == 1 and "truncated" in warning[0] and "..." in warning[0]
    assert "UserWarning" not in err and "Token indices sequence length" not in err


def test_sampler_defaults_are_the_model_familys(ckpts, tmp_path, capsys, monkeypatch):
    """No --steps / --guidance: the loaded model's family preset (bundled 2.5 / 50 here; the
    SALAD end-to-end test is in test_salad_cli.py); given values win; --help lists both."""
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for family in (BUNDLED, SALAD):
        assert f"{family.name} {family.sampler.guidance}" in help_text
        assert f"{family.name} {family.sampler.steps}" in help_text
    calls = []

    def spy(self, prompts, seconds, seed, num_steps, guidance_scale, plant_feet):
        calls.append((num_steps, guidance_scale))
        assert plant_feet is False  # off unless --plant_feet
        lengths = np.full(len(prompts), 40)
        return GeneratedMotion(prompts, np.zeros((1, 40, 22, 3)), np.zeros((1, 40, 263)), lengths)

    monkeypatch.setattr(MotionGenerator, "generate", spy)
    main(["--name", "tiny", "--checkpoints_dir", str(ckpts), "--prompt", "a person kicking",
          "--out", str(tmp_path / "x.npy")])  # fmt: skip
    run(ckpts, tmp_path / "y.npy", "--prompt", "a person kicking", "--guidance", "4")
    assert calls == [(BUNDLED.sampler.steps, BUNDLED.sampler.guidance), (10, 4.0)]
    assert "10 DDIM steps, guidance 4" in capsys.readouterr().err


def test_plant_feet_writes_the_planted_motion_of_the_same_sample(ckpts, tmp_path, capsys):
    from esd.motion.features import features_to_joints
    from esd.motion.foot_plant import plant_feet

    prompt = ["--prompt", "a person walking", "--seconds", "2.5"]
    run(ckpts, tmp_path / "raw.npy", *prompt, "--features", str(tmp_path / "raw_f.npy"))
    run(ckpts, tmp_path / "planted.npy", *prompt, "--plant_feet",
        "--features", str(tmp_path / "planted_f.npy"))  # fmt: skip
    assert "feet planted" in capsys.readouterr().err
    raw_f, planted_f = np.load(tmp_path / "raw_f.npy"), np.load(tmp_path / "planted_f.npy")
    np.testing.assert_allclose(planted_f[0], plant_feet(raw_f[0]), atol=1e-5)
    np.testing.assert_allclose(
        np.load(tmp_path / "planted.npy")[0], features_to_joints(planted_f[0]), atol=1e-5
    )
