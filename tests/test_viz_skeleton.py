"""The animated plotly figure: trace layout, frames, fixed axes, payload, and (browser) playback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from esd.motion.skeleton import FPS, KINEMATIC_CHAINS, NUM_JOINTS
from tests.fakes import CHROMIUM_ARGS, chromium_executable
from viz.skeleton import (
    COORD_DECIMALS,
    EMBED_HTML_TEMPLATE,
    EMBED_JS_ON_LOAD,
    Panel,
    chain_path,
    figure_json,
    figure_payload,
    motion_figure,
    plotly_js_path,
    to_plotly_axes,
)


def random_motion(n_frames: int, seed: int) -> np.ndarray:
    """A wandering, wiggling joint cloud (T, 22, 3): enough for layout tests."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 0.3, (NUM_JOINTS, 3)) + np.array([0.0, 1.0, 0.0])
    walk = np.cumsum(rng.normal(0.0, 0.02, (n_frames, 1, 3)), axis=0) * [1.0, 0.0, 1.0]
    wiggle = rng.normal(0.0, 0.01, (n_frames, NUM_JOINTS, 3))
    return (pose + walk + wiggle).astype(np.float32)


@pytest.fixture(scope="module")
def two_lengths():
    """Two panels of different lengths (30 and 45 frames) and their figure."""
    panels = [Panel("short", random_motion(30, 0)), Panel("long", random_motion(45, 1), "sub")]
    return panels, motion_figure(panels)


def test_chain_path_covers_every_chain_with_gaps_between() -> None:
    index, gap = chain_path()
    assert gap.sum() == len(KINEMATIC_CHAINS) - 1
    pieces = np.split(index, np.flatnonzero(gap))
    drawn = [tuple(p[1:] if i else p) for i, p in enumerate(pieces)]  # drop the gap slot
    assert drawn == [tuple(c) for c in KINEMATIC_CHAINS]


def test_trace_layout_one_animated_trace_per_panel(two_lengths) -> None:
    panels, fig = two_lengths
    n = len(panels)
    assert len(fig.data) == 3 * n
    scenes = [fig.data[i].scene for i in range(n)]
    assert len(set(scenes)) == n
    for i in range(n):
        assert fig.data[i].mode == "lines+markers"
        assert fig.data[n + i].scene == fig.data[2 * n + i].scene == scenes[i]


def test_one_frame_per_step_driving_the_skeleton_traces(two_lengths) -> None:
    panels, fig = two_lengths
    assert len(fig.frames) == max(len(p.joints) for p in panels) == 45
    for k, frame in enumerate(fig.frames):
        assert frame.name == str(k)
        assert list(frame.traces) == list(range(len(panels)))
        assert len(frame.data) == len(panels)


def test_frame_coordinates_match_the_motion_and_short_clips_hold(two_lengths) -> None:
    panels, fig = two_lengths
    index, gap = chain_path()
    for p, panel in enumerate(panels):
        for k in (0, 17, 29, 30, 44):
            t = min(k, len(panel.joints) - 1)
            want = to_plotly_axes(panel.joints[t])[index]  # (P, 3)
            trace = fig.frames[k].data[p]
            got = np.array([trace.x, trace.y, trace.z], dtype=object).T  # (P, 3)
            assert all(v is None for v in got[gap].ravel())
            np.testing.assert_allclose(got[~gap].astype(float), want[~gap], atol=6e-4)
    short = fig.frames[44].data[0]
    assert short.x == fig.frames[29].data[0].x  # the 30-frame clip holds its last pose


def test_axis_ranges_fixed_equal_aspect_and_cover_every_frame(two_lengths) -> None:
    panels, fig = two_lengths
    for p, panel in enumerate(panels):
        scene = fig.layout[fig.data[p].scene]
        ranges = np.array([scene[a].range for a in ("xaxis", "yaxis", "zaxis")])  # (3, 2)
        assert all(scene[a].autorange is False for a in ("xaxis", "yaxis", "zaxis"))
        pts = to_plotly_axes(panel.joints.reshape(-1, 3))
        assert (pts >= ranges[:, 0] - 1e-3).all() and (pts <= ranges[:, 1] + 1e-3).all()
        assert ranges[2, 0] == pytest.approx(pts[:, 2].min(), abs=1e-3)  # floor = lowest joint
        extent = ranges[:, 1] - ranges[:, 0]
        ratio = np.array([scene.aspectratio.x, scene.aspectratio.y, scene.aspectratio.z])
        np.testing.assert_allclose(ratio, extent / extent.max(), atol=1e-3)


