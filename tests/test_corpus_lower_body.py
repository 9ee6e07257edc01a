"""Lower-body and posture actions: the generator contract for every request, and each concept's
geometric signature after grounding (lunge, squat, sit_down, stand_up, kneel, bow, stretch,
balance, pick_up)."""

from functools import cache

import numpy as np
import pytest

from esd.corpus import rig
from esd.corpus.actions import ActionRequest, generate_action
from esd.corpus.actions.base import TEMPO, facts_of
from esd.corpus.actions.lower_body.sit import seated_motion, seated_pose
from esd.corpus.catalog import SPEC_BY_NAME
from esd.corpus.physics import ground
from esd.corpus.rig import CONTACT_HEIGHT
from esd.motion.skeleton import FPS, JOINT_INDEX

J = JOINT_INDEX
CONCEPTS = ("lunge", "squat", "sit_down", "stand_up", "kneel", "bow", "stretch", "balance")
CONCEPTS += ("pick_up",)
STAND = rig.standing_pelvis_height()
SIGN = {"left": 1.0, "right": -1.0}  # +x is the body's left


def other(side):
    return "right" if side == "left" else "left"


@cache
def make(concept, variant, side=None, speed="normal", reps=1, seed=0):
    """(result, grounded joints (T, 22, 3)) of one request."""
    result = generate_action(ActionRequest(concept, variant, side, speed, reps), rng(seed))
    return result, ground(result.motion)


def rng(seed):
    return np.random.default_rng(seed)


def joint(joints, name):
    return joints[:, J[name]]


def trunk_pitch(joints):
    """Forward pitch (deg) of the pelvis -> neck line from vertical, per frame."""
    v = joint(joints, "neck") - joint(joints, "pelvis")
    return np.degrees(np.arctan2(v[:, 2], v[:, 1]))


def knee_bend(joints, side):
    """Geometric knee flexion (deg) per frame: 0 = thigh and shin in line."""
    thigh = joint(joints, f"{side}_hip") - joint(joints, f"{side}_knee")
    shin = joint(joints, f"{side}_ankle") - joint(joints, f"{side}_knee")
    cos = (thigh * shin).sum(1) / np.linalg.norm(thigh, axis=1) / np.linalg.norm(shin, axis=1)
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def dips(values, threshold):
    """Number of separate stretches where ``values`` (T,) is below ``threshold``."""
    below = np.concatenate([[False], values < threshold, [False]])
    return int(np.count_nonzero(np.diff(below.astype(int)) == 1))


def rotation_degrees(quats):
    return np.degrees(2 * np.arccos(np.clip(np.abs(quats[..., 0]), 0.0, 1.0)))


# --- the contract, for every request ----------------------------------------------------------


def all_requests(concept):
    spec = SPEC_BY_NAME[concept]
    for variant in spec.variants:
        for side in spec.sides:
            for speed in TEMPO:
                for reps in sorted({1, spec.max_reps}):
                    yield ActionRequest(concept, variant, side, speed, reps)


def check_grounded(request, motion, joints):
    planted = motion.planted
    assert joints[..., 1].min() >= 0.0, request
    still = planted[1:] & planted[:-1]  # (T-1, 22)
    slide = np.linalg.norm(np.diff(joints[:, :, [0, 2]], axis=0), axis=2)
    assert (slide * still).max() < 0.005, request  # planted joints do not skate
    contact = np.full(22, CONTACT_HEIGHT["foot"])
    for part in ("ankle", "knee", "wrist"):
        contact[[J[f"left_{part}"], J[f"right_{part}"]]] = CONTACT_HEIGHT[part]
    hover = np.abs(joints[..., 1] - contact)[planted]
    assert hover.max() < 0.015, request  # planted joints rest on the floor
    assert np.linalg.norm(np.diff(joints, axis=0), axis=2).max() <= 0.5, request
    accel = np.linalg.norm(np.diff(joints, 2, axis=0), axis=2)  # (T-2, 22)
    assert accel.max() <= 0.25 and accel[:, 0].max() <= 0.08, request


