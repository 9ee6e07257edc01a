"""Quaternion and continuous-6D rotation helpers (HumanML3D conventions, spec §1).

Conventions (``../shared/docs/humanml3d_format.md`` §1):

* a quaternion is stored as (w, x, y, z) in the last dimension, shape (..., 4);
* multiplication is the Hamilton product q ⊗ r (applies r first, then q);
* conj(q) = (w, -x, -y, -z) is used as the inverse: every quaternion here is a unit quaternion;
* the continuous 6D of a rotation is the first two COLUMNS of its matrix,
  ordered (R00, R10, R20, R01, R11, R21). PyTorch3D's ``matrix_to_rotation_6d`` uses rows
  and is not compatible.

Every function is written once with elementwise arithmetic, indexing and ``sum(-1)``, so it
works unchanged on NumPy arrays and on torch tensors (differentiable, batched, any device);
the inputs broadcast against each other over the leading dimensions. The encoder uses these
in NumPy float64, the decoders in torch.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)


def _stack(parts: list, like: Array) -> Array:
    """Stack same-shaped components along a new last axis, in the backend of ``like``."""
    if isinstance(like, torch.Tensor):
        return torch.stack(torch.broadcast_tensors(*parts), dim=-1)
    if any(np.shape(p) != np.shape(parts[0]) for p in parts):
        parts = np.broadcast_arrays(*parts)
    return np.stack(parts, axis=-1)


def _sqrt(x: Array) -> Array:
    return x.sqrt() if isinstance(x, torch.Tensor) else np.sqrt(x)


def dot(a: Array, b: Array) -> Array:
    """Σ_i a_i b_i over the last axis, (..., D) x (..., D) -> (...).

    Summed component by component: several times faster in NumPy than ``(a * b).sum(-1)``
    on the short last axes used here (D = 3 or 4).
    """
    total = a[..., 0] * b[..., 0]
    for i in range(1, a.shape[-1]):
        total = total + a[..., i] * b[..., i]
    return total


def normalize(v: Array) -> Array:
    """v / |v| along the last axis, shape (..., D) -> (..., D). A zero vector gives NaN."""
    return v / _sqrt(dot(v, v))[..., None]


def cross(a: Array, b: Array) -> Array:
    """a × b = (a_y b_z - a_z b_y, a_z b_x - a_x b_z, a_x b_y - a_y b_x), (..., 3) -> (..., 3)."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return _stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], like=a)


def qconj(q: Array) -> Array:
    """conj(q) = (w, -x, -y, -z), the inverse of a unit quaternion, (..., 4) -> (..., 4)."""
    return _stack([q[..., 0], -q[..., 1], -q[..., 2], -q[..., 3]], like=q)


def qmul(q: Array, r: Array) -> Array:
    """Hamilton product q ⊗ r, (..., 4) x (..., 4) -> (..., 4).

    (w1, v1) ⊗ (w2, v2) = (w1 w2 - v1·v2,  w1 v2 + w2 v1 + v1 × v2).
    """
    w1, x1, y1, z1 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    w2, x2, y2, z2 = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
    return _stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        like=q,
    )


def qrot(q: Array, p: Array) -> Array:
    """Rotate vectors by unit quaternions: q p q*, (..., 4) x (..., 3) -> (..., 3).

    rot(q, p) = p + 2w (v × p) + 2 v × (v × p), with v = (x, y, z) of q.
    """
    v = q[..., 1:]
    uv = cross(v, p)
    return p + 2 * (q[..., :1] * uv + cross(v, uv))


def qbetween(a: Array, b: Array) -> Array:
    """Shortest-arc unit quaternion turning direction a onto direction b, (..., 3) -> (..., 4).

    arc(a, b) = normalize(|a||b| + a·b, a × b); its w is >= 0. Undefined (NaN) when a and b
    are exactly opposite or zero (spec Q11), as in the official code.
    """
    w = _sqrt(dot(a, a) * dot(b, b)) + dot(a, b)
    v = cross(a, b)
    return normalize(_stack([w, v[..., 0], v[..., 1], v[..., 2]], like=v))


def yaw_quaternion(half_angle: Array) -> Array:
    """Y(a) = (cos a, 0, sin a, 0), a rotation by 2a about +Y, (...,) -> (..., 4).

    It maps (x, y, z) to (x cos2a + z sin2a, y, -x sin2a + z cos2a); HumanML3D's root
    rotation features are the half-angle a.
    """
    if isinstance(half_angle, torch.Tensor):
        cos, sin = half_angle.cos(), half_angle.sin()
    else:
        cos, sin = np.cos(half_angle), np.sin(half_angle)
    zero = 0 * cos
    return _stack([cos, zero, sin, zero], like=cos)


def quat_to_matrix(q: Array) -> Array:
    """Active rotation matrix of q, (..., 4) -> (..., 3, 3), with s = 2 / |q|^2.

    R = [[1-s(y²+z²), s(xy-zw), s(xz+yw)],
         [s(xy+zw), 1-s(x²+z²), s(yz-xw)],
         [s(xz-yw), s(yz+xw), 1-s(x²+y²)]]
    """
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    s = 2 / dot(q, q)
    rows = [
        _stack([1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)], like=q),
        _stack([s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)], like=q),
        _stack([s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)], like=q),
    ]
    if isinstance(q, torch.Tensor):
        return torch.stack(rows, dim=-2)
    return np.stack(rows, axis=-2)


def matrix_to_cont6d(m: Array) -> Array:
    """Continuous 6D = the first two COLUMNS of R, (..., 3, 3) -> (..., 6).

    Order: (R00, R10, R20, R01, R11, R21).
    """
    if isinstance(m, torch.Tensor):
        return torch.cat([m[..., :, 0], m[..., :, 1]], dim=-1)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def quat_to_cont6d(q: Array) -> Array:
    """6D of a quaternion, matrix_to_cont6d(quat_to_matrix(q)), (..., 4) -> (..., 6).

    Only the two needed columns are computed: (1-s(y²+z²), s(xy+zw), s(xz-yw),
    s(xy-zw), 1-s(x²+z²), s(yz+xw)) with s = 2 / |q|².
    """
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    s = 2 / dot(q, q)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, xw, yw, zw = x * y, x * z, y * z, x * w, y * w, z * w
    return _stack(
        [
            1 - s * (yy + zz),
            s * (xy + zw),
            s * (xz - yw),
            s * (xy - zw),
            1 - s * (xx + zz),
            s * (yz + xw),
        ],
        like=q,
    )


def cont6d_to_matrix(d6: Array) -> Array:
    """Rotation matrix from continuous 6D (Gram-Schmidt), (..., 6) -> (..., 3, 3).

    c1 = normalize(d6[0:3]),  c3 = normalize(c1 × d6[3:6]),  c2 = c3 × c1,  R = [c1 c2 c3]
    (as columns). Exact inverse of ``matrix_to_cont6d`` on rotation matrices.
    """
    c1 = normalize(d6[..., 0:3])
    c3 = normalize(cross(c1, d6[..., 3:6]))
    c2 = cross(c3, c1)
    if isinstance(d6, torch.Tensor):
        return torch.stack([c1, c2, c3], dim=-1)
    return np.stack([c1, c2, c3], axis=-1)
