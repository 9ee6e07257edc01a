"""The pretraining CLI end to end on a tiny fake folder: mechanics, layout, resume, errors."""

import pytest

from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator
from esd.pretrain.cli import main
from tests.fakes import write_fake_humanml3d

TINY = ["--model_dim", "32", "--num_layers", "1", "--latent_dim", "4", "--batch_size", "8"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain") / "data"
    return write_fake_humanml3d(root, lengths=[60, 80, 100, 45, 120, 70, 90, 50, 64, 130] * 3)


def run(data, ckpts, *extra):
    main(
        [
            "base",
            "--data_root",
            str(data),
            "--checkpoints_dir",
            str(ckpts),
            "--name",
            "tiny",
            "--vae_steps",
            "2",
            *TINY,
            *extra,
        ]
    )


def test_base_stage_layout_resume_and_reload(data, tmp_path, text_encoder):
    run(data, tmp_path, "--denoiser_steps", "3")
    paths = ck.run_paths(tmp_path, "tiny")
    assert paths.opt_file.is_file() and (paths.logs_dir / "train.log").is_file()
    latest = ck.load_checkpoint(paths.latest, kind="base")
    assert latest["train_state"]["step"] == 3 and latest["stage"] == "denoiser"
    assert "vae" in latest and latest["metrics"]["val_mpjpe_cm"] > 0

    run(data, tmp_path, "--denoiser_steps", "5", "--resume")
    assert ck.load_checkpoint(paths.latest)["train_state"]["step"] == 5
    assert "resuming" in (paths.logs_dir / "train.log").read_text()

    generator = MotionGenerator.from_checkpoint(
        "tiny", checkpoints_dir=tmp_path, device="cpu", text_encoder=text_encoder
    )
    out = generator.generate(["a person does kick"], lengths=[40], num_steps=10)
    assert out.joints.shape == (1, 40, 22, 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vae_steps", "0"], "--vae_steps must be at least 1"),
        (["--vae_contact_weight", "-1"], "--vae_contact_weight must be >= 0"),
        (["--vae_peak_weight", "-1"], "--vae_peak_weight must be >= 0"),
        (["--name", "../escape"], "invalid model name"),
        (["--data_root", "/nonexistent/folder"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_error(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoints_dir", str(tmp_path), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_existing_run_needs_resume_or_overwrite(data, tmp_path, capsys):
    ck.run_paths(tmp_path, "tiny").model_dir.mkdir(parents=True)
    with pytest.raises(SystemExit):
        run(data, tmp_path, "--denoiser_steps", "1")
    assert "--resume" in capsys.readouterr().err


def test_evaluator_stage_writes_what_evaluate_and_bundle_read(data, tmp_path, monkeypatch):
    from esd.evaluation.instruments import default_reference, resolve_evaluator
    from esd.evaluation.reference import ReferenceSet
    from esd.pretrain import cli as pretrain

    dirs = ["--data_root", str(data), "--checkpoints_dir", str(tmp_path)]
    pretrain.main(["evaluator", *dirs, "--evaluator_steps", "2"])
    evaluator = resolve_evaluator(None, tmp_path)
    assert evaluator == ck.run_paths(tmp_path, ck.EVALUATOR_NAME).model_dir / "evaluator.tar"
    reference = default_reference(evaluator)
    assert len(ReferenceSet.load(reference)) > 0  # where evaluate looks
    reference.unlink()
    pretrain.main(["reference", *dirs])  # rebuilt from the data, no training
    assert len(ReferenceSet.load(reference)) > 0
    run(data, tmp_path, "--denoiser_steps", "2")
    assets = tmp_path / "assets"
    monkeypatch.setattr(ck, "ASSETS_DIR", assets)
    pretrain.main(["bundle", "--name", "tiny", "--checkpoints_dir", str(tmp_path)])
    bundled = assets / ck.EVALUATOR_NAME / "model" / "evaluator.tar"
    assert bundled.is_file() and (assets / "tiny" / "model" / "net_best_fid.tar").is_file()
    assert len(ReferenceSet.load(default_reference(bundled))) > 0
