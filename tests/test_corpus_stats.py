"""Plausibility statistics: each detects what it claims to detect."""

import numpy as np

from esd.corpus import rig
from esd.corpus.physics import BodyMotion, ground
from esd.corpus.stats import clip_stats, hinge_angles, planted_skate, summarise
from esd.motion.features import joints_to_features
from esd.motion.skeleton import JOINT_INDEX


def stats_of(motion, joints=None):
    joints = ground(motion) if joints is None else joints
    return clip_stats(joints, motion, joints_to_features(joints))


def test_standing_still_is_perfectly_plausible():
    stats = stats_of(BodyMotion.standing(rig.Pose.rest(40)))
    assert stats.planted_skate_mm == 0.0 and stats.contact_skate_cm_s < 1e-6
    assert stats.min_height_m >= 0.0 and stats.hinge_violations == 0
    assert stats.max_speed_m_s < 1e-6 and stats.airborne_frames == 0


def test_a_sliding_planted_foot_is_measured():
    motion = BodyMotion.standing(rig.Pose.rest(40))
    joints = ground(motion)
    joints[:, JOINT_INDEX["left_foot"], 0] += np.arange(40) * 0.01  # 1 cm per frame
    skate = planted_skate(joints, motion.planted)
    assert np.isclose(skate.max(), 0.01)
    assert stats_of(motion, joints).contact_skate_cm_s > 1.0


def test_wrong_way_knee_is_a_hinge_violation():
    pose = rig.Pose.rest(10)
    rig.knee_flex(pose, "left", np.linspace(0, 1, 10))
    assert (hinge_angles(BodyMotion.standing(pose))[:, 0] >= 0).all()
    pose.rotate("left_knee", rig.axis_angle(rig.X_AXIS, -0.3))  # bypasses the clamp
    assert stats_of(BodyMotion.standing(pose)).hinge_violations > 0


def test_flight_is_ballistic_and_summaries_are_json_ready():
    motion = BodyMotion.standing(rig.Pose.rest(40))
    motion.airborne[15:25] = True
    motion.__post_init__()
    stats = stats_of(motion)
    assert stats.airborne_frames == 10 and stats.flight_clearance_m > 0.1
    assert stats.ballistic_error_m_s2 < 1e-6
    table = summarise([stats, stats_of(BodyMotion.standing(rig.Pose.rest(40)))])
    assert table["airborne_frames"] == {"min": 0.0, "mean": 5.0, "p99": 9.9, "max": 10.0}
