"""Kneeling on one knee or both, or crouching.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* kneel one_knee: step back with the kneeling leg (0.6) -> lower the knee to the floor (0.7) ->
  hold (0.6-1.4) -> rise (0.7) -> step forward (0.6). both_knees: crouch onto the toes (0.8) ->
  knees forward onto the floor (0.55) -> tall kneel (0.6) -> hold -> the same in reverse.
  crouch: deep squat on the balls of the feet, hands to the floor in front (0.9) -> hold -> up.
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
from esd.corpus.actions.lower_body.arms import arm, held_angles, reach_flex
from esd.corpus.actions.lower_body.legs import (
    SIDES,
    ankle_target,
    grounded_result,
    joint_index,
    pitch_for_height,
    pitched,
    reachable_height,
    rest_ball,
    symmetric_legs,
)
from esd.corpus.actions.lower_body.stance import Stance, depth_curve, stance_pose
from esd.corpus.actions.lower_body.timing import keyed, phase_keys, plateau
from esd.corpus.rig import CONTACT_HEIGHT, REST_OFFSETS
from esd.motion.skeleton import FPS

KNEE_ABOVE_BALL = CONTACT_HEIGHT["knee"] - CONTACT_HEIGHT["foot"]  # kneeling: knee vs toes

KNEEL_PHASES = (0.6, 0.7, 1.0, 0.7, 0.6, 0.0)  # step back, knee down, hold, rise, step, -


def kneel_stance(side: str, rng: np.random.Generator) -> Stance:
    """One-knee kneel on ``side``: rear knee on the floor below the hip, toes tucked under, the
    front shin near vertical, the front foot where it stood; derived sagittally."""
    front = other_side(side)
    tilt, heel = jitter(rng, 4, 0.5) * DEG, jitter(rng, 68, 0.05) * DEG
    offset = {
        part: REST_OFFSETS[joint_index(side, part)] for part in ("hip", "knee", "ankle", "foot")
    }
    knee = pitched(offset["hip"], tilt) + pitched(offset["knee"], -rng.uniform(-4, 8) * DEG)
    toes = pitched(offset["foot"], heel)
    shin = pitch_for_height(offset["ankle"], -KNEE_ABOVE_BALL - toes[1], 100 * DEG)
    rear_ball = knee + pitched(offset["ankle"], shin) + toes  # relative to the pelvis
    offset = {
        part: REST_OFFSETS[joint_index(front, part)] for part in ("hip", "knee", "ankle", "foot")
    }
    hip = pitched(offset["hip"], tilt)
    low = pitched(offset["ankle"], rng.uniform(0, 10) * DEG) + offset["foot"]  # knee -> ball
    thigh = pitch_for_height(offset["knee"], rear_ball[1] - hip[1] - low[1], -100 * DEG)
    bottom = rest_ball(front) - (hip + pitched(offset["knee"], thigh) + low)
    td_xz = (0.0, 0.65 * bottom[2])
    ankles = {front: ankle_target(front, rest_ball(front), 0.0)}
    ankles[side] = ankle_target(side, bottom + rear_ball, 0.45 * heel)
    touchdown = np.array([0.0, reachable_height(td_xz, 0.5 * tilt, ankles), td_xz[1]])
    return Stance(
        mover=side,
        target=bottom + rear_ball,
        touchdown=touchdown,
        bottom=bottom,
        tilt=(0.5 * tilt, tilt),
        heel={side: (0.45 * heel, heel), front: (0.0, 0.0)},
        lift=jitter(rng, 0.06, 0.2),
        sway=jitter(rng, 0.025, 0.3),
    )


def kneel_one_knee(side: str, tempo: float, rng: np.random.Generator) -> tuple:
    stance = kneel_stance(side, rng)
    reps = phase_keys(jitter(rng, 0.2 * tempo), 1, KNEEL_PHASES, tempo, rng)
    frames = seconds_to_frames(reps[0][-1] + jitter(rng, 0.2 * tempo))
    pose, planted, _ = stance_pose(stance, reps, frames)
    _, _, down, up, _, _ = reps[0]
    t = np.arange(frames) / FPS
    planted[:, joint_index(side, "knee")] = (t >= down) & (t <= up)
    depth = depth_curve(frames, reps)
    rig.spine_flex(pose, jitter(rng, 8, 0.4) * DEG * np.sin(np.pi * depth))  # lean on the way
    rig.neck_flex(pose, jitter(rng, 8, 0.5) * DEG * depth)
    arm(pose, other_side(side), *held_angles("thighs", depth**2))  # hand on the front knee
    return pose, planted


KNEES_PHASES = (0.15, 0.8, 0.55, 0.6)  # still, crouch on the toes, knees down, tall kneel


def kneel_both_keys(tempo: float, rng: np.random.Generator) -> tuple[dict[str, list], tuple]:
    """Keys (floor-frame pitches, rad) of the both-knees kneel and its knees-down interval."""
    heel = jitter(rng, 68, 0.05)
    toes = pitched(REST_OFFSETS[joint_index("left", "foot")], heel * DEG)
    ankle = REST_OFFSETS[joint_index("left", "ankle")]
    touch = pitch_for_height(ankle, -KNEE_ABOVE_BALL - toes[1], 100 * DEG) / DEG  # knees down
    down = np.cumsum([jitter(rng, p * tempo) for p in KNEES_PHASES])
    hold = down[-1] + jitter(rng, 1.0 * tempo, 0.4)
    up = hold + np.cumsum([jitter(rng, p * tempo) for p in KNEES_PHASES[:0:-1]])
    times = [0.0, *down, hold, *up]
    thigh, shin = jitter(rng, 105, 0.05), jitter(rng, 45, 0.05)
    values = {  # degrees at: 0, still, crouch, knees down, tall, hold, knees, crouch, standing
        "thigh": [0, 0, thigh, 45, 8, 8, 45, thigh, 0],
        "shin": [0, 0, shin, touch, touch, touch, touch, shin, 0],
        "heel": [0, 0, 30, heel, heel, heel, heel, 30, 0],
        "tilt": [0, 0, 30, 28, 3, 3, 28, 30, 0],
        "spine": [0, 0, 15, 10, 0, 0, 10, 15, 0],
    }
    keys = {name: list(zip(times, np.asarray(v) * DEG)) for name, v in values.items()}
    return keys, (times[3], times[6])


def kneel_both(side: str | None, tempo: float, rng: np.random.Generator) -> tuple:
    keys, (down, up) = kneel_both_keys(tempo, rng)
    frames = seconds_to_frames(keys["thigh"][-1][0] + jitter(rng, 0.2 * tempo))
    curve = {name: keyed(frames, k) for name, k in keys.items()}
    pose = rig.Pose.rest(frames)
    symmetric_legs(pose, curve["tilt"], curve["thigh"], curve["shin"], curve["heel"])
    rig.spine_flex(pose, curve["spine"])
    rig.neck_flex(pose, -0.4 * curve["tilt"])
    crouched = np.clip(curve["thigh"] / (90 * DEG), 0, 1)  # arms help while the hips are low
    lowest = min(frames - 1, round(keys["thigh"][2][0] * FPS))
    for arm_side in SIDES:  # both arms forward, or the ``side`` hand down toward the floor
        if side == arm_side:
            flex = reach_flex(pose, lowest, arm_side, 0.1, 0.0, 10 * DEG)
        else:  # forward for balance, or hanging along the trunk when the other hand reaches
            flex = jitter(rng, 55, 0.2) * DEG if side is None else 0.0
        arm(pose, arm_side, flex * crouched, 0.0, 0.0, 10 * DEG * crouched)
    t = np.arange(frames) / FPS
    planted = planted_feet(frames, True, True)
    kneeling = (t >= down) & (t <= up)
    for knee_side in SIDES:
        planted[:, joint_index(knee_side, "knee")] = kneeling
    return pose, planted


CROUCH = {"thigh": 105, "shin": 45, "heel": 32, "tilt": 48, "spine": 26}  # bottom pitches (deg)


def kneel_crouch(side: str | None, tempo: float, rng: np.random.Generator) -> tuple:
    """Deep squat on the balls of the feet; one (``side``) or both hands to the floor."""
    times = np.cumsum([jitter(rng, p * tempo, 0.1) for p in (0.2, 0.9, 0.9, 0.9)])
    times[2:] += jitter(rng, 0.1 * tempo, 0.5)
    start, low, hold, up = times
    frames = seconds_to_frames(up + jitter(rng, 0.2 * tempo))
    depth = plateau(frames, start, low, hold, up)
    shape = {name: jitter(rng, value, 0.06) * DEG * depth for name, value in CROUCH.items()}
    pose = rig.Pose.rest(frames)
    symmetric_legs(pose, shape["tilt"], shape["thigh"], shape["shin"], shape["heel"])
    rig.spine_flex(pose, shape["spine"])
    rig.neck_flex(pose, -0.5 * shape["tilt"])
    bottom = min(frames - 1, round(low * FPS))
    touching = np.clip(1.6 * depth - 0.6, 0.0, 1.0)  # the hands go down in the second half
    for arm_side in SIDES:
        if side in (None, arm_side):
            flex = reach_flex(pose, bottom, arm_side, jitter(rng, 0.08, 0.3), -5 * DEG, 10 * DEG)
            arm(pose, arm_side, flex * touching, -5 * DEG * touching, 0.0, 10 * DEG * touching)
        else:  # the free hand rests on the knee
            arm(pose, arm_side, 35 * DEG * depth, 0.0, 0.0, 60 * DEG * depth)
    return pose, planted_feet(frames, True, True)


@register("kneel")
def kneel(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = TEMPO[request.speed]
    if request.variant == "one_knee":
        side = request.side or str(rng.choice(SIDES))
        pose, planted = kneel_one_knee(side, tempo, rng)
    elif request.variant == "both_knees":
        pose, planted = kneel_both(request.side, tempo, rng)
    else:
        pose, planted = kneel_crouch(request.side, tempo, rng)
    return grounded_result(request, pose, planted)
