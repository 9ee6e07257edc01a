"""Automatic anchors (esd.erasure.anchors): the concepts nearest the target are preserved."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from esd.erasure.anchors import named_concepts, nearest, pooled_states, resolve_anchors
from esd.erasure.config import AUTO_ANCHOR_WEIGHT, MAX_AUTO_ANCHORS, ESDConfig, validate_config
from esd.erasure.loop import run_esd
from esd.models import checkpoints as ck
from esd.models.text.batch import TextBatch
from esd.motion.concepts import CONCEPTS
from tests.tiny import tiny_generator

DIM = 64
KICK, PUNCH, PUSH = "a person kicking", "a person punching", "a person pushing"


def _unit(i: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(i), DIM).float()


class VectorEncoder:
    """Each prompt's real tokens average to a chosen vector (two tokens v +- d, then padding
    that is NOT zero: pooling must read the mask)."""

    def __init__(self, vectors: dict[str, torch.Tensor]):
        self.vectors = vectors

    def encode(self, prompts: list[str]) -> TextBatch:
        states = torch.full((len(prompts), 3, DIM), 7.0)  # padding garbage
        for b, prompt in enumerate(prompts):
            v = self.vectors.get(prompt, _unit(DIM - 1))
            states[b, 0], states[b, 1] = v + _unit(DIM - 2), v - _unit(DIM - 2)
        mask = torch.tensor([[True, True, False]] * len(prompts))
        return TextBatch(states, mask)


class StubBase:
    def __init__(self, vectors: dict[str, torch.Tensor]):
        self.text_encoder = VectorEncoder(vectors)


def _vectors() -> dict[str, torch.Tensor]:
    """Every concept its own axis; punching shares 0.8 of kicking's, pushing 0.5."""
    vectors = {c.prompt: _unit(i) for i, c in enumerate(CONCEPTS)}
    kick = vectors[KICK]
    vectors[PUNCH] = 0.8 * kick + 0.6 * vectors[PUNCH]
    vectors[PUSH] = 0.5 * kick + (0.75**0.5) * vectors[PUSH]
    vectors["someone does a roundhouse kick"] = kick
    return vectors


def test_pooled_states_average_the_real_tokens_only_and_have_unit_length():
    states = torch.tensor([[[3.0, 0.0], [1.0, 2.0], [100.0, 100.0]]])  # (1, 3, 2)
    batch = TextBatch(states, torch.tensor([[True, True, False]]))
    expected = torch.tensor([2.0, 1.0]) / 5**0.5  # mean of the two real tokens, normalised
    assert torch.allclose(pooled_states(batch)[0], expected)


def test_nearest_scores_a_candidate_by_its_closest_target_not_the_average():
    targets = torch.stack([_unit(0), _unit(1)])  # (2, D)
    # candidate 0 matches target 0 exactly (max 1.0, mean 0.5);
    # candidate 1 is between both (max 0.8, mean 0.8): the mean would rank it first
    candidates = torch.stack([_unit(0), 0.8 * _unit(0) + 0.8 * _unit(1), _unit(2)])
    assert nearest(targets, candidates, 2) == [0, 1]
    assert nearest(targets, candidates, 10) == [0, 1, 2]
    assert nearest(targets, candidates, 0) == []


def test_nearest_keeps_the_candidates_order_on_ties():
    assert nearest(_unit(0)[None], torch.stack([_unit(1), _unit(2), _unit(0)]), 3) == [2, 0, 1]


@pytest.mark.parametrize(
    ("prompts", "names"),
    [
        (("someone does a roundhouse kick",), {"kick"}),
        (("a person waves hello",), {"wave"}),
        (("a person waving their arms",), {"wave"}),  # "arms" alone is not raise_arms
        (("a person raising their arms", "a person jumps"), {"raise_arms", "jump"}),
        (("a cartwheel",), set()),
        (("a person jogging",), {"run"}),  # a description of run, all its keywords
        (("a person takes a seat",), {"sit_down"}),  # not walk ("a person takes steps")
    ],
)
def test_named_concepts_are_the_concepts_whose_verb_the_prompts_use(prompts, names):
    assert named_concepts(prompts) == names


