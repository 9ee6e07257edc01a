"""Where things go in a skeleton figure: scene ranges, the grid of scenes, the text of every
panel, and the animation controls (plotly layout dicts).

Page layout, top to bottom: a band of ``controls_height`` pixels (Play / Pause, the frame slider
and a one-line key), then the rows of scenes, ``row_height`` pixels each. A panel's title sits
inside the top of its own scene and its note inside the bottom, so no text of one row can
reach into another. Sizes in paper fractions are computed from those pixel heights.

Ranges: every scene's axes are fixed over the whole motion; scenes of a group (an original and
its unlearned motion) share one centre, and with ``style.same_scale`` every scene has the same
extent per axis, so the one camera shows every motion at the same scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from viz.motion_axes import COORD_DECIMALS, to_plotly_axes

if TYPE_CHECKING:
    from viz.figure_style import FigureStyle

H_SPACING = 0.01  # horizontal gap between scenes (paper fraction)
ROW_GAP_PX = 6  # vertical gap between rows of scenes (pixels)
BOTTOM_PX = 4  # bottom margin (pixels)
AXES = ("xaxis", "yaxis", "zaxis")
TEXT_COLOR = "#2a3f5f"  # titles
NOTE_COLOR = "#333333"  # notes and the key
KEY_TEXT = "darker limbs: left · lighter: right · floor grid {step:g} m · drag a scene to turn all"


def scene_id(i: int) -> str:
    """Layout key of the i-th scene: scene, scene2, scene3, ..."""
    return "scene" if i == 0 else f"scene{i + 1}"


def scene_bounds(joints: np.ndarray, style: FigureStyle) -> np.ndarray:
    """Plotly-axis ranges ``(3, 2)`` covering every frame of ``joints (T, 22, 3)``, a margin of
    ``style.margin_m`` and the floor (the lowest joint height: nothing below it); the horizontal
    extent is at least ``style.min_extent_m`` (centred on the motion)."""
    pts = to_plotly_axes(joints.reshape(-1, 3))  # (T*22, 3)
    lo, hi = pts.min(axis=0).astype(np.float64), pts.max(axis=0).astype(np.float64)
    lo -= style.margin_m
    hi += style.margin_m
    for axis in (0, 1):
        grow = max(0.0, style.min_extent_m - (hi[axis] - lo[axis])) / 2
        lo[axis] -= grow
        hi[axis] += grow
    lo[2] = pts[:, 2].min()
    return np.stack([lo, hi], axis=1)


def shared_bounds(
    bounds: Sequence[np.ndarray], groups: Sequence[Sequence[int]], style: FigureStyle
) -> list[np.ndarray]:
    """Final ranges ``(3, 2)`` per scene from each scene's own ``bounds``.

    The scenes of a group get the union of their ranges. With ``style.same_scale`` every scene
    then gets the largest extent ``E_a`` of any scene on each axis ``a``: the horizontal axes
    centred on the scene's own centre ``c_a`` (``[c_a - E_a / 2, c_a + E_a / 2]``), the vertical
    axis from the floor up (``[floor, floor + E_z]``). Rounded to ``COORD_DECIMALS``.
    """
    out = [np.array(b, dtype=np.float64) for b in bounds]
    for group in groups:
        stacked = np.stack([out[i] for i in group])  # (G, 3, 2)
        union = np.stack([stacked[:, :, 0].min(axis=0), stacked[:, :, 1].max(axis=0)], axis=1)
        for i in group:
            out[i] = union.copy()
    if style.same_scale:
        extent = np.max([b[:, 1] - b[:, 0] for b in out], axis=0)  # (3,) metres
        for b in out:
            centre = b[:2].mean(axis=1)  # (2,) horizontal centres
            b[:2] = np.stack([centre - extent[:2] / 2, centre + extent[:2] / 2], axis=1)
            b[2, 1] = b[2, 0] + extent[2]
    return [np.round(b, COORD_DECIMALS) for b in out]


def grid_domains(count: int, columns: int, style: FigureStyle) -> list[dict[str, list[float]]]:
    """Paper domains ``{"x": [x0, x1], "y": [y0, y1]}`` of ``count`` scenes in rows of
    ``columns``, in reading order (row 0 at the top)."""
    rows = -(-count // columns)
    gap = ROW_GAP_PX / (rows * style.row_height)  # paper fraction between rows
    domains = []
    for i in range(count):
        row, col = divmod(i, columns)
        x0, x1 = col / columns, (col + 1) / columns
        y0, y1 = 1 - (row + 1) / rows, 1 - row / rows
        domains.append(
            {
                "x": [round(x0 + (H_SPACING / 2 if col else 0), 6),
                      round(x1 - (H_SPACING / 2 if col < columns - 1 else 0), 6)],
                "y": [round(y0 + (gap / 2 if row < rows - 1 else 0), 6),
                      round(y1 - (gap / 2 if row else 0), 6)],
            }
        )  # fmt: skip
    return domains


def scene_layout(bounds: np.ndarray, domain: dict, style: FigureStyle) -> dict[str, Any]:
    """Fixed ranges, equal aspect (manual ratio = extents), z up, the shared front camera."""
    extent = bounds[:, 1] - bounds[:, 0]  # (3,) metres per axis
    ratio = extent / extent.max()
    labels = ("z (m)", "x (m)", "y up (m)")  # motion axis drawn on plotly x, y, z
    axes = {
        name: {
            "range": bounds[i].tolist(),
            "autorange": False,
            "visible": style.show_axes,
            "title": {"text": labels[i]},
            "showspikes": False,
        }
        for i, name in enumerate(AXES)
    }
    return {
        **axes,
        "domain": domain,
        "aspectmode": "manual",
        "aspectratio": dict(zip("xyz", ratio.round(4).tolist())),
        "camera": {"eye": dict(zip("xyz", style.camera_eye)), "up": {"x": 0, "y": 0, "z": 1}},
        "dragmode": "orbit",
    }


def panel_annotations(
    texts: Sequence[tuple[str, str, str]], domains: Sequence[dict], style: FigureStyle
) -> list[dict]:
    """Titles (one per panel, in panel order, first) then notes (panels with one) as paper
    annotations inside each scene: ``texts[i] = (title, subtitle, note)``. User text is
    HTML-escaped (plotly renders tags); a title over ``style.title_chars`` is cut, whole on
    hover."""
    titles, notes = [], []
    for i, ((title, subtitle, note), domain) in enumerate(zip(texts, domains)):
        centre = (domain["x"][0] + domain["x"][1]) / 2
        shown = title if len(title) <= style.title_chars else title[: style.title_chars - 1] + "…"
        text = escape(shown) + (f"<br><sup>{escape(subtitle)}</sup>" if subtitle else "")
        base = {
            "x": centre,
            "xanchor": "center",
            "xref": "paper",
            "yref": "paper",
            "showarrow": False,
        }
        titles.append(
            {
                **base,
                "name": f"title:{i}",
                "text": text,
                "y": domain["y"][1],
                "yanchor": "top",
                "font": {"size": style.title_size, "color": TEXT_COLOR},
                **({"hovertext": escape(title)} if shown != title else {}),
            }
        )
        if note:
            notes.append(
                {
                    **base,
                    "name": f"note:{i}",
                    "text": escape(note).replace("\n", "<br>"),
                    "y": domain["y"][0],
                    "yanchor": "bottom",
                    "font": {"size": style.note_size, "color": NOTE_COLOR},
                    "bgcolor": "rgba(255,255,255,0.75)",
                }
            )
    return titles + notes


def key_annotation(style: FigureStyle) -> dict:
    """One line at the top right of the controls' band: what the shades and the grid mean."""
    return {
        "name": "key",
        "text": KEY_TEXT.format(step=style.grid_step_m),
        "x": 1.0,
        "xanchor": "right",
        "xref": "paper",
        "y": 1.0,
        "yanchor": "top",
        "yref": "paper",
        "yshift": style.controls_height - 2,
        "showarrow": False,
        "font": {"size": 11, "color": NOTE_COLOR},
    }


