"""Oracle tests of the ESD objective: the target's direction, the loss by an independent route."""

import pytest
import torch

from esd.erasure.config import ESDConfig
from esd.erasure.loop import run_esd
from esd.erasure.objective import esd_loss, esd_target
from esd.erasure.parameters import freeze, prepare_student
from esd.erasure.sources import PoolSource
from tests.tiny import tiny_generator

FAST = dict(trajectories=4, ddim_steps=10, batch_size=8, seconds=(2.0, 2.4), lr=1e-3)


@pytest.fixture
def base(text_encoder):
    return tiny_generator(text_encoder)


def test_target_points_away_from_the_concept_by_eta():
    """target - p_u = -eta (p_c - p_u): the step from the unconditional prediction is the
    concept's guidance direction reversed and scaled by eta (numbers, not the formula's code)."""
    u = torch.tensor([[[0.0, 1.0, -2.0]]])
    c = torch.tensor([[[1.0, 3.0, -2.0]]])  # c - u = (1, 2, 0)
    torch.testing.assert_close(esd_target(u, c, 1.0), torch.tensor([[[-1.0, -1.0, -2.0]]]))
    torch.testing.assert_close(esd_target(u, c, 2.5), torch.tensor([[[-2.5, -4.0, -2.0]]]))
    for eta in (0.5, 1.0, 3.0):  # further from c than u is, on the line through c and u
        target = esd_target(u, c, eta)
        assert (target - c).norm() > (u - c).norm()
        torch.testing.assert_close(target - u, -eta * (c - u))


def _guidance_coordinate(base, teacher, student, cfg):
    """s = <p_student(c) - p_u, p_c - p_u> / |p_c - p_u|^2 over valid tokens of pool batches,
    with p_c, p_u the teacher's predictions: 1 for the teacher itself, -eta for the target."""
    source = PoolSource(base, teacher, cfg.prompts, cfg, seed=cfg.seed + 7)
    dots, norms = 0.0, 0.0
    for step in range(3):
        batch = source.batch(step)
        cond = base.encode_prompts([cfg.prompts[0]] * len(batch.t))[0]
        with torch.no_grad():
            pred = base.denoise_fn(batch.mask, student)(batch.x_t, batch.t, cond)
        valid = batch.mask[..., None].float()
        guide = (batch.pred_cond - batch.pred_uncond) * valid
        dots += float(((pred - batch.pred_uncond) * guide).sum())
        norms += float((guide * guide).sum())
    return dots / norms


def test_training_moves_the_prediction_against_the_concept_direction(base):
    """The student's p(x_t, c) moves along p_c - p_u towards -eta (the target), from 1 (the
    teacher). A target that strengthens the concept (c - eta (u - c)) would move it past 1."""
    cfg = ESDConfig(**FAST, iterations=40, negative_guidance=1.0)
    teacher = freeze(base.denoiser)
    assert _guidance_coordinate(base, teacher, teacher, cfg) == pytest.approx(1.0)
    student = run_esd(base, cfg).student
    assert -1.5 < _guidance_coordinate(base, teacher, student, cfg) < -0.5  # near -eta = -1


def test_esd_loss_equals_an_independent_computation(base):
    """The masked mean over valid tokens and channels of (student - target)^2, computed row by
    row with the target as (1 + eta) p_u - eta p_c and the student on the rows' own prompts."""
    cfg = ESDConfig(**FAST, concepts=("a person kicking", "a person waving"))
    teacher = freeze(base.denoiser)
    student, _ = prepare_student(teacher, "esd-x")
    with torch.no_grad():  # a student that differs from its teacher
        for name, p in student.named_parameters():
            if "cross_attn" in name:
                p.add_(0.05 * torch.randn_like(p))
    batch = PoolSource(base, teacher, cfg.prompts, cfg).batch(1)
    texts = base.encode_prompts([cfg.prompts[int(i)] for i in batch.prompt_ids])[0]
    eta = 1.7
    loss = esd_loss(base, student, batch, texts, eta)

    squares, count = 0.0, 0
    for row in range(len(batch.t)):
        prompt = cfg.prompts[int(batch.prompt_ids[row])]
        tokens = int(batch.mask[row].sum())
        text = base.encode_prompts([prompt])[0]
        mask = batch.mask[row : row + 1]
        with torch.no_grad():
            pred = base.denoise_fn(mask, student)(
                batch.x_t[row : row + 1], batch.t[row : row + 1], text
            )[0, :tokens]
        target = (1 + eta) * batch.pred_uncond[row, :tokens] - eta * batch.pred_cond[row, :tokens]
        squares += float(((pred.double() - target.double()) ** 2).mean(dim=1).sum())
        count += tokens
    assert torch.unique(batch.prompt_ids).numel() == 2  # both prompts in the batch
    assert bool((~batch.mask).any())  # padding present: it must not count
    assert float(loss.detach()) == pytest.approx(squares / count, rel=1e-4)
