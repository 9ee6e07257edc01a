"""Kicks: front, side and roundhouse, with either leg, one to three times.

One kick, on the kicking leg (times in seconds at normal tempo, randomised):

    guard up (0.5) -> chamber: hip flexes, knee folds (0.4) -> snap: knee extends (0.3)
    -> hold (0.2) -> retract to the chamber (0.35) -> [next kick, or] lower the foot (0.45)

The foot peaks at about 6-10 m/s at normal tempo (up to ~13 m/s for fast side kicks): quick,
yet six frames long at 20 fps, so a model trained on the corpus can learn the snap.

The support leg stays planted with a soft knee; the trunk counterbalances (leans back for a front
kick, away from the kick for a side kick); side and roundhouse kicks pivot the body on the
support foot. The kicking foot is planted only while it is on the floor.
"""

from __future__ import annotations

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import (
    DEG,
    TEMPO,
    ActionRequest,
    ActionResult,
    facts_of,
    foot,
    jitter,
    other_side,
    planted_feet,
    register,
    seconds_to_frames,
)
from esd.corpus.curves import keyframes, pulse
from esd.corpus.physics import BodyMotion

LIFT_THRESHOLD = 1.5 * DEG  # summed hip/knee angles above which the kicking foot is airborne

# Per variant: hip flexion and abduction at the snap, pivot of the body, trunk lean (degrees).
KICK_SHAPES = {
    "front": {"hip_flex": 85, "hip_abduct": 5, "pivot": 0, "lean_back": 12, "lean_side": 0},
    "side": {"hip_flex": 20, "hip_abduct": 70, "pivot": 70, "lean_back": 0, "lean_side": 28},
    "roundhouse": {"hip_flex": 55, "hip_abduct": 55, "pivot": 80, "lean_back": 5, "lean_side": 20},
}


def kick_timeline(reps: int, tempo: float, rng: np.random.Generator) -> tuple[list, float]:
    """Key times (s) of each kick: (chamber start, chamber, snap, hold end, retracted)."""
    t = jitter(rng, 0.5 * tempo)  # guard up
    kicks = []
    for _ in range(reps):
        chamber = t + jitter(rng, 0.4 * tempo)
        snap = chamber + jitter(rng, 0.3 * tempo)
        hold = snap + jitter(rng, 0.2 * tempo, 0.5)
        retract = hold + jitter(rng, 0.35 * tempo)
        kicks.append((t, chamber, snap, hold, retract))
        t = retract + jitter(rng, 0.1 * tempo, 0.5)
    return kicks, kicks[-1][4] + jitter(rng, 0.45 * tempo)


def leg_curves(frames: int, kicks: list, down: float, shape: dict, rng) -> dict[str, np.ndarray]:
    """Hip flexion/abduction and knee flexion curves (radians) of the kicking leg."""
    hip_flex = jitter(rng, shape["hip_flex"]) * DEG
    hip_abduct = jitter(rng, shape["hip_abduct"]) * DEG
    chamber_knee = jitter(rng, 110) * DEG
    snap_knee = jitter(rng, 8, 0.8) * DEG
    times, flex, abduct, knee = [0.0], [0.0], [0.0], [0.0]
    for start, chamber, snap, hold, retract in kicks:
        times += [start, chamber, snap, hold, retract]
        flex += [
            0.0 if start == kicks[0][0] else 0.9 * hip_flex,
            0.9 * hip_flex,
            hip_flex,
            hip_flex,
            0.9 * hip_flex,
        ]
        abduct += [
            0.0 if start == kicks[0][0] else 0.8 * hip_abduct,
            0.8 * hip_abduct,
            hip_abduct,
            hip_abduct,
            0.8 * hip_abduct,
        ]
        knee += [
            0.0 if start == kicks[0][0] else chamber_knee,
            chamber_knee,
            snap_knee,
            snap_knee,
            chamber_knee,
        ]
    times.append(down)
    flex.append(0.0)
    abduct.append(0.0)
    knee.append(0.0)
    return {
        "hip_flex": keyframes(frames, times, flex),
        "hip_abduct": keyframes(frames, times, abduct),
        "knee": keyframes(frames, times, knee),
    }


@register("kick")
def kick(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    side = request.side or "right"
    support = other_side(side)
    shape = KICK_SHAPES[request.variant]
    tempo = TEMPO[request.speed]
    kicks, down = kick_timeline(request.reps, tempo, rng)
    end = down + jitter(rng, 0.4 * tempo)
    frames = seconds_to_frames(end)
    pose = rig.Pose.rest(frames)
    legs = leg_curves(frames, kicks, down, shape, rng)
    rig.hip_flex(pose, side, legs["hip_flex"])
    rig.hip_abduct(pose, side, legs["hip_abduct"])
    rig.knee_flex(pose, side, legs["knee"])
    rig.ankle_flex(pose, side, -0.5 * legs["knee"] / 2)  # toes point as the leg extends
    # Support knee, pivot and trunk lean follow the leg's lift, so they only happen while the
    # kicking foot is off the floor (two planted feet must keep their relative position).
    raised = legs["hip_flex"] + legs["hip_abduct"] + legs["knee"]
    above = np.maximum(raised - LIFT_THRESHOLD, 0.0)  # zero while the foot is still down
    lift = np.clip(above / max(above.max(), 1e-9), 0.0, 1.0) ** 2
    rig.knee_flex(pose, support, jitter(rng, 15) * DEG * lift)
    turn = -1.0 if side == "right" else 1.0  # pivot so the kicking hip leads
    rig.pelvis_turn(pose, turn * jitter(rng, shape["pivot"] + 1) * DEG * lift)
    rig.spine_flex(pose, -jitter(rng, shape["lean_back"] + 1) * DEG * lift)
    if shape["lean_side"]:
        rig.spine_bend_side(pose, support, jitter(rng, shape["lean_side"]) * DEG * lift)
    add_guard(pose, frames, kicks[0][0] - 0.3 * tempo, end - 0.25 * tempo, rng)
    lifted = raised > LIFT_THRESHOLD
    planted = planted_feet(frames, True, True)
    planted[:, foot(side)] = ~lifted
    motion = BodyMotion(pose, planted, np.zeros(frames, dtype=bool))
    return ActionResult(motion, facts_of(request))


def add_guard(pose: rig.Pose, frames: int, start: float, end: float, rng) -> None:
    """Fists up in front of the chest between ``start`` and ``end`` seconds."""
    guard = pulse(frames, max(0.0, start), 0.25, max(0.0, end - start - 0.25), 0.25)
    for arm in ("left", "right"):
        rig.shoulder_flex(pose, arm, jitter(rng, 45) * np.pi / 180 * guard)
        rig.shoulder_abduct(pose, arm, jitter(rng, 15) * np.pi / 180 * guard)
        rig.elbow_flex(pose, arm, jitter(rng, 110) * np.pi / 180 * guard)
