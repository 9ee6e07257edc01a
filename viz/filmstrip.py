"""Still pictures of a motion with Pillow: a film strip (PNG) and an animated GIF.

Input: joints ``(T, 22, 3)`` float, metres, y up, 20 fps (``esd.motion.skeleton``). A pose is
drawn in orthographic projection onto a vertical plane, bones ``PARENTS[j] -> j`` as lines, the
left limbs darker and the right ones lighter than the figure colour (``viz.figure_style``), the
spine and head in the colour itself; the bones nearer the camera are drawn last.

Views, from the body's facing on frame 0 (``f``: horizontal forward, ``l``: horizontal left,
both unit, ``l = y x f``; for a canonical clip f = +z, l = +x):

* ``side``: the camera stands on the body's right and looks at it: screen right = ``f``,
  screen up = y, distance from the camera = ``l`` (a walk goes left to right);
* ``front``: the camera stands in front and looks back at it: screen right = ``l`` (the body's
  left hand on the right of the picture, as in a mirror-free photo), distance = ``-f``.

A screen point in metres ``(u, v)`` maps to pixels ``((u - left) s, (top - v) s)`` with one
scale ``s`` (px/m) for the whole strip or GIF, so sizes compare across frames. Everything is drawn
``SUPERSAMPLE`` times larger and scaled down (anti-aliased lines).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from esd.motion.skeleton import FPS, JOINT_INDEX, PARENTS
from viz.figure_style import PANEL_COLORS, FigureStyle, side_shades
from viz.motion_axes import CENTRE, as_joints, joint_side

VIEWS = ("side", "front")
PANEL_SIZE = (160, 240)  # film strip panel (width, height), px
GIF_HEIGHT = 220  # px; the width follows the motion's extent, at most GIF_MAX_WIDTH
GIF_MAX_WIDTH = 560
GIF_MIN_WIDTH = 180
GIF_STRIDE = 2  # every 2nd frame: 10 fps from 20 fps
GIF_BLENDS = 3  # palette: each drawn colour at 3 mixes towards the background (edges)
SUPERSAMPLE = 3  # draw this much larger, then downsample
FIGURE_COLOR = PANEL_COLORS[0]  # blue, as the workbench's original motion
BACKGROUND = (255, 255, 255)
FLOOR_COLOR = (150, 150, 150)
RULER_COLORS = ((120, 120, 120), (215, 215, 215))  # alternating ground stripes under the floor
SEPARATOR_COLOR = (215, 215, 215)
LABEL_COLOR = (110, 110, 110)
TRAIL_FADE = 0.65  # toe trails: the side colour mixed this much towards the background
BONE_WIDTH_M = 0.045  # drawn bone thickness (metres, so it scales with the figure)
TRAIL_WIDTH_M = 0.015
HEAD_RADIUS_M = 0.085  # a disc around the head joint
MARGIN_M = 0.12  # empty border around the figure
FLOOR_BAND_M = 0.10  # room under the floor line for its ticks
RULER_STEP_M = 0.25  # stripes of ground this long under the floor line: they show travel
RULER_DEPTH_M = 0.04  # the stripes' height below the floor line
LABEL_SIZE = 11  # px, the time label of a film strip panel
TOES = (JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"])
HEAD = JOINT_INDEX["head"]
PELVIS = JOINT_INDEX["pelvis"]
_HIPS = (JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"])
_SHOULDERS = (JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"])
BONES = tuple((parent, child) for child, parent in enumerate(PARENTS) if parent >= 0)


@dataclass(frozen=True)
class Camera:
    """Metres on the picture plane -> pixels: ``x = (u - left) scale``, ``y = (top - v) scale``."""

    left: float
    top: float
    scale: float  # px per metre

    def px(self, uv: np.ndarray) -> np.ndarray:
        """``uv (..., 2)`` metres -> ``(..., 2)`` pixels."""
        return np.stack([(uv[..., 0] - self.left), (self.top - uv[..., 1])], -1) * self.scale


def project(joints: np.ndarray, view: str = "side") -> tuple[np.ndarray, np.ndarray]:
    """Screen coordinates ``uv (T, 22, 2)`` (metres, v = height) and distance from the camera
    ``depth (T, 22)`` (larger = farther) of a motion, for ``view`` in ``VIEWS``."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    j = as_joints(joints).astype(np.float64)
    across = (j[0, _HIPS[0]] - j[0, _HIPS[1]]) + (j[0, _SHOULDERS[0]] - j[0, _SHOULDERS[1]])
    left = np.array([across[0], 0.0, across[2]])
    left = left / np.linalg.norm(left) if np.linalg.norm(left) > 1e-9 else np.array([1.0, 0, 0])
    forward = np.cross(left, [0.0, 1.0, 0.0])  # l x y = f (x x y = z)
    right, depth = (forward, left) if view == "side" else (left, -forward)
    return np.stack([j @ right, j[..., 1]], -1), j @ depth


