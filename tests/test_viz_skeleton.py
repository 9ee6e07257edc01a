"""The animated plotly figure: trace layout, frames, fixed axes, payload, and (browser) playback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from esd.motion.skeleton import FPS, JOINT_NAMES, KINEMATIC_CHAINS, NUM_JOINTS
from tests.fakes import CHROMIUM_ARGS, chromium_executable
from viz.figure_style import limb_shades
from viz.skeleton import (
    COORD_DECIMALS,
    EMBED_HTML_TEMPLATE,
    EMBED_JS_ON_LOAD,
    FigureStyle,
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
    titles = [a.text for a in fig.layout.annotations if a.name.startswith("title:")]
    assert titles == ["0", "1", "2"]


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


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])


def test_left_and_right_limbs_are_drawn_in_different_shades(two_lengths) -> None:
    panels, fig = two_lengths
    index, gap = chain_path()
    for p in range(len(panels)):
        colors = fig.data[p].line.color
        assert list(fig.data[p].marker.color) == list(colors) and len(colors) == len(index)
        by_side: dict[str, set[str]] = {"left": set(), "right": set(), "centre": set()}
        for joint, is_gap, color in zip(index, gap, colors):
            name = JOINT_NAMES[joint]
            if not is_gap and joint != 0 and name.split("_")[0] in ("left", "right"):
                by_side[name.split("_")[0]].add(color)
            elif not is_gap and joint in (3, 6, 12, 15):  # spine1, spine2, neck, head
                by_side["centre"].add(color)
        left, right, centre = (by_side[k] for k in ("left", "right", "centre"))
        assert len(left) == len(right) == len(centre) == 1 and len(left | right | centre) == 3
        (lc,), (rc,), (cc,) = left, right, centre
        assert _rgb(lc).sum() < _rgb(cc).sum() < _rgb(rc).sum()  # left darker, right lighter
    assert fig.data[0].line.color[0] != fig.data[1].line.color[0]  # columns keep their colour


def test_limb_shades_mix_towards_black_and_white() -> None:
    style = FigureStyle(left_shade=0.5, right_shade=0.5)
    assert limb_shades("#204080", style) == {
        "centre": "#204080",
        "left": "#102040",
        "right": "#90a0c0",
    }
    assert limb_shades("rgb(32, 64, 128)", style) == limb_shades("#204080", style)
    assert limb_shades("#fff", style)["left"] == "#808080"
    assert set(limb_shades("teal", style).values()) == {"teal"}  # a name: no shades


def test_floor_grid_lies_on_the_floor_every_grid_step(two_lengths) -> None:
    panels, fig = two_lengths
    step = FigureStyle().grid_step_m
    for p in range(len(panels)):
        floor = fig.data[2 * len(panels) + p]
        scene = fig.layout[floor.scene]
        (x0, x1), (y0, y1), (z0, _) = (scene[a].range for a in ("xaxis", "yaxis", "zaxis"))
        xs = np.array([v for v in floor.x if v is not None])
        ys = np.array([v for v in floor.y if v is not None])
        assert {v for v in floor.z if v is not None} == {z0}  # at the floor height
        lines_x = np.unique(xs[ys == y0])  # lines running along plotly y, one per x step
        assert len(lines_x) >= int((x1 - x0) / step)
        np.testing.assert_allclose(lines_x / step, np.round(lines_x / step), atol=1e-6)
        assert xs.min() >= x0 - 1e-9 and xs.max() <= x1 + 1e-9
        assert ys.min() >= y0 - 1e-9 and ys.max() <= y1 + 1e-9
    hidden = motion_figure(panels, style=FigureStyle(show_floor=False))
    assert len(hidden.data) == 6 and list(hidden.data[4].x) == []


def test_root_trail_follows_the_pelvis_on_the_floor(two_lengths) -> None:
    panels, fig = two_lengths
    for p, panel in enumerate(panels):
        trail = fig.data[len(panels) + p]
        root = to_plotly_axes(panel.joints[:, 0])  # (T, 3) pelvis
        np.testing.assert_allclose(trail.x, root[:, 0], atol=6e-4)
        np.testing.assert_allclose(trail.y, root[:, 1], atol=6e-4)
        assert set(trail.z) == {fig.layout[trail.scene].zaxis.range[0]}


def test_one_camera_and_one_scale_for_every_scene() -> None:
    small, large = random_motion(20, 0) * 0.3, random_motion(20, 1) * 3.0 + [5.0, 0.0, 0.0]
    panels = [Panel("a", small), Panel("b", large), Panel("c", small)]
    fig = motion_figure(panels, groups=[[0, 1], [2]])
    scenes = [fig.layout[fig.data[i].scene] for i in range(3)]
    axes = ("xaxis", "yaxis", "zaxis")
    ranges = np.array([[s[a].range for a in axes] for s in scenes])  # (3 scenes, 3, 2)
    extents = ranges[:, :, 1] - ranges[:, :, 0]
    np.testing.assert_allclose(extents, extents[[0, 0, 0]], atol=2e-3)  # same metres per axis
    assert all(
        s.camera == scenes[0].camera and s.aspectratio == scenes[0].aspectratio for s in scenes
    )
    np.testing.assert_array_equal(ranges[0], ranges[1])  # a group shares its centre
    points = to_plotly_axes(small.reshape(-1, 3))[:, :2]  # (T*22, 2) horizontal
    centre = (points.min(0) + points.max(0)) / 2  # a scene alone stays centred on its motion
    np.testing.assert_allclose(ranges[2, :2].mean(1), centre, atol=2e-3)
    own = motion_figure(panels, style=FigureStyle(same_scale=False))
    assert own.layout.scene.xaxis.range != own.layout.scene2.xaxis.range
    with pytest.raises(ValueError, match="distinct panel indices"):
        motion_figure(panels, groups=[[0, 1], [1, 2]])


def test_controls_sit_in_a_band_above_the_scenes(two_lengths) -> None:
    _, fig = two_lengths
    style = FigureStyle()
    menu, slider = fig.layout.updatemenus[0], fig.layout.sliders[0]
    assert (menu.y, menu.yanchor, slider.y, slider.yanchor) == (1.0, "bottom", 1.0, "bottom")
    assert fig.layout.margin.t == style.controls_height
    assert fig.layout.height == style.row_height + style.controls_height + fig.layout.margin.b
    assert all(fig.layout[fig.data[i].scene].domain.y[1] <= 1.0 for i in range(2))


def test_titles_and_notes_sit_inside_their_scene() -> None:
    panels = [
        Panel("<b>kick</b>", random_motion(5, 0), "sub", note="kick 0.92\nlunge 0.04"),
        Panel("x" * 200, random_motion(5, 1)),
        Panel("wave", random_motion(5, 2), note="wave 0.5"),
    ]
    fig = motion_figure(panels, columns=2)
    notes = {a.name: a for a in fig.layout.annotations}
    assert [a.name for a in fig.layout.annotations] == [
        "title:0", "title:1", "title:2", "note:0", "note:2", "key",
    ]  # fmt: skip
    for i in range(3):
        domain = fig.layout[fig.data[i].scene].domain
        title = notes[f"title:{i}"]
        assert (title.y, title.yanchor) == (domain.y[1], "top")
        assert title.x == pytest.approx(sum(domain.x) / 2) and title.xanchor == "center"
    for i in (0, 2):
        domain = fig.layout[fig.data[i].scene].domain
        note = notes[f"note:{i}"]
        assert (note.y, note.yanchor) == (domain.y[0], "bottom")
        assert note.x == pytest.approx(sum(domain.x) / 2)
    assert notes["title:0"].text == "&lt;b&gt;kick&lt;/b&gt;<br><sup>sub</sup>"
    assert notes["note:0"].text == "kick 0.92<br>lunge 0.04"
    assert len(notes["title:1"].text) == FigureStyle().title_chars
    assert notes["title:1"].hovertext == "x" * 200
    row2, row1 = fig.layout.scene3.domain.y, fig.layout.scene.domain.y
    assert row2[1] < row1[0]  # a gap between rows: row 2's title cannot reach row 1


# Bounding boxes in the page: the control groups, every scene's WebGL container, and every
# annotation (plotly tags them with their index in layout.annotations).
_BOXES = """(() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom]; };
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  return {
    controls: all('.updatemenu-container, .slider-container').map(box),
    scenes: Object.fromEntries(all('.gl-container > div').map((d) => [d.id, box(d)])),
    notes: Object.fromEntries(all('g.annotation').map((g) => [g.dataset.index, box(g)])),
  };
})()"""
_CAMERA_EYES = """(() => { const g = document.querySelector('.motion-plot');
  return Object.keys(g._fullLayout).filter((k) => /^scene\\d*$/.test(k)).sort()
    .map((k) => JSON.stringify(g._fullLayout[k].camera.eye)); })()"""


@pytest.mark.browser
def test_embed_script_plays_the_payload_in_a_real_browser(tmp_path: Path) -> None:
    """The UI route: gr.HTML's js_on_load (element/props/watch stubbed) -> Plotly.newPlot.

    Two rows with notes: frames advance after Play, the controls sit above every scene, row 2's
    titles start below row 1 (its scenes and notes), and dragging one camera turns them all.
    """
    from playwright.sync_api import sync_playwright

    chromium = chromium_executable()
    motions = [random_motion(n, seed) for seed, n in enumerate((40, 25, 30, 35))]
    panels = [
        Panel(f"prompt {i // 2}", m, "sub", note=f"kick 0.9{i}") for i, m in enumerate(motions)
    ]
    fig = motion_figure(panels, columns=2)
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
    turn = "Plotly.relayout(document.querySelector('.motion-plot'), "
    turn += "{'scene3.camera': {eye: {x: 0.2, y: 1.9, z: 0.4}}})"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1200})
            page.goto(page_file.as_uri())
            page.wait_for_function("document.querySelector('.motion-plot')._fullLayout")
            boxes = page.evaluate(_BOXES)
            n_frames, before = page.evaluate(state)
            page.get_by_text("Play").click()
            page.wait_for_timeout(800)
            _, after = page.evaluate(state)
            page.evaluate(turn)
            page.wait_for_timeout(300)
            eyes = page.evaluate(_CAMERA_EYES)
        finally:
            browser.close()
    assert n_frames == 40
    assert after != before
    scenes = boxes["scenes"]
    assert sorted(scenes) == ["scene", "scene2", "scene3", "scene4"]
    assert len(boxes["controls"]) == 2
    assert max(bottom for _, bottom in boxes["controls"]) <= min(t for t, _ in scenes.values())
    row1_bottom = max(scenes["scene"][1], scenes["scene2"][1])
    titles_row2 = [boxes["notes"][i] for i in ("2", "3")]
    notes_row1 = [boxes["notes"][i] for i in ("4", "5")]  # annotations: 4 titles, then notes
    assert min(top for top, _ in titles_row2) >= row1_bottom - 1
    assert min(top for top, _ in titles_row2) >= max(bottom for _, bottom in notes_row1)
    assert max(bottom for _, bottom in notes_row1) <= row1_bottom + 1  # inside row 1
    assert len(set(eyes)) == 1 and '"y":1.9' in eyes[0]  # one camera for all scenes
