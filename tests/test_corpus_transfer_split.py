"""The calibration / held-out split of real takes (benchmarks/bench_transfer.py): by take,
deterministic, about half of every content in each half, styles with several takes in both."""

import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.bvh_samples import bandai_dir  # noqa: F401 (a fixture)

_SPEC = importlib.util.spec_from_file_location(
    "bench_transfer", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_transfer.py"
)
bench_transfer = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("bench_transfer", bench_transfer)  # its dataclasses look themselves up
_SPEC.loader.exec_module(bench_transfer)
parse_take, split_takes = bench_transfer.parse_take, bench_transfer.split_takes


def names(content: str, styles: dict[str, int], dataset: int = 2) -> list[str]:
    return [
        f"dataset-{dataset}_{content}_{style}_{take:03d}"
        for style, takes in styles.items()
        for take in range(1, takes + 1)
    ]


def test_takes_alternate_within_each_content_and_style():
    ids = names("wave-left-hand", {"active": 5, "normal": 5}) + names("bow", {"a": 1, "b": 1}, 1)
    halves = split_takes(reversed(ids))  # the order given does not matter
    assert halves == split_takes(ids)
    wave = [halves[i] for i in ids[:10]]
    assert wave[:5] == ["calibration", "heldout", "calibration", "heldout", "calibration"]
    assert wave[5:] == ["heldout", "calibration", "heldout", "calibration", "heldout"]
    assert Counter(wave) == {"calibration": 5, "heldout": 5}
    assert [halves[i] for i in ids[10:]] == ["calibration", "heldout"]  # one take per style


def test_names_are_parsed_and_bad_ones_refused():
    take = parse_take("dataset-1_walk_not-confident_002")
    assert (take.dataset, take.content, take.style, take.take) == (
        "1",
        "walk",
        "not-confident",
        "002",
    )
    with pytest.raises(ValueError, match="not a dataset-N_content_style_take"):
        split_takes(["walk_normal_001"])


def test_the_real_pack_splits_about_half_of_every_content(bandai_dir):  # noqa: F811
    with (bandai_dir / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    halves = split_takes(Path(r["file"]).stem for r in rows)
    per_content = Counter((r["content"], halves[Path(r["file"]).stem]) for r in rows)
    for content in {r["content"] for r in rows}:
        cal, held = per_content[(content, "calibration")], per_content[(content, "heldout")]
        assert abs(cal - held) <= 1, content
    styles = Counter((r["content"], r["style"]) for r in rows)
    for (content, style), count in styles.items():
        seen = {
            halves[Path(r["file"]).stem]
            for r in rows
            if (r["content"], r["style"]) == (content, style)
        }
        assert count == 1 or seen == {"calibration", "heldout"}, (content, style)


def test_calls_are_tallied_per_take_content():
    """by_content groups predictions by the content of the take's file name, most calls first;
    names that are no take are left out."""
    result = {"clips": {
        "dataset-2_walk-turn-left_active_001": {"predicted": "spin"},
        "dataset-2_walk-turn-left_active_002": {"predicted": "walk"},
        "dataset-2_walk-turn-left_giant_001": {"predicted": "spin"},
        "dataset-2_walk_active_001": {"predicted": "walk"},
        "not-a-take": {"predicted": "run"},
    }}  # fmt: skip
    assert bench_transfer.by_content(result) == [
        f"{'walk':20s} called walk 1",
        f"{'walk-turn-left':20s} called spin 2, walk 1",
    ]
