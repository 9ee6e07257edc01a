"""One BVH file -> the 22 SMPL joints (T, 22, 3) in metres at 20 fps, y up, right-handed.

    parse -> local channels -> resample (slerp) to 20 fps -> FK -> rig map -> units, up axis,
    handedness -> SMPL-like torso on the rig's segments, limbs from the rig -> metres, y up

The result feeds ``esd.motion.features.joints_to_features``, which retargets to the HumanML3D
bone lengths, floors the clip at y = 0 and turns frame 0 to face +Z with the left at +X.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from esd.motion.bvh.kinematics import forward_kinematics, local_motion, resample
from esd.motion.bvh.parser import Bvh
from esd.motion.bvh.rest import (
    UNITS,
    RigJoints,
    detect_unit,
    is_mirrored,
    leg_length,
    to_canonical_axes,
    up_axis,
)
from esd.motion.bvh.retarget import smpl_joints
from esd.motion.bvh.rigs import match_rig
from esd.motion.skeleton import FPS, JOINT_NAMES

AXIS_NAMES = ("x", "y", "z")


@dataclass(frozen=True)
class ConvertedClip:
    """SMPL joints of one BVH file and how they were obtained."""

    joints: np.ndarray  # (T, 22, 3) metres, y up, FPS frames per second
    rig: str  # name of the matched rig
    unit: str  # file unit (key of rest.UNITS)
    up: str  # the file's up axis, e.g. "+y"
    mirrored: bool  # True when x was negated to make the body right-handed
    source_fps: float  # frame rate of the file
    anchors: dict[str, str] = field(default_factory=dict)  # SMPL joint -> carrying BVH joint

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary (for the import report)."""
        return {
            "rig": self.rig,
            "unit": self.unit,
            "up": self.up,
            "mirrored": self.mirrored,
            "source_fps": round(self.source_fps, 3),
            "frames": int(self.joints.shape[0]),
        }


def convert_bvh(bvh: Bvh, unit: str | None = None, fps: float = FPS) -> ConvertedClip:
    """SMPL joints of a parsed file at ``fps``; ``unit`` (a key of UNITS) or detected.

    Raises UnknownRigError / RestGeometryError (ValueErrors with one line) for rigs it cannot map.
    """
    rig_map, named = match_rig(bvh.names, bvh.source)
    if unit is not None and unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    source = local_motion(bvh)
    motion = resample(source, fps)
    positions, rotations = forward_kinematics(motion)  # (T, J, 3), (T, J, 4)
    rig = RigJoints(positions, rotations, motion.parents, named)
    unit = unit or detect_unit(leg_length(rig))
    up = up_axis(rig)
    mirrored = is_mirrored(rig, up)
    joints, carried_by = smpl_joints(rig, mirrored)
    axis = int(np.argmax(np.abs(up)))
    return ConvertedClip(
        joints=to_canonical_axes(joints, unit, up, mirrored),
        rig=rig_map.name,
        unit=unit,
        up=f"{'+' if up[axis] > 0 else '-'}{AXIS_NAMES[axis]}",
        mirrored=mirrored,
        source_fps=1.0 / source.frame_time,
        anchors={JOINT_NAMES[j]: bvh.names[a] for j, a in sorted(carried_by.items())},
    )
