"""SMPL-like rest geometry for BVH rigs: units, up axis, handedness, and the torso joints.

Rigs disagree most where SMPL has joints that a rig lacks or puts elsewhere: the pelvis (many
rigs put it on the line of the hip joints; SMPL has it ~9 cm above), the spine (two to four
joints), the neck, the collars, the shoulders (Bandai-Namco's upper-arm joints sit ~10 cm from
the midline, SMPL's ~17 cm) and the head (the top of the neck vs SMPL's head centre). The
feature encoder keeps every bone's direction and only resets its length, so those differences
would tilt the pelvis-hip, collar-shoulder and neck-head bones of every frame. Instead:

1. **Body frame** on every frame t from the rig's hip and shoulder joints (h_L, h_R, s_L, s_R):
   y_t = normalize(s̄ - h̄) (up), x_t = the part of (h_L - h_R) + (s_L - s_R) orthogonal to y_t
   (the body's left), z_t = ±(x_t × y_t) (forward; − for a mirrored file, see ``is_mirrored``).
2. **Template** (``TEMPLATE``: SMPL-like rest joints, metres, x left, y up, z forward) placed on
   it: T_j(t) = h̄_t + s [x_t y_t z_t] (P_j - P̄_hips), s = median |s̄ - h̄| / |P̄_shoulders - P̄_hips|.
3. **Carried by the rig's segments.** Each template joint j hangs on a BVH joint a(j) (the
   segment it lies in: pelvis and hips on the pelvis, collars on the chest, shoulders on the
   clavicles, spine, neck and head on the spine-neck-head path by height) with one constant
   offset in that segment's frame: c_j = median_t rot(G_a(t)^-1, T_j(t) - p_a(t)), and
   p_j(t) = p_a(t) + rot(G_a(t), c_j). Shrugs, bends and nods of the rig move them.
4. **Limbs** keep the rig's own bone vectors: knee, ankle and foot hang on the new hip,
   elbow and wrist on the new shoulder, p_k(t) = p_root(t) + (q_k(t) - q_root(t)).

Units (``detect_unit``) come from the rig's leg length; the up axis (``up_axis``) from the
hips-to-shoulders direction; ``to_canonical_axes`` turns the result to metres, y up and a
right-handed body (left at +X when facing +Z).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from esd.motion.quaternion import cross, dot, normalize
from esd.motion.skeleton import BONE_LENGTHS, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS, PARENTS

# Unit directions (x left, y up, z forward) of the SMPL-like rest bones parent(j) -> j, for the
# joints placed on the template; lengths are the HumanML3D BONE_LENGTHS. Rounded from the
# joint layout of the SMPL mean shape (pelvis 9 cm above and 6 cm inside each hip, lumbar
# curve, collars up and out from spine3, head forward of the neck, shoulders at ~17 cm).
TEMPLATE_DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "left_hip": (0.60, -0.80, -0.04),
    "right_hip": (-0.60, -0.80, -0.04),
    "spine1": (0.0, 0.97, -0.24),
    "spine2": (0.0, 0.98, 0.20),
    "spine3": (0.0, 1.0, 0.04),
    "neck": (0.0, 0.99, -0.12),
    "left_collar": (0.55, 0.81, -0.22),
    "right_collar": (-0.55, 0.81, -0.22),
    "head": (0.0, 0.85, 0.52),
    "left_shoulder": (0.90, 0.42, -0.10),
    "right_shoulder": (-0.90, 0.42, -0.10),
}
TEMPLATE_JOINTS: tuple[int, ...] = (0, *sorted(JOINT_INDEX[n] for n in TEMPLATE_DIRECTIONS))
LEG_CHAINS = {"left_hip": ("left_knee", "left_ankle", "left_foot"),
              "right_hip": ("right_knee", "right_ankle", "right_foot")}  # fmt: skip
ARM_CHAINS = {"left_shoulder": ("left_elbow", "left_wrist"),
              "right_shoulder": ("right_elbow", "right_wrist")}  # fmt: skip
SPINE_PATH_JOINTS = ("spine1", "spine2", "spine3", "neck", "head")  # anchored by height

# File units -> metres, and the adult hip-to-ankle length that tells them apart.
UNITS: dict[str, float] = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "inch": 0.0254,
    "cmu": 0.0254 / 0.45,  # CMU ASF/cgspeed length unit: 1/0.45 inch
}
TYPICAL_LEG_M = 0.85  # hip joint to ankle of an adult (m), thigh + shin
MIN_TOE_SCORE = 0.0  # toes pointing against the names' forward (mean cosine < this): mirrored


class RestGeometryError(ValueError):
    """The rig's joints do not describe a body (e.g. the head is not above the hips)."""


def _template() -> np.ndarray:
    """SMPL-like rest joints (22, 3), pelvis at the origin; only TEMPLATE_JOINTS are set."""
    joints = np.zeros((NUM_JOINTS, 3))
    for j in TEMPLATE_JOINTS[1:]:  # parents come first in index order
        direction = np.array(TEMPLATE_DIRECTIONS[JOINT_NAMES[j]])
        joints[j] = joints[PARENTS[j]] + BONE_LENGTHS[j] * direction / np.linalg.norm(direction)
    return joints