def test_resolve_appends_the_nearest_concepts_after_the_given_anchors():
    base = StubBase(_vectors())
    cfg = ESDConfig(concepts=(KICK,), anchors=("a person throwing",), auto_anchors=2)
    resolved = resolve_anchors(base, cfg)
    assert resolved.anchors == ("a person throwing", PUNCH, PUSH)
    assert resolved.preservation_weight == AUTO_ANCHOR_WEIGHT
    assert resolve_anchors(base, resolved) == resolved  # idempotent
    given = resolve_anchors(base, replace(cfg, preservation_weight=2.0))
    assert given.preservation_weight == 2.0  # a weight the user set is kept


def test_resolve_never_anchors_the_concept_the_target_names():
    base = StubBase(_vectors())
    cfg = ESDConfig(concepts=("someone does a roundhouse kick",), auto_anchors=1)
    assert resolve_anchors(base, cfg).anchors == (PUNCH,)  # not "a person kicking" (cos 1.0)


def test_resolve_without_auto_anchors_returns_the_config_unchanged():
    cfg = ESDConfig(concepts=(KICK,))
    assert resolve_anchors(StubBase(_vectors()), cfg) is cfg


def test_the_bundled_text_encoder_anchors_punching_first_for_kicking(text_encoder):
    class Base:
        pass

    base = Base()
    base.text_encoder = text_encoder
    cfg = resolve_anchors(base, ESDConfig(concepts=(KICK,), auto_anchors=2))
    assert cfg.anchors == (PUNCH, PUSH)


@pytest.mark.parametrize("bad", [-1, MAX_AUTO_ANCHORS + 1, True, 1.5])
def test_a_bad_auto_anchor_count_is_refused_in_one_line(bad):
    with pytest.raises(ValueError, match="auto_anchors must be a whole number"):
        validate_config(ESDConfig(concepts=(KICK,), auto_anchors=bad))


def test_a_preservation_weight_with_only_automatic_anchors_is_valid():
    validate_config(ESDConfig(concepts=(KICK,), auto_anchors=1, preservation_weight=3.0))
    with pytest.raises(ValueError, match="needs anchor prompts"):
        validate_config(ESDConfig(concepts=(KICK,), preservation_weight=3.0))


def test_run_esd_trains_with_the_resolved_anchors_and_stores_them(text_encoder, tmp_path):
    base = tiny_generator(text_encoder)
    cfg = ESDConfig(
        concepts=(KICK,), trajectories=2, ddim_steps=10, batch_size=8, seconds=(2.0, 2.4),
        lr=1e-3, iterations=2, auto_anchors=1,
    )  # fmt: skip
    run = ck.run_paths(tmp_path, "auto")
    result = run_esd(base, cfg, run)
    saved = ck.load_checkpoint(run.latest, kind="esd")["esd"]
    assert tuple(saved["anchors"]) == (PUNCH,) and saved["auto_anchors"] == 1
    assert saved["preservation_weight"] == AUTO_ANCHOR_WEIGHT
    plain = run_esd(base, replace(cfg, auto_anchors=0))
    assert plain.losses != result.losses  # the preservation term is in the loss


def test_run_esd_reports_the_anchors_it_chose(text_encoder):
    base = tiny_generator(text_encoder)
    cfg = ESDConfig(
        concepts=(KICK,), trajectories=2, ddim_steps=10, batch_size=8, seconds=(2.0, 2.4),
        iterations=1, auto_anchors=1,
    )  # fmt: skip
    lines: list[str] = []
    run_esd(base, cfg, on_status=lines.append)
    assert f"anchored (preservation weight {AUTO_ANCHOR_WEIGHT}): ['{PUNCH}']" in lines


def test_resolve_looks_at_the_variants_too():
    vectors = _vectors()
    vectors["a person flying"] = _unit(40)  # a target far from everything ...
    vectors["someone strikes with the foot"] = vectors[KICK]  # ... with a kick-like variant
    base = StubBase(vectors)
    cfg = ESDConfig(concepts=("a person flying",), variants=("someone strikes with the foot",))
    assert resolve_anchors(base, replace(cfg, auto_anchors=1)).anchors == (KICK,)


def test_a_bad_auto_anchor_count_reaches_run_esd_as_one_line(text_encoder):
    with pytest.raises(ValueError, match="auto_anchors must be a whole number"):
        run_esd(tiny_generator(text_encoder), ESDConfig(concepts=(KICK,), auto_anchors=2.0))
