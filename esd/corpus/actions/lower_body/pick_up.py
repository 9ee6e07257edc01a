"""Picking something up from the floor by bending or squatting.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* pick_up: bend (hips, knees slightly bent) or squat (trunk more upright) down, reaching the
  named hand, or both, to the floor in front (1.0) -> grasp (0.4) -> stand up with the hand at
  the waist (1.0) -> hold (0.4) -> hand down (0.5).
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
from esd.corpus.actions.lower_body.arms import arm, held_angles, reach_flex
from esd.corpus.actions.lower_body.legs import SIDES, grounded_result, symmetric_legs
from esd.corpus.actions.lower_body.timing import plateau
from esd.corpus.curves import pulse
from esd.motion.skeleton import FPS

PICK_SHAPES = {  # bottom (deg): thigh, shin, pelvis pitch, spine flex
    "bend": {"thigh": 28, "shin": 18, "tilt": 90, "spine": 45},
    "squat": {"thigh": 112, "shin": 40, "tilt": 38, "spine": 24},
}
PICK_PHASES = (0.2, 1.0, 0.4, 1.0, 0.4, 0.5, 0.2)  # still, down, grasp, up, hold, hand down


def pick_arms(pose: rig.Pose, variant: str, side: str | None, k: tuple, depth, rng) -> None:
    """The picking hand(s) reach the floor, grasp, come up to the waist and go down again."""
    frames = pose.frames
    start, low, grasp, top, hold, rest, _ = k
    reach = plateau(frames, start + 0.3 * (low - start), low, grasp, top)
    carry = plateau(frames, grasp, top, hold, rest)
    grip = pulse(frames, low, 0.5 * (grasp - low), 0.0, 0.5 * (grasp - low), 12 * DEG)
    bottom = min(frames - 1, round(low * FPS))
    c_flex, c_abduct, c_rotate, c_elbow = held_angles("carry", carry)
    for hand in SIDES:
        if side in (None, hand):
            flex = reach_flex(pose, bottom, hand, jitter(rng, 0.14, 0.3), -8 * DEG, 10 * DEG)
            elbow = (10 * DEG + grip) * reach + c_elbow
            arm(pose, hand, flex * reach + c_flex, -8 * DEG * reach + c_abduct, c_rotate, elbow)
        else:  # the free hand braces on the thigh (bend) or on the knee (squat)
            flex, adduct, elbow = (-5, 30, 70) if variant == "bend" else (-15, 30, 120)
            arm(pose, hand, flex * DEG * depth, -adduct * DEG * depth, 0.0, elbow * DEG * depth)


@register("pick_up")
def pick_up(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = TEMPO[request.speed]
    spreads = (0.1, 0.1, 0.3, 0.1, 0.3, 0.1, 0.1)  # the grasp and the hold vary more
    keys = tuple(np.cumsum([jitter(rng, p * tempo, d) for p, d in zip(PICK_PHASES, spreads)]))
    start, low, grasp, top = keys[:4]
    frames = seconds_to_frames(keys[-1])
    depth = plateau(frames, start, low, grasp, top)
    shape = {n: jitter(rng, v, 0.05) * DEG * depth for n, v in PICK_SHAPES[request.variant].items()}
    pose = rig.Pose.rest(frames)
    symmetric_legs(pose, shape["tilt"], shape["thigh"], shape["shin"], np.zeros(frames))
    rig.spine_flex(pose, shape["spine"])
    rig.neck_flex(pose, 0.15 * (shape["tilt"] + shape["spine"]))  # eyes on the object
    pick_arms(pose, request.variant, request.side, keys, depth, rng)
    return grounded_result(request, pose, planted_feet(frames, True, True))
