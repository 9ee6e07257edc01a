"""Does a motion walk, jump and kick like a body on a floor? Gait numbers from joints.

All functions take the joints of one clip, (T, 22, 3) in metres with y up at 20 fps (the
HumanML3D layout: ``esd.motion.skeleton``), and return one number per clip. The "toe" is the
joint HumanML3D calls ``*_foot`` (the ball of the foot, indices 10 / 11); the ankles are 7 / 8.

* ``support_speed_cm_s``: the supporting foot is the lower toe on each frame; its horizontal
  speed, median over frames (cm / s). A planted foot does not move: real walks give a few cm / s,
  a glide (the body travels while the feet slide) gives tens.
* ``ankle_lift_cm``: each ankle's highest point above its own lowest over the clip; the clip's
  number is the smaller of the two (both feet must step).
* ``jump_clearance_cm``: the largest height, over the frames, of the LOWER toe above its own
  lowest point: > 0 only when both feet are off the floor at once.
* ``kick_height_m``: the highest toe above the clip's floor (the lowest toe height of the clip).
* ``pelvis_speed_m_s``: the pelvis's median horizontal speed (walking speed).
* ``pelvis_jerkiness_m_s2``: the RMS of the pelvis's horizontal acceleration (m / s²): the price
  of foot planting (``esd.motion.foot_plant``), which a zero supporting-foot speed can hide.

``summarise`` gives the mean over clips with a 95% bootstrap interval
(``esd.evaluation.uncertainty``) and the share of clips meeting a target with its 95% Wilson
interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.evaluation.uncertainty import (
    BOOTSTRAP_RESAMPLES,
    Interval,
    bootstrap_generator,
    interval,
    mean_replicates,
    rate_interval,
    resample_indices,
)
from esd.motion.skeleton import FPS, JOINT_INDEX, NUM_JOINTS

CM_PER_M = 100.0
TOES = (JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"])  # balls of the feet (10, 11)
ANKLES = (JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"])  # (7, 8)
PELVIS = JOINT_INDEX["pelvis"]
HORIZONTAL = [0, 2]  # x and z; y is up

# Targets of issue 14.
SUPPORT_SPEED_MAX_CM_S = 5.0  # the supporting foot moves at most this fast (no glide)
ANKLE_LIFT_MIN_CM = 8.0  # each ankle rises at least this far during a walk
JUMP_CLEARANCE_MIN_CM = 5.0  # a jump leaves the floor: both toes at least this high at once
KICK_HEIGHT_MIN_M = 0.4  # a kick lifts the foot at least this high


def _check(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or len(joints) < 2:
        raise ValueError(f"joints must be (T >= 2, {NUM_JOINTS}, 3), got {joints.shape}")
    return joints


def support_speed_cm_s(joints: np.ndarray, fps: int = FPS) -> float:
    """Median over frames of the supporting (lower) toe's horizontal speed, cm / s:

    s_t = |p_{k_t}(t+1) - p_{k_t}(t)|_xz * fps * 100,  k_t = argmin_k y_k(t) over the toes,
    result = median_t s_t   (t = 0 .. T-2)."""
    toes = _check(joints)[:, list(TOES)]  # (T, 2, 3)
    lower = np.argmin(toes[:-1, :, 1], axis=1)  # (T-1,) index of the lower toe on frame t
    step = np.diff(toes[..., HORIZONTAL], axis=0)  # (T-1, 2, 2)
    moved = step[np.arange(len(step)), lower]  # (T-1, 2) the supporting toe's move
    return float(np.median(np.linalg.norm(moved, axis=1)) * fps * CM_PER_M)


def ankle_lifts_cm(joints: np.ndarray) -> tuple[float, float]:
    """(left, right) ankle lift, cm: ``max_t y_a(t) - min_t y_a(t)`` for each ankle a."""
    heights = _check(joints)[:, list(ANKLES), 1]  # (T, 2)
    lift = (heights.max(axis=0) - heights.min(axis=0)) * CM_PER_M  # (2,)
    return float(lift[0]), float(lift[1])


def ankle_lift_cm(joints: np.ndarray) -> float:
    """The smaller of the two ankle lifts (``ankle_lifts_cm``), cm: both feet must step."""
    return min(ankle_lifts_cm(joints))


def jump_clearance_cm(joints: np.ndarray) -> float:
    """Largest height of the lower toe above its own lowest point, cm:

        c = max_t min_k (y_k(t) - min_t' y_k(t')) * 100   over the two toes k;

    0 while a foot stays on the floor, > 0 only when both toes are up on the same frame."""
    toes = _check(joints)[:, list(TOES), 1]  # (T, 2)
    above = toes - toes.min(axis=0)  # (T, 2) each toe above its own lowest point
    return float(above.min(axis=1).max() * CM_PER_M)


def kick_height_m(joints: np.ndarray) -> float:
    """Highest toe above the clip's floor (its lowest toe height), m:
    ``max_{t,k} y_k(t) - min_{t,k} y_k(t)``."""
    toes = _check(joints)[:, list(TOES), 1]  # (T, 2)
    return float(toes.max() - toes.min())


def pelvis_speed_m_s(joints: np.ndarray, fps: int = FPS) -> float:
    """Median over frames of the pelvis's horizontal speed, m / s."""
    pelvis = _check(joints)[:, PELVIS, HORIZONTAL]  # (T, 2)
    return float(np.median(np.linalg.norm(np.diff(pelvis, axis=0), axis=1)) * fps)


