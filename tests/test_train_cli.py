"""`python -m esd.train` with the seed's flags, on a tiny base model saved under tmp_path."""

import shlex
import signal

import pytest

from esd.erasure import sources
from esd.erasure.concept_clips import concept_latents
from esd.erasure.epochs import BUNDLED_TRAIN_CLIPS, HUMANML3D_TRAIN_CLIPS
from esd.erasure.loop import plan_run
from esd.models import checkpoints as ck
from esd.models import generator
from esd.motion.humanml3d import MotionFolder
from esd.train import build_parser, config_from_args, main, with_epoch_length
from tests.fakes import write_fake_humanml3d
from tests.tiny import tiny_generator

SEED_COMMAND = (
    "--name t2m_denoiser_vpred_vaegelu --dataset_name t2m --target_concept 'a person kicking' "
    "--negative_guidance 1.5 --unlearn_epochs 10 --unlearn_lr 1e-5 --batch_size 128 --num_workers 8"
)
FAST = ["--trajectories", "4", "--ddim_steps", "10"]


def shared_text_encoder_cache():
    return generator._SHARED_TEXT_ENCODERS


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory, text_encoder):
    shared_text_encoder_cache()["cpu"] = text_encoder  # reuse the session's loaded encoder
    root = tmp_path_factory.mktemp("train_cli")
    base = ck.run_paths(root, ck.BASE_MODEL_NAME)
    ck.save_checkpoint(tiny_generator(text_encoder).to_payload(), base.best)
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A fake HumanML3D folder: 10 clips, 6 of them in train.txt."""
    return write_fake_humanml3d(tmp_path_factory.mktemp("data") / "t2m", seed=1)


def test_the_seed_command_runs_and_writes_the_seed_layout(ckpts, data_root):
    main([*shlex.split(SEED_COMMAND), "--checkpoints_dir", str(ckpts), *FAST,
          "--data_root", str(data_root)])  # fmt: skip
    run = ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_kicking")
    assert run.opt_file.is_file() and (run.logs_dir / "train.log").is_file()
    assert run.eval_dir.parent == run.root
    epochs = sorted(p.name for p in run.model_dir.glob("net_e_*.tar"))
    assert epochs == [f"net_e_{e:02d}.tar" for e in range(1, 11)]
    latest = ck.load_checkpoint(run.latest, kind="esd")
    assert latest["epoch"] == 10 and latest["total_iter"] == 10  # ceil(6 train clips / 128) = 1
    assert latest["esd"]["negative_guidance"] == 1.5 and latest["esd"]["lr"] == 1e-5
    assert latest["esd"]["train_clips"] == 6
    assert latest["base"]["name"] == ck.BASE_MODEL_NAME
    log = (run.logs_dir / "train.log").read_text()
    assert "done: 10/10 steps" in log and "python -m esd.evaluate" in log
    assert "ceil(6 training clips" in log


def seed_plan(extra: str, info: dict, text_encoder):
    args = build_parser().parse_args(shlex.split(f"{SEED_COMMAND} {extra}"))
    cfg, note = with_epoch_length(config_from_args(args), args, info)
    return cfg, note, plan_run(tiny_generator(text_encoder), cfg)


def test_the_seed_command_as_written_trains_epochs_of_the_training_split(text_encoder):
    """The bundled base's 9,600 training clips at batch 128: 75 iterations per epoch, 750 in
    all (x_t still from the pool); SALAD's t2m base: HumanML3D's 23,384 clips."""
    cfg, note, (total, per_epoch) = seed_plan("", {}, text_encoder)
    assert cfg.train_clips == BUNDLED_TRAIN_CLIPS == 9_600 and cfg.xt_source == "pool"
    assert (per_epoch, total) == (75, 750) and "9,600 training clips" in note
    salad = {"salad_options": {"dataset_name": "t2m"}}
    cfg, _, (total, per_epoch) = seed_plan("--name salad_t2m", salad, text_encoder)
    assert cfg.train_clips == HUMANML3D_TRAIN_CLIPS and per_epoch == 183  # ceil(23384 / 128)
    cfg, _, (total, _) = seed_plan("--name mine", {"train_clips": 300}, text_encoder)
    assert total == 10 * 3
    two = '--target_concept "a person kicking" "a person punching"'
    _, _, (total, per_epoch) = seed_plan(two, {}, text_encoder)
    assert (per_epoch, total) == (150, 1500)  # one pass per concept
    with pytest.raises(ValueError, match="give --data_root"):
        seed_plan("--name mine", {}, text_encoder)
    cfg, _, (total, _) = seed_plan("--name mine --iterations 5", {}, text_encoder)
    assert cfg.train_clips is None and total == 5


def test_the_help_says_what_an_epoch_is_and_that_num_workers_is_unused(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "ceil(training clips / batch size) iterations per target concept" in text
    assert "9,600" in text and "23,384" in text and "unused" in text


def test_ctrl_c_while_preparing_x_t_ends_with_one_line_and_nothing_saved(
    ckpts, monkeypatch, capsys
):
    original = sources.ddim_sample

    def interrupted(*args, callback=None, **kwargs):
        def press_ctrl_c(step):
            if step.i == 1:
                signal.raise_signal(signal.SIGINT)
            callback(step)

        return original(*args, callback=press_ctrl_c, **kwargs)

    monkeypatch.setattr(sources, "ddim_sample", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoints_dir", str(ckpts), *FAST, "--target_concept", "a person jumping"])
    assert exit_info.value.code == 130
    err = capsys.readouterr().err
    assert "stopped before the first step: nothing saved" in err and "Traceback" not in err
    assert not ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_jumping").root.exists()


@pytest.mark.parametrize("flag", [["--negative_guidance", "1e308"], ["--unlearn_lr", "1e308"]])
def test_divergence_is_one_line_nonzero_and_leaves_no_checkpoint(ckpts, capsys, flag):
    argv = ["--checkpoints_dir", str(ckpts), *FAST, "--iterations", "3", "--batch_size", "8",
            "--target_concept", "a person clapping", *flag]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "training diverged at step 1" in err and "Traceback" not in err
    assert not ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_clapping").root.exists()


def test_a_run_too_large_is_refused_with_the_estimate_and_the_limit(ckpts, capsys):
    """512 trajectories x 1000 DDIM steps x 1000 epochs at batch 1 (9,600 clips per epoch)."""
    argv = shlex.split(
        "--trajectories 512 --ddim_steps 1000 --unlearn_epochs 1000 --batch_size 1 "
        "--target_concept 'a person bowing'"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoints_dir", str(ckpts), *argv])
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "9,600,000 optimizer steps, over the limit of 200,000" in err
    assert not ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_bowing").root.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target_concept", "   "], "empty"),
        (["--target_concept", "../../.."], "no letters or digits"),
        (["--negative_guidance", "nan"], "positive finite"),
        (["--negative_guidance", "-1"], "positive finite"),
        (["--unlearn_lr", "0"], "positive finite"),
        (["--batch_size", "0"], "at least 1"),
        (["--batch_size", "100000000"], "batch_size must be at most 1024"),
        (["--method", "lora"], "invalid choice"),
        (["--dataset_name", "kit"], "not supported"),
        (["--name", "no_such_model"], "unknown model 'no_such_model'"),
        (["--auto_anchors", "-1"], "auto_anchors must be a whole number from 0 to 8"),
    ],
)
def test_bad_input_is_a_one_line_error(argv, message, ckpts, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoints_dir", str(ckpts), *FAST, *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_existing_run_needs_resume_or_overwrite(ckpts, capsys):
    args = [
        "--checkpoints_dir",
        str(ckpts),
        *FAST,
        "--target_concept",
        "a person waving",
        "--iterations",
        "2",
        "--batch_size",
        "8",
    ]
    main(args)
    with pytest.raises(SystemExit):
        main(args)
    assert "--resume" in capsys.readouterr().err
    main([*args[:-4], "--iterations", "4", "--batch_size", "8", "--resume"])
    run = ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_waving")
    assert ck.load_checkpoint(run.latest)["total_iter"] == 4


def test_the_data_source_erases_with_latents_of_the_concept_clips(ckpts, tmp_path, text_encoder):
    data = write_fake_humanml3d(tmp_path / "data", lengths=[48, 64, 80, 96, 52, 72], seed=1)
    base = tiny_generator(text_encoder)
    latents = concept_latents(base, data, ("a person kicking",))
    train_ids = MotionFolder(data).split_ids("train")
    kicks = [i for i in train_ids if "kick" in (data / "texts" / f"{i}.txt").read_text()]
    assert len(latents) == len(kicks) >= 1  # only the train clips whose captions say "kick"
    assert all(z.ndim == 2 and z.shape[1] == base.vae.cfg.latent_dim for z in latents)
    ck.save_checkpoint(base.to_payload(), ck.run_paths(tmp_path / "ck", ck.BASE_MODEL_NAME).best)
    main(
        ["--name", ck.BASE_MODEL_NAME, "--target_concept", "a person kicking", "--xt_source",
         "data", "--data_root", str(data), "--iterations", "2", "--batch_size", "4",
         "--checkpoints_dir", str(tmp_path / "ck")]
    )  # fmt: skip
    run = ck.run_paths(tmp_path / "ck", f"{ck.BASE_MODEL_NAME}_ESD_a_person_kicking")
    latest = ck.load_checkpoint(run.latest, kind="esd")
    assert latest["esd"]["xt_source"] == "data" and latest["total_iter"] == 2


def test_auto_anchors_are_chosen_logged_and_stored(ckpts):
    flags = ["--iterations", "1", "--batch_size", "8", "--auto_anchors", "1", "--overwrite"]
    main(["--checkpoints_dir", str(ckpts), *FAST, "--target_concept", "a person kicking", *flags])
    run = ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_kicking")
    esd = ck.load_checkpoint(run.latest, kind="esd")["esd"]
    assert tuple(esd["anchors"]) == ("a person punching",) and esd["auto_anchors"] == 1
    assert (
        "anchored (preservation weight 5.0): ['a person punching']"
        in (run.logs_dir / "train.log").read_text()
    )
