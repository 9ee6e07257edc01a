"""The T2M evaluator's networks and loader against SALAD's reference fixtures (random weights)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from esd.evaluation.t2m import evaluator as t2m_evaluator
from esd.evaluation.t2m.networks import T2MSizes, T2MWeightsError, build_networks

TOLERANCE = 1e-5  # the conformance bound


@pytest.fixture(scope="module")
def reference(salad_fixture_dir):
    with np.load(salad_fixture_dir / "reference" / "evaluator.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def evaluator(salad_fixture_dir):
    return t2m_evaluator.load_t2m_evaluator(salad_fixture_dir / "checkpoints")


def _shapes(tensors: list[dict]) -> dict[str, tuple[int, ...]]:
    return {t["key"]: tuple(t["shape"]) for t in tensors}


def test_real_size_networks_match_the_manifest(salad_fixture_dir):
    manifest = json.loads(
        (salad_fixture_dir / "manifests" / "t2m_evaluator_text_mot_match.json").read_text()
    )
    parts = ("movement_encoder", "text_encoder", "motion_encoder")
    expected = {part: _shapes(manifest[part]["tensors"]) for part in parts}
    states = {
        part: {key: torch.empty(shape, device="meta") for key, shape in shapes.items()}
        for part, shapes in expected.items()
    }
    sizes = T2MSizes.from_state(states)
    assert (sizes.movement_hidden, sizes.text_hidden, sizes.motion_hidden, sizes.coemb) == (
        512,
        512,
        1024,
        512,
    )
    with torch.device("meta"):
        networks = build_networks(sizes)
    for part, net in zip(parts, networks, strict=True):
        got = {key: tuple(value.shape) for key, value in net.state_dict().items()}
        assert got == expected[part], part


def test_loads_the_fixture_with_sizes_from_the_shapes(evaluator, reference):
    assert evaluator.sizes == T2MSizes(259, 64, 32, 300, 15, 32, 48, 16)
    assert (evaluator.unit_length, evaluator.max_text_len) == (4, 20)
    np.testing.assert_array_equal(evaluator.meta_mean, reference["meta_mean"])
    np.testing.assert_array_equal(evaluator.meta_std, reference["meta_std"])


def test_movements_match_the_reference(evaluator, reference):
    movements = evaluator.movements(reference["motions"]).numpy()  # input order
    np.testing.assert_allclose(movements, reference["movements"], atol=TOLERANCE)


def test_motion_embeddings_are_in_align_order(evaluator, reference):
    emb, align = evaluator.motion_embeddings(reference["motions"], reference["m_lens"])
    np.testing.assert_array_equal(align, reference["align_idx"])
    np.testing.assert_allclose(emb, reference["motion_emb_only"], atol=TOLERANCE)


def test_co_embeddings_match_the_reference(evaluator, reference):
    text, motion, align = evaluator.co_embeddings(
        reference["word_embs"],
        reference["pos_ohot"],
        reference["cap_lens"],
        reference["motions"],
        reference["m_lens"],
    )
    np.testing.assert_array_equal(align, [1, 2, 0])
    np.testing.assert_allclose(text, reference["text_emb_aligned"], atol=TOLERANCE)
    np.testing.assert_allclose(motion, reference["motion_emb_aligned"], atol=TOLERANCE)
    # the text encoder accepts any order (packing sorts): same rows for a permuted batch
    perm = np.array([2, 0, 1])
    text_perm = evaluator.text_embeddings(
        reference["word_embs"][perm], reference["pos_ohot"][perm], reference["cap_lens"][perm]
    )
    own = evaluator.text_embeddings(
        reference["word_embs"], reference["pos_ohot"], reference["cap_lens"]
    )
    np.testing.assert_allclose(text_perm, own[perm], atol=1e-6)


def test_padding_after_m_len_is_ignored_by_the_motion_gru(evaluator, reference):
    motions = reference["motions"].copy()
    emb, _ = evaluator.motion_embeddings(motions, reference["m_lens"])
    motions[0, 120:] = 5.0  # clip 0: 80 frames = 20 movement steps, which see frames < 83 only
    changed, _ = evaluator.motion_embeddings(motions, reference["m_lens"])
    np.testing.assert_allclose(changed, emb, atol=TOLERANCE)


def test_missing_and_foreign_files(tmp_path, salad_fixture_dir):
    with pytest.raises(t2m_evaluator.T2MFilesError, match=r"not found: .*finest\.tar"):
        t2m_evaluator.load_t2m_evaluator(tmp_path)
    root = tmp_path / "ckpt"
    shutil.copytree(
        salad_fixture_dir / "checkpoints" / "t2m" / "Comp_v6_KLD005",
        root / "t2m" / "Comp_v6_KLD005",
    )
    matcher = root / "t2m" / "text_mot_match" / "model" / "finest.tar"
    matcher.parent.mkdir(parents=True)
    matcher.write_bytes(b"not a checkpoint")
    with pytest.raises(t2m_evaluator.T2MFilesError, match="not a readable T2M checkpoint"):
        t2m_evaluator.load_t2m_evaluator(root)
    original = torch.load(
        salad_fixture_dir / "checkpoints" / "t2m" / "text_mot_match" / "model" / "finest.tar",
        weights_only=True,
    )
    broken = dict(original, motion_encoder=dict(original["motion_encoder"]))
    del broken["motion_encoder"]["output_net.1.bias"]
    torch.save(broken, matcher)
    with pytest.raises(t2m_evaluator.T2MFilesError, match="motion_encoder does not load"):
        t2m_evaluator.load_t2m_evaluator(root)
    del broken["text_encoder"]
    torch.save(broken, matcher)
    with pytest.raises(t2m_evaluator.T2MFilesError, match="lacks the state dicts"):
        t2m_evaluator.load_t2m_evaluator(root)


def test_sizes_must_agree():
    sizes = T2MSizes(259, 8, 6, 300, 15, 4, 5, 3)
    movement, text, motion = build_networks(sizes)
    states = {
        "movement_encoder": movement.state_dict(),
        "text_encoder": text.state_dict(),
        "motion_encoder": build_networks(T2MSizes(259, 8, 7, 300, 15, 4, 5, 3))[2].state_dict(),
    }
    with pytest.raises(T2MWeightsError, match="sizes disagree"):
        T2MSizes.from_state(states)
    states["motion_encoder"] = motion.state_dict()
    assert T2MSizes.from_state(states) == sizes
