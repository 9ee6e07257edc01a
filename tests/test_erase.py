import threading
from dataclasses import replace

import pytest
import torch

from esd.erasure.config import ESDConfig, validate_config
from esd.erasure.loop import run_esd
from esd.erasure.objective import esd_target
from esd.erasure.parameters import freeze, prepare_student
from esd.erasure.sources import PoolSource
from esd.models import checkpoints as ck
from esd.models.generator import apply_denoiser_overlay
from tests.tiny import tiny_generator

FAST = dict(trajectories=4, ddim_steps=10, batch_size=8, seconds=(2.0, 2.4), lr=1e-3)


@pytest.fixture
def base(text_encoder):
    return tiny_generator(text_encoder)


def test_esd_target_matches_the_formula():
    u, c = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    for eta in (0.5, 1.0, 2.5):
        torch.testing.assert_close(esd_target(u, c, eta), u - eta * (c - u))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(concepts=("  ",)), "empty"),
        (dict(concepts=("!!!",)), "no letters or digits"),
        (dict(concepts=()), "target concept is empty"),
        (dict(concepts=("k" * 201,)), "target concept is 201 characters long"),
        (dict(concepts=("a person\nkicking",)), "target concept contains the control"),
        (dict(variants=("a person kicks\x00",)), "variant contains the control character"),
        (dict(anchors=("🦵",), preservation_weight=1.0), "anchor prompt '🦵' has no letters"),
        (dict(negative_guidance=float("nan")), "negative_guidance"),
        (dict(negative_guidance=-1.0), "negative_guidance"),
        (dict(lr=0.0), "lr"),
        (dict(lr=float("inf")), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=10**8), "batch_size must be at most 1024"),
        (dict(method="lora"), "unknown method"),
        (dict(xt_source="noise"), "unknown xt_source"),
        (dict(iterations=0), "iterations"),
        (dict(preservation_weight=1.0), "anchor"),
        (dict(train_clips=0), "train_clips must be at least 1"),
        (dict(trajectories=1, variants=("a person kicks",)), "2 prompts need at least 2"),
    ],
)
def test_bad_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        validate_config(ESDConfig(**change))


def test_prompts_of_any_script_are_accepted():
    """check_prompt's rules: letters of any script count, 200 characters is the limit."""
    validate_config(ESDConfig(concepts=("一个人在踢腿",), variants=("k" * 200,), anchors=("é",)))


def test_student_trains_only_the_selected_parameters(base):
    teacher = freeze(base.denoiser)
    for method, marker in (("esd-x", True), ("esd-u", False)):
        student, names = prepare_student(teacher, method)
        assert names and all(("cross_attn" in n) == marker for n in names)
        trainable = {n for n, p in student.named_parameters() if p.requires_grad}
        assert trainable == set(names)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_pool_holds_exact_teacher_predictions(base):
    cfg = ESDConfig(**FAST)
    teacher = freeze(base.denoiser)
    source = PoolSource(base, teacher, cfg.prompts, cfg)
    batch = source.batch(0)
    texts = base.encode_prompts([cfg.prompts[0]] * len(batch.t))
    fn = base.denoise_fn(batch.mask, teacher)
    with torch.no_grad():
        torch.testing.assert_close(fn(batch.x_t, batch.t, texts[0]), batch.pred_cond)
        torch.testing.assert_close(fn(batch.x_t, batch.t, texts[1]), batch.pred_uncond)
    assert len(source.pool) == cfg.trajectories * cfg.ddim_steps


@pytest.mark.parametrize("source", ["pool", "teacher"])
def test_run_changes_only_selected_parameters_and_loss_falls(base, source):
    before = {k: v.clone() for k, v in base.denoiser.state_dict().items()}
    cfg = ESDConfig(**FAST, xt_source=source, iterations=40, method="esd-x")
    result = run_esd(base, cfg)
    after = result.student.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all("cross_attn" in k for k in changed)
    for k, v in base.denoiser.state_dict().items():  # the base (teacher source) never changes
        assert torch.equal(v, before[k])
    first, last = sum(result.losses[:5]) / 5, sum(result.losses[-5:]) / 5
    assert last < 0.7 * first, (first, last)
    assert result.steps_done == 40 and not result.stopped


def test_layout_stop_and_resume(base, tmp_path):
    run = ck.run_paths(tmp_path, ck.esd_run_name("tiny", "a person kicking"))
    cfg = ESDConfig(**FAST, epochs=3)  # 4 traj x 10 steps / 8 = 5 iterations per epoch
    stop = threading.Event()

    def stop_mid_epoch(report):
        if report.step == 7:
            stop.set()

    first = run_esd(base, cfg, run, {"name": "tiny"}, on_step=stop_mid_epoch, stop=stop)
    assert first.stopped and first.steps_done == 7 and first.total_steps == 15
    assert run.epoch_checkpoint(1).is_file() and not run.epoch_checkpoint(2).exists()
    saved = ck.load_checkpoint(run.latest, kind="esd")
    assert saved["total_iter"] == 7 and saved["base"]["name"] == "tiny"
    restored = apply_denoiser_overlay(base.denoiser, saved)
    for k, v in first.student.state_dict().items():
        torch.testing.assert_close(restored.state_dict()[k], v)

    second = run_esd(base, cfg, run, {"name": "tiny"}, resume=True)
    assert second.steps_done == 15 and not second.stopped
    assert len(second.losses) == 15 and second.losses[:7] == first.losses
    assert [p.name for p in sorted(run.model_dir.glob("net_e_*.tar"))] == [
        "net_e_01.tar",
        "net_e_02.tar",
        "net_e_03.tar",
    ]
    for change in ({"method": "full"}, {"trajectories": 5}, {"lr": 1e-4}, {"seconds": (2.0, 3.0)}):
        with pytest.raises(ValueError, match=f"cannot resume: .* used {next(iter(change))}="):
            run_esd(base, replace(cfg, **change), run, resume=True)
    more = run_esd(base, replace(cfg, epochs=4), run, {"name": "tiny"}, resume=True)
    assert more.steps_done == 20  # epochs may grow
