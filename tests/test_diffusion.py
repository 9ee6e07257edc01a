"""Noise schedule identities, parameterisation round trips, guidance and the DDIM sampler.

Oracle tests name the plausible mutant each one kills (tests: /tmp/helpers/mutants_models.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from esd.models import diffusion as D
from esd.models.text.batch import TextBatch

SCHEDULE = D.NoiseSchedule()
B, N, C = 3, 5, 4


def text_batch(seed: int, rows: int = B, length: int = 3) -> TextBatch:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(rows, length, dtype=torch.bool)
    mask[0, 1:] = False  # rows of different lengths
    return TextBatch(torch.randn(rows, length, C, generator=g) * mask[..., None], mask)


def null_batch(rows: int = B) -> TextBatch:
    return TextBatch(torch.zeros(rows, 1, C), torch.zeros(rows, 1, dtype=torch.bool))


def text_fn(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
    """A row-wise 'network' whose output depends on x, t and the masked mean of the text."""
    m = text.mask.float()[..., None]  # (B, L, 1)
    pooled = (text.states * m).sum(1) / m.sum(1).clamp_min(1)  # (B, C)
    return 0.3 * x + pooled[:, None, :] * (1 + t[:, None, None] / 1000)


def noise(seed: int, shape: tuple[int, ...] = (B, N, C)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def v_from_x0(x: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """The exact v for a known x0, written independently: v = (alpha_t x_t - x0) / sigma_t."""
    a, s = SCHEDULE.alphas_cumprod[t].sqrt(), (1 - SCHEDULE.alphas_cumprod[t]).sqrt()
    shape = (-1,) + (1,) * (x.dim() - 1)
    return (a.reshape(shape) * x - x0) / s.reshape(shape)


# --- schedule ---------------------------------------------------------------------------------


def test_schedule_alpha_sigma_identities() -> None:
    t = torch.arange(SCHEDULE.num_steps)
    a, s = SCHEDULE.alpha(t), SCHEDULE.sigma(t)
    assert torch.allclose(a**2 + s**2, torch.ones(len(t)), atol=1e-6)
    assert torch.all(a[1:] < a[:-1])  # signal decreases with t
    assert a[0] > 0.9999 and a[-1] < 1e-3  # almost clean at 0, almost pure noise at T-1
    x = noise(0)
    assert SCHEDULE.alpha(t[:B], x).shape == (B, 1, 1)
    for kind in D.SCHEDULES:
        schedule = D.NoiseSchedule(kind=kind)
        a, s = schedule.alpha(t), schedule.sigma(t)
        assert torch.allclose(a**2 + s**2, torch.ones(len(t)), atol=1e-6)
        assert torch.all(a[1:] < a[:-1])


@pytest.mark.parametrize("kind", D.SCHEDULES)
@pytest.mark.parametrize("spacing", D.SPACINGS)
def test_schedule_config_round_trip(kind: str, spacing: str) -> None:
    schedule = D.NoiseSchedule(kind=kind, spacing=spacing)
    rebuilt = D.NoiseSchedule(**schedule.config())
    for name in ("alphas_cumprod", "alphas", "sigmas"):
        assert torch.equal(getattr(rebuilt, name), getattr(schedule, name))
    assert rebuilt.config() == schedule.config() and rebuilt.spacing == spacing


def test_the_sampler_takes_the_schedules_spacing() -> None:
    leading = D.NoiseSchedule(kind="scaled_linear", spacing="leading")
    seen: list[D.DDIMStep] = []
    D.ddim_sample(
        text_fn, noise(5), leading, num_steps=10, guidance_scale=1.0, cond=text_batch(0),
        callback=seen.append,
    )  # fmt: skip
    assert [int(s.t[0]) for s in seen] == list(range(900, -1, -100))


def test_bundled_checkpoint_schedule_config_still_rebuilds() -> None:
    """The bundled family's checkpoints store {"num_steps", "kind"}; their table is unchanged
    (the cosine curve in float64, rounded to float32)."""
    stored = {"num_steps": 1000, "kind": "cosine"}
    schedule = D.NoiseSchedule(**stored)
    assert schedule.config() == stored
    expected = D.schedule.cosine_alphas_cumprod(1000)
    assert torch.equal(schedule.alphas, expected.sqrt().float())
    assert torch.equal(schedule.sigmas, (1 - expected).sqrt().float())


def test_scaled_linear_matches_its_formula() -> None:
    """beta_t = (sqrt(b0) + (sqrt(b1) - sqrt(b0)) t / 999)^2, checked in float64 (1e-7)."""
    schedule = D.NoiseSchedule(kind="scaled_linear")
    t = torch.arange(1000, dtype=torch.float64)
    betas = (0.00085**0.5 + (0.012**0.5 - 0.00085**0.5) * t / 999) ** 2
    torch.testing.assert_close(
        schedule.alphas_cumprod.double(), torch.cumprod(1 - betas, 0), rtol=1e-5, atol=1e-7
    )


def test_scaled_linear_and_leading_equal_salads_arrays_bitwise(salad_fixture_dir: Path) -> None:
    """Mutants killed: betas in float64 (then rounded), linear instead of scaled-linear betas,
    trailing instead of leading spacing, an offset of 1 in the leading timesteps."""
    ref = np.load(salad_fixture_dir / "reference" / "ddim_cfg_sampling.npz")
    schedule = D.NoiseSchedule(kind="scaled_linear")
    betas = D.schedule.scaled_linear_betas(1000, 0.00085, 0.012)
    assert np.array_equal(betas.numpy(), ref["betas"])
    assert np.array_equal(schedule.alphas_cumprod.numpy(), ref["alphas_cumprod"])
    assert float(ref["final_alpha_cumprod"]) == 1.0  # = the (1, 0) after the last step
    for steps in (50, 10):
        got = D.ddim_timesteps(steps, 1000, "leading")
        assert np.array_equal(got.numpy(), ref[f"timesteps_{steps}"])


@pytest.mark.parametrize("bad", [1000, -1, 2.5])
def test_schedule_rejects_bad_timesteps(bad: float) -> None:
    with pytest.raises(ValueError, match="timesteps"):
        SCHEDULE.alpha(torch.tensor([bad]))


def test_schedule_rejects_unknown_kind_and_bad_betas() -> None:
    with pytest.raises(ValueError, match="cosine"):
        D.NoiseSchedule(kind="sqrt")
    with pytest.raises(ValueError, match="beta_start < beta_end"):
        D.NoiseSchedule(kind="scaled_linear", beta_start=0.02, beta_end=0.01)
    with pytest.raises(ValueError, match="no beta_start"):
        D.NoiseSchedule(kind="cosine", beta_start=0.001)
    with pytest.raises(ValueError, match="spacing"):
        D.NoiseSchedule(spacing="linspace")


def test_parameterisations_round_trip() -> None:
    """Mutant killed: eps_from_v with a minus sign (eps = sigma x_t - alpha v)."""
    x0, eps = noise(1, (64, N, C)), noise(2, (64, N, C))
    t = torch.linspace(0, 999, 64).long()
    x_t = D.q_sample(SCHEDULE, x0, t, eps)
    v = D.v_target(SCHEDULE, x0, eps, t)
    assert torch.allclose(D.x0_from_v(SCHEDULE, x_t, t, v), x0, atol=1e-5)
    assert torch.allclose(D.eps_from_v(SCHEDULE, x_t, t, v), eps, atol=1e-5)


@pytest.mark.parametrize("kind", D.SCHEDULES)
def test_v_and_eps_distances_differ_by_one_plus_inverse_snr(kind: str) -> None:
    """At fixed x_t: ||v_a - v_b||^2 = ||eps_a - eps_b||^2 (1 + 1/SNR_t), SNR = abar / (1 - abar)
    (the weighting that turns ESD's v-loss into its eps-loss). SNR from alpha_bar in float64.
    The gap itself is eps_a - eps_b = sqrt(abar_t) (v_a - v_b), sign included (distances alone
    cannot see a sign). Mutants killed: eps_from_v with alpha and sigma swapped, and with a
    minus sign (eps = sigma x_t - alpha v)."""
    schedule = D.NoiseSchedule(kind=kind)
    t = torch.tensor([0, 10, 250, 500, 750, 990])
    x_t = noise(10, (len(t), N, C))
    v_a, v_b = noise(11, x_t.shape), noise(12, x_t.shape)
    eps_gap = D.eps_from_v(schedule, x_t, t, v_a) - D.eps_from_v(schedule, x_t, t, v_b)
    abar = schedule.alphas_cumprod[t].double()
    ratio = ((v_a - v_b) ** 2).sum((1, 2)).double() / (eps_gap**2).sum((1, 2)).double()
    torch.testing.assert_close(ratio, 1 + (1 - abar) / abar, rtol=1e-4, atol=0)
    slope = abar.sqrt()[:, None, None]  # (B, 1, 1)
    torch.testing.assert_close(eps_gap.double(), slope * (v_a - v_b).double(), rtol=0, atol=1e-5)


def test_classifier_free_guidance() -> None:
    u, c = noise(3), noise(4)
    assert torch.allclose(D.classifier_free_guidance(u, c, 1.0), c, atol=1e-6)
    assert torch.equal(D.classifier_free_guidance(u, c, 0.0), u)
    assert torch.allclose(D.classifier_free_guidance(u, c, 2.5), u + 2.5 * (c - u))


def test_ddim_timesteps_trailing_and_leading() -> None:
    steps = D.ddim_timesteps(50)
    assert steps.dtype == torch.long and steps.shape == (50,)
    assert steps[0] == 999 and steps[-1] == 19 and torch.all(steps[1:] < steps[:-1])
    assert torch.equal(D.ddim_timesteps(1000), torch.arange(999, -1, -1))
    leading = D.ddim_timesteps(50, spacing="leading")
    assert leading.dtype == torch.long and leading[0] == 980 and leading[-1] == 0
    assert torch.equal(leading, torch.arange(980, -1, -20))
    assert torch.equal(D.ddim_timesteps(30, spacing="leading"), torch.arange(29, -1, -1) * 33)
    for bad in (9, 1001, 2.5):
        with pytest.raises(ValueError, match="num_steps"):
            D.ddim_timesteps(bad)
    with pytest.raises(ValueError, match="spacing"):
        D.ddim_timesteps(50, spacing="linspace")


# --- sampler ---------------------------------------------------------------------------------


def sample(**kwargs: object) -> torch.Tensor:
    args = {"num_steps": 10, "guidance_scale": 2.0, "cond": text_batch(0), "uncond": null_batch()}
    x_T = kwargs.pop("x_T", noise(5))
    return D.ddim_sample(text_fn, x_T, SCHEDULE, **{**args, **kwargs})


def test_ddim_is_deterministic() -> None:
    assert torch.equal(sample(), sample())


def test_guidance_scale_one_runs_only_the_conditional_pass() -> None:
    sizes: list[int] = []

    def counting(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        sizes.append(x.shape[0])
        return text_fn(x, t, text)

    with_uncond = D.ddim_sample(
        counting, noise(5), SCHEDULE, num_steps=10, guidance_scale=1.0, cond=text_batch(0),
        uncond=null_batch(),
    )  # fmt: skip
    assert sizes == [B] * 10
    without = sample(guidance_scale=1.0, uncond=None)
    assert torch.equal(with_uncond, without)
    with pytest.raises(ValueError, match="uncond"):
        sample(uncond=None)


def test_batched_guidance_equals_separate_calls() -> None:
    cond, uncond = text_batch(0, length=4), null_batch()
    steps: list[D.DDIMStep] = []
    sizes: list[int] = []

    def recording(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        sizes.append(x.shape[0])
        return text_fn(x, t, text)

    D.ddim_sample(
        recording, noise(5), SCHEDULE, num_steps=10, guidance_scale=3.0, cond=cond,
        uncond=uncond, callback=steps.append,
    )  # fmt: skip
    assert sizes == [2 * B] * 10  # one batched call per step
    for step in steps:
        assert torch.allclose(step.pred_cond, text_fn(step.x_t, step.t, cond), atol=1e-6)
        assert torch.allclose(step.pred_uncond, text_fn(step.x_t, step.t, uncond), atol=1e-6)
        guided = step.pred_uncond + 3.0 * (step.pred_cond - step.pred_uncond)
        assert torch.allclose(step.pred, guided, atol=1e-6)
        x0 = SCHEDULE.alpha(step.t, step.x_t) * step.x_t - SCHEDULE.sigma(step.t, step.x_t) * guided
        assert torch.allclose(step.x0_pred, x0, atol=1e-5)


def test_callback_and_stop_at() -> None:
    steps: list[D.DDIMStep] = []
    final = sample(callback=steps.append)
    assert [s.i for s in steps] == list(range(10))
    assert torch.equal(torch.stack([s.t[0] for s in steps]), D.ddim_timesteps(10))
    assert torch.equal(steps[0].x_t, noise(5))
    for k in (0, 1, 6):
        seen: list[D.DDIMStep] = []
        assert torch.equal(sample(stop_at=k, callback=seen.append), steps[k].x_t)
        assert len(seen) == k
    assert torch.equal(sample(stop_at=10), final)
    with pytest.raises(ValueError, match="stop_at"):
        sample(stop_at=11)


def test_start_at_continues_from_the_state_at_that_step() -> None:
    steps: list[D.DDIMStep] = []
    final = sample(callback=steps.append)
    for j in (0, 3, 9):
        seen: list[D.DDIMStep] = []
        resumed = sample(x_T=steps[j].x_t, start_at=j, callback=seen.append)
        assert torch.allclose(resumed, final, atol=1e-6)
        assert [s.i for s in seen] == list(range(j, 10))
    assert torch.equal(sample(x_T=steps[4].x_t, start_at=4, stop_at=4), steps[4].x_t)
    with pytest.raises(ValueError, match="start_at"):
        sample(start_at=11)
    with pytest.raises(ValueError, match="start_at"):
        sample(start_at=5, stop_at=3)


def test_sampler_input_errors() -> None:
    with pytest.raises(ValueError, match="match"):
        sample(cond=text_batch(0, rows=2))
    with pytest.raises(ValueError, match="returned shape"):
        D.ddim_sample(
            lambda x, t, text: x[:, :1], noise(5), SCHEDULE, guidance_scale=1.0,
            cond=text_batch(0),
        )  # fmt: skip


@pytest.mark.parametrize("spacing", D.SPACINGS)
def test_exact_denoiser_for_one_point_keeps_eps_along_the_whole_path(spacing: str) -> None:
    """Data = one point x*: the exact v is the one of x0 = x*, so DDIM keeps eps fixed:
    x_i = alpha_i x* + sigma_i eps_T at EVERY step i, eps_T = (x_T - alpha_T x*) / sigma_T.
    Mutants killed: an update that returns x0 (x_prev = x0), alpha_prev and sigma_prev swapped,
    the prev coefficients taken at t instead of t_prev; the last step not landing on x*."""
    target = noise(7, (1, N, C)).expand(B, N, C)

    def exact(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        return v_from_x0(x, t, target.expand_as(x))

    x_T, steps = noise(8), []
    out = D.ddim_sample(
        exact, x_T, SCHEDULE, guidance_scale=1.0, cond=text_batch(0), spacing=spacing,
        callback=steps.append,
    )  # fmt: skip
    abar = SCHEDULE.alphas_cumprod.double()
    t_T = int(steps[0].t[0])
    eps_T = (x_T.double() - abar[t_T].sqrt() * target) / (1 - abar[t_T]).sqrt()
    for step in steps[1:]:
        t = int(step.t[0])
        expected = abar[t].sqrt() * target + (1 - abar[t]).sqrt() * eps_T
        torch.testing.assert_close(step.x_t.double(), expected, atol=2e-4, rtol=0)
    assert torch.allclose(out, target, atol=1e-4)


def test_exact_denoiser_for_gaussian_data_follows_the_probability_flow() -> None:
    """Data ~ N(mu, s^2): E[x0 | x_t] = mu + a s^2 (x_t - a mu) / (a^2 s^2 + sigma^2), and the
    probability-flow ODE maps x_T to mu + s (x_T - a_T mu) / sqrt(a_T^2 s^2 + sigma_T^2).
    DDIM is a first-order solver of that ODE: its error shrinks as the steps grow."""
    mu, s = 1.5, 0.3

    def exact(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        a, sig = SCHEDULE.alpha(t, x), SCHEDULE.sigma(t, x)
        x0 = mu + a * s**2 * (x - a * mu) / (a**2 * s**2 + sig**2)
        return v_from_x0(x, t, x0)

    x_T = noise(9, (4096, 1, 1))
    a_T, sigma_T = SCHEDULE.alphas[-1], SCHEDULE.sigmas[-1]
    flow = mu + s * (x_T - a_T * mu) / torch.sqrt(a_T**2 * s**2 + sigma_T**2)
    cond = TextBatch(torch.zeros(4096, 1, 1), torch.ones(4096, 1, dtype=torch.bool))
    errors = []
    for steps in (50, 200):
        out = D.ddim_sample(exact, x_T, SCHEDULE, num_steps=steps, guidance_scale=1.0, cond=cond)
        errors.append(float((out - flow).abs().max()))
    assert errors[1] < 0.02 and errors[1] < errors[0] / 2  # measured 0.049 and 0.013
    assert abs(float(out.mean()) - mu) < 0.01 and abs(float(out.std()) - s) < 0.02
