"""Joints <-> HumanML3D 263-d motion features ("new_joint_vecs"), exactly as the official data.

Spec: ``../shared/docs/humanml3d_format.md`` (section numbers below refer to it). Layout of a
feature row t (slices in ``esd.motion.skeleton``):

    [root rot vel (1) | root lin vel xz (2) | root y (1) | ric 21x3 | rot6d 21x6 | local vel 22x3
     | foot contacts (4)]

* ``joints_to_features``: encoder E1-E13, (T, 22, 3) -> (T-1, 263) float32, NumPy float64
  inside, vectorised over frames and joints. It keeps every quirk of the official data: the
  wrong hip sign of the per-frame heading (Q1), its Gaussian smoothing (Q2), r_0 = identity (Q3),
  the arcsin wrap of the rotation velocity (Q4), r_{t+1} for the root velocity but r_t for the
  local velocities (Q5), arm chains relative to the root heading (Q6), swing-only rotations (Q7).
* ``features_to_joints`` ("recover_from_ric", §5) and ``features_to_joints_fk``
  ("recover_from_rot"): written once in torch (batched over (..., N, 263), differentiable, any
  device); a NumPy input goes through the same code in float64 and comes back float32.
* ``rebuild_last_frame`` (§8), ``feature_statistics`` (§7 Mean/Std), ``mirror_joints`` ("M" files).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from esd.motion.quaternion import (
    cont6d_to_matrix,
    cross,
    dot,
    normalize,
    qbetween,
    qconj,
    qmul,
    qrot,
    quat_to_cont6d,
    quat_to_matrix,
    yaw_quaternion,
)
from esd.motion.skeleton import (
    BONE_LENGTHS,
    CONTACT_SQ_DISPLACEMENT,
    FACE_JOINTS,
    FEATURE_DIM,
    FEATURE_GROUPS,
    FOOT_CONTACT,
    FOOT_CONTACT_JOINTS,
    HEADING_SMOOTH_SIGMA,
    HEADING_SMOOTH_TRUNCATE,
    JOINT_NAMES,
    KINEMATIC_CHAINS,
    LOCAL_VEL,
    MIRROR_PAIRS,
    NUM_JOINTS,
    PARENTS,
    REST_DIRECTIONS,
    RIC,
    ROOT_LIN_VEL,
    ROOT_ROT_VEL,
    ROOT_Y,
    ROT6D,
    SCALE_BONES,
    TARGET_OFFSETS,
)

Tensorish = np.ndarray | torch.Tensor

_UP = np.array([0.0, 1.0, 0.0])  # +Y
_FORWARD = np.array([0.0, 0.0, 1.0])  # +Z, the canonical facing
_IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])  # (w, x, y, z)
_R_HIP, _L_HIP, _R_SHOULDER, _L_SHOULDER = FACE_JOINTS


def _ancestor_matrix() -> np.ndarray:
    """(22, 21) 0/1: entry [j, b-1] = 1 when bone b (parent(b) -> b) lies on the root -> j path."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS - 1))
    for j in range(1, NUM_JOINTS):
        k = j
        while k > 0:
            a[j, k - 1] = 1.0
            k = PARENTS[k]
    return a


def _chain_parents() -> tuple[np.ndarray, np.ndarray]:
    """For joints 1..21: the chain predecessor, and whether the joint starts a chain (E7)."""
    pred = np.zeros(NUM_JOINTS - 1, dtype=np.int64)  # (21,)
    start = np.zeros(NUM_JOINTS - 1, dtype=bool)  # (21,)
    for chain in KINEMATIC_CHAINS:
        for i in range(1, len(chain)):
            pred[chain[i] - 1] = chain[i - 1]
            start[chain[i] - 1] = i == 1
    return pred, start


