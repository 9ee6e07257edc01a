"""Limits: runs too large are refused before any work, divergence is never saved as a success,
and the retained state (loss history, per-epoch files) stays bounded."""

import pytest
import torch

from esd.erasure import budget, checkpointing
from esd.erasure.checkpointing import NonFiniteError
from esd.erasure.config import ESDConfig
from esd.erasure.history import LossHistory
from esd.erasure.loop import run_esd
from esd.models import checkpoints as ck
from tests.tiny import tiny_generator

FAST = dict(trajectories=4, ddim_steps=10, batch_size=8, seconds=(2.0, 2.4), lr=1e-3)


@pytest.fixture
def base(text_encoder):
    return tiny_generator(text_encoder)


def test_pool_estimate_is_the_product_of_the_settings():
    cfg = ESDConfig(trajectories=512, ddim_steps=1000, batch_size=1, epochs=1000)
    size = budget.run_size(cfg, total_steps=10, tokens=30, channels=16)
    assert size.pool_bytes == 512 * 1000 * 30 * 16 * 4 * 3
    assert size.teacher_sample_steps == 512 * 1000
    with pytest.raises(budget.BudgetError, match=r"512 trajectories x 1000 steps .* GiB, over"):
        budget.check_budget(cfg, size)
    two = budget.run_size(ESDConfig(concepts=("a", "b"), trajectories=8), 1, 30, 16)
    assert two.pool_trajectories == 16  # trajectories per concept


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(trajectories=512, ddim_steps=1000, epochs=1000, batch_size=1), "optimizer steps"),
        (dict(trajectories=2048, ddim_steps=1000, seconds=(2.0, 9.8)), "GiB, over the limit"),
        (dict(iterations=budget.MAX_TOTAL_STEPS + 1), "optimizer steps, over the limit"),
        (dict(xt_source="teacher", ddim_steps=1000, batch_size=512, iterations=100),
         "teacher DDIM sample-steps"),
    ],
)  # fmt: skip
def test_runs_over_a_budget_are_refused_before_any_work(base, tmp_path, change, message):
    run = ck.run_paths(tmp_path, "big")
    calls = []
    with pytest.raises(budget.BudgetError, match=message):
        run_esd(base, ESDConfig(**{**FAST, **change}), run, on_status=calls.append)
    assert calls == [] and not run.root.exists()


@pytest.mark.parametrize("change", [dict(negative_guidance=1e308), dict(lr=1e308)])
def test_divergence_stops_with_one_line_and_saves_nothing(base, tmp_path, change):
    run = ck.run_paths(tmp_path, "diverged")
    cfg = ESDConfig(**{**FAST, **change, "iterations": 5})  # 5 iterations per epoch: one epoch
    with pytest.raises(NonFiniteError, match=r"diverged at step 1\b.*nothing of this step"):
        run_esd(base, cfg, run)
    assert not run.latest.exists() and not list(run.root.glob("**/*.tar"))


def test_weights_that_are_not_finite_are_never_written(base, tmp_path):
    """Even past the loop's checks: the saver itself refuses non-finite weights."""
    from esd.erasure.checkpointing import make_saver
    from esd.erasure.parameters import freeze, prepare_student

    student, names = prepare_student(freeze(base.denoiser), "esd-x")
    with torch.no_grad():
        dict(student.named_parameters())[names[0]].fill_(float("nan"))
    optimizer = torch.optim.Adam([p for p in student.parameters() if p.requires_grad])
    run = ck.run_paths(tmp_path, "nan")
    save = make_saver(run, student, names, ESDConfig(), {}, optimizer)
    with pytest.raises(NonFiniteError, match="non-finite weights"):
        save(3, 1, LossHistory(), True)
    assert not list(tmp_path.glob("**/*.tar"))


def test_loss_history_is_bounded_and_each_value_is_a_bucket_mean():
    history = LossHistory(cap=8)
    losses = [float(i * i % 17) for i in range(100)]
    for loss in losses:
        history.append(loss)
    assert len(history.values) < 8 and history.stride == 16 and history.last == losses[-1]
    stride = history.stride
    for i, value in enumerate(history.values):  # mean of steps i*stride .. (i+1)*stride - 1
        assert value == pytest.approx(sum(losses[i * stride : (i + 1) * stride]) / stride)
    assert history.pending == losses[len(history.values) * stride :]
    resumed = LossHistory.from_state(LossHistory(cap=8).state(), cap=8)
    for loss in losses[:37]:
        resumed.append(loss)
    resumed = LossHistory.from_state(resumed.state(), cap=8)
    for loss in losses[37:]:
        resumed.append(loss)
    assert resumed.state() == history.state()


def test_only_the_newest_epoch_files_are_kept(base, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpointing, "KEEP_EPOCH_FILES", 2)
    run = ck.run_paths(tmp_path, "epochs")
    run_esd(base, ESDConfig(**FAST, epochs=4), run)  # 5 iterations per epoch
    names = sorted(p.name for p in run.model_dir.glob("*.tar"))
    assert names == ["latest.tar", "net_e_03.tar", "net_e_04.tar"]
    assert ck.load_checkpoint(run.latest, kind="esd")["epoch"] == 4
