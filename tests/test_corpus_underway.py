"""Gait clips that start or end in motion: crop windows, and a cropped clip keeps its physics."""

import numpy as np
import pytest

from esd.corpus import compose
from esd.corpus.actions import ActionRequest, generate_action
from esd.corpus.stats import clip_stats
from esd.corpus.underway import crop_window
from esd.motion.features import joints_to_features
from esd.motion.skeleton import FPS, MIN_FRAMES


def test_crop_windows_cut_inside_the_ramps_and_keep_the_minimum_length():
    rng = np.random.default_rng(0)
    windows = [crop_window(160, (50, 120), rng) for _ in range(200)]
    assert all(w is not None and w[1] - w[0] > MIN_FRAMES for w in windows)
    begins = {w[0] for w in windows}
    ends = {w[1] for w in windows}
    assert 0 in begins and any(40 <= b <= 50 for b in begins)  # kept whole, or cut near 50
    assert 160 in ends and any(120 <= e <= 130 for e in ends)
    assert all(b <= 50 and e >= 120 for b, e in windows)  # the steady part is always kept
    short = [crop_window(160, (70, 80), rng) for _ in range(50)]  # widened into the ramps
    assert all(w[1] - w[0] > MIN_FRAMES and w[0] <= 70 and w[1] >= 80 for w in short)
    assert crop_window(30, (5, 25), rng) is None  # a clip below MIN_FRAMES stays whole


@pytest.mark.parametrize("concept", ["walk", "run"])
def test_gaits_report_a_steady_window_at_full_speed(concept):
    spec_variant = "forward"
    result = generate_action(ActionRequest(concept, spec_variant), np.random.default_rng(1))
    begin, end = result.steady
    assert 0 < begin < end <= result.motion.pose.frames
    assert (
        generate_action(ActionRequest("kick", "front", "left"), np.random.default_rng(1)).steady
        is None
    )


@pytest.mark.parametrize("concept", ["walk", "run"])
def test_some_gait_clips_start_or_end_in_motion_and_keep_the_physics(concept):
    moving_ends, clips = 0, 0
    for seed in range(24):
        rng = np.random.default_rng(seed)
        request = compose.sample_request(concept, rng)
        clip = compose.compose_clip((request,), rng)
        speed = np.linalg.norm(np.diff(clip.joints[:, 0, [0, 2]], axis=0), axis=1) * FPS
        moving_ends += speed[:3].mean() > 0.5 or speed[-3:].mean() > 0.5
        clips += 1
        facts = clip.facts[0]
        assert 0 <= facts.start < facts.end <= len(clip.joints)
        assert len(clip.joints) > MIN_FRAMES and clip.motion.pose.frames == len(clip.joints)
        stats = clip_stats(clip.joints, clip.motion, joints_to_features(clip.joints))
        assert stats.min_height_m >= 0.0 and stats.planted_skate_max_mm < 10.0
    assert 0.3 * clips < moving_ends < clips  # many, not all
