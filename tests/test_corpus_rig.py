"""The procedural rig: rest pose, FK, anatomical sign conventions, grounding physics."""

import numpy as np
import pytest

from esd.corpus import rig
from esd.corpus.physics import GRAVITY, BodyMotion, ground
from esd.motion.features import features_to_joints, joints_to_features
from esd.motion.skeleton import BONE_LENGTHS, FPS, JOINT_INDEX, PARENTS

J = JOINT_INDEX


def fk(pose):
    return rig.forward_kinematics(pose)


def test_rest_pose_is_a_plausible_standing_human():
    joints = rig.rest_joints()
    lengths = np.linalg.norm(joints[1:] - joints[list(PARENTS[1:])], axis=1)
    np.testing.assert_allclose(lengths, BONE_LENGTHS[1:], atol=1e-12)
    height = joints[J["head"], 1] - joints[:, 1].min()
    assert 1.45 < height < 1.75  # head joint centre of a ~1.7 m person
    assert joints[J["left_hip"], 0] > 0 > joints[J["right_hip"], 0]  # left is +x
    assert joints[J["left_foot"], 2] > joints[J["left_ankle"], 2]  # feet point forward (+z)
    assert 0.85 < rig.standing_pelvis_height() < 1.0


@pytest.mark.parametrize("side", ["left", "right"])
def test_anatomical_signs(side):
    s = 1 if side == "left" else -1
    knee, ankle, elbow, wrist = (J[f"{side}_{n}"] for n in ("knee", "ankle", "elbow", "wrist"))
    rest = fk(rig.Pose.rest(1))[0]
    # hip flexion: knee moves forward (+z) and up
    pose = rig.hip_flex(rig.Pose.rest(1), side, np.pi / 2)
    flexed = fk(pose)[0]
    assert flexed[knee, 2] > rest[knee, 2] + 0.3 and flexed[knee, 1] > rest[knee, 1] + 0.3
    # knee flexion: ankle moves backward (-z)
    bent = fk(rig.knee_flex(rig.Pose.rest(1), side, np.pi / 2))[0]
    assert bent[ankle, 2] < rest[ankle, 2] - 0.3
    # hip abduction: knee moves away from the midline
    out = fk(rig.hip_abduct(rig.Pose.rest(1), side, np.pi / 4))[0]
    assert s * out[knee, 0] > s * rest[knee, 0] + 0.2
    # shoulder flexion 90: elbow in front of the shoulder; abduction 90: elbow out to the side
    front = fk(rig.shoulder_flex(rig.Pose.rest(1), side, np.pi / 2))[0]
    assert front[elbow, 2] > rest[elbow, 2] + 0.2
    lateral = fk(rig.shoulder_abduct(rig.Pose.rest(1), side, np.pi / 2))[0]
    assert s * lateral[elbow, 0] > s * rest[elbow, 0] + 0.2
    # elbow flexion: wrist comes forward
    curl = fk(rig.elbow_flex(rig.Pose.rest(1), side, np.pi / 2))[0]
    assert curl[wrist, 2] > rest[wrist, 2] + 0.2
    # knee and elbow never bend the wrong way
    wrong = fk(rig.knee_flex(rig.Pose.rest(1), side, -1.0))[0]
    np.testing.assert_allclose(wrong, rest)


def test_trunk_and_heading_signs():
    rest = fk(rig.Pose.rest(1))[0]
    bowed = fk(rig.spine_flex(rig.Pose.rest(1), np.pi / 3))[0]
    assert bowed[J["head"], 2] > rest[J["head"], 2] + 0.3
    pose = rig.Pose.rest(1)
    pose.yaw[:] = np.pi / 2  # turning left by 90 deg: facing +x
    turned = fk(pose)[0]
    assert turned[J["left_foot"], 0] > 0.1  # the toes point to +x


def walk_like(frames=80, stride=0.45):
    """Legs alternating in antiphase with the stance foot planted: should move forward."""
    pose = rig.Pose.rest(frames)
    phase = 2 * np.pi * np.arange(frames) / 20
    swing = stride * np.sin(phase)
    rig.hip_flex(pose, "left", swing)
    rig.hip_flex(pose, "right", -swing)
    rig.knee_flex(pose, "left", 0.6 * np.maximum(0, np.cos(phase)))
    rig.knee_flex(pose, "right", 0.6 * np.maximum(0, -np.cos(phase)))
    planted = np.zeros((frames, 22), bool)
    left_stance = np.cos(phase) < 0  # the left leg sweeps backward while it supports
    planted[:, J["left_foot"]] = left_stance
    planted[:, J["right_foot"]] = ~left_stance
    return BodyMotion(pose, planted, np.zeros(frames, bool))


def test_planted_feet_do_not_slide_and_the_body_travels():
    motion = walk_like()
    joints = ground(motion)
    for foot in ("left_foot", "right_foot"):
        planted = motion.planted[:, J[foot]]
        both = planted[1:] & planted[:-1]
        slide = np.linalg.norm(np.diff(joints[:, J[foot]][:, [0, 2]], axis=0), axis=1)[both]
        assert slide.max() < 1e-9
    assert joints[-1, 0, 2] - joints[0, 0, 2] > 1.0  # moved forward along +z
    assert joints[..., 1].min() >= 0.0


def test_jump_follows_a_ballistic_arc():
    frames = 40
    motion = BodyMotion.standing(rig.Pose.rest(frames))
    motion.airborne[15:25] = True
    motion.__post_init__()
    root_y = ground(motion)[:, 0, 1]
    flight = root_y[14:26]
    accel = np.diff(flight, 2) * FPS**2
    np.testing.assert_allclose(accel, -GRAVITY, rtol=1e-6)
    assert root_y[20] - root_y[10] > 0.25  # 0.55 s of flight ~ 0.37 m


def test_grounded_clip_survives_the_feature_round_trip():
    joints = ground(walk_like()).astype(np.float32)
    features = joints_to_features(joints)
    recovered = features_to_joints(features)
    floor = joints[..., 1].min()  # the encoder puts the clip's lowest point on the floor (E2)
    np.testing.assert_allclose(recovered[:, 0, 1], joints[:-1, 0, 1] - floor, atol=1e-4)
    travelled = np.linalg.norm(recovered[-1, 0, [0, 2]] - recovered[0, 0, [0, 2]])
    np.testing.assert_allclose(
        travelled, np.linalg.norm(joints[-2, 0, [0, 2]] - joints[0, 0, [0, 2]]), rtol=1e-3
    )
