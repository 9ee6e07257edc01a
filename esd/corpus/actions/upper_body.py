"""Upper-body actions: punch, wave, raise_arms, clap, throw, push, arm_circles, swing, swim.

The feet stay planted (the legs only bend symmetrically: a boxing crouch, a golfer's hip hinge,
a lean from the ankles) except in the overhand throw, which strides forward with the foot
opposite the throwing arm while that foot is lifted and brings the rear foot up beside it
afterwards. Every clip starts and ends at rest with heading 0. Timelines in seconds at normal
tempo (randomised, scaled by TEMPO; a clip that would exceed MAX_SECONDS is played faster; fast
moves have minimum durations so joint accelerations stay below the contract's 0.25 m/frame^2):

* punch: guard up (0.4) -> per punch [load (0.15): hook, uppercut] -> strike (0.17 jab, 0.2
  cross, 0.24 hook, 0.22 uppercut) -> hold (0.06) -> back to the guard (0.24) -> ... -> guard
  down (0.42). Jab / cross: the fist shoots forward at shoulder height, the trunk twists into
  it (the cross much more); hook: the elbow up at shoulder height bent 90 deg, the fist sweeps
  across to the midline; uppercut: the knees dip, the fist drops to the waist and drives up to
  the chin. both = alternating arms. combo: reps combinations jab, cross (, hook), lead hand =
  side (both: the lead alternates), a pause (0.3) after each.
* wave: arm out and up (0.6) -> the forearm swings side to side reps + 2 times (0.5 s each)
  -> down (0.6). one_hand + both: one hand, then the other; both_hands: both (a named side's
  hand a little earlier and higher).
* raise_arms: per rep up (0.75) -> hold (0.35) -> down (0.7) -> pause (0.15): overhead (~170
  deg), forward (horizontal in front) or sideways (a "T").
* clap: hands up (0.45; overhead 0.6) -> reps x [close to contact (0.17) -> open (0.21)] ->
  down (0.5), in front of the chest or above the head; the palms stop exactly at contact.
* throw: overhand: cock the arm behind the head while striding (0.65) -> whip forward and down,
  the trunk leading (0.65) -> follow-through (0.2) -> the rear foot steps up (0.5) -> rest
  (0.25). Underhand: knees dip, the arm swings back low (0.55) -> forward and up (0.48) ->
  follow-through (0.25) -> rest (0.5).
* push: hands to the chest (0.45) -> per rep push forward at chest height, trunk and body
  leaning in (0.3) -> hold (0.35) -> back to the chest (0.35) -> down (0.45). one_hand + both:
  the hands alternate; two_hands + a side: that hand leads.
* arm_circles: arms out to the side (0.55) -> reps circles, small (14-22 deg, 0.65 s) or big
  (30-42 deg, 1.0 s) -> down (0.55); side both / left / right.
* swing (side = handedness): bat: hands together at the rear shoulder (0.6) -> across at
  chest height while the trunk turns through (0.55) -> follow-through at the lead shoulder
  (0.3) -> [back to the load (0.8), again] -> rest (0.8). golf: hinge, hands low together at
  the address (0.7) -> backswing up (0.8) -> pause (0.12) -> downswing through the bottom to a
  high finish (0.75) -> hold (0.3) -> [back to the address (0.8), again] -> rest (0.8).
* swim: freestyle: 2-3 windmill strokes per arm (1.4 s each), the arms half a stroke apart,
  with a trunk roll; breaststroke: 2-3 cycles (1.5 s) of glide with the hands together in
  front -> sweep out -> elbows bend, hands back together under the chin -> shoot forward.

Arm postures are named angles in degrees (``apply_arm``), keyed over time (``Keys``) and eased
with minimum jerk. Two-handed grips and palm contacts are solved with a small damped
Gauss-Newton inverse kinematics (``reach``) that also keeps the elbows out of the torso.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import (
    DEG,
    TEMPO,
    ActionRequest,
    ActionResult,
    facts_of,
    jitter,
    other_side,
    planted_feet,
    register,
)
from esd.corpus.curves import keyframes, minjerk, smooth_noise
from esd.corpus.physics import BodyMotion
from esd.motion.skeleton import FPS, JOINT_INDEX

SIDES = ("left", "right")
MAX_SECONDS = 8.3  # longest clip generated here (the contract allows 8.5 s)
TIMING_SPREAD = 0.12  # jitter spread of the timings
Posture = dict[str, float]  # named angles in degrees; a missing angle is 0 (rest)

REST_JOINTS = rig.rest_joints()
CHEST = JOINT_INDEX["spine3"]
FD_STEP = 1e-4  # rad: finite-difference step of the inverse kinematics
IK_DAMPING = 1e-4  # m^2 / rad^2: Levenberg damping of the inverse kinematics
ELBOW_RANGE = (2 * DEG, 150 * DEG)
ELBOW_CLEARANCE = 0.17  # m: an elbow stays this far from the chest's vertical axis (IK)
CLEARANCE_WEIGHT = 2.0  # weight of the elbow's clearance against the wrist's miss (IK)


# --- keyed postures and how they drive the rig --------------------------------------------------


class Keys:
    """Keyed postures of one body part, starting at rest at t = 0 (seconds, degrees).

    Between keys the angles follow minimum-jerk curves, so every key is a momentary stop (a
    strike, a turning point). Angles missing from a posture are 0.
    """

    def __init__(self) -> None:
        self.times: list[float] = [0.0]
        self.postures: list[Posture] = [{}]

    @property
    def time(self) -> float:
        return self.times[-1]

    @property
    def last(self) -> Posture:
        return self.postures[-1]

    def to(self, time: float, posture: Posture) -> Keys:
        """Reach ``posture`` at ``time`` (never before the previous key)."""
        self.times.append(max(time, self.times[-1]))
        self.postures.append(dict(posture))
        return self

    def hold(self, time: float) -> Keys:
        """Keep the current posture until ``time``."""
        return self.to(time, self.last)

    def curves(self, frames: int) -> dict[str, np.ndarray]:
        """Angle curves (radians) (T,) of every angle named in a posture."""
        names = sorted({name for posture in self.postures for name in posture})
        return {
            name: keyframes(frames, self.times, [p.get(name, 0.0) * DEG for p in self.postures])
            for name in names
        }


@dataclass
class Body:
    """Keyed tracks of one clip. An arm may have several tracks driving disjoint angles."""

    arms: dict[str, list[Keys]] = field(default_factory=lambda: {side: [Keys()] for side in SIDES})
    trunk: Keys = field(default_factory=Keys)
    stance: Keys = field(default_factory=Keys)

    def arm(self, side: str) -> Keys:
        return self.arms[side][0]

    def render(self, frames: int, extra: dict[str, dict] | None = None) -> rig.Pose:
        """The pose (T frames) of the tracks plus ``extra`` curves (radians) per part."""
        extra = extra or {}
        pose = rig.Pose.rest(frames)
        apply_stance(pose, merged([self.stance], frames, extra.get("stance")))
        apply_trunk(pose, merged([self.trunk], frames, extra.get("trunk")))
        for side in SIDES:
            apply_arm(pose, side, merged(self.arms[side], frames, extra.get(side)))
        return pose


def merged(tracks: Sequence[Keys], frames: int, extra: dict | None) -> dict[str, np.ndarray]:
    """Curves of all ``tracks`` with the ``extra`` curves added."""
    angles: dict[str, np.ndarray] = {}
    for track in tracks:
        angles.update(track.curves(frames))
    for name, curve in (extra or {}).items():
        angles[name] = angles.get(name, 0.0) + curve
    return angles


def apply_arm(pose: rig.Pose, side: str, angles: dict) -> None:
    """Arm angles (radians), in this order.

    turn: the plane in which the arm is raised, about the vertical (0 = forward, 90 deg = the
    side; negative: across the front); flex: elevation in that plane; abduct: sideways off the
    plane; twist: about the upper arm (external rotation positive; sets the plane of the elbow);
    elbow: flexion; shrug: the shoulder girdle up.
    """
    get = angles.get
    rig.collar_raise(pose, side, get("shrug", 0.0))
    rig.shoulder_rotate(pose, side, get("turn", 0.0))  # first: about the vertical
    rig.shoulder_flex(pose, side, get("flex", 0.0))
    rig.shoulder_abduct(pose, side, get("abduct", 0.0))
    rig.shoulder_rotate(pose, side, get("twist", 0.0))  # last: about the raised upper arm
    rig.elbow_flex(pose, side, get("elbow", 0.0))


def apply_trunk(pose: rig.Pose, angles: dict) -> None:
    """Trunk flex (forward), twist (to its left), bend (to its left); head nod and look (left)."""
    get = angles.get
    rig.spine_flex(pose, get("flex", 0.0))
    rig.spine_twist(pose, get("twist", 0.0))
    rig.spine_bend_side(pose, "left", get("bend", 0.0))
    rig.neck_flex(pose, get("nod", 0.0))
    rig.neck_turn(pose, get("look", 0.0))


def apply_stance(pose: rig.Pose, angles: dict) -> None:
    """Symmetric legs with flat feet: ``knees`` bent, the trunk ``hinge``-d forward at the hips,
    the whole body leaning forward from the ankles by ``lean``."""
    hinge, knees, lean = (angles.get(name, 0.0) for name in ("hinge", "knees", "lean"))
    rig.pelvis_tilt(pose, hinge + lean)
    for side in SIDES:
        rig.hip_flex(pose, side, hinge + 0.5 * knees)  # thigh: forward by knees / 2 - lean
        rig.knee_flex(pose, side, knees)  # shin: back by knees / 2 + lean
        rig.ankle_flex(pose, side, 0.5 * knees + lean)  # foot stays flat


def apply_leg(pose: rig.Pose, side: str, hip: np.ndarray, knee: np.ndarray) -> None:
    """One leg's hip flexion and knee flexion (radians), the foot kept parallel to the floor."""
    rig.hip_flex(pose, side, hip)
    rig.knee_flex(pose, side, knee)
    rig.ankle_flex(pose, side, knee - hip)