def side_colours() -> dict[str, tuple[int, int, int]]:
    """RGB per body side (``CENTRE``, ``LEFT``, ``RIGHT``): ``viz.figure_style`` shades of
    ``FIGURE_COLOR`` (left darker, right lighter)."""
    style = FigureStyle()
    rgb = [int(FIGURE_COLOR[i : i + 2], 16) for i in (1, 3, 5)]
    shades = side_shades(rgb, style.left_shade, style.right_shade)
    return {side: tuple(round(c) for c in value) for side, value in shades.items()}


def _fade(rgb: tuple[int, ...], amount: float) -> tuple[int, int, int]:
    """``rgb + amount (background - rgb)``."""
    return tuple(round(c + amount * (b - c)) for c, b in zip(rgb, BACKGROUND))


def _draw_floor(draw: ImageDraw.ImageDraw, cam: Camera, width: int, ss: int) -> None:
    """The floor line ``v = 0`` across the picture over a ruler of ``RULER_STEP_M`` stripes
    fixed to the ground (stripe ``k`` covers ``u in [k, k + 1) RULER_STEP_M``)."""
    y = cam.top * cam.scale
    depth = RULER_DEPTH_M * cam.scale
    first = int(np.floor(cam.left / RULER_STEP_M))
    for k in range(first, int(np.ceil((cam.left + width / cam.scale) / RULER_STEP_M)) + 1):
        x0 = (k * RULER_STEP_M - cam.left) * cam.scale
        draw.rectangle([x0, y, x0 + RULER_STEP_M * cam.scale, y + depth], RULER_COLORS[k % 2])
    draw.line([(0, y), (width, y)], fill=FLOOR_COLOR, width=max(1, ss))


def _draw_trail(draw: ImageDraw.ImageDraw, cam: Camera, uv: np.ndarray, upto: int) -> None:
    """Faint paths of the two toes over frames ``0 .. upto`` (``uv (T, 22, 2)``)."""
    colours = side_colours()
    width = max(1, round(TRAIL_WIDTH_M * cam.scale))
    for toe in TOES:
        points = [tuple(p) for p in cam.px(uv[: upto + 1, toe])]
        if len(points) > 1:
            draw.line(points, fill=_fade(colours[joint_side(toe)], TRAIL_FADE), width=width)


def _draw_pose(draw: ImageDraw.ImageDraw, cam: Camera, uv: np.ndarray, depth: np.ndarray) -> None:
    """One pose, ``uv (22, 2)`` and ``depth (22,)``: bones far to near, then the head disc."""
    colours = side_colours()
    px = cam.px(uv)
    width = max(1, round(BONE_WIDTH_M * cam.scale))
    order = sorted(BONES, key=lambda bone: -(depth[bone[0]] + depth[bone[1]]))
    for parent, child in order:
        colour = colours[joint_side(child)]
        (x0, y0), (x1, y1) = px[parent], px[child]
        draw.line([(x0, y0), (x1, y1)], fill=colour, width=width)
        for x, y in ((x0, y0), (x1, y1)):  # round joints
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], colour)
    hx, hy = px[HEAD]
    r = HEAD_RADIUS_M * cam.scale
    draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=colours[CENTRE])


def _vertical_range(uv: np.ndarray) -> tuple[float, float]:
    """(bottom, top) heights in metres that hold every frame, the floor and its ticks."""
    return min(0.0, float(uv[..., 1].min())) - FLOOR_BAND_M, float(uv[..., 1].max()) + MARGIN_M


def strip_frames(length: int, frames: int) -> np.ndarray:
    """``frames`` evenly spaced frame indices of a ``length``-frame clip, first and last
    included (fewer when the clip is shorter): ``round(linspace(0, length - 1, frames))``."""
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    return np.unique(np.round(np.linspace(0, length - 1, min(frames, length))).astype(int))


def film_strip(
    joints: np.ndarray,
    frames: int = 8,
    size: tuple[int, int] = PANEL_SIZE,
    view: str = "side",
    label: bool = True,
) -> Image.Image:
    """A row of ``n`` panels, each ``size = (w, h)`` px, showing evenly spaced poses
    (``strip_frames``) of ``joints (T, 22, 3)``: an RGB image of ``(n w, h)`` px.

    One scale for every panel; each panel's camera follows the pelvis horizontally (the pelvis
    stays at the same place in every panel) while the floor ticks, fixed to the ground, and the
    toes' trail so far show how far the body has travelled. ``label`` writes the time (s) and
    the pelvis's screen-horizontal travel since frame 0 (m, + to the right).
    """
    uv, depth = project(joints, view)
    w, h = size
    if w < 16 or h < 16:
        raise ValueError(f"size must be at least 16 x 16 px, got {size}")
    picks = strip_frames(len(uv), frames)
    rel = uv[..., 0] - uv[:, PELVIS : PELVIS + 1, 0]  # (T, 22) relative to the pelvis
    half = max(float(rel.max() - rel.min()) / 2 + MARGIN_M, HEAD_RADIUS_M + MARGIN_M)
    bottom, top = _vertical_range(uv)
    scale = min(w / (2 * half), h / (top - bottom)) * SUPERSAMPLE
    centre = float(rel.max() + rel.min()) / 2
    ss_w, ss_h = w * SUPERSAMPLE, h * SUPERSAMPLE
    canvas = Image.new("RGB", (ss_w * len(picks), ss_h), BACKGROUND)
    for k, t in enumerate(picks):
        panel = Image.new("RGB", (ss_w, ss_h), BACKGROUND)
        draw = ImageDraw.Draw(panel)
        left = float(uv[t, PELVIS, 0]) + centre - ss_w / scale / 2
        cam = Camera(left, bottom + ss_h / scale, scale)
        _draw_floor(draw, cam, ss_w, SUPERSAMPLE)
        _draw_trail(draw, cam, uv, t)
        _draw_pose(draw, cam, uv[t], depth[t])
        canvas.paste(panel, (k * ss_w, 0))
    image = canvas.resize((w * len(picks), h), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=LABEL_SIZE)
    for k, t in enumerate(picks):
        if k:
            draw.line([(k * w, 0), (k * w, h)], fill=SEPARATOR_COLOR)
        if label:
            moved = round(float(uv[t, PELVIS, 0] - uv[0, PELVIS, 0]), 1) + 0.0  # no "-0.0"
            text = f"{t / FPS:.1f} s · {moved:+.1f} m"
            draw.text((k * w + 4, 3), text, fill=LABEL_COLOR, font=font)
    return image


