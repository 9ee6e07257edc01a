"""Clip composition: segment sampling, posture rules, idle/blend padding, length bounds."""

import itertools

import numpy as np
import pytest

from esd.corpus import compose, rig
from esd.corpus.catalog import SPEC_BY_NAME
from esd.corpus.physics import BodyMotion
from esd.corpus.stats import clip_stats
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.features import joints_to_features
from esd.motion.skeleton import MAX_FRAMES, MIN_FRAMES


def test_posture_rules():
    assert compose.can_follow("sit_down", "stand_up")
    assert not compose.can_follow("sit_down", "walk")  # still seated: only stand_up fits
    assert not compose.can_follow("walk", "stand_up")  # standing: cannot stand up
    assert compose.can_follow("walk", "kick") and compose.can_follow("kick", "sit_down")
    assert not compose.can_follow("kick", "kick")


def test_requests_are_valid_deterministic_and_composed_at_the_stated_share():
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [compose.sample_requests(CONCEPT_NAMES[i % 25], rng) for i in range(600)]

    first = draw(5)
    assert first == draw(5)
    for requests in first:
        for r in requests:
            spec = SPEC_BY_NAME[r.concept]
            assert r.variant in spec.variants and r.side in spec.sides
            assert 1 <= r.reps <= spec.max_reps
        if len(requests) == 2:
            assert compose.can_follow(requests[0].concept, requests[1].concept)
    composed = np.mean([len(r) == 2 for r in first])
    assert abs(composed - compose.COMPOSE_SHARE) < 0.07
    assert {r[0].concept for r in first} == set(CONCEPT_NAMES)


@pytest.mark.parametrize("concepts", [("kick",), ("walk", "kick"), ("sit_down", "stand_up")])
def test_composed_clip_is_bounded_grounded_and_labelled(concepts):
    rng = np.random.default_rng(4)  # a draw whose two segments fit MAX_FRAMES
    requests = tuple(compose.sample_request(c, rng) for c in concepts)
    clip = compose.compose_clip(requests, rng)
    frames = clip.joints.shape[0]
    assert MIN_FRAMES <= frames <= MAX_FRAMES and clip.joints.shape[1:] == (22, 3)
    assert [f.concept for f in clip.facts] == list(concepts)
    ends = [(f.start, f.end) for f in clip.facts]
    assert ends[0][0] > 0 and ends[-1][1] < frames  # idle before and after
    assert all(s < e for s, e in ends) and all(a[1] <= b[0] for a, b in itertools.pairwise(ends))
    stats = clip_stats(clip.joints, clip.motion, joints_to_features(clip.joints))
    assert stats.min_height_m >= 0.0 and stats.hinge_violations == 0
    assert stats.planted_skate_max_mm < 10.0


def test_same_seed_same_clip():
    def make(seed):
        rng = np.random.default_rng(seed)
        return compose.compose_clip(compose.sample_requests("punch", rng, 1.0), rng).joints

    np.testing.assert_array_equal(make(1), make(1))
    assert make(1).shape != make(2).shape or not np.allclose(make(1), make(2))


def standing_for(frames):
    return BodyMotion.standing(rig.Pose.rest(frames))


def test_too_long_composition_falls_back_to_its_first_segment(monkeypatch):
    long = {"kick": 150, "punch": 120}

    def fake_generate(request, rng):
        from esd.corpus.actions.base import ActionResult, facts_of

        return ActionResult(standing_for(long[request.concept]), facts_of(request))

    monkeypatch.setattr(compose, "generate_action", fake_generate)
    rng = np.random.default_rng(0)
    requests = (compose.sample_request("kick", rng), compose.sample_request("punch", rng))
    clip = compose.compose_clip(requests, rng)
    assert [f.concept for f in clip.facts] == ["kick"]
    assert clip.joints.shape[0] <= MAX_FRAMES
    main = compose.compose_clip(requests, rng, main="punch")  # keeps the clip's main concept
    assert [f.concept for f in main.facts] == ["punch"]


def test_short_segments_get_idle_up_to_the_minimum_length(monkeypatch):
    def fake_generate(request, rng):
        from esd.corpus.actions.base import ActionResult, facts_of

        return ActionResult(standing_for(10), facts_of(request))

    monkeypatch.setattr(compose, "generate_action", fake_generate)
    rng = np.random.default_rng(0)
    clip = compose.compose_clip((compose.sample_request("wave", rng),), rng)
    assert clip.joints.shape[0] >= MIN_FRAMES


def test_slerp_and_warp_keep_their_ends():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 22, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    ends = compose.slerp(q[0], q[1], np.array([0.0, 1.0]))
    np.testing.assert_allclose(np.abs((ends[0] * q[0]).sum(-1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs((ends[1] * q[1]).sum(-1)), 1.0, atol=1e-9)
    motion = standing_for(30)
    motion.pose.local[:] = q[0]
    same = compose.warp_motion(motion, np.arange(30, dtype=float))
    np.testing.assert_allclose(same.pose.local, motion.pose.local, atol=1e-12)
    np.testing.assert_array_equal(same.planted, motion.planted)
