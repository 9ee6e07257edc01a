"""Animated plotly figure of skeleton motions: N 3D scenes side by side, one shared timeline.

Input everywhere: joints ``(T, 22, 3)`` float32, metres, y up, ``FPS`` frames per second.

Axes: plotly scenes are z-up, so a motion point ``(x, y, z)`` is drawn at plotly
``(z, x, y)`` (a cyclic permutation, i.e. a proper rotation: left stays left). Canonical clips
face +Z on frame 0, which becomes plotly +X; the default camera looks from there (front view).

Trace layout of a figure with N panels (indices into ``fig.data``)::

    0 .. N-1      skeleton of panel i (lines+markers, 5 chains joined by None gaps) -- ANIMATED
    N .. 2N-1     root trajectory of panel i on the floor (static, faint)
    2N .. 3N-1    floor grid of panel i (static)

Every frame carries exactly one trace per panel with ``traces=[0, ..., N-1]``, so one Play
button drives all scenes. Frame ``k`` is named ``str(k)``; a clip shorter than the longest one
holds its last pose. Axis ranges are fixed per scene over the whole motion (the view never
jumps) with equal aspect (1 m is 1 m on every axis).

Gradio 6.31's ``gr.Plot`` drops frames (see ``STACK_NOTES.md``): pass :func:`figure_json`
as the value of a ``gr.HTML(html_template=EMBED_HTML_TEMPLATE, js_on_load=EMBED_JS_ON_LOAD,
head=<script src=...plotly.min.js>)``; the script calls ``Plotly.newPlot(div, payload)`` (frames
included) on load and again whenever the value changes. Serve :func:`plotly_js_path` offline,
e.g. ``gr.set_static_paths([plotly_js_path().parent])`` and
``src="/gradio_api/file=<plotly_js_path()>"`` (checked with Gradio 6.31 and Chromium: Play
advances the frames, also after an update of the value).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import plotly
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from esd.motion.skeleton import FPS, KINEMATIC_CHAINS, NUM_JOINTS, PARENTS

# Motion axis feeding plotly (x, y, z): plotly x <- motion z, y <- motion x, z <- motion y (up).
PLOTLY_FROM_MOTION_AXES = (2, 0, 1)
DEFAULT_COLUMNS = 2  # panels per row: original | unlearned pairs
PANEL_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")  # default colour by column
COORD_DECIMALS = 3  # rounding of every coordinate in the figure (1 mm; keeps the JSON small)
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}  # for Plotly.newPlot

# gr.HTML glue: a div to draw into (never ${value}: that would print the JSON), and the script
# that (re)draws the payload -- a JSON string or an object -- with its frames.
EMBED_HTML_TEMPLATE = "<div class='motion-plot'></div>"
EMBED_JS_ON_LOAD = """
const draw = () => {
  const value = props.value;
  const div = element.querySelector('.motion-plot');
  if (!value || !div) return;
  Plotly.newPlot(div, typeof value === 'string' ? JSON.parse(value) : value);
};
draw();
watch('value', draw);
"""


@dataclass(frozen=True, eq=False)
class Panel:
    """One scene of the figure: a titled motion."""

    title: str  # first title line, e.g. "a person kicking"
    joints: np.ndarray  # (T, 22, 3) metres, y up; validated and stored as float32
    subtitle: str = ""  # second, smaller title line, e.g. "unlearned, seed 3"; "" for none
    color: str | None = None  # skeleton colour; None: PANEL_COLORS by column

    def __post_init__(self) -> None:
        object.__setattr__(self, "joints", as_joints(self.joints, f"Panel {self.title!r} joints"))


@dataclass(frozen=True)
class FigureStyle:
    """Look of :func:`motion_figure` (sizes in pixels unless stated)."""

    row_height: int = 420  # figure height per row of scenes
    margin_m: float = 0.15  # empty border around the motion in every scene (metres)
    min_extent_m: float = 1.0  # smallest horizontal extent of a scene, so a pose is not huge
    grid_step_m: float = 0.5  # spacing of the floor grid lines (metres)
    line_width: float = 6.0  # bone line width
    marker_size: float = 3.0  # joint marker size
    show_floor: bool = True  # draw the floor grid traces (still present, empty, when False)
    show_trajectory: bool = True  # draw the faint root path (still present, empty, when False)
    camera_eye: tuple[float, float, float] = (1.3, 0.75, 0.5)  # plotly eye: front-left, above
    floor_color: str = "rgba(120,120,120,0.35)"  # grid line colour
    trajectory_color: str = "rgba(90,90,90,0.45)"  # root path colour
    extra_layout: dict[str, Any] = field(default_factory=dict)  # merged into the layout last


def as_joints(joints: Any, name: str = "joints") -> np.ndarray:
    """Validate a motion and return it as a C-contiguous float32 array ``(T, 22, 3)``.

    Raises ValueError (naming ``name``) for a wrong shape, no frames, or NaN/inf values.
    """
    arr = np.asarray(joints)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(
            f"{name} must have shape (T, {NUM_JOINTS}, 3) (frames, joints, xyz in metres), "
            f"got {arr.shape}; add a frame axis with joints[None] for a single pose"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no frames (shape {arr.shape})")
    if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite numbers (found NaN, inf or non-numbers)")
    return np.ascontiguousarray(arr, dtype=np.float32)


def chain_path() -> tuple[np.ndarray, np.ndarray]:
    """Joint order that draws the 5 kinematic chains as one polyline with gaps.

    Returns ``index (P,)`` (joint index per point, gaps filled with 0) and ``gap (P,)`` bool,
    where ``P = sum(len(chain)) + len(chains) - 1`` (30 for the t2m skeleton).
    """
    index: list[int] = []
    gap: list[bool] = []
    for i, chain in enumerate(KINEMATIC_CHAINS):
        if i:
            index.append(0)
            gap.append(True)
        index.extend(chain)
        gap.extend([False] * len(chain))
    return np.asarray(index), np.asarray(gap)


def to_plotly_axes(points: np.ndarray) -> np.ndarray:
    """Motion coordinates ``(..., 3)`` (y up) -> plotly scene coordinates ``(..., 3)`` (z up)."""
    return points[..., PLOTLY_FROM_MOTION_AXES]


def motion_figure(
    panels: Sequence[Panel],
    fps: int = FPS,
    columns: int | None = None,
    style: FigureStyle | None = None,
) -> go.Figure:
    """Animated figure with one 3D scene per panel and one shared Play button / slider.

    ``columns``: scenes per row (None: ``min(len(panels), DEFAULT_COLUMNS)``); more panels
    wrap into rows. The figure has ``max(T)`` frames; see the module docstring for the trace
    layout. 8 panels x 120 frames build in ~0.2 s (2-core CPU; bench_viz.py).
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
    bounds = [_scene_bounds(p.joints, style) for p in panels]
    paths = [_skeleton_path(to_plotly_axes(p.joints)) for p in panels]
    scene_ids = [_scene_id(i) for i in range(len(panels))]
    traces = _traces(panels, paths, bounds, columns, style)
    for i, trace in enumerate(traces):
        trace["scene"] = scene_ids[i % len(panels)]
    n_frames = max(p.joints.shape[0] for p in panels)
    layout = _grid_layout(panels, rows, columns)  # scene domains + subplot titles
    for sid, b in zip(scene_ids, bounds):
        layout[sid].update(_scene_layout(b, style))
    layout.update(
        height=style.row_height * rows,
        margin={"l": 0, "r": 0, "t": 40, "b": 70},
        showlegend=False,
        template="plotly_white",
        updatemenus=[_play_menu(fps)],
        sliders=[_slider(n_frames, fps)],
    )
    # One constructor call: assigning frames/layout to an existing figure is ~5x slower.
    fig = go.Figure(data=traces, layout=layout, frames=_frames(paths, n_frames))
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


