"""x_t sources: the teacher pairs every x_t with its own timestep; batches are balanced across
the prompts and resumable; the pool holds each concept's trajectories and honours stop."""

import threading

import pytest
import torch

from esd.erasure import sources
from esd.erasure.batching import BalancedSampler, balanced_shares, drawn_before
from esd.erasure.config import ESDConfig
from esd.erasure.loop import run_esd
from esd.erasure.parameters import freeze
from esd.erasure.sources import PoolSource, PreparationStopped, TeacherSource
from esd.models import checkpoints as ck
from esd.models.diffusion import ddim_sample, ddim_timesteps
from tests.tiny import tiny_generator

FAST = dict(trajectories=4, ddim_steps=10, batch_size=8, seconds=(2.0, 2.4), lr=1e-3)
TWO = ("a person kicking", "a person waving")


@pytest.fixture
def base(text_encoder):
    return tiny_generator(text_encoder)


def test_teacher_source_x_t_lies_on_the_teacher_path_at_its_own_timestep(base, monkeypatch):
    """Each batch: x_t equals an independent guided DDIM run from the same noise stopped at
    the step whose timestep the batch carries, and the teacher predictions are those at
    (x_t, t); over several batches the step varies."""
    cfg = ESDConfig(**FAST, concepts=TWO, start_guidance=2.0)
    teacher = freeze(base.denoiser)
    noises = []
    original = base.initial_noise

    def remember(count, tokens, seed):
        noises.append(original(count, tokens, seed))
        return noises[-1]

    monkeypatch.setattr(base, "initial_noise", remember)
    source = TeacherSource(base, teacher, cfg.prompts, cfg)
    timesteps = ddim_timesteps(cfg.ddim_steps, base.schedule.num_steps, base.schedule.spacing)
    seen = set()
    for step in range(4):
        batch = source.batch(step)
        assert torch.unique(batch.t).numel() == 1  # one step per batch
        k = int((timesteps == batch.t[0]).nonzero()[0, 0])
        seen.add(k)
        cond, uncond = base.encode_prompts([cfg.prompts[int(i)] for i in batch.prompt_ids])
        fn = base.denoise_fn(batch.mask, teacher)
        with torch.no_grad():
            x_k = ddim_sample(
                fn, noises[-1], base.schedule, num_steps=cfg.ddim_steps,
                guidance_scale=cfg.start_guidance, cond=cond, uncond=uncond, stop_at=k,
            )  # fmt: skip
            torch.testing.assert_close(batch.x_t, x_k)
            torch.testing.assert_close(fn(batch.x_t, batch.t, cond), batch.pred_cond)
            torch.testing.assert_close(fn(batch.x_t, batch.t, uncond), batch.pred_uncond)
    assert len(seen) > 1


def test_pool_holds_each_concepts_trajectories_and_batches_are_balanced(base):
    cfg = ESDConfig(**FAST, concepts=TWO)
    source = PoolSource(base, freeze(base.denoiser), cfg.prompts, cfg)
    pool = source.pool
    assert pool.x_t.shape[0] == cfg.trajectories * 2  # trajectories per concept
    assert pool.prompt_ids.tolist().count(0) == pool.prompt_ids.tolist().count(1) == 4
    for step in range(6):
        ids = source.batch(step).prompt_ids.tolist()
        assert len(ids) == cfg.batch_size and ids.count(0) == ids.count(1) == 4
    teacher_ids = TeacherSource(base, base.denoiser, cfg.prompts, cfg).batch(3).prompt_ids
    assert teacher_ids.tolist().count(0) == teacher_ids.tolist().count(1) == 4


def test_shares_sum_to_the_batch_and_even_out():
    for batch, groups in ((8, 3), (1, 2), (128, 4), (5, 5)):
        totals = [0] * groups
        for step in range(2 * groups):
            shares = balanced_shares(batch, groups, step)
            assert sum(shares) == batch and max(shares) - min(shares) <= 1
            for g, share in enumerate(shares):
                assert drawn_before(batch, groups, g, step) == totals[g]
                totals[g] += share
        assert len(set(totals)) == 1  # equal over a whole number of cycles


def test_sampler_sees_every_sample_once_per_pass_and_depends_on_the_step_only():
    members = [torch.arange(0, 5), torch.arange(5, 12)]
    sampler = BalancedSampler(members, batch_size=4, seed=3)
    drawn = torch.cat([sampler.indices(step)[0] for step in range(5)])  # 10 of each group
    first = drawn[torch.isin(drawn, members[0])]
    assert sorted(first[:5].tolist()) == list(range(5))  # one full pass of group 0
    again = BalancedSampler(members, batch_size=4, seed=3)
    assert torch.equal(again.indices(4)[0], sampler.indices(4)[0])


def test_stop_ends_the_pool_between_teacher_steps(base, monkeypatch):
    """The stop event set during the third DDIM step of the first chunk: no further step runs."""
    monkeypatch.setattr(sources, "POOL_CHUNK", 2)
    cfg = ESDConfig(**FAST)
    stop, visited = threading.Event(), []
    original = sources.ddim_sample

    def counting(*args, callback=None, **kwargs):
        def spy(step):
            visited.append(step.i)
            if len(visited) == 3:
                stop.set()
            callback(step)

        return original(*args, callback=spy, **kwargs)

    monkeypatch.setattr(sources, "ddim_sample", counting)
    with pytest.raises(PreparationStopped):
        PoolSource(base, freeze(base.denoiser), cfg.prompts, cfg, stop=stop)
    assert visited == [0, 1, 2]


def test_a_run_stopped_while_preparing_writes_nothing(base, tmp_path):
    run = ck.run_paths(tmp_path, "tiny_ESD_a_person_kicking")
    run.model_dir.mkdir(parents=True)
    stop = threading.Event()

    def on_status(message):
        if message.startswith("preparing x_t"):
            stop.set()

    result = run_esd(base, ESDConfig(**FAST), run, on_status=on_status, stop=stop)
    assert result.stopped and result.steps_done == 0 and result.final_loss is None
    assert result.checkpoint is None and list(run.model_dir.iterdir()) == []
