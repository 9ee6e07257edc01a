"""Upper-body actions: the generator contract on every request, and each concept's signature.

Every clip of the request grid (variant x side x speed x reps 1 / max x two seeds) is generated
and grounded once per module; the contract tests walk the whole grid, the signature tests pick
clips from it. Positions are world positions after ``physics.ground``; all these actions keep the
heading at 0, so x is the body's left and z its front.
"""

import functools
import itertools

import numpy as np
import pytest
from scipy.signal import find_peaks

from esd.corpus.actions import ActionRequest, generate_action
from esd.corpus.catalog import SPEC_BY_NAME
from esd.corpus.physics import ground
from esd.motion.skeleton import FPS, JOINT_INDEX

J = JOINT_INDEX
CONCEPTS = (
    "punch",
    "wave",
    "raise_arms",
    "clap",
    "throw",
    "push",
    "arm_circles",
    "swing",
    "swim",
)
SPEEDS = ("slow", "normal", "fast")
SEEDS = (0, 1)
FEET = [J["left_foot"], J["right_foot"]]


@functools.cache
def clip(concept, variant, side=None, speed="normal", reps=1, seed=0, style="plain"):
    """(result, grounded joints (T, 22, 3)) of one request."""
    result = generate_action(
        ActionRequest(concept, variant, side, speed, reps, style), np.random.default_rng(seed)
    )
    return result, ground(result.motion)


def grid(concept):
    spec = SPEC_BY_NAME[concept]
    reps = sorted({1, spec.max_reps})
    return list(itertools.product(spec.variants, spec.sides, SPEEDS, reps, SEEDS))


def rotation_degrees(quats):
    """Angle (degrees) of each unit quaternion (..., 4) (q and -q are the same rotation)."""
    return np.degrees(2 * np.arccos(np.clip(np.abs(quats[..., 0]), 0.0, 1.0)))


def distance_to_segment(points, start, end):
    """Distance (T,) of points (T, 3) to the segments start (T, 3) -> end (T, 3)."""
    along = end - start
    u = np.clip(((points - start) * along).sum(-1) / (along * along).sum(-1), 0.0, 1.0)
    return np.linalg.norm(points - (start + u[:, None] * along), axis=1)


def joint(joints, name):
    return joints[:, J[name]]


def ahead(joints, part, of):
    """How far ``part`` is in front of ``of`` (T,) (z: the heading stays 0 here)."""
    return joint(joints, part)[:, 2] - joint(joints, of)[:, 2]


def count_peaks(signal, threshold):
    """Number of separate stretches where ``signal`` (T,) exceeds ``threshold``."""
    above = np.concatenate([[False], signal > threshold, [False]])
    return int(np.sum(above[1:] & ~above[:-1]))


def feet_still(joints):
    """Largest horizontal travel (m) of either foot over the clip."""
    feet = joints[:, FEET][..., [0, 2]]
    return float(np.linalg.norm(feet - feet[0], axis=-1).max())


# --- the contract, on every request --------------------------------------------------------------


def check_contract(result, joints, request):
    motion = result.motion
    frames = motion.pose.frames
    assert 1.0 <= frames / FPS <= 8.5, request
    assert result.facts.concept == request[0] and result.facts.reps == request[4]
    assert result.facts.variant == request[1] and result.facts.side == request[2]
    assert rotation_degrees(motion.pose.local[[0, -1]]).max() < 2.0, request
    assert motion.pose.yaw[0] == 0.0 and np.abs(motion.pose.yaw).max() == 0.0, request
    assert motion.planted[[0, -1]][:, FEET].all(), request
    assert not motion.airborne.any(), request
    assert joints[..., 1].min() >= 0.0, request
    for foot in FEET:
        planted = motion.planted[1:, foot] & motion.planted[:-1, foot]
        slide = np.linalg.norm(np.diff(joints[:, foot][:, [0, 2]], axis=0), axis=1)
        assert slide[planted].max(initial=0.0) < 0.005, request
    assert np.linalg.norm(np.diff(joints, axis=0), axis=2).max() <= 0.5, request
    accel = np.linalg.norm(np.diff(joints, 2, axis=0), axis=2)  # (T-2, 22)
    assert accel.max() <= 0.25, (request, accel.max())
    assert accel[:, 0].max() <= 0.08, request
    assert np.all(np.isfinite(joints))


