"""Swinging a bat or a golf club (two-handed grip solved by inverse kinematics).

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* swing (side = handedness): bat: hands together at the rear shoulder (0.6) -> across at
  chest height while the trunk turns through (0.55) -> follow-through at the lead shoulder
  (0.3) -> [back to the load (0.8), again] -> rest (0.8). golf: hinge, hands low together at
  the address (0.7) -> backswing up (0.8) -> pause (0.12) -> downswing through the bottom to a
  high finish (0.75) -> hold (0.3) -> [back to the address (0.8), again] -> rest (0.8).
"""

from __future__ import annotations

import numpy as np

from esd.corpus.actions.base import DEG, ActionRequest, ActionResult, jitter, other_side, register
from esd.corpus.actions.upper_body.arm_ik import CHEST, REST_JOINTS, reach
from esd.corpus.actions.upper_body.postures import Body, Keys
from esd.corpus.actions.upper_body.timing import (
    clip_frames,
    fitted_tempo,
    span,
    standing_result,
    sway,
    vary,
)
from esd.motion.skeleton import JOINT_INDEX

SWING_GRID = 33  # path samples at which the two-handed grip is solved
GRIP_HALF = 0.03  # m: each wrist's offset from the grip centre
GRIP_UNKNOWNS = ("turn", "flex", "twist", "elbow")
# Right-handed IK guesses (degrees) of the (lead, trail) arms at the start, middle, end of a path.
BAT_GUESSES = (
    ({"turn": -60, "flex": 85, "elbow": 10}, {"turn": 30, "flex": 40, "elbow": 130}),
    ({"turn": -25, "flex": 65, "elbow": 5}, {"turn": -20, "flex": 60, "elbow": 10}),
    ({"turn": 30, "flex": 40, "elbow": 130}, {"turn": -60, "flex": 85, "elbow": 10}),
)
GOLF_GUESSES = (
    ({"turn": -67, "flex": 110, "elbow": 5}, {"turn": 30, "flex": 80, "elbow": 130}),
    ({"turn": -20, "flex": 35, "elbow": 5}, {"turn": -20, "flex": 35, "elbow": 5}),
    ({"turn": 30, "flex": 80, "elbow": 130}, {"turn": -67, "flex": 110, "elbow": 5}),
)
SHOULDERS = REST_JOINTS[[JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]]]
SHOULDER_MID = SHOULDERS.mean(axis=0) - REST_JOINTS[CHEST]  # chest frame
SWING_STANCE = {"bat": {"knees": 16}, "golf": {"knees": 20, "hinge": 30}}
SWING_TRUNK = {"bat": (-38, 48, 8), "golf": (-45, 55, 10)}  # twist at the start / end, flex


