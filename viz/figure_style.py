"""Look of the skeleton figures: :class:`FigureStyle`, panel colours and the limb shades.

Every skeleton has one colour (by column: original blue, unlearned red); its limbs are drawn in
two shades of that colour so the body's sides read at a glance: the left arm and leg darker
(mixed ``left_shade`` towards black), the right ones lighter (mixed ``right_shade`` towards
white), the spine and head in the colour itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from viz.motion_axes import CENTRE, LEFT, RIGHT

PANEL_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")  # default colour by column
_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_RGB = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)")


@dataclass(frozen=True)
class FigureStyle:
    """Look of :func:`viz.skeleton.motion_figure` (sizes in pixels unless stated)."""

    row_height: int = 420  # height of one row of scenes (the controls' band comes on top)
    controls_height: int = 86  # band above the scenes holding Play / Pause and the slider
    margin_m: float = 0.15  # empty border around the motion in every scene (metres)
    min_extent_m: float = 1.0  # smallest horizontal extent of a scene, so a pose is not huge
    same_scale: bool = True  # every scene the same size in metres: one camera, one scale
    grid_step_m: float = 0.5  # spacing of the floor grid lines (metres)
    line_width: float = 6.0  # bone line width
    marker_size: float = 3.0  # joint marker size
    left_shade: float = 0.45  # left limbs: the panel colour mixed this much towards black
    right_shade: float = 0.5  # right limbs: the panel colour mixed this much towards white
    show_floor: bool = True  # draw the floor grid traces (still present, empty, when False)
    show_trajectory: bool = True  # draw the root's trail on the floor (present, empty, if False)
    show_axes: bool = False  # plotly's axis box, ticks and titles (the floor grid gives scale)
    camera_eye: tuple[float, float, float] = (1.0, 0.62, 0.42)  # plotly eye: front-left, above
    floor_color: str = "rgba(110,110,110,0.7)"  # grid line colour
    trajectory_color: str = "rgba(60,60,60,0.6)"  # root trail colour
    title_size: int = 13  # panel title font size
    note_size: int = 12  # per-panel note font size
    title_chars: int = 70  # longer titles are cut with an ellipsis (full text on hover)
    extra_layout: dict[str, Any] = field(default_factory=dict)  # merged into the layout last


def limb_shades(color: str, style: FigureStyle) -> dict[str, str]:
    """Colour per body side (``CENTRE``, ``LEFT``, ``RIGHT``) derived from one panel colour.

    ``c_left = (1 - a) c``, ``c_right = c + b (255 - c)`` per RGB channel with
    ``a = style.left_shade`` and ``b = style.right_shade``. ``color`` is ``#rgb``, ``#rrggbb``
    or ``rgb(r, g, b)``; any other CSS colour (a name) is used for all three sides.
    """
    rgb = _parse_rgb(color)
    if rgb is None:
        return {CENTRE: color, LEFT: color, RIGHT: color}
    shades = side_shades(rgb, style.left_shade, style.right_shade)
    return {side: _hex(value) for side, value in shades.items()}


def side_shades(rgb: Sequence[float], left: float, right: float) -> dict[str, list[float]]:
    """RGB 0..255 per body side: ``rgb`` for ``CENTRE``, ``(1 - left) rgb`` for ``LEFT``,
    ``rgb + right (255 - rgb)`` for ``RIGHT``."""
    return {
        CENTRE: [float(c) for c in rgb],
        LEFT: [c * (1.0 - left) for c in rgb],
        RIGHT: [c + right * (255.0 - c) for c in rgb],
    }


def _parse_rgb(color: str) -> list[float] | None:
    """RGB channels 0..255 of a hex or ``rgb()`` colour, None for anything else."""
    text = color.strip()
    match = _HEX.fullmatch(text)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return [float(int(digits[i : i + 2], 16)) for i in (0, 2, 4)]
    match = _RGB.match(text)
    return [min(255.0, float(v)) for v in match.groups()] if match else None


def _hex(rgb: list[float]) -> str:
    return "#" + "".join(f"{round(min(255.0, max(0.0, c))):02x}" for c in rgb)
