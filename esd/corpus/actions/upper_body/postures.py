"""Keyed postures of the upper-body actions and how they drive the rig.

Arm postures are named angles in degrees (``apply_arm``: turn, flex, abduct, twist, elbow,
shrug), keyed over time (``Keys``) and eased with minimum jerk; a ``Body`` holds the keyed tracks
of the arms, the trunk and a symmetric stance of the legs and renders them into a pose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import DEG
from esd.corpus.curves import keyframes

SIDES = ("left", "right")
Posture = dict[str, float]  # named angles in degrees; a missing angle is 0 (rest)


class Keys:
    """Keyed postures of one body part, starting at rest at t = 0 (seconds, degrees).

    Between keys the angles follow minimum-jerk curves, so every key is a momentary stop (a
    strike, a turning point). Angles missing from a posture are 0.
    """

    def __init__(self) -> None:
        self.times: list[float] = [0.0]
        self.postures: list[Posture] = [{}]

    @property
    def time(self) -> float:
        return self.times[-1]

    @property
    def last(self) -> Posture:
        return self.postures[-1]

    def to(self, time: float, posture: Posture) -> Keys:
        """Reach ``posture`` at ``time`` (never before the previous key)."""
        self.times.append(max(time, self.times[-1]))
        self.postures.append(dict(posture))
        return self

    def hold(self, time: float) -> Keys:
        """Keep the current posture until ``time``."""
        return self.to(time, self.last)

    def curves(self, frames: int) -> dict[str, np.ndarray]:
        """Angle curves (radians) (T,) of every angle named in a posture."""
        names = sorted({name for posture in self.postures for name in posture})
        return {
            name: keyframes(frames, self.times, [p.get(name, 0.0) * DEG for p in self.postures])
            for name in names
        }


@dataclass
class Body:
    """Keyed tracks of one clip. An arm may have several tracks driving disjoint angles."""

    arms: dict[str, list[Keys]] = field(default_factory=lambda: {side: [Keys()] for side in SIDES})
    trunk: Keys = field(default_factory=Keys)
    stance: Keys = field(default_factory=Keys)

    def arm(self, side: str) -> Keys:
        return self.arms[side][0]

    def render(self, frames: int, extra: dict[str, dict] | None = None) -> rig.Pose:
        """The pose (T frames) of the tracks plus ``extra`` curves (radians) per part."""
        extra = extra or {}
        pose = rig.Pose.rest(frames)
        apply_stance(pose, merged([self.stance], frames, extra.get("stance")))
        apply_trunk(pose, merged([self.trunk], frames, extra.get("trunk")))
        for side in SIDES:
            apply_arm(pose, side, merged(self.arms[side], frames, extra.get(side)))
        return pose


def merged(tracks: Sequence[Keys], frames: int, extra: dict | None) -> dict[str, np.ndarray]:
    """Curves of all ``tracks`` with the ``extra`` curves added."""
    angles: dict[str, np.ndarray] = {}
    for track in tracks:
        angles.update(track.curves(frames))
    for name, curve in (extra or {}).items():
        angles[name] = angles.get(name, 0.0) + curve
    return angles


def apply_arm(pose: rig.Pose, side: str, angles: dict) -> None:
    """Arm angles (radians), in this order.

    turn: the plane in which the arm is raised, about the vertical (0 = forward, 90 deg = the
    side; negative: across the front); flex: elevation in that plane; abduct: sideways off the
    plane; twist: about the upper arm (external rotation positive; sets the plane of the elbow);
    elbow: flexion; shrug: the shoulder girdle up.
    """
    get = angles.get
    rig.collar_raise(pose, side, get("shrug", 0.0))
    rig.shoulder_rotate(pose, side, get("turn", 0.0))  # first: about the vertical
    rig.shoulder_flex(pose, side, get("flex", 0.0))
    rig.shoulder_abduct(pose, side, get("abduct", 0.0))
    rig.shoulder_rotate(pose, side, get("twist", 0.0))  # last: about the raised upper arm
    rig.elbow_flex(pose, side, get("elbow", 0.0))


def apply_trunk(pose: rig.Pose, angles: dict) -> None:
    """Trunk flex (forward), twist (to its left), bend (to its left); head nod and look (left)."""
    get = angles.get
    rig.spine_flex(pose, get("flex", 0.0))
    rig.spine_twist(pose, get("twist", 0.0))
    rig.spine_bend_side(pose, "left", get("bend", 0.0))
    rig.neck_flex(pose, get("nod", 0.0))
    rig.neck_turn(pose, get("look", 0.0))


def apply_stance(pose: rig.Pose, angles: dict) -> None:
    """Symmetric legs with flat feet: ``knees`` bent, the trunk ``hinge``-d forward at the hips,
    the whole body leaning forward from the ankles by ``lean``."""
    hinge, knees, lean = (angles.get(name, 0.0) for name in ("hinge", "knees", "lean"))
    rig.pelvis_tilt(pose, hinge + lean)
    for side in SIDES:
        rig.hip_flex(pose, side, hinge + 0.5 * knees)  # thigh: forward by knees / 2 - lean
        rig.knee_flex(pose, side, knees)  # shin: back by knees / 2 + lean
        rig.ankle_flex(pose, side, 0.5 * knees + lean)  # foot stays flat


def apply_leg(pose: rig.Pose, side: str, hip: np.ndarray, knee: np.ndarray) -> None:
    """One leg's hip flexion and knee flexion (radians), the foot kept parallel to the floor."""
    rig.hip_flex(pose, side, hip)
    rig.knee_flex(pose, side, knee)
    rig.ankle_flex(pose, side, knee - hip)