# --- timing and variation -------------------------------------------------------------------------


def fitted_tempo(speed: str, nominal: float) -> float:
    """TEMPO of ``speed``, made faster when a clip of ``nominal`` s (normal tempo) would exceed
    MAX_SECONDS."""
    tempo = TEMPO[speed]
    return min(tempo, MAX_SECONDS / (nominal * (1.0 + TIMING_SPREAD)))


def span(rng: np.random.Generator, seconds: float, tempo: float, floor: float = 0.0) -> float:
    """A randomised duration of ``seconds`` at ``tempo``, never shorter than ``floor``."""
    return max(jitter(rng, seconds * tempo, TIMING_SPREAD), floor)


def vary(posture: Posture, rng: np.random.Generator, spread: float = 0.08) -> Posture:
    """``posture`` with every angle scaled by a random factor."""
    return {name: jitter(rng, angle, spread) for name, angle in posture.items()}


def clip_frames(end: float) -> int:
    """Frames of a clip whose last key is at ``end`` s (the last frame is at or after it)."""
    return int(np.ceil(end * FPS - 1e-6)) + 1


def frame_times(frames: int) -> np.ndarray:
    return np.arange(frames) / FPS


def sign(side: str) -> float:
    """+1 for the left (+x), -1 for the right."""
    return rig.SIDE_SIGN[side]


