"""Lunging forward or to the side.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* lunge forward, per rep: lift the stepping foot and place it 0.6-0.9 m ahead (0.55) -> sink
  until the front thigh is near horizontal, rear heel up, rear knee low (0.6) -> hold (0.2) ->
  rise (0.55) -> step back (0.55). side: a 0.6-0.8 m step out to the side, the body sinking back
  over the bent stepping leg while the other leg stays straight.
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
    register,
    seconds_to_frames,
)
from esd.corpus.actions.lower_body.arms import arm, held_angles
from esd.corpus.actions.lower_body.legs import (
    SIDES,
    ankle_target,
    grounded_result,
    joint_index,
    leg_span,
    pelvis_height_for,
    place_leg,
    reachable_height,
    rest_ball,
)
from esd.corpus.actions.lower_body.stance import Stance, depth_curve, stance_pose
from esd.corpus.actions.lower_body.timing import fit_tempo, phase_keys
from esd.corpus.rig import SIDE_SIGN

STANCE_PHASES = (0.55, 0.6, 0.2, 0.55, 0.55, 0.15)  # out, sink, hold, rise, back, pause


def knee_height(side: str, pelvis: np.ndarray, tilt: float, ball: np.ndarray, pitch: float):
    """Height (m) of the knee of a leg placed on ``ball`` (3,) from ``pelvis`` (3,)."""
    probe = rig.Pose.rest(1)
    rig.pelvis_tilt(probe, tilt)
    place_leg(probe, side, pelvis[None], ball[None], np.array([pitch]))
    return float(pelvis[1] + rig.forward_kinematics(probe)[0, joint_index(side, "knee"), 1])


def forward_lunge(side: str, rng: np.random.Generator) -> Stance:
    """Step ``side`` 0.6-0.9 m ahead; sink until the front knee is ~95 deg, rear heel up."""
    rear = other_side(side)
    target = rest_ball(side) + np.array([0.0, 0.0, rng.uniform(0.6, 0.9)])
    heel, tilt = jitter(rng, 45, 0.2) * DEG, jitter(rng, 6, 0.5) * DEG
    front = ankle_target(side, target, 0.0)
    back = ankle_target(rear, rest_ball(rear), heel)
    xz = (0.0, back[2] + rng.uniform(0.5, 0.6) * (front[2] - back[2]))  # between the feet
    bottom = np.array([0.0, 0.0, xz[1]])
    bottom[1] = max(  # as low as the knees allow: front ~95 deg, rear ~100 deg
        pelvis_height_for(xz, tilt, side, front, leg_span(side, jitter(rng, 95, 0.08) * DEG)),
        pelvis_height_for(xz, tilt, rear, back, leg_span(rear, jitter(rng, 100, 0.1) * DEG)),
    )
    for _ in range(3):  # the rear knee comes close to the floor but does not touch it
        bottom[1] += max(0.0, 0.1 - knee_height(rear, bottom, tilt, rest_ball(rear), heel))
    td_xz = (0.0, 0.75 * xz[1])
    td_back = ankle_target(rear, rest_ball(rear), 0.4 * heel)
    td_height = reachable_height(td_xz, 0.3 * tilt, {side: front, rear: td_back})
    return Stance(
        mover=side,
        target=target,
        touchdown=np.array([0.0, td_height, td_xz[1]]),
        bottom=bottom,
        tilt=(0.3 * tilt, tilt),
        heel={side: (0.0, 0.0), rear: (0.4 * heel, heel)},
        lift=jitter(rng, 0.09, 0.2),
        sway=jitter(rng, 0.03, 0.3),
    )


def side_lunge(side: str, rng: np.random.Generator) -> Stance:
    """Step ``side`` 0.6-0.8 m out; sit back over the bent stepping leg, the other one straight."""
    other, out = other_side(side), SIDE_SIGN[side]
    step = rng.uniform(0.6, 0.8)
    target = rest_ball(side) + np.array([out * step, 0.0, 0.0])
    tilt = jitter(rng, 22, 0.2) * DEG
    bent, straight = ankle_target(side, target, 0.0), ankle_target(other, rest_ball(other), 0.0)
    xz = (out * jitter(rng, 0.85, 0.05) * step, -jitter(rng, 0.08, 0.3))  # over the bent leg
    height = max(
        pelvis_height_for(xz, tilt, other, straight, leg_span(other, 12 * DEG)),
        pelvis_height_for(xz, tilt, side, bent, leg_span(side, 115 * DEG)),
    )
    td_xz = (0.5 * (target[0] + rest_ball(other)[0]), 0.0)  # between the feet, legs straight
    td_height = reachable_height(td_xz, 0.3 * tilt, {side: bent, other: straight}, 0.985)
    return Stance(
        mover=side,
        target=target,
        touchdown=np.array([td_xz[0], td_height, 0.0]),
        bottom=np.array([xz[0], height, xz[1]]),
        tilt=(0.3 * tilt, tilt),
        heel={s: (0.0, 0.0) for s in SIDES},
        lift=jitter(rng, 0.07, 0.2),
        sway=jitter(rng, 0.03, 0.3),
    )


def lunge_arms(pose: rig.Pose, variant: str, side: str, depth, trunk, rng) -> None:
    """Forward: hands on the hips or a small counter-swing; side: arms forward for balance
    (level in the world however far the trunk, pitched by ``trunk`` (T,), leans)."""
    style = rng.uniform()
    if variant == "side":
        for arm_side in SIDES:
            if style < 0.5:
                arm(pose, arm_side, *held_angles("chest", np.clip(1.5 * depth, 0, 1)))
            else:
                arm(pose, arm_side, jitter(rng, 75) * DEG * depth + trunk, -8 * DEG * depth)
        return
    if style < 0.4:
        hold = np.clip(depth / 0.3, 0.0, 1.0)
        for arm_side in SIDES:
            arm(pose, arm_side, *held_angles("hips", hold))
        return
    swing = jitter(rng, 15, 0.3) * DEG * depth
    arm(pose, side, -0.5 * swing, 0.0, 0.0, 0.4 * swing)
    arm(pose, other_side(side), swing, 0.0, 0.0, swing)


@register("lunge")
def lunge(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    side = request.side or "right"
    stance = (forward_lunge if request.variant == "forward" else side_lunge)(side, rng)
    tempo = fit_tempo(TEMPO[request.speed], request.reps, sum(STANCE_PHASES), 0.4)
    reps = phase_keys(jitter(rng, 0.2 * tempo), request.reps, STANCE_PHASES, tempo, rng)
    frames = seconds_to_frames(reps[-1][-1] + jitter(rng, 0.2 * tempo))
    pose, planted, _ = stance_pose(stance, reps, frames)
    depth = depth_curve(frames, reps)
    lean = stance.tilt[1] * depth
    # forward: the trunk stays upright over the pelvis; side: it leans on a little more
    spine = jitter(rng, 10, 0.3) * DEG * depth if request.variant == "side" else -0.6 * lean
    rig.spine_flex(pose, spine)
    rig.neck_flex(pose, -0.3 * lean)
    lunge_arms(pose, request.variant, side, depth, lean + spine, rng)
    return grounded_result(request, pose, planted)