def _gaussian_kernel(sigma: float, truncate: float) -> np.ndarray:
    """scipy.ndimage's Gaussian: radius int(truncate*sigma + 0.5), taps exp(-x²/2σ²) / sum."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


_ANCESTORS = _ancestor_matrix()
_PARENT_IDX = np.asarray(PARENTS[1:], dtype=np.int64)  # (21,) parent of joints 1..21
_CHAIN_PRED, _CHAIN_START = _chain_parents()
_HEADING_KERNEL = _gaussian_kernel(HEADING_SMOOTH_SIGMA, HEADING_SMOOTH_TRUNCATE)  # (161,)
_MIRROR_PERM = np.arange(NUM_JOINTS)
for _a, _b in MIRROR_PAIRS:
    _MIRROR_PERM[_a], _MIRROR_PERM[_b] = _b, _a
assert np.array_equal(_CHAIN_PRED, _PARENT_IDX), "KINEMATIC_CHAINS disagree with PARENTS"


# ------------------------------------------------------------------------------------------
# Encoder: joints (T, 22, 3) -> features (T-1, 263)
# ------------------------------------------------------------------------------------------


def _validate_joints(joints: np.ndarray, min_frames: int = 2) -> np.ndarray:
    """float64 copy of a finite (T, 22, 3) array with T >= min_frames, else ValueError."""
    try:
        arr = np.asarray(joints, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"joints must be a numeric (T, {NUM_JOINTS}, 3) array: {err}") from err
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(
            f"joints must have shape (T, {NUM_JOINTS}, 3) (frames, SMPL body joints, xyz in "
            f"metres, y up), got {arr.shape}"
        )
    if arr.shape[0] < min_frames:
        raise ValueError(f"joints need at least {min_frames} frames, got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        bad = np.unique(np.nonzero(~np.isfinite(arr))[0])
        raise ValueError(f"joints contain NaN/inf on {bad.size} frame(s), first: {bad[:5]}")
    return arr


def smooth_nearest(x: np.ndarray, kernel: np.ndarray = _HEADING_KERNEL) -> np.ndarray:
    """Correlate (T, C) with an odd symmetric kernel along time, edges replicated -> (T, C).

    y_t = Σ_k w_k x_{clip(t + k - r, 0, T-1)}, r = len(kernel) // 2; equals scipy
    ``gaussian_filter1d(x, 20, axis=0, mode="nearest")`` with the default heading kernel.
    """
    r = len(kernel) // 2
    padded = np.pad(x, ((r, r), (0, 0)), mode="edge")  # (T + 2r, C)
    windows = sliding_window_view(padded, len(kernel), axis=0)  # (T, C, K)
    return windows @ kernel


def _forward_from_across(across: np.ndarray) -> np.ndarray:
    """Horizontal forward ŷ × normalize(across) = (a_z, 0, -a_x), (..., 3) -> (..., 3)."""
    return cross(np.broadcast_to(_UP, across.shape), normalize(across))


def _retarget(joints: np.ndarray) -> np.ndarray:
    """E1: every bone keeps its per-frame direction and gets its target length; the root is
    scaled about the origin by s = (ℓ_tgt[5] + ℓ_tgt[8]) / (ℓ_src[5] + ℓ_src[8]) (frame 0)."""
    bones = joints[:, 1:] - np.take(joints, _PARENT_IDX, axis=1)  # (T, 21, 3)
    lengths = np.sqrt(dot(bones, bones))  # (T, 21)
    if not (lengths > 0).all():
        frame, bone = np.argwhere(~(lengths > 0))[0]
        raise ValueError(
            f"bone {JOINT_NAMES[_PARENT_IDX[bone]]} -> {JOINT_NAMES[bone + 1]} has zero length "
            f"on frame {frame}; joints must be distinct"
        )
    src_leg = sum(lengths[0, b - 1] for b in SCALE_BONES)
    scale = sum(BONE_LENGTHS[b] for b in SCALE_BONES) / src_leg
    new_bones = bones * (BONE_LENGTHS[1:] / lengths)[..., None]  # (T, 21, 3)
    return scale * joints[:, :1] + _ANCESTORS @ new_bones  # (T, 1, 3) + (T, 22, 3)


def rotate_yaw(r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """rot(r, p) for yaw-only quaternions r = (w, 0, y, 0), (..., 4) x (..., 3) -> (..., 3).

    With c = w² - y² = cos 2h and s = 2wy = sin 2h: (x, y, z) -> (x c + z s, y, -x s + z c).
    Equal to ``qrot`` for such r, with a fifth of the arithmetic.
    """
    w, y = r[..., 0], r[..., 2]
    c, s = (w * w - y * y)[..., None], (2 * w * y)[..., None]  # (..., 1)
    x, z = p[..., 0:1], p[..., 2:3]
    return np.concatenate([x * c + z * s, p[..., 1:2], z * c - x * s], axis=-1)


def canonical_joints(joints: np.ndarray) -> np.ndarray:
    """Canonical global positions g (spec E1-E4), (T, 22, 3) any pose -> (T, 22, 3) float64.

    E1 retarget to the target bone lengths; E2 floor at y = 0 (min over all frames and joints);
    E3 frame-0 root at x = z = 0; E4 rotate about Y so that frame 0 faces +Z, with
    forward = normalize(ŷ × normalize((p_2 - p_1) + (p_17 - p_16))) on frame 0 (correct sign).
    """
    g = _retarget(_validate_joints(joints))
    g[..., 1] -= g[..., 1].min()
    g -= g[0, 0] * np.array([1.0, 0.0, 1.0])
    across = (g[0, _R_HIP] - g[0, _L_HIP]) + (g[0, _R_SHOULDER] - g[0, _L_SHOULDER])  # (3,)
    q0 = qbetween(normalize(_forward_from_across(across)), _FORWARD)  # (4,), a yaw
    return rotate_yaw(q0, g)


def heading_quaternions(g: np.ndarray) -> np.ndarray:
    """Per-frame root heading r_t (E6) of canonical positions, (T, 22, 3) -> (T, 4).

    across_t = (p_1 - p_2) + (p_17 - p_16) (the official WRONG hip sign, Q1); f_t = ŷ ×
    normalize(across_t); f smoothed over time (Gaussian σ = 20, 'nearest' edges, Q2) and
    normalised; r_t = arc(f_t, +Z) = Y(h_t), h_t ∈ (-π/2, π/2]; then r_0 := identity (Q3).
    """
    across = (g[:, _L_HIP] - g[:, _R_HIP]) + (g[:, _R_SHOULDER] - g[:, _L_SHOULDER])  # (T, 3)
    forward = normalize(smooth_nearest(_forward_from_across(across)))  # (T, 3)
    r = qbetween(forward, np.broadcast_to(_FORWARD, forward.shape))  # (T, 4)
    r[0] = _IDENTITY
    return r


def local_rotations(g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Local swing quaternions L_j of joints 1..21 (E7), (T, 22, 3), (T, 4) -> (T, 21, 4).

    S_j = arc(restdir_j, normalize(g_j - g_parent(j))) (world swing, no twist);
    L_j = conj(r_t) ⊗ S_j for the first joint of each chain (1, 2, 3, 13, 14; Q6),
    L_j = conj(S_parent(j)) ⊗ S_j otherwise.
    """
    dirs = normalize(g[:, 1:] - np.take(g, _PARENT_IDX, axis=1))  # (T, 21, 3)
    swing = qbetween(REST_DIRECTIONS[1:], dirs)  # (T, 21, 4)
    parent_swing = swing[:, _PARENT_IDX - 1]  # (T, 21, 4); rows of chain starts unused
    parent = np.where(_CHAIN_START[:, None], r[:, None, :], parent_swing)  # (T, 21, 4)
    return qmul(qconj(parent), swing)


