"""Ground the rig: derive the root trajectory from planted body parts, the floor and gravity.

Actions describe only the body: joint rotations, the heading, which joints are planted on the
floor in each frame, and which frames are airborne. ``ground`` then places the body in the world:

* Horizontal: joints planted in two consecutive frames do not move. With P_t the set planted at
  both t-1 and t and x the root-relative positions (heading applied, root at the origin),

      root_t.xz = root_{t-1}.xz - mean_{j in P_t} (x_{t,j}.xz - x_{t-1,j}.xz)

  so a stance foot sweeping backward under the body pushes the body forward (walking emerges from
  the gait), and a planted foot never slides. With no planted joint the root keeps its velocity
  (momentum in flight).
* Vertical: the lowest planted joint rests at its contact height on the floor; airborne stretches
  follow a ballistic arc y(tau) = y_0 + v_0 tau - g tau^2 / 2 that joins the take-off and landing
  heights; finally nothing goes below the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.corpus.rig import CONTACT_HEIGHT, Pose, forward_kinematics
from esd.motion.skeleton import FPS, JOINT_INDEX, NUM_JOINTS

GRAVITY = 9.81  # m/s^2
FLOOR_MARGIN = 0.005  # m: the lowest joint centre stays at least this high

# Contact height (m) of each joint that can be planted.
_CONTACT = np.full(NUM_JOINTS, CONTACT_HEIGHT["foot"])
for _name, _kind in (
    ("left_ankle", "ankle"),
    ("right_ankle", "ankle"),
    ("left_knee", "knee"),
    ("right_knee", "knee"),
    ("left_wrist", "wrist"),
    ("right_wrist", "wrist"),
):
    _CONTACT[JOINT_INDEX[_name]] = CONTACT_HEIGHT[_kind]

LEFT_FOOT = (JOINT_INDEX["left_foot"],)
RIGHT_FOOT = (JOINT_INDEX["right_foot"],)
BOTH_FEET = LEFT_FOOT + RIGHT_FOOT


@dataclass
class BodyMotion:
    """What an action generator produces: the body, not yet placed in the world."""

    pose: Pose  # local rotations (T, 22, 4) and heading (T,)
    planted: np.ndarray  # (T, 22) bool: joints resting on the floor in each frame
    airborne: np.ndarray  # (T,) bool: frames without floor contact (jumps, hops)

    @classmethod
    def standing(cls, pose: Pose) -> BodyMotion:
        """Both feet planted in every frame."""
        planted = np.zeros((pose.frames, NUM_JOINTS), dtype=bool)
        planted[:, list(BOTH_FEET)] = True
        return cls(pose, planted, np.zeros(pose.frames, dtype=bool))

    def __post_init__(self) -> None:
        frames = self.pose.frames
        if self.planted.shape != (frames, NUM_JOINTS) or self.airborne.shape != (frames,):
            raise ValueError("planted must be (T, 22) and airborne (T,) for a pose of T frames")
        self.planted = self.planted & ~self.airborne[:, None]


def horizontal_root(relative: np.ndarray, motion: BodyMotion) -> np.ndarray:
    """Root x/z (T, 2) that keeps planted joints still; momentum while nothing is planted."""
    frames = relative.shape[0]
    root = np.zeros((frames, 2))
    velocity = np.zeros(2)
    for t in range(1, frames):
        both = motion.planted[t] & motion.planted[t - 1]  # (22,)
        if both.any():
            sweep = relative[t, both][:, [0, 2]] - relative[t - 1, both][:, [0, 2]]  # (P, 2)
            velocity = -sweep.mean(axis=0)
        elif not motion.airborne[t]:
            velocity = velocity * 0.8  # unsupported but not jumping: settle quickly
        root[t] = root[t - 1] + velocity
    return root


def support_height(relative: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """Root height (T,) putting the lowest planted joint at its contact height; NaN if none."""
    heights = np.where(planted, _CONTACT[None] - relative[..., 1], -np.inf)  # (T, 22)
    best = heights.max(axis=1)
    return np.where(np.isfinite(best), best, np.nan)


def ballistic_fill(height: np.ndarray, airborne: np.ndarray) -> np.ndarray:
    """Fill airborne stretches of ``height`` (T,) with arcs under gravity joining their ends."""
    filled = height.copy()
    frames = len(height)
    t = 0
    while t < frames:
        if not airborne[t]:
            t += 1
            continue
        start = t
        while t < frames and airborne[t]:
            t += 1
        before = filled[start - 1] if start > 0 else np.nan
        after = filled[t] if t < frames else np.nan
        before = after if np.isnan(before) else before
        after = before if np.isnan(after) else after
        duration = (t - start + 1) / FPS  # from the last support frame to the landing frame
        tau = np.arange(1, t - start + 1) / FPS
        v0 = (after - before) / duration + 0.5 * GRAVITY * duration
        filled[start:t] = before + v0 * tau - 0.5 * GRAVITY * tau**2
    return filled


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN entries of (T,) (edges hold the nearest value)."""
    known = ~np.isnan(values)
    if not known.any():
        return np.zeros_like(values)
    index = np.arange(len(values))
    return np.interp(index, index[known], values[known])


def ground(motion: BodyMotion, start_xz: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """World joint positions (T, 22, 3) of a body motion (see the module docstring)."""
    relative = forward_kinematics(motion.pose)  # (T, 22, 3), root at the origin
    xz = horizontal_root(relative, motion) + np.asarray(start_xz)
    supported = support_height(relative, motion.planted)
    supported[motion.airborne] = np.nan
    grounded = ~motion.airborne & np.isnan(supported)  # neither planted nor jumping
    height = fill_gaps(np.where(grounded, np.nan, supported))
    height = ballistic_fill(np.where(motion.airborne, np.nan, height), motion.airborne)
    height = np.maximum(height, FLOOR_MARGIN - relative[..., 1].min(axis=1))  # never below floor
    root = np.stack([xz[:, 0], height, xz[:, 1]], axis=1)  # (T, 3)
    return relative + root[:, None, :]
