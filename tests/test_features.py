"""esd.motion.features against the official sample 012314 (spec §9) and the format quirks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from esd.motion.features import (
    canonical_joints,
    feature_statistics,
    features_to_joints,
    features_to_joints_fk,
    joints_to_features,
    mirror_joints,
    rebuild_last_frame,
    rotate_yaw,
    smooth_nearest,
)
from esd.motion.quaternion import qrot, yaw_quaternion
from esd.motion.skeleton import (
    FEATURE_DIM,
    FEATURE_GROUPS,
    FOOT_CONTACT,
    NUM_JOINTS,
    ROOT_ROT_VEL,
)

DECODE_TOL = 1e-5  # m; spec §9a reaches 2.1e-7 (ric) and 1.3e-6 (FK)
ENCODE_TOL = 5e-5  # per slice; spec §9b-2 reaches 7.8e-6 (rot6d)
INVARIANCE_TOL = 1e-4


@pytest.fixture(scope="module")
def full_joints(official_sample: dict[str, np.ndarray]) -> np.ndarray:
    """The 171-frame canonical clip: official new_joints + the frame rebuilt from the features."""
    return rebuild_last_frame(official_sample["joints"], official_sample["features"])


def _yaw_turn(pose: np.ndarray, frames: int, rad_per_frame: float) -> np.ndarray:
    """A static pose (22, 3) turning about +Y at a constant rate -> (frames, 22, 3)."""
    angle = rad_per_frame * np.arange(frames)  # full yaw angle per frame
    q = yaw_quaternion(angle / 2)  # (frames, 4)
    return qrot(q[:, None], np.broadcast_to(pose, (frames, NUM_JOINTS, 3)))


# --- decoders -----------------------------------------------------------------------------


@pytest.mark.parametrize("decoder", [features_to_joints, features_to_joints_fk])
def test_decoders_match_official_joints(decoder, official_sample):
    joints = decoder(official_sample["features"])
    assert joints.shape == official_sample["joints"].shape and joints.dtype == np.float32
    assert np.abs(joints - official_sample["joints"]).max() <= DECODE_TOL


@pytest.mark.parametrize("decoder", [features_to_joints, features_to_joints_fk])
def test_torch_decoder_is_batched_and_equals_numpy(decoder, official_sample):
    feats = official_sample["features"][:60]
    other = feats + np.random.default_rng(0).normal(0, 0.01, feats.shape).astype(np.float32)
    batch = torch.from_numpy(np.stack([feats, other]))[None]  # (1, 2, 60, 263)
    out = decoder(batch)
    assert out.shape == (1, 2, 60, NUM_JOINTS, 3) and out.dtype == torch.float32
    for i, item in enumerate((feats, other)):
        assert np.abs(out[0, i].numpy() - decoder(item)).max() <= 1e-5
    assert decoder(np.stack([feats, other])).shape == (2, 60, NUM_JOINTS, 3)  # NumPy batch


@pytest.mark.parametrize("decoder", [features_to_joints, features_to_joints_fk])
def test_torch_decoder_is_differentiable(decoder, official_sample):
    base = torch.from_numpy(official_sample["features"][:4].astype(np.float64))
    x = (base + 0.01 * torch.randn(base.shape, generator=torch.Generator().manual_seed(0)))[None]
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(decoder, (x,), fast_mode=True)
    decoder(x).pow(2).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # the last row's root velocities are not used by the decoder (spec §5)
    assert x.grad[0, -1, ROOT_ROT_VEL].abs().sum() == 0


# --- encoder ------------------------------------------------------------------------------


def test_encoder_reproduces_official_features(full_joints, official_sample):
    feats = joints_to_features(full_joints)
    official = official_sample["features"]
    assert feats.shape == official.shape and feats.dtype == np.float32
    for name, sl in FEATURE_GROUPS:
        err = np.abs(feats[:, sl] - official[:, sl]).max()
        assert err <= ENCODE_TOL, f"{name}: max error {err:.2e}"
    assert np.array_equal(feats[:, FOOT_CONTACT], official[:, FOOT_CONTACT])


def test_canonical_joints_match_official_new_joints(full_joints, official_sample):
    g = canonical_joints(full_joints)
    assert np.abs(g[:-1] - official_sample["joints"]).max() <= 1e-5


def test_trimmed_clip_differs_only_near_the_end(official_sample):
    """Q2: without the dropped last frame only the rows within 80 frames of the end change."""
    feats = joints_to_features(official_sample["joints"])  # 170 frames -> 169 rows
    official = official_sample["features"][:169]
    assert np.abs(feats[:88] - official[:88]).max() <= ENCODE_TOL
    assert np.abs(feats[-20:] - official[-20:]).max() > 1e-3


def test_features_invariant_to_position_yaw_and_scale(full_joints, official_sample):
    q = yaw_quaternion(np.array(2.1 / 2))  # a 2.1 rad yaw
    moved = 1.13 * qrot(q, full_joints.astype(np.float64)) + np.array([3.0, 0.4, -1.5])
    feats = joints_to_features(moved)
    assert np.abs(feats - official_sample["features"]).max() <= INVARIANCE_TOL
    assert np.array_equal(feats[:, FOOT_CONTACT], official_sample["features"][:, FOOT_CONTACT])


def test_rotation_velocity_wraps_at_180_degrees(official_sample):
    """Q4: a 300° turn at 0.044 rad/frame gives one row of +0.0221 instead of -0.0221, and the
    decoded joints drift from the canonical positions after that row."""
    clip = _yaw_turn(official_sample["joints"][0].astype(np.float64), 120, 0.044)
    feats = joints_to_features(clip)
    rot_vel = feats[1:, ROOT_ROT_VEL.start]  # row 0 holds the Q3 jump
    flipped = np.nonzero(rot_vel > 0)[0]
    assert flipped.size == 1
    row = flipped[0] + 1
    assert feats[row, 0] == pytest.approx(0.0221, abs=3e-4)
    assert feats[row - 1, 0] == pytest.approx(-0.0221, abs=3e-4)
    err = np.abs(features_to_joints(feats) - canonical_joints(clip)[:-1]).max(axis=(1, 2))
    assert err[:row].max() <= 1e-5 < 0.02 < err[row + 1 :].min()


def test_mirror_negates_x_and_swaps_sides(full_joints):
    """The "M" files: x -> -x with left/right swapped. Not an exact symmetry of the features:
    the retarget gives left and right bones their own (unequal) target lengths."""
    mirrored = mirror_joints(full_joints)
    assert np.array_equal(mirror_joints(mirrored), full_joints)
    np.testing.assert_array_equal(mirrored[:, 1], full_joints[:, 2] * [-1, 1, 1])  # L hip <- R hip
    np.testing.assert_array_equal(mirrored[:, 21], full_joints[:, 20] * [-1, 1, 1])  # wrists
    np.testing.assert_array_equal(mirrored[:, 15], full_joints[:, 15] * [-1, 1, 1])  # head
    feats, mirror_feats = joints_to_features(full_joints), joints_to_features(mirrored)
    turn, mirror_turn = feats[1:, ROOT_ROT_VEL].sum(), mirror_feats[1:, ROOT_ROT_VEL].sum()
    assert mirror_turn == pytest.approx(-turn, rel=0.1)  # the clip turns the other way


def test_rebuild_last_frame_shapes(official_sample):
    joints, feats = official_sample["joints"], official_sample["features"]
    out = rebuild_last_frame(joints, feats)
    assert out.shape == (joints.shape[0] + 1, NUM_JOINTS, 3) and out.dtype == np.float32
    assert np.array_equal(out[:-1], joints)
    with pytest.raises(ValueError, match="same number of frames"):
        rebuild_last_frame(joints[:-1], feats)


def test_rotate_yaw_equals_qrot_for_yaw_quaternions():
    rng = np.random.default_rng(0)
    r = yaw_quaternion(rng.uniform(-np.pi / 2, np.pi / 2, size=(7, 1)))  # (7, 1, 4)
    p = rng.normal(size=(7, 5, 3))
    np.testing.assert_allclose(rotate_yaw(r, p), qrot(r, p), atol=1e-14)


def test_smoothing_matches_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(0).normal(size=(37, 3))  # shorter than the 161-tap kernel
    expected = ndimage.gaussian_filter1d(x, 20, axis=0, mode="nearest")
    assert np.abs(smooth_nearest(x) - expected).max() <= 1e-12


# --- Mean / Std ---------------------------------------------------------------------------


def test_statistics_mean_and_grouped_population_std():
    rng = np.random.default_rng(0)
    clips = [
        rng.normal(rng.normal(size=FEATURE_DIM), 2.0, size=(n, FEATURE_DIM)) for n in (5, 9, 1)
    ]
    mean, std = feature_statistics(clips)
    rows = np.concatenate(clips)
    assert mean.dtype == std.dtype == np.float32 and mean.shape == std.shape == (FEATURE_DIM,)
    np.testing.assert_allclose(mean, rows.mean(axis=0), rtol=1e-6, atol=1e-6)
    per_dim = rows.std(axis=0)  # ddof 0
    for name, sl in FEATURE_GROUPS:
        assert np.all(std[sl] == std[sl][0]), name
        assert std[sl][0] == pytest.approx(per_dim[sl].mean(), rel=1e-6), name
    single_mean, single_std = feature_statistics(rows)  # one (N, 263) array
    np.testing.assert_allclose(single_mean, mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(single_std, std, rtol=1e-6)


def test_statistics_skip_nan_clips_with_a_warning():
    good = np.ones((4, FEATURE_DIM)) * np.arange(4)[:, None]
    bad = good.copy()
    bad[1, 7] = np.nan
    with pytest.warns(RuntimeWarning, match="skipped 1"):
        mean, std = feature_statistics([good, bad])
    np.testing.assert_allclose(mean, 1.5)
    np.testing.assert_allclose(std, np.std([0, 1, 2, 3]), rtol=1e-6)
    with pytest.raises(ValueError, match="no finite"), pytest.warns(RuntimeWarning):
        feature_statistics([bad])


def test_official_std_is_constant_within_each_group(official_sample):
    std = official_sample["std"]
    for name, sl in FEATURE_GROUPS:
        assert np.ptp(std[sl]) == 0, name
    assert std[FOOT_CONTACT][0] == pytest.approx(0.355933, abs=1e-6)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("joints", "match"),
    [
        (np.zeros((10, 21, 3)), r"shape \(T, 22, 3\)"),
        (np.zeros((10, 22)), r"shape \(T, 22, 3\)"),
        (np.zeros((1, 22, 3)), "at least 2 frames"),
        ("walk", "numeric"),
    ],
)
def test_encoder_rejects_bad_shapes(joints, match):
    with pytest.raises(ValueError, match=match):
        joints_to_features(joints)


def test_encoder_rejects_non_finite_and_degenerate_joints(full_joints):
    bad = full_joints[:10].copy()
    bad[3, 5, 1] = np.inf
    with pytest.raises(ValueError, match="NaN/inf"):
        joints_to_features(bad)
    flat = full_joints[:10].copy()
    flat[:, 4] = flat[:, 1]  # left knee on the left hip
    with pytest.raises(ValueError, match="zero length"):
        joints_to_features(flat)


def test_bone_opposite_its_rest_direction_gives_nan_rows_with_a_warning(full_joints):
    """Q11: the left knee straight above the left hip (rest direction -Y) has no shortest arc."""
    clip = full_joints[:10].astype(np.float64)
    clip[:, 4] = clip[:, 1] + [0.0, 0.39, 0.0]
    with pytest.warns(RuntimeWarning, match="9 of 9 feature rows are NaN"):
        feats = joints_to_features(clip)
    assert np.isnan(feats).any(axis=1).all()


@pytest.mark.parametrize("decoder", [features_to_joints, features_to_joints_fk])
def test_decoders_reject_bad_input(decoder):
    with pytest.raises(ValueError, match="263"):
        decoder(np.zeros((5, 262)))
    with pytest.raises(ValueError, match="263"):
        decoder(torch.zeros(263))
    with pytest.raises(ValueError, match="floating-point"):
        decoder(torch.zeros(3, 263, dtype=torch.int64))
