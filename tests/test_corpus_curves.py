import numpy as np
import pytest

from esd.corpus import curves


def test_minjerk_endpoints_and_monotone():
    u = np.linspace(0, 1, 101)
    s = curves.minjerk(u)
    assert s[0] == 0 and s[-1] == 1 and (np.diff(s) >= 0).all()
    np.testing.assert_allclose(np.gradient(s, u)[[0, -1]], 0, atol=2e-3)


def test_keyframes_pass_through_keys_and_hold_outside():
    curve = curves.keyframes(41, [0.5, 1.0, 1.5], [0.0, 2.0, -1.0])
    assert curve[0] == 0.0 and curve[10] == 0.0 and curve[20] == 2.0 and curve[30] == -1.0
    assert curve[40] == -1.0
    assert np.abs(np.diff(curve, 2)).max() < 0.5  # smooth: no kinks
    with pytest.raises(ValueError, match="non-decreasing"):
        curves.keyframes(10, [1.0, 0.5], [0, 1])


def test_pulse_rises_holds_and_falls():
    p = curves.pulse(60, 0.5, 0.5, 0.5, 0.5, peak=3.0)
    assert p[0] == 0 and p.max() == 3.0 and p[-1] == 0


def test_time_warp_is_monotone_and_keeps_ends():
    rng = np.random.default_rng(0)
    w = curves.time_warp(100, rng, 0.2)
    assert w[0] == 0 and w[-1] == pytest.approx(99) and (np.diff(w) > 0).all()
    noise = curves.smooth_noise(100, np.random.default_rng(1), 0.1)
    assert noise.shape == (100,) and 0 < np.abs(noise).max() < 0.5