def check_pose(request, motion):
    pose = motion.pose
    first, last = rotation_degrees(pose.local[0]), rotation_degrees(pose.local[-1])
    assert request.concept == "stand_up" or first.max() < 2.0, request
    assert request.concept == "sit_down" or last.max() < 2.0, request
    assert np.all(pose.yaw == 0.0), request
    for f in (0, -1):
        assert motion.planted[f, J["left_foot"]] and motion.planted[f, J["right_foot"]], request
    knees = pose.local[:, [J["left_knee"], J["right_knee"]]]  # bend only about +x (forward)
    elbows = pose.local[:, [J["left_elbow"], J["right_elbow"]]]  # only about -x
    signed = np.sign(knees[..., :1])
    assert np.all(knees[..., 1] * signed[..., 0] >= -1e-9), request
    assert np.abs(knees[..., 2:]).max() < 1e-9 and np.abs(elbows[..., 2:]).max() < 1e-9
    assert np.all(elbows[..., 1] * np.sign(elbows[..., 0]) <= 1e-9), request


@pytest.mark.parametrize("concept", CONCEPTS)
def test_every_request_keeps_the_contract(concept):
    for request in all_requests(concept):
        for seed in (0, 1):
            result = generate_action(request, rng(seed))
            motion = result.motion
            assert result.facts == facts_of(request)
            assert 1.0 <= motion.pose.frames / FPS <= 8.5, request
            assert not motion.airborne.any(), request
            check_pose(request, motion)
            check_grounded(request, motion, ground(motion))


@pytest.mark.parametrize("concept", CONCEPTS)
def test_deterministic_and_tempo_scaled(concept):
    spec = SPEC_BY_NAME[concept]
    variant, side = spec.variants[0], spec.sides[-1]
    a = generate_action(ActionRequest(concept, variant, side), rng(7)).motion
    b = generate_action(ActionRequest(concept, variant, side), rng(7)).motion
    np.testing.assert_array_equal(a.pose.local, b.pose.local)
    np.testing.assert_array_equal(a.planted, b.planted)
    slow = generate_action(ActionRequest(concept, variant, side, "slow"), rng(3)).motion
    fast = generate_action(ActionRequest(concept, variant, side, "fast"), rng(3)).motion
    assert slow.pose.frames > 1.3 * fast.pose.frames
    c = generate_action(ActionRequest(concept, variant, side), rng(8)).motion
    assert c.pose.frames != a.pose.frames or not np.allclose(c.pose.local, a.pose.local)


# --- lunge ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_lunge_steps_the_named_foot_ahead_and_sinks(side, seed):
    result, joints = make("lunge", "forward", side, seed=seed)
    step, stay = joint(joints, f"{side}_foot"), joint(joints, f"{other(side)}_foot")
    bottom = int(np.argmin(joints[:, 0, 1]))
    assert 0.55 < step[bottom, 2] - step[0, 2] < 0.95  # a 0.6-0.9 m step forward
    assert np.ptp(stay[:, [0, 2]], axis=0).max() < 1e-6  # the rear foot never moves
    assert STAND - joints[bottom, 0, 1] > 0.2  # the body sinks
    assert result.motion.planted[bottom, J[f"{side}_foot"]]  # both feet down at the bottom
    front_thigh = joint(joints, f"{side}_knee") - joint(joints, f"{side}_hip")
    assert np.degrees(np.arccos(-front_thigh[bottom, 1] / 0.39)) > 60  # thigh toward level
    assert 0.06 < joint(joints, f"{other(side)}_knee")[bottom, 1] < 0.35  # rear knee low
    assert step[:, 1].max() < 0.25  # a low step, not a kick (a kick lifts the foot > 0.45 m)
    np.testing.assert_allclose(step[-1], step[0], atol=1e-6)  # back where it started


@pytest.mark.parametrize("side", ["left", "right"])
def test_side_lunge_steps_out_and_sits_over_the_bent_leg(side):
    _, joints = make("lunge", "side", side, seed=1)
    step, straight = joint(joints, f"{side}_foot"), f"{other(side)}"
    bottom = int(np.argmin(joints[:, 0, 1]))
    assert SIGN[side] * (step[bottom, 0] - step[0, 0]) > 0.55  # out to its own side
    assert abs(step[bottom, 2] - step[0, 2]) < 0.05
    assert STAND - joints[bottom, 0, 1] > 0.15
    assert SIGN[side] * (joints[bottom, 0, 0] - joints[0, 0, 0]) > 0.35  # hips over that foot
    assert knee_bend(joints, side)[bottom] > 70 and knee_bend(joints, straight)[bottom] < 20


