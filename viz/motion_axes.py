"""Motion arrays as the figures and exports see them: validation, axes, chains and body sides.

Input everywhere: joints ``(T, 22, 3)`` float32, metres, y up. Plotly scenes are z-up, so a
motion point ``(x, y, z)`` is drawn at plotly ``(z, x, y)`` (a cyclic permutation, i.e. a proper
rotation: left stays left).

Body sides: a joint whose name starts with ``left_`` / ``right_`` is on that side, every other
joint (pelvis, spine, neck, head) is ``CENTRE``; a chain of ``KINEMATIC_CHAINS`` takes the side
of its last joint (the legs and arms start at the pelvis / spine3 but belong to a side).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from esd.motion.skeleton import JOINT_NAMES, KINEMATIC_CHAINS, NUM_JOINTS

# Motion axis feeding plotly (x, y, z): plotly x <- motion z, y <- motion x, z <- motion y (up).
PLOTLY_FROM_MOTION_AXES = (2, 0, 1)
COORD_DECIMALS = 3  # rounding of every coordinate in the figure (1 mm; keeps the JSON small)

CENTRE, LEFT, RIGHT = "centre", "left", "right"  # body sides
SIDES = (CENTRE, LEFT, RIGHT)


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


def joint_side(joint: int) -> str:
    """``LEFT``, ``RIGHT`` or ``CENTRE`` for a joint index, from its name."""
    name = JOINT_NAMES[joint]
    return LEFT if name.startswith("left_") else RIGHT if name.startswith("right_") else CENTRE


def chain_sides() -> tuple[str, ...]:
    """The body side of each of ``KINEMATIC_CHAINS`` (the side of its last joint)."""
    return tuple(joint_side(chain[-1]) for chain in KINEMATIC_CHAINS)


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


def chain_path_sides() -> list[str]:
    """Body side of every point of :func:`chain_path` (a gap takes the side of the next chain),
    so a chain is drawn in one colour from its first joint on."""
    sides: list[str] = []
    for i, (chain, side) in enumerate(zip(KINEMATIC_CHAINS, chain_sides())):
        sides += [side] * (len(chain) + (1 if i else 0))
    return sides


def to_plotly_axes(points: np.ndarray) -> np.ndarray:
    """Motion coordinates ``(..., 3)`` (y up) -> plotly scene coordinates ``(..., 3)`` (z up)."""
    return points[..., PLOTLY_FROM_MOTION_AXES]
