"""The 22-joint HumanML3D ("t2m") skeleton and the constants of its 263-d feature format.

Every magic number of the motion format is named here exactly once; other modules import it.
Source: ``../shared/docs/humanml3d_format.md`` §2-§3 (checked against the official data).

Conventions: metres, y up, 20 frames per second; on frame 0 of a canonical clip the body faces
+Z and its left side is at +X.
"""

from __future__ import annotations

import numpy as np

# --- time -------------------------------------------------------------------------------------
FPS = 20  # frames per second of every HumanML3D clip
MIN_FRAMES = 40  # shortest clip used for training (2 s), as HumanML3D
MAX_FRAMES = 196  # longest clip (9.8 s), as HumanML3D
MIN_SECONDS = MIN_FRAMES / FPS
MAX_SECONDS = MAX_FRAMES / FPS

# --- joints -----------------------------------------------------------------------------------
NUM_JOINTS = 22
JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# Parent of each joint (-1 for the root). Joint j > 0 owns the bone parent(j) -> j.
PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
)  # fmt: skip

# Chains in the order the official code processes them (right leg first; arms start at spine3).
KINEMATIC_CHAINS: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11),
    (0, 1, 4, 7, 10),
    (0, 3, 6, 9, 12, 15),
    (9, 14, 17, 19, 21),
    (9, 13, 16, 18, 20),
)

# Unit "rest directions" (t2m_raw_offsets): the reference direction of each bone's rotation.
# NOT the SMPL rest pose (e.g. the shoulders 16/17 point down, -Y).
REST_DIRECTIONS = np.array(
    [
        [0, 0, 0],  # 0 pelvis (root, no bone)
        [1, 0, 0],  # 1 left_hip
        [-1, 0, 0],  # 2 right_hip
        [0, 1, 0],  # 3 spine1
        [0, -1, 0],  # 4 left_knee
        [0, -1, 0],  # 5 right_knee
        [0, 1, 0],  # 6 spine2
        [0, -1, 0],  # 7 left_ankle
        [0, -1, 0],  # 8 right_ankle
        [0, 1, 0],  # 9 spine3
        [0, 0, 1],  # 10 left_foot
        [0, 0, 1],  # 11 right_foot
        [0, 1, 0],  # 12 neck
        [1, 0, 0],  # 13 left_collar
        [-1, 0, 0],  # 14 right_collar
        [0, 0, 1],  # 15 head
        [0, -1, 0],  # 16 left_shoulder
        [0, -1, 0],  # 17 right_shoulder
        [0, -1, 0],  # 18 left_elbow
        [0, -1, 0],  # 19 right_elbow
        [0, -1, 0],  # 20 left_wrist
        [0, -1, 0],  # 21 right_wrist
    ],
    dtype=np.float64,
)
REST_DIRECTIONS.setflags(write=False)

# Canonical length (m) of the bone parent(j) -> j; 0 for the root. Every processed clip has
# exactly these lengths (spec §2: medians over the official clip 012314).
BONE_LENGTHS = np.array(
    [
        0.0,
        0.1030740,
        0.1098834,
        0.1315682,
        0.3936232,
        0.3901882,
        0.1431902,
        0.4324330,
        0.4256434,
        0.0573647,
        0.1433818,
        0.1494191,
        0.2193600,
        0.1374868,
        0.1433828,
        0.1030392,
        0.1316140,
        0.1229844,
        0.2568399,
        0.2630919,
        0.2660118,
        0.2698763,
    ],
    dtype=np.float64,
)
BONE_LENGTHS.setflags(write=False)

# Canonical offsets parent -> joint: length x rest direction, (22, 3).
TARGET_OFFSETS = BONE_LENGTHS[:, None] * REST_DIRECTIONS
TARGET_OFFSETS.setflags(write=False)

# Bones whose lengths set the global retarget scale: right thigh (5) and right shin (8).
SCALE_BONES: tuple[int, int] = (5, 8)

# Joints that define the body's facing: right hip, left hip, right shoulder, left shoulder.
FACE_JOINTS: tuple[int, int, int, int] = (2, 1, 17, 16)

# Foot joints, in the order of the 4 foot-contact features: L ankle, L foot, R ankle, R foot.
LEFT_FOOT_JOINTS: tuple[int, int] = (7, 10)
RIGHT_FOOT_JOINTS: tuple[int, int] = (8, 11)
FOOT_CONTACT_JOINTS: tuple[int, int, int, int] = (7, 10, 8, 11)
# A foot joint is in contact when its squared per-frame displacement is below this (m^2).
CONTACT_SQ_DISPLACEMENT = 0.002

# Gaussian smoothing of the per-frame heading: sigma in frames, truncated at 4 sigma.
HEADING_SMOOTH_SIGMA = 20.0
HEADING_SMOOTH_TRUNCATE = 4.0

# Left/right joint pairs swapped by mirroring (x -> -x).
MIRROR_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2),
    (4, 5),
    (7, 8),
    (10, 11),
    (13, 14),
    (16, 17),
    (18, 19),
    (20, 21),
)

# --- the 263-d feature vector (spec §3) -------------------------------------------------------
FEATURE_DIM = 263
ROOT_ROT_VEL = slice(0, 1)  # half-angle yaw increment (rad / frame)
ROOT_LIN_VEL = slice(1, 3)  # (x, z) root velocity in the next frame's heading frame (m / frame)
ROOT_Y = slice(3, 4)  # pelvis height (m)
RIC = slice(4, 67)  # joints 1..21, root-relative in x/z, absolute y, heading-aligned (21 x 3)
ROT6D = slice(67, 193)  # joints 1..21 local swing rotations, continuous 6D (21 x 6)
LOCAL_VEL = slice(193, 259)  # joints 0..21 per-frame velocity in the heading frame (22 x 3)
FOOT_CONTACT = slice(259, 263)  # [L ankle, L foot, R ankle, R foot] in {0, 1}

# The 7 groups within which the dataset Std is averaged (spec §7), in feature order.
FEATURE_GROUPS: tuple[tuple[str, slice], ...] = (
    ("root_rot_vel", ROOT_ROT_VEL),
    ("root_lin_vel", ROOT_LIN_VEL),
    ("root_y", ROOT_Y),
    ("ric", RIC),
    ("rot6d", ROT6D),
    ("local_vel", LOCAL_VEL),
    ("foot_contact", FOOT_CONTACT),
)


def bone_children() -> dict[int, list[int]]:
    """Map each joint index to the list of its child joints."""
    children: dict[int, list[int]] = {j: [] for j in range(NUM_JOINTS)}
    for joint, parent in enumerate(PARENTS):
        if parent >= 0:
            children[parent].append(joint)
    return children


def bones() -> list[tuple[int, int]]:
    """All 21 bones as (parent, child) pairs, in joint-index order of the child."""
    return [(parent, joint) for joint, parent in enumerate(PARENTS) if parent >= 0]
