"""BVH (Biovision hierarchy) for t2m joint positions: rotation fitting, writing, reading, FK.

Skeleton in the file: the 22 t2m joints under their ``JOINT_NAMES``, parents as ``PARENTS``;
each leaf (feet, head, wrists) carries an ``End Site``. Offsets are in file units of
``BvhConfig.unit_scale`` per metre (default 100: centimetres, the BVH habit; Blender's importer
takes scale 0.01 to get metres back). Axes are the motion's: y up.

Offsets: ``BONE_LENGTHS * REST_DIRECTIONS`` (= ``TARGET_OFFSETS``) for every bone whose parent
has one child. The children of the two branching joints (pelvis -> hips + spine1, spine3 -> neck
+ collars) are a rigid group in real data whose shape is not the t2m rest directions (the hips
point down-and-out, not straight out), so by default their directions are re-fitted to the
motion (generalised Procrustes, gauge-fixed to be as close as possible to the canonical
directions) with canonical lengths; ``fit_branch_offsets=False`` keeps pure ``TARGET_OFFSETS``
at the price of several centimetres of error at the hips and collars.

Rotations (``fit_local_rotations``), per frame, in hierarchy order:
  * a joint with one child gets the minimal (swing) rotation taking the rest offset of the
    child onto the observed bone, expressed in the parent's frame: zero twist relative to the
    parent. Twist about a bone is not recoverable from positions and is always zero;
  * a branching joint gets the Kabsch (least-squares) rotation of all its child offsets onto
    the observed child bones;
  * a leaf joint gets the identity (its End Site follows the parent bone).

Channels: root ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``, others
``Zrotation Xrotation Yrotation``, in degrees: the local rotation is ``R = Rz(z) Rx(x) Ry(y)``
(column vectors, the channel order read left to right). FK: a child sits at
``p_parent + G_parent @ offset`` with ``G_joint = G_parent @ R_joint``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from esd.motion.skeleton import (
    BONE_LENGTHS,
    FPS,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    REST_DIRECTIONS,
    bone_children,
)
from viz.motion_axes import as_joints

ROOT = PARENTS.index(-1)  # the pelvis
ROTATION_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")  # R = Rz @ Rx @ Ry
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
_EPS = 1e-9  # below this a vector counts as zero length


@dataclass(frozen=True)
class BvhConfig:
    """How :func:`bvh_text` writes a motion."""

    unit_scale: float = 100.0  # file units per metre: 100 = centimetres (BVH habit)
    fit_branch_offsets: bool = True  # re-fit hip/spine1 and neck/collar directions (see module)
    procrustes_iters: int = 4  # alternations of the branch-direction fit (converges in ~3)
    end_site_fraction: float = 0.5  # End Site offset = this x the leaf's own bone, along its rest
    decimals: int = 5  # digits after the point in OFFSET and MOTION numbers


@dataclass(frozen=True)
class BvhData:
    """A parsed BVH file (joints in file order; parents precede children)."""

    names: list[str]  # joint names, file order
    parents: list[int]  # parent index per joint (file order), -1 for the root
    offsets: np.ndarray  # (J, 3) file units
    channels: list[tuple[str, ...]]  # channel names per joint
    frame_time: float  # seconds per frame
    motion: np.ndarray  # (T, C) all channel values, C = sum of channel counts


# --- rotation math -----------------------------------------------------------------------------


def unit(v: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """``v / |v|`` over the last axis ``(..., 3)``; zero vectors become ``fallback`` (or stay 0)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    out = v / np.maximum(norm, _EPS)
    if fallback is not None:
        out = np.where(norm > _EPS, out, np.broadcast_to(fallback, out.shape))
    return out


def swing_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimal rotation ``(..., 3, 3)`` taking the direction of ``a`` onto that of ``b`` (..., 3).

    Rodrigues with ``v = a x b``, ``c = a . b`` (unit a, b): ``R = I + [v]x + [v]x^2 / (1 + c)``;
    for opposite vectors (c ~ -1) a half turn about an axis perpendicular to ``a``.
    """
    a, b = np.broadcast_arrays(unit(a), unit(b))
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None, None]
    k = _skew(v)
    eye = np.broadcast_to(np.eye(3), k.shape)
    r = eye + k + (k @ k) / np.maximum(1.0 + c, _EPS)
    perp = unit(np.cross(a, np.array([1.0, 0.0, 0.0])))
    perp = np.where(
        np.linalg.norm(perp, axis=-1, keepdims=True) > 0.5, perp, np.cross(a, [0, 1, 0])
    )
    half_turn = 2.0 * perp[..., :, None] * perp[..., None, :] - eye
    return np.where(c < -1.0 + 1e-6, half_turn, r)


def kabsch_rotation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Rotation ``R (..., 3, 3)`` minimising ``sum_i |R p_i - q_i|^2`` for ``p, q (..., n, 3)``.

    ``H = sum_i p_i q_i^T = U S V^T``; ``R = V diag(1, 1, d) U^T`` with ``d = sign det(V U^T)``
    (a proper rotation, never a reflection).
    """
    h = np.einsum("...ni,...nj->...ij", p, q)  # (..., 3, 3)
    u, _, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    d = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))
    d = np.where(d == 0, 1.0, d)
    fix = np.ones(h.shape[:-1])  # (..., 3)
    fix[..., 2] = d
    return (v * fix[..., None, :]) @ np.swapaxes(u, -1, -2)