def foot_contacts(g: np.ndarray) -> np.ndarray:
    """E5: 1.0 where |g_{t+1} - g_t|² < 0.002 for joints (7, 10, 8, 11), (T, 22, 3) -> (T-1, 4)."""
    step = g[1:, FOOT_CONTACT_JOINTS] - g[:-1, FOOT_CONTACT_JOINTS]  # (T-1, 4, 3)
    return (dot(step, step) < CONTACT_SQ_DISPLACEMENT).astype(np.float64)


def _encode(g: np.ndarray) -> np.ndarray:
    """E5-E13 on canonical positions, (T, 22, 3) float64 -> (T-1, 263) float64."""
    r = heading_quaternions(g)  # (T, 4)
    num_rows = g.shape[0] - 1
    out = np.empty((num_rows, FEATURE_DIM), dtype=np.float64)
    d = qmul(r[1:], qconj(r[:-1]))  # (T-1, 4) = Y(h_{t+1} - h_t)
    out[:, ROOT_ROT_VEL] = np.arcsin(np.clip(d[:, 2:3], -1.0, 1.0))  # wraps (Q4)
    root_vel = rotate_yaw(r[1:], g[1:, 0] - g[:-1, 0])  # (T-1, 3), heading of frame t+1 (Q5)
    out[:, ROOT_LIN_VEL] = root_vel[:, [0, 2]]
    local = g[:-1] - g[:-1, :1] * np.array([1.0, 0.0, 1.0])  # (T-1, 22, 3), y absolute
    local = rotate_yaw(r[:-1, None], local)
    out[:, ROOT_Y] = local[:, 0, 1:2]
    out[:, RIC] = local[:, 1:].reshape(num_rows, -1)  # (T-1, 21 * 3)
    rot6d = quat_to_cont6d(local_rotations(g[:-1], r[:-1]))  # (T-1, 21, 6)
    out[:, ROT6D] = rot6d.reshape(num_rows, -1)  # (T-1, 21 * 6)
    velocity = rotate_yaw(r[:-1, None], g[1:] - g[:-1])  # (T-1, 22, 3), heading of frame t (Q5)
    out[:, LOCAL_VEL] = velocity.reshape(num_rows, -1)  # (T-1, 22 * 3)
    out[:, FOOT_CONTACT] = foot_contacts(g)
    return out


