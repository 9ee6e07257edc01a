"""pair_figure: rows of original | unlearned scenes, their shared ranges and the per-row notes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_viz_skeleton import random_motion
from viz.figures import pair_figure
from viz.skeleton import figure_json

AXES = ("xaxis", "yaxis", "zaxis")


@pytest.fixture(scope="module")
def pairs():
    return [
        ("a person kicking", random_motion(20, 0), random_motion(25, 1)),
        ("a person waving", random_motion(30, 2) + np.array([2.0, 0.0, 0.0]), random_motion(15, 3)),
    ]


def test_notes_sit_under_their_own_scene(pairs) -> None:
    notes = [("kick 0.92, lunge 0.04", "walk 0.61, kick 0.03"), ("wave 0.80", "")]
    fig = pair_figure(pairs, notes=notes)
    by_name = {a.name: a for a in fig.layout.annotations}
    expected = {0: notes[0][0], 1: notes[0][1], 2: notes[1][0]}  # "" draws no note
    assert sorted(n for n in by_name if n.startswith("note:")) == [f"note:{i}" for i in expected]
    for panel, text in expected.items():
        note = by_name[f"note:{panel}"]
        domain = fig.layout[fig.data[panel].scene].domain
        assert note.text == text
        assert (note.y, note.yanchor) == (domain.y[0], "bottom")  # inside, at the bottom
        assert domain.x[0] < note.x < domain.x[1]
        assert by_name[f"title:{panel}"].text.startswith(pairs[panel // 2][0])
    assert "walk 0.61, kick 0.03" in figure_json(fig)


def test_titles_carry_the_prompt_and_the_side(pairs) -> None:
    fig = pair_figure(pairs, "orig", "unl")
    titles = [a.text for a in fig.layout.annotations][:4]  # the app reads these first four
    assert titles[0].startswith("a person kicking") and titles[0].endswith("<sup>orig</sup>")
    assert titles[3].startswith("a person waving") and "unl" in titles[3]
    assert not [a for a in fig.layout.annotations if a.name.startswith("note:")]


def test_rows_share_ranges_and_every_scene_one_scale(pairs) -> None:
    fig = pair_figure(pairs)
    scenes = [fig.layout[fig.data[i].scene] for i in range(4)]
    ranges = np.array([[s[a].range for a in AXES] for s in scenes])  # (4, 3, 2)
    np.testing.assert_array_equal(ranges[0], ranges[1])
    np.testing.assert_array_equal(ranges[2], ranges[3])
    assert not np.array_equal(ranges[0], ranges[2])  # the rows keep their own centre
    extents = ranges[:, :, 1] - ranges[:, :, 0]
    np.testing.assert_allclose(extents, extents[[0] * 4], atol=2e-3)
    for i, (_, first, second) in enumerate(pairs):
        points = np.concatenate([first, second]).reshape(-1, 3)[:, [2, 0, 1]]  # plotly axes
        lo, hi = ranges[2 * i, :, 0], ranges[2 * i, :, 1]
        assert (points >= lo - 1e-3).all() and (points <= hi + 1e-3).all()


def test_bad_notes_are_refused(pairs) -> None:
    with pytest.raises(ValueError, match="one \\(left, right\\) pair per row: 2 rows, got 1"):
        pair_figure(pairs, notes=[("a", "b")])
    with pytest.raises(ValueError, match="at least one"):
        pair_figure([])
