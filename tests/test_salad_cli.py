"""The command-line tools on a user's SALAD ``checkpoints/`` folder (the conformance fixtures laid
out as SALAD's README leaves them): ``python -m esd.generate``.

The fixture's tiny CLIP gives 8-d token states while the reduced fixture denoiser reads CLIP
ViT-B/32's 512-d ones, so the layout's denoiser is the fixture's with a random 8-d ``word_emb``,
written with ``write_salad_model`` (SALAD's own format): generating from it also proves that a
written-back model loads as a SALAD folder.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.generate import main as generate_main
from esd.models.generator import MotionGenerator
from esd.models.salad.denoiser import SaladDenoiser
from esd.models.salad.folder import load_salad_model, write_salad_model

NAME = "t2m_denoiser_vpred_vaegelu"
CLIP = "clip-vit-base-patch32"
TINY_CLIP_WIDTH = 8  # text width of the fixture's tiny CLIP
PROMPTS = ["--prompt", "a person kicks with the left leg.", "--prompt", "a man walks forward"]


def clip_width_denoiser(source: Path, width: int) -> tuple[SaladDenoiser, dict]:
    """The fixture denoiser of folder ``source`` with a random ``word_emb`` reading ``width``-d
    token states (every other tensor unchanged), and its options."""
    model = load_salad_model(source)
    denoiser = SaladDenoiser(replace(model.denoiser.cfg, text_dim=width))
    state = model.denoiser.state_dict()
    generator = torch.Generator().manual_seed(0)
    for key in ("word_emb.weight", "word_emb.bias"):
        state[key] = 0.3 * torch.randn(denoiser.state_dict()[key].shape, generator=generator)
    denoiser.load_state_dict(state)
    return denoiser, model.options


@pytest.fixture(scope="module")
def salad_home(salad_fixture_dir: Path, tmp_path_factory) -> Path:
    """``home/checkpoints/{t2m/..., clip-vit-base-patch32}`` (a user's SALAD folder, the tiny
    CLIP in SALAD's default place) and ``home/hub/models--openai--clip-vit-base-patch32`` (the
    same CLIP as a Hugging Face hub-cache entry)."""
    home = tmp_path_factory.mktemp("salad_home")
    checkpoints = home / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", checkpoints)
    denoiser, options = clip_width_denoiser(checkpoints / "t2m" / NAME, TINY_CLIP_WIDTH)
    write_salad_model(checkpoints / "t2m" / NAME, denoiser, options, epoch=0)
    tiny_clip = salad_fixture_dir / "clip_tiny" / CLIP
    shutil.copytree(tiny_clip, checkpoints / CLIP)
    shutil.copytree(tiny_clip, home / "hub" / "models--openai--clip-vit-base-patch32" / "snapshots"
                    / "0123abcd")  # fmt: skip
    return home


def generate(checkpoints: Path, out: Path, *extra: str) -> int:
    argv = ["--name", NAME, "--checkpoints_dir", str(checkpoints), "--device", "cpu"]
    return generate_main([*argv, *PROMPTS, "--seconds", "2.5", "--out", str(out), *extra])


def test_generates_from_a_salad_folder_with_salad_defaults(salad_home: Path, tmp_path, capsys):
    """Family detected, SALAD's sampler (7.5 / 50) without --steps / --guidance (the CLI's
    output equals the library's with 7.5 / 50 given), shapes, the seed decides the noise."""
    checkpoints = salad_home / "checkpoints"
    assert generate(checkpoints, tmp_path / "a.npy", "--features", str(tmp_path / "f.npy")) == 0
    assert "salad model" in capsys.readouterr().err
    a, features = np.load(tmp_path / "a.npy"), np.load(tmp_path / "f.npy")
    assert a.shape == (2, 50, 22, 3) and a.dtype == np.float32 and np.isfinite(a).all()
    assert features.shape == (2, 50, 263) and features.dtype == np.float32
    expected = MotionGenerator.from_checkpoint(NAME, None, checkpoints, "cpu").generate(
        ["a person kicks with the left leg.", "a man walks forward"], seconds=2.5, seed=0,
        num_steps=50, guidance_scale=7.5,
    )  # fmt: skip
    np.testing.assert_array_equal(a, expected.joints)  # a second run, the same motions
    np.testing.assert_array_equal(features, expected.features)
    generate(checkpoints, tmp_path / "s0.npy", "--steps", "10")
    generate(checkpoints, tmp_path / "s1.npy", "--steps", "10", "--seed", "1")
    assert not np.allclose(np.load(tmp_path / "s0.npy"), np.load(tmp_path / "s1.npy"))


def test_clip_path_takes_a_hub_cache_entry(salad_home: Path, tmp_path) -> None:
    """--clip_path to a hub-cache entry (its single snapshot) gives the same motions as the CLIP
    in SALAD's default place."""
    hub = salad_home / "hub" / "models--openai--clip-vit-base-patch32"
    generate(salad_home / "checkpoints", tmp_path / "default.npy", "--steps", "10")
    generate(salad_home / "checkpoints", tmp_path / "hub.npy", "--steps", "10", "--clip_path",
             str(hub))  # fmt: skip
    np.testing.assert_array_equal(np.load(tmp_path / "default.npy"), np.load(tmp_path / "hub.npy"))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_a_salad_folder_without_clip_is_one_line(salad_home: Path, tmp_path, capsys) -> None:
    bare = tmp_path / "checkpoints"
    shutil.copytree(salad_home / "checkpoints" / "t2m", bare / "t2m")
    with pytest.raises(SystemExit) as exit_info:
        generate(bare, tmp_path / "x.npy")
    err = one_error_line(capsys)
    assert exit_info.value.code == 2 and str(bare / CLIP) in err  # where it looked
    assert "--clip_path" in err and "Hugging Face cache snapshot" in err
    with pytest.raises(SystemExit):
        generate(bare, tmp_path / "x.npy", "--clip_path", str(tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in one_error_line(capsys)
    assert not (tmp_path / "x.npy").exists()


def test_a_clip_of_another_width_is_one_line(salad_fixture_dir: Path, tmp_path, capsys) -> None:
    """The fixture's own denoiser reads 512-d states; the tiny CLIP gives 8-d ones."""
    tiny_clip = salad_fixture_dir / "clip_tiny" / CLIP
    with pytest.raises(SystemExit):
        generate(salad_fixture_dir / "checkpoints", tmp_path / "x.npy", "--clip_path",
                 str(tiny_clip))  # fmt: skip
    err = one_error_line(capsys)
    assert "8-d token states" in err and "512-d" in err and "--clip_path" in err