def mirrored(side: str, posture: Posture, names: Sequence[str] = ("twist", "look", "bend")):
    """A trunk posture written for a left-side action, mirrored for ``side``."""
    return {k: (v * sign(side) if k in names else v) for k, v in posture.items()}


def sway(frames: int, rng: np.random.Generator, scale_deg: float = 1.5) -> dict[str, np.ndarray]:
    """Slow idle drift of the trunk and head (radians), zero at both ends."""
    window = np.sin(np.pi * np.linspace(0.0, 1.0, frames)) ** 2
    return {
        name: window * smooth_noise(frames, rng, scale_deg * DEG)
        for name in ("flex", "bend", "nod", "look")
    }


def standing_result(request: ActionRequest, pose: rig.Pose) -> ActionResult:
    return ActionResult(BodyMotion.standing(pose), facts_of(request))


# --- inverse kinematics of an arm (wrist targets in the chest frame) ------------------------------


def arm_in_chest(side: str, angles: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Wrist and elbow positions (K, 3) relative to spine3, in its frame, for (K,) arm angles."""
    frames = len(next(iter(angles.values())))
    pose = rig.Pose.rest(frames)
    apply_arm(pose, side, angles)
    joints = rig.forward_kinematics(pose) - REST_JOINTS[CHEST]
    return joints[:, JOINT_INDEX[f"{side}_wrist"]], joints[:, JOINT_INDEX[f"{side}_elbow"]]


def ik_residual(side: str, angles: dict[str, np.ndarray], targets: np.ndarray) -> np.ndarray:
    """(K, 4): the wrist's miss (m) and how far the elbow is inside the torso's clearance."""
    wrists, elbows = arm_in_chest(side, angles)
    inside = np.minimum(np.hypot(elbows[:, 0], elbows[:, 2]) - ELBOW_CLEARANCE, 0.0)
    return np.concatenate([targets - wrists, -CLEARANCE_WEIGHT * inside[:, None]], axis=1)


def reach(
    side: str,
    targets: np.ndarray,
    guess: Posture,
    unknowns: tuple[str, ...] = ("turn", "flex", "elbow"),
    steps: int = 10,
) -> dict[str, np.ndarray]:
    """Arm angles (radians) (K,) that put the wrist at ``targets`` (K, 3) (chest frame).

    Damped Gauss-Newton from ``guess`` (degrees, scalars or (K,)); angles not in ``unknowns``
    keep their guess. The elbow stays out of the torso (ELBOW_CLEARANCE from the chest's
    vertical axis) where the unknowns allow it.
    """
    count, width = len(targets), len(unknowns) + 1
    angles = {k: np.broadcast_to(np.asarray(v) * DEG, (count,)).copy() for k, v in guess.items()}
    for name in unknowns:
        angles.setdefault(name, np.zeros(count))
    for _ in range(steps):
        stacked = {name: np.tile(value, width) for name, value in angles.items()}
        for i, name in enumerate(unknowns):
            stacked[name][(i + 1) * count : (i + 2) * count] += FD_STEP
        residual = ik_residual(side, stacked, np.tile(targets, (width, 1)))
        residual = residual.reshape(width, count, -1)
        jac = ((residual[0] - residual[1:]) / FD_STEP).transpose(1, 2, 0)  # (K, R, U)
        jt = jac.transpose(0, 2, 1)  # (K, U, R)
        normal = jt @ jac + IK_DAMPING * np.eye(len(unknowns))
        step = np.linalg.solve(normal, jt @ residual[0][..., None])[..., 0]  # (K, U)
        for i, name in enumerate(unknowns):
            angles[name] = angles[name] + np.clip(step[:, i], -0.3, 0.3)
        if "elbow" in angles:
            angles["elbow"] = np.clip(angles["elbow"], *ELBOW_RANGE)
    return angles


def reach_posture(
    side: str,
    target: Sequence[float],
    guess: Posture,
    unknowns: tuple[str, ...] = ("turn", "flex", "elbow"),
) -> Posture:
    """One posture (degrees) with the wrist at ``target`` (3,) (chest frame, x of a left hand)."""
    point = np.array(target, dtype=np.float64)
    point[0] *= sign(side)
    angles = reach(side, point[None], guess, unknowns)
    return {name: float(value[0] / DEG) for name, value in angles.items()}


# --- punch ----------------------------------------------------------------------------------------

GUARD = {"flex": 50, "abduct": 10, "turn": -28, "elbow": 118}  # fists up in front of the chin
BOXING_KNEES = 14  # deg: soft knees of the boxing stance


@dataclass(frozen=True)
class PunchShape:
    strike: Posture  # the punching arm at impact
    twist: float  # deg: trunk turn into the punch (toward the other side)
    seconds: float  # strike duration at normal tempo
    floor: float  # shortest strike (s): keeps the fist's acceleration plausible at 20 fps
    load: Posture | None = None  # the arm before the strike (hook, uppercut)
    load_twist: float = 0.0  # deg: trunk turn away from the punch while loading
    dip: float = 0.0  # deg: extra knee bend while loading


PUNCH_SHAPES = {
    "jab": PunchShape({"flex": 88, "turn": -5, "elbow": 4}, 12, 0.17, 0.17),
    "cross": PunchShape({"flex": 90, "turn": 16, "elbow": 3, "shrug": 6}, 36, 0.2, 0.19),
    "hook": PunchShape(
        {"flex": 8, "abduct": 84, "turn": -58, "elbow": 88},
        34,
        0.24,
        0.23,
        load={"flex": 12, "abduct": 72, "turn": 0, "elbow": 100},
        load_twist=14,
    ),
    "uppercut": PunchShape(
        {"flex": 62, "turn": -22, "elbow": 112},
        26,
        0.22,
        0.2,
        load={"flex": 12, "turn": -5, "elbow": 85},
        load_twist=14,
        dip=14,
    ),
}


def punch_sequence(request: ActionRequest, rng: np.random.Generator) -> list[list[tuple]]:
    """Groups of (kind, arm) punches: one group per combination, or one punch per group."""
    side = request.side or "right"
    if request.variant == "combo":
        lead = side if side in SIDES else SIDES[int(rng.integers(2))]
        groups = []
        for _ in range(request.reps):
            group = [("jab", lead), ("cross", other_side(lead))]
            if rng.random() < 0.5:
                group.append(("hook", lead))
            groups.append(group)
            lead = other_side(lead) if side == "both" else lead
        return groups
    arm = side if side in SIDES else SIDES[int(rng.integers(2))]
    groups = []
    for _ in range(request.reps):
        groups.append([(request.variant, arm)])
        arm = other_side(arm) if side == "both" else arm
    return groups


def add_punch(body: Body, kind: str, arm: str, start: float, tempo: float, rng) -> float:
    """Key one punch of ``arm`` from the guard at ``start``; returns when it is back in guard."""
    shape = PUNCH_SHAPES[kind]
    keys, s = body.arm(arm), sign(arm)
    t = start
    if shape.load is not None:
        t += span(rng, 0.15, tempo, 0.14)
        keys.to(t, vary(shape.load, rng))
        twist = s * jitter(rng, shape.load_twist)
        body.trunk.to(t, {"twist": twist, "look": -0.8 * twist, "flex": 4})
        body.stance.to(t, {"knees": BOXING_KNEES + jitter(rng, shape.dip + 1)})
    t += span(rng, shape.seconds, tempo, shape.floor)
    keys.to(t, vary(shape.strike, rng, 0.05))
    twist = -s * jitter(rng, shape.twist)
    body.trunk.to(t, {"twist": twist, "look": -0.8 * twist, "flex": 4})
    body.stance.to(t, {"knees": BOXING_KNEES})
    t += span(rng, 0.06, tempo, 0.05)
    keys.hold(t)
    body.trunk.hold(t)
    t += span(rng, 0.24, tempo, 0.22)
    keys.to(t, GUARD)
    body.trunk.to(t, {"flex": 4})
    return t


@register("punch")
def punch(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    groups = punch_sequence(request, rng)
    count = sum(len(group) for group in groups)
    tempo = fitted_tempo(request.speed, 0.9 + 0.66 * count + 0.3 * len(groups))
    body = Body()
    t = span(rng, 0.4, tempo, 0.36)
    guard = {arm: vary(GUARD, rng, 0.05) for arm in SIDES}
    for arm in SIDES:
        body.arm(arm).to(t, guard[arm])
    body.trunk.to(t, {"flex": 4})
    body.stance.to(t, {"knees": BOXING_KNEES})
    for group in groups:
        for kind, arm in group:
            t = add_punch(body, kind, arm, t + span(rng, 0.04, tempo), tempo, rng)
        t += span(rng, 0.3 if request.variant == "combo" else 0.1, tempo)
        for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
            track.hold(t)
    end = t + span(rng, 0.42, tempo, 0.38)
    for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
        track.to(end, {})
    frames = clip_frames(end)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))


# --- wave -----------------------------------------------------------------------------------------

WAVE_RAISED = {"turn": 65, "flex": 105, "twist": -15, "elbow": 70}  # upper arm out and up
WAVE_SWAY = 30  # deg of elbow flexion either way: the hand swings side to side
WAVE_PERIOD = 0.5  # s per side-to-side cycle (~2 Hz)


def burst(frames: int, start: float, cycles: int, period: float, ramp: float) -> np.ndarray:
    """sin over ``cycles`` periods from ``start`` (s), faded in and out over ``ramp`` s; else 0."""
    t = frame_times(frames) - start
    length = cycles * period
    window = minjerk(t / ramp) * minjerk((length - t) / ramp)
    return np.where((t > 0) & (t < length), np.sin(2 * np.pi * t / period) * window, 0.0)


def wave_plan(request: ActionRequest, rng: np.random.Generator) -> list[tuple[str, int, float]]:
    """(hand, cycles, delay s) of each waving hand; delays relative to the previous hand."""
    cycles = request.reps + 2
    if request.variant == "both_hands":
        lead = request.side if request.side in SIDES else "left"
        delay = 0.12 if request.side in SIDES else 0.0
        return [(lead, cycles, 0.0), (other_side(lead), cycles, delay)]
    if request.side in SIDES:
        return [(request.side, cycles, 0.0)]
    first = SIDES[int(rng.integers(2))]
    cycles_first = max(2, (cycles + 1) // 2)
    return [(first, cycles_first, 0.0), (other_side(first), max(2, cycles + 1 - cycles_first), 0.0)]


@register("wave")
def wave(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    plan = wave_plan(request, rng)
    sequential = request.variant == "one_hand" and request.side == "both"
    period = jitter(rng, WAVE_PERIOD, 0.15)
    tempo = fitted_tempo(request.speed, 1.5 * len(plan) + period * sum(c for _, c, _ in plan))
    period = max(period * tempo, 0.4)
    body, bursts, t, end = Body(), [], 0.0, 0.0
    for hand, cycles, delay in plan:
        start = t + span(rng, 0.1, tempo) + delay * tempo
        up = start + span(rng, 0.6, tempo, 0.5)
        down = up + cycles * period
        raised = vary(WAVE_RAISED, rng)
        if hand != plan[0][0] and request.variant == "both_hands" and request.side in SIDES:
            raised["flex"] -= 8  # the named hand leads: the other a little lower
        lower = span(rng, 0.6, tempo, 0.5)
        key_wave_arm(body, hand, (start, up, down, down + lower), raised)
        bursts.append((hand, up, cycles, period))
        end = max(end, body.arm(hand).time)
        t = down + 0.4 * lower if sequential else start  # the next rises as this one drops
    end += span(rng, 0.1, tempo)
    frames = clip_frames(end)
    extra: dict[str, dict] = {"trunk": sway(frames, rng)}
    amplitude = jitter(rng, WAVE_SWAY) * DEG
    for hand, up, cycles, period_ in bursts:
        swing = amplitude * burst(frames, up - 0.1 * period_, cycles, period_, 0.3 * period_)
        extra[hand] = {"elbow": swing * sign(hand), "turn": 0.2 * swing * sign(hand)}
    return standing_result(request, body.render(frames, extra))


def key_wave_arm(body: Body, hand: str, times: tuple[float, ...], raised: Posture) -> None:
    """Raise ``hand`` at times (start, up, down, rest): the arm turns out to the side first."""
    start, up, down, rest = times
    body.arms[hand] = [Keys(), Keys()]
    lift, turn = body.arms[hand]
    lift.to(start, {}).to(up, {k: v for k, v in raised.items() if k != "turn"}).hold(down)
    lift.to(rest, {})
    turn.to(start, {}).to(0.5 * (start + up), {"turn": raised["turn"]})
    turn.hold(0.5 * (down + rest)).to(rest, {})


# --- raise_arms -----------------------------------------------------------------------------------

RAISED_ARMS = {
    "overhead": {"turn": -18, "abduct": 168, "shrug": 12, "elbow": 6},
    "forward": {"flex": 90, "turn": -2, "elbow": 4},
    "sideways": {"abduct": 90, "turn": 4, "elbow": 4},
}
RAISED_TRUNK = {"overhead": {"flex": -5, "nod": -10}, "forward": {}, "sideways": {"flex": -2}}


@register("raise_arms")
def raise_arms(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = fitted_tempo(request.speed, 0.2 + 1.95 * request.reps)
    body = Body()
    t = span(rng, 0.1, tempo)
    for _ in range(request.reps):
        top = t + span(rng, 0.75, tempo, 0.62 if request.variant == "overhead" else 0.45)
        held = top + span(rng, 0.35, tempo)
        down = held + span(rng, 0.7, tempo, 0.6 if request.variant == "overhead" else 0.45)
        trunk = vary(RAISED_TRUNK[request.variant], rng, 0.3)
        for arm in SIDES:
            raised = vary(RAISED_ARMS[request.variant], rng, 0.04)
            body.arm(arm).to(t, {}).to(top, raised).hold(held).to(down, {})
        body.trunk.to(t, {}).to(top, trunk).hold(held).to(down, {})
        t = down + span(rng, 0.15, tempo)
    frames = clip_frames(t)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))


# --- clap -----------------------------------------------------------------------------------------

CLAP_GAP = 0.055  # m between the wrist centres when the palms meet
CLAP_SHAPES = {
    # wrist at contact (chest frame, left hand), IK guess and unknowns, how the hands open
    "in_front": (
        (0.0, 0.06, 0.33),
        {"flex": 40, "turn": -35, "elbow": 100},
        ("turn", "flex", "elbow"),
        {"turn": 32, "elbow": -12},
    ),
    "overhead": (
        (0.0, 0.58, 0.1),
        {"flex": 165, "abduct": -10, "elbow": 15},
        ("flex", "abduct", "elbow"),
        {"abduct": 26, "elbow": 8},
    ),
}


def clap_postures(variant: str, rng: np.random.Generator) -> dict[str, tuple[Posture, Posture]]:
    """Per hand: (open, contact) postures; the contact is solved so the palms just meet."""
    target, guess, unknowns, opening = CLAP_SHAPES[variant]
    height = target[1] + rng.uniform(-0.04, 0.04)
    depth = target[2] + rng.uniform(-0.04, 0.04)
    widen = jitter(rng, 1.0, 0.2)
    postures = {}
    for arm in SIDES:
        contact = reach_posture(arm, (CLAP_GAP / 2, height, depth), guess, unknowns)
        opened = {k: v + widen * opening.get(k, 0.0) for k, v in contact.items()}
        postures[arm] = (opened, contact)
    return postures


@register("clap")
def clap(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    overhead = request.variant == "overhead"
    period = jitter(rng, 0.44 if overhead else 0.38, 0.12)
    tempo = fitted_tempo(request.speed, 1.2 + period * request.reps)
    postures = clap_postures(request.variant, rng)
    body = Body()
    t = span(rng, 0.6 if overhead else 0.45, tempo, 0.52 if overhead else 0.4)
    close = 0.45 * period * tempo
    for arm in SIDES:
        body.arm(arm).to(t, postures[arm][0])
    for _ in range(request.reps):
        for arm in SIDES:
            body.arm(arm).to(t + close, postures[arm][1]).to(t + period * tempo, postures[arm][0])
        t += period * tempo
    end = t + span(rng, 0.6 if overhead else 0.5, tempo, 0.52 if overhead else 0.42)
    for arm in SIDES:
        body.arm(arm).to(end, {})
    look = {"nod": -14} if overhead else {"nod": 6}
    body.trunk.to(0.5 * tempo, vary(look, rng)).hold(end - 0.4 * tempo).to(end, {})
    frames = clip_frames(end)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))


# --- throw ----------------------------------------------------------------------------------------

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


# --- push -----------------------------------------------------------------------------------------

PUSH_CHEST = {"flex": 10, "turn": -30, "abduct": 15, "elbow": 105}  # hands at the chest
PUSHED = {"flex": 80, "turn": -9, "elbow": 5}  # arms extended forward at chest height
PUSH_LEAN = {"flex": 12, "nod": -6}  # trunk while pushing
BODY_LEAN = 5  # deg: the whole body leans forward from the ankles while pushing


def push_hands(request: ActionRequest, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """The pushing hands of each rep (the first is the lead)."""
    if request.variant == "two_hands":
        lead = request.side if request.side in SIDES else SIDES[int(rng.integers(2))]
        return [(lead, other_side(lead))] * request.reps
    if request.side in SIDES:
        return [(request.side,)] * request.reps
    hand = SIDES[int(rng.integers(2))]
    return [(hand,) if i % 2 == 0 else (other_side(hand),) for i in range(request.reps)]


@register("push")
def push(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = fitted_tempo(request.speed, 1.0 + 1.05 * request.reps)
    body, lead_only = Body(), request.variant == "two_hands" and request.side in SIDES
    t = span(rng, 0.45, tempo, 0.35)
    for arm in SIDES:
        body.arm(arm).to(t, vary(PUSH_CHEST, rng, 0.05))
    for hands in push_hands(request, rng):
        out = t + span(rng, 0.3, tempo, 0.25)
        held = out + span(rng, 0.35, tempo)
        back = held + span(rng, 0.35, tempo, 0.3)
        for i, arm in enumerate(hands):
            pushed = vary(PUSHED, rng, 0.04)
            if lead_only and i == 1:  # the lead hand reaches further
                pushed = {**pushed, "flex": pushed["flex"] - 6, "elbow": 22}
            start = t + (0.05 * tempo if lead_only and i == 1 else 0.0)
            body.arm(arm).hold(start).to(out, pushed).hold(held).to(back, PUSH_CHEST)
        lean = vary(PUSH_LEAN, rng)
        if len(hands) == 1 or lead_only:  # the trunk turns the (leading) shoulder forward
            lean["twist"] = -sign(hands[0]) * jitter(rng, 12 if len(hands) == 1 else 7)
        body.trunk.hold(t).to(out, lean).hold(held).to(back, {})
        body.stance.hold(t).to(out, {"lean": jitter(rng, BODY_LEAN)}).hold(held).to(back, {})
        t = back
    end = t + span(rng, 0.45, tempo, 0.35)
    for track in (body.arm("left"), body.arm("right")):
        track.to(end, {})
    frames = clip_frames(end)
    return standing_result(request, body.render(frames, {"trunk": sway(frames, rng)}))


# --- arm_circles ----------------------------------------------------------------------------------


def circle_curves(frames: int, start: float, stop: float, size: float, turns: int, backward: bool):
    """Elevation and forward offsets (radians) of an arm circling ``turns`` times in [start, stop].

    Phase 0 is the top; forward circles move forward over the top.
    """
    t = frame_times(frames)
    u = np.clip((t - start) / (stop - start), 0.0, 1.0)
    phase = 2 * np.pi * turns * u
    ramp = 0.25 / turns  # fade the circle's size in and out over a quarter circle
    radius = size * minjerk(u / ramp) * minjerk((1.0 - u) / ramp)
    forward = radius * np.sin(phase) * (-1.0 if backward else 1.0)
    return {"abduct": radius * np.cos(phase), "turn": -forward}


@register("arm_circles")
def arm_circles(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    big = rng.random() < 0.5
    size = rng.uniform(30, 42) if big else rng.uniform(14, 22)
    period = jitter(rng, 1.0 if big else 0.65)
    tempo = fitted_tempo(request.speed, 1.2 + period * request.reps)
    period = max(period, (0.8 if big else 0.5) / tempo)  # no faster than this, whatever the tempo
    arms = SIDES if request.side == "both" else (request.side,)
    body = Body()
    up = span(rng, 0.55, tempo, 0.48)
    stop = up + request.reps * period * tempo
    end = stop + span(rng, 0.55, tempo, 0.48)
    height = jitter(rng, 90, 0.06)
    for arm in arms:
        body.arm(arm).to(up, {"abduct": height, "elbow": 4}).hold(stop).to(end, {})
    body.trunk.to(up, {"flex": -2}).hold(stop).to(end, {})
    frames = clip_frames(end)
    backward = request.variant == "backward"
    circle = circle_curves(frames, up, stop, size * DEG, request.reps, backward)
    extra: dict[str, dict] = dict.fromkeys(arms, circle)
    extra["trunk"] = sway(frames, rng)
    return standing_result(request, body.render(frames, extra))


# --- swing ----------------------------------------------------------------------------------------

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


# --- swim -----------------------------------------------------------------------------------------

# Freestyle arm keys within one stroke cycle: (fraction of the cycle, posture). The flex track
# only turns at the reach (overhead in front) and the exit (behind the hip); turn and elbow bend
# the arm out to the side with a high elbow during the recovery and a little during the pull.
CRAWL_FLEX = ((0.45, {"flex": 165}), (1.0, {"flex": -20}))
CRAWL_SHAPE = (
    (0.22, {"turn": 80, "elbow": 95}),
    (0.45, {"turn": 18, "elbow": 5}),
    (0.72, {"turn": 8, "elbow": 40}),
    (1.0, {"turn": 15, "elbow": 10}),
)
CRAWL_ROLL = 11  # deg: trunk twist toward the recovering arm
CRAWL_PERIOD = 1.4  # s per stroke cycle of one arm
# Breaststroke: hands together forward (glide), sweep out, elbows bend and the hands come
# together under the chin, then shoot forward again. Targets in the chest frame (left hand).
BREAST_GLIDE = ((0.05, 0.12, 0.47), {"flex": 85, "turn": -20, "elbow": 8})
BREAST_PRAY = ((0.05, 0.02, 0.27), {"flex": 25, "turn": -38, "elbow": 80})
BREAST_OUT = {"flex": 80, "turn": 45, "elbow": 15}
BREAST_IN = {"flex": 45, "turn": 15, "elbow": 105}
BREAST_PERIOD = 1.5  # s per stroke cycle


def key_crawl(body: Body, arm: str, start: float, cycles: int, period: float) -> float:
    """Freestyle strokes of one arm from rest at ``start``; returns when the arm is at rest."""
    flex, shape = body.arms[arm]
    flex.to(start, {})
    shape.to(start, {})
    for cycle in range(cycles):
        t0 = start + cycle * period
        for fraction, posture in CRAWL_FLEX:
            flex.to(t0 + fraction * period, posture)
        for fraction, posture in CRAWL_SHAPE:
            shape.to(t0 + fraction * period, posture)
    end = start + cycles * period + 0.3 * period
    flex.to(end, {})
    shape.to(end, {})
    return end


def freestyle(body: Body, tempo: float, rng: np.random.Generator) -> tuple[float, list]:
    """Key alternating freestyle strokes; returns the end (s) and the trunk roll bursts."""
    period = max(jitter(rng, CRAWL_PERIOD) * tempo, 1.35)
    cycles = int(rng.integers(2, 4))
    first = SIDES[int(rng.integers(2))]
    start = span(rng, 0.15, tempo)
    end = 0.0
    for i, arm in enumerate((first, other_side(first))):
        body.arms[arm] = [Keys(), Keys()]
        end = max(end, key_crawl(body, arm, start + 0.5 * period * i, cycles, period))
    return end + span(rng, 0.1, tempo), [(first, start, cycles, period)]


def breaststroke(body: Body, tempo: float, rng: np.random.Generator) -> tuple[float, list]:
    """Key breaststroke cycles with both arms; returns the end (s) (no trunk roll)."""
    period = max(jitter(rng, BREAST_PERIOD) * tempo, 1.2)
    cycles = int(rng.integers(2, 4))
    glide = {arm: reach_posture(arm, *BREAST_GLIDE) for arm in SIDES}
    pray = {arm: reach_posture(arm, *BREAST_PRAY) for arm in SIDES}
    out = dict.fromkeys(SIDES, vary(BREAST_OUT, rng))
    inward = dict.fromkeys(SIDES, vary(BREAST_IN, rng))
    t = span(rng, 0.45, tempo, 0.35)
    for arm in SIDES:
        body.arm(arm).to(t, pray[arm])
    for _ in range(cycles):
        keys = ((0.18, glide), (0.2, glide), (0.3, out), (0.2, inward), (0.12, pray))
        for fraction, posture in keys:
            t += fraction * period
            for arm in SIDES:
                body.arm(arm).to(t, posture[arm])
        body.trunk.to(t - 0.62 * period, {"flex": 8, "nod": -6}).to(t, {"flex": -2, "nod": 4})
        body.stance.to(t - 0.3 * period, {"knees": 6}).to(t, {"knees": 14})
    end = t + span(rng, 0.5, tempo, 0.4)
    for track in (body.arm("left"), body.arm("right"), body.trunk, body.stance):
        track.to(end, {})
    return end, []


@register("swim")
def swim(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    nominal = 0.9 + 3 * (CRAWL_PERIOD if request.variant == "freestyle" else BREAST_PERIOD)
    tempo = fitted_tempo(request.speed, nominal * 1.1)
    body = Body()
    stroke = freestyle if request.variant == "freestyle" else breaststroke
    end, rolls = stroke(body, tempo, rng)
    frames = clip_frames(end)
    extra: dict[str, dict] = {"trunk": sway(frames, rng)}
    for first, start, cycles, period in rolls:
        roll = sign(first) * jitter(rng, CRAWL_ROLL) * DEG
        twist = roll * burst(frames, start, cycles, period, 0.4 * period)
        extra["trunk"]["twist"] = twist
        extra["trunk"]["look"] = -0.5 * twist
    return standing_result(request, body.render(frames, extra))