def bat_path(s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grip centre (K, 3) in the chest frame along a right-handed bat swing, s in [0, 1].

    An arc about the shoulders' midpoint from in front of the right shoulder, out and down to
    far in front at chest height, to in front of the left shoulder (the trunk's turn adds the
    rest of the sweep). It stays within both arms' reach.
    """
    azimuth = np.deg2rad(jitter(rng, -41, 0.08) + (jitter(rng, 44, 0.08) + 41) * s)
    bulge = np.sin(np.pi * s)
    ends = 0.3 - 0.01 * s
    radius = ends + (jitter(rng, 0.38, 0.03) - ends) * bulge
    height = 0.02 + 0.03 * s + (rng.uniform(-0.13, -0.08) - 0.02 - 0.03 * s) * bulge
    offset = np.stack([radius * np.sin(azimuth), height, radius * np.cos(azimuth)], axis=1)
    return SHOULDER_MID + offset


def golf_path(beta: np.ndarray) -> np.ndarray:
    """Grip centre (K, 3) in the chest frame of a right-handed golf swing at angles ``beta``.

    An ellipse about the shoulders' midpoint: beta 0 = address (hands low in front, hanging
    straight down from the hinged trunk), -125 deg = top of the backswing (above the right
    shoulder), +125 deg = follow-through (above the left).
    """
    offset = np.stack(
        [0.122 * np.sin(beta), 0.042 - 0.362 * np.cos(beta), np.full_like(beta, 0.27)], axis=1
    )
    return SHOULDER_MID + offset


def grip_angles(path: np.ndarray, guesses, right_handed: bool) -> dict[str, dict]:
    """Per arm, IK angles (radians) (K,) holding the two wrists together along ``path``."""
    count = len(path)
    u = np.linspace(0.0, 1.0, count)
    centre = path * np.array([1.0 if right_handed else -1.0, 1.0, 1.0])
    radial = centre - SHOULDER_MID
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    lead = "left" if right_handed else "right"
    angles = {}
    for role, arm in enumerate((lead, other_side(lead))):
        guess = {
            name: np.interp(u, [0.0, 0.5, 1.0], [g[role][name] for g in guesses])
            for name in ("turn", "flex", "elbow")
        }
        offset = GRIP_HALF * (1.0 if role == 1 else -1.0) * radial  # trail hand further out
        angles[arm] = reach(arm, centre + offset, guess, GRIP_UNKNOWNS, steps=12)
    return angles


@register("swing")
def swing(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    right, golf = request.side != "left", request.variant == "golf"
    tempo = fitted_tempo(request.speed, 0.8 + (3.5 if golf else 2.4) * request.reps)
    grid = np.linspace(0.0, 1.0, SWING_GRID)
    if golf:
        top, finish = jitter(rng, -125, 0.06), jitter(rng, 125, 0.06)
        path, address = golf_path(np.deg2rad(top + (finish - top) * grid)), -top / (finish - top)
    else:
        path, address = bat_path(grid, rng), 0.0
    body, timing = Body(), Keys()  # timing: "path" (0..1 along the path), "grip" (0..1)
    end = key_swings(body, timing, request, address, tempo, rng)
    frames = clip_frames(end)
    angles = grip_angles(path, GOLF_GUESSES if golf else BAT_GUESSES, right)
    curves = timing.curves(frames)
    position, grip = curves["path"] / DEG, curves["grip"] / DEG
    extra: dict[str, dict] = {"trunk": sway(frames, rng, 1.0)}
    for arm, arm_angles in angles.items():
        extra[arm] = {k: grip * np.interp(position, grid, v) for k, v in arm_angles.items()}
    return standing_result(request, body.render(frames, extra))


def key_swings(body: Body, timing: Keys, request: ActionRequest, address: float, tempo, rng):
    """Key the path position, trunk and stance of every swing; returns the clip's end (s)."""
    golf = request.variant == "golf"
    start_twist, end_twist, flex = SWING_TRUNK[request.variant]
    twist_sign = 1.0 if request.side != "left" else -1.0
    t = span(rng, 0.7 if golf else 0.6, tempo, 0.45)
    timing.to(t, {"path": address, "grip": 1.0})
    body.stance.to(t, vary(SWING_STANCE[request.variant], rng))
    body.trunk.to(t, {"flex": flex, "nod": 12 if golf else 0})
    for rep in range(request.reps):
        if golf and rep > 0:  # from the finish back down to the address
            t += span(rng, 0.8, tempo, 0.7)
            timing.to(t, {"path": address, "grip": 1.0})
            body.trunk.to(t, {"flex": flex, "nod": 12})
        if golf or rep > 0:  # take the club / bat back to the start of the swing
            t += span(rng, 0.8, tempo, 0.65)
            timing.to(t, {"path": 0.0, "grip": 1.0})
            twist = twist_sign * jitter(rng, start_twist)
            body.trunk.to(t, {"twist": twist, "look": -0.6 * twist, "flex": flex})
            t += span(rng, 0.12, tempo)
            timing.hold(t)
            body.trunk.hold(t)
        t += span(rng, 0.75 if golf else 0.55, tempo, 0.7 if golf else 0.5)
        timing.to(t, {"path": 1.0, "grip": 1.0})
        twist = twist_sign * jitter(rng, end_twist)
        body.trunk.to(t, {"twist": twist, "look": -0.5 * twist, "flex": flex})
        t += span(rng, 0.3, tempo)
        timing.hold(t)
        body.trunk.hold(t)
    end = t + span(rng, 0.8, tempo, 0.65)
    for track in (timing, body.trunk, body.stance):
        track.to(end, {})
    return end
