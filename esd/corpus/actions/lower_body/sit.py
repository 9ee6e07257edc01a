"""Sitting down on a chair and standing up from it (``seated_pose``: the pose between).

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* sit_down chair: lean forward (0.25) -> hips back and down, knees forward, trunk leaning
  (1.05) -> trunk upright, hands on the thighs (0.45): ends in ``seated_pose``. stand_up
  from_chair: exactly that timeline reversed, starting from the same seated pose.
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
from esd.corpus.actions.lower_body.timing import keyed
from esd.corpus.physics import BodyMotion

# The seated posture (deg; "hands" is the weight of the hands-on-thighs arm pose, "reach" an
# extra forward arm flexion). Fixed, not randomised: sit_down ends and stand_up starts here.
SEATED = {"thigh": 104, "shin": -6, "tilt": -5, "spine": 10, "neck": -3, "hands": 1, "reach": 0}
SIT_PHASES = (0.2, 0.25, 0.55, 0.5, 0.45, 0.3)  # still, lean, half-way down, seat, upright, still


def sitting_pose(frames: int, curves: dict[str, np.ndarray]) -> rig.Pose:
    """Pose from sitting curves (T,) in radians (``SEATED`` keys; "hands" is a weight)."""
    pose = rig.Pose.rest(frames)
    symmetric_legs(pose, curves["tilt"], curves["thigh"], curves["shin"], np.zeros(frames))
    rig.spine_flex(pose, curves["spine"])
    rig.neck_flex(pose, curves["neck"])
    for side in SIDES:
        flex, abduct, rotate, elbow = held_angles("thighs", curves["hands"])
        arm(pose, side, flex + curves["reach"], abduct, rotate, elbow)
    return pose


def _seated_value(name: str) -> float:
    return SEATED[name] if name == "hands" else SEATED[name] * DEG


def seated_pose(frames: int) -> rig.Pose:
    """The still seated pose (pelvis ~0.5 m high once grounded) that sit_down ends in and
    stand_up starts from; with both feet planted it is also the composer's seated idle."""
    return sitting_pose(frames, {name: np.full(frames, _seated_value(name)) for name in SEATED})


def seated_motion(frames: int) -> BodyMotion:
    """``seated_pose`` with both feet planted."""
    return BodyMotion.standing(seated_pose(frames))


def sit_keys(tempo: float, rng: np.random.Generator) -> tuple[dict[str, list], float]:
    """(time, value) keys of every sitting curve, from standing to ``SEATED``; the end time."""
    t0, go, mid, seat, upright, end = np.cumsum([jitter(rng, p * tempo) for p in SIT_PHASES])
    s = {name: _seated_value(name) for name in SEATED}
    keys = {
        "thigh": [(t0, 0.0), (go, 4 * DEG), (mid, jitter(rng, 55) * DEG), (seat, s["thigh"])],
        "shin": [(t0, 0.0), (go, 3 * DEG), (mid, jitter(rng, 20) * DEG), (seat, s["shin"])],
        "tilt": [(t0, 0.0), (go, jitter(rng, 12) * DEG), (mid, jitter(rng, 32) * DEG)],
        "spine": [(t0, 0.0), (go, 4 * DEG), (mid, jitter(rng, 10) * DEG)],
        "neck": [(t0, 0.0), (mid, -8 * DEG), (upright, s["neck"])],
        "hands": [(go, 0.0), (seat, 0.8), (upright, s["hands"])],
        "reach": [(go, 0.0), (mid, jitter(rng, 25) * DEG), (upright, s["reach"])],
    }
    keys["tilt"] += [(seat, jitter(rng, 18) * DEG), (upright, s["tilt"])]
    keys["spine"] += [(seat, jitter(rng, 14) * DEG), (upright, s["spine"])]
    return {name: [(0.0, 0.0), *k] for name, k in keys.items()}, end


def sit_curves(request: ActionRequest, rng: np.random.Generator) -> dict[str, np.ndarray]:
    keys, end = sit_keys(TEMPO[request.speed], rng)
    frames = seconds_to_frames(end)
    return {name: keyed(frames, k) for name, k in keys.items()}


@register("sit_down")
def sit_down(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    curves = sit_curves(request, rng)
    frames = len(curves["thigh"])
    return grounded_result(request, sitting_pose(frames, curves), planted_feet(frames, True, True))


@register("stand_up")
def stand_up(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    curves = {name: curve[::-1].copy() for name, curve in sit_curves(request, rng).items()}
    frames = len(curves["thigh"])
    return grounded_result(request, sitting_pose(frames, curves), planted_feet(frames, True, True))