def _frame_args(duration_ms: float, from_current: bool = False) -> dict:
    """Plotly.animate options; 3D scenes need ``redraw=True`` to show a new frame."""
    args = {
        "frame": {"duration": duration_ms, "redraw": True},
        "mode": "immediate",
        "transition": {"duration": 0},
    }
    return {**args, "fromcurrent": True} if from_current else args


def play_menu(fps: int) -> dict:
    """Play / Pause buttons driving every scene at ``fps``, at the left of the controls' band
    (above the scenes)."""
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
    return {
        "type": "buttons",
        "direction": "left",
        "showactive": False,
        "x": 0.0,
        "y": 1.0,
        "xanchor": "left",
        "yanchor": "bottom",
        "pad": {"b": 14, "r": 10},
        "buttons": [
            {
                "label": "▶ Play",
                "method": "animate",
                "args": [None, _frame_args(1000 / fps, from_current=True)],
            },
            {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
        ],
    }


def frame_slider(n_frames: int, fps: int) -> dict:
    """One step per frame labelled with its time, in the controls' band beside the buttons;
    step tick labels hidden (the current value is shown)."""
    steps = [
        {"label": f"{k / fps:.2f}", "method": "animate", "args": [[str(k)], _frame_args(0)]}
        for k in range(n_frames)
    ]
    return {
        "active": 0,
        "steps": steps,
        "x": 0.17,
        "len": 0.83,
        "y": 1.0,
        "yanchor": "bottom",
        "pad": {"t": 0, "b": 6},
        "ticklen": 0,
        "minorticklen": 0,
        "tickcolor": "rgba(0,0,0,0)",
        "font": {"color": "rgba(0,0,0,0)"},
        "currentvalue": {"prefix": "t = ", "suffix": " s", "font": {"color": "#444"}},
    }