def pelvis_jerkiness_m_s2(joints: np.ndarray, fps: int = FPS) -> float:
    """RMS over frames of the pelvis's horizontal acceleration, m / s²:

    a_t = (p_{t+2} - 2 p_{t+1} + p_t).xz * fps²,  result = sqrt(mean_t |a_t|²)  (T >= 3)."""
    pelvis = _check(joints)[:, PELVIS, HORIZONTAL]  # (T, 2)
    if len(pelvis) < 3:
        raise ValueError(f"pelvis acceleration needs at least 3 frames, got {len(pelvis)}")
    acceleration = np.diff(pelvis, n=2, axis=0) * fps * fps  # (T-2, 2)
    return float(np.sqrt((acceleration**2).sum(axis=1).mean()))


@dataclass(frozen=True)
class Summary:
    """A per-clip number over N clips: mean with its 95% bootstrap interval, and the share of
    clips meeting the target with its 95% Wilson interval (None without a target)."""

    n: int
    mean: float
    ci95: Interval
    median: float
    meets: int | None = None
    share: float | None = None
    share_ci95: Interval | None = None

    def line(self, unit: str, digits: int = 1) -> str:
        text = (
            f"{self.mean:.{digits}f} {unit} [{self.ci95[0]:.{digits}f}, {self.ci95[1]:.{digits}f}]"
            f" (median {self.median:.{digits}f}, n={self.n})"
        )
        if self.share is not None and self.share_ci95 is not None:
            lo, hi = self.share_ci95
            text += f"; meets target {self.meets}/{self.n} = {self.share:.0%} [{lo:.0%}, {hi:.0%}]"
        return text


def summarise(
    values: Sequence[float],
    target: float | None = None,
    at_least: bool = True,
    seed: int = 0,
    name: str = "gait",
) -> Summary:
    """Mean of ``values`` (N clips) with a bias-corrected 95% bootstrap interval; with a
    ``target``, the clips with value >= target (``at_least``) or <= target (else)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) == 0 or not np.isfinite(v).all():
        raise ValueError("summarise needs a non-empty list of finite per-clip values")
    rows = resample_indices(len(v), BOOTSTRAP_RESAMPLES, bootstrap_generator(seed, name, "mean"))
    mean = float(v.mean())
    ci = interval(mean_replicates(v, rows), mean)
    if target is None:
        return Summary(len(v), mean, ci, float(np.median(v)))
    hits = int(np.sum(v >= target) if at_least else np.sum(v <= target))
    return Summary(
        len(v), mean, ci, float(np.median(v)), hits, hits / len(v), rate_interval(hits, len(v))
    )


MIN_ACTION_FRAMES = 10  # shorter corpus segments are skipped (no gait or wave to measure)


def action_frames(joints: np.ndarray, entry: dict) -> np.ndarray | None:
    """The frames of the one action of a clip (joints (T, 22, 3)): a real take whole (``entry``
    without "segments"), a single-segment corpus clip cut to its segment; None for a corpus clip
    of two segments (not comparable to a take) or a segment under ``MIN_ACTION_FRAMES``."""
    segments = entry.get("segments")
    if segments is None:
        return joints
    if len(segments) != 1:
        return None
    start, end = segments[0]["start"], segments[0]["end"]
    return joints[start:end] if end - start >= MIN_ACTION_FRAMES else None
