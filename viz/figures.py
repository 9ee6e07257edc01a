"""The workbench's two figures: the live loss curve and the original-vs-unlearned motion grid.

``loss_figure`` is a static plotly line plot (shown in ``gr.Plot``, redrawn at every poll); at
most ``max_points`` steps are drawn so a 100k-step run stays a small payload. ``pair_figure``
is :func:`viz.skeleton.motion_figure` with two columns (original | unlearned), one row per
prompt, one shared timeline and an optional note under each scene; both scenes of a row share
their axis ranges and every scene the same extent, so all motions are drawn at one scale from
one camera.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from viz.skeleton import FigureStyle, Panel, motion_figure

LOSS_POINTS = 600  # most points drawn per line of the loss curve
SMOOTHING = 50  # the running mean spans n_steps / SMOOTHING steps (at least 1)
LOSS_HEIGHT = 320  # pixels
PAIR_STYLE = FigureStyle(row_height=340)  # motion grid: compact rows (text sits inside)
GRID = "#e5e9ef"  # grid line colour of the loss curve


def loss_figure(losses: Sequence[float], max_points: int = LOSS_POINTS) -> go.Figure:
    """ESD loss per optimizer step (x: 1-based step) and its running mean over the last
    ``steps // SMOOTHING`` steps (shown from ``2 * SMOOTHING`` steps on).

    Non-finite losses are drawn as gaps; the running mean averages the finite values only.
    With no losses yet, an empty figure that says so.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    values = np.asarray(losses, dtype=np.float64)  # (S,)
    fig = go.Figure(layout=_loss_layout())
    if values.size == 0:
        fig.add_annotation(text="no training yet", showarrow=False, x=0.5, y=0.5, xref="paper")
        fig.update_layout(yaxis={"range": [0, 1]})
        return fig
    finite = np.isfinite(values)
    window = max(1, values.size // SMOOTHING)
    mean = running_mean(values, window)
    shown = np.unique(np.linspace(0, values.size - 1, min(values.size, max_points)).round())
    shown = shown.astype(int)  # (P,) indices of the drawn steps, first and last included
    steps = (shown + 1).tolist()
    raw = np.where(finite[shown], values[shown], np.nan)
    fig.add_scatter(x=steps, y=raw.tolist(), name="loss", line={"width": 1, "color": "#7a8ea3"})
    if window > 1:  # fewer than 2 * SMOOTHING steps: the raw curve alone
        fig.add_scatter(
            x=steps, y=mean[shown].tolist(), name=f"mean of {window}", line={"color": "#d62728"}
        )
    return fig


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the finite values among the last ``window`` steps, per step ``(S,)`` (NaN where
    there is none)."""
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])  # (S + 1,)
    counts = np.concatenate([[0], np.cumsum(finite)])  # (S + 1,)
    start = np.maximum(np.arange(1, values.size + 1) - window, 0)  # (S,) first step of window
    total, count = sums[1:] - sums[start], counts[1:] - counts[start]
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _loss_layout() -> dict:
    return {
        "height": LOSS_HEIGHT,
        "margin": {"l": 50, "r": 10, "t": 30, "b": 40},
        "xaxis": {"title": {"text": "step"}, "gridcolor": GRID, "zeroline": False},
        "yaxis": {"title": {"text": "ESD loss"}, "gridcolor": GRID, "zeroline": False},
        "legend": {"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.0, "yanchor": "bottom"},
        "template": "none",  # styled here: a named template adds ~7 KB to every poll
        "uirevision": "loss",  # keep the user's zoom across polls
    }


def pair_figure(
    pairs: Sequence[tuple[str, np.ndarray, np.ndarray]],
    left: str = "original",
    right: str = "unlearned",
    style: FigureStyle | None = None,
    notes: Sequence[tuple[str, str]] | None = None,
) -> go.Figure:
    """One row per ``(prompt, joints_left (T, 22, 3), joints_right (T', 22, 3))``: two scenes
    with the subtitles ``left`` and ``right``, one Play button and slider for every scene.

    ``notes``: None, or one ``(under_left, under_right)`` pair of texts per row, drawn inside
    the bottom of the row's two scenes, e.g. the recogniser's top concepts
    ``("kick 0.92, lunge 0.04", "walk 0.61, kick 0.03")``; "" leaves a scene without a note.
    The two scenes of a row share their centre, and every scene has the same extent (one camera,
    one scale; see :mod:`viz.skeleton`).
    """
    if not pairs:
        raise ValueError("pair_figure needs at least one (prompt, left, right) triple")
    if notes is not None and len(notes) != len(pairs):
        raise ValueError(f"notes must give one (left, right) pair per row: {len(pairs)} rows, "
                         f"got {len(notes)}")  # fmt: skip
    row_notes = list(notes) if notes is not None else [("", "")] * len(pairs)
    panels = []
    for (prompt, first, second), (note_left, note_right) in zip(pairs, row_notes):
        panels += [
            Panel(prompt, first, left, note=note_left),
            Panel(prompt, second, right, note=note_right),
        ]
    rows = [[2 * row, 2 * row + 1] for row in range(len(pairs))]
    return motion_figure(panels, columns=2, style=style or PAIR_STYLE, groups=rows)
