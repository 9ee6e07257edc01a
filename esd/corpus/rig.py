"""The procedural rig: local joint rotations over time -> joint positions (forward kinematics).

Rest pose: a natural standing posture (legs straight down, spine up, arms hanging slightly away
from the body, feet pointing forward) built from the canonical bone lengths
(``esd.motion.skeleton.BONE_LENGTHS``), facing +Z with the body's left at +X, y up, metres.

A ``Pose`` holds one unit quaternion (w, x, y, z) per joint and frame. The rotation of joint j
turns the bones from j to its children (the rotation at the left hip swings the thigh, the one at
the knee the shin), expressed in the parent's frame; at rest every rotation is the identity, so
local axes coincide with the body axes: x = left, y = up, z = forward. FK:

    G_0 = Yaw(psi) R_0,   G_j = G_parent(j) R_j
    p_0 = root,           p_j = p_parent(j) + G_parent(j) o_j          (o_j: rest offset of bone j)

The anatomical helpers below fix the sign conventions once, so action code says what it means
("flex the right knee by 90 degrees") and never deals with axis signs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.motion.quaternion import qmul, quat_to_matrix
from esd.motion.skeleton import BONE_LENGTHS, JOINT_INDEX, NUM_JOINTS, PARENTS

# Unit directions of each bone parent(j) -> j in the rest pose (body axes: x left, y up, z fwd).
_REST_DIRECTIONS = np.array(
    [
        [0.0, 0.0, 0.0],  # 0 pelvis (root)
        [0.60, -0.80, 0.0],  # 1 left_hip: out and down from the pelvis
        [-0.60, -0.80, 0.0],  # 2 right_hip
        [0.0, 1.0, -0.08],  # 3 spine1
        [0.02, -1.0, 0.0],  # 4 left_knee: thigh straight down
        [-0.02, -1.0, 0.0],  # 5 right_knee
        [0.0, 1.0, 0.04],  # 6 spine2
        [0.0, -1.0, -0.03],  # 7 left_ankle: shin down
        [0.0, -1.0, -0.03],  # 8 right_ankle
        [0.0, 1.0, 0.0],  # 9 spine3
        [0.05, -0.42, 0.91],  # 10 left_foot: ankle -> ball of the foot, forward and down
        [-0.05, -0.42, 0.91],  # 11 right_foot
        [0.0, 1.0, -0.10],  # 12 neck
        [0.60, 0.78, -0.15],  # 13 left_collar: up and out from spine3
        [-0.60, 0.78, -0.15],  # 14 right_collar
        [0.0, 0.85, 0.52],  # 15 head: up and forward from the neck
        [0.93, 0.34, -0.05],  # 16 left_shoulder: out along the shoulder line
        [-0.93, 0.34, -0.05],  # 17 right_shoulder
        [0.16, -0.99, 0.0],  # 18 left_elbow: upper arm hanging, slightly away from the body
        [-0.16, -0.99, 0.0],  # 19 right_elbow
        [0.03, -0.99, 0.12],  # 20 left_wrist: forearm down, a little forward
        [-0.03, -0.99, 0.12],  # 21 right_wrist
    ]
)
REST_OFFSETS = np.zeros((NUM_JOINTS, 3))
REST_OFFSETS[1:] = (
    _REST_DIRECTIONS[1:] / np.linalg.norm(_REST_DIRECTIONS[1:], axis=1, keepdims=True)
) * BONE_LENGTHS[1:, None]
REST_OFFSETS.setflags(write=False)

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])
X_AXIS, Y_AXIS, Z_AXIS = np.eye(3)
SIDE_SIGN = {"left": 1.0, "right": -1.0}  # +x is the body's left


def rest_joints() -> np.ndarray:
    """Joint positions (22, 3) of the rest pose with the pelvis at the origin."""
    positions = np.zeros((NUM_JOINTS, 3))
    for joint in range(1, NUM_JOINTS):
        positions[joint] = positions[PARENTS[joint]] + REST_OFFSETS[joint]
    return positions


def standing_pelvis_height() -> float:
    """Pelvis height (m) when the rest pose stands with the balls of the feet on the floor."""
    joints = rest_joints()
    return float(-joints[:, 1].min() + CONTACT_HEIGHT["foot"])


# Height of a joint centre above the floor when that body part rests on the floor (m).
CONTACT_HEIGHT = {"foot": 0.03, "ankle": 0.08, "knee": 0.06, "wrist": 0.04}


def axis_angle(axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Quaternions (T, 4) of rotations by ``angle`` (T,) radians about unit ``axis`` (3,).

    q = (cos(a/2), sin(a/2) axis). Positive angles turn counter-clockwise looking down the axis.
    """
    half = 0.5 * np.atleast_1d(np.asarray(angle, dtype=np.float64))
    return np.concatenate([np.cos(half)[:, None], np.sin(half)[:, None] * axis[None]], axis=1)