def test_controls_play_all_frames_with_redraw(two_lengths) -> None:
    _, fig = two_lengths
    play = fig.layout.updatemenus[0].buttons[0]
    assert play.method == "animate" and play.args[0] is None
    assert play.args[1]["frame"] == {"duration": 1000 / FPS, "redraw": True}
    steps = fig.layout.sliders[0].steps
    assert [list(s.args[0]) for s in steps] == [[str(k)] for k in range(len(fig.frames))]
    assert all(s.args[1]["frame"]["redraw"] for s in steps)


def test_panels_wrap_into_rows_in_reading_order() -> None:
    fig = motion_figure([Panel(str(i), random_motion(5, i)) for i in range(3)], columns=2)
    domains = [fig.layout[s].domain for s in ("scene", "scene2", "scene3")]
    assert domains[0].y == domains[1].y and domains[0].x != domains[1].x
    assert domains[2].x == domains[0].x and domains[2].y[1] < domains[0].y[0]
    assert "scene4" not in fig.layout.to_plotly_json()
    assert [a.text for a in fig.layout.annotations] == ["0", "1", "2"]


def test_bad_input_raises_value_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        motion_figure([])
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        Panel("bad", np.zeros((10, 21, 3)))
    with pytest.raises(ValueError, match="finite"):
        Panel("nan", np.full((4, NUM_JOINTS, 3), np.nan))
    with pytest.raises(ValueError, match="no frames"):
        Panel("empty", np.zeros((0, NUM_JOINTS, 3)))
    with pytest.raises(ValueError, match="fps"):
        motion_figure([Panel("a", random_motion(3, 0))], fps=0)


def test_payload_round_trips_and_stays_small(two_lengths) -> None:
    _, fig = two_lengths
    payload = figure_payload(fig)
    assert set(payload) == {"data", "layout", "frames", "config"}
    assert json.loads(json.dumps(payload)) == payload
    assert len(payload["frames"]) == 45 and len(payload["data"]) == 6
    text = figure_json(fig)
    frames_part = text[text.index('"frames"') :]
    decimals = re.findall(r"-?\d+\.(\d+)", frames_part.split('"layout"')[0])
    assert decimals and max(len(d) for d in decimals) <= COORD_DECIMALS
    big = motion_figure([Panel(str(i), random_motion(120, i)) for i in range(2)])
    assert len(figure_json(big)) < 200_000  # 2 scenes x 120 frames (STACK_NOTES: ~150 KB)


@pytest.mark.browser
def test_embed_script_plays_the_payload_in_a_real_browser(tmp_path: Path) -> None:
    """The UI route: gr.HTML's js_on_load (element/props/watch stubbed) -> Plotly.newPlot."""
    from playwright.sync_api import sync_playwright

    chromium = chromium_executable()
    fig = motion_figure([Panel("a", random_motion(40, 3)), Panel("b", random_motion(25, 4))])
    page_file = tmp_path / "page.html"
    page_file.write_text(
        f'<html><head><script src="{plotly_js_path().as_uri()}"></script></head><body>'
        f'<div id="root" style="width:900px">{EMBED_HTML_TEMPLATE}</div><script>'
        "const element = document.getElementById('root'); const watch = () => {};"
        f"const props = {{value: {json.dumps(figure_json(fig))}}};{EMBED_JS_ON_LOAD}"
        "</script></body></html>"
    )
    state = "(() => { const g = document.querySelector('.motion-plot'); return "
    state += "[g._transitionData._frames.length, JSON.stringify(g.data[0].x)]; })()"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            page.wait_for_function("document.querySelector('.motion-plot')._fullLayout")
            n_frames, before = page.evaluate(state)
            page.get_by_text("Play").click()
            page.wait_for_timeout(800)
            _, after = page.evaluate(state)
        finally:
            browser.close()
    assert n_frames == 40
    assert after != before
