"""The T2M protocol's test set: reading rules, the seeded draws and the batches."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from esd.evaluation.t2m import sampling
from esd.evaluation.t2m.testset import T2MDataError, load_test_items, parse_caption_line

TOKENS = "a/DET man/NOUN kick/VERB"


def _write_clip(root: Path, clip_id: str, frames: int, lines: list[str], seed: int = 0) -> None:
    (root / "new_joint_vecs").mkdir(parents=True, exist_ok=True)
    (root / "texts").mkdir(exist_ok=True)
    features = np.random.default_rng(seed).normal(size=(frames, 263)).astype(np.float32)
    np.save(root / "new_joint_vecs" / f"{clip_id}.npy", features)
    (root / "texts" / f"{clip_id}.txt").write_text("\n".join(lines) + "\n")


def test_parse_caption_line():
    caption, start, end = parse_caption_line(f"a man kicks.#{TOKENS}#0.0#0.0")
    assert caption.text == "a man kicks." and caption.tokens == tuple(TOKENS.split())
    assert (start, end) == (0.0, 0.0)
    assert parse_caption_line(f"x#{TOKENS}#nan#nan")[1:] == (0.0, 0.0)  # NaN: whole clip
    assert parse_caption_line(f"x#{TOKENS}#1.5#4.25")[1:] == (1.5, 4.25)
    assert parse_caption_line("bare caption")[0].tokens == ()
    assert parse_caption_line("   ") is None


def test_reading_rules(tmp_path):
    whole = f"a man kicks#{TOKENS}#0.0#0.0"
    _write_clip(tmp_path, "short", 39, [whole])  # dropped: < 40 frames
    _write_clip(tmp_path, "long", 200, [whole, f"part#{TOKENS}#0.0#5.0"])  # dropped with its part
    _write_clip(tmp_path, "keep", 199, [whole, "a man kicks again#", f"r#{TOKENS}#1.0#3.0"])
    _write_clip(tmp_path, "parts", 120, [f"p1#{TOKENS}#0.5#3.0", f"p2#{TOKENS}#0.0#1.5"])
    _write_clip(tmp_path, "forty", 40, [whole])
    (tmp_path / "test.txt").write_text("short\nlong\nkeep\nparts\nforty\nabsent\n")
    items, summary = load_test_items(tmp_path, tag=lambda text: ["tagged/NOUN"])
    by_name = {item.name: item for item in items}
    # keep: whole clip (2 captions, one tagged) + range 1.0-3.0 s = frames 20:60 (40 frames);
    # parts: 0.5-3.0 s = frames 10:60 kept, 0.0-1.5 s = 30 frames dropped, no whole-clip item
    assert set(by_name) == {"keep", "keep#3", "parts#1", "forty"}
    assert by_name["keep"].captions[1].tokens == ("tagged/NOUN",)
    source = np.load(tmp_path / "new_joint_vecs" / "keep.npy")
    np.testing.assert_array_equal(by_name["keep#3"].motion, source[20:60])
    assert by_name["parts#1"].motion.shape[0] == 50
    assert [item.motion.shape[0] for item in items] == [40, 40, 50, 199]  # sorted by length
    assert (summary.ids, summary.items, summary.missing, summary.tagged) == (6, 4, 1, 1)
    assert summary.dropped_length == 3  # short, long, the 30-frame range
    with pytest.raises(T2MDataError, match="split file not found"):
        load_test_items(tmp_path, split="val")


def test_no_items_is_an_error(tmp_path):
    _write_clip(tmp_path, "short", 20, [f"x#{TOKENS}#0.0#0.0"])
    (tmp_path / "test.txt").write_text("short\n")
    with pytest.raises(T2MDataError, match="no test item"):
        load_test_items(tmp_path)


# --- draws --------------------------------------------------------------------------------------


class _Words:
    """A stand-in vectoriser: word vectors carry the token count, so rows can be traced."""

    def text_inputs(self, token_lists, max_text_len):
        cap_lens = np.array([min(len(t), max_text_len) + 2 for t in token_lists])
        n = len(token_lists)
        return SimpleNamespace(
            word_embs=np.repeat(cap_lens[:, None, None], 22, axis=1).astype(np.float32) * 1.0,
            pos_ohot=np.zeros((n, 22, 15), np.float32),
            cap_lens=cap_lens,
        )


def _evaluator(unit_length: int = 4):
    mean = np.linspace(-1, 1, 263).astype(np.float32)
    std = np.linspace(0.5, 2, 263).astype(np.float32)
    return SimpleNamespace(meta_mean=mean, meta_std=std, unit_length=unit_length, max_text_len=20)


def _item(frames: int, captions: int = 3, seed: int = 0):
    from esd.evaluation.t2m.testset import Caption, T2MItem

    motion = np.random.default_rng(seed).normal(size=(frames, 263)).astype(np.float32)
    caps = tuple(
        Caption(f"c{k}", tuple(f"w/NOUN{j}" for j in range(k + 1))) for k in range(captions)
    )
    return T2MItem(f"i{seed}", motion, caps)


def test_crop_length():
    assert sampling.crop_length(171, 4, shorter=False) == 168
    assert sampling.crop_length(171, 4, shorter=True) == 164
    assert sampling.crop_length(199, 4, shorter=False) == 196


def test_draw_item_window_normalisation_and_padding():
    evaluator, item = _evaluator(), _item(171)
    draws = [sampling.draw_item(item, np.random.default_rng(s), evaluator) for s in range(600)]
    lengths = np.array([d.m_len for d in draws])
    assert set(lengths) == {164, 168}
    shorter = (lengths == 164).mean()  # binomial(600, 1/3): sd 0.019
    assert abs(shorter - 1 / 3) < 0.08
    assert {d.caption.text for d in draws} == {"c0", "c1", "c2"}
    for d in draws[:20]:
        raw = d.motion[: d.m_len] * evaluator.meta_std + evaluator.meta_mean  # undo normalisation
        starts = [
            s
            for s in range(172 - d.m_len)
            if np.allclose(item.motion[s : s + d.m_len], raw, atol=1e-5)
        ]
        assert len(starts) == 1
        assert d.motion.shape == (196, 263) and not d.motion[d.m_len :].any()
    starts = set()
    for s in range(200):
        d = sampling.draw_item(item, np.random.default_rng(1000 + s), evaluator)
        raw0 = d.motion[0] * evaluator.meta_std + evaluator.meta_mean
        starts.add(int(np.argmin(np.abs(item.motion - raw0).sum(axis=1))))
    assert min(starts) == 0 and max(starts) == 7  # every window start of 164 / 168 frames


def test_no_shorter_draw_for_long_units():
    evaluator = _evaluator(unit_length=10)
    lengths = {
        sampling.draw_item(_item(171), np.random.default_rng(s), evaluator).m_len for s in range(60)
    }
    assert lengths == {170}


def test_batches_drop_last_and_sort_by_caption_length():
    items = [_item(40 + 2 * i, captions=3, seed=i) for i in range(70)]
    batches = list(sampling.sample_batches(items, np.random.default_rng(0), _evaluator(), _Words()))
    assert len(batches) == 2 and all(len(b) == 32 for b in batches)  # 70 // 32, remainder dropped
    rows = np.concatenate([b.items for b in batches])
    assert len(set(rows.tolist())) == 64  # each item at most once per pass
    for batch in batches:
        assert np.all(np.diff(batch.cap_lens) <= 0)
        np.testing.assert_array_equal(batch.word_embs[:, 0, 0], batch.cap_lens)  # rows kept whole
        for row, i in enumerate(batch.items):
            assert batch.m_lens[row] % 4 == 0 and batch.m_lens[row] <= items[i].motion.shape[0]
    again = list(sampling.sample_batches(items, np.random.default_rng(0), _evaluator(), _Words()))
    np.testing.assert_array_equal(again[1].motions, batches[1].motions)  # seeded


def test_collate_is_stable_for_equal_lengths():
    from esd.evaluation.t2m.testset import Caption

    draws = [
        sampling.ItemDraw(Caption(f"t{i}", ("a/DET",) * n), np.zeros((196, 263), np.float32), 40)
        for i, n in enumerate([1, 3, 1, 3, 2])
    ]
    batch = sampling.collate(draws, [10, 11, 12, 13, 14], _Words(), 20)
    assert batch.captions == ["t1", "t3", "t4", "t0", "t2"]
    np.testing.assert_array_equal(batch.items, [11, 13, 14, 10, 12])
    assert math.isclose(float(batch.cap_lens[0]), 5.0)