def test_lunge_reps_and_difference_from_a_squat():
    _, joints = make("lunge", "forward", "left", reps=3)
    assert dips(joints[:, 0, 1], STAND - 0.15) == 3
    gap = np.abs(joint(joints, "left_foot")[:, 2] - joint(joints, "right_foot")[:, 2]).max()
    assert gap > 0.5  # a lunge splits the feet; a squat keeps them side by side
    _, squat = make("squat", "arms_forward", None, reps=3)
    assert np.ptp(joint(squat, "left_foot")[:, [0, 2]], axis=0).max() < 1e-6


# --- squat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["arms_forward", "hands_on_hips", "deep"])
@pytest.mark.parametrize("reps", [1, 4])
def test_squat_lowers_the_pelvis_with_heels_down(variant, reps):
    result, joints = make("squat", variant, None, reps=reps)
    assert result.motion.planted[:, [J["left_foot"], J["right_foot"]]].all()
    assert STAND - joints[:, 0, 1].min() > 0.25
    assert dips(joints[:, 0, 1], STAND - 0.2) == reps
    for side in ("left", "right"):
        heel = joint(joints, f"{side}_ankle")[:, 1]
        assert np.ptp(heel) < 0.01  # heels stay down
        assert np.ptp(joint(joints, f"{side}_foot")[:, [0, 2]], axis=0).max() < 1e-6
    assert abs(joints[:, 0, 0]).max() < 1e-6  # symmetric: no sideways drift