@dataclass
class Pose:
    """Local joint rotations (T, 22, 4), the body's heading (T,) and the root position (T, 3)."""

    local: np.ndarray  # (T, 22, 4) unit quaternions, identity = rest
    yaw: np.ndarray  # (T,) heading in radians about +y (0 = facing +Z, positive = turning left)

    @classmethod
    def rest(cls, frames: int) -> Pose:
        local = np.broadcast_to(IDENTITY, (frames, NUM_JOINTS, 4)).copy()
        return cls(local, np.zeros(frames))

    @property
    def frames(self) -> int:
        return self.local.shape[0]

    def rotate(self, joint: int | str, quat: np.ndarray) -> Pose:
        """Apply a rotation (T, 4) (or (4,)) after the joint's current local rotation, in place.

        R_j <- R_j Q: the new rotation acts in the joint's already-rotated frame (intrinsic order),
        so successive calls compose like a chain of intrinsic rotations.
        """
        j = JOINT_INDEX[joint] if isinstance(joint, str) else joint
        q = np.broadcast_to(quat, (self.frames, 4))
        self.local[:, j] = qmul(self.local[:, j], q)
        return self

    def copy(self) -> Pose:
        return Pose(self.local.copy(), self.yaw.copy())


def forward_kinematics(pose: Pose, root: np.ndarray | None = None) -> np.ndarray:
    """Joint positions (T, 22, 3) of ``pose`` with the pelvis at ``root`` (T, 3) (default 0).

    Vectorised over time; the loop runs over the 21 bones (parents precede children).
    """
    frames = pose.frames
    local = quat_to_matrix(pose.local)  # (T, 22, 3, 3)
    heading = quat_to_matrix(axis_angle(Y_AXIS, pose.yaw))  # (T, 3, 3)
    glob = np.empty_like(local)
    glob[:, 0] = heading @ local[:, 0]
    positions = np.zeros((frames, NUM_JOINTS, 3))
    if root is not None:
        positions[:, 0] = root
    for joint in range(1, NUM_JOINTS):
        parent = PARENTS[joint]
        positions[:, joint] = positions[:, parent] + glob[:, parent] @ REST_OFFSETS[joint]
        glob[:, joint] = glob[:, parent] @ local[:, joint]
    return positions


# --- anatomical rotations: positive angles are the named movement on either side -------------


def _side(side: str) -> float:
    if side not in SIDE_SIGN:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return SIDE_SIGN[side]


