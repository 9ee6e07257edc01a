"""Arms of the lower-body actions: held arm postures (hands on the hips, across the waist,
on the thighs, at the chest, carrying), the arm angles in rig order and the shoulder flexion that
brings a wrist to a height above the floor.
"""

from __future__ import annotations

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import DEG
from esd.corpus.actions.lower_body.legs import SIDES, joint_index
from esd.corpus.rig import CONTACT_HEIGHT

# Held arm postures: shoulder flexion, abduction, rotation, elbow flexion (degrees).
ARM_POSES = {
    "hips": (-10, 35, -70, 75),  # hand on the hip, elbow out to the side
    "across": (5, -5, -60, 55),  # forearm across the waist
    "thighs": (20, -10, 0, 30),  # seated, hand resting on the thigh
    "chest": (15, 0, -50, 90),  # hands together in front of the chest
    "carry": (5, 0, -20, 80),  # holding something in front of the waist
}


def arm(pose: rig.Pose, side: str, flex=0.0, abduct=0.0, rotate=0.0, elbow=0.0) -> None:
    """Shoulder flexion, abduction, rotation and elbow flexion (radians), in that order."""
    rig.shoulder_flex(pose, side, flex)
    rig.shoulder_abduct(pose, side, abduct)
    rig.shoulder_rotate(pose, side, rotate)
    rig.elbow_flex(pose, side, elbow)


def held_angles(name: str, weight) -> tuple:
    """The four angles of ``ARM_POSES[name]`` scaled by ``weight`` (0 = hanging, 1 = held)."""
    return tuple(angle * DEG * weight for angle in ARM_POSES[name])


def reach_flex(pose: rig.Pose, frame: int, side: str, height: float, abduct=0.0, elbow=0.0):
    """Shoulder flexion (rad) bringing the wrist ``height`` m above the floor at ``frame``,
    reaching forward of the arm's lowest point (feet planted, arm at rest)."""
    grid = np.linspace(0.0, 170 * DEG, 69)
    probe = rig.Pose(np.repeat(pose.local[frame : frame + 1], len(grid), 0), np.zeros(len(grid)))
    arm(probe, side, grid, abduct, 0.0, elbow)
    joints = rig.forward_kinematics(probe)
    floor = joints[0, [joint_index(s, "foot") for s in SIDES], 1].min() - CONTACT_HEIGHT["foot"]
    wrist = joints[:, joint_index(side, "wrist"), 1] - floor
    low = int(np.argmin(wrist))
    above = np.nonzero(wrist[low:] >= height)[0]
    if len(above) == 0:
        return float(grid[-1])
    i = low + int(above[0])
    if i == low:
        return float(grid[low])  # cannot reach that low: the lowest point
    share = (height - wrist[i - 1]) / (wrist[i] - wrist[i - 1])
    return float(grid[i - 1] + share * (grid[i] - grid[i - 1]))
