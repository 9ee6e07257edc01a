"""Inverse kinematics of an arm: wrist targets in the chest frame.

A small damped Gauss-Newton solver (``reach``) finds arm angles that put the wrist on a target
while keeping the elbow out of the torso; two-handed grips and palm contacts use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import DEG
from esd.corpus.actions.upper_body.postures import Posture, apply_arm
from esd.corpus.actions.upper_body.timing import sign
from esd.motion.skeleton import JOINT_INDEX

REST_JOINTS = rig.rest_joints()
CHEST = JOINT_INDEX["spine3"]
FD_STEP = 1e-4  # rad: finite-difference step of the inverse kinematics
IK_DAMPING = 1e-4  # m^2 / rad^2: Levenberg damping of the inverse kinematics
ELBOW_RANGE = (2 * DEG, 150 * DEG)
ELBOW_CLEARANCE = 0.17  # m: an elbow stays this far from the chest's vertical axis (IK)
CLEARANCE_WEIGHT = 2.0  # weight of the elbow's clearance against the wrist's miss (IK)


def arm_in_chest(side: str, angles: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Wrist and elbow positions (K, 3) relative to spine3, in its frame, for (K,) arm angles."""
    frames = len(next(iter(angles.values())))
    pose = rig.Pose.rest(frames)
    apply_arm(pose, side, angles)
    joints = rig.forward_kinematics(pose) - REST_JOINTS[CHEST]
    return joints[:, JOINT_INDEX[f"{side}_wrist"]], joints[:, JOINT_INDEX[f"{side}_elbow"]]


def ik_residual(side: str, angles: dict[str, np.ndarray], targets: np.ndarray) -> np.ndarray:
    """(K, 4): the wrist's miss (m) and how far the elbow is inside the torso's clearance."""
    wrists, elbows = arm_in_chest(side, angles)
    inside = np.minimum(np.hypot(elbows[:, 0], elbows[:, 2]) - ELBOW_CLEARANCE, 0.0)
    return np.concatenate([targets - wrists, -CLEARANCE_WEIGHT * inside[:, None]], axis=1)


def reach(
    side: str,
    targets: np.ndarray,
    guess: Posture,
    unknowns: tuple[str, ...] = ("turn", "flex", "elbow"),
    steps: int = 10,
) -> dict[str, np.ndarray]:
    """Arm angles (radians) (K,) that put the wrist at ``targets`` (K, 3) (chest frame).

    Damped Gauss-Newton from ``guess`` (degrees, scalars or (K,)); angles not in ``unknowns``
    keep their guess. The elbow stays out of the torso (ELBOW_CLEARANCE from the chest's
    vertical axis) where the unknowns allow it.
    """
    count, width = len(targets), len(unknowns) + 1
    angles = {k: np.broadcast_to(np.asarray(v) * DEG, (count,)).copy() for k, v in guess.items()}
    for name in unknowns:
        angles.setdefault(name, np.zeros(count))
    for _ in range(steps):
        stacked = {name: np.tile(value, width) for name, value in angles.items()}
        for i, name in enumerate(unknowns):
            stacked[name][(i + 1) * count : (i + 2) * count] += FD_STEP
        residual = ik_residual(side, stacked, np.tile(targets, (width, 1)))
        residual = residual.reshape(width, count, -1)
        jac = ((residual[0] - residual[1:]) / FD_STEP).transpose(1, 2, 0)  # (K, R, U)
        jt = jac.transpose(0, 2, 1)  # (K, U, R)
        normal = jt @ jac + IK_DAMPING * np.eye(len(unknowns))
        step = np.linalg.solve(normal, jt @ residual[0][..., None])[..., 0]  # (K, U)
        for i, name in enumerate(unknowns):
            angles[name] = angles[name] + np.clip(step[:, i], -0.3, 0.3)
        if "elbow" in angles:
            angles["elbow"] = np.clip(angles["elbow"], *ELBOW_RANGE)
    return angles


def reach_posture(
    side: str,
    target: Sequence[float],
    guess: Posture,
    unknowns: tuple[str, ...] = ("turn", "flex", "elbow"),
) -> Posture:
    """One posture (degrees) with the wrist at ``target`` (3,) (chest frame, x of a left hand)."""
    point = np.array(target, dtype=np.float64)
    point[0] *= sign(side)
    angles = reach(side, point[None], guess, unknowns)
    return {name: float(value[0] / DEG) for name, value in angles.items()}