# --- figure parts ------------------------------------------------------------------------------


def _traces(
    panels: Sequence[Panel],
    paths: Sequence[list],
    bounds: Sequence[np.ndarray],
    columns: int,
    style: FigureStyle,
) -> list[dict]:
    """All 3N traces in the documented order: skeletons, root trajectories, floor grids."""
    colors = [
        p.color or PANEL_COLORS[i % columns % len(PANEL_COLORS)] for i, p in enumerate(panels)
    ]
    traces = [_skeleton_trace(path[0], c, style) for path, c in zip(paths, colors)]
    traces += [_trajectory_trace(p.joints, b, style) for p, b in zip(panels, bounds)]
    return traces + [_floor_trace(b, style) for b in bounds]


def _scene_id(i: int) -> str:
    """Layout key of the i-th scene as make_subplots numbers them: scene, scene2, ..."""
    return "scene" if i == 0 else f"scene{i + 1}"


def _grid_layout(panels: Sequence[Panel], rows: int, columns: int) -> dict[str, Any]:
    """Layout dict of make_subplots: one scene per panel, row-major (empty cells get none)."""
    specs = [
        [{"type": "scene"} if r * columns + c < len(panels) else None for c in range(columns)]
        for r in range(rows)
    ]
    titles = [escape(p.title) for p in panels]  # user text: plotly would render its HTML tags
    titles = [
        f"{t}<br><sup>{escape(p.subtitle)}</sup>" if p.subtitle else t
        for t, p in zip(titles, panels)
    ]
    grid = make_subplots(
        rows=rows,
        cols=columns,
        specs=specs,
        subplot_titles=titles,
        horizontal_spacing=0.01,
        vertical_spacing=0.06 / rows,
    )
    return grid.layout.to_plotly_json()