def hip_flex(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Thigh forward and up (negative: behind the body)."""
    return pose.rotate(f"{side}_hip", axis_angle(X_AXIS, -np.asarray(angle)))


def hip_abduct(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Thigh out to the side (negative: across the body)."""
    return pose.rotate(f"{side}_hip", axis_angle(Z_AXIS, _side(side) * np.asarray(angle)))


def hip_rotate(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Thigh turned about its own axis: positive = outward (toes point away from the midline)."""
    return pose.rotate(f"{side}_hip", axis_angle(Y_AXIS, _side(side) * np.asarray(angle)))


def knee_flex(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Shin folds backward behind the thigh; only angles >= 0 are anatomical."""
    return pose.rotate(f"{side}_knee", axis_angle(X_AXIS, np.maximum(np.asarray(angle), 0.0)))


def ankle_flex(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Toes up (dorsiflexion); negative = toes pointed down (plantar flexion)."""
    return pose.rotate(f"{side}_ankle", axis_angle(X_AXIS, -np.asarray(angle)))


def shoulder_flex(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Arm raised forward (90 deg: pointing forward, 180: overhead); negative = swung back."""
    return pose.rotate(f"{side}_shoulder", axis_angle(X_AXIS, -np.asarray(angle)))


def shoulder_abduct(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Arm raised sideways (90 deg: horizontal, 180: overhead)."""
    return pose.rotate(f"{side}_shoulder", axis_angle(Z_AXIS, _side(side) * np.asarray(angle)))


def shoulder_rotate(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Upper arm turned about its own axis: positive = outward (external rotation)."""
    return pose.rotate(f"{side}_shoulder", axis_angle(Y_AXIS, _side(side) * np.asarray(angle)))


def elbow_flex(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Forearm folds toward the front of the upper arm; only angles >= 0 are anatomical."""
    return pose.rotate(f"{side}_elbow", axis_angle(X_AXIS, -np.maximum(np.asarray(angle), 0.0)))


def collar_raise(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Shoulder girdle shrugged up (negative: down)."""
    return pose.rotate(f"{side}_collar", axis_angle(Z_AXIS, _side(side) * np.asarray(angle)))


def spine_flex(
    pose: Pose, angle: np.ndarray | float, joints: tuple[str, ...] = ("spine1", "spine2", "spine3")
) -> Pose:
    """Trunk bends forward, spread evenly over ``joints`` (negative: arches back)."""
    share = np.asarray(angle) / len(joints)
    for joint in joints:
        pose.rotate(joint, axis_angle(X_AXIS, share))
    return pose


def spine_twist(
    pose: Pose, angle: np.ndarray | float, joints: tuple[str, ...] = ("spine1", "spine2", "spine3")
) -> Pose:
    """Upper body turns to its left about the vertical (negative: to the right)."""
    share = np.asarray(angle) / len(joints)
    for joint in joints:
        pose.rotate(joint, axis_angle(Y_AXIS, share))
    return pose


def spine_bend_side(
    pose: Pose,
    side: str,
    angle: np.ndarray | float,
    joints: tuple[str, ...] = ("spine1", "spine2", "spine3"),
) -> Pose:
    """Trunk leans toward ``side`` in the frontal plane."""
    share = -_side(side) * np.asarray(angle) / len(joints)
    for joint in joints:
        pose.rotate(joint, axis_angle(Z_AXIS, share))
    return pose


def pelvis_tilt(pose: Pose, angle: np.ndarray | float) -> Pose:
    """Whole body pitched forward about the pelvis (legs included; negative: backward)."""
    return pose.rotate("pelvis", axis_angle(X_AXIS, np.asarray(angle)))


def pelvis_roll(pose: Pose, side: str, angle: np.ndarray | float) -> Pose:
    """Whole body tipped toward ``side`` about the pelvis (legs included)."""
    return pose.rotate("pelvis", axis_angle(Z_AXIS, -_side(side) * np.asarray(angle)))


def pelvis_turn(pose: Pose, angle: np.ndarray | float) -> Pose:
    """Whole body turned left about the vertical through the pelvis (a pivot; see also yaw)."""
    return pose.rotate("pelvis", axis_angle(Y_AXIS, np.asarray(angle)))


def neck_flex(pose: Pose, angle: np.ndarray | float) -> Pose:
    """Head nods forward (negative: looks up)."""
    return pose.rotate("neck", axis_angle(X_AXIS, np.asarray(angle)))


def neck_turn(pose: Pose, angle: np.ndarray | float) -> Pose:
    """Head turns to its left (negative: right)."""
    return pose.rotate("neck", axis_angle(Y_AXIS, np.asarray(angle)))
