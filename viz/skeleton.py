"""Animated plotly figure of skeleton motions: N 3D scenes in a grid, one shared timeline.

Input everywhere: joints ``(T, 22, 3)`` float32, metres, y up, ``FPS`` frames per second.

Axes: plotly scenes are z-up, so a motion point ``(x, y, z)`` is drawn at plotly
``(z, x, y)`` (a cyclic permutation, i.e. a proper rotation: left stays left). Canonical clips
face +Z on frame 0, which becomes plotly +X; the camera looks from there (front-left view).

What a motion researcher expects (``viz.figure_style``, ``viz.scene_layout``): a floor grid
under every skeleton, the left limbs darker and the right limbs lighter than the spine, the
root's trail on the floor, one camera for every scene (same metres per pixel, same view; the
embed script turns every scene when one is dragged), Play / Pause and the frame slider in a
band ABOVE the scenes, each panel's title inside the top of its scene and its optional note
inside the bottom.

Trace layout of a figure with N panels (indices into ``fig.data``)::

    0 .. N-1      skeleton of panel i (lines+markers, 5 chains joined by None gaps) -- ANIMATED
    N .. 2N-1     root trail of panel i on the floor (static)
    2N .. 3N-1    floor grid of panel i (static)

Annotations: the N titles first (panel order; ``name`` "title:i"), then the notes ("note:i",
panels that have one), then the key line ("key").

Every frame carries exactly one trace per panel with ``traces=[0, ..., N-1]``, so one Play
button drives all scenes. Frame ``k`` is named ``str(k)``; a clip shorter than the longest one
holds its last pose. Axis ranges are fixed per scene over the whole motion (the view never
jumps) with equal aspect (1 m is 1 m on every axis).

Gradio 6.31's ``gr.Plot`` drops frames (see ``STACK_NOTES.md``): pass :func:`figure_json`
as the value of a ``gr.HTML(html_template=EMBED_HTML_TEMPLATE, js_on_load=EMBED_JS_ON_LOAD,
head=<script src=...plotly.min.js>)``; the script calls ``Plotly.newPlot(div, payload)`` (frames
included) on load and again whenever the value changes, then links the scenes' cameras. Serve
:func:`plotly_js_path` offline, e.g. ``gr.set_static_paths([plotly_js_path().parent])`` and
``src="/gradio_api/file=<plotly_js_path()>"`` (checked with Gradio 6.31 and Chromium: Play
advances the frames, also after an update of the value).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly
import plotly.graph_objects as go

from esd.motion.skeleton import FPS
from viz.figure_style import PANEL_COLORS, FigureStyle, limb_shades
from viz.motion_axes import (
    COORD_DECIMALS,
    PLOTLY_FROM_MOTION_AXES,
    as_joints,
    chain_path,
    to_plotly_axes,
)
from viz.scene_layout import (
    BOTTOM_PX,
    frame_slider,
    grid_domains,
    key_annotation,
    panel_annotations,
    play_menu,
    scene_bounds,
    scene_id,
    scene_layout,
    shared_bounds,
)
from viz.scene_traces import (
    animation_frames,
    floor_trace,
    skeleton_path,
    skeleton_trace,
    trajectory_trace,
)

__all__ = [
    "COORD_DECIMALS",
    "DEFAULT_COLUMNS",
    "EMBED_HTML_TEMPLATE",
    "EMBED_JS_ON_LOAD",
    "LINK_CAMERAS_JS",
    "PANEL_COLORS",
    "PLOTLY_CONFIG",
    "PLOTLY_FROM_MOTION_AXES",
    "FigureStyle",
    "Panel",
    "as_joints",
    "chain_path",
    "figure_json",
    "figure_payload",
    "limb_shades",
    "motion_figure",
    "plotly_js_path",
    "to_plotly_axes",
]

DEFAULT_COLUMNS = 2  # panels per row: original | unlearned pairs
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}  # for Plotly.newPlot

# Defines esdLinkCameras(div): when one scene's camera changes (a drag ends), every other scene
# of the figure takes the same camera. Safe to call again after each Plotly.newPlot.
LINK_CAMERAS_JS = """
const esdLinkCameras = (div) => {
  if (!div || !div.on) return;
  if (div._esdLinkCameras && div.removeListener) {
    div.removeListener('plotly_relayout', div._esdLinkCameras);
  }
  let busy = false;
  div._esdLinkCameras = (event) => {
    const key = Object.keys(event || {}).find((k) => /^scene\\d*\\.camera$/.test(k));
    if (busy || !key) return;
    const update = {};
    for (const name of Object.keys(div._fullLayout || {})) {
      const camera = `${name}.camera`;
      if (/^scene\\d*$/.test(name) && camera !== key) update[camera] = event[key];
    }
    busy = true;
    Promise.resolve(Plotly.relayout(div, update)).finally(() => { busy = false; });
  };
  div.on('plotly_relayout', div._esdLinkCameras);
};
"""

# gr.HTML glue: a div to draw into (never ${value}: that would print the JSON), and the script
# that (re)draws the payload -- a JSON string or an object -- with its frames.
EMBED_HTML_TEMPLATE = "<div class='motion-plot'></div>"
EMBED_JS_ON_LOAD = (
    LINK_CAMERAS_JS
    + """