TEMPLATE = _template()
TEMPLATE.setflags(write=False)


@dataclass(frozen=True)
class RigJoints:
    """The rig's global motion and where the SMPL-named joints are in it."""

    positions: np.ndarray  # (T, J, 3) global BVH joint positions, file units and axes
    rotations: np.ndarray  # (T, J, 4) global BVH joint rotations
    parents: tuple[int, ...]  # (J,) BVH parent indices
    named: dict[str, int]  # SMPL joint name -> BVH joint index (rigs.NAMED_JOINTS)

    def at(self, smpl: str) -> np.ndarray:
        """Global positions (T, 3) of the BVH joint named for SMPL joint ``smpl``."""
        return self.positions[:, self.named[smpl]]


# --- units, axes, handedness -------------------------------------------------------------------


def leg_length(rig: RigJoints) -> float:
    """Median over frames and sides of |hip - knee| + |knee - ankle| (file units)."""
    lengths = [
        np.linalg.norm(rig.at(f"{s}_hip") - rig.at(f"{s}_knee"), axis=-1)
        + np.linalg.norm(rig.at(f"{s}_knee") - rig.at(f"{s}_ankle"), axis=-1)
        for s in ("left", "right")
    ]
    return float(np.median(np.concatenate(lengths)))


def detect_unit(leg: float) -> str:
    """The unit of UNITS that makes a leg of ``leg`` file units closest to TYPICAL_LEG_M
    (nearest in log scale: cm legs are ~85, m ~0.85, CMU units ~15)."""
    if not leg > 0:
        raise RestGeometryError("the rig's legs have zero length; cannot tell its units")
    return min(UNITS, key=lambda u: abs(np.log(leg * UNITS[u] / TYPICAL_LEG_M)))


def up_axis(rig: RigJoints) -> np.ndarray:
    """The signed coordinate axis (3,) closest to the mean hips-to-shoulders direction."""
    mid = body_midpoints(rig)
    mean_up = np.mean(normalize(mid["shoulders"] - mid["hips"]), axis=0)  # (3,)
    axis = int(np.argmax(np.abs(mean_up)))
    up = np.zeros(3)
    up[axis] = np.sign(mean_up[axis])
    return up


def axes_to_y_up(up: np.ndarray) -> np.ndarray:
    """Proper rotation matrix (3, 3) turning the coordinate axis ``up`` onto +Y.

    Perpendicular axes turn by 90° about a = up × ŷ: R = I + K + K² (Rodrigues, sin = 1,
    1 - cos = 1; K v = a × v); -Y turns by 180° about X.
    """
    y = np.array([0.0, 1.0, 0.0])
    if up @ y > 0.5:
        return np.eye(3)
    if up @ y < -0.5:
        return np.diag([1.0, -1.0, -1.0])
    a = np.cross(up, y)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + k + k @ k


def body_midpoints(rig: RigJoints) -> dict[str, np.ndarray]:
    """Per-frame hip and shoulder midpoints (T, 3) and the lateral vector towards the left."""
    hips = 0.5 * (rig.at("left_hip") + rig.at("right_hip"))  # (T, 3)
    shoulders = 0.5 * (rig.at("left_shoulder") + rig.at("right_shoulder"))
    lateral = rig.at("left_hip") - rig.at("right_hip") + rig.at("left_shoulder")
    lateral = lateral - rig.at("right_shoulder")  # (T, 3), towards the body's left
    return {"hips": hips, "shoulders": shoulders, "lateral": lateral}


def is_mirrored(rig: RigJoints, up: np.ndarray) -> bool:
    """True when the toes point backwards for the forward that the joint names imply.

    forward = left × up (right-handed, x left, y up, z forward); toes = ball of the foot -
    ankle, both without their ``up`` component; mirrored when the mean cosine is < 0 (a
    left-handed export, or left and right names swapped).
    """
    forward = cross(
        body_midpoints(rig)["lateral"], np.broadcast_to(up, (rig.positions.shape[0], 3))
    )
    toes = np.concatenate([rig.at(f"{s}_foot") - rig.at(f"{s}_ankle") for s in ("left", "right")])
    forward = np.concatenate([forward, forward])  # (2T, 3), one per foot
    forward, toes = (v - (v @ up)[:, None] * up for v in (forward, toes))
    return float(np.mean(dot(normalize(forward), normalize(toes)))) < MIN_TOE_SCORE


def to_canonical_axes(joints: np.ndarray, unit: str, up: np.ndarray, mirrored: bool) -> np.ndarray:
    """File coordinates (..., 3) -> metres, y up, right-handed (x negated when mirrored)."""
    out = UNITS[unit] * joints @ axes_to_y_up(up).T
    if mirrored:
        out = out * np.array([-1.0, 1.0, 1.0])
    return out
