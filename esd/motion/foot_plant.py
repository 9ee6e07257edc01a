"""Foot planting: move the root so that a foot on the floor stays where it is (skate cleanup).

A generated walk can glide: the body travels faster than its stepping legs carry it, so the
supporting foot slides over the floor. ``plant_feet`` corrects the clip's *root translation
only* (pose, heading, root height and every joint's root-relative position are unchanged):

    planted_k(t) = h_k(t) <= PLANT_HEIGHT_M  and  h_k(t+1) <= PLANT_HEIGHT_M
                   and  |Δp_k(t)|_xz * FPS <= PLANT_SPEED_M_S,
    h_k(t) = y_k(t) - floor,  floor = the FLOOR_PERCENTILE-th percentile of min_k y_k(t),
    Δp_k(t) = p_k(t+1) - p_k(t)   (world position of toe k, k in {left, right}),
    c(t) = - Δp_{k*}(t).xz,  k* = argmin_{k planted on step t} |Δp_k(t)|   (metres, t -> t+1;
           the slower planted toe bears the weight; c(t) = 0 when no toe is planted),
    c̃ = G_σ * c   (Gaussian along time, σ = PLANT_SMOOTH_FRAMES, edges replicated),
    P(t+1) - P(t)  :=  P(t+1) - P(t) + c̃(t)   (root), so the weight-bearing toe moves by
                   about Δp_k* + c = 0.

Unsmoothed (σ = 0) the planted toe stands exactly still but the pelvis jerks whenever the
weight passes from one foot to the other; σ brings the pelvis back to the jerk of captured
walks (calibration: pelvis acceleration RMS of real studio walks 3.1 m/s²; 16 generated walks
planted with σ = 0 / 0.5 / 0.75 / 1: 5.27 / 4.19 / 3.19 / 2.76 m/s², their supporting toe
0.0 / 1.6 / 3.3 / 4.5 cm/s; unplanted 1.71 m/s² and 17 cm/s). Real walks planted keep their
pelvis speed (1.166 -> 1.155 m/s) and jerk (3.09 -> 2.80 m/s²): they barely slide to begin with.

In feature rows (``esd.motion.features`` conventions; the decoder's heading q_t = the encoder's
r_t) the same correction is

    lin_vel(t)   += rot(q_{t+1}, c̃(t)).xz            (the root velocity is in frame t+1's heading)
    local_vel(t) += rot(q_t, c̃(t))   for every joint (joint velocities are in frame t's heading)
    contact_j(t)  = |local_vel_j(t)|² < CONTACT_SQ_DISPLACEMENT   (the encoder's rule, recomputed)

for t = 0 .. N-2; the last row (whose velocities point past the clip) is kept. Decoding the
result with ``features_to_joints`` gives the input's joints translated by Σ_{s<t} c̃(s).

This is a display and export post-process (a root-only form of Kovar et al. 2002, "Footskate
cleanup", which also bends the legs), not a
property of the model: benchmarks that measure the model report it off and on.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from esd.motion.features import features_to_joints, rotate_yaw
from esd.motion.quaternion import yaw_quaternion
from esd.motion.skeleton import (
    CONTACT_SQ_DISPLACEMENT,
    FEATURE_DIM,
    FOOT_CONTACT,
    FOOT_CONTACT_JOINTS,
    FPS,
    JOINT_INDEX,
    LOCAL_VEL,
    NUM_JOINTS,
    ROOT_LIN_VEL,
    ROOT_ROT_VEL,
)

TOES = (JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"])  # balls of the feet (10, 11)
PLANT_HEIGHT_M = 0.05  # a toe this close to the floor may bear weight
# ... when it moves slower than the encoder's own contact rule allows (0.045 m per frame, 0.89
# m/s; a swinging foot moves 2-4 m/s)
PLANT_SPEED_M_S = float(np.sqrt(CONTACT_SQ_DISPLACEMENT)) * FPS
FLOOR_PERCENTILE = 5.0  # the floor: a low percentile of the lower toe's height (robust to spikes)
PLANT_SMOOTH_FRAMES = 0.75  # σ of the Gaussian on the correction (module docstring: calibration)


def planted_toes(joints: np.ndarray, fps: int = FPS) -> np.ndarray:
    """Which toes touch the floor on each step, (T, 22, 3) -> (T-1, 2) bool (left, right).

    The ``planted_k(t)`` rule of the module docstring: both ends of the step within
    PLANT_HEIGHT_M of the clip's floor and a horizontal speed of at most PLANT_SPEED_M_S.
    """
    toes = np.asarray(joints, dtype=np.float64)[:, list(TOES)]  # (T, 2, 3)
    floor = np.percentile(toes[:, :, 1].min(axis=1), FLOOR_PERCENTILE)
    low = toes[:, :, 1] - floor <= PLANT_HEIGHT_M  # (T, 2)
    speed = np.linalg.norm(np.diff(toes[:, :, [0, 2]], axis=0), axis=-1) * fps  # (T-1, 2)
    return low[:-1] & low[1:] & (speed <= PLANT_SPEED_M_S)


def root_correction(joints: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """c(t): the horizontal root step that holds the weight-bearing toe still, (T-1, 3) metres.

    c(t) = - Δp_{k*}(t).xz with k* the slower of the planted toes on step t (the one that
    bears the weight when both touch the floor); c(t) = 0 when no toe is planted; y is 0.
    joints (T, 22, 3), planted (T-1, 2) bool.
    """
    toes = np.asarray(joints, dtype=np.float64)[:, list(TOES)]  # (T, 2, 3)
    step = np.diff(toes, axis=0) * np.array([1.0, 0.0, 1.0])  # (T-1, 2, 3), horizontal
    speed = np.where(planted, np.linalg.norm(step, axis=-1), np.inf)  # (T-1, 2)
    bearing = np.argmin(speed, axis=1)  # (T-1,) the slower planted toe
    chosen = step[np.arange(len(step)), bearing]  # (T-1, 3)
    return -np.where(planted.any(axis=1)[:, None], chosen, 0.0)


def plant_feet(
    features: np.ndarray, fps: int = FPS, smooth_frames: float = PLANT_SMOOTH_FRAMES
) -> np.ndarray:
    """A clip's features with its planted feet held still, (N, 263) -> (N, 263) float32.

    The correction of the module docstring (``smooth_frames`` = σ; 0: exact, unsmoothed);
    N < 2 rows are returned unchanged.
    """
    f = np.array(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != FEATURE_DIM:
        raise ValueError(f"features must be (N, {FEATURE_DIM}), got {f.shape}")
    if len(f) < 2:
        return f.astype(np.float32)
    joints = features_to_joints(f).astype(np.float64)  # (N, 22, 3)
    c = root_correction(joints, planted_toes(joints, fps))  # (N-1, 3)
    if smooth_frames > 0:
        c = gaussian_filter1d(c, smooth_frames, axis=0, mode="nearest")
    angle = np.cumsum(np.concatenate([[0.0], f[:-1, ROOT_ROT_VEL.start]]))  # (N,) half-angles
    q = yaw_quaternion(angle)  # (N, 4), the decoder's heading of each frame
    f[:-1, ROOT_LIN_VEL] += rotate_yaw(q[1:], c)[:, [0, 2]]
    velocity = f[:-1, LOCAL_VEL].reshape(-1, NUM_JOINTS, 3)  # (N-1, 22, 3)
    velocity += rotate_yaw(q[:-1], c)[:, None, :]
    f[:-1, LOCAL_VEL] = velocity.reshape(len(f) - 1, -1)
    feet = velocity[:, list(FOOT_CONTACT_JOINTS)]  # (N-1, 4, 3)
    f[:-1, FOOT_CONTACT] = ((feet**2).sum(axis=-1) < CONTACT_SQ_DISPLACEMENT).astype(np.float64)
    return f.astype(np.float32)