def joints_to_features(joints: np.ndarray) -> np.ndarray:
    """HumanML3D features of a joint sequence, (T, 22, 3) -> (T-1, 263) float32 (spec §4).

    Any position, yaw and scale of the input gives the same features (E1-E4 canonicalise it).
    Computed in float64. Raises ValueError for a wrong shape, T < 2, NaN/inf or a zero-length
    bone. A bone exactly opposite its rest direction, or a heading exactly -Z, gives NaN rows
    as in the official code (Q11); a RuntimeWarning says how many.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN rows are reported below
        out = _encode(canonical_joints(joints))
    bad = int((~np.isfinite(out)).any(axis=1).sum())
    if bad:
        warnings.warn(
            f"joints_to_features: {bad} of {out.shape[0]} feature rows are NaN (a bone exactly "
            "opposite its rest direction or a heading of exactly -Z; spec Q11)",
            RuntimeWarning,
            stacklevel=2,
        )
    return out.astype(np.float32)


# ------------------------------------------------------------------------------------------
# Decoders: features (..., N, 263) -> joints (..., N, 22, 3), written once in torch
# ------------------------------------------------------------------------------------------


def _root_motion(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Heading q_t and root position P_t (§5 steps 1-2), (..., N, 263) -> (..., N, 4), (..., N, 3).

    a_0 = 0, a_t = Σ_{k<t} f_k[0];  q_t = Y(a_t);
    P_t.xz = Σ_{k=1..t} rot(conj(q_k), (f_{k-1}[1], 0, f_{k-1}[2])).xz,  P_t.y = f_t[3].
    The last row's rot vel and lin vel are not used.
    """
    rot_vel = f[..., :-1, ROOT_ROT_VEL.start]  # (..., N-1)
    angle = torch.cumsum(torch.nn.functional.pad(rot_vel, (1, 0)), dim=-1)  # (..., N)
    q = yaw_quaternion(angle)  # (..., N, 4)
    lin = torch.nn.functional.pad(f[..., :-1, ROOT_LIN_VEL], (0, 0, 1, 0))  # (..., N, 2)
    step = qrot(qconj(q), torch.stack([lin[..., 0], 0 * lin[..., 0], lin[..., 1]], dim=-1))
    xz = torch.cumsum(step, dim=-2)  # (..., N, 3); its y is 0
    root = torch.stack([xz[..., 0], f[..., ROOT_Y.start], xz[..., 2]], dim=-1)  # (..., N, 3)
    return q, root


