"""Whole clips from action segments: sampling, idle padding, transitions, timing noise, grounding.

A clip is one segment (about three quarters of the clips) or two segments of different concepts
("walks forward, then kicks with the right leg"). ``compose_clip`` builds it:

    [idle hold] segment 1 [blend gap] segment 2 [idle hold]   (rotations, heading, contacts)
      -> heading continuity (segment 2 starts where segment 1 turned to) and a random start heading
      -> small smooth sway of trunk, head and (while idle) arms; mild monotone timing noise
      -> ``physics.ground`` at a random start position -> world joints (T, 22, 3)

Idle stretches hold the boundary pose of the neighbouring segment (standing, or seated after
``sit_down``), so a clip that starts seated stays seated until ``stand_up`` runs. Gaps between
segments blend the two boundary poses with minimum-jerk slerp. Clips are kept within
[MIN_FRAMES, MAX_FRAMES]: idle grows to reach the minimum, and a composition that would be too
long falls back to its first segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from esd.corpus import rig
from esd.corpus.actions import ActionRequest, generate_action
from esd.corpus.actions.base import DEG
from esd.corpus.catalog import ENDS_SEATED, SPEC_BY_NAME, SPECS, STARTS_SEATED, SegmentFacts
from esd.corpus.curves import minjerk, smooth_noise, time_warp
from esd.corpus.physics import BodyMotion, ground
from esd.corpus.underway import UNDER_WAY_CONCEPTS, UNDER_WAY_SHARE, crop_under_way
from esd.motion.skeleton import FPS, MAX_FRAMES, MIN_FRAMES

COMPOSE_SHARE = 0.33  # two-segment draws; ~1/4 of clips stay composed (too long: one segment)
IDLE_SECONDS = (0.25, 1.0)  # idle hold before the first and after the last segment
GAP_SECONDS = (0.2, 0.6)  # blend between two segments
START_RADIUS = 1.5  # m: start positions are uniform in [-r, r]^2 (canonicalised away later)
TIMING_NOISE = 0.05  # local speed varies by about +-5% (curves.time_warp)
SPEED_WEIGHTS = {"slow": 0.25, "normal": 0.5, "fast": 0.25}
# Sway amplitudes (radians) of the idle / whole-clip noise: trunk, head, arms while idle.
SWAY = {"spine": 1.5 * DEG, "neck": 4.0 * DEG, "arm": 4.0 * DEG}


@dataclass
class Clip:
    """A composed clip in the world and what happens in it."""

    joints: np.ndarray  # (T, 22, 3) float64 metres, y up, floor at 0
    motion: BodyMotion  # the grounded body: local rotations, heading, contacts (T frames)
    facts: tuple[SegmentFacts, ...]  # one per segment, with start/end frames in the clip


def sample_request(concept: str, rng: np.random.Generator) -> ActionRequest:
    """A random request for ``concept``: variant, side, speed, repetitions and (for a concept
    with several) style from the catalog."""
    spec = SPEC_BY_NAME[concept]
    speeds = tuple(SPEED_WEIGHTS)
    speed = speeds[rng.choice(len(speeds), p=list(SPEED_WEIGHTS.values()))]
    request = ActionRequest(
        concept=concept,
        variant=_draw(spec.variants, spec.variant_weights, rng),
        side=spec.sides[rng.integers(len(spec.sides))],
        speed=speed,
        reps=int(rng.integers(1, spec.max_reps + 1)),
    )
    if len(spec.styles) > 1:  # drawn only here, so the other concepts' draws stay as they were
        request = replace(request, style=_draw(spec.styles, spec.style_weights, rng))
    return request


def _draw(names: tuple[str, ...], weights: tuple[float, ...] | None, rng: np.random.Generator):
    """One of ``names``: even odds, or by ``weights`` (one random number either way)."""
    if weights is None:
        return names[rng.integers(len(names))]
    cumulative = np.cumsum(weights) / np.sum(weights)
    return names[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(names) - 1)]


def can_follow(first: str, second: str) -> bool:
    """Whether ``second`` may come right after ``first`` in one clip (posture continuity)."""
    if first == second:
        return False
    seated_after_first = first in ENDS_SEATED
    return seated_after_first == (second in STARTS_SEATED)


def sample_requests(
    primary: str, rng: np.random.Generator, compose_share: float = COMPOSE_SHARE
) -> tuple[ActionRequest, ...]:
    """The segments of a clip whose main concept is ``primary`` (one, or two in either order)."""
    requests = [sample_request(primary, rng)]
    if rng.random() >= compose_share:
        return tuple(requests)
    others = [s.name for s in SPECS]
    rng.shuffle(others)
    primary_first = bool(rng.random() < 0.5)
    for other in others:
        first, second = (primary, other) if primary_first else (other, primary)
        if can_follow(first, second):
            extra = sample_request(other, rng)
            return (requests[0], extra) if primary_first else (extra, requests[0])
    return tuple(requests)


def hold(motion: BodyMotion, frame: int, frames: int) -> BodyMotion:
    """``frames`` frames holding frame ``frame`` of ``motion`` (its pose, heading and contacts)."""
    frame = frame % motion.pose.frames  # -1: the last frame
    pose = rig.Pose(
        np.repeat(motion.pose.local[frame : frame + 1], frames, axis=0),
        np.full(frames, motion.pose.yaw[frame]),
    )
    planted = np.repeat(motion.planted[frame : frame + 1], frames, axis=0)
    return BodyMotion(pose, planted, np.zeros(frames, dtype=bool))


def slerp(q0: np.ndarray, q1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions (J, 4) at fractions s (F,) -> (F, J, 4)."""
    q1 = np.where((q0 * q1).sum(-1, keepdims=True) < 0, -q1, q1)  # shortest arc
    cos = np.clip((q0 * q1).sum(-1), -1.0, 1.0)  # (J,)
    angle = np.arccos(cos)[None]  # (1, J)
    small = angle < 1e-6
    sin = np.where(small, 1.0, np.sin(angle))
    s = s[:, None]  # (F, 1)
    w0 = np.where(small, 1.0 - s, np.sin((1.0 - s) * angle) / sin)[..., None]  # (F, J, 1)
    w1 = np.where(small, s, np.sin(s * angle) / sin)[..., None]
    out = w0 * q0[None] + w1 * q1[None]
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def blend(first: BodyMotion, second: BodyMotion, frames: int) -> BodyMotion:
    """``frames`` frames easing from the last frame of ``first`` to the first of ``second``."""
    s = minjerk((np.arange(frames) + 1) / (frames + 1))  # (F,), excludes both ends
    local = slerp(first.pose.local[-1], second.pose.local[0], s)  # (F, 22, 4)
    yaw = first.pose.yaw[-1] + (second.pose.yaw[0] - first.pose.yaw[-1]) * s
    planted = np.repeat((first.planted[-1] & second.planted[0])[None], frames, axis=0)
    return BodyMotion(rig.Pose(local, yaw), planted, np.zeros(frames, dtype=bool))


