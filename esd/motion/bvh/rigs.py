"""Joint-name maps from known BVH rigs to the SMPL joints that the rig names directly.

A rig map names, for each limb joint of the 22 SMPL joints and for the head, the BVH joint at
the same place: hip and shoulder (the roots of the legs and arms), knee, ankle, ball of the foot,
elbow, wrist. The torso joints (pelvis, spine1-3, neck, collars) are not named: rigs place them
too differently (CMU has LowerBack + Spine + Spine1, Mixamo Spine + Spine1 + Spine2, Bandai
Spine + Chest), so ``esd.motion.bvh.rest`` places them on an SMPL-like template carried by the
rig's own pelvis, spine and chest segments, found from the hierarchy.

Names match after normalisation: lower case, namespace prefixes dropped (``mixamorig:Hips`` ->
``hips``), non-alphanumerics removed (``UpperLeg_L`` -> ``upperlegl``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# SMPL joints a rig must name (the rest are placed on the template); "head" anchors the neck.
NAMED_JOINTS: tuple[str, ...] = (
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_foot",
    "right_foot",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)


class UnknownRigError(ValueError):
    """No known rig names every SMPL joint; the message lists the ones that are missing."""


def normalise_name(name: str) -> str:
    """``mixamorig:LeftUpLeg`` -> ``leftupleg`` (namespace dropped, lower case, alphanumeric)."""
    return re.sub(r"[^a-z0-9]", "", name.rsplit(":", 1)[-1].lower())


@dataclass(frozen=True)
class RigMap:
    """A known rig: SMPL joint -> BVH joint name, and names only this rig uses."""

    name: str  # shown to users, e.g. "CMU (cgspeed)"
    joints: dict[str, str]  # SMPL joint name -> BVH joint name, for every NAMED_JOINTS entry
    markers: tuple[str, ...] = ()  # joint names typical of this rig (to tell rigs apart)

    def missing(self, present: set[str]) -> list[str]:
        """SMPL joints whose BVH name is not among ``present`` (normalised names)."""
        return [j for j in NAMED_JOINTS if normalise_name(self.joints[j]) not in present]


def _sided(left: str, right: str, **named: str) -> dict[str, str]:
    """A map from per-side name patterns: ``left``/``right`` format the ``{}`` in each value."""
    out = {}
    for smpl, pattern in named.items():
        if "{}" in pattern:
            out[f"left_{smpl}"] = pattern.format(left)
            out[f"right_{smpl}"] = pattern.format(right)
        else:
            out[smpl] = pattern
    return out


_LEFT_RIGHT_NAMES = _sided(
    "Left",
    "Right",
    hip="{}UpLeg",
    knee="{}Leg",
    ankle="{}Foot",
    foot="{}ToeBase",
    shoulder="{}Arm",
    elbow="{}ForeArm",
    wrist="{}Hand",
    head="Head",
)

RIGS: tuple[RigMap, ...] = (
    RigMap("CMU (cgspeed)", _LEFT_RIGHT_NAMES, ("LHipJoint", "LowerBack", "Neck1")),
    RigMap("Mixamo", _LEFT_RIGHT_NAMES, ("Spine2", "HeadTop_End", "LeftHandIndex1")),
    RigMap(
        "Bandai-Namco",
        _sided(
            "L",
            "R",
            hip="UpperLeg_{}",
            knee="LowerLeg_{}",
            ankle="Foot_{}",
            foot="Toes_{}",
            shoulder="UpperArm_{}",
            elbow="LowerArm_{}",
            wrist="Hand_{}",
            head="Head",
        ),
        ("joint_Root", "Chest"),
    ),
)


def match_rig(names: list[str], source: str = "<bvh>") -> tuple[RigMap, dict[str, int]]:
    """The known rig naming every SMPL joint among ``names``, and SMPL joint -> BVH joint index.

    Several complete rigs (CMU and Mixamo share their limb names): the one with the most
    marker joints. None complete: UnknownRigError naming the SMPL joints the closest rig lacks.
    """
    index = {}
    for i, name in enumerate(names):
        index.setdefault(normalise_name(name), i)
    present = set(index)
    complete = [rig for rig in RIGS if not rig.missing(present)]
    if not complete:
        rig = min(RIGS, key=lambda r: len(r.missing(present)))
        missing = rig.missing(present)
        expected = ", ".join(f"{j} ({rig.joints[j]})" for j in missing)
        raise UnknownRigError(
            f"{source}: unknown rig: cannot find the SMPL joints {expected}; nearest known rig "
            f"{rig.name}; known rigs: {', '.join(r.name for r in RIGS)}"
        )
    rig = max(complete, key=lambda r: sum(normalise_name(m) in present for m in r.markers))
    return rig, {smpl: index[normalise_name(bvh)] for smpl, bvh in rig.joints.items()}