def check_body_clearance(joints, request):
    """Wrists and elbows stay out of the torso (around the pelvis -> neck line)."""
    pelvis, neck = joint(joints, "pelvis"), joint(joints, "neck")
    for part, clearance in (("wrist", 0.15), ("elbow", 0.12)):
        for side in ("left", "right"):
            gap = distance_to_segment(joint(joints, f"{side}_{part}"), pelvis, neck)
            assert gap.min() > clearance, (request, part, side, gap.min())


@pytest.mark.parametrize("concept", CONCEPTS)
def test_every_request_keeps_the_contract(concept):
    for request in grid(concept):
        result, joints = clip(concept, *request)
        full = (concept, *request[:-1])
        check_contract(result, joints, full)
        check_body_clearance(joints, full)


@pytest.mark.parametrize("concept", [c for c in CONCEPTS if len(SPEC_BY_NAME[c].styles) > 1])
def test_every_styled_request_keeps_the_contract(concept):
    for style in SPEC_BY_NAME[concept].styles[1:]:
        for variant, side, speed, reps, seed in grid(concept):
            result, joints = clip(concept, variant, side, speed, reps, seed, style)
            full = (concept, variant, side, speed, reps)
            check_contract(result, joints, full)
            check_body_clearance(joints, full)
            assert result.facts.style == style


@pytest.mark.parametrize("concept", CONCEPTS)
def test_generation_is_deterministic_and_varies(concept):
    variant, side = SPEC_BY_NAME[concept].variants[0], SPEC_BY_NAME[concept].sides[0]
    request = ActionRequest(concept, variant, side)
    first = generate_action(request, np.random.default_rng(7)).motion.pose.local
    again = generate_action(request, np.random.default_rng(7)).motion.pose.local
    other = generate_action(request, np.random.default_rng(8)).motion.pose.local
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.allclose(first, other, atol=1e-3)
    slow = clip(concept, variant, side, "slow")[0].motion.pose.frames
    fast = clip(concept, variant, side, "fast")[0].motion.pose.frames
    assert slow > fast


def test_the_feet_stay_put_except_in_the_overhand_throw():
    for concept in CONCEPTS:
        for request in grid(concept):
            if concept == "throw" and request[0] == "overhand":
                continue
            _, joints = clip(concept, *request)
            assert feet_still(joints) < 0.01, (concept, request)


# --- punch ---------------------------------------------------------------------------------------


def reach_forward(joints, side):
    return ahead(joints, f"{side}_wrist", f"{side}_shoulder")


def at_shoulder_height(joints, side, tolerance=0.12):
    wrist, shoulder = joint(joints, f"{side}_wrist"), joint(joints, f"{side}_shoulder")
    return np.abs(wrist[:, 1] - shoulder[:, 1]) < tolerance


