"""Noise schedule identities, parameterisation round trips, guidance and the DDIM sampler."""

from __future__ import annotations

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


# --- schedule --------------------------------------------------------------------------------


def test_schedule_alpha_sigma_identities() -> None:
    t = torch.arange(SCHEDULE.num_steps)
    a, s = SCHEDULE.alpha(t), SCHEDULE.sigma(t)
    assert torch.allclose(a**2 + s**2, torch.ones(len(t)), atol=1e-6)
    assert torch.all(a[1:] < a[:-1])  # signal decreases with t
    assert a[0] > 0.9999 and a[-1] < 1e-3  # almost clean at 0, almost pure noise at T-1
    x = noise(0)
    assert SCHEDULE.alpha(t[:B], x).shape == (B, 1, 1)
    rebuilt = D.NoiseSchedule(**SCHEDULE.config())
    assert torch.equal(rebuilt.alphas_cumprod, SCHEDULE.alphas_cumprod)
    linear = D.NoiseSchedule(kind="linear")
    assert torch.allclose(linear.alpha(t) ** 2 + linear.sigma(t) ** 2, torch.ones(len(t)))


@pytest.mark.parametrize("bad", [1000, -1, 2.5])
def test_schedule_rejects_bad_timesteps(bad: float) -> None:
    with pytest.raises(ValueError, match="timesteps"):
        SCHEDULE.alpha(torch.tensor([bad]))


def test_schedule_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="cosine"):
        D.NoiseSchedule(kind="sqrt")


def test_parameterisations_round_trip() -> None:
    x0, eps = noise(1, (64, N, C)), noise(2, (64, N, C))
    t = torch.linspace(0, 999, 64).long()
    x_t = D.q_sample(SCHEDULE, x0, t, eps)
    v = D.v_target(SCHEDULE, x0, eps, t)
    assert torch.allclose(D.x0_from_v(SCHEDULE, x_t, t, v), x0, atol=1e-5)
    assert torch.allclose(D.eps_from_v(SCHEDULE, x_t, t, v), eps, atol=1e-5)
    assert torch.allclose(D.v_from_x0(SCHEDULE, x_t, t, x0)[8:], v[8:], atol=1e-4)
    assert torch.allclose(D.eps_from_x0(SCHEDULE, x_t, t, x0)[8:], eps[8:], atol=1e-4)
    mid = slice(0, 56)  # away from t ~ T-1 where alpha_t -> 0 makes 1 / alpha_t blow up
    assert torch.allclose(D.v_from_eps(SCHEDULE, x_t, t, eps)[mid], v[mid], atol=1e-4)
    assert torch.allclose(D.x0_from_eps(SCHEDULE, x_t, t, eps)[mid], x0[mid], atol=1e-4)


def test_classifier_free_guidance() -> None:
    u, c = noise(3), noise(4)
    assert torch.allclose(D.classifier_free_guidance(u, c, 1.0), c, atol=1e-6)
    assert torch.equal(D.classifier_free_guidance(u, c, 0.0), u)
    assert torch.allclose(D.classifier_free_guidance(u, c, 2.5), u + 2.5 * (c - u))


def test_ddim_timesteps_trailing() -> None:
    steps = D.ddim_timesteps(50)
    assert steps.dtype == torch.long and steps.shape == (50,)
    assert steps[0] == 999 and steps[-1] == 19 and torch.all(steps[1:] < steps[:-1])
    assert torch.equal(D.ddim_timesteps(1000), torch.arange(999, -1, -1))
    for bad in (9, 1001, 2.5):
        with pytest.raises(ValueError, match="num_steps"):
            D.ddim_timesteps(bad)


# --- sampler ---------------------------------------------------------------------------------


def sample(**kwargs: object) -> torch.Tensor:
    args = {"num_steps": 10, "guidance_scale": 2.0, "cond": text_batch(0), "uncond": null_batch()}
    return D.ddim_sample(text_fn, noise(5), SCHEDULE, **{**args, **kwargs})


def test_ddim_is_deterministic_and_eta_uses_the_generator() -> None:
    assert torch.equal(sample(), sample())
    g = lambda seed: torch.Generator().manual_seed(seed)  # noqa: E731
    assert torch.equal(sample(eta=1.0, generator=g(0)), sample(eta=1.0, generator=g(0)))
    assert not torch.allclose(sample(eta=1.0, generator=g(0)), sample(eta=1.0, generator=g(1)))
    assert not torch.allclose(sample(eta=1.0, generator=g(0)), sample())
    with pytest.raises(ValueError, match="generator"):
        sample(eta=1.0)


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


def test_sampler_input_errors() -> None:
    with pytest.raises(ValueError, match="match"):
        sample(cond=text_batch(0, rows=2))
    with pytest.raises(ValueError, match="returned shape"):
        D.ddim_sample(
            lambda x, t, text: x[:, :1], noise(5), SCHEDULE, guidance_scale=1.0,
            cond=text_batch(0),
        )  # fmt: skip


def test_exact_denoiser_for_one_point_lands_on_it() -> None:
    """Data = one point x*: the exact v is alpha_t eps - sigma_t x* with eps from x_t and x*."""
    target = noise(7, (1, N, C)).expand(B, N, C)

    def exact(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        return D.v_from_x0(SCHEDULE, x, t, target.expand_as(x))

    out = D.ddim_sample(exact, noise(8), SCHEDULE, guidance_scale=1.0, cond=text_batch(0))
    assert torch.allclose(out, target, atol=1e-4)


def test_exact_denoiser_for_gaussian_data_follows_the_probability_flow() -> None:
    """Data ~ N(mu, s^2): E[x0 | x_t] = mu + a s^2 (x_t - a mu) / (a^2 s^2 + sigma^2), and the
    probability-flow ODE maps x_T to mu + s (x_T - a_T mu) / sqrt(a_T^2 s^2 + sigma_T^2).
    DDIM is a first-order solver of that ODE: its error shrinks as the steps grow."""
    mu, s = 1.5, 0.3

    def exact(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        a, sig = SCHEDULE.alpha(t, x), SCHEDULE.sigma(t, x)
        x0 = mu + a * s**2 * (x - a * mu) / (a**2 * s**2 + sig**2)
        return D.v_from_x0(SCHEDULE, x, t, x0)

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
