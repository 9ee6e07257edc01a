"""Plausibility statistics of generated clips (reported in the manifest and by ``--summary``).

Per clip, from the grounded world joints (T, 22, 3) and the body motion that made them:

* foot skate while planted: horizontal displacement (mm / frame) of every planted foot joint
  between two consecutive frames where it is planted (``physics`` holds these still);
* foot skate at detected contacts: mean horizontal speed (cm / s) of the four foot joints on the
  frames HumanML3D's own velocity rule labels as contacts (feature slice ``FOOT_CONTACT``), the
  definition used for foot skating of generated motion;
* floor: the lowest joint height (m), never below 0;
* smoothness: the largest joint speed (m / s) and acceleration (m / s^2), finite differences;
* hinges: frames where a knee or an elbow bends against its anatomical direction (the signed
  flexion angle of its local rotation about the joint's lateral axis is below -1 degree);
* flight: airborne frames, the largest foot clearance in flight (m) and the largest deviation of
  the pelvis's vertical acceleration from -g during flight (m / s^2): 0 for a ballistic arc.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from esd.corpus.physics import GRAVITY, BodyMotion
from esd.motion.skeleton import FOOT_CONTACT, FOOT_CONTACT_JOINTS, FPS, JOINT_INDEX

HINGE_TOLERANCE = 1.0 * np.pi / 180  # rad of wrong-way bend tolerated (numerical noise)
# Hinge joints and the sign of anatomical flexion about their local x axis (see rig.py).
HINGES = {"left_knee": 1.0, "right_knee": 1.0, "left_elbow": -1.0, "right_elbow": -1.0}
FOOT_JOINTS = tuple(int(j) for j in FOOT_CONTACT_JOINTS)  # ankles and balls of the feet


@dataclass(frozen=True)
class ClipStats:
    """The plausibility numbers of one clip (module docstring)."""

    frames: int
    planted_skate_mm: float  # mean over planted foot-joint frame pairs (mm / frame)
    planted_skate_max_mm: float  # the largest such displacement (mm / frame)
    contact_skate_cm_s: float  # mean horizontal foot speed at HumanML3D contacts (cm / s)
    min_height_m: float  # lowest joint centre over the clip (m)
    max_speed_m_s: float  # fastest joint (m / s)
    max_accel_m_s2: float  # largest joint acceleration (m / s^2)
    hinge_violations: int  # frames with a knee or elbow bent the wrong way
    airborne_frames: int
    flight_clearance_m: float  # highest lowest-foot height while airborne (0 without flight)
    ballistic_error_m_s2: float  # max |pelvis y'' + g| inside flight stretches (0 without flight)


def planted_skate(joints: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """Horizontal moves (m) of foot joints planted on both frames t-1 and t, (T,22,3) -> (K,)."""
    feet = list(FOOT_JOINTS)
    both = planted[1:, feet] & planted[:-1, feet]  # (T-1, 4)
    step = np.linalg.norm(np.diff(joints[:, feet][..., [0, 2]], axis=0), axis=-1)  # (T-1, 4)
    return step[both]


def contact_skate(joints: np.ndarray, features: np.ndarray) -> float:
    """Mean horizontal speed (m / s) of the foot joints on their labelled contact frames."""
    contacts = features[:, FOOT_CONTACT] > 0.5  # (T-1, 4), order of FOOT_CONTACT_JOINTS
    step = np.diff(joints[:, list(FOOT_JOINTS)][..., [0, 2]], axis=0)  # (T-1, 4, 2)
    speed = np.linalg.norm(step, axis=-1) * FPS  # (T-1, 4)
    return float(speed[contacts].mean()) if contacts.any() else 0.0


def hinge_angles(motion: BodyMotion) -> np.ndarray:
    """Signed flexion (rad) of each hinge joint per frame, (T, 4) in ``HINGES`` order."""
    columns = []
    for name, sign in HINGES.items():
        q = motion.pose.local[:, JOINT_INDEX[name]]  # (T, 4) (w, x, y, z)
        w = np.where(q[:, :1] < 0, -q, q)  # the same rotation with w >= 0
        columns.append(sign * 2.0 * np.arctan2(w[:, 1], w[:, 0]))  # angle about local x
    return np.stack(columns, axis=1)


def flight_stats(joints: np.ndarray, airborne: np.ndarray) -> tuple[float, float]:
    """(highest lowest-foot clearance in flight, max |pelvis y'' + g| inside flight stretches)."""
    if not airborne.any():
        return 0.0, 0.0
    feet = joints[:, list(FOOT_JOINTS), 1].min(axis=1)  # (T,)
    accel = np.diff(joints[:, 0, 1], 2) * FPS**2  # (T-2,), centred at frames 1..T-2
    inner = airborne[1:-1] & airborne[:-2] & airborne[2:]  # all three frames in flight
    error = float(np.abs(accel[inner] + GRAVITY).max()) if inner.any() else 0.0
    return float(feet[airborne].max()), error


def clip_stats(joints: np.ndarray, motion: BodyMotion, features: np.ndarray) -> ClipStats:
    """The statistics of one clip: world joints (T, 22, 3), its body motion, features (T-1, 263)."""
    skate = planted_skate(joints, motion.planted)
    velocity = np.diff(joints, axis=0) * FPS  # (T-1, 22, 3) m / s
    accel = np.diff(joints, 2, axis=0) * FPS**2  # (T-2, 22, 3) m / s^2
    clearance, ballistic = flight_stats(joints, motion.airborne)
    return ClipStats(
        frames=int(joints.shape[0]),
        planted_skate_mm=float(skate.mean() * 1000) if skate.size else 0.0,
        planted_skate_max_mm=float(skate.max() * 1000) if skate.size else 0.0,
        contact_skate_cm_s=contact_skate(joints, features) * 100,
        min_height_m=float(joints[..., 1].min()),
        max_speed_m_s=float(np.linalg.norm(velocity, axis=-1).max()),
        max_accel_m_s2=float(np.linalg.norm(accel, axis=-1).max()),
        hinge_violations=int((hinge_angles(motion) < -HINGE_TOLERANCE).any(axis=1).sum()),
        airborne_frames=int(motion.airborne.sum()),
        flight_clearance_m=clearance,
        ballistic_error_m_s2=ballistic,
    )


def summarise(stats: Sequence[ClipStats]) -> dict[str, dict[str, float]]:
    """Per statistic: min, mean, 99th percentile and max over clips (JSON-ready floats)."""
    if not stats:
        return {}
    table = {
        key: np.array([getattr(s, key) for s in stats], dtype=float) for key in asdict(stats[0])
    }
    return {
        key: {
            "min": round(float(v.min()), 4),
            "mean": round(float(v.mean()), 4),
            "p99": round(float(np.percentile(v, 99)), 4),
            "max": round(float(v.max()), 4),
        }
        for key, v in table.items()
    }
