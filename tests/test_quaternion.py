"""Quaternion / 6D helpers: conventions of spec §1, identical on NumPy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from esd.motion.quaternion import (
    cont6d_to_matrix,
    matrix_to_cont6d,
    normalize,
    qbetween,
    qconj,
    qmul,
    qrot,
    quat_to_cont6d,
    quat_to_matrix,
    yaw_quaternion,
)


@pytest.fixture
def quats() -> np.ndarray:
    return normalize(np.random.default_rng(0).normal(size=(50, 4)))


@pytest.fixture
def points() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(50, 3))


def test_qrot_is_the_matrix_product_and_composes_right_first(quats, points):
    expected = (quat_to_matrix(quats) @ points[..., None])[..., 0]
    np.testing.assert_allclose(qrot(quats, points), expected, atol=1e-12)
    other = quats[::-1]
    np.testing.assert_allclose(
        qrot(qmul(quats, other), points), qrot(quats, qrot(other, points)), atol=1e-12
    )
    np.testing.assert_allclose(qrot(qconj(quats), qrot(quats, points)), points, atol=1e-12)


def test_qbetween_turns_a_onto_b_with_nonnegative_w(points):
    a, b = points, points[::-1] * 3.0
    q = qbetween(a, b)
    assert (q[:, 0] >= 0).all()
    np.testing.assert_allclose(qrot(q, normalize(a)), normalize(b), atol=1e-12)
    with np.errstate(invalid="ignore"):  # opposite directions: undefined (spec Q11)
        assert np.isnan(qbetween(np.array([1.0, 0, 0]), np.array([-2.0, 0, 0]))).all()


def test_yaw_quaternion_rotates_by_twice_the_half_angle():
    a = 0.3
    out = qrot(yaw_quaternion(np.array(a)), np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(out, [np.sin(2 * a), 0.0, np.cos(2 * a)], atol=1e-15)
    psi = 2.5  # arc(f, +Z) = Y(-psi / 2) for f = (sin psi, 0, cos psi)
    f = np.array([np.sin(psi), 0.0, np.cos(psi)])
    np.testing.assert_allclose(qbetween(f, np.array([0.0, 0, 1])), yaw_quaternion(-psi / 2))


def test_cont6d_holds_the_first_two_columns_and_round_trips(quats):
    m = quat_to_matrix(quats)
    d6 = quat_to_cont6d(quats)
    np.testing.assert_allclose(d6, matrix_to_cont6d(m), atol=1e-15)
    np.testing.assert_allclose(d6[:, :3], m[:, :, 0])  # (R00, R10, R20)
    np.testing.assert_allclose(d6[:, 3:], m[:, :, 1])  # (R01, R11, R21)
    np.testing.assert_allclose(cont6d_to_matrix(d6), m, atol=1e-12)


def test_numpy_and_torch_give_the_same_numbers(quats, points):
    tq, tp = torch.from_numpy(quats), torch.from_numpy(points)
    for fn, args, targs in [
        (qmul, (quats, quats[::-1]), (tq, tq.flip(0))),
        (qrot, (quats, points), (tq, tp)),
        (qbetween, (points, points[::-1]), (tp, tp.flip(0))),
        (quat_to_matrix, (quats,), (tq,)),
        (quat_to_cont6d, (quats,), (tq,)),
        (cont6d_to_matrix, (quat_to_cont6d(quats),), (quat_to_cont6d(tq),)),
    ]:
        np.testing.assert_allclose(fn(*targs).numpy(), fn(*args), atol=1e-12, err_msg=fn.__name__)