const draw = () => {
  const value = props.value;
  const div = element.querySelector('.motion-plot');
  if (!value || !div) return;
  Plotly.newPlot(div, typeof value === 'string' ? JSON.parse(value) : value)
    .then(() => esdLinkCameras(div));
};
draw();
watch('value', draw);
"""
)


@dataclass(frozen=True, eq=False)
class Panel:
    """One scene of the figure: a titled motion, with an optional note under it."""

    title: str  # first title line, e.g. "a person kicking"
    joints: np.ndarray  # (T, 22, 3) metres, y up; validated and stored as float32
    subtitle: str = ""  # second, smaller title line, e.g. "unlearned, seed 3"; "" for none
    color: str | None = None  # skeleton colour; None: PANEL_COLORS by column
    note: str = ""  # text inside the bottom of the scene, e.g. "kick 0.92, lunge 0.04"

    def __post_init__(self) -> None:
        object.__setattr__(self, "joints", as_joints(self.joints, f"Panel {self.title!r} joints"))


def motion_figure(
    panels: Sequence[Panel],
    fps: int = FPS,
    columns: int | None = None,
    style: FigureStyle | None = None,
    groups: Sequence[Sequence[int]] | None = None,
) -> go.Figure:
    """Animated figure with one 3D scene per panel and one shared Play button / slider.

    ``columns``: scenes per row (None: ``min(len(panels), DEFAULT_COLUMNS)``); more panels
    wrap into rows. ``groups``: lists of panel indices whose scenes share one centre (e.g. the
    two panels of a row); None: every panel is centred on its own motion. The figure has
    ``max(T)`` frames; see the module docstring for the trace and annotation layout.
    8 panels x 120 frames build in 0.5-0.7 s on the shared 2-core CPU (bench_viz.py).
    """
    panels = list(panels)
    if not panels:
        raise ValueError("motion_figure needs at least one Panel")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if columns is not None and columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    style = style or FigureStyle()
    columns = min(len(panels), columns or DEFAULT_COLUMNS)
    rows = -(-len(panels) // columns)
    groups = _checked_groups(groups, len(panels))
    bounds = shared_bounds([scene_bounds(p.joints, style) for p in panels], groups, style)
    paths = [skeleton_path(to_plotly_axes(p.joints)) for p in panels]
    traces = _traces(panels, paths, bounds, columns, style)
    for i, trace in enumerate(traces):
        trace["scene"] = scene_id(i % len(panels))
    domains = grid_domains(len(panels), columns, style)
    layout: dict[str, Any] = {
        scene_id(i): scene_layout(b, d, style) for i, (b, d) in enumerate(zip(bounds, domains))
    }
    texts = [(p.title, p.subtitle, p.note) for p in panels]
    layout.update(
        height=style.row_height * rows + style.controls_height + BOTTOM_PX,
        margin={"l": 0, "r": 0, "t": style.controls_height, "b": BOTTOM_PX},
        showlegend=False,
        template="plotly_white",
        annotations=[*panel_annotations(texts, domains, style), key_annotation(style)],
        updatemenus=[play_menu(fps)],
        sliders=[frame_slider(max(len(path) for path in paths), fps)],
    )
    frames = animation_frames(paths, max(len(path) for path in paths))
    # One constructor call: assigning frames/layout to an existing figure is ~5x slower.
    fig = go.Figure(data=traces, layout=layout, frames=frames)
    if style.extra_layout:
        fig.update_layout(style.extra_layout)
    return fig


def figure_payload(fig: go.Figure) -> dict[str, Any]:
    """JSON-ready ``{"data", "layout", "frames", "config"}`` for ``Plotly.newPlot(el, payload)``.

    plotly.js accepts this whole object as the second argument of ``newPlot``, frames included,
    after which the figure's own Play button and slider work (``Plotly.animate``).
    """
    return json.loads(figure_json(fig))


def figure_json(fig: go.Figure) -> str:
    """:func:`figure_payload` as a JSON string (what a ``gr.HTML`` value or a file carries)."""
    body = fig.to_plotly_json()
    body["config"] = PLOTLY_CONFIG
    return plotly.io.json.to_json_plotly(body)


def plotly_js_path() -> Path:
    """The minified plotly.js shipped inside the plotly package (serve it offline, no CDN)."""
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def _checked_groups(groups: Sequence[Sequence[int]] | None, count: int) -> list[list[int]]:
    """``groups`` as lists of valid, non-overlapping panel indices (None: one per panel)."""
    if groups is None:
        return [[i] for i in range(count)]
    out = [list(g) for g in groups]
    flat = [i for g in out for i in g]
    if any(not 0 <= i < count for i in flat) or len(flat) != len(set(flat)):
        raise ValueError(f"groups must hold distinct panel indices 0..{count - 1}, got {out}")
    return [g for g in out if g]


def _traces(
    panels: Sequence[Panel],
    paths: Sequence[list],
    bounds: Sequence[np.ndarray],
    columns: int,
    style: FigureStyle,
) -> list[dict]:
    """All 3N traces in the documented order: skeletons, root trails, floor grids."""
    colors = [
        p.color or PANEL_COLORS[i % columns % len(PANEL_COLORS)] for i, p in enumerate(panels)
    ]
    traces = [skeleton_trace(path[0], c, style) for path, c in zip(paths, colors)]
    traces += [trajectory_trace(p.joints, float(b[2, 0]), style) for p, b in zip(panels, bounds)]
    return traces + [floor_trace(b, style) for b in bounds]
