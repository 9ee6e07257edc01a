"""``python -m esd.evaluate`` end to end on tiny random models (pipeline, files, bad input).

Models: a tiny random base model and an ESD run over it (``tests.tiny``), a tiny random evaluator
with its reference set beside it, a fake HumanML3D folder. Quality is meaningless here; what is
tested is the plumbing: outputs, baseline resolution, determinism and one-line errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import linalg

from esd import evaluate as cli
from esd.evaluation.reference import REFERENCE_FILE, ReferenceSet
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.motion.humanml3d import MotionFolder
from tests.fakes import tiny_evaluator, write_fake_humanml3d
from tests.tiny import tiny_generator

BASE = "tiny_base"
RUN = "tiny_base_ESD_a_person_kicking"
LENGTHS = [40 + (i * 37) % 150 for i in range(60)]


def base_payload(generator) -> dict:
    """A base-model checkpoint dict as ``MotionGenerator.from_payload`` reads it."""
    return {
        "kind": "base",
        "vae_config": asdict(generator.vae.cfg),
        "vae": generator.vae.state_dict(),
        "denoiser_config": asdict(generator.denoiser.cfg),
        "denoiser": generator.denoiser.state_dict(),
        **{k: v.cpu() for k, v in generator.stats.items()},
    }


def esd_payload(generator) -> dict:
    """An ESD checkpoint: perturbed cross-attention weights over BASE."""
    state = {k: v + 0.1 for k, v in generator.denoiser.state_dict().items() if "cross_attn" in k}
    return {
        "kind": "esd",
        "denoiser": state,
        "denoiser_config": asdict(generator.denoiser.cfg),
        "base": {"name": BASE, "ckpt": None},
        "esd": {"concepts": ["a person kicking"], "anchors": ["a person walking"]},
    }


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cli")
    data = write_fake_humanml3d(
        root / "data", LENGTHS, {"train": slice(0, 20), "test": slice(20, 60)}
    )
    folder = MotionFolder(data)
    evaluator = tiny_evaluator(folder)
    ck.save_checkpoint(evaluator.to_payload(), root / "evaluator" / "model" / "evaluator.tar")
    ReferenceSet.build(folder, evaluator).save(root / "evaluator" / REFERENCE_FILE)
    checkpoints = root / "checkpoints"
    generator = tiny_generator(shared_text_encoder("cpu"))  # the CLI's encoder: loaded once
    ck.save_checkpoint(base_payload(generator), ck.run_paths(checkpoints, BASE).best)
    ck.save_checkpoint(esd_payload(generator), ck.run_paths(checkpoints, RUN).latest)
    return {"root": root, "data": data, "checkpoints": checkpoints}


def argv(setup, *extra: str) -> list[str]:
    return [
        "--checkpoints_dir",
        str(setup["checkpoints"]),
        "--evaluator",
        str(setup["root"] / "evaluator" / "model" / "evaluator.tar"),
        "--quick",
        "--num_samples",
        "6",
        "--ddim_steps",
        "10",
        "--related_concepts",
        "a person walking",
        "--device",
        "cpu",
        *extra,
    ]


def run_ok(setup, *extra: str) -> dict:
    assert cli.main(argv(setup, *extra)) == 0
    return json.loads((setup["checkpoints"] / "t2m" / extra[1] / "evaluation" / "metrics.json")
                      .read_text())  # fmt: skip


def run_fails(setup, capsys, *extra: str) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main(argv(setup, *extra))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def test_esd_run_is_compared_with_its_base_and_reports_are_written(setup, tmp_path, capsys):
    out = tmp_path / "copy.json"
    metrics = run_ok(setup, "--name", RUN, "--json", str(out))
    assert metrics["model"]["name"] == RUN and metrics["model"]["kind"] == "esd"
    assert metrics["evaluator"] == "bundled"  # --evaluator FILE: the bundled evaluator's layout
    assert metrics["baseline"]["name"] == BASE  # read from the ESD checkpoint
    assert set(metrics["verdicts"]) == {
        "efficacy",
        "preservation",
        "specificity",
        "overall",
        "overall_verdict",
    }
    assert metrics["settings"]["preset"] == "custom" and metrics["settings"]["ddim_steps"] == 10
    assert json.loads(out.read_text()) == metrics
    report = (setup["checkpoints"] / "t2m" / RUN / "evaluation" / "REPORT.md").read_text()
    assert "## Verdicts" in report and "a person walking" in report and "25%" in report
    assert "Efficacy: a person kicking" in capsys.readouterr().out  # the Rich table
    # the related concept was an anchor of the run: recorded, and the report says what it means
    assert (
        metrics["model"]["anchors"] == ["a person walking"] and metrics["baseline"]["anchors"] == []
    )
    assert "related concept 'a person walking' was an anchor of the erasure" in report


def test_same_seed_same_numbers_and_no_baseline(setup):
    first = run_ok(setup, "--name", RUN, "--seed", "3")
    second = run_ok(setup, "--name", RUN, "--seed", "3")
    first.pop("run"), second.pop("run")
    assert first == second
    alone = run_ok(setup, "--name", RUN, "--seed", "3", "--no_baseline")
    assert "baseline" not in alone and "verdicts" not in alone
    assert alone["model"] == first["model"]


def test_reference_can_be_built_from_a_data_root(setup):
    metrics = run_ok(setup, "--name", BASE, "--data_root", str(setup["data"]))
    assert metrics["settings"]["reference"]["source"] == str(setup["data"])
    assert "baseline" not in metrics  # a base model has no automatic baseline


def test_also_erased_concepts_leave_the_retain_set(setup, capsys):
    metrics = run_ok(setup, "--name", BASE, "--also_erased", "a person waving")
    rule = metrics["settings"]["forget_rule"]
    assert "also without 'a person waving'" in rule
    plain = run_ok(setup, "--name", BASE)
    assert metrics["settings"]["retain_clips"] < plain["settings"]["retain_clips"]
    assert "concept is empty" in run_fails(setup, capsys, "--name", BASE, "--also_erased", " ")


def test_a_multi_concept_runs_other_targets_leave_the_retain_set(setup, capsys):
    generator = tiny_generator(shared_text_encoder("cpu"))
    payload = esd_payload(generator)
    payload["esd"] = {"concepts": ["a person kicking", "a person waving"]}
    ck.save_checkpoint(payload, ck.run_paths(setup["checkpoints"], "tiny_two").latest)
    capsys.readouterr()
    metrics = run_ok(setup, "--name", "tiny_two")
    assert "also without 'a person waving'" in metrics["settings"]["forget_rule"]
    said = capsys.readouterr()
    assert "retain set: also without 'a person waving'" in " ".join((said.out + said.err).split())
    single = run_ok(setup, "--name", RUN)  # one concept: the retain set is the usual one
    assert "also without" not in single["settings"]["forget_rule"]


def test_bundled_models_write_under_the_checkpoints_dir(setup, tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    generator_file = ck.run_paths(setup["checkpoints"], BASE).best
    bundled = ck.RunPaths(assets / "bundled_base")
    bundled.model_dir.mkdir(parents=True)
    bundled.best.write_bytes(generator_file.read_bytes())
    monkeypatch.setattr(ck, "ASSETS_DIR", assets)
    run_ok(setup, "--name", "bundled_base")
    assert not bundled.eval_dir.exists()
    assert (setup["checkpoints"] / "t2m" / "bundled_base" / "evaluation" / "REPORT.md").is_file()


def test_unknown_model_lists_the_available_ones(setup, capsys):
    err = run_fails(setup, capsys, "--name", "nope")
    assert "unknown model 'nope'" in err and BASE in err and RUN in err


def test_empty_concept(setup, capsys):
    assert "concept is empty" in run_fails(setup, capsys, "--name", BASE, "--target_concept", " ")


def test_corrupt_and_foreign_checkpoints(setup, capsys, tmp_path):
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"\x00garbage" * 10)
    err = run_fails(setup, capsys, "--name", BASE, "--ckpt", str(corrupt))
    assert "not a readable checkpoint" in err
    foreign = tmp_path / "foreign.tar"
    payload = base_payload(tiny_generator_from(setup))
    payload["vae_config"] = {**payload["vae_config"], "hidden_dim": 8}
    ck.save_checkpoint(payload, foreign)
    err = run_fails(setup, capsys, "--name", BASE, "--ckpt", str(foreign))
    assert "does not fit this project's model architecture" in err


def tiny_generator_from(setup) -> MotionGenerator:
    payload = ck.load_checkpoint(ck.run_paths(setup["checkpoints"], BASE).best)
    return MotionGenerator.from_payload(payload, torch.device("cpu"))


def test_evaluator_and_reference_errors(setup, capsys, tmp_path):
    err = run_fails(setup, capsys, "--name", BASE, "--evaluator", str(tmp_path / "none.tar"))
    assert "evaluator checkpoint not found" in err
    other = tiny_evaluator(MotionFolder(setup["data"]), seed=5)
    ck.save_checkpoint(other.to_payload(), tmp_path / "model" / "evaluator.tar")
    err = run_fails(
        setup,
        capsys,
        "--name",
        BASE,
        "--evaluator",
        str(tmp_path / "model" / "evaluator.tar"),
        "--reference",
        str(setup["root"] / "evaluator" / REFERENCE_FILE),
    )
    assert "another evaluator" in err and "--data_root" in err
    err = run_fails(
        setup, capsys, "--name", BASE, "--evaluator", str(tmp_path / "model" / "evaluator.tar")
    )
    assert "no reference set at" in err


def test_bad_numbers_are_usage_errors(setup, capsys):
    run_fails(setup, capsys, "--name", BASE, "--num_samples", "0")
    run_fails(setup, capsys, "--name", BASE, "--seed", "-1")
    assert "ddim_steps must be at least 10" in run_fails(
        setup, capsys, "--name", BASE, "--ddim_steps", "2"
    )


def test_module_entry_point_prints_one_line(setup):
    command = [sys.executable, "-m", "esd.evaluate", "--name", "nope"]
    done = subprocess.run(
        [*command, "--checkpoints_dir", str(setup["checkpoints"])],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: unknown model 'nope'")
    assert len(done.stderr.strip().splitlines()) == 1 and BASE in done.stderr


def test_a_materially_complex_fid_root_is_one_clear_line(setup, capsys, monkeypatch):
    # the FID is strict: an imaginary matrix root is an error, not a warning and a number
    exact = linalg.sqrtm
    monkeypatch.setattr(linalg, "sqrtm", lambda m: exact(m) + 0.5j * np.eye(len(m)))
    with pytest.raises(SystemExit) as info:
        cli.main(argv(setup, "--name", RUN))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "retain set: FID" in errors[0] and "materially complex" in errors[0]
    assert "more samples than embedding dimensions" in errors[0]


def test_the_table_states_the_overall_verdict(setup, capsys):
    run_ok(setup, "--name", RUN)
    out = capsys.readouterr().out
    assert "Overall: " in out and "95% interval" in out


def test_an_inconclusive_comparison_names_its_metrics():
    verdict = {"verdict": "pass"}
    metrics = {
        "verdicts": {
            "overall_verdict": "inconclusive",
            "efficacy": verdict,
            "preservation": {
                "metrics": {"fid": verdict, "r_precision_top3": {"verdict": "inconclusive"}}
            },
            "specificity": {"a person jumping": {"verdict": "inconclusive"}},
        },
        "settings": {"num_samples": {"retain": 32}},
    }
    hint = cli.verdict_hint(metrics)
    assert "r_precision_top3" in hint and "specificity 'a person jumping'" in hint
    assert "32 retain samples" in hint and "efficacy" not in hint
    metrics["verdicts"]["overall_verdict"] = "fail"
    assert cli.verdict_hint(metrics) is None