def test_squat_variants_differ():
    _, forward = make("squat", "arms_forward")
    _, hips = make("squat", "hands_on_hips")
    _, deep = make("squat", "deep")
    assert forward[:, 0, 1].min() - deep[:, 0, 1].min() > 0.1  # deep goes below parallel
    bottom = int(np.argmin(forward[:, 0, 1]))
    for side in ("left", "right"):
        wrist, shoulder = joint(forward, f"{side}_wrist"), joint(forward, f"{side}_shoulder")
        assert abs(wrist[bottom, 1] - shoulder[bottom, 1]) < 0.15  # arms at shoulder height
        assert wrist[bottom, 2] - shoulder[bottom, 2] > 0.4  # pointing forward
        on_hip = joint(hips, f"{side}_wrist") - hips[:, 0]
        middle = slice(len(hips) // 4, 3 * len(hips) // 4)
        assert np.abs(on_hip[middle, 1]).max() < 0.2  # at the pelvis's height
        assert (SIGN[side] * on_hip[middle, 0]).min() > 0.12  # on the outside of the hip


# --- sit_down / stand_up ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sit_down_ends_seated_and_stand_up_is_its_reverse(seed):
    sit, sat = make("sit_down", "chair", None, seed=seed)
    stand, stood = make("stand_up", "from_chair", None, seed=seed)
    assert 0.45 <= sat[-1, 0, 1] <= 0.55 and stood[-1, 0, 1] == pytest.approx(STAND, abs=1e-6)
    assert trunk_pitch(sat).max() > 20 and abs(trunk_pitch(sat)[-1]) < 15  # lean, then upright
    for side in ("left", "right"):
        assert 80 < knee_bend(sat, side)[-1] < 110  # knees ~90 deg
        thigh = joint(sat, f"{side}_knee")[-1] - joint(sat, f"{side}_hip")[-1]
        assert abs(np.degrees(np.arctan2(thigh[1], thigh[2]))) < 25  # thighs near horizontal
    seated = seated_pose(3)
    np.testing.assert_allclose(sit.motion.pose.local[-1], seated.local[0], atol=1e-9)
    np.testing.assert_allclose(stand.motion.pose.local[0], seated.local[0], atol=1e-9)
    np.testing.assert_allclose(stood[:, 0, 1], sat[::-1, 0, 1], atol=1e-9)  # exact reverse
    assert seated_motion(5).planted[:, [J["left_foot"], J["right_foot"]]].all()
    assert 0.45 <= ground(seated_motion(5))[0, 0, 1] <= 0.55


# --- kneel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_one_knee_kneel_puts_the_named_knee_on_the_floor(side):
    result, joints = make("kneel", "one_knee", side)
    knee = J[f"{side}_knee"]
    down = result.motion.planted[:, knee]
    assert down.sum() > 0.5 * FPS  # held for a while
    np.testing.assert_allclose(joints[down, knee, 1], CONTACT_HEIGHT["knee"], atol=0.005)
    assert joint(joints, f"{other(side)}_knee")[:, 1].min() > 0.35  # the front knee stays up
    step = joint(joints, f"{side}_foot")
    assert step[down][0, 2] - step[0, 2] < -0.5  # it stepped back
    assert not result.motion.planted[:, J[f"{other(side)}_knee"]].any()
    assert joints[down, 0, 1].max() < 0.6


def test_both_knees_and_crouch():
    result, joints = make("kneel", "both_knees", None)
    knees = result.motion.planted[:, [J["left_knee"], J["right_knee"]]]
    assert knees.all(axis=1).sum() > 0.5 * FPS and (knees[:, 0] == knees[:, 1]).all()
    down = knees[:, 0]
    for side in ("left", "right"):
        assert joint(joints, f"{side}_knee")[down, 1].max() < 0.075
    assert joints[down, 0, 1].max() > 0.48  # tall kneeling: hips above the knees
    result, crouch = make("kneel", "crouch", None)
    assert not result.motion.planted[:, [J["left_knee"], J["right_knee"]]].any()
    assert crouch[:, 0, 1].min() < 0.5  # deep
    assert joint(crouch, "left_ankle")[:, 1].max() - joint(crouch, "left_ankle")[0, 1] > 0.04
    assert min(joint(crouch, f"{s}_knee")[:, 1].min() for s in ("left", "right")) > 0.3
    assert max(joint(crouch, f"{s}_wrist")[:, 1].min() for s in ("left", "right")) < 0.25


@pytest.mark.parametrize("variant", ["both_knees", "crouch"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_kneel_side_hand_reaches_lower(variant, side):
    _, joints = make("kneel", variant, side)
    lower = joint(joints, f"{side}_wrist")[:, 1].min()
    assert lower < joint(joints, f"{other(side)}_wrist")[:, 1].min() - 0.04


# --- bow --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reps", [1, 2])
def test_bow_pitches_the_trunk_with_straight_legs(reps):
    _, slight = make("bow", "slight", None, reps=reps)
    _, deep = make("bow", "deep", None, reps=reps)
    assert 20 < trunk_pitch(slight).max() < 45
    assert trunk_pitch(deep).max() > 60 and trunk_pitch(deep).max() > trunk_pitch(slight).max() + 25
    assert dips(-trunk_pitch(deep), -30) == reps
    for joints in (slight, deep):
        for side in ("left", "right"):
            assert knee_bend(joints, side).max() < 6  # legs straight
            assert np.ptp(joint(joints, f"{side}_foot"), axis=0).max() < 0.01
        head_drop = joint(joints, "head")[:, 1].min() - joint(joints, "neck")[:, 1].min()
        assert head_drop < joint(joints, "head")[0, 1] - joint(joints, "neck")[0, 1]  # it nods


# --- stretch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [None, "left", "right"])
def test_overhead_stretch_reaches_above_the_head(side):
    _, joints = make("stretch", "overhead", side)
    head = joint(joints, "head")[:, 1].max()
    tops = {s: joint(joints, f"{s}_wrist")[:, 1].max() for s in ("left", "right")}
    assert min(tops.values()) > head + 0.25
    if side is not None:
        assert tops[side] > tops[other(side)] + 0.03  # the named hand reaches higher
    assert trunk_pitch(joints).max() < 5  # no forward bend


@pytest.mark.parametrize("side", [None, "left", "right"])
def test_side_bend_leans_toward_the_named_side(side):
    _, joints = make("stretch", "side_bend", side)
    lateral = joint(joints, "head")[:, 0] - joints[:, 0, 0]
    for lean in ("left", "right") if side is None else (side,):
        assert (SIGN[lean] * lateral).max() > 0.12
    if side is not None:
        assert (SIGN[other(side)] * lateral).max() < 0.02
    assert min(joint(joints, f"{s}_wrist")[:, 1].max() for s in ("left", "right")) > 1.8


@pytest.mark.parametrize("side", [None, "left", "right"])
def test_toe_touch_folds_over_straight_legs(side):
    _, joints = make("stretch", "toe_touch", side)
    hands = 0.5 * (joint(joints, "left_wrist") + joint(joints, "right_wrist"))
    low = int(np.argmin(hands[:, 1]))
    assert hands[low, 1] < 0.32 and trunk_pitch(joints).max() > 95
    assert max(knee_bend(joints, s).max() for s in ("left", "right")) < 6
    toes = 0.5 * (joint(joints, "left_foot")[low] + joint(joints, "right_foot")[low])
    assert hands[low, 2] - toes[2] < 0.35  # near the toes
    if side is not None:
        assert SIGN[side] * (hands[low, 0] - toes[0]) > 0.05  # toward that foot


# --- balance ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["one_leg", "arms_out"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balance_holds_the_other_foot_up_slowly(variant, side, seed):
    result, joints = make("balance", variant, side, seed=seed)
    planted = result.motion.planted
    assert planted[:, J[f"{side}_foot"]].all()  # the standing leg
    free = joint(joints, f"{other(side)}_foot")
    up = free[:, 1] > 0.15
    assert up.sum() / FPS > 1.5  # held for 1.5 s or more
    assert not planted[up, J[f"{other(side)}_foot"]].any()
    speed = np.linalg.norm(np.diff(free, axis=0), axis=1) * FPS
    assert speed.max() < 1.5  # slow and controlled: no kick snap
    assert knee_bend(joints, other(side))[up].min() > 45  # the lifted leg stays bent
    assert np.ptp(joint(joints, f"{side}_foot")[:, [0, 2]], axis=0).max() < 1e-6


def test_balance_variants_differ_in_the_arms():
    for seed in (0, 1):
        spans = {}
        for variant in ("one_leg", "arms_out"):
            _, joints = make("balance", variant, "left", seed=seed)
            hold = joint(joints, "right_foot")[:, 1] > 0.15
            wrist, shoulder = joint(joints, "left_wrist"), joint(joints, "left_shoulder")
            spans[variant] = np.median((wrist - shoulder)[hold, 1])
            if variant == "arms_out":  # a T: level with the shoulders, far out to the side
                assert abs(spans[variant]) < 0.1
                assert np.median(wrist[hold, 0] - joints[hold, 0, 0]) > 0.6
        assert spans["one_leg"] < -0.15  # arms out loosely, lower than a T


# --- pick_up ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["bend", "squat"])
@pytest.mark.parametrize("side", [None, "left", "right"])
def test_pick_up_reaches_the_floor_and_brings_the_hand_to_the_waist(variant, side):
    _, joints = make("pick_up", variant, side)
    hands = ("left", "right") if side is None else (side,)
    toes = joint(joints, "left_foot")[0, 2]
    for hand in hands:
        wrist = joint(joints, f"{hand}_wrist")
        low = int(np.argmin(wrist[:, 1]))
        assert wrist[low, 1] < 0.25 and wrist[low, 2] > toes  # on the floor in front
        risen = np.nonzero((joints[:, 0, 1] > STAND - 0.02) & (np.arange(len(wrist)) > low))[0]
        at_waist = (wrist[risen, 1] - joints[risen, 0, 1] > 0.05) & (
            wrist[risen, 2] - joints[risen, 0, 2] > 0.15
        )
        assert at_waist.any()  # standing again, holding the object in front of the waist
    if side is not None:
        assert joint(joints, f"{other(side)}_wrist")[:, 1].min() > 0.35  # one hand only


def test_pick_up_variants_differ():
    _, bend = make("pick_up", "bend", None)
    _, squat = make("pick_up", "squat", None)
    assert STAND - bend[:, 0, 1].min() < 0.2 and STAND - squat[:, 0, 1].min() > 0.4
    assert trunk_pitch(bend).max() > 85 and trunk_pitch(squat).max() < 65
    assert max(knee_bend(bend, s).max() for s in ("left", "right")) < 60  # knees slightly bent