def _scene_bounds(joints: np.ndarray, style: FigureStyle) -> np.ndarray:
    """Fixed plotly-axis ranges ``(3, 2)`` covering every frame, a margin, and the floor.

    The floor is the lowest joint height of the clip; the horizontal extent is at least
    ``style.min_extent_m`` (centred on the motion).
    """
    pts = to_plotly_axes(joints.reshape(-1, 3))  # (T*22, 3)
    lo, hi = pts.min(axis=0).astype(np.float64), pts.max(axis=0).astype(np.float64)
    lo -= style.margin_m
    hi += style.margin_m
    for axis in (0, 1):
        grow = max(0.0, style.min_extent_m - (hi[axis] - lo[axis])) / 2
        lo[axis] -= grow
        hi[axis] += grow
    lo[2] = pts[:, 2].min()  # floor height: nothing below the lowest joint
    return np.round(np.stack([lo, hi], axis=1), COORD_DECIMALS)


def _skeleton_path(points: np.ndarray) -> list[list[list[float | None]]]:
    """Per-frame polyline coordinates: ``[frame][axis] -> list of P values with None gaps``."""
    index, gap = chain_path()
    path = np.round(points[:, index].astype(np.float64), COORD_DECIMALS)  # (T, P, 3)
    frames = path.transpose(0, 2, 1).tolist()  # (T, 3, P) nested lists
    gaps = np.flatnonzero(gap).tolist()
    for frame in frames:
        for axis in frame:
            for g in gaps:
                axis[g] = None
    return frames


def _skeleton_trace(first: list[list[float | None]], color: str, style: FigureStyle) -> dict:
    """The animated trace of one panel, showing its first pose."""
    return {
        "type": "scatter3d",
        "x": first[0],
        "y": first[1],
        "z": first[2],
        "mode": "lines+markers",
        "line": {"color": color, "width": style.line_width},
        "marker": {"color": color, "size": style.marker_size},
        "connectgaps": False,
        "hoverinfo": "skip",
    }


def _trajectory_trace(joints: np.ndarray, bounds: np.ndarray, style: FigureStyle) -> dict:
    """Static faint root (pelvis) path drawn on the floor of the scene."""
    root = np.round(to_plotly_axes(joints[:, PARENTS.index(-1)]).astype(np.float64), COORD_DECIMALS)
    shown = style.show_trajectory
    return {
        "type": "scatter3d",
        "x": root[:, 0].tolist() if shown else [],
        "y": root[:, 1].tolist() if shown else [],
        "z": [float(bounds[2, 0])] * len(root) if shown else [],
        "mode": "lines",
        "line": {"color": style.trajectory_color, "width": 3},
        "hoverinfo": "skip",
    }


