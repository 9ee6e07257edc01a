"""Balancing on one leg, with the arms loose or out to a T.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* balance: weight over the standing leg (0.5) -> lift the other foot, knee up in front or foot
  behind (0.8) -> hold 1.5-2.9 s (not tempo-scaled) with small wobbles of the trunk and arms ->
  put it down (0.8) -> weight back (0.5). one_leg opens the arms loosely; arms_out first
  spreads them to a T (0.7).
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
from esd.corpus.actions.lower_body.arms import arm
from esd.corpus.actions.lower_body.legs import (
    SIDES,
    START_PELVIS,
    grounded_result,
    joint_index,
    place_leg,
    rest_ball,
)
from esd.corpus.actions.lower_body.timing import MAX_SECONDS, TIMING_SLACK, between, plateau
from esd.corpus.curves import smooth_noise
from esd.corpus.rig import SIDE_SIGN


def wobble(frames: int, rng: np.random.Generator, scale: float, gate: np.ndarray) -> np.ndarray:
    """Small slow noise (T,) of about ``scale``, faded in and out by ``gate`` (T,) in [0, 1]."""
    return smooth_noise(frames, rng, scale, period=0.7) * gate


LIFTS = {  # lifted ball offset from its rest (m) and foot pitch (deg): knee up or foot behind
    "front": (np.array([0.0, 0.33, 0.2]), 25),
    "behind": (np.array([0.0, 0.3, -0.25]), 50),
}


def balance_keys(variant: str, tempo: float, rng: np.random.Generator) -> dict[str, float]:
    """Key times (s) of a balance; the hold itself (1.5-2.9 s) does not scale with tempo."""
    hold = jitter(rng, 2.2, 0.3)
    names = ("start", "arms", "shifted", "lifted", "held", "lowered", "back", "down", "end")
    seconds = [0.2, 0.7 if variant == "arms_out" else 0.0, 0.5, 0.8, 0.0, 0.8, 0.5, 0.4, 0.2]
    tempo = min(tempo, (MAX_SECONDS - hold) / (TIMING_SLACK * sum(seconds)))
    durations = [jitter(rng, s * tempo) for s in seconds]
    durations[4] = hold
    return dict(zip(names, np.cumsum(durations)))


def balance_legs(pose: rig.Pose, stand: str, k: dict, lift: str, rng) -> np.ndarray:
    """Weight over ``stand``, the other foot lifted (``LIFTS``) and held with a small sway of
    the body; returns the lifted mask (T,)."""
    frames, free = pose.frames, other_side(stand)
    shift = np.array([SIDE_SIGN[stand] * jitter(rng, 0.07, 0.15), -0.015, 0.0])
    pelvis = (
        START_PELVIS
        + plateau(frames, k["start"], k["shifted"], k["lowered"], k["back"])[:, None] * shift
    )
    on_one_leg = plateau(frames, k["lifted"], k["lifted"] + 0.3, k["held"], k["held"] + 0.3)
    sway = np.zeros((frames, 3))
    sway[:, [0, 2]] = np.stack([wobble(frames, rng, 0.01, on_one_leg) for _ in range(2)], 1)
    offset, pitch = LIFTS[lift]
    offset = offset * np.array([1.0, jitter(rng, 1.0, 0.15), jitter(rng, 1.0, 0.2)])
    up = plateau(frames, k["shifted"], k["lifted"], k["held"], k["lowered"])
    ball = rest_ball(free) + up[:, None] * (offset + shift * [1, 1, 0]) + sway
    support = np.broadcast_to(rest_ball(stand), (frames, 3))
    place_leg(pose, stand, pelvis + sway, support, np.zeros(frames))
    place_leg(pose, free, pelvis + sway, ball, jitter(rng, pitch, 0.2) * DEG * up)
    return between(frames, k["shifted"], k["lowered"])


def balance_upper(pose: rig.Pose, variant: str, k: dict, lift: str, rng) -> None:
    """Arms out for balance (a T for arms_out), trunk, arms and head wobbling on one leg."""
    frames = pose.frames
    on_one_leg = plateau(frames, k["lifted"], k["lifted"] + 0.3, k["held"], k["held"] + 0.3)
    if variant == "arms_out":
        out = plateau(frames, k["start"], k["arms"], k["back"], k["down"])
        abduct, flex, scale = jitter(rng, 90, 0.04) * DEG * out, 0.0 * out, 3 * DEG
    else:
        out = plateau(frames, k["start"], k["lifted"], k["lowered"], k["down"])
        abduct, flex = jitter(rng, 50, 0.2) * DEG * out, jitter(rng, 15, 0.5) * DEG * out
        scale = 8 * DEG
    for side in SIDES:
        shake = wobble(frames, rng, scale, on_one_leg)
        elbow = jitter(rng, 12, 0.5) * DEG * out
        arm(pose, side, flex + 0.6 * shake[::-1], abduct + shake, 0.0, elbow)
    lean = (4 if lift == "behind" else -2) * DEG * on_one_leg  # counterbalance the leg
    rig.spine_flex(pose, lean + wobble(frames, rng, 2 * DEG, on_one_leg))
    rig.spine_bend_side(pose, "left", wobble(frames, rng, 2.5 * DEG, on_one_leg))
    rig.neck_flex(pose, wobble(frames, rng, 3 * DEG, on_one_leg))


@register("balance")
def balance(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    stand = request.side or "left"
    keys = balance_keys(request.variant, TEMPO[request.speed], rng)
    frames = seconds_to_frames(keys["end"])
    behind = rng.uniform() < (0.35 if request.variant == "one_leg" else 0.6)
    lift = "behind" if behind else "front"
    pose = rig.Pose.rest(frames)
    lifted = balance_legs(pose, stand, keys, lift, rng)
    balance_upper(pose, request.variant, keys, lift, rng)
    planted = planted_feet(frames, True, True)
    planted[:, joint_index(other_side(stand), "foot")] = ~lifted
    return grounded_result(request, pose, planted)