def euler_zxy_from_matrix(r: np.ndarray) -> np.ndarray:
    """Angles ``(..., 3)`` in degrees, ordered (z, x, y), with ``R = Rz(z) Rx(x) Ry(y)``.

    From ``R[2,1] = sin x``, ``R[2,0] = -cos x sin y``, ``R[2,2] = cos x cos y``,
    ``R[0,1] = -sin z cos x``, ``R[1,1] = cos z cos x``. At gimbal lock (cos x ~ 0) y is set to 0
    and z taken from ``R[1,0] = sin z``, ``R[0,0] = cos z``.
    """
    sx = np.clip(r[..., 2, 1], -1.0, 1.0)
    x = np.arcsin(sx)
    locked = np.abs(sx) > 1.0 - 1e-9
    y = np.where(locked, 0.0, np.arctan2(-r[..., 2, 0], r[..., 2, 2]))
    z = np.where(
        locked, np.arctan2(r[..., 1, 0], r[..., 0, 0]), np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    )
    return np.degrees(np.stack([z, x, y], axis=-1))


def axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` about ``axis`` ("X", "Y" or "Z") by ``degrees (...)``."""
    t = np.radians(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(t), np.sin(t)
    one, zero = np.ones_like(t), np.zeros_like(t)
    rows = {
        "X": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "Y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "Z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis.upper()]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices ``[v]x (..., 3, 3)`` of ``v (..., 3)``."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    zero = np.zeros_like(x)
    return np.stack(
        [np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)],
        axis=-2,
    )


# --- fitting -----------------------------------------------------------------------------------


def fit_branch_directions(
    joints: np.ndarray, joint: int, children: list[int], iters: int = 4
) -> np.ndarray:
    """Rest directions ``(n, 3)`` of a rigid group of child bones, fitted to a motion.

    Alternates ``G_t = kabsch(d, u_t)`` and ``d = unit(mean_t G_t^T u_t)`` over the observed
    unit bones ``u_t (T, n, 3)``, then rotates ``d`` as close as possible to the canonical
    ``REST_DIRECTIONS`` (the gauge), so the rest pose stays upright and facing +Z.
    """
    canonical = REST_DIRECTIONS[children]  # (n, 3)
    u = unit(joints[:, children] - joints[:, joint, None], canonical)  # (T, n, 3)
    d = canonical.copy()
    for _ in range(iters):
        g = kabsch_rotation(np.broadcast_to(d, u.shape), u)  # (T, 3, 3)
        d = unit(np.einsum("tji,tnj->ni", g, u) / len(u), canonical)  # mean of G^T u
    gauge = kabsch_rotation(d, canonical)  # (3, 3)
    return d @ gauge.T


def rest_offsets(joints: np.ndarray, config: BvhConfig) -> np.ndarray:
    """Offsets ``(22, 3)`` in metres: canonical lengths, directions as the module describes."""
    directions = REST_DIRECTIONS.copy()
    if config.fit_branch_offsets:
        for joint, children in bone_children().items():
            if len(children) > 1:
                directions[children] = fit_branch_directions(
                    joints, joint, children, config.procrustes_iters
                )
    return BONE_LENGTHS[:, None] * directions


def fit_local_rotations(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Local joint rotations ``(T, 22, 3, 3)`` that pose ``offsets (22, 3)`` like ``joints``.

    ``joints (T, 22, 3)``; rules (swing / Kabsch / identity) in the module docstring.
    """
    joints = joints.astype(np.float64)
    n_frames = len(joints)
    eye = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
    local = np.empty((n_frames, NUM_JOINTS, 3, 3))
    world = np.empty((n_frames, NUM_JOINTS, 3, 3))
    for joint, children in bone_children().items():  # parents come before children
        parent = PARENTS[joint]
        parent_world = eye if parent < 0 else world[:, parent]
        bones_obs = joints[:, children] - joints[:, joint, None]  # (T, n, 3)
        if not children:
            world[:, joint] = parent_world
        elif len(children) == 1:
            rest = offsets[children[0]]
            seen = np.einsum("tji,tj->ti", parent_world, bones_obs[:, 0])  # G_p^T v
            world[:, joint] = parent_world @ swing_rotation(rest, unit(seen, unit(rest)))
        else:
            rest = offsets[children]  # (n, 3)
            lengths = np.linalg.norm(rest, axis=-1)[:, None]  # (n, 1)
            target = unit(bones_obs, unit(rest)) * lengths  # observed directions, rest lengths
            world[:, joint] = kabsch_rotation(np.broadcast_to(rest, target.shape), target)
        local[:, joint] = np.swapaxes(parent_world, -1, -2) @ world[:, joint]
    return local


# --- writing -----------------------------------------------------------------------------------


def bvh_text(joints: np.ndarray, fps: float = FPS, config: BvhConfig | None = None) -> str:
    """The BVH file for ``joints (T, 22, 3)`` metres at ``fps`` (see the module docstring)."""
    config = config or BvhConfig()
    joints = as_joints(joints).astype(np.float64)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    offsets = rest_offsets(joints, config)
    angles = euler_zxy_from_matrix(fit_local_rotations(joints, offsets))  # (T, 22, 3)
    order = _hierarchy_order()
    columns = [joints[:, ROOT] * config.unit_scale] + [angles[:, j] for j in order]
    motion = np.concatenate(columns, axis=1)  # (T, 3 + 3 * 22)
    lines = ["HIERARCHY", *_hierarchy_lines(ROOT, offsets, config, 0)]
    lines += ["MOTION", f"Frames: {len(joints)}", f"Frame Time: {1.0 / fps:.8f}"]
    buffer = io.StringIO()
    np.savetxt(buffer, motion + 0.0, fmt=f"%.{config.decimals}f")  # + 0.0: no "-0.00000"
    return "\n".join(lines) + "\n" + buffer.getvalue()


def _hierarchy_order() -> list[int]:
    """Joints in depth-first file order (the order of their MOTION columns)."""
    children = bone_children()
    order: list[int] = []
    stack = [ROOT]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(children[joint]))
    return order


def _hierarchy_lines(joint: int, offsets: np.ndarray, config: BvhConfig, depth: int) -> list[str]:
    """HIERARCHY lines of ``joint`` and its subtree (recursive, depth <= 8 for t2m)."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    is_root = joint == ROOT
    offset = np.zeros(3) if is_root else offsets[joint] * config.unit_scale
    channels = (POSITION_CHANNELS if is_root else ()) + ROTATION_CHANNELS
    lines = [
        f"{pad}{'ROOT' if is_root else 'JOINT'} {JOINT_NAMES[joint]}",
        f"{pad}{{",
        f"{inner}OFFSET {_fmt(offset, config)}",
        f"{inner}CHANNELS {len(channels)} {' '.join(channels)}",
    ]
    children = bone_children()[joint]
    for child in children:
        lines += _hierarchy_lines(child, offsets, config, depth + 1)
    if not children:
        tip = REST_DIRECTIONS[joint] * BONE_LENGTHS[joint] * config.end_site_fraction
        lines += [f"{inner}End Site", f"{inner}{{"]
        lines += [f"{inner}  OFFSET {_fmt(tip * config.unit_scale, config)}", f"{inner}}}"]
    return [*lines, f"{pad}}}"]


def _fmt(values: np.ndarray, config: BvhConfig) -> str:
    return " ".join(f"{v + 0.0:.{config.decimals}f}" for v in values)


# --- reading -----------------------------------------------------------------------------------


def parse_bvh(text: str) -> BvhData:
    """Parse BVH text (any joint names and channel orders). Raises ValueError when malformed."""
    tokens = text.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise ValueError("not a BVH file: it must start with HIERARCHY")
    try:
        return _parse_tokens(tokens)
    except (IndexError, TypeError) as err:  # TypeError: numpy's message for bad numbers
        raise ValueError(f"BVH file is truncated or malformed ({err})") from err


def _parse_tokens(tokens: list[str]) -> BvhData:
    """Parse the token list of a BVH file that starts with HIERARCHY."""
    data = _Parsed()
    pos = _parse_joint(tokens, 1, -1, data)
    if tokens[pos : pos + 3] != ["MOTION", "Frames:", tokens[pos + 2]]:
        raise ValueError("BVH file lacks 'MOTION' / 'Frames:' after the hierarchy")
    n_frames = int(tokens[pos + 2])
    if tokens[pos + 3 : pos + 5] != ["Frame", "Time:"]:
        raise ValueError("BVH file lacks 'Frame Time:' after 'Frames:'")
    frame_time = float(tokens[pos + 5])
    n_channels = sum(len(c) for c in data.channels)
    values = np.asarray(tokens[pos + 6 :], dtype=np.float64)
    if frame_time <= 0 or values.size != n_frames * n_channels:
        raise ValueError(
            f"BVH MOTION block holds {values.size} numbers, expected {n_frames} frames x "
            f"{n_channels} channels, with a positive frame time (got {frame_time})"
        )
    return BvhData(
        names=data.names,
        parents=data.parents,
        offsets=np.asarray(data.offsets, dtype=np.float64).reshape(-1, 3),
        channels=data.channels,
        frame_time=frame_time,
        motion=values.reshape(n_frames, n_channels),  # (T, C)
    )


@dataclass
class _Parsed:
    """Accumulator of the recursive hierarchy parser."""

    names: list[str] = field(default_factory=list)  # joint names, file order
    parents: list[int] = field(default_factory=list)  # parent index per joint
    offsets: list[list[float]] = field(default_factory=list)  # OFFSET per joint
    channels: list[tuple[str, ...]] = field(default_factory=list)  # CHANNELS per joint


def _parse_joint(tokens: list[str], pos: int, parent: int, out: _Parsed) -> int:
    """Parse ``ROOT|JOINT name { OFFSET .. CHANNELS .. children }`` at ``pos``; return next pos."""
    if tokens[pos] not in ("ROOT", "JOINT") or tokens[pos + 2] != "{":
        raise ValueError(f"BVH: expected 'ROOT name {{' or 'JOINT name {{' near token {pos}")
    index = len(out.names)
    out.names.append(tokens[pos + 1])
    out.parents.append(parent)
    if tokens[pos + 3] != "OFFSET" or tokens[pos + 7] != "CHANNELS":
        raise ValueError(f"BVH: joint {tokens[pos + 1]!r} needs OFFSET x y z then CHANNELS")
    out.offsets.append([float(t) for t in tokens[pos + 4 : pos + 7]])
    count = int(tokens[pos + 8])
    out.channels.append(tuple(tokens[pos + 9 : pos + 9 + count]))
    pos += 9 + count
    while tokens[pos] != "}":
        if tokens[pos] == "End":  # End Site { OFFSET x y z }: a marker, not a joint
            pos += 8
        else:
            pos = _parse_joint(tokens, pos, index, out)
    return pos + 1


def bvh_positions(data: BvhData) -> np.ndarray:
    """Forward kinematics: joint positions ``(T, J, 3)`` in file units, file joint order."""
    n_frames, n_joints = len(data.motion), len(data.names)
    positions = np.zeros((n_frames, n_joints, 3))
    world = np.zeros((n_frames, n_joints, 3, 3))
    column = 0
    for j, channels in enumerate(data.channels):
        local_r = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        translation = np.broadcast_to(data.offsets[j], (n_frames, 3)).copy()
        for name in channels:
            values = data.motion[:, column]  # (T,)
            column += 1
            if name.endswith("rotation"):
                local_r = local_r @ axis_rotation(name[0], values)
            elif name.endswith("position"):
                translation[:, "XYZ".index(name[0].upper())] += values
            else:
                raise ValueError(f"BVH: unknown channel {name!r} on joint {data.names[j]!r}")
        parent = data.parents[j]
        if parent < 0:
            positions[:, j], world[:, j] = translation, local_r
        else:
            positions[:, j] = positions[:, parent] + np.einsum(
                "tij,tj->ti", world[:, parent], translation
            )
            world[:, j] = world[:, parent] @ local_r
    return positions


def read_bvh(path: str | Path, unit_scale: float = 100.0) -> tuple[np.ndarray, float]:
    """Read a t2m BVH file: joints ``(T, 22, 3)`` float32 metres in t2m order, and its fps.

    ``unit_scale``: file units per metre (100 for the centimetre files :func:`bvh_text` writes).
    Raises ValueError when the file's joints are not the 22 t2m joint names.
    """
    data = parse_bvh(Path(path).read_text())
    if sorted(data.names) != sorted(JOINT_NAMES):
        missing = sorted(set(JOINT_NAMES) - set(data.names))
        raise ValueError(f"BVH joints are not the 22 t2m joints (missing {missing}) in {path}")
    positions = bvh_positions(data) / unit_scale  # (T, J, 3) metres, file order
    order = [data.names.index(name) for name in JOINT_NAMES]
    return positions[:, order].astype(np.float32), 1.0 / data.frame_time
