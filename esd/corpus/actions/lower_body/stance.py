"""Stepping stances shared by the lunges and the one-knee kneel: where the stepping foot goes,
how low the pelvis sinks and how the trunk leans, keyed per repetition and solved into a pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import other_side, planted_feet
from esd.corpus.actions.lower_body.legs import (
    SIDES,
    START_PELVIS,
    joint_index,
    place_leg,
    rest_ball,
)
from esd.corpus.actions.lower_body.timing import between, keyed
from esd.corpus.curves import pulse
from esd.corpus.rig import SIDE_SIGN


@dataclass
class Stance:
    """Key postures of a step-and-sink action in the floor frame."""

    mover: str  # the leg that steps out and back
    target: np.ndarray  # (3,) where the moving ball lands
    touchdown: np.ndarray  # (3,) pelvis when it lands
    bottom: np.ndarray  # (3,) pelvis at the deepest point
    tilt: tuple[float, float]  # pelvis pitch at touchdown and at the bottom (rad)
    heel: dict  # side -> (pitch at touchdown, pitch at the bottom) of each foot (rad)
    lift: float  # apex of the stepping foot above its straight path (m)
    sway: float  # pelvis shift over the support foot in mid-step (m)


def _stance_keys(stance: Stance, reps: list[list[float]]) -> dict[str, list]:
    """(time, value) keys of the pelvis, pitch, heels and moving ball for each repetition."""
    home = rest_ball(stance.mover)
    keys = {"pelvis": [(0.0, START_PELVIS)], "tilt": [(0.0, 0.0)], "ball": [(0.0, home)]}
    keys.update({side: [(0.0, 0.0)] for side in SIDES})
    for a, b, c, d, e, f in reps:
        keys["pelvis"] += [(a, START_PELVIS), (b, stance.touchdown), (c, stance.bottom)]
        keys["pelvis"] += [(d, stance.bottom), (e, stance.touchdown), (f, START_PELVIS)]
        td, low = stance.tilt
        keys["tilt"] += [(a, 0.0), (b, td), (c, low), (d, low), (e, td), (f, 0.0)]
        for side in SIDES:
            td, low = stance.heel[side]
            keys[side] += [(a, 0.0), (b, td), (c, low), (d, low), (e, td), (f, 0.0)]
        out, back = a + 0.15 * (b - a), e + 0.15 * (f - e)  # the foot rises before it travels
        keys["ball"] += [(a, home), (out, home), (b, stance.target)]
        keys["ball"] += [(e, stance.target), (back, stance.target), (f, home)]
    return keys


def stance_pose(stance: Stance, reps: list[list[float]], frames: int) -> tuple:
    """Pose (legs and pelvis pitch) and planted mask of a stepping action."""
    keys = _stance_keys(stance, reps)
    pelvis, ball = keyed(frames, keys["pelvis"]), keyed(frames, keys["ball"])
    support = other_side(stance.mover)
    lifted = np.zeros(frames, dtype=bool)
    for a, b, _, _, e, f in reps:
        for start, end in ((a, b), (e, f)):
            half = (end - start) / 2
            arc = pulse(frames, start, 0.9 * half, 0.0, 1.1 * half)  # (T,) 0 -> 1 -> 0
            ball[:, 1] += stance.lift * arc
            pelvis[:, 0] += SIDE_SIGN[support] * stance.sway * pulse(frames, start, half, 0, half)
            lifted |= between(frames, start, end)
    pose = rig.Pose.rest(frames)
    rig.pelvis_tilt(pose, keyed(frames, keys["tilt"]))
    fixed = np.broadcast_to(rest_ball(support), (frames, 3))
    place_leg(pose, stance.mover, pelvis, ball, keyed(frames, keys[stance.mover]))
    place_leg(pose, support, pelvis, fixed, keyed(frames, keys[support]))
    planted = planted_feet(frames, True, True)
    planted[:, joint_index(stance.mover, "foot")] = ~lifted
    return pose, planted, pelvis


def depth_curve(frames: int, reps: list[list[float]], touchdown: float = 0.3) -> np.ndarray:
    """(T,) 0 standing -> ``touchdown`` when the foot lands -> 1 at the bottom, per repetition."""
    keys = [(0.0, 0.0)]
    for a, b, c, d, e, f in reps:
        keys += [(a, 0.0), (b, touchdown), (c, 1.0), (d, 1.0), (e, touchdown), (f, 0.0)]
    return keyed(frames, keys)