def gif_camera(uv: np.ndarray, height: int, max_width: int) -> tuple[Camera, int]:
    """One fixed camera framing every frame of ``uv (T, 22, 2)``: (camera at 1x, width px)."""
    bottom, top = _vertical_range(uv)
    lo, hi = float(uv[..., 0].min()) - MARGIN_M, float(uv[..., 0].max()) + MARGIN_M
    scale = min(height / (top - bottom), max_width / (hi - lo))
    width = int(np.clip(np.ceil((hi - lo) * scale), GIF_MIN_WIDTH, max_width))
    left = (lo + hi) / 2 - width / scale / 2
    return Camera(left, bottom + height / scale, scale), width


def gif_frames(
    joints: np.ndarray,
    view: str = "side",
    stride: int = GIF_STRIDE,
    height: int = GIF_HEIGHT,
    max_width: int = GIF_MAX_WIDTH,
) -> list[Image.Image]:
    """RGB frames ``(width, height)`` px of frames ``0, stride, 2 stride, ...`` of
    ``joints (T, 22, 3)`` seen by one fixed camera (``gif_camera``), floor and toe trails."""
    if stride < 1 or height < 16 or max_width < GIF_MIN_WIDTH:
        raise ValueError(
            f"need stride >= 1, height >= 16 and max_width >= {GIF_MIN_WIDTH}, "
            f"got {stride}, {height}, {max_width}"
        )
    uv, depth = project(joints, view)
    cam, width = gif_camera(uv, height, max_width)
    big = Camera(cam.left, cam.top, cam.scale * SUPERSAMPLE)
    out = []
    for t in range(0, len(uv), stride):
        frame = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), BACKGROUND)
        draw = ImageDraw.Draw(frame)
        _draw_floor(draw, big, width * SUPERSAMPLE, SUPERSAMPLE)
        _draw_trail(draw, big, uv, t)
        _draw_pose(draw, big, uv[t], depth[t])
        out.append(frame.resize((width, height), Image.Resampling.LANCZOS))
    return out


def gif_palette(blends: int = GIF_BLENDS) -> Image.Image:
    """A "P" image whose palette is the background and each drawn colour ``c`` (sides, trails,
    floor, ruler) mixed towards it: ``c + (k / blends) (background - c)``, ``k = 0 .. blends-1``
    (anti-aliased edges find a near entry; white stays exactly white)."""
    sides = side_colours()
    drawn = [*sides.values(), FLOOR_COLOR, *RULER_COLORS]
    drawn += [_fade(sides[joint_side(toe)], TRAIL_FADE) for toe in TOES]
    entries = [BACKGROUND] + [_fade(c, k / blends) for c in drawn for k in range(blends)]
    image = Image.new("P", (1, 1))
    image.putpalette([v for rgb in entries for v in rgb])
    return image


def animated_gif(
    joints: np.ndarray,
    view: str = "side",
    stride: int = GIF_STRIDE,
    height: int = GIF_HEIGHT,
    max_width: int = GIF_MAX_WIDTH,
    blends: int = GIF_BLENDS,
) -> bytes:
    """A looping GIF of ``joints (T, 22, 3)`` (``gif_frames``), ``1000 stride / FPS`` ms per frame
    (10 fps at stride 2), one palette for all frames (``gif_palette(blends)``); ``ceil(T / stride)``
    frames (Pillow merges identical consecutive frames into one longer frame)."""
    frames = gif_frames(joints, view, stride, height, max_width)
    palette = gif_palette(blends)
    indexed = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    buffer = io.BytesIO()
    indexed[0].save(
        buffer, format="GIF", save_all=True, append_images=indexed[1:], loop=0,
        duration=round(1000 * stride / FPS), optimize=True,
    )  # fmt: skip
    return buffer.getvalue()
