"""SALAD's skip-transformer denoiser: strict loading, the real-size manifest, ESD-x's parameter
set, masking, and conformance with SALAD's forward passes (denoiser_forward.npz)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.models.bundled.denoiser import count_parameters, select_parameters
from esd.models.salad.denoiser import SaladDenoiser, SaladDenoiserConfig

MODEL_FILE = "net_best_fid.tar"
TOLERANCE = 1e-5  # max |ours - SALAD's| where the order of float operations differs
REDUCED = SaladDenoiserConfig(model_dim=64, num_heads=4, num_layers=3, ff_dim=128)  # the fixture


@pytest.fixture(scope="module")
def fixture_denoiser(salad_fixture_dir: Path) -> SaladDenoiser:
    folder = salad_fixture_dir / "checkpoints/t2m/t2m_denoiser_vpred_vaegelu/model"
    state, epoch = read_state(folder / MODEL_FILE, "denoiser")
    assert epoch == 0 and not any(k.startswith("clip_model.") for k in state)
    denoiser = SaladDenoiser(REDUCED)
    denoiser.load_state_dict(state, strict=True)
    return denoiser.eval()


@pytest.fixture(scope="module")
def reference(salad_fixture_dir: Path) -> dict[str, np.ndarray]:
    return dict(np.load(salad_fixture_dir / "reference" / "denoiser_forward.npz"))


@pytest.fixture(scope="module")
def text(salad_fixture_dir: Path):
    ref = np.load(salad_fixture_dir / "reference" / "clip_token_states.npz")
    captions = [str(c) for c in ref["captions"]]

    def states(texts) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [captions.index(str(t)) for t in np.atleast_1d(texts)]
        return torch.from_numpy(ref["states"][rows]), torch.from_numpy(ref["attention_mask"][rows])

    return states


def read_state(path: Path, key: str) -> tuple[dict[str, torch.Tensor], int]:
    data = torch.load(path, map_location="cpu", weights_only=True)
    return data[key], data["epoch"]


def manifest(salad_fixture_dir: Path, name: str) -> list[tuple[str, list[int]]]:
    data = json.loads((salad_fixture_dir / "manifests" / name).read_text())
    return [(t["key"], t["shape"]) for t in data["tensors"]]


def test_real_and_reduced_manifests_match_key_for_key(salad_fixture_dir: Path) -> None:
    with torch.device("meta"):
        real, reduced = SaladDenoiser(SaladDenoiserConfig()), SaladDenoiser(REDUCED)
    for model, name in ((real, "salad_denoiser_t2m_denoiser_vpred_vaegelu.json"),
                        (reduced, "fixture_denoiser_reduced.json")):  # fmt: skip
        ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
        assert ours == manifest(salad_fixture_dir, name)  # keys, shapes and SALAD's order
    assert count_parameters(real) == 9_894_176  # + the (1, 5000, 256) pe buffer
    assert sum(v.numel() for v in real.state_dict().values()) == 11_174_176


def test_esd_x_trains_exactly_the_cross_attention_projections() -> None:
    """ESD-x on SALAD at real size: the 40 cross_attn.W{q,k,v,o} weights and biases, 1.32 M."""
    with torch.device("meta"):
        real = SaladDenoiser(SaladDenoiserConfig())
    names = select_parameters(real, "esd-x")
    assert len(names) == 40 and count_parameters(real, names) == 1_315_840
    assert {n.split(".cross_attn.")[1] for n in names} == {
        f"W{p}.{w}" for p in "qkvo" for w in ("weight", "bias")
    }
    rest = select_parameters(real, "esd-u")
    assert not set(rest) & set(names) and len(rest) + 40 == len(select_parameters(real, "full"))


def test_forward_matches_salad(fixture_denoiser, reference, text) -> None:
    """Masked, unmasked, unconditional ("" states) and single (0-dim t) passes, <= 1e-5.
    Mutants killed: FiLM's (scale, shift) swapped, the timestep sinusoid ordered [sin, cos]."""
    x, t = torch.from_numpy(reference["x"]), torch.from_numpy(reference["timesteps"])
    lengths = torch.from_numpy(reference["len_mask"])
    states, mask = text(reference["texts"])
    null, null_mask = text(["", ""])
    with torch.no_grad():
        outputs = {
            "timestep_emb": fixture_denoiser.timestep_emb(t),
            "out_masked": fixture_denoiser(x, t, states, mask, lengths),
            "out_nomask": fixture_denoiser(x, t, states, mask),
            "out_uncond_masked": fixture_denoiser(x, t, null, null_mask, lengths),
            "out_single": fixture_denoiser(
                torch.from_numpy(reference["single_x"]),
                torch.tensor(int(reference["single_t"])),
                *text(reference["single_text"]),
            ),
        }
    for name, ours in outputs.items():
        assert ours.shape == reference[name].shape
        assert np.abs(ours.numpy() - reference[name]).max() <= TOLERANCE, name


def test_masked_text_tokens_and_padded_frames_never_count(fixture_denoiser, reference, text):
    """Zeroing (or scrambling) masked text states changes nothing, bitwise (their attention
    weight is exactly 0); valid frames do not depend on padded ones."""
    x, t = torch.from_numpy(reference["x"]), torch.from_numpy(reference["timesteps"])
    lengths = torch.from_numpy(reference["len_mask"])
    states, mask = text(reference["texts"])
    with torch.no_grad():
        out = fixture_denoiser(x, t, states, mask, lengths)
        zeroed = fixture_denoiser(x, t, states * mask[..., None], mask, lengths)
        assert torch.equal(out, zeroed)
        noisy = torch.where(lengths[:, :, None, None], x, torch.randn_like(x) * 10)
        padded = fixture_denoiser(noisy, t, states, mask, lengths)
    valid = lengths[:, :, None, None].expand_as(out)
    assert torch.allclose(out[valid], padded[valid], atol=1e-5, rtol=0)


def test_input_errors_are_clear(fixture_denoiser) -> None:
    with pytest.raises(ValueError, match=r"x must be \(B, T, 7, 32\)"):
        fixture_denoiser(torch.zeros(1, 4, 224), torch.tensor([1]), torch.zeros(1, 77, 512))
    with pytest.raises(ValueError, match="text must be"):
        fixture_denoiser(torch.zeros(1, 4, 7, 32), torch.tensor([1]), torch.zeros(1, 77, 8))
    with pytest.raises(ValueError, match="positional table"):
        fixture_denoiser(torch.zeros(1, 715, 7, 32), torch.tensor([1]), torch.zeros(1, 77, 512))
    with pytest.raises(ValueError, match="odd"):
        SaladDenoiserConfig(num_layers=4)
