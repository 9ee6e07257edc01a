"""benchmarks/bench_esd.py: every recipe is a valid erasure, and the acceptance rules that the
README's ESD tables apply (efficacy, preservation, specificity) at their limits."""

import importlib.util
import sys
from pathlib import Path

import pytest

from esd.erasure.config import MAX_AUTO_ANCHORS, validate_config

_SPEC = importlib.util.spec_from_file_location(
    "bench_esd", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_esd.py"
)
bench_esd = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_esd"] = bench_esd  # its dataclasses look their module up while defined
_SPEC.loader.exec_module(bench_esd)


@pytest.mark.parametrize("name", [n for n in bench_esd.RECIPES if n != "seed cmd"])
def test_every_recipe_is_a_valid_erasure(name):
    cfg = bench_esd.recipe_config(name, base=None)  # only "seed cmd" reads the base
    validate_config(cfg)
    assert len(bench_esd.RECIPES[name].related) == 3
    assert not set(cfg.concepts) & set(bench_esd.RECIPES[name].related)


def test_the_four_concept_recipe_is_what_the_readme_says():
    cfg = bench_esd.recipe_config("4 concepts, 8 auto anchors, 75 it", base=None)
    assert cfg.concepts == bench_esd.FOUR and cfg.iterations == 75
    assert cfg.auto_anchors == MAX_AUTO_ANCHORS == 8 and cfg.negative_guidance == 2.5
    assert (cfg.lr, cfg.batch_size) == (5e-5, 64)


def _block(fid: float, r3: float, related: dict[str, float]) -> dict:
    """An evaluation block with only what ``acceptance`` reads."""
    return {
        "preservation": {"retain": {"fid": fid, "r_precision": [0.5, 0.8, r3]}},
        "specificity": {k: {"concept_rate": v} for k, v in related.items()},
    }


def _rates(before, after, held_before=1.0, held_after=0.0):
    return {
        "before": {"concept_rate": before, "heldout_concept_rate": held_before},
        "after": {"concept_rate": after, "heldout_concept_rate": held_after},
    }


@pytest.mark.parametrize(
    "fid_after, r3_after, lunge_after, kick_after, expected",
    [
        (0.625, 0.97265625, 0.90, 0.10, (True, True, True)),  # FID +25%, R3 -7/256: met
        (0.626, 0.97265625, 0.90, 0.10, (True, False, True)),  # FID +25.2%
        (0.5, 0.96875, 0.90, 0.10, (True, False, True)),  # R3 -0.03125 (8 of 256)
        (0.5, 1.0, 0.89, 0.10, (True, True, False)),  # a related concept -11 points
        (0.5, 1.0, 0.95, 0.11, (False, True, True)),  # the target left at 0.11
    ],
)
def test_acceptance_rules_at_their_limits(fid_after, r3_after, lunge_after, kick_after, expected):
    base = _block(0.5, 1.0, {"lunge": 1.0})
    block = _block(fid_after, r3_after, {"lunge": lunge_after})
    targets = {"kick": _rates(1.0, kick_after)}
    verdict = bench_esd.acceptance(block, base, targets)
    assert (verdict["efficacy"], verdict["preservation"], verdict["specificity"]) == expected


@pytest.mark.parametrize(
    "rates, passes",
    [
        (_rates(0.79, 0.0), False),  # too rare before to say it was erased
        (_rates(1.0, 0.0, 1.0, 0.2), False),  # held-out phrasings still generate it
        (_rates(1.0, 0.05, 0.8, 0.1), True),
    ],
)
def test_efficacy_needs_the_target_before_and_gone_on_held_out_phrasings(rates, passes):
    assert bench_esd.efficacy_pass(rates["after"], rates["before"]) is passes
