"""The locomotion family (walk, run, jump, spin, dance, climb): the generator contract for every
variant, side, speed and repetition count, and each concept's geometric signature."""

from __future__ import annotations

import dataclasses
import functools
import itertools

import numpy as np
import pytest

from esd.corpus.actions import ActionRequest, generate_action
from esd.corpus.catalog import SPEC_BY_NAME
from esd.corpus.physics import ground
from esd.corpus.rig import CONTACT_HEIGHT
from esd.motion.skeleton import FPS, JOINT_INDEX

J = JOINT_INDEX
FEET = (J["left_foot"], J["right_foot"])
FAMILY = ("walk", "run", "jump", "spin", "dance", "climb")
SPEEDS = ("slow", "normal", "fast")
SEEDS = (0, 1)
# (concept, variant) whose heading may end away from 0; and concepts that may leave the floor.
MAY_TURN = {("walk", "turn"), ("walk", "circle"), ("walk", "sideways"), ("run", "circle")}
MAY_TURN |= {("spin", "in_place")} | {("dance", v) for v in SPEC_BY_NAME["dance"].variants}
MAY_FLY = {"run", "jump"}


@functools.cache
def generated(request: ActionRequest, seed: int = 0):
    """(result, grounded joints (T, 22, 3)) of one request; cached across tests."""
    result = generate_action(request, np.random.default_rng(seed))
    return result, ground(result.motion)


def requests(concept: str, variant: str):
    """Every allowed side x speed x reps (1 and the maximum) of a variant."""
    spec = SPEC_BY_NAME[concept]
    for side in spec.sides:
        for speed in SPEEDS:
            for reps in sorted({1, spec.max_reps}):
                yield ActionRequest(concept, variant, side, speed, reps)


def stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, one past last) frames of each run of True in ``mask`` (T,)."""
    padded = np.concatenate([[False], mask, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


def rotation_degrees(quats: np.ndarray) -> np.ndarray:
    """Angle (deg) of each unit quaternion (..., 4) from the identity."""
    return np.degrees(2 * np.arccos(np.clip(np.abs(quats[..., 0]), 0.0, 1.0)))


def landing_frames(airborne: np.ndarray) -> np.ndarray:
    """(T,) bool: first frame back on the floor after a flight."""
    landing = np.zeros_like(airborne)
    landing[1:] = airborne[:-1] & ~airborne[1:]
    return landing


def check_contract(request: ActionRequest, seed: int) -> None:
    """Rules 1-6 of the generator contract for one request (see esd/corpus/actions/base.py)."""
    result, joints = generated(request, seed)
    motion, facts = result.motion, result.facts
    frames = motion.pose.frames
    assert (facts.concept, facts.variant, facts.speed, facts.reps) == (
        request.concept, request.variant, request.speed, request.reps,
    )  # fmt: skip
    assert 1.0 <= frames / FPS <= 8.5
    assert rotation_degrees(motion.pose.local[[0, -1]]).max() < 2.0
    assert motion.pose.yaw[0] == 0.0
    if (request.concept, request.variant) not in MAY_TURN:
        assert abs(motion.pose.yaw[-1]) < 2 * np.pi / 180
    assert motion.planted[[0, -1]][:, list(FEET)].all()
    assert joints[..., 1].min() >= 0.0
    held = motion.planted[1:] & motion.planted[:-1]  # (T-1, 22)
    slide = np.linalg.norm(np.diff(joints[..., [0, 2]], axis=0), axis=-1)
    assert slide[held].max(initial=0.0) < 0.005
    assert np.linalg.norm(np.diff(joints, axis=0), axis=-1).max() <= 0.5
    accel = np.linalg.norm(np.diff(joints, 2, axis=0), axis=-1)  # (T-2, 22), centred on 1..T-2
    assert accel.max() <= 0.25
    pelvis = np.where(landing_frames(motion.airborne)[1:-1], 0.0, accel[:, 0])
    assert pelvis.max() <= 0.08
    knees = motion.pose.local[:, [J["left_knee"], J["right_knee"]]]
    elbows = motion.pose.local[:, [J["left_elbow"], J["right_elbow"]]]
    assert (knees[..., 1] >= -1e-9).all() and np.abs(knees[..., 2:]).max() < 1e-9
    assert (elbows[..., 1] <= 1e-9).all() and np.abs(elbows[..., 2:]).max() < 1e-9
    if request.concept not in MAY_FLY:
        assert not motion.airborne.any()
    check_hands_outside_torso(joints)


def check_hands_outside_torso(joints: np.ndarray) -> None:
    """A wrist between the shoulders, between pelvis and neck height, is in front of the trunk."""
    across = joints[:, J["left_shoulder"], [0, 2]] - joints[:, J["right_shoulder"], [0, 2]]
    across /= np.linalg.norm(across, axis=1, keepdims=True)
    forward = np.stack([-across[:, 1], across[:, 0]], axis=1)  # y up x across = forward
    for wrist in ("left_wrist", "right_wrist"):
        rel = joints[:, J[wrist]] - joints[:, J["spine3"]]
        side = np.einsum("ti,ti->t", rel[:, [0, 2]], across)
        front = np.einsum("ti,ti->t", rel[:, [0, 2]], forward)
        level = (joints[:, J[wrist], 1] > joints[:, 0, 1]) & (
            joints[:, J[wrist], 1] < joints[:, J["neck"], 1]
        )
        inside = level & (np.abs(side) < 0.1)
        assert (front[inside] > 0.05).all()


CASES = [(c, v) for c in FAMILY for v in SPEC_BY_NAME[c].variants]


@pytest.mark.parametrize(("concept", "variant"), CASES)
def test_every_request_obeys_the_contract(concept, variant):
    for request in requests(concept, variant):
        for seed in SEEDS:
            try:
                check_contract(request, seed)
            except AssertionError as error:
                raise AssertionError(f"{request} seed {seed}") from error


@pytest.mark.parametrize("concept", FAMILY)
def test_deterministic_for_a_seed_and_varied_across_seeds(concept):
    spec = SPEC_BY_NAME[concept]
    request = ActionRequest(concept, spec.variants[0], spec.sides[-1], "normal", spec.max_reps)
    first = generate_action(request, np.random.default_rng(7)).motion
    again = generate_action(request, np.random.default_rng(7)).motion
    other = generate_action(request, np.random.default_rng(8)).motion
    np.testing.assert_array_equal(first.pose.local, again.pose.local)
    np.testing.assert_array_equal(first.planted, again.planted)
    assert first.pose.frames != other.pose.frames or not np.allclose(
        first.pose.local, other.pose.local
    )


# --- walk ---------------------------------------------------------------------------------


def heading_frame(joints: np.ndarray, frame: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """World (x, z) forward and left unit vectors of the body at ``frame`` (from the hips)."""
    left = joints[frame, J["left_hip"], [0, 2]] - joints[frame, J["right_hip"], [0, 2]]
    left /= np.linalg.norm(left)
    return np.array([-left[1], left[0]]), left


def steady(frames: int) -> slice:
    """The middle third of a clip: the gait at full speed."""
    return slice(frames // 3, 2 * frames // 3)


def contacts_alternate(planted: np.ndarray) -> bool:
    """Each foot lands at least twice, and the landings alternate between the feet."""
    landings = sorted(
        (start, f)
        for f, foot in enumerate(FEET)
        for start, _ in stretches(planted[:, foot])
        if start > 0
    )
    feet = [f for _, f in landings]
    return len(feet) >= 4 and all(a != b for a, b in itertools.pairwise(feet))


@pytest.mark.parametrize("side", [None, "left", "right"])
def test_walk_forward_travels_with_alternating_steps_and_arm_swing(side):
    result, joints = generated(ActionRequest("walk", "forward", side, "normal"))
    motion = result.motion
    forward, _ = heading_frame(joints)
    travel = (joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]) @ forward
    assert travel > 1.0 and contacts_alternate(motion.planted)
    speed = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=1) * FPS
    assert 1.0 <= np.median(speed[steady(len(speed))]) <= 1.4
    spots = sorted(
        (start, joints[start, foot, [0, 2]] @ forward)
        for foot in FEET
        for start, _ in stretches(motion.planted[:, foot])
    )
    steps = np.diff([z for _, z in spots])[2:-2]  # leave out starting and stopping steps
    assert (steps > 0.45).all() and (steps < 0.75).all()
    ahead = joints[:, FEET[0], 2] - joints[:, FEET[1], 2]  # left foot ahead of the right
    arms = joints[:, J["left_wrist"], 2] - joints[:, J["right_wrist"], 2]
    assert np.corrcoef(ahead, arms)[0, 1] < -0.5  # arms swing opposite to the legs
    assert not motion.airborne.any() and result.facts.side is None  # the direction is forward
    if side:  # the named foot steps first
        lifts = [np.argmin(motion.planted[:, foot]) for foot in FEET]  # first frame lifted
        named = ("left", "right").index(side)
        assert lifts[named] < lifts[1 - named]


def test_walk_variants_move_their_own_way():
    back = generated(ActionRequest("walk", "backward", None, "normal"))[1]
    assert back[-1, 0, 2] - back[0, 0, 2] < -0.8  # facing +z, moving -z
    for side, sign in (("left", 1.0), ("right", -1.0)):
        result, side_joints = generated(ActionRequest("walk", "sideways", side, "normal"))
        shift = side_joints[-1, 0] - side_joints[0, 0]
        assert sign * shift[0] > 0.8 and abs(shift[2]) < 0.3  # left = +x, no forward travel
        assert result.facts.side == side and abs(result.motion.pose.yaw).max() < 1e-9
        width = np.abs(side_joints[:, FEET[0], 0] - side_joints[:, FEET[1], 0])
        assert width.max() > 0.4 and width.min() < 0.2  # step out wide, close in
        circle = generated(ActionRequest("walk", "circle", side, "normal"))[0].motion.pose.yaw
        assert sign * circle[-1] > np.radians(150) and (sign * np.diff(circle) > -1e-9).all()
        turn = generated(ActionRequest("walk", "turn", side, "normal"))[0].motion.pose.yaw
        assert np.radians(85) < sign * turn[-1] < np.radians(185)
        assert abs(turn[: len(turn) // 5]).max() < 1e-6  # walks straight before turning


def test_walk_direction_is_reported_and_chosen_when_missing():
    for variant in ("sideways", "circle", "turn"):
        facts = generated(ActionRequest("walk", variant, None, "normal"))[0].facts
        assert facts.side in ("left", "right")
    assert generated(ActionRequest("walk", "forward", "left", "normal"))[0].facts.side is None


def test_walk_speed_follows_the_tempo():
    speeds = []
    for speed in SPEEDS:
        joints = generated(ActionRequest("walk", "forward", None, speed))[1]
        step = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=1) * FPS
        speeds.append(np.median(step[steady(len(step))]))
    assert speeds[0] < speeds[1] < speeds[2]


@pytest.mark.parametrize("style", SPEC_BY_NAME["walk"].styles[1:])
def test_every_walking_style_obeys_the_contract(style):
    for variant in SPEC_BY_NAME["walk"].variants:
        for request in requests("walk", variant):
            styled = dataclasses.replace(request, style=style)
            for seed in SEEDS:
                try:
                    check_contract(styled, seed)
                except AssertionError as error:
                    raise AssertionError(f"{styled} seed {seed}") from error
                assert generated(styled, seed)[0].facts.style == style


def walk_measures(style: str) -> dict[str, float]:
    """Steady-state speed, step length, elbow bend, stance width and neck lead of a forward walk
    (means over three seeds)."""
    rows = []
    for seed in range(3):
        joints = generated(ActionRequest("walk", "forward", None, "normal", 1, style), seed)[1]
        middle = steady(len(joints))
        speed = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=1) * FPS
        width = np.abs(joints[middle, FEET[0], 0] - joints[middle, FEET[1], 0])
        rows.append(
            {
                "speed": np.median(speed[middle]),
                "elbow": elbow_bend(joints, "left")[middle].mean(),
                "width": np.median(width),
                "lean": (joints[middle, J["head"], 2] - joints[middle, 0, 2]).mean(),
                "swing": np.ptp(joints[middle, J["left_wrist"], 2] - joints[middle, 0, 2]),
            }
        )
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def test_walking_styles_differ_as_real_walks_do():
    plain, energetic = walk_measures("plain"), walk_measures("energetic")
    tired, timid = walk_measures("tired"), walk_measures("timid")
    graceful, bouncy = walk_measures("graceful"), walk_measures("bouncy")
    assert 1.0 < plain["speed"] < 1.4 and plain["elbow"] < 40
    assert energetic["speed"] > 1.15 * plain["speed"] and energetic["elbow"] > 55  # arms pump
    assert timid["speed"] < 0.6 * plain["speed"] and timid["elbow"] > 75  # hands held in front
    assert tired["lean"] > plain["lean"] + 0.03 and tired["speed"] < plain["speed"]
    assert graceful["width"] < 0.6 * plain["width"]  # feet land near one line
    assert bouncy["swing"] > 1.2 * plain["swing"]  # big arm swings


# --- run ----------------------------------------------------------------------------------


def elbow_bend(joints: np.ndarray, side: str) -> np.ndarray:
    """Angle (deg, T) between the upper arm and the forearm (0 = straight)."""
    upper = joints[:, J[f"{side}_elbow"]] - joints[:, J[f"{side}_shoulder"]]
    fore = joints[:, J[f"{side}_wrist"]] - joints[:, J[f"{side}_elbow"]]
    cos = (
        np.einsum("ti,ti->t", upper, fore)
        / np.linalg.norm(upper, axis=1)
        / np.linalg.norm(fore, axis=1)
    )
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


@pytest.mark.parametrize("variant", ["forward", "jog"])
def test_run_has_flights_bent_elbows_and_beats_a_walk(variant):
    result, joints = generated(ActionRequest("run", variant, None, "normal"))
    motion = result.motion
    flights = stretches(motion.airborne)
    assert len(flights) >= 4 and contacts_alternate(motion.planted)
    for start, stop in flights:  # a flight separates two stances on different feet
        before = [f for f, foot in enumerate(FEET) if motion.planted[start - 1, foot]]
        after = [f for f, foot in enumerate(FEET) if motion.planted[stop, foot]]
        assert before and after and before != after
    middle = steady(len(joints))
    speed = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=1) * FPS
    assert np.median(speed[middle]) > 1.9
    assert elbow_bend(joints, "left")[middle].mean() > 60
    assert elbow_bend(joints, "right")[middle].mean() > 60
    knee = joints[:, J["left_knee"], 1] - joints[:, J["left_hip"], 1]
    assert knee[middle].max() > -0.3  # the knee comes up well above its standing height (-0.39)
    lean = joints[middle, J["neck"], 2] - joints[middle, 0, 2]
    assert lean.mean() > 0.025  # the trunk leans forward (standing: -0.03)


def test_run_forward_is_faster_and_higher_than_a_jog():
    run_joints = generated(ActionRequest("run", "forward", None, "normal"))[1]
    jog_joints = generated(ActionRequest("run", "jog", None, "normal"))[1]
    speeds, lifts = [], []
    for joints in (run_joints, jog_joints):
        middle = steady(len(joints))
        speeds.append(np.median(np.linalg.norm(np.diff(joints[middle, 0, [0, 2]], axis=0), axis=1)))
        lifts.append(joints[middle][:, FEET, 1].max())
    assert speeds[0] > speeds[1] * 1.15 and lifts[0] > lifts[1]


@pytest.mark.parametrize(("side", "sign"), [("left", 1.0), ("right", -1.0)])
def test_run_circle_turns_toward_its_side(side, sign):
    result = generated(ActionRequest("run", "circle", side, "normal"))[0]
    yaw = result.motion.pose.yaw
    assert sign * yaw[-1] > np.radians(120) and result.facts.side == side
    assert result.motion.airborne.any()


# --- jump ---------------------------------------------------------------------------------


def jump_feet(result) -> list[int]:
    if result.facts.variant == "hop":
        return [J[f"{result.facts.side}_foot"]]
    return list(FEET)


@pytest.mark.parametrize("variant", SPEC_BY_NAME["jump"].variants)
@pytest.mark.parametrize("reps", [1, 3])
def test_each_jump_leaves_the_floor_for_a_ballistic_flight(variant, reps):
    for speed in SPEEDS:
        result, joints = generated(ActionRequest("jump", variant, None, speed, reps))
        flights = stretches(result.motion.airborne)
        assert len(flights) == reps
        for start, stop in flights:
            assert 0.3 <= (stop - start + 1) / FPS <= 0.5
            for foot in jump_feet(result):
                assert joints[start:stop, foot, 1].max() - CONTACT_HEIGHT["foot"] > 0.15


def test_jump_forward_travels_and_in_place_stays():
    joints = generated(ActionRequest("jump", "forward", None, "normal", 3))[1]
    spots = joints[0, FEET[0], 2], joints[-1, FEET[0], 2]
    assert (spots[1] - spots[0]) / 3 > 0.4
    still = generated(ActionRequest("jump", "in_place", None, "normal", 3))[1]
    assert np.abs(still[:, FEET[0], [0, 2]] - still[0, FEET[0], [0, 2]]).max() < 0.1
    flights = stretches(
        generated(ActionRequest("jump", "forward", None, "normal", 3))[0].motion.airborne
    )
    for start, stop in flights:  # momentum carries the body forward through the air
        assert joints[stop, 0, 2] - joints[start - 1, 0, 2] > 0.3


@pytest.mark.parametrize("side", ["left", "right"])
def test_hop_is_on_the_named_leg_with_the_other_foot_held_behind(side):
    result, joints = generated(ActionRequest("jump", "hop", side, "normal", 3))
    other = "right" if side == "left" else "left"
    hop, free = J[f"{side}_foot"], J[f"{other}_foot"]
    flights = stretches(result.motion.airborne)
    during = slice(flights[0][0] - 3, flights[-1][1] + 3)
    assert result.facts.side == side
    assert not result.motion.planted[during, free].any()
    assert result.motion.planted[during, hop].any()
    assert joints[during, free, 1].min() > 0.2  # the free foot stays up...
    assert (joints[during, free, 2] < joints[during, 0, 2]).all()  # ...behind the body
    chosen = generated(ActionRequest("jump", "hop", None, "normal", 2))[0].facts.side
    assert chosen in ("left", "right")


def test_jumping_jacks_spread_in_the_air_and_close_on_landing():
    result, joints = generated(ActionRequest("jump", "jumping_jacks", None, "normal", 3))
    width = joints[:, FEET[0], 0] - joints[:, FEET[1], 0]
    head = joints[:, J["head"], 1]
    for start, stop in stretches(result.motion.airborne):
        apex = (start + stop) // 2
        assert width[apex] > width[stop] + 0.25  # legs apart in the air, together on landing
        for wrist in ("left_wrist", "right_wrist"):
            assert joints[apex, J[wrist], 1] > head[apex]  # arms overhead
            assert joints[stop + 3, J[wrist], 1] < head[stop + 3] - 0.15  # coming down
    in_place = generated(ActionRequest("jump", "in_place", None, "normal", 3))[1]
    assert (in_place[:, FEET[0], 0] - in_place[:, FEET[1], 0]).max() < 0.25


# --- spin, dance, climb -------------------------------------------------------------------


@pytest.mark.parametrize(("side", "sign"), [("left", 1.0), ("right", -1.0)])
@pytest.mark.parametrize("reps", [1, 2])
def test_spin_turns_a_full_circle_per_rep_in_place(side, sign, reps):
    for speed in SPEEDS:
        result, joints = generated(ActionRequest("spin", "in_place", side, speed, reps))
        yaw = result.motion.pose.yaw
        assert abs(sign * yaw[-1] / reps - 2 * np.pi) < np.radians(30)
        assert (sign * np.diff(yaw) > -1e-9).all()
        assert np.abs(joints[:, 0, [0, 2]] - joints[0, 0, [0, 2]]).max() < 0.3
        pivot, free = FEET if side == "left" else FEET[::-1]  # turning left on the left ball
        assert result.motion.planted[:, pivot].all()
        assert len(stretches(~result.motion.planted[:, free])) >= 3 * reps  # paddling steps
        assert result.facts.side == side


def dips(values: np.ndarray) -> np.ndarray:
    """Frames of the local minima of a curve (T,)."""
    return 1 + np.flatnonzero((values[1:-1] < values[:-2]) & (values[1:-1] <= values[2:]))


@pytest.mark.parametrize("variant", SPEC_BY_NAME["dance"].variants)
def test_dance_is_rhythmic_and_stays_on_the_spot(variant):
    result, joints = generated(ActionRequest("dance", variant, None, "normal"))
    frames = len(joints)
    drift = np.linalg.norm(joints[:, 0, [0, 2]] - joints[0, 0, [0, 2]], axis=1)
    assert drift.max() < 0.5  # not a walk
    height = joints[:, 0, 1]
    if variant == "twist":
        hips = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
        hip_yaw = np.arctan2(-hips[:, 2], hips[:, 0])
        chest = joints[:, J["left_shoulder"]] - joints[:, J["right_shoulder"]]
        chest_yaw = np.arctan2(-chest[:, 2], chest[:, 0])
        assert np.degrees(np.ptp(hip_yaw)) > 30 and np.corrcoef(hip_yaw, chest_yaw)[0, 1] < -0.5
        assert 0.7 < np.median(np.diff(dips(hip_yaw))) / FPS < 1.3  # a swivel each way a second
        assert result.motion.planted[:, list(FEET)].all()  # swivels on planted feet
        assert height.max() - height[frames // 2] > 0.08  # knees bent
    else:
        beat = np.median(np.diff(dips(height))) / FPS
        assert 0.38 < beat < 0.65 and len(dips(height)) >= 4  # knees bounce on a ~2 Hz beat
        spread = joints[:, FEET[0], 0] - joints[:, FEET[1], 0]
        assert spread.max() > 0.35  # steps out to the side
    if variant == "disco":
        above = [
            np.flatnonzero(joints[:, J[w], 1] > joints[:, J["head"], 1])
            for w in ("left_wrist", "right_wrist")
        ]
        arm = int(np.argmax([len(a) for a in above]))
        wrist = joints[:, J[("left_wrist", "right_wrist")[arm]], 1] - joints[:, J["head"], 1]
        assert len(stretches(wrist > 0)) >= 3 and len(stretches(wrist < -0.4)) >= 3


def test_dance_variants_differ():
    groove = generated(ActionRequest("dance", "groove", None, "normal"))[0].motion
    twist = generated(ActionRequest("dance", "twist", None, "normal"))[0].motion
    assert not groove.planted[:, list(FEET)].all() and twist.planted[:, list(FEET)].all()
    assert np.abs(twist.pose.local[:, 0, 2]).max() > 2 * np.abs(groove.pose.local[:, 0, 2]).max()


def test_climb_lifts_knees_high_with_the_opposite_hand_overhead():
    result, joints = generated(ActionRequest("climb", "ladder", None, "normal"))
    motion = result.motion
    assert contacts_alternate(motion.planted)
    top = joints[:, J["head"], 1]
    lifts = 0
    for side, other in (("left", "right"), ("right", "left")):
        knee = joints[:, J[f"{side}_knee"], 1] - joints[:, J[f"{side}_hip"], 1]
        for start, stop in stretches(~motion.planted[:, J[f"{side}_foot"]]):
            peak = start + np.argmax(knee[start:stop])
            assert knee[peak] > -0.15  # thigh near horizontal
            assert joints[peak, J[f"{other}_wrist"], 1] > top[peak] + 0.2  # opposite hand up
            lifts += 1
    assert lifts >= 3
    assert np.abs(joints[:, 0, [0, 2]] - joints[0, 0, [0, 2]]).max() < 0.15  # in place


def test_sideless_concepts_report_no_side():
    for request in (
        ActionRequest("run", "forward", "left"),
        ActionRequest("jump", "in_place", "right", reps=2),
        ActionRequest("dance", "groove"),
        ActionRequest("climb", "ladder"),
    ):
        facts = generated(request)[0].facts
        assert facts.side is None and facts == dataclasses.replace(facts, side=None)