def concatenate(parts: Sequence[BodyMotion]) -> BodyMotion:
    """One motion from consecutive parts (frames appended in order)."""
    pose = rig.Pose(
        np.concatenate([p.pose.local for p in parts]),
        np.concatenate([p.pose.yaw for p in parts]),
    )
    planted = np.concatenate([p.planted for p in parts])
    airborne = np.concatenate([p.airborne for p in parts])
    return BodyMotion(pose, planted, airborne)


def turned(motion: BodyMotion, yaw: float) -> BodyMotion:
    """``motion`` with ``yaw`` radians added to its heading."""
    pose = rig.Pose(motion.pose.local, motion.pose.yaw + yaw)
    return BodyMotion(pose, motion.planted, motion.airborne)


def warp_motion(motion: BodyMotion, times: np.ndarray) -> BodyMotion:
    """``motion`` resampled at fractional frames ``times`` (T,): nlerp rotations, strict masks."""
    low = np.clip(np.floor(times).astype(int), 0, motion.pose.frames - 1)
    high = np.minimum(low + 1, motion.pose.frames - 1)
    frac = (times - low)[:, None, None]  # (T, 1, 1)
    q0, q1 = motion.pose.local[low], motion.pose.local[high]  # (T, 22, 4)
    q1 = np.where((q0 * q1).sum(-1, keepdims=True) < 0, -q1, q1)
    local = (1 - frac) * q0 + frac * q1
    local /= np.linalg.norm(local, axis=-1, keepdims=True)
    yaw = np.interp(times, np.arange(motion.pose.frames), motion.pose.yaw)
    planted = motion.planted[low] & motion.planted[high]  # planted only between planted frames
    airborne = motion.airborne[low] | motion.airborne[high]
    return BodyMotion(rig.Pose(local, yaw), planted, airborne)


def add_sway(motion: BodyMotion, idle: np.ndarray, rng: np.random.Generator) -> None:
    """Small low-frequency trunk and head sway over the whole clip; arm sway where ``idle`` (T,)."""
    pose, frames = motion.pose, motion.pose.frames
    rig.spine_flex(pose, smooth_noise(frames, rng, SWAY["spine"]))
    rig.spine_twist(pose, smooth_noise(frames, rng, SWAY["spine"]))
    rig.neck_flex(pose, smooth_noise(frames, rng, SWAY["neck"]))
    rig.neck_turn(pose, smooth_noise(frames, rng, SWAY["neck"]))
    weight = np.convolve(idle.astype(float), np.ones(9) / 9, mode="same")  # soft edges (T,)
    for side in ("left", "right"):
        rig.shoulder_flex(pose, side, weight * smooth_noise(frames, rng, SWAY["arm"], 1.5))
        rig.shoulder_abduct(pose, side, weight * np.abs(smooth_noise(frames, rng, SWAY["arm"])))


