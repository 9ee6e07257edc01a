"""The traces of one skeleton scene and the animation frames (plotly JSON dicts).

Per panel: the skeleton (animated; 5 chains in one polyline with ``None`` gaps, a colour per
point so the left and right limbs get their shades), the root's trail on the floor and the floor
grid (both static). Coordinates are plotly's (z up) and rounded to ``COORD_DECIMALS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from esd.motion.skeleton import PARENTS
from viz.figure_style import limb_shades
from viz.motion_axes import COORD_DECIMALS, chain_path, chain_path_sides, to_plotly_axes

if TYPE_CHECKING:
    from viz.figure_style import FigureStyle

ROOT = PARENTS.index(-1)  # the pelvis
TRAIL_WIDTH = 3  # root trail line width
FLOOR_WIDTH = 2  # floor grid line width


def skeleton_path(points: np.ndarray) -> list[list[list[float | None]]]:
    """Per-frame polyline coordinates ``[frame][axis] -> P values with None gaps`` of plotly
    points ``(T, 22, 3)``."""
    index, gap = chain_path()
    path = np.round(points[:, index].astype(np.float64), COORD_DECIMALS)  # (T, P, 3)
    frames = path.transpose(0, 2, 1).tolist()  # (T, 3, P) nested lists
    gaps = np.flatnonzero(gap).tolist()
    for frame in frames:
        for axis in frame:
            for g in gaps:
                axis[g] = None
    return frames


def skeleton_trace(first: list[list[float | None]], color: str, style: FigureStyle) -> dict:
    """The animated trace of one panel, showing its first pose; one colour per point (the
    limb shades of ``color``), so frames only carry coordinates."""
    shades = limb_shades(color, style)
    colors = [shades[side] for side in chain_path_sides()]  # (P,)
    return {
        "type": "scatter3d",
        "x": first[0],
        "y": first[1],
        "z": first[2],
        "mode": "lines+markers",
        "line": {"color": colors, "width": style.line_width},
        "marker": {"color": colors, "size": style.marker_size},
        "connectgaps": False,
        "hoverinfo": "skip",
    }


def trajectory_trace(joints: np.ndarray, floor: float, style: FigureStyle) -> dict:
    """Static root (pelvis) trail of motion ``joints (T, 22, 3)`` drawn on the floor."""
    root = np.round(to_plotly_axes(joints[:, ROOT]).astype(np.float64), COORD_DECIMALS)  # (T, 3)
    shown = style.show_trajectory
    return {
        "type": "scatter3d",
        "x": root[:, 0].tolist() if shown else [],
        "y": root[:, 1].tolist() if shown else [],
        "z": [floor] * len(root) if shown else [],
        "mode": "lines",
        "line": {"color": style.trajectory_color, "width": TRAIL_WIDTH},
        "hoverinfo": "skip",
    }


def floor_trace(bounds: np.ndarray, style: FigureStyle) -> dict:
    """Static floor grid: lines every ``grid_step_m`` at the floor height ``bounds[2, 0]`` over
    the scene's plotly ranges ``bounds (3, 2)``, None-separated."""
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
        "line": {"color": style.floor_color, "width": FLOOR_WIDTH},
        "connectgaps": False,
        "hoverinfo": "skip",
    }


def animation_frames(paths: Sequence[list], n_frames: int) -> list[dict]:
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
