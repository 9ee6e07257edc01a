"""One base per run, checked: an ESD run is never put silently on another base than its own.

A tiny ESD run is trained on base A; A is then replaced by a copy with one weight changed and
saved under the same name (what ``python -m esd.pretrain base`` does to the bundled model's
name). The overlay load, a resume, the workbench list, its exports and comparisons refuse the run
with one line naming it and both fingerprints; the same base passes; a checkpoint without a
stored fingerprint (an old one) loads unchecked; a checkpoints model named like a bundled one
says that it shadows it (library, commands, model list).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import torch

from esd import evaluate as evaluate_cli
from esd import generate as generate_cli
from esd import train as train_cli
from esd.common.files import atomic_save
from esd.erasure.config import ESDConfig
from esd.erasure.loop import run_esd
from esd.models import checkpoints as ck
from esd.models import generator as generator_module
from esd.models.fingerprint import (
    BaseMismatchError,
    file_fingerprint,
    fingerprint,
    state_fingerprint,
)
from esd.models.generator import MotionGenerator
from esd.models.salad.folder import read_state
from esd.workbench.presentation import MODEL_HEADERS, SHADOW_TEXT, model_rows
from esd.workbench.service import Workbench
from esd.workbench.user_input import WorkbenchError
from tests.tiny import tiny_generator, write_tiny_base

BASE = "tiny_base"
RUN = f"{BASE}_ESD_a_person_kicking"
CFG = ESDConfig(trajectories=2, ddim_steps=10, batch_size=8, seconds=(2.0, 2.0), iterations=4)
CHANGED_KEY = "out_proj.bias"  # a base weight outside ESD-x's selection


def load(checkpoints: Path, name: str, encoder) -> MotionGenerator:
    return MotionGenerator.from_checkpoint(
        name, checkpoints_dir=checkpoints, device="cpu", text_encoder=encoder
    )


def train_run(checkpoints: Path, base_name: str, encoder, stop_at: int | None = None):
    """A tiny ESD run ``{base_name}_ESD_a_person_kicking`` on the saved base, as the CLI does."""
    base = load(checkpoints, base_name, encoder)
    run = ck.run_paths(checkpoints, ck.esd_run_name(base_name, list(CFG.concepts)))
    stop = threading.Event()

    def on_step(report) -> None:
        if stop_at is not None and report.step == stop_at:
            stop.set()

    ref = {"name": base_name, "ckpt": ck.BEST_CKPT}
    run_esd(base, CFG, run, ref, on_step=on_step, stop=stop)
    return run


def change_base(checkpoints: Path, name: str, key: str = CHANGED_KEY) -> None:
    """Rewrite base ``name`` with one weight changed (same name, same file)."""
    path = ck.run_paths(checkpoints, name).best
    payload = ck.load_checkpoint(path, kind="base")
    payload["denoiser"][key] = payload["denoiser"][key] + 0.01
    ck.save_checkpoint(payload, path)


def prints_of(checkpoints: Path, base_name: str, run: ck.RunPaths) -> tuple[str, str]:
    """(the fingerprint the run stores, the one of the base file found now)."""
    stored = ck.load_checkpoint(run.latest, kind="esd")["base"]["fingerprint"]
    return stored, file_fingerprint(ck.run_paths(checkpoints, base_name).best)


def printed(capsys) -> str:
    """What a command wrote (the console writes to stderr), whitespace joined."""
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err).split())


@pytest.fixture
def checkpoints(tmp_path: Path, text_encoder) -> Path:
    folder = tmp_path / "checkpoints"
    write_tiny_base(folder, text_encoder, BASE)
    return folder


# --- the fingerprint --------------------------------------------------------------------------


def test_a_file_and_the_denoiser_it_builds_have_one_fingerprint(tmp_path, text_encoder) -> None:
    gen = tiny_generator(text_encoder)
    printed = fingerprint(gen.denoiser)
    assert gen.fingerprint() == printed == state_fingerprint(gen.denoiser.state_dict())
    for half in (False, True):  # fp16 files build float32 denoisers of the same print
        path = ck.save_checkpoint(gen.to_payload(half=half), tmp_path / f"{half}.tar")
        built = MotionGenerator.from_payload(ck.load_checkpoint(path), torch.device("cpu"))
        assert file_fingerprint(path) == built.fingerprint()
    assert file_fingerprint(tmp_path / "False.tar") == printed
    other = tiny_generator(text_encoder, seed=1)
    assert other.fingerprint() != printed and len(printed) == 16


def test_the_bundled_base_file_and_model_agree(text_encoder) -> None:
    bundled = MotionGenerator.from_checkpoint(device="cpu", text_encoder=text_encoder)
    assert bundled.source is not None and bundled.source.is_file()
    assert file_fingerprint(bundled.source) == bundled.fingerprint()


def test_the_fingerprint_is_cached_per_denoiser(text_encoder, monkeypatch) -> None:
    gen = tiny_generator(text_encoder)
    calls = []
    real = generator_module.fingerprint
    monkeypatch.setattr(generator_module, "fingerprint", lambda m: calls.append(m) or real(m))
    first = gen.fingerprint()
    assert gen.fingerprint() == first and len(calls) == 1
    clone = gen.with_denoiser(tiny_generator(text_encoder, seed=2).denoiser)
    assert clone.fingerprint() != first and len(calls) == 2  # another denoiser: its own


# --- overlay ----------------------------------------------------------------------------------


def test_an_overlay_on_a_changed_base_is_refused_in_one_line(checkpoints, text_encoder) -> None:
    run = train_run(checkpoints, BASE, text_encoder)
    erased = load(checkpoints, RUN, text_encoder)  # the same base: fine
    assert erased.info["name"] == RUN and erased.source == run.latest
    change_base(checkpoints, BASE)
    stored, found = prints_of(checkpoints, BASE, run)
    assert stored != found
    with pytest.raises(BaseMismatchError) as info:
        load(checkpoints, RUN, text_encoder)
    message = str(info.value)
    assert "\n" not in message and stored in message and found in message
    assert f"run {RUN!r}" in message and f"base {BASE!r}" in message
    assert str(ck.run_paths(checkpoints, BASE).best) in message


def test_a_run_without_a_stored_fingerprint_loads_unchecked(checkpoints, text_encoder) -> None:
    run = train_run(checkpoints, BASE, text_encoder)
    payload = ck.load_checkpoint(run.latest, kind="esd")
    payload["base"] = {k: v for k, v in payload["base"].items() if k != "fingerprint"}
    ck.save_checkpoint(payload, run.latest)
    change_base(checkpoints, BASE)
    erased = load(checkpoints, RUN, text_encoder)  # an old checkpoint: nothing to compare
    trained = next(iter(payload["denoiser"]))
    assert torch.equal(erased.denoiser.state_dict()[trained], payload["denoiser"][trained])


def test_the_generate_command_refuses_in_one_line(checkpoints, text_encoder, tmp_path, capsys):
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder
    run = train_run(checkpoints, BASE, text_encoder)
    change_base(checkpoints, BASE)
    stored, found = prints_of(checkpoints, BASE, run)
    argv = ["--name", RUN, "--checkpoints_dir", str(checkpoints), "--prompt", "a person kicking",
            "--out", str(tmp_path / "x.npy"), "--device", "cpu", "--steps", "10"]  # fmt: skip
    with pytest.raises(SystemExit):
        generate_cli.main(argv)
    err = printed(capsys)
    assert stored in err and found in err and "Traceback" not in err


# --- resume -----------------------------------------------------------------------------------


def test_a_resume_on_a_changed_base_is_refused(checkpoints, text_encoder) -> None:
    run = train_run(checkpoints, BASE, text_encoder, stop_at=2)
    assert ck.load_checkpoint(run.latest, kind="esd")["total_iter"] == 2
    ref = {"name": BASE, "ckpt": ck.BEST_CKPT}
    change_base(checkpoints, BASE)
    stored, found = prints_of(checkpoints, BASE, run)
    with pytest.raises(BaseMismatchError) as info:
        run_esd(load(checkpoints, BASE, text_encoder), CFG, run, ref, resume=True)
    message = str(info.value)
    assert "\n" not in message and stored in message and found in message and RUN in message
    assert ck.load_checkpoint(run.latest, kind="esd")["total_iter"] == 2  # nothing written


def test_a_resume_on_its_own_base_continues(checkpoints, text_encoder) -> None:
    run = train_run(checkpoints, BASE, text_encoder, stop_at=2)
    ref = {"name": BASE, "ckpt": ck.BEST_CKPT}
    result = run_esd(load(checkpoints, BASE, text_encoder), CFG, run, ref, resume=True)
    assert result.steps_done == 4 and not result.stopped


def test_the_train_command_refuses_a_resume_on_a_changed_base(checkpoints, text_encoder, capsys):
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder
    run = train_run(checkpoints, BASE, text_encoder, stop_at=2)
    change_base(checkpoints, BASE)
    stored, found = prints_of(checkpoints, BASE, run)
    argv = ["--name", BASE, "--checkpoints_dir", str(checkpoints), "--target_concept",
            "a person kicking", "--trajectories", "2", "--ddim_steps", "10", "--batch_size", "8",
            "--iterations", "4", "--device", "cpu", "--resume"]  # fmt: skip
    with pytest.raises(SystemExit):
        train_cli.main(argv)
    err = printed(capsys)
    assert stored in err and found in err


# --- SALAD bases ------------------------------------------------------------------------------


def test_a_salad_run_on_a_changed_salad_base_is_refused(
    salad_fixture_dir: Path, salad_text_encoder, tmp_path: Path
) -> None:
    salad = tmp_path / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", salad)
    name = ck.BASE_MODEL_NAME  # the fixture's SALAD base
    base = load(salad, name, salad_text_encoder)
    assert file_fingerprint(base.source) == base.fingerprint()
    cross = next(k for k in base.denoiser.state_dict() if "cross_attn" in k)
    run = ck.run_paths(salad, f"{name}_ESD_a_person_kicking")
    trained = {cross: base.denoiser.state_dict()[cross] + 0.25}
    ref = {"name": name, "ckpt": ck.BEST_CKPT, "fingerprint": base.fingerprint()}
    ck.save_checkpoint({"kind": "esd", "denoiser": trained, "base": ref}, run.latest)
    assert load(salad, run.name, salad_text_encoder).family.name == "salad"
    state, epoch = read_state(base.source, "denoiser")
    state[cross] = state[cross] + 0.01
    data = {"denoiser": state, "epoch": epoch}
    atomic_save(base.source, lambda handle: torch.save(data, handle))
    found = file_fingerprint(base.source)
    assert found == load(salad, name, salad_text_encoder).fingerprint() != ref["fingerprint"]
    with pytest.raises(BaseMismatchError, match=f"{ref['fingerprint']}.*{found}"):
        load(salad, run.name, salad_text_encoder)


# --- the workbench ----------------------------------------------------------------------------


@pytest.fixture
def bench(checkpoints, tmp_path, text_encoder):
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder
    wb = Workbench(checkpoints, tmp_path / "outputs", "cpu", text_encoder)
    yield wb
    wb.wait(60.0)


def test_the_workbench_lists_a_run_on_a_changed_base_as_broken(bench, checkpoints, text_encoder):
    run = train_run(checkpoints, BASE, text_encoder)
    assert RUN in bench.run_names()
    bench.compare(BASE, RUN, ["a person kicking"], seconds=2.0, steps=10)  # loads it: cached
    bench.export_checkpoint(RUN, standalone=False)
    change_base(checkpoints, BASE)
    stored, found = prints_of(checkpoints, BASE, run)
    info = next(i for i in bench.list_models() if i.name == RUN)
    assert info.status == "broken" and stored in info.status_note and found in info.status_note
    row = dict(zip(MODEL_HEADERS, model_rows([info])[0]))
    assert row["status"].startswith("✗ broken") and found in row["status"]
    assert RUN not in bench.run_names() and RUN in bench.all_run_names()
    calls = {
        "standalone export": lambda: bench.export_checkpoint(RUN),
        "overlay export": lambda: bench.export_checkpoint(RUN, standalone=False),
        "compare": lambda: bench.compare(BASE, RUN, ["a person kicking"], seconds=2.0, steps=10),
        "resume": lambda: bench.resume_training(RUN),
    }
    for what, call in calls.items():
        with pytest.raises(WorkbenchError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and stored in message and found in message, what


def test_the_catalogue_refuses_a_run_whose_base_changed_after_listing(
    bench, checkpoints, text_encoder, monkeypatch
) -> None:
    """The list may be older than the base: loading the overlay checks again."""
    train_run(checkpoints, BASE, text_encoder)
    monkeypatch.setattr(type(bench.models), "_base_problem", lambda self, run, ref: None)
    change_base(checkpoints, BASE)
    with pytest.raises(WorkbenchError, match=r"run .* has fingerprint"):
        bench.export_checkpoint(RUN)


# --- shadowing ----------------------------------------------------------------------------------


def test_a_checkpoints_model_named_like_a_bundled_one_shadows_it(tmp_path, text_encoder) -> None:
    folder = tmp_path / "checkpoints"
    assert ck.shadow_notes(ck.BASE_MODEL_NAME, folder) == []
    write_tiny_base(folder, text_encoder)  # under the bundled model's name
    write_tiny_base(folder, text_encoder, BASE)
    notes = ck.shadow_notes(ck.BASE_MODEL_NAME, folder)
    own = ck.run_paths(folder, ck.BASE_MODEL_NAME).root
    assert notes == [
        f"{own} shadows the bundled model of the same name "
        f"({ck.ASSETS_DIR / ck.BASE_MODEL_NAME} is not used)"
    ]
    assert ck.shadow_notes(BASE, folder) == [] and ck.shadows_bundled(ck.BASE_MODEL_NAME, folder)
    run = ck.run_paths(folder, f"{ck.BASE_MODEL_NAME}_ESD_x")
    ck.save_checkpoint({"kind": "esd", "denoiser": {}, "base": {"name": ck.BASE_MODEL_NAME}},
                       run.latest)  # fmt: skip
    assert ck.shadow_notes(run.name, folder) == notes  # a run: its base's
    entries = {e.name: e for e in ck.list_models(folder)}
    assert entries[ck.BASE_MODEL_NAME].shadows and not entries[BASE].shadows
    assert not any(e.shadows for e in ck.list_models(tmp_path / "none"))


def test_the_commands_and_the_model_list_say_a_model_is_shadowed(
    tmp_path, text_encoder, capsys
) -> None:
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder
    folder = tmp_path / "checkpoints"
    write_tiny_base(folder, text_encoder)
    line = f"{ck.run_paths(folder, ck.BASE_MODEL_NAME).root} shadows the bundled model"
    argv = ["--checkpoints_dir", str(folder), "--device", "cpu"]
    generate_cli.main([*argv, "--prompt", "a person kicking", "--steps", "10",
                       "--out", str(tmp_path / "x.npy")])  # fmt: skip
    assert line in printed(capsys)
    train_cli.main([*argv, "--target_concept", "a person kicking", "--iterations", "1",
                    "--trajectories", "2", "--ddim_steps", "10", "--batch_size", "8"])  # fmt: skip
    assert line in printed(capsys)
    with pytest.raises(SystemExit):  # the shadow line comes before the evaluator is needed
        evaluate_cli.main([*argv, "--name", f"{ck.BASE_MODEL_NAME}_ESD_a_person_kicking",
                           "--evaluator", str(tmp_path / "missing.tar")])  # fmt: skip
    assert line in printed(capsys)
    wb = Workbench(folder, tmp_path / "outputs", "cpu", text_encoder)
    infos = {i.name: i for i in wb.list_models()}
    assert infos[ck.BASE_MODEL_NAME].shadows
    rows = {r[0]: dict(zip(MODEL_HEADERS, r)) for r in model_rows(list(infos.values()))}
    assert SHADOW_TEXT in rows[ck.BASE_MODEL_NAME]["status"]
