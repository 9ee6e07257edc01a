"""CLIP text encoder from a local folder: SALAD's tokens, states and mask on the tiny CLIP
(clip_tiny_text.npz), both weight files, the hub-cache layout, the TextBatch contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.models.text.clip import (
    CONTEXT_LENGTH,
    ClipTextEncoder,
    resolve_clip_dir,
    shared_clip_encoder,
)

TOLERANCE = 1e-5  # eager attention; measured <= 2e-6 on this CPU (bitwise on the fixture's)


@pytest.fixture(scope="module")
def reference(salad_fixture_dir: Path) -> dict[str, np.ndarray]:
    return dict(np.load(salad_fixture_dir / "reference" / "clip_tiny_text.npz"))


@pytest.fixture(scope="module")
def clip_dir(salad_fixture_dir: Path) -> Path:
    return salad_fixture_dir / "clip_tiny" / "clip-vit-base-patch32"


def only(folder: Path, tmp: Path, weights: str) -> Path:
    """A copy of the CLIP folder with one weight file."""
    target = tmp / "clip-vit-base-patch32"
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.bin", "*.safetensors"))
    shutil.copy(folder / weights, target / weights)
    return target


@pytest.mark.parametrize("weights", ["model.safetensors", "pytorch_model.bin"])
def test_states_and_mask_match_salad(clip_dir, reference, tmp_path, weights) -> None:
    """``text_model(ids).last_hidden_state`` with no attention mask, from either weight file
    (the legacy .bin carries position_ids and loads with weights_only=True). Mutant killed:
    the tokenizer's mask passed to the text model (the pad positions' states change)."""
    encoder = ClipTextEncoder(only(clip_dir, tmp_path, weights))
    captions = [str(c) for c in reference["captions"]]
    ids, mask = encoder.tokenize(captions)
    assert np.array_equal(ids.numpy(), reference["input_ids"])
    assert np.array_equal(mask.numpy(), reference["attention_mask"])
    assert np.array_equal(ids.argmax(dim=1).numpy(), reference["token_pos"])  # EOS positions
    states, _ = encoder.hidden_states(captions)
    assert states.shape == (4, CONTEXT_LENGTH, 8)
    assert np.abs(states.numpy() - reference["last_hidden_state"]).max() <= TOLERANCE


def test_tokens_of_the_denoiser_fixtures(clip_dir, salad_fixture_dir) -> None:
    """The real CLIP BPE tokenizer gives clip_token_states.npz's ids and masks, bitwise."""
    ref = np.load(salad_fixture_dir / "reference" / "clip_token_states.npz")
    ids, mask = ClipTextEncoder(clip_dir).tokenize([str(c) for c in ref["captions"]])
    assert np.array_equal(ids.numpy(), ref["input_ids"])
    assert np.array_equal(mask.numpy(), ref["attention_mask"])
    assert ref["states"].shape == (4, CONTEXT_LENGTH, 512)  # stand-ins for ViT-B/32 states


def test_legacy_bin_loads_with_weights_only(clip_dir, tmp_path, monkeypatch) -> None:
    seen = []
    original = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    ClipTextEncoder(only(clip_dir, tmp_path, "pytorch_model.bin")).load()
    assert seen and all(flag is True for flag in seen)


def test_encode_returns_the_projects_text_batch(clip_dir, reference) -> None:
    """ "" is BOS + EOS (not an all-False row); masked states are zero; prompts are cached and
    independent of the batch they come in."""
    encoder = ClipTextEncoder(clip_dir)
    captions = [str(c) for c in reference["captions"]]
    batch = encoder.encode(captions)
    assert batch.states.shape == (4, CONTEXT_LENGTH, encoder.dim) and encoder.dim == 8
    assert np.array_equal(batch.mask.numpy(), reference["attention_mask"])
    assert batch.mask[0].sum() == 2 and not bool(batch.is_null.any())
    assert torch.equal(batch.states[~batch.mask], torch.zeros(int((~batch.mask).sum()), 8))
    valid = reference["attention_mask"][..., None]
    assert np.abs((batch.states.numpy() - reference["last_hidden_state"]) * valid).max() <= 1e-5
    again = encoder.encode([captions[2], "  " + captions[1] + " "])
    assert torch.equal(again.states[1], batch.states[1]) and torch.equal(
        again.mask, batch.mask[[2, 1]]
    )
    with pytest.raises(ValueError, match="list of prompts"):
        encoder.encode("a person kicks")


def test_long_prompts_are_truncated_with_a_warning(clip_dir) -> None:
    encoder = ClipTextEncoder(clip_dir)
    with pytest.warns(UserWarning, match="truncated"):
        batch = encoder.encode(["kick " * 100])
    assert batch.mask.all()


def test_folder_resolution(clip_dir, tmp_path) -> None:
    """SALAD's folder, a hub-cache entry with one snapshot, or one clear error."""
    assert resolve_clip_dir(clip_dir) == clip_dir
    entry = tmp_path / "models--openai--clip-vit-base-patch32"
    snapshot = entry / "snapshots" / "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268"
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(clip_dir, target_is_directory=True)
    assert resolve_clip_dir(entry) == snapshot
    assert shared_clip_encoder(entry) is shared_clip_encoder(snapshot)
    with pytest.raises(FileNotFoundError, match="clip_path"):
        resolve_clip_dir(tmp_path / "nowhere")