def _ric_joints(f: torch.Tensor) -> torch.Tensor:
    """recover_from_ric: J_0 = P_t, J_j = rot(conj(q_t), ric_j) + (P_t.x, 0, P_t.z)."""
    q, root = _root_motion(f)
    ric = f[..., RIC].unflatten(-1, (NUM_JOINTS - 1, 3))  # (..., N, 21, 3)
    offset = root * root.new_tensor([1.0, 0.0, 1.0])  # (..., N, 3)
    body = qrot(qconj(q)[..., None, :], ric) + offset[..., None, :]  # (..., N, 21, 3)
    return torch.cat([root[..., None, :], body], dim=-2)  # (..., N, 22, 3)


def _fk_joints(f: torch.Tensor) -> torch.Tensor:
    """recover_from_rot: per chain A := mat(q_t); A := A · mat6d(rot6d_j);
    p_j = p_parent + A (ℓ_j restdir_j), with the target offsets of ``esd.motion.skeleton``."""
    q, root = _root_motion(f)
    local = cont6d_to_matrix(f[..., ROT6D].unflatten(-1, (NUM_JOINTS - 1, 6)))  # (..,N,21,3,3)
    offsets = torch.tensor(TARGET_OFFSETS, dtype=f.dtype, device=f.device)  # (22, 3)
    root_mat = quat_to_matrix(q)  # (..., N, 3, 3)
    joints: list[torch.Tensor | None] = [root] + [None] * (NUM_JOINTS - 1)
    for chain in KINEMATIC_CHAINS:
        a = root_mat
        for parent, joint in itertools.pairwise(chain):
            a = a @ local[..., joint - 1, :, :]
            joints[joint] = joints[parent] + (a @ offsets[joint, :, None])[..., 0]
    return torch.stack(joints, dim=-2)  # (..., N, 22, 3)


def _check_feature_shape(shape: tuple[int, ...]) -> None:
    if len(shape) < 2 or shape[-1] != FEATURE_DIM or shape[-2] < 1:
        raise ValueError(
            f"features must have shape (..., N, {FEATURE_DIM}) with N >= 1 frames, got "
            f"{tuple(shape)}"
        )


def _decode(features: Tensorish, fn: Callable[[torch.Tensor], torch.Tensor]) -> Tensorish:
    """Run a torch decoder on a tensor (same dtype/device) or a NumPy array (float64 -> float32)."""
    if isinstance(features, torch.Tensor):
        _check_feature_shape(tuple(features.shape))
        if not features.is_floating_point():
            raise ValueError(f"features must be a floating-point tensor, got {features.dtype}")
        return fn(features)
    try:
        arr = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"features must be a numeric (N, {FEATURE_DIM}) array: {err}") from err
    _check_feature_shape(arr.shape)
    return fn(torch.from_numpy(arr)).numpy().astype(np.float32)


def features_to_joints(features: Tensorish) -> Tensorish:
    """Joints from features with the ric decoder ("recover_from_ric", §5).

    NumPy (..., N, 263) -> (..., N, 22, 3) float32 (computed in float64); torch (..., N, 263) ->
    (..., N, 22, 3) in the input's dtype and device, differentiable. N features give N frames.
    """
    return _decode(features, _ric_joints)