def _frames(seconds: tuple[float, float], rng: np.random.Generator) -> int:
    return max(1, round(rng.uniform(*seconds) * FPS))


def _segment_parts(
    segments: Sequence[BodyMotion], rng: np.random.Generator
) -> tuple[list[BodyMotion], list[tuple[int, int]]]:
    """Segments with heading continuity and blend gaps; (start, end) frame of each segment."""
    parts, spans, cursor, yaw = [], [], 0, 0.0
    for k, segment in enumerate(segments):
        segment = turned(segment, yaw)
        if k > 0:
            gap = blend(parts[-1], segment, _frames(GAP_SECONDS, rng))
            parts.append(gap)
            cursor += gap.pose.frames
        parts.append(segment)
        spans.append((cursor, cursor + segment.pose.frames))
        cursor += segment.pose.frames
        yaw = float(segment.pose.yaw[-1])
    return parts, spans


def _padded(
    segments: Sequence[BodyMotion], rng: np.random.Generator
) -> tuple[BodyMotion, list[tuple[int, int]], np.ndarray]:
    """Idle + segments + idle, at least MIN_FRAMES long; segment spans and the idle mask (T,)."""
    parts, spans = _segment_parts(segments, rng)
    core = sum(p.pose.frames for p in parts)
    before, after = _frames(IDLE_SECONDS, rng), _frames(IDLE_SECONDS, rng)
    missing = MIN_FRAMES - (core + before + after)
    if missing > 0:
        before += missing // 2
        after += missing - missing // 2
    room = MAX_FRAMES - core
    if before + after > room:  # keep at least one idle frame on each side when possible
        before = max(1, min(before, room // 2))
        after = max(1, room - before)
    motion = concatenate([hold(parts[0], 0, before), *parts, hold(parts[-1], -1, after)])
    spans = [(s + before, e + before) for s, e in spans]
    idle = np.ones(motion.pose.frames, dtype=bool)
    for start, end in spans:
        idle[start:end] = False
    return motion, spans, idle


def compose_clip(
    requests: Sequence[ActionRequest], rng: np.random.Generator, main: str | None = None
) -> Clip:
    """Generate, pad, blend, perturb and ground the segments of ``requests`` (module docstring).

    A composition longer than MAX_FRAMES falls back to the segment of concept ``main`` (default:
    the first segment), so a clip keeps its main concept.
    """
    results = [generate_action(r, rng) for r in requests]
    motion, spans, idle = _padded([r.motion for r in results], rng)
    if motion.pose.frames > MAX_FRAMES and len(results) > 1:
        kept = [r for r in requests if r.concept == main] or list(requests[:1])
        return compose_clip(kept[:1], rng)
    if motion.pose.frames > MAX_FRAMES:
        raise ValueError(f"{requests[0]} gives {motion.pose.frames} frames > {MAX_FRAMES}")
    times = time_warp(motion.pose.frames, rng, TIMING_NOISE)
    motion = warp_motion(motion, times)
    add_sway(motion, idle, rng)
    start_yaw = rng.uniform(-np.pi, np.pi)
    motion = turned(motion, start_yaw)
    start_xz = tuple(rng.uniform(-START_RADIUS, START_RADIUS, size=2))
    joints = ground(motion, start_xz)
    warped = np.searchsorted(times, np.asarray(spans, dtype=float))  # source -> output frames
    facts = tuple(replace(r.facts, start=int(s), end=int(e)) for r, (s, e) in zip(results, warped))
    clip = Clip(joints, motion, facts)
    if len(results) == 1 and results[0].steady is not None:
        return _maybe_under_way(clip, results[0].steady, spans[0], times, rng)
    return clip


def _maybe_under_way(
    clip: Clip,
    steady: tuple[int, int],
    span: tuple[int, int],
    times: np.ndarray,
    rng: np.random.Generator,
) -> Clip:
    """Now and then a one-segment gait clip cut to start and/or end in motion (``underway``);
    ``steady`` counts frames of the segment, ``span`` places it in the padded source clip and
    ``times`` maps source frames to clip frames."""
    if clip.facts[0].concept not in UNDER_WAY_CONCEPTS or rng.random() >= UNDER_WAY_SHARE:
        return clip
    source = np.asarray(steady, dtype=float) + span[0]
    window = tuple(int(f) for f in np.searchsorted(times, source))  # clip frames
    cropped = crop_under_way(clip.joints, clip.motion, clip.facts[0], window, rng)
    if cropped is None:
        return clip
    return Clip(cropped.joints, cropped.motion, (cropped.facts,))
