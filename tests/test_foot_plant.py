"""Foot planting (esd.motion.foot_plant): hand-built oracles for the contact rule, the choice of
the weight-bearing toe and the feature-space correction, on gliding and turning bodies."""

import itertools

import numpy as np
import pytest

from esd.evaluation import gait
from esd.motion import foot_plant as fp
from esd.motion.features import features_to_joints, joints_to_features, rebuild_last_frame
from esd.motion.skeleton import (
    CONTACT_SQ_DISPLACEMENT,
    FOOT_CONTACT,
    FOOT_CONTACT_JOINTS,
    KINEMATIC_CHAINS,
    NUM_JOINTS,
    TARGET_OFFSETS,
)

LEFT, RIGHT = fp.TOES


def rest_pose() -> np.ndarray:
    """The target skeleton at rest, (22, 3): each joint at its parent plus its offset."""
    offsets = np.asarray(TARGET_OFFSETS, dtype=np.float64)
    pose = np.zeros((NUM_JOINTS, 3))
    for chain in KINEMATIC_CHAINS:
        for parent, joint in itertools.pairwise(chain):
            pose[joint] = pose[parent] + offsets[joint]
    return pose - [0.0, pose[:, 1].min(), 0.0]  # standing on y = 0


def yaw(angle: float) -> np.ndarray:
    """Rotation about +Y by ``angle`` radians, (3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def gliding_body(frames: int = 40, speed: float = 0.02, turn: float = 0.0) -> np.ndarray:
    """The rest pose sliding forward ``speed`` m per frame while turning ``turn`` rad per
    frame about its pelvis: both feet on the floor and sliding, (T, 22, 3)."""
    pose = rest_pose()
    out = []
    for t in range(frames):
        body = (pose - pose[0]) @ yaw(turn * t).T + pose[0]
        out.append(body + np.array([0.0, 0.0, speed * t]))
    return np.stack(out)


def toe_steps(joints: np.ndarray) -> np.ndarray:
    """Horizontal move of each toe per step, (T-1, 2) metres."""
    toes = joints[:, list(fp.TOES)][..., [0, 2]]
    return np.linalg.norm(np.diff(toes, axis=0), axis=-1)


def test_a_toe_is_planted_when_low_and_slow():
    joints = np.zeros((5, NUM_JOINTS, 3))
    joints[:, LEFT] = [0.1, 0.0, 0.0]  # on the floor, still
    joints[:, RIGHT, 1] = 0.2  # in the air
    joints[:, RIGHT, 2] = np.arange(5) * 0.01  # moving slowly: still not planted (too high)
    planted = fp.planted_toes(joints)
    assert planted.shape == (4, 2)
    assert planted[:, 0].all() and not planted[:, 1].any()
    joints[:, RIGHT, 1] = 0.0  # lowered: planted
    assert fp.planted_toes(joints)[:, 1].all()
    joints[:, RIGHT, 2] = np.arange(5) * 0.05  # 1 m/s > PLANT_SPEED_M_S: a swing, not planted
    assert not fp.planted_toes(joints)[:, 1].any()
    joints[2, LEFT, 1] = fp.PLANT_HEIGHT_M + 0.01  # lifted on frame 2: both steps touching it
    assert fp.planted_toes(joints)[:, 0].tolist() == [True, False, False, True]


def test_the_slower_planted_toe_bears_the_weight():
    joints = np.zeros((3, NUM_JOINTS, 3))
    joints[:, LEFT, 0] = [0.0, 0.01, 0.02]  # slides 1 cm per frame
    joints[:, RIGHT, 2] = [0.0, 0.02, 0.04]  # slides 2 cm per frame
    both = np.ones((2, 2), dtype=bool)
    np.testing.assert_allclose(fp.root_correction(joints, both), [[-0.01, 0, 0]] * 2)
    only_right = np.array([[False, True], [False, True]])
    np.testing.assert_allclose(fp.root_correction(joints, only_right), [[0, 0, -0.02]] * 2)
    none = np.zeros((2, 2), dtype=bool)
    np.testing.assert_array_equal(fp.root_correction(joints, none), np.zeros((2, 3)))


@pytest.mark.parametrize("turn", [0.0, 0.04])
def test_a_gliding_body_is_stopped_and_its_pose_kept(turn):
    joints = gliding_body(turn=turn)
    features = joints_to_features(joints)  # (39, 263)
    features[:, FOOT_CONTACT] = 0.5  # soft contacts, as a model may decode them
    before = features_to_joints(features).astype(np.float64)
    assert toe_steps(before).min(axis=1).mean() > 0.01  # both toes slide 1-2.5 cm per frame

    planted = fp.plant_feet(features, smooth_frames=0.0)
    after = features_to_joints(planted).astype(np.float64)
    # the weight-bearing toe no longer moves (exact: the heading of frame t+1 for the root
    # velocity and of frame t for the joint velocities; swapping them leaves millimetres)
    np.testing.assert_allclose(toe_steps(after)[:-1].min(axis=1), 0.0, atol=2e-5)
    # the pose relative to the pelvis, its height and the heading are untouched
    np.testing.assert_allclose(after - after[:, :1], before - before[:, :1], atol=1e-5)
    unchanged = np.ones(features.shape[1], dtype=bool)
    unchanged[fp.ROOT_LIN_VEL] = unchanged[fp.LOCAL_VEL] = unchanged[FOOT_CONTACT] = False
    np.testing.assert_array_equal(planted[:, unchanged], features[:, unchanged])
    # the joint velocities move with the root: the decoder's next frame from them (§8)
    # shifts as the planted motion does (the encoder's heading quirks make the round trip
    # itself inexact by ~0.1 mm, so the shift is compared)
    for t in range(len(features) - 1):
        shift = rebuild_last_frame(after[: t + 1], planted[: t + 1].astype(np.float64))[-1]
        shift -= rebuild_last_frame(before[: t + 1], features[: t + 1].astype(np.float64))[-1]
        np.testing.assert_allclose(shift, after[t + 1] - before[t + 1], atol=1e-5)
    # contacts follow the encoder's rule on the new motion (the last row is kept as it was)
    moved = np.diff(after[:, list(FOOT_CONTACT_JOINTS)], axis=0)  # (T-1, 4, 3)
    rule = ((moved**2).sum(axis=-1) < CONTACT_SQ_DISPLACEMENT).astype(np.float32)
    np.testing.assert_array_equal(planted[:-1, FOOT_CONTACT], rule[: len(planted) - 1])
    assert planted[-1, FOOT_CONTACT].tolist() == [0.5] * 4


def test_feet_in_the_air_are_left_alone():
    joints = gliding_body(turn=0.0)
    joints[10:30, :, 1] += 0.3  # a jump in the middle: nothing touches the floor
    features = joints_to_features(joints)
    planted = features_to_joints(fp.plant_feet(features, smooth_frames=0.0))
    steps = np.diff(planted[:, 0, 2], axis=0)  # the pelvis's forward steps, (T-2,)
    np.testing.assert_allclose(steps[12:26], 0.02, atol=1e-5)  # airborne: the model's velocity
    np.testing.assert_allclose(steps[:8], 0.0, atol=1e-5)  # standing: held still


def test_smoothing_trades_a_little_slide_for_a_steadier_pelvis():
    rng = np.random.default_rng(0)
    joints = gliding_body(frames=60)
    joints[:, LEFT, [0, 2]] += rng.normal(0, 0.004, (60, 2))  # a jittery toe
    joints[:, RIGHT, 1] += 0.2  # the right foot stays up: the left one bears the weight
    features = joints_to_features(joints)
    exact = features_to_joints(fp.plant_feet(features, smooth_frames=0.0))
    smooth = features_to_joints(fp.plant_feet(features))
    assert gait.support_speed_cm_s(exact) < 0.01
    assert gait.support_speed_cm_s(exact) < gait.support_speed_cm_s(smooth)
    assert gait.pelvis_jerkiness_m_s2(smooth) < gait.pelvis_jerkiness_m_s2(exact)


def test_bad_shapes_are_refused_and_one_row_is_returned():
    with pytest.raises(ValueError, match=r"\(N, 263\)"):
        fp.plant_feet(np.zeros((10, 262)))
    one = np.ones((1, 263), dtype=np.float32)
    np.testing.assert_array_equal(fp.plant_feet(one), one)


def test_pelvis_jerkiness_is_the_rms_of_the_second_difference():
    joints = np.zeros((5, NUM_JOINTS, 3))
    joints[:, 0, 0] = [0.0, 0.0, 0.01, 0.0, 0.0]  # a 1 cm bump on frame 2
    # second differences: 0.01, -0.02, 0.01 m per frame² -> x 400 = 4, -8, 4 m/s²
    assert gait.pelvis_jerkiness_m_s2(joints) == pytest.approx(np.sqrt((16 + 64 + 16) / 3))
    with pytest.raises(ValueError, match="3 frames"):
        gait.pelvis_jerkiness_m_s2(joints[:2])
