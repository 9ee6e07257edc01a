"""`python -m esd.train` with the seed's flags, on a tiny base model saved under tmp_path."""

import shlex

import pytest

from esd.erasure.concept_clips import concept_latents
from esd.models import checkpoints as ck
from esd.models import generator
from esd.motion.humanml3d import MotionFolder
from esd.train import main
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


def test_the_seed_command_runs_and_writes_the_seed_layout(ckpts):
    main([*shlex.split(SEED_COMMAND), "--checkpoints_dir", str(ckpts), *FAST])
    run = ck.run_paths(ckpts, f"{ck.BASE_MODEL_NAME}_ESD_a_person_kicking")
    assert run.opt_file.is_file() and (run.logs_dir / "train.log").is_file()
    assert run.eval_dir.parent == run.root
    epochs = sorted(p.name for p in run.model_dir.glob("net_e_*.tar"))
    assert epochs == [f"net_e_{e:02d}.tar" for e in range(1, 11)]
    latest = ck.load_checkpoint(run.latest, kind="esd")
    assert latest["epoch"] == 10 and latest["total_iter"] == 10  # 4 x 10 points / 128 = 1 per epoch
    assert latest["esd"]["negative_guidance"] == 1.5 and latest["esd"]["lr"] == 1e-5
    assert latest["base"]["name"] == ck.BASE_MODEL_NAME
    log = (run.logs_dir / "train.log").read_text()
    assert "done: 10/10 steps" in log and "python -m esd.evaluate" in log


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
