"""Throwing: overhand (with a stride) and underhand.

Timeline (seconds at normal tempo, randomised, scaled by TEMPO; a clip that would exceed
MAX_SECONDS is played faster):

* throw: overhand: cock the arm behind the head while striding (0.65) -> whip forward and down,
  the trunk leading (0.65) -> follow-through (0.2) -> the rear foot steps up (0.5) -> rest
  (0.25). Underhand: knees dip, the arm swings back low (0.55) -> forward and up (0.48) ->
  follow-through (0.25) -> rest (0.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import (
    ActionRequest,
    ActionResult,
    facts_of,
    jitter,
    other_side,
    planted_feet,
    register,
)
from esd.corpus.actions.upper_body.postures import SIDES, Body, Keys, apply_leg
from esd.corpus.actions.upper_body.timing import (
    clip_frames,
    fitted_tempo,
    frame_times,
    mirrored,
    sign,
    span,
    sway,
    vary,
)
from esd.corpus.physics import BodyMotion

THROW_COCKED = {"turn": 98, "flex": 95, "twist": 25, "elbow": 100}  # hand behind the head
THROW_FOLLOW = {"turn": -10, "flex": 50, "elbow": 25}  # down across the body after release
THROW_PEAK_FLEX = 125  # deg: the arm passes high over the shoulder during the whip
THROW_TWIST = 28  # deg: trunk turn away from the target when cocked, toward it after
THROW_REACH = 15  # deg: the elbow's extension during the whip
GUIDE_ARM = ({"flex": 75, "turn": -5, "elbow": 20}, {"flex": 25, "turn": 40, "elbow": 70})
STRIDE = 21  # deg: hip flexion of the front leg (and extension of the rear) after the stride
STEP_KNEE = 35  # deg: knee flexion of a swinging leg at mid-swing
LAND_KNEE = 0.2  # knee flexion of a front foot at landing, per degree of stride
LIFT_HIP = 1.1  # extra hip flexion of a swinging leg per degree of its knee flexion
UNDERHAND = (  # arm back low, then forward and up (trunk: twist for a left-hand throw)
    ({"flex": -42, "elbow": 12, "turn": 8}, {"twist": 15, "flex": 18}, 28),
    ({"flex": 95, "elbow": 12, "turn": -8}, {"twist": -15, "flex": -3}, 6),
)


@dataclass
class Steps:
    """Leg keys of forward steps (degrees) and the intervals in which each foot is lifted.

    Both hips follow the same keys (the stance leg's extension mirrors the swinging leg's
    flexion), and the swinging leg folds its knee on top. A leg stepping ahead of the stance leg
    also raises its thigh (LIFT_HIP per degree of knee), so its shin never reaches lower than the
    stance leg's; a leg catching up from behind only folds its knee.
    """

    hips: dict[str, Keys] = field(default_factory=lambda: {side: Keys() for side in SIDES})
    lifts: dict[str, Keys] = field(default_factory=lambda: {side: Keys() for side in SIDES})
    lifted: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: {side: [] for side in SIDES}
    )

    def step(self, mover: str, start: float, end: float, hips: dict[str, float], knee: float):
        """``mover`` swings from ``start`` to ``end`` s while both hips reach ``hips``.

        A step ahead lands on a slightly bent knee (LAND_KNEE x the stride): the rest shin leans
        back a little, so a straight front leg would reach lower than the rear one.
        """
        ahead = hips[mover] > 0.0
        raise_hip = LIFT_HIP if ahead else 0.0
        landing = LAND_KNEE * hips[mover] if ahead else 0.0
        for side in SIDES:
            self.hips[side].hold(start).to(end, {"hip": hips[side]})
            self.lifts[side].hold(start)
        self.lifts[mover].to(start + 0.4 * (end - start), {"hip": raise_hip * knee, "knee": knee})
        self.lifts[mover].to(end, {"hip": LIFT_HIP * landing, "knee": landing})
        self.lifts[other_side(mover)].to(end, {})
        self.lifted[mover].append((start, end))

    def apply(self, pose: rig.Pose) -> np.ndarray:
        """Apply the legs to ``pose``; return the planted mask (T, 22)."""
        frames = pose.frames
        t = frame_times(frames)
        lifted = {}
        for side in SIDES:
            hip = self.hips[side].curves(frames).get("hip", 0.0)
            lift = self.lifts[side].curves(frames)
            apply_leg(pose, side, hip + lift.get("hip", 0.0), lift.get("knee", 0.0))
            lifted[side] = np.zeros(frames, dtype=bool)
            for start, end in self.lifted[side]:
                lifted[side] |= (t > start) & (t < end)
        return planted_feet(frames, ~lifted["left"], ~lifted["right"])


def add_overhand(body: Body, steps: Steps, arm: str, start: float, tempo: float, rng) -> float:
    """Key one overhand throw from rest at ``start``; returns when the body is at rest again.

    The trunk leads the whip and the arm follows (their fastest moments do not coincide).
    """
    lead, s = other_side(arm), sign(arm)
    cock = start + span(rng, 0.65, tempo, 0.5)
    whip = span(rng, 0.65, tempo, 0.62)
    follow = cock + whip
    stride = jitter(rng, STRIDE)
    steps.step(lead, start + 0.25 * (cock - start), cock, {lead: stride, arm: -stride}, STEP_KNEE)
    join = follow + span(rng, 0.5, tempo, 0.4)
    steps.step(arm, follow + 0.05, join, {lead: 0.0, arm: 0.0}, jitter(rng, STEP_KNEE))
    turn_twist, flex, elbow = body.arms[arm]
    cocked, ending = vary(THROW_COCKED, rng), vary(THROW_FOLLOW, rng)
    turn_twist.to(cock, {k: cocked[k] for k in ("turn", "twist")}).hold(cock + 0.1 * whip)
    turn_twist.to(follow, {"turn": ending["turn"]})
    flex.to(cock, {"flex": cocked["flex"]}).hold(cock + 0.1 * whip)
    flex.to(cock + 0.45 * whip, {"flex": THROW_PEAK_FLEX}).to(follow, {"flex": ending["flex"]})
    elbow.to(cock, {"elbow": cocked["elbow"]}).hold(cock + 0.25 * whip)
    elbow.to(cock + 0.8 * whip, {"elbow": THROW_REACH}).to(follow, {"elbow": ending["elbow"]})
    guide = body.arm(lead)
    guide.to(cock, vary(GUIDE_ARM[0], rng)).to(follow, vary(GUIDE_ARM[1], rng))
    twist = jitter(rng, THROW_TWIST)
    body.trunk.to(cock, {"twist": s * twist, "look": -0.8 * s * twist, "flex": -8})
    body.trunk.to(cock + 0.7 * whip, {"twist": -s * twist, "look": 0.6 * s * twist, "flex": 20})
    end = join + span(rng, 0.25, tempo)
    for track in (*body.arms[arm], guide, body.trunk):
        track.hold(follow + span(rng, 0.2, tempo)).to(end, {})
    return end


def add_underhand(body: Body, arm: str, start: float, tempo: float, rng) -> float:
    """Key one underhand throw from rest at ``start``; returns when the body is at rest again."""
    t = start
    for (posture, trunk, knees), seconds, floor in zip(UNDERHAND, (0.55, 0.48), (0.4, 0.44)):
        t += span(rng, seconds, tempo, floor)
        body.arm(arm).to(t, vary(posture, rng))
        body.trunk.to(t, mirrored(arm, vary(trunk, rng)))
        body.stance.to(t, {"knees": jitter(rng, knees)})
        balance = {"flex": jitter(rng, 35 if knees > 10 else 12), "elbow": 25}  # the other arm
        body.arm(other_side(arm)).to(t, balance)
    t += span(rng, 0.25, tempo)
    end = t + span(rng, 0.5, tempo, 0.4)
    for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
        track.hold(t).to(end, {})
    return end


@register("throw")
def throw(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    arm = request.side or "right"
    tempo = fitted_tempo(request.speed, 0.2 + 1.7 * request.reps)
    body, steps = Body(), Steps()
    if request.variant == "overhand":
        body.arms[arm] = [Keys(), Keys(), Keys()]
    t = span(rng, 0.1, tempo)
    for _ in range(request.reps):
        if request.variant == "overhand":
            t = add_overhand(body, steps, arm, t, tempo, rng)
        else:
            t = add_underhand(body, arm, t, tempo, rng)
    frames = clip_frames(t)
    pose = body.render(frames, {"trunk": sway(frames, rng)})
    planted = steps.apply(pose)
    return ActionResult(BodyMotion(pose, planted, np.zeros(frames, dtype=bool)), facts_of(request))