def _floor_trace(bounds: np.ndarray, style: FigureStyle) -> dict:
    """Static floor grid (lines every ``grid_step_m`` at the floor height), None-separated."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    if style.show_floor:
        (x0, x1), (y0, y1), _ = bounds.tolist()
        step = style.grid_step_m
        for x in np.arange(np.ceil(x0 / step) * step, x1 + 1e-9, step).round(COORD_DECIMALS):
            xs += [float(x), float(x), None]
            ys += [y0, y1, None]
        for y in np.arange(np.ceil(y0 / step) * step, y1 + 1e-9, step).round(COORD_DECIMALS):
            xs += [x0, x1, None]
            ys += [float(y), float(y), None]
    zs = [None if v is None else float(bounds[2, 0]) for v in xs]
    return {
        "type": "scatter3d",
        "x": xs,
        "y": ys,
        "z": zs,
        "mode": "lines",
        "line": {"color": style.floor_color, "width": 1},
        "connectgaps": False,
        "hoverinfo": "skip",
    }


def _frames(paths: Sequence[list], n_frames: int) -> list[dict]:
    """One frame per time step, each updating traces 0..N-1 (short clips hold their last pose)."""
    trace_ids = list(range(len(paths)))
    frames = []
    for k in range(n_frames):
        data = []
        for path in paths:
            x, y, z = path[min(k, len(path) - 1)]
            data.append({"type": "scatter3d", "x": x, "y": y, "z": z})
        frames.append({"name": str(k), "data": data, "traces": trace_ids})
    return frames


def _scene_layout(bounds: np.ndarray, style: FigureStyle) -> dict:
    """Fixed ranges, equal aspect (manual ratio = extents), z up, front camera."""
    extent = bounds[:, 1] - bounds[:, 0]  # (3,) metres per axis
    ratio = extent / extent.max()
    labels = ("z (m)", "x (m)", "y up (m)")  # motion axis drawn on plotly x, y, z
    axes = {
        name: {
            "range": bounds[i].tolist(),
            "autorange": False,
            "title": {"text": labels[i]},
            "showspikes": False,
        }
        for i, name in enumerate(("xaxis", "yaxis", "zaxis"))
    }
    eye = dict(zip("xyz", style.camera_eye))
    return {
        **axes,
        "aspectmode": "manual",
        "aspectratio": dict(zip("xyz", ratio.round(4).tolist())),
        "camera": {"eye": eye, "up": {"x": 0, "y": 0, "z": 1}},
        "dragmode": "orbit",
    }


def _frame_args(duration_ms: float, from_current: bool = False) -> dict:
    """Plotly.animate options; 3D scenes need ``redraw=True`` to show a new frame."""
    args = {
        "frame": {"duration": duration_ms, "redraw": True},
        "mode": "immediate",
        "transition": {"duration": 0},
    }
    return {**args, "fromcurrent": True} if from_current else args


def _play_menu(fps: int) -> dict:
    """Play / Pause buttons driving every scene at ``fps``."""
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
    return {
        "type": "buttons",
        "direction": "left",
        "showactive": False,
        "x": 0.0,
        "y": 0.0,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 10, "r": 10},
        "buttons": [
            {
                "label": "▶ Play",
                "method": "animate",
                "args": [None, _frame_args(1000 / fps, from_current=True)],
            },
            {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
        ],
    }


def _slider(n_frames: int, fps: int) -> dict:
    """One step per frame labelled with its time; step tick labels hidden (current value shown)."""
    steps = [
        {"label": f"{k / fps:.2f}", "method": "animate", "args": [[str(k)], _frame_args(0)]}
        for k in range(n_frames)
    ]
    return {
        "active": 0,
        "steps": steps,
        "x": 0.18,
        "len": 0.8,
        "y": 0.0,
        "yanchor": "top",
        "pad": {"t": 10},
        "ticklen": 0,
        "minorticklen": 0,
        "tickcolor": "rgba(0,0,0,0)",
        "font": {"color": "rgba(0,0,0,0)"},
        "currentvalue": {"prefix": "t = ", "suffix": " s", "font": {"color": "#444"}},
    }
