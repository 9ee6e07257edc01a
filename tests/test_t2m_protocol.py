"""The T2M protocol end to end on a tiny HumanML3D-layout folder, with the reduced fixture
evaluator (random weights) and 2 replications; and the keyword splits."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.evaluation.t2m import protocol, sampling
from esd.evaluation.t2m.evaluator import load_t2m_evaluator
from esd.evaluation.t2m.splits import keyword_splits
from esd.evaluation.t2m.testset import Caption, T2MItem, load_test_items
from esd.evaluation.t2m.vectorizer import load_word_vectorizer

CAPTIONS = (
    "a man kicks something with his left leg#a/DET man/NOUN kick/VERB something/PRON with/ADP "
    "his/DET left/ADJ leg/NOUN",
    "a person walks forward slowly#a/DET person/NOUN walk/VERB forward/ADV slowly/ADV",
    "someone jumps up and waves both arms#someone/PRON jump/VERB up/ADP and/CCONJ wave/VERB "
    "both/DET arm/NOUN",
    "the person is kicking a ball#the/DET person/NOUN is/AUX kick/VERB a/DET ball/NOUN",
)
CLIPS = 72  # 72 clips + 8 captioned ranges: 2 batches of 32 per pass
SETTINGS = protocol.T2MSettings(replications=2, seed=7)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny GRUs: threads only add contention on a shared CPU
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def humanml3d_folder(tmp_path_factory, official_sample) -> Path:
    """Clips cut from the official sample 012314 (plus a little noise), HumanML3D layout."""
    root = tmp_path_factory.mktemp("humanml3d")
    (root / "new_joint_vecs").mkdir()
    (root / "texts").mkdir()
    base, rng = official_sample["features"], np.random.default_rng(0)
    ids = []
    for i in range(CLIPS):
        frames = int(rng.integers(40, 171))
        start = int(rng.integers(0, 171 - frames))
        noise = rng.normal(scale=0.05, size=(frames, 263))
        clip_id = f"{i:06d}"
        ids.append(clip_id)
        np.save(
            root / "new_joint_vecs" / f"{clip_id}.npy",
            (base[start : start + frames] + noise).astype(np.float32),
        )
        lines = [CAPTIONS[i % 4] + "#0.0#0.0", CAPTIONS[(i + 1) % 4] + "#0.0#0.0"]
        if i % 9 == 0 and frames >= 80:
            lines.append(CAPTIONS[0] + "#0.5#3.0")
        (root / "texts" / f"{clip_id}.txt").write_text("\n".join(lines) + "\n")
    (root / "test.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture(scope="module")
def setup(salad_fixture_dir, humanml3d_folder):
    evaluator = load_t2m_evaluator(salad_fixture_dir / "checkpoints")
    words = load_word_vectorizer(salad_fixture_dir / "glove")
    items, _ = load_test_items(humanml3d_folder)
    return evaluator, words, items


def _replay(evaluator, words, splits, settings):
    """A callback that returns the ground truth: it redraws the protocol's batches (same seeds)
    and checks that the driver asks for exactly those texts and lengths."""
    expected = []
    for r in range(settings.replications):
        for k, items in enumerate(splits.values()):
            rng = np.random.default_rng((settings.seed, r, k, protocol.SAMPLING_STREAM))
            expected += list(sampling.sample_batches(items, rng, evaluator, words))

    def generate(texts, m_lens, seed):
        batch = expected.pop(0)
        assert texts == batch.captions
        np.testing.assert_array_equal(m_lens, batch.m_lens)
        motions = batch.motions.copy()
        for row, m_len in enumerate(m_lens):
            motions[row, m_len:] = 9.0  # garbage after m_len: the driver must zero it
        return motions

    return generate


def _noise(texts, m_lens, seed):
    return np.random.default_rng(seed).normal(size=(len(texts), 196, 263)).astype(np.float32)


def test_ground_truth_callback_gives_fid_zero_and_the_ground_truth_scores(setup):
    evaluator, words, items = setup
    splits = {"test": items}
    result = protocol.evaluate_t2m(
        evaluator, words, splits, _replay(evaluator, words, splits, SETTINGS), SETTINGS
    )
    split = result.splits["test"]
    assert (split.items, split.batches, len(split.replications)) == (len(items), 2, 2)
    for rep in split.replications:
        assert rep["generated"]["fid"] == pytest.approx(0.0, abs=1e-6)
        assert rep["generated"]["r_precision"] == rep["ground_truth"]["r_precision"]
        assert rep["generated"]["matching_score"] == pytest.approx(
            rep["ground_truth"]["matching_score"]
        )
    # the ground truth is redrawn each replication (other captions, lengths and windows)
    first, second = (rep["ground_truth"]["matching_score"] for rep in split.replications)
    assert first != second
    summary = split.summary()["generated"]["matching_score"]
    values = [rep["generated"]["matching_score"] for rep in split.replications]
    assert summary["mean"] == pytest.approx(np.mean(values))
    assert summary["ci95"] == pytest.approx(1.96 * np.std(values) / np.sqrt(2))
    json.dumps(result.to_dict())  # the report is plain JSON


def test_noise_callback_gives_a_large_fid(setup):
    evaluator, words, items = setup
    result = protocol.evaluate_t2m(evaluator, words, {"test": items}, _noise, SETTINGS)
    generated = result.splits["test"].summary()["generated"]
    assert generated["fid"]["mean"] > 0.5  # vs < 1e-6 for the ground truth
    assert len(generated["r_precision"]["mean"]) == 3


def test_same_seed_same_numbers_and_progress(setup):
    evaluator, words, items = setup
    settings = protocol.T2MSettings(replications=1, seed=3)
    calls = []
    first = protocol.evaluate_t2m(
        evaluator, words, {"test": items}, _noise, settings, progress=lambda *a: calls.append(a)
    )
    second = protocol.evaluate_t2m(evaluator, words, {"test": items}, _noise, settings)
    assert first.to_dict() == second.to_dict()
    assert calls == [("test", 0, 1, 2), ("test", 0, 2, 2)]


def test_stop_event_ends_the_run(setup):
    evaluator, words, items = setup
    stop = threading.Event()
    stop.set()
    with pytest.raises(protocol.T2MCancelled):
        protocol.evaluate_t2m(evaluator, words, {"test": items}, _noise, SETTINGS, stop=stop)


def test_multimodality_of_a_deterministic_generator_is_zero(setup):
    evaluator, words, items = setup
    settings = protocol.T2MSettings(replications=1, multimodality=True, mm_texts=3, mm_repeats=12)

    def same_for_every_row(texts, m_lens, seed):  # ignores the seed: no variety at all
        return np.ones((len(texts), 196, 263), np.float32) * (len(texts[0]) % 7)

    rep = protocol.evaluate_t2m(evaluator, words, {"test": items}, same_for_every_row, settings)
    assert rep.splits["test"].replications[0]["generated"]["multimodality"] == pytest.approx(0.0)
    noisy = protocol.evaluate_t2m(evaluator, words, {"test": items}, _noise, settings)
    assert noisy.splits["test"].replications[0]["generated"]["multimodality"] > 0.1


def test_bad_generated_motions_are_refused(setup):
    evaluator, words, items = setup
    settings = protocol.T2MSettings(replications=1)
    with pytest.raises(protocol.T2MProtocolError, match="shape"):
        protocol.evaluate_t2m(
            evaluator,
            words,
            {"test": items},
            lambda t, m, s: np.zeros((len(t), 196, 259)),
            settings,
        )
    with pytest.raises(protocol.T2MProtocolError, match="frames"):
        protocol.evaluate_t2m(
            evaluator, words, {"test": items}, lambda t, m, s: np.zeros((len(t), 20, 263)), settings
        )
    with pytest.raises(protocol.T2MProtocolError, match="fewer than 32"):
        protocol.evaluate_t2m(evaluator, words, {"test": items[:10]}, _noise, settings)


def test_generation_seeds_never_collide():
    seen = set()
    for r in range(3):
        for k in range(3):
            rows = [*range(0, 5000, 32), protocol.MM_SEED_OFFSET, protocol.MM_SEED_OFFSET + 2999]
            seen |= {protocol.generation_seed(SETTINGS, r, k, row) for row in rows}
    assert len(seen) == 3 * 3 * (len(range(0, 5000, 32)) + 2)


# --- splits -------------------------------------------------------------------------------------


def _items():
    texts = [
        ("a man kicks a ball", "a man walks"),
        ("someone kicking",),
        ("a person walks forward", "a person walked in a circle"),
        ("a person jumps",),
    ]
    motion = np.zeros((40, 263), np.float32)
    return [
        T2MItem(str(i), motion, tuple(Caption(t, ()) for t in caps)) for i, caps in enumerate(texts)
    ]


def test_keyword_splits():
    splits = keyword_splits(_items(), "a person kicking", ["a person walking"])
    assert list(splits) == ["test", "forget", "retain", "related:a person walking"]
    assert [i.name for i in splits["forget"]] == ["0", "1"]
    assert [c.text for c in splits["forget"][0].captions] == ["a man kicks a ball"]  # only kicks
    assert [i.name for i in splits["retain"]] == ["2", "3"]
    related = splits["related:a person walking"]
    assert [i.name for i in related] == ["2"] and len(related[0].captions) == 2
    assert len(splits["test"]) == 4
    assert "test" not in keyword_splits(_items(), "kick", include_all=False)
    with pytest.raises(ValueError, match="no keywords"):
        keyword_splits(_items(), "a person")


def test_other_erased_targets_leave_the_retain_split():
    splits = keyword_splits(_items(), "a person kicking", also_erased=["a person jumping"])
    assert [i.name for i in splits["forget"]] == ["0", "1"]  # the forget set stays the target's
    assert [i.name for i in splits["retain"]] == ["2"]  # the jump left it


def test_split_metrics_on_the_folder(setup):
    evaluator, words, items = setup
    splits = keyword_splits(items, "a person kicking", ["a person walking"])
    settings = protocol.T2MSettings(replications=1)
    result = protocol.evaluate_t2m(evaluator, words, splits, _noise, settings).to_dict()
    sizes = {
        name: (s["items"], s["batches"], s["evaluated"]) for name, s in result["splits"].items()
    }
    assert sizes["test"][1] == 2 and sizes["forget"][1] >= 1
    for name, (count, batches, evaluated) in sizes.items():
        assert batches == count // 32 and evaluated == (batches > 0), name
