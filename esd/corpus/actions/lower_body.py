"""Lower-body and posture actions: lunge, squat, sit_down, stand_up, kneel, bow, stretch,
balance and pick_up.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and when
slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* lunge forward, per rep: lift the stepping foot and place it 0.6-0.9 m ahead (0.55) -> sink
  until the front thigh is near horizontal, rear heel up, rear knee low (0.6) -> hold (0.2) ->
  rise (0.55) -> step back (0.55). side: a 0.6-0.8 m step out to the side, the body sinking back
  over the bent stepping leg while the other leg stays straight.
* squat, per rep: down (0.9) -> hold (0.2) -> up (0.85), heels down. arms_forward lifts the arms
  to horizontal on the way down, hands_on_hips keeps the hands on the hips, deep goes well below
  parallel with the hands together at the chest.
* sit_down chair: lean forward (0.25) -> hips back and down, knees forward, trunk leaning
  (1.05) -> trunk upright, hands on the thighs (0.45): ends in ``seated_pose``. stand_up
  from_chair: exactly that timeline reversed, starting from the same seated pose.
* kneel one_knee: step back with the kneeling leg (0.6) -> lower the knee to the floor (0.7) ->
  hold (0.6-1.4) -> rise (0.7) -> step forward (0.6). both_knees: crouch onto the toes (0.8) ->
  knees forward onto the floor (0.55) -> tall kneel (0.6) -> hold -> the same in reverse.
  crouch: deep squat on the balls of the feet, hands to the floor in front (0.9) -> hold -> up.
* bow, per rep: bend forward at the hips, head following (0.7) -> hold (0.4) -> up (0.7);
  slight ~30 deg, deep ~70-90 deg; legs straight, hands at the sides or one across the waist.
* stretch overhead: arms up (0.9) -> reach, onto the toes or leaning back (0.5) -> hold (1.2)
  -> release (0.5) -> arms down (0.8); a named side reaches higher. side_bend: arms up (0.9)
  -> lean to the side (0.8) -> hold (0.8) -> upright (0.7) [-> the other side when no side is
  named] -> arms down (0.8). toe_touch: fold forward over straight legs, hands toward the toes
  (of the named foot) (1.2) -> hold (1.0) -> roll up (1.2).
* balance: weight over the standing leg (0.5) -> lift the other foot, knee up in front or foot
  behind (0.8) -> hold 1.5-2.9 s (not tempo-scaled) with small wobbles of the trunk and arms ->
  put it down (0.8) -> weight back (0.5). one_leg opens the arms loosely; arms_out first
  spreads them to a T (0.7).
* pick_up: bend (hips, knees slightly bent) or squat (trunk more upright) down, reaching the
  named hand, or both, to the floor in front (1.0) -> grasp (0.4) -> stand up with the hand at
  the waist (1.0) -> hold (0.4) -> hand down (0.5).

Legs are solved rather than animated joint by joint. An action says, in a floor frame (y up,
floor at 0, the starting pelvis above the origin, heading 0), where the pelvis is and where the
ball of each foot rests; ``place_leg`` finds the hip, knee and ankle rotations (analytic
two-bone IK, the foot pitched in the floor frame). Planted feet thus keep exactly their relative
position, which the physics needs to hold both still. Symmetric movements (squats, bows) are
described by one leg's sagittal angles and pinned the same way (``symmetric_legs``).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    seconds_to_frames,
)
from esd.corpus.curves import keyframes, pulse, smooth_noise
from esd.corpus.physics import BodyMotion
from esd.corpus.rig import CONTACT_HEIGHT, REST_OFFSETS, SIDE_SIGN, X_AXIS, axis_angle
from esd.motion.quaternion import qconj, qmul, qrot
from esd.motion.skeleton import FPS, JOINT_INDEX

SIDES = ("left", "right")
MAX_SECONDS = 8.2  # longest clip with every jitter at its maximum (the contract allows 8.5 s)
TIMING_SLACK = 1.2  # how much longer than nominal jittered timings can make a clip
REST_JOINTS = rig.rest_joints()
STAND_HEIGHT = rig.standing_pelvis_height()
START_PELVIS = np.array([0.0, STAND_HEIGHT, 0.0])  # floor frame: the pelvis of the rest pose
KNEE_ABOVE_BALL = CONTACT_HEIGHT["knee"] - CONTACT_HEIGHT["foot"]  # kneeling: knee vs toes
REACH = 0.95  # fraction of the straight-leg length a stepping leg may span at touchdown

# Held arm postures: shoulder flexion, abduction, rotation, elbow flexion (degrees).
ARM_POSES = {
    "hips": (-10, 35, -70, 75),  # hand on the hip, elbow out to the side
    "across": (5, -5, -60, 55),  # forearm across the waist
    "thighs": (20, -10, 0, 30),  # seated, hand resting on the thigh
    "chest": (15, 0, -50, 90),  # hands together in front of the chest
    "carry": (5, 0, -20, 80),  # holding something in front of the waist
}


def _joint(side: str, part: str) -> int:
    return JOINT_INDEX[f"{side}_{part}"]


def rest_ball(side: str) -> np.ndarray:
    """Floor-frame position (3,) of the ball of the foot in the rest pose."""
    return REST_JOINTS[_joint(side, "foot")] + START_PELVIS


# --- timing -----------------------------------------------------------------------------------


def fit_tempo(tempo: float, reps: int, rep_seconds: float, fixed_seconds: float) -> float:
    """``tempo``, shortened when the repetitions would take the clip past MAX_SECONDS."""
    longest = TIMING_SLACK * tempo * (reps * rep_seconds + fixed_seconds)
    return tempo * min(1.0, MAX_SECONDS / longest)


def phase_keys(
    start: float, reps: int, phases: tuple[float, ...], tempo: float, rng: np.random.Generator
) -> list[list[float]]:
    """Key times of each repetition: its start, then the end of each phase but the last (a pause
    before the next repetition). Hold phases (index 2) vary more."""
    t, out = start, []
    for _ in range(reps):
        keys = [t]
        for i, seconds in enumerate(phases[:-1]):
            keys.append(keys[-1] + jitter(rng, seconds * tempo, 0.4 if i == 2 else 0.1))
        out.append(keys)
        t = keys[-1] + jitter(rng, phases[-1] * tempo, 0.4)
    return out


def keyed(frames: int, keys: list[tuple[float, object]]) -> np.ndarray:
    """Min-jerk curve through (time, value) keys; values may be scalars (T,) or vectors (T, n)."""
    times = [k[0] for k in keys]
    values = np.array([k[1] for k in keys], dtype=np.float64)
    if values.ndim == 1:
        return keyframes(frames, times, values)
    return np.stack([keyframes(frames, times, values[:, i]) for i in range(values.shape[1])], 1)


def plateau(frames: int, rise: float, top: float, fall: float, bottom: float) -> np.ndarray:
    """(T,) 0 until ``rise`` s, eased up to 1 at ``top``, held until ``fall``, 0 at ``bottom``."""
    return keyed(frames, [(0.0, 0.0), (rise, 0.0), (top, 1.0), (fall, 1.0), (bottom, 0.0)])


def between(frames: int, start: float, end: float) -> np.ndarray:
    """(T,) bool: frames strictly between ``start`` and ``end`` seconds."""
    t = np.arange(frames) / FPS
    return (t > start) & (t < end)


# --- legs: two-bone IK in the floor frame -----------------------------------------------------


def _leg_vector(side: str, knee: np.ndarray) -> np.ndarray:
    """Hip -> ankle (T, 3) of a leg with the hip at rest and the knee flexed by ``knee`` (T,)."""
    thigh, shin = REST_OFFSETS[_joint(side, "knee")], REST_OFFSETS[_joint(side, "ankle")]
    cos, sin = np.cos(knee), np.sin(knee)
    bent = np.stack(
        [np.full_like(knee, shin[0]), shin[1] * cos - shin[2] * sin, shin[1] * sin + shin[2] * cos],
        axis=-1,
    )
    return thigh + bent


def leg_span(side: str, knee: float) -> float:
    """Hip-to-ankle distance (m) of a leg whose knee is flexed by ``knee`` radians."""
    return float(np.linalg.norm(_leg_vector(side, np.array([knee]))[0]))


def _knee_for_span(side: str, span: np.ndarray) -> np.ndarray:
    """Knee flexion (T,) giving a hip-to-ankle distance ``span`` (T,), clamped to [0, pi]."""
    thigh, shin = REST_OFFSETS[_joint(side, "knee")], REST_OFFSETS[_joint(side, "ankle")]
    p, q = thigh[1] * shin[1], -thigh[1] * shin[2]  # thigh . Rx(k) shin = p cos k + q sin k + c
    constant = thigh @ thigh + shin @ shin + 2 * thigh[0] * shin[0]
    cosine = (span**2 - constant) / (2 * np.hypot(p, q))
    return np.maximum(0.0, np.arctan2(q, p) + np.arccos(np.clip(cosine, -1.0, 1.0)))


def _orthonormal_frame(direction: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) with columns (u, x', u x x'): u = ``direction`` normalised,
    x' = the x axis made perpendicular to u (well defined: no leg direction is sideways)."""
    u = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    hinge = X_AXIS - u[:, :1] * u  # x - (x . u) u
    hinge /= np.linalg.norm(hinge, axis=1, keepdims=True)
    return np.stack([u, hinge, np.cross(u, hinge)], axis=2)


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Unit quaternions (T, 4) of rotation matrices (T, 3, 3) (Shepperd: the largest component
    is taken from the diagonal, the others from the off-diagonal sums)."""
    m00, m11, m22 = m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]
    squares = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22,
                        1 - m00 - m11 + m22], axis=1)  # fmt: skip
    pick = np.argmax(squares, axis=1)
    s = 2 * np.sqrt(squares[np.arange(len(m)), pick])  # 4 |q_pick|
    a, b, c = m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]
    e, f, g = m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1]
    rows = (
        (s * s / 4, a, b, c),  # w largest
        (a, s * s / 4, e, f),  # x largest
        (b, e, s * s / 4, g),  # y largest
        (c, f, g, s * s / 4),  # z largest
    )
    q = np.stack([np.choose(pick, [row[k] for row in rows]) for k in range(4)], axis=1) / s[:, None]
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)


def leg_ik(pose: rig.Pose, side: str, ankle: np.ndarray) -> None:
    """Rotate the hip and flex the knee of ``side`` so the ankle reaches ``ankle`` (T, 3).

    ``ankle`` is relative to the pelvis in the heading frame; the pelvis rotation must be set and
    the leg at rest. The knee flexion gives the hip-to-ankle distance; the hip rotation turns
    that leg vector onto the target while keeping the knee hinge as close to the pelvis's x axis
    as possible, so the knee points forward (the identity when the target is the rest ankle).
    """
    pelvis = pose.local[:, 0]
    hip = REST_OFFSETS[_joint(side, "hip")]
    d = qrot(qconj(pelvis), ankle - qrot(pelvis, hip))  # (T, 3) hip -> ankle, pelvis frame
    knee = _knee_for_span(side, np.linalg.norm(d, axis=1))
    v = _leg_vector(side, knee)  # (T, 3) hip -> ankle in the thigh's frame
    turn = _orthonormal_frame(d) @ np.swapaxes(_orthonormal_frame(v), 1, 2)  # (T, 3, 3)
    j = _joint(side, "hip")
    pose.local[:, j] = qmul(pose.local[:, j], matrix_to_quaternion(turn))
    rig.knee_flex(pose, side, knee)


def ankle_target(side: str, ball: np.ndarray, pitch: np.ndarray | float) -> np.ndarray:
    """Where the ankle is when the ball of the foot is at ``ball`` with the foot pitched by
    ``pitch`` (heel raise, radians; 0 = flat) in the floor frame."""
    ankle = ball - qrot(axis_angle(X_AXIS, pitch), REST_OFFSETS[_joint(side, "foot")])
    return ankle[0] if np.ndim(pitch) == 0 else ankle


def place_leg(
    pose: rig.Pose, side: str, pelvis: np.ndarray, ball: np.ndarray, pitch: np.ndarray
) -> None:
    """Set the leg of ``side`` so its ball is at ``ball`` (T, 3) when the pelvis is at ``pelvis``
    (T, 3), both in the floor frame; the foot is pitched by ``pitch`` (T,) in that frame (the
    ankle rotation is whatever undoes the shin's orientation)."""
    frames = pose.frames
    pitch = np.broadcast_to(pitch, (frames,)).astype(np.float64)
    leg_ik(pose, side, ankle_target(side, ball, pitch) - pelvis)
    shin = qmul(
        qmul(pose.local[:, 0], pose.local[:, _joint(side, "hip")]),
        pose.local[:, _joint(side, "knee")],
    )
    pose.local[:, _joint(side, "ankle")] = qmul(qconj(shin), axis_angle(X_AXIS, pitch))


def sagittal_leg(pose: rig.Pose, side: str, tilt, thigh, shin, heel) -> None:
    """Leg angles from floor-frame pitches: thigh forward of vertical, shin leaning forward (knee
    ahead of the ankle), heel raise; ``tilt`` is the pelvis pitch already applied."""
    rig.hip_flex(pose, side, thigh + tilt)
    rig.knee_flex(pose, side, thigh + shin)
    rig.ankle_flex(pose, side, shin - heel)


def symmetric_legs(pose: rig.Pose, tilt, thigh, shin, heel) -> np.ndarray:
    """Pitch the pelvis by ``tilt`` and bend both legs alike (``sagittal_leg`` pitches, (T,)),
    both balls pinned at rest; returns the floor-frame pelvis path (T, 3)."""
    frames = pose.frames
    rig.pelvis_tilt(pose, tilt)
    probe = rig.Pose.rest(frames)
    rig.pelvis_tilt(probe, tilt)
    sagittal_leg(probe, "left", tilt, thigh, shin, heel)
    pelvis = rest_ball("left") - rig.forward_kinematics(probe)[:, _joint("left", "foot")]
    for side in SIDES:
        ball = np.broadcast_to(rest_ball(side), (frames, 3))
        place_leg(pose, side, pelvis, ball, np.broadcast_to(heel, (frames,)))
    return pelvis


def _pitched(offset: np.ndarray, angle: float) -> np.ndarray:
    """``offset`` (3,) rotated by ``angle`` about x."""
    return qrot(axis_angle(X_AXIS, angle)[0], offset)


def pitch_for_height(offset: np.ndarray, height: float, hint: float) -> float:
    """Angle b about x with (Rx(b) offset)_y = ``height``, the solution nearest ``hint``."""
    radius, beta = np.hypot(offset[1], offset[2]), np.arctan2(offset[2], offset[1])
    base = np.arccos(np.clip(height / radius, -1.0, 1.0))
    candidates = np.array([base - beta, -base - beta])
    wrapped = (candidates - hint + np.pi) % (2 * np.pi) - np.pi
    return float(hint + wrapped[np.argmin(np.abs(wrapped))])


def pelvis_height_for(
    pelvis_xz: tuple[float, float], tilt: float, side: str, ankle: np.ndarray, span: float
) -> float:
    """Pelvis height putting the hip of ``side`` at distance ``span`` from ``ankle`` (3,)."""
    hip = _pitched(REST_OFFSETS[_joint(side, "hip")], tilt)
    dx, dz = ankle[0] - pelvis_xz[0] - hip[0], ankle[2] - pelvis_xz[1] - hip[2]
    return float(ankle[1] + np.sqrt(max(span**2 - dx**2 - dz**2, 0.0)) - hip[1])


def reachable_height(pelvis_xz, tilt: float, ankles: dict, reach: float = REACH) -> float:
    """Highest pelvis (at most a little below standing) from which every leg reaches its ankle
    target spanning at most ``reach`` of its straight length (0.95: knee ~36 deg)."""
    limits = [
        pelvis_height_for(pelvis_xz, tilt, side, ankle, reach * leg_span(side, 0.0))
        for side, ankle in ankles.items()
    ]
    return min([*limits, STAND_HEIGHT - 0.02])


# --- arms and trunk ---------------------------------------------------------------------------


def arm(pose: rig.Pose, side: str, flex=0.0, abduct=0.0, rotate=0.0, elbow=0.0) -> None:
    """Shoulder flexion, abduction, rotation and elbow flexion (radians), in that order."""
    rig.shoulder_flex(pose, side, flex)
    rig.shoulder_abduct(pose, side, abduct)
    rig.shoulder_rotate(pose, side, rotate)
    rig.elbow_flex(pose, side, elbow)


def held_angles(name: str, weight) -> tuple:
    """The four angles of ``ARM_POSES[name]`` scaled by ``weight`` (0 = hanging, 1 = held)."""
    return tuple(angle * DEG * weight for angle in ARM_POSES[name])


def reach_flex(pose: rig.Pose, frame: int, side: str, height: float, abduct=0.0, elbow=0.0):
    """Shoulder flexion (rad) bringing the wrist ``height`` m above the floor at ``frame``,
    reaching forward of the arm's lowest point (feet planted, arm at rest)."""
    grid = np.linspace(0.0, 170 * DEG, 69)
    probe = rig.Pose(np.repeat(pose.local[frame : frame + 1], len(grid), 0), np.zeros(len(grid)))
    arm(probe, side, grid, abduct, 0.0, elbow)
    joints = rig.forward_kinematics(probe)
    floor = joints[0, [_joint(s, "foot") for s in SIDES], 1].min() - CONTACT_HEIGHT["foot"]
    wrist = joints[:, _joint(side, "wrist"), 1] - floor
    low = int(np.argmin(wrist))
    above = np.nonzero(wrist[low:] >= height)[0]
    if len(above) == 0:
        return float(grid[-1])
    i = low + int(above[0])
    if i == low:
        return float(grid[low])  # cannot reach that low: the lowest point
    share = (height - wrist[i - 1]) / (wrist[i] - wrist[i - 1])
    return float(grid[i - 1] + share * (grid[i] - grid[i - 1]))


def wobble(frames: int, rng: np.random.Generator, scale: float, gate: np.ndarray) -> np.ndarray:
    """Small slow noise (T,) of about ``scale``, faded in and out by ``gate`` (T,) in [0, 1]."""
    return smooth_noise(frames, rng, scale, period=0.7) * gate


def _result(request: ActionRequest, pose: rig.Pose, planted: np.ndarray) -> ActionResult:
    motion = BodyMotion(pose, planted, np.zeros(pose.frames, dtype=bool))
    return ActionResult(motion, facts_of(request))


# --- stepping stances: lunges and the one-knee kneel ------------------------------------------


@dataclass
class Stance:
    """Key postures of a step-and-sink action in the floor frame."""

    mover: str  # the leg that steps out and back
    target: np.ndarray  # (3,) where the moving ball lands
    touchdown: np.ndarray  # (3,) pelvis when it lands
    bottom: np.ndarray  # (3,) pelvis at the deepest point
    tilt: tuple[float, float]  # pelvis pitch at touchdown and at the bottom (rad)
    heel: dict  # side -> (pitch at touchdown, pitch at the bottom) of each foot (rad)
    lift: float  # apex of the stepping foot above its straight path (m)
    sway: float  # pelvis shift over the support foot in mid-step (m)


STANCE_PHASES = (0.55, 0.6, 0.2, 0.55, 0.55, 0.15)  # out, sink, hold, rise, back, pause


def _stance_keys(stance: Stance, reps: list[list[float]]) -> dict[str, list]:
    """(time, value) keys of the pelvis, pitch, heels and moving ball for each repetition."""
    home = rest_ball(stance.mover)
    keys = {"pelvis": [(0.0, START_PELVIS)], "tilt": [(0.0, 0.0)], "ball": [(0.0, home)]}
    keys.update({side: [(0.0, 0.0)] for side in SIDES})
    for a, b, c, d, e, f in reps:
        keys["pelvis"] += [(a, START_PELVIS), (b, stance.touchdown), (c, stance.bottom)]
        keys["pelvis"] += [(d, stance.bottom), (e, stance.touchdown), (f, START_PELVIS)]
        td, low = stance.tilt
        keys["tilt"] += [(a, 0.0), (b, td), (c, low), (d, low), (e, td), (f, 0.0)]
        for side in SIDES:
            td, low = stance.heel[side]
            keys[side] += [(a, 0.0), (b, td), (c, low), (d, low), (e, td), (f, 0.0)]
        out, back = a + 0.15 * (b - a), e + 0.15 * (f - e)  # the foot rises before it travels
        keys["ball"] += [(a, home), (out, home), (b, stance.target)]
        keys["ball"] += [(e, stance.target), (back, stance.target), (f, home)]
    return keys


def stance_pose(stance: Stance, reps: list[list[float]], frames: int) -> tuple:
    """Pose (legs and pelvis pitch) and planted mask of a stepping action."""
    keys = _stance_keys(stance, reps)
    pelvis, ball = keyed(frames, keys["pelvis"]), keyed(frames, keys["ball"])
    support = other_side(stance.mover)
    lifted = np.zeros(frames, dtype=bool)
    for a, b, _, _, e, f in reps:
        for start, end in ((a, b), (e, f)):
            half = (end - start) / 2
            arc = pulse(frames, start, 0.9 * half, 0.0, 1.1 * half)  # (T,) 0 -> 1 -> 0
            ball[:, 1] += stance.lift * arc
            pelvis[:, 0] += SIDE_SIGN[support] * stance.sway * pulse(frames, start, half, 0, half)
            lifted |= between(frames, start, end)
    pose = rig.Pose.rest(frames)
    rig.pelvis_tilt(pose, keyed(frames, keys["tilt"]))
    fixed = np.broadcast_to(rest_ball(support), (frames, 3))
    place_leg(pose, stance.mover, pelvis, ball, keyed(frames, keys[stance.mover]))
    place_leg(pose, support, pelvis, fixed, keyed(frames, keys[support]))
    planted = planted_feet(frames, True, True)
    planted[:, _joint(stance.mover, "foot")] = ~lifted
    return pose, planted, pelvis


def depth_curve(frames: int, reps: list[list[float]], touchdown: float = 0.3) -> np.ndarray:
    """(T,) 0 standing -> ``touchdown`` when the foot lands -> 1 at the bottom, per repetition."""
    keys = [(0.0, 0.0)]
    for a, b, c, d, e, f in reps:
        keys += [(a, 0.0), (b, touchdown), (c, 1.0), (d, 1.0), (e, touchdown), (f, 0.0)]
    return keyed(frames, keys)


# --- lunge ------------------------------------------------------------------------------------


def knee_height(side: str, pelvis: np.ndarray, tilt: float, ball: np.ndarray, pitch: float):
    """Height (m) of the knee of a leg placed on ``ball`` (3,) from ``pelvis`` (3,)."""
    probe = rig.Pose.rest(1)
    rig.pelvis_tilt(probe, tilt)
    place_leg(probe, side, pelvis[None], ball[None], np.array([pitch]))
    return float(pelvis[1] + rig.forward_kinematics(probe)[0, _joint(side, "knee"), 1])


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
    return _result(request, pose, planted)


# --- squat ------------------------------------------------------------------------------------

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
    return _result(request, pose, planted_feet(frames, True, True))


# --- sit_down / stand_up ----------------------------------------------------------------------

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
    return _result(request, sitting_pose(frames, curves), planted_feet(frames, True, True))


@register("stand_up")
def stand_up(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    curves = {name: curve[::-1].copy() for name, curve in sit_curves(request, rng).items()}
    frames = len(curves["thigh"])
    return _result(request, sitting_pose(frames, curves), planted_feet(frames, True, True))


# --- kneel ------------------------------------------------------------------------------------

KNEEL_PHASES = (0.6, 0.7, 1.0, 0.7, 0.6, 0.0)  # step back, knee down, hold, rise, step, -


def kneel_stance(side: str, rng: np.random.Generator) -> Stance:
    """One-knee kneel on ``side``: rear knee on the floor below the hip, toes tucked under, the
    front shin near vertical, the front foot where it stood; derived sagittally."""
    front = other_side(side)
    tilt, heel = jitter(rng, 4, 0.5) * DEG, jitter(rng, 68, 0.05) * DEG
    offset = {part: REST_OFFSETS[_joint(side, part)] for part in ("hip", "knee", "ankle", "foot")}
    knee = _pitched(offset["hip"], tilt) + _pitched(offset["knee"], -rng.uniform(-4, 8) * DEG)
    toes = _pitched(offset["foot"], heel)
    shin = pitch_for_height(offset["ankle"], -KNEE_ABOVE_BALL - toes[1], 100 * DEG)
    rear_ball = knee + _pitched(offset["ankle"], shin) + toes  # relative to the pelvis
    offset = {part: REST_OFFSETS[_joint(front, part)] for part in ("hip", "knee", "ankle", "foot")}
    hip = _pitched(offset["hip"], tilt)
    low = _pitched(offset["ankle"], rng.uniform(0, 10) * DEG) + offset["foot"]  # knee -> ball
    thigh = pitch_for_height(offset["knee"], rear_ball[1] - hip[1] - low[1], -100 * DEG)
    bottom = rest_ball(front) - (hip + _pitched(offset["knee"], thigh) + low)
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
    planted[:, _joint(side, "knee")] = (t >= down) & (t <= up)
    depth = depth_curve(frames, reps)
    rig.spine_flex(pose, jitter(rng, 8, 0.4) * DEG * np.sin(np.pi * depth))  # lean on the way
    rig.neck_flex(pose, jitter(rng, 8, 0.5) * DEG * depth)
    arm(pose, other_side(side), *held_angles("thighs", depth**2))  # hand on the front knee
    return pose, planted


KNEES_PHASES = (0.15, 0.8, 0.55, 0.6)  # still, crouch on the toes, knees down, tall kneel


def kneel_both_keys(tempo: float, rng: np.random.Generator) -> tuple[dict[str, list], tuple]:
    """Keys (floor-frame pitches, rad) of the both-knees kneel and its knees-down interval."""
    heel = jitter(rng, 68, 0.05)
    toes = _pitched(REST_OFFSETS[_joint("left", "foot")], heel * DEG)
    ankle = REST_OFFSETS[_joint("left", "ankle")]
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
        planted[:, _joint(knee_side, "knee")] = kneeling
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
    return _result(request, pose, planted)


# --- bow --------------------------------------------------------------------------------------

BOW_PITCH = {"slight": 35, "deep": 90}  # trunk pitch at the bottom (deg)
BOW_PHASES = (0.7, 0.4, 0.7, 0.2)  # down, hold, up, pause


@register("bow")
def bow(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = fit_tempo(TEMPO[request.speed], request.reps, sum(BOW_PHASES), 0.4)
    start = jitter(rng, 0.2 * tempo)
    keys, t = [(0.0, 0.0), (start, 0.0)], start
    for _ in range(request.reps):
        down = t + jitter(rng, BOW_PHASES[0] * tempo)
        hold = down + jitter(rng, BOW_PHASES[1] * tempo, 0.4)
        up = hold + jitter(rng, BOW_PHASES[2] * tempo)
        keys += [(down, 1.0), (hold, 1.0), (up, 0.0)]
        t = up + jitter(rng, BOW_PHASES[3] * tempo, 0.4)
    end = up + jitter(rng, 0.2 * tempo)
    frames = seconds_to_frames(end)
    pitch = jitter(rng, BOW_PITCH[request.variant], 0.12) * DEG * keyed(frames, keys)
    pose = rig.Pose.rest(frames)
    lean = 0.06 * pitch  # legs lean back a little: the hips go back, the feet stay flat
    symmetric_legs(pose, 0.72 * pitch, lean, -lean, np.zeros(frames))
    rig.spine_flex(pose, 0.28 * pitch)
    rig.neck_flex(pose, jitter(rng, 0.25, 0.3) * pitch)  # the head follows
    if rng.uniform() < 0.4:  # one forearm across the waist, the other at the side
        across = keyed(frames, [(0.0, 0.0), (keys[2][0], 1.0), (keys[-2][0], 1.0), (end, 0.0)])
        arm(pose, str(rng.choice(SIDES)), *held_angles("across", across))
    return _result(request, pose, planted_feet(frames, True, True))


# --- stretch ----------------------------------------------------------------------------------


def standing_legs(pose: rig.Pose, pelvis: np.ndarray, heel) -> None:
    """Both balls planted at rest while the pelvis follows ``pelvis`` (T, 3) (floor frame)."""
    for side in SIDES:
        ball = np.broadcast_to(rest_ball(side), (pose.frames, 3))
        place_leg(pose, side, pelvis, ball, np.broadcast_to(heel, (pose.frames,)))


def arms_overhead(pose: rig.Pose, raised, rng: np.random.Generator, higher: str | None = None):
    """Both arms up by ``raised`` (T,) in [0, 1]; the ``higher`` arm reaches further (shoulder
    shrugged, fully stretched), the other one relaxes a little."""
    flex, spread = jitter(rng, 170, 0.03) * DEG, jitter(rng, 8, 0.5) * DEG
    for side in SIDES:
        extra = 0.0 if higher is None else 1.0 if side == higher else -1.0
        rig.collar_raise(pose, side, (8 + 9 * extra) * DEG * raised**2)
        reach = min(flex + 6 * DEG * extra, 176 * DEG)  # past vertical the hand comes down
        elbow = (6 + 9 * max(-extra, 0.0)) * DEG
        arm(pose, side, reach * raised, spread * raised, 0.0, elbow * raised)


def stretch_overhead(side: str | None, tempo: float, rng: np.random.Generator) -> rig.Pose:
    phases = (0.2, 0.9, 0.5, 1.2, 0.5, 0.8, 0.2)  # still, arms up, reach, hold, release, down
    start, up, reach, hold, release, down, end = np.cumsum([jitter(rng, p * tempo) for p in phases])
    frames = seconds_to_frames(end)
    raised = plateau(frames, start, up, release, down)
    stretch = plateau(frames, up, reach, hold, release)
    style = rng.uniform()
    heel = jitter(rng, 20, 0.25) * DEG * stretch if style < 0.65 else 0.0 * stretch
    pose = rig.Pose.rest(frames)
    straight = np.zeros(frames)
    symmetric_legs(pose, straight, straight, straight, heel)  # onto the toes: the body rises
    lean = jitter(rng, 10, 0.3) * DEG if style > 0.4 else 3 * DEG  # arch back
    rig.spine_flex(pose, -lean * stretch)
    rig.neck_flex(pose, -jitter(rng, 15, 0.3) * DEG * stretch)
    if side is not None:  # the named arm reaches higher, the trunk giving way to the other side
        rig.spine_bend_side(pose, other_side(side), jitter(rng, 7, 0.3) * DEG * stretch)
    arms_overhead(pose, raised, rng, higher=side)
    return pose


def stretch_side_bend(side: str | None, tempo: float, rng: np.random.Generator) -> rig.Pose:
    order = [side] if side is not None else [str(s) for s in rng.permutation(SIDES)]
    tempo = fit_tempo(tempo, len(order), 2.3, 2.1)
    start = jitter(rng, 0.2 * tempo)
    up = start + jitter(rng, 0.9 * tempo)
    bend_keys, t = [(0.0, 0.0), (up, 0.0)], up
    for lean_side in order:
        angle = SIDE_SIGN[lean_side] * jitter(rng, 28, 0.15) * DEG  # + toward the left
        lean = t + jitter(rng, 0.8 * tempo)
        hold = lean + jitter(rng, 0.8 * tempo, 0.4)
        t = hold + jitter(rng, 0.7 * tempo)
        bend_keys += [(lean, angle), (hold, angle), (t, 0.0)]
    down = t + jitter(rng, 0.8 * tempo)
    frames = seconds_to_frames(down + jitter(rng, 0.2 * tempo))
    bend = keyed(frames, bend_keys)
    pose = rig.Pose.rest(frames)
    pelvis = np.broadcast_to(START_PELVIS, (frames, 3)).copy()
    pelvis[:, 0] -= 0.1 * bend  # the hips go out the other way (~5 cm)
    standing_legs(pose, pelvis, 0.0)
    rig.spine_bend_side(pose, "left", bend)
    arms_overhead(pose, plateau(frames, start, up, t, down), rng)
    return pose


def stretch_toe_touch(side: str | None, tempo: float, rng: np.random.Generator) -> rig.Pose:
    phases = (0.2, 1.2, 1.0, 1.2, 0.2)  # still, fold, hold, roll up, still
    start, down, hold, up, end = np.cumsum([jitter(rng, p * tempo) for p in phases])
    frames = seconds_to_frames(end)
    fold = plateau(frames, start, down, hold, up)
    pose = rig.Pose.rest(frames)
    lean = jitter(rng, 12, 0.2) * DEG * fold  # straight legs lean back: the hips go back
    symmetric_legs(pose, jitter(rng, 85, 0.06) * DEG * fold, lean, -lean, np.zeros(frames))
    rig.spine_flex(pose, jitter(rng, 55, 0.1) * DEG * fold)
    if side is not None:  # toward that foot
        rig.spine_twist(pose, SIDE_SIGN[side] * jitter(rng, 15, 0.2) * DEG * fold)
    rig.neck_flex(pose, 12 * DEG * fold)
    bottom = min(frames - 1, round(down * FPS))
    for arm_side in SIDES:
        flex = reach_flex(pose, bottom, arm_side, 0.0, -5 * DEG)  # hanging straight down
        arm(pose, arm_side, flex * fold**1.5, -5 * DEG * fold)
    return pose


@register("stretch")
def stretch(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    make = {"overhead": stretch_overhead, "side_bend": stretch_side_bend}
    pose = make.get(request.variant, stretch_toe_touch)(request.side, TEMPO[request.speed], rng)
    return _result(request, pose, planted_feet(pose.frames, True, True))


# --- balance ----------------------------------------------------------------------------------

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
    planted[:, _joint(other_side(stand), "foot")] = ~lifted
    return _result(request, pose, planted)


# --- pick_up ----------------------------------------------------------------------------------

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
    return _result(request, pose, planted_feet(frames, True, True))