@pytest.mark.parametrize("variant", ["jab", "cross"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_straight_punches_extend_the_named_arm_at_shoulder_height(variant, side):
    _, joints = clip("punch", variant, side, "normal", 4)
    other = "right" if side == "left" else "left"
    extended = (reach_forward(joints, side) > 0.45) & at_shoulder_height(joints, side)
    assert count_peaks(extended.astype(float), 0.5) == 4  # reps = punches
    assert reach_forward(joints, other).max() < 0.42  # the other fist stays in the guard
    assert feet_still(joints) < 0.01


def test_both_alternates_the_punching_arms():
    _, joints = clip("punch", "jab", "both", "normal", 4)
    for side in ("left", "right"):
        assert count_peaks(reach_forward(joints, side), 0.45) == 2


def shoulder_turn(joints):
    """Largest turn (deg) of the shoulder line about the vertical."""
    line = joint(joints, "left_shoulder") - joint(joints, "right_shoulder")
    return np.degrees(np.abs(np.arctan2(line[:, 2], line[:, 0]))).max()


def test_a_cross_turns_the_trunk_more_than_a_jab():
    for seed in SEEDS:
        jab = shoulder_turn(clip("punch", "jab", "right", seed=seed)[1])
        cross = shoulder_turn(clip("punch", "cross", "right", seed=seed)[1])
        assert cross > jab + 12


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_hook_sweeps_the_fist_across_at_shoulder_height(side):
    _, joints = clip("punch", "hook", side, "normal", 1)
    s = 1 if side == "left" else -1
    wrist, elbow = joint(joints, f"{side}_wrist"), joint(joints, f"{side}_elbow")
    shoulder = joint(joints, f"{side}_shoulder")
    high = (np.abs(elbow[:, 1] - shoulder[:, 1]) < 0.1) & at_shoulder_height(joints, side)
    assert high.sum() >= 3  # elbow up, bent, fist level with the shoulder
    sweep = s * (wrist[high, 0] - joint(joints, "spine3")[high, 0])
    assert sweep.min() < 0.05  # the fist reaches the midline ...
    assert sweep.max() - sweep.min() > 0.2  # ... from out at the side
    assert reach_forward(joints, side).max() < 0.45  # not a straight punch


@pytest.mark.parametrize("side", ["left", "right"])
def test_an_uppercut_drives_the_fist_up_from_below_the_chest(side):
    _, joints = clip("punch", "uppercut", side, "normal", 1)
    wrist = joint(joints, f"{side}_wrist")
    guard = np.flatnonzero(wrist[:, 1] > joint(joints, f"{side}_shoulder")[:, 1])
    low = guard[0] + np.argmin(wrist[guard[0] : guard[-1], 1])  # the fist drops ...
    assert wrist[low, 1] < joint(joints, "spine3")[low, 1] + 0.05  # ... below the chest
    top = low + np.argmax(wrist[low : guard[-1], 1])
    assert wrist[top, 1] - wrist[low, 1] > 0.25  # and drives up ...
    assert wrist[top, 1] > joint(joints, f"{side}_shoulder")[top, 1]  # ... to the chin
    assert reach_forward(joints, side)[top] > 0.15  # in front, not at the side


def test_a_combo_punches_with_both_hands():
    _, joints = clip("punch", "combo", "left", "normal", 1)
    assert reach_forward(joints, "left").max() > 0.45
    assert reach_forward(joints, "right").max() > 0.45
    guard = (joint(joints, "left_wrist")[:, 1] > joint(joints, "left_shoulder")[:, 1]) & (
        joint(joints, "right_wrist")[:, 1] > joint(joints, "right_shoulder")[:, 1]
    )
    assert guard.mean() > 0.3  # fists up in the guard between punches


# --- wave ----------------------------------------------------------------------------------------


def waving(joints, side):
    """Frames where the wrist is above the head."""
    return joint(joints, f"{side}_wrist")[:, 1] > joint(joints, "head")[:, 1]


def sideways_swings(joints, side):
    """Side-to-side swings of the hand about the elbow while it is up, and their extent (m)."""
    s = 1 if side == "left" else -1
    lateral = s * (joint(joints, f"{side}_wrist")[:, 0] - joint(joints, f"{side}_elbow")[:, 0])
    up = lateral[waving(joints, side)]
    peaks, _ = find_peaks(up, prominence=0.08)
    return len(peaks), up.max() - up.min()


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("reps", [1, 5])
def test_a_wave_raises_the_named_hand_and_swings_it_sideways(side, reps):
    _, joints = clip("wave", "one_hand", side, "normal", reps)
    other = "right" if side == "left" else "left"
    assert waving(joints, side).sum() / FPS > 0.8
    assert not waving(joints, other).any()
    swings, extent = sideways_swings(joints, side)
    assert swings == reps + 2 and extent > 0.15


def test_both_hands_wave_together_and_one_hand_both_takes_turns():
    _, joints = clip("wave", "both_hands", "both", "normal", 3)
    together = waving(joints, "left") & waving(joints, "right")
    assert together.sum() / FPS > 1.5
    _, joints = clip("wave", "one_hand", "both", "normal", 3)
    assert waving(joints, "left").any() and waving(joints, "right").any()
    together = waving(joints, "left") & waving(joints, "right")
    assert together.sum() < 0.25 * waving(joints, "left").sum()


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_big_wave_sways_the_whole_arm_high_above_the_head(side):
    _, joints = clip("wave", "one_hand", side, "normal", 2, style="big")
    other = "right" if side == "left" else "left"
    height = joint(joints, f"{side}_wrist")[:, 1] - joint(joints, "head")[:, 1]
    assert height.max() > 0.2 and (height > 0.1).sum() / FPS > 2.0
    assert not waving(joints, other).any()
    s = 1 if side == "left" else -1  # the wrist sways sideways relative to the shoulder
    lateral = s * (joint(joints, f"{side}_wrist")[:, 0] - joint(joints, f"{side}_shoulder")[:, 0])
    peaks, _ = find_peaks(lateral[height > 0.1], prominence=0.08)
    assert len(peaks) >= 2 * 2 + 1  # 2 reps + 2 cycles, the first may start inside the ramp


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_small_wave_stays_below_the_head_and_swings_the_forearm(side):
    _, joints = clip("wave", "one_hand", side, "normal", 2, style="small")
    wrist, shoulder = joint(joints, f"{side}_wrist"), joint(joints, f"{side}_shoulder")
    assert not waving(joints, "left").any() and not waving(joints, "right").any()
    raised = wrist[:, 1] > shoulder[:, 1] - 0.12  # the hand up near shoulder height
    assert raised.sum() / FPS > 1.5
    s = 1 if side == "left" else -1
    lateral = s * (wrist[:, 0] - shoulder[:, 0])
    peaks, _ = find_peaks(lateral[raised], prominence=0.06)
    assert len(peaks) >= 2 * 2 + 1


def test_wave_styles_are_drawn_and_refused_when_unknown():
    assert SPEC_BY_NAME["wave"].styles == ("plain", "big", "small")
    with pytest.raises(ValueError, match="style"):
        generate_action(
            ActionRequest("wave", "one_hand", "left", style="energetic"), np.random.default_rng(0)
        )


# --- raise_arms ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["overhead", "hand_up"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_one_hand_raise_lifts_one_wrist_above_the_head_and_leaves_the_other_low(variant, side):
    for seed in SEEDS:
        result, joints = clip("raise_arms", variant, side, seed=seed)
        other = "right" if side == "left" else "left"
        head = joint(joints, "head")[:, 1]
        raised = joint(joints, f"{side}_wrist")[:, 1] - head
        assert raised.max() > (0.2 if variant == "overhead" else 0.07), (variant, side, seed)
        low = joint(joints, f"{other}_wrist")[:, 1] - joint(joints, "pelvis")[:, 1]
        assert low.max() < 0.05  # the other hand hangs by the hip
        assert result.facts.side == side


def test_raise_shapes_differ_in_elbow_and_height():
    for seed in SEEDS:
        straight = clip("raise_arms", "overhead", "right", seed=seed)[1]
        question = clip("raise_arms", "hand_up", "right", seed=seed)[1]
        shoulder = clip("raise_arms", "shoulder", "right", seed=seed)[1]
        top = [int(np.argmax(j[:, J["right_wrist"], 1])) for j in (straight, question, shoulder)]
        bends = [elbow_angle(j, "right")[t] for j, t in zip((straight, question, shoulder), top)]
        assert bends[0] < 52 < 53 < bends[1] < 100 < 120 < bends[2]  # straight-ish, bent, folded
        heights = [
            j[t, J["right_wrist"], 1] - j[t, J["head"], 1]
            for j, t in zip((straight, question, shoulder), top)
        ]
        assert heights[0] > heights[1] > 0.0 > heights[2] > -0.3  # shoulder: below the chin


def test_raises_hold_the_arm_up():
    holds = []
    for seed in range(6):
        _, joints = clip("raise_arms", "overhead", "both", "normal", 1, seed)
        up = joint(joints, "left_wrist")[:, 1] > joint(joints, "head")[:, 1] + 0.15
        holds.append(up.sum() / FPS)
    assert min(holds) > 0.3 and max(holds) > 1.2  # from brief holds to long ones, as real raises


def test_a_held_raise_drifts_a_little_but_never_swings_like_a_wave():
    """Held arms are not frozen (real ones drift), yet a raise's hand never swings side to side
    as a wave's does (``sideways_swings`` finds a wave's reps + 2 swings; a raise has none)."""
    moving = 0
    for variant, seed in itertools.product(("overhead", "hand_up"), range(8)):
        _, joints = clip("raise_arms", variant, "right", "normal", 1, seed)
        assert sideways_swings(joints, "right")[0] == 0, (variant, seed)
        held = waving(joints, "right")[1:]
        rel = joint(joints, "right_wrist") - joint(joints, "right_shoulder")
        speed = np.linalg.norm(np.diff(rel, axis=0), axis=1) * FPS  # m/s
        moving += np.median(speed[held]) > 0.02
    assert moving >= 12  # most held arms drift


def elbow_angle(joints, side):
    """Elbow flexion (deg, T): 0 = straight."""
    upper = joint(joints, f"{side}_elbow") - joint(joints, f"{side}_shoulder")
    fore = joint(joints, f"{side}_wrist") - joint(joints, f"{side}_elbow")
    cos = (upper * fore).sum(-1) / np.linalg.norm(upper, axis=1) / np.linalg.norm(fore, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_raise_arms_variants_reach_their_own_positions():
    for seed in SEEDS:
        over = clip("raise_arms", "overhead", "both", seed=seed)[1]
        forward = clip("raise_arms", "forward", "both", seed=seed)[1]
        sideways = clip("raise_arms", "sideways", "both", seed=seed)[1]
        for side in ("left", "right"):
            s = 1 if side == "left" else -1
            height = joint(over, f"{side}_wrist")[:, 1] - joint(over, "head")[:, 1]
            assert height.max() > 0.2
            assert reach_forward(forward, side).max() > 0.45
            assert at_shoulder_height(forward, side)[reach_forward(forward, side).argmax()]
            wrist, shoulder = joint(sideways, f"{side}_wrist"), joint(sideways, f"{side}_shoulder")
            out = s * (wrist[:, 0] - shoulder[:, 0])
            assert out.max() > 0.45 and at_shoulder_height(sideways, side)[out.argmax()]
            assert np.abs(reach_forward(sideways, side)).max() < 0.2
            for other in (forward, sideways):  # only the overhead raise goes above the head
                assert (joint(other, f"{side}_wrist")[:, 1] < joint(other, "head")[:, 1]).all()


@pytest.mark.parametrize("reps", [1, 3])
def test_raise_arms_repeats(reps):
    _, joints = clip("raise_arms", "overhead", "both", "normal", reps)
    assert count_peaks(joint(joints, "left_wrist")[:, 1] - joint(joints, "head")[:, 1], 0.1) == reps


# --- clap ----------------------------------------------------------------------------------------


def hand_gap(joints):
    return np.linalg.norm(joint(joints, "left_wrist") - joint(joints, "right_wrist"), axis=1)


@pytest.mark.parametrize("variant", ["in_front", "overhead"])
@pytest.mark.parametrize("reps", [1, 8])
def test_claps_meet_without_crossing(variant, reps):
    for speed in SPEEDS:
        _, joints = clip("clap", variant, None, speed, reps)
        gap = hand_gap(joints)
        assert count_peaks(-gap, -0.07) == reps  # one contact per clap
        assert gap.min() > 0.045  # the palms stop at contact
        crossing = joint(joints, "left_wrist")[:, 0] - joint(joints, "right_wrist")[:, 0]
        assert crossing.min() > 0.04  # the left hand stays on the left


def test_clap_heights():
    front = clip("clap", "in_front", None, "normal", 3)[1]
    contact = hand_gap(front).argmin()
    wrist = joint(front, "left_wrist")[contact]
    chest, neck = joint(front, "spine3")[contact], joint(front, "neck")[contact]
    assert chest[1] - 0.05 < wrist[1] < neck[1] and wrist[2] > chest[2] + 0.2
    over = clip("clap", "overhead", None, "normal", 3)[1]
    contact = hand_gap(over).argmin()
    assert joint(over, "left_wrist")[contact, 1] > joint(over, "head")[contact, 1] + 0.2


# --- throw ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["left", "right"])
def test_an_overhand_throw_cocks_behind_the_head_and_strides(side):
    result, joints = clip("throw", "overhand", side, "normal", 1)
    other = "right" if side == "left" else "left"
    wrist, shoulder = joint(joints, f"{side}_wrist"), joint(joints, f"{side}_shoulder")
    cocked = (wrist[:, 1] > joint(joints, "head")[:, 1]) & (wrist[:, 2] < shoulder[:, 2])
    assert cocked.any()  # the hand behind the head ...
    later = np.argmax(cocked)
    assert (wrist[later:, 2] - shoulder[later:, 2]).max() > 0.3  # ... then whipped forward
    lead = joint(joints, f"{other}_foot")
    planted = result.motion.planted[:, J[f"{other}_foot"]]
    assert not planted.all() and result.motion.planted[:, J[f"{side}_foot"]].any()
    first_landing = np.argmax(~planted) + np.argmax(planted[np.argmax(~planted) :])
    stride = lead[first_landing, 2] - lead[0, 2]
    assert stride > 0.3  # the opposite foot steps forward
    assert lead[first_landing, 2] - joint(joints, f"{side}_foot")[first_landing, 2] > 0.3
    assert abs(joints[-1, FEET[0], 2] - joints[-1, FEET[1], 2]) < 0.03  # feet together again


@pytest.mark.parametrize("side", ["left", "right"])
def test_an_underhand_throw_swings_back_low_then_forward_up(side):
    _, joints = clip("throw", "underhand", side, "normal", 1)
    other = "right" if side == "left" else "left"
    wrist, pelvis = joint(joints, f"{side}_wrist"), joint(joints, "pelvis")
    back = np.argmin(wrist[:, 2] - pelvis[:, 2])
    assert wrist[back, 2] < pelvis[back, 2] - 0.2 and wrist[back, 1] < pelvis[back, 1] + 0.25
    later = wrist[back:]
    assert (later[:, 2] - pelvis[back:, 2]).max() > 0.35
    assert (later[:, 1] - joint(joints, f"{side}_shoulder")[back:, 1]).max() > -0.1
    assert (joint(joints, f"{other}_wrist")[:, 2] - pelvis[:, 2]).min() > -0.1
    assert feet_still(joints) < 0.01  # no stride, unlike the overhand throw


# --- push ----------------------------------------------------------------------------------------


def pushed(joints, side):
    """Frames where the hand is far in front of the chest at chest height."""
    wrist, chest = joint(joints, f"{side}_wrist"), joint(joints, "spine3")
    height = (wrist[:, 1] > chest[:, 1] - 0.1) & (wrist[:, 1] < joint(joints, "neck")[:, 1])
    return (wrist[:, 2] - chest[:, 2] > 0.45) & height


def trunk_pitch(joints):
    """Forward pitch (deg) of the pelvis -> neck line."""
    spine = joint(joints, "neck") - joint(joints, "pelvis")
    return np.degrees(np.arctan2(spine[:, 2], spine[:, 1]))


@pytest.mark.parametrize("reps", [1, 3])
def test_a_two_handed_push_extends_both_arms_with_a_lean(reps):
    for side in ("both", "left", "right"):
        _, joints = clip("push", "two_hands", side, "normal", reps)
        both = pushed(joints, "left") & pushed(joints, "right")
        assert count_peaks(both.astype(float), 0.5) == reps
        assert both.sum() / FPS > 0.2 * reps  # held
        assert trunk_pitch(joints)[both].max() > trunk_pitch(joints)[0] + 8
        assert joint(joints, "pelvis")[:, 2].max() > 0.03  # the body leans in


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_one_handed_push_uses_the_named_hand(side):
    other = "right" if side == "left" else "left"
    _, joints = clip("push", "one_hand", side, "normal", 3)
    assert count_peaks(pushed(joints, side).astype(float), 0.5) == 3
    assert not pushed(joints, other).any()
    _, joints = clip("push", "one_hand", "both", "normal", 3)
    assert pushed(joints, "left").any() and pushed(joints, "right").any()
    assert not (pushed(joints, "left") & pushed(joints, "right")).any()


def test_two_hands_with_a_side_leads_with_that_hand():
    for seed in SEEDS:
        _, joints = clip("push", "two_hands", "left", "normal", 1, seed)
        left, right = (ahead(joints, f"{side}_wrist", "pelvis").max() for side in ("left", "right"))
        assert left > right + 0.02


# --- arm_circles ---------------------------------------------------------------------------------


def circles(joints, side):
    """(circles, direction) drawn by the wrist while the arm is out to the side.

    The wrist swings forward and back once per circle; on forward circles it moves forward
    while it is high (over the top), on backward circles backward.
    """
    s = 1 if side == "left" else -1
    wrist, shoulder = joint(joints, f"{side}_wrist"), joint(joints, f"{side}_shoulder")
    out = s * (wrist[:, 0] - shoulder[:, 0]) > 0.4
    forward = (wrist[:, 2] - shoulder[:, 2])[out]
    height = (wrist[:, 1] - shoulder[:, 1])[out]
    peaks, _ = find_peaks(forward, prominence=0.1)
    over_the_top = np.sum((height[1:] - np.median(height)) * np.diff(forward))
    return len(peaks), np.sign(over_the_top)


@pytest.mark.parametrize("variant", ["forward", "backward"])
@pytest.mark.parametrize("reps", [1, 6])
def test_arm_circles_count_and_direction(variant, reps):
    for seed in SEEDS:
        for side in ("both", "left", "right"):
            _, joints = clip("arm_circles", variant, side, "normal", reps, seed)
            arms = ("left", "right") if side == "both" else (side,)
            for arm in ("left", "right"):
                if arm in arms:
                    count, direction = circles(joints, arm)
                    assert count == reps and direction == (1 if variant == "forward" else -1)
                else:  # the other arm hangs
                    wrist = joint(joints, f"{arm}_wrist")[:, 1]
                    assert wrist.max() < joint(joints, "spine1")[:, 1].max()


# --- swing ---------------------------------------------------------------------------------------


def gripped(joints):
    return hand_gap(joints) < 0.1


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_bat_swing_sweeps_the_joined_hands_across_at_chest_height(side):
    for reps in (1, 2):
        _, joints = clip("swing", "bat", side, "normal", reps)
        grip = 0.5 * (joint(joints, "left_wrist") + joint(joints, "right_wrist"))
        hold = gripped(joints)
        assert hold.sum() / FPS > 1.0
        lateral = grip[hold, 0] * (1 if side == "right" else -1)  # toward the lead side
        start = np.argmax(hold) + np.argmin(lateral)
        assert lateral.min() < -0.15 and lateral.max() > 0.25  # from the rear shoulder across
        pelvis = joint(joints, "pelvis")[hold]
        assert (grip[hold, 1] > pelvis[:, 1] + 0.25).all()  # never low (unlike golf)
        assert (grip[hold, 1] < joint(joints, "head")[hold, 1] + 0.05).all()
        assert grip[start, 1] > joint(joints, "spine3")[start, 1]


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_golf_swing_hinges_and_swings_low_to_high_on_both_sides(side):
    _, joints = clip("swing", "golf", side, "normal", 1)
    grip = 0.5 * (joint(joints, "left_wrist") + joint(joints, "right_wrist"))
    hold = gripped(joints)
    assert hold.sum() / FPS > 1.5
    pelvis = joint(joints, "pelvis")
    assert trunk_pitch(joints)[hold].max() > 25  # bent forward at the hips
    assert (grip[hold, 1] < pelvis[hold, 1] + 0.1).any()  # low at the address
    high = grip[:, 1] > joint(joints, "spine3")[:, 1] + 0.1
    lead = 1 if side == "right" else -1
    back = np.flatnonzero(hold & high & (lead * grip[:, 0] < -0.1))
    through = np.flatnonzero(hold & high & (lead * grip[:, 0] > 0.1))
    assert len(back) and len(through) and back[0] < through[0]  # backswing, then finish


# --- swim ----------------------------------------------------------------------------------------


def test_freestyle_windmills_the_arms_in_turn():
    for seed in SEEDS:
        _, joints = clip("swim", "freestyle", None, "normal", 1, seed)
        left, right = joint(joints, "left_wrist")[:, 1], joint(joints, "right_wrist")[:, 1]
        head = joint(joints, "head")[:, 1]
        assert count_peaks(left - head, 0.15) >= 2 and count_peaks(right - head, 0.15) >= 2
        assert not ((left > head + 0.15) & (right > head + 0.15)).any()  # never both up
        assert np.corrcoef(left, right)[0, 1] < 0.0


def test_breaststroke_sweeps_both_hands_together_out_and_back():
    for seed in SEEDS:
        _, joints = clip("swim", "breaststroke", None, "normal", 1, seed)
        left, right = joint(joints, "left_wrist"), joint(joints, "right_wrist")
        gap = hand_gap(joints)
        forward = reach_forward(joints, "left") > 0.35
        assert (forward & (gap < 0.12)).any()  # hands together in front (glide)
        assert gap.max() > 0.6  # then swept wide
        assert np.abs(left[:, 0] + right[:, 0]).max() < 0.06  # mirror-symmetric
        assert (left[:, 0] - right[:, 0]).min() > 0.03  # never crossing
        assert (left[:, 1] < joint(joints, "head")[:, 1]).all()  # not over the head


# --- sides use the named limb --------------------------------------------------------------------


@pytest.mark.parametrize(
    "concept, variant", [("throw", "underhand"), ("arm_circles", "forward"), ("wave", "one_hand")]
)
def test_a_left_request_moves_the_left_arm(concept, variant):
    for side, other in (("left", "right"), ("right", "left")):
        _, joints = clip(concept, variant, side)
        travel = {
            arm: np.linalg.norm(np.diff(joint(joints, f"{arm}_wrist"), axis=0), axis=1).sum()
            for arm in (side, other)
        }
        assert travel[side] > 2 * travel[other]
