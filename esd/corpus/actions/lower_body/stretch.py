"""Stretching: arms overhead, a side bend, touching the toes.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* stretch overhead: arms up (0.9) -> reach, onto the toes or leaning back (0.5) -> hold (1.2)
  -> release (0.5) -> arms down (0.8); a named side reaches higher. side_bend: arms up (0.9)
  -> lean to the side (0.8) -> hold (0.8) -> upright (0.7) [-> the other side when no side is
  named] -> arms down (0.8). toe_touch: fold forward over straight legs, hands toward the toes
  (of the named foot) (1.2) -> hold (1.0) -> roll up (1.2).
"""

from __future__ import annotations

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import (
    DEG,
    TEMPO,
    ActionRequest,
    ActionResult,
    jitter,
    other_side,
    planted_feet,
    register,
    seconds_to_frames,
)
from esd.corpus.actions.lower_body.arms import arm, reach_flex
from esd.corpus.actions.lower_body.legs import (
    SIDES,
    START_PELVIS,
    grounded_result,
    place_leg,
    rest_ball,
    symmetric_legs,
)
from esd.corpus.actions.lower_body.timing import fit_tempo, keyed, plateau
from esd.corpus.rig import SIDE_SIGN
from esd.motion.skeleton import FPS


def standing_legs(pose: rig.Pose, pelvis: np.ndarray, heel) -> None:
    """Both balls planted at rest while the pelvis follows ``pelvis`` (T, 3) (floor frame)."""
    for side in SIDES:
        ball = np.broadcast_to(rest_ball(side), (pose.frames, 3))
        place_leg(pose, side, pelvis, ball, np.broadcast_to(heel, (pose.frames,)))


def arms_overhead(pose: rig.Pose, raised, rng: np.random.Generator, higher: str | None = None):
    """Both arms up by ``raised`` (T,) in [0, 1]; the ``higher`` arm reaches further (shoulder
    shrugged, fully stretched), the other one relaxes a little."""
    flex, spread = jitter(rng, 170, 0.03) * DEG, jitter(rng, 8, 0.5) * DEG
    for side in SIDES:
        extra = 0.0 if higher is None else 1.0 if side == higher else -1.0
        rig.collar_raise(pose, side, (8 + 9 * extra) * DEG * raised**2)
        reach = min(flex + 6 * DEG * extra, 176 * DEG)  # past vertical the hand comes down
        elbow = (6 + 9 * max(-extra, 0.0)) * DEG
        arm(pose, side, reach * raised, spread * raised, 0.0, elbow * raised)


def stretch_overhead(side: str | None, tempo: float, rng: np.random.Generator) -> rig.Pose:
    phases = (0.2, 0.9, 0.5, 1.2, 0.5, 0.8, 0.2)  # still, arms up, reach, hold, release, down
    start, up, reach, hold, release, down, end = np.cumsum([jitter(rng, p * tempo) for p in phases])
    frames = seconds_to_frames(end)
    raised = plateau(frames, start, up, release, down)
    stretch = plateau(frames, up, reach, hold, release)
    style = rng.uniform()
    heel = jitter(rng, 20, 0.25) * DEG * stretch if style < 0.65 else 0.0 * stretch
    pose = rig.Pose.rest(frames)
    straight = np.zeros(frames)
    symmetric_legs(pose, straight, straight, straight, heel)  # onto the toes: the body rises
    lean = jitter(rng, 10, 0.3) * DEG if style > 0.4 else 3 * DEG  # arch back
    rig.spine_flex(pose, -lean * stretch)
    rig.neck_flex(pose, -jitter(rng, 15, 0.3) * DEG * stretch)
    if side is not None:  # the named arm reaches higher, the trunk giving way to the other side
        rig.spine_bend_side(pose, other_side(side), jitter(rng, 7, 0.3) * DEG * stretch)
    arms_overhead(pose, raised, rng, higher=side)
    return pose


def stretch_side_bend(side: str | None, tempo: float, rng: np.random.Generator) -> rig.Pose:
    order = [side] if side is not None else [str(s) for s in rng.permutation(SIDES)]
    tempo = fit_tempo(tempo, len(order), 2.3, 2.1)
    start = jitter(rng, 0.2 * tempo)
    up = start + jitter(rng, 0.9 * tempo)
    bend_keys, t = [(0.0, 0.0), (up, 0.0)], up
    for lean_side in order:
        angle = SIDE_SIGN[lean_side] * jitter(rng, 28, 0.15) * DEG  # + toward the left
        lean = t + jitter(rng, 0.8 * tempo)
        hold = lean + jitter(rng, 0.8 * tempo, 0.4)
        t = hold + jitter(rng, 0.7 * tempo)
        bend_keys += [(lean, angle), (hold, angle), (t, 0.0)]
    down = t + jitter(rng, 0.8 * tempo)
    frames = seconds_to_frames(down + jitter(rng, 0.2 * tempo))
    bend = keyed(frames, bend_keys)
    pose = rig.Pose.rest(frames)
    pelvis = np.broadcast_to(START_PELVIS, (frames, 3)).copy()
    pelvis[:, 0] -= 0.1 * bend  # the hips go out the other way (~5 cm)
    standing_legs(pose, pelvis, 0.0)
    rig.spine_bend_side(pose, "left", bend)
    arms_overhead(pose, plateau(frames, start, up, t, down), rng)
    return pose


def stretch_toe_touch(side: str | None, tempo: float, rng: np.random.Generator) -> rig.Pose:
    phases = (0.2, 1.2, 1.0, 1.2, 0.2)  # still, fold, hold, roll up, still
    start, down, hold, up, end = np.cumsum([jitter(rng, p * tempo) for p in phases])
    frames = seconds_to_frames(end)
    fold = plateau(frames, start, down, hold, up)
    pose = rig.Pose.rest(frames)
    lean = jitter(rng, 12, 0.2) * DEG * fold  # straight legs lean back: the hips go back
    symmetric_legs(pose, jitter(rng, 85, 0.06) * DEG * fold, lean, -lean, np.zeros(frames))
    rig.spine_flex(pose, jitter(rng, 55, 0.1) * DEG * fold)
    if side is not None:  # toward that foot
        rig.spine_twist(pose, SIDE_SIGN[side] * jitter(rng, 15, 0.2) * DEG * fold)
    rig.neck_flex(pose, 12 * DEG * fold)
    bottom = min(frames - 1, round(down * FPS))
    for arm_side in SIDES:
        flex = reach_flex(pose, bottom, arm_side, 0.0, -5 * DEG)  # hanging straight down
        arm(pose, arm_side, flex * fold**1.5, -5 * DEG * fold)
    return pose


@register("stretch")
def stretch(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    make = {"overhead": stretch_overhead, "side_bend": stretch_side_bend}
    pose = make.get(request.variant, stretch_toe_touch)(request.side, TEMPO[request.speed], rng)
    return grounded_result(request, pose, planted_feet(pose.frames, True, True))
