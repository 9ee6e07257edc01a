"""Clips that start or end in motion: a walk or a run cut out of a longer movement.

Real takes (and HumanML3D clips) are often cropped from longer captures: a walk is already under
way in the first frame and still going in the last (real walk takes: ~1 m/s at the first frame,
~1.2 m/s at the last). A generated gait starts and ends standing, so ``crop_under_way`` keeps
only part of a grounded one-segment clip: it drops the idle padding and the speed-up before the
gait's steady window (``ActionResult.steady``) and/or the slow-down after it.

Cropping selects frames of a clip that was already grounded, so the physics guarantees (planted
joints still, nothing below the floor, ballistic flights) hold in the crop as they did in the
whole; the writer canonicalises the crop (its first frame faces +Z at the origin).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from esd.corpus import rig
from esd.corpus.catalog import SegmentFacts
from esd.corpus.physics import BodyMotion
from esd.motion.skeleton import FPS, MIN_FRAMES

UNDER_WAY_CONCEPTS = frozenset({"walk", "run"})  # gaits that report a steady window
UNDER_WAY_SHARE = 0.6  # one-segment gait clips that are cropped
CROP_ENDS = {"start": 0.25, "end": 0.15, "both": 0.6}  # which ends a cropped clip loses
CROP_MARGIN = (0.0, 0.5)  # s of the ramp kept before / after the steady window (uniform)
SHORTEST = MIN_FRAMES + 1  # joint frames of the shortest crop: its T - 1 features are MIN_FRAMES


@dataclass(frozen=True)
class Cropped:
    """A crop of a clip: its joints (T, 22, 3), body motion and segment facts."""

    joints: np.ndarray
    motion: BodyMotion
    facts: SegmentFacts


def slice_motion(motion: BodyMotion, begin: int, end: int) -> BodyMotion:
    """Frames [begin, end) of a body motion."""
    pose = rig.Pose(motion.pose.local[begin:end].copy(), motion.pose.yaw[begin:end].copy())
    return BodyMotion(pose, motion.planted[begin:end].copy(), motion.airborne[begin:end].copy())


def crop_window(
    frames: int, steady: tuple[int, int], rng: np.random.Generator, fps: int = FPS
) -> tuple[int, int] | None:
    """[begin, end) frames of a crop of a clip of ``frames`` whose gait is steady in ``steady``
    (clip frames): one end or both cut inside the ramps, widened into them to SHORTEST frames
    when the steady window is shorter; None when the clip itself is too short."""
    ends = tuple(CROP_ENDS)
    which = ends[int(rng.choice(len(ends), p=np.array(list(CROP_ENDS.values()))))]
    begin, end = 0, frames
    if which in ("start", "both"):
        begin = max(0, steady[0] - round(rng.uniform(*CROP_MARGIN) * fps))
    if which in ("end", "both"):
        end = min(frames, steady[1] + round(rng.uniform(*CROP_MARGIN) * fps))
    missing = SHORTEST - (end - begin)
    if missing > 0:  # keep more of the ramps, as evenly as the clip allows
        begin = max(0, begin - (missing + 1) // 2)
        end = min(frames, begin + SHORTEST)
        begin = max(0, end - SHORTEST)
    return (begin, end) if end - begin >= SHORTEST else None


def crop_under_way(
    joints: np.ndarray,
    motion: BodyMotion,
    facts: SegmentFacts,
    steady: tuple[int, int],
    rng: np.random.Generator,
) -> Cropped | None:
    """The clip cut to start and/or end in motion (module docstring); None: left whole."""
    window = crop_window(len(joints), steady, rng)
    if window is None:
        return None
    begin, end = window
    cut = replace(facts, start=max(facts.start - begin, 0), end=min(facts.end, end) - begin)
    return Cropped(joints[begin:end].copy(), slice_motion(motion, begin, end), cut)
