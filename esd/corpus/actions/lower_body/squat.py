"""Squatting with the arms forward, the hands on the hips, or deep.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* squat, per rep: down (0.9) -> hold (0.2) -> up (0.85), heels down. arms_forward lifts the arms
  to horizontal on the way down, hands_on_hips keeps the hands on the hips, deep goes well below
  parallel with the hands together at the chest.
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
    planted_feet,
    register,
    seconds_to_frames,
)
from esd.corpus.actions.lower_body.arms import arm, held_angles
from esd.corpus.actions.lower_body.legs import SIDES, grounded_result, symmetric_legs
from esd.corpus.actions.lower_body.timing import fit_tempo, keyed

SQUAT_SHAPES = {  # bottom (deg): thigh forward of vertical, shin lean, pelvis pitch, spine flex
    "arms_forward": {"thigh": 82, "shin": 30, "tilt": 22, "spine": 8},
    "hands_on_hips": {"thigh": 80, "shin": 30, "tilt": 30, "spine": 10},
    "deep": {"thigh": 115, "shin": 38, "tilt": 30, "spine": 12},
}
SQUAT_PHASES = (0.9, 0.2, 0.85, 0.15)  # down, hold, up, pause


def squat_keys(start: float, reps: int, tempo: float, rng: np.random.Generator) -> list:
    """(time, depth) keys: 0 standing, ~1 at the bottom of each repetition."""
    keys, t = [(0.0, 0.0), (start, 0.0)], start
    for _ in range(reps):
        bottom = t + jitter(rng, SQUAT_PHASES[0] * tempo)
        hold = bottom + jitter(rng, SQUAT_PHASES[1] * tempo, 0.4)
        top = hold + jitter(rng, SQUAT_PHASES[2] * tempo)
        depth = rng.uniform(0.9, 1.0)
        keys += [(bottom, depth), (hold, depth), (top, 0.0)]
        t = top + jitter(rng, SQUAT_PHASES[3] * tempo, 0.4)
    return keys


def squat_arms(pose: rig.Pose, variant: str, depth, trunk, hands_on) -> None:
    """Arms forward to horizontal on the way down, hands on the hips, or together at the chest."""
    for side in SIDES:
        if variant == "arms_forward":
            raised = np.clip(1.4 * depth, 0.0, 1.0)
            arm(pose, side, raised * 90 * DEG + trunk, -4 * DEG * raised, 0.0, 8 * DEG * raised)
        elif variant == "hands_on_hips":
            arm(pose, side, *held_angles("hips", hands_on))
        else:  # hands together at the chest, lifted clear of the knees
            held = np.clip(1.5 * depth, 0.0, 1.0)
            flex, abduct, rotate, elbow = held_angles("chest", held)
            arm(pose, side, flex + 0.6 * trunk, abduct, rotate, elbow)


@register("squat")
def squat(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    ramp = 0.35 if request.variant == "hands_on_hips" else 0.0  # hands to the hips and back
    tempo = fit_tempo(TEMPO[request.speed], request.reps, sum(SQUAT_PHASES), 0.45 + 2 * ramp)
    start = jitter(rng, (0.2 + ramp) * tempo)
    keys = squat_keys(start, request.reps, tempo, rng)
    end = keys[-1][0] + jitter(rng, (0.25 + ramp) * tempo)
    frames = seconds_to_frames(end)
    depth = keyed(frames, keys)
    shape = {k: jitter(rng, v, 0.08) * DEG for k, v in SQUAT_SHAPES[request.variant].items()}
    pose = rig.Pose.rest(frames)
    symmetric_legs(pose, shape["tilt"] * depth, shape["thigh"] * depth, shape["shin"] * depth, 0)
    rig.spine_flex(pose, shape["spine"] * depth)
    trunk = (shape["tilt"] + shape["spine"]) * depth
    rig.neck_flex(pose, -0.5 * trunk)  # eyes ahead
    hands_on = keyed(frames, [(0.0, 0.0), (start, 1.0), (keys[-1][0], 1.0), (end - 0.05, 0.0)])
    squat_arms(pose, request.variant, depth, trunk, hands_on)
    return grounded_result(request, pose, planted_feet(frames, True, True))