def features_to_joints_fk(features: Tensorish) -> Tensorish:
    """Joints from the root motion + rot6d by forward kinematics ("recover_from_rot", §5).

    Same conventions as ``features_to_joints``; bone lengths are
    ``esd.motion.skeleton.TARGET_OFFSETS``.
    """
    return _decode(features, _fk_joints)


def rebuild_last_frame(joints: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Append the frame dropped by the encoder (§8), (N, 22, 3), (N, 263) -> (N+1, 22, 3).

    g_N = g_{N-1} + rot(conj(q_{N-1}), localvel_{N-1}), with q from the features' rot vel.
    The result has the dtype of ``joints`` (float32 for float32 input, else float64).
    """
    j = _validate_joints(joints, min_frames=1)
    f = np.asarray(features, dtype=np.float64)
    _check_feature_shape(f.shape)
    if f.ndim != 2 or f.shape[0] != j.shape[0]:
        raise ValueError(
            f"joints {j.shape} and features {f.shape} must have the same number of frames N"
        )
    q, _ = _root_motion(torch.from_numpy(f))  # (N, 4)
    velocity = f[-1, LOCAL_VEL].reshape(NUM_JOINTS, 3)  # (22, 3)
    last = j[-1] + qrot(qconj(q[-1].numpy()), velocity)  # (22, 3)
    dtype = np.float32 if np.asarray(joints).dtype == np.float32 else np.float64
    return np.concatenate([j, last[None]], axis=0).astype(dtype)


# ------------------------------------------------------------------------------------------
# Dataset statistics and mirroring
# ------------------------------------------------------------------------------------------


def feature_statistics(
    features: Sequence[np.ndarray] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Dataset Mean and Std (§7) over all rows of all clips, each (263,) float32.

    Mean = per-dim mean; Std = per-dim population std (ddof 0), then replaced within each of
    the 7 groups of ``FEATURE_GROUPS`` by the group average. Arrays containing NaN/inf are
    skipped as the official script does, with a RuntimeWarning giving their count. Moments are
    merged clip by clip in float64 (Chan et al.), so no concatenated copy is made.
    """
    clips = [features] if isinstance(features, np.ndarray) and features.ndim == 2 else features
    count, mean, m2, skipped = 0, np.zeros(FEATURE_DIM), np.zeros(FEATURE_DIM), 0
    for clip in clips:
        x = np.asarray(clip, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != FEATURE_DIM:
            raise ValueError(f"each feature array must be (T, {FEATURE_DIM}), got {x.shape}")
        if not np.isfinite(x).all():
            skipped += 1
            continue
        n = x.shape[0]
        if n == 0:
            continue
        clip_mean = x.mean(axis=0)
        delta = clip_mean - mean
        m2 += ((x - clip_mean) ** 2).sum(axis=0) + delta**2 * count * n / (count + n)
        mean += delta * n / (count + n)
        count += n
    if skipped:
        warnings.warn(
            f"feature_statistics skipped {skipped} array(s) containing NaN/inf",
            RuntimeWarning,
            stacklevel=2,
        )
    if count == 0:
        raise ValueError("feature_statistics got no finite feature rows")
    std = np.sqrt(m2 / count)  # population std per dim
    for _, group in FEATURE_GROUPS:
        std[group] = std[group].mean()
    return mean.astype(np.float32), std.astype(np.float32)


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """Mirror image x -> -x with left/right joints swapped (the "M" files), (..., 22, 3)."""
    arr = np.asarray(joints)
    if arr.ndim < 2 or arr.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must have shape (..., {NUM_JOINTS}, 3), got {arr.shape}")
    return arr[..., _MIRROR_PERM, :] * np.array([-1, 1, 1], dtype=arr.dtype)
