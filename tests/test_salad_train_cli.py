"""``python -m esd.train`` on a user's SALAD ``checkpoints/`` folder: the seed's command line with
``--checkpoints_dir`` at SALAD's folders and ``--clip_path`` at the fixture's tiny CLIP.

The layout is ``tests.test_salad_cli``'s (the reduced fixture denoiser with an 8-d ``word_emb``,
written in SALAD's format), so the run erases from a real SALAD folder layout. Checked: the
run lists as an ESD run of the SALAD family, its overlay loads, and the same folder is a SALAD
model (``esd.erasure.runs``): ``model/net_best_fid.tar`` strictly reloads with the original's
keys and only the cross-attention tensors moved, and ``opt.txt`` is SALAD's format carrying the
run's flags.
"""

from __future__ import annotations

import ast
import shlex
import shutil
from pathlib import Path

import pytest
import torch

from esd.erasure.runs import run_settings, salad_settings, salad_value
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator
from esd.models.salad.denoiser import SaladDenoiser
from esd.models.salad.folder import load_salad_model, read_state, write_salad_model
from esd.models.salad.options import BANNER, END, format_opt, read_salad_opt
from esd.train import main
from tests.test_salad_cli import CLIP, NAME, TINY_CLIP_WIDTH, clip_width_denoiser
from tests.test_train_cli import SEED_COMMAND

RUN = f"{NAME}_ESD_a_person_kicking"
FEW = ["--iterations", "2", "--trajectories", "2", "--ddim_steps", "10", "--device", "cpu"]
CROSS_TENSORS = {"Wq", "Wk", "Wv", "Wo"}  # esd-x trains these Linear layers of cross_attn


def is_cross_attention(key: str) -> bool:
    """``transformer.<block>.cross_attn.W{q,k,v,o}.{weight,bias}``."""
    parts = key.split(".")
    return "cross_attn" in parts and parts[parts.index("cross_attn") + 1] in CROSS_TENSORS


@pytest.fixture(scope="module")
def salad_home(salad_fixture_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoints, clip): a copy of SALAD's checkpoints folder whose denoiser reads the tiny
    CLIP's 8-d states, and the fixture's tiny CLIP (not in the default place: --clip_path)."""
    checkpoints = tmp_path_factory.mktemp("salad_train") / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", checkpoints)
    denoiser, options = clip_width_denoiser(checkpoints / "t2m" / NAME, TINY_CLIP_WIDTH)
    write_salad_model(checkpoints / "t2m" / NAME, denoiser, options, epoch=0)
    return checkpoints, salad_fixture_dir / "clip_tiny" / CLIP


@pytest.fixture(scope="module")
def erased(salad_home) -> ck.RunPaths:
    """The seed's command on the SALAD folder, 2 iterations (``--iterations`` overrides the
    epochs), a small x_t pool; ``main`` returns (exit status 0) instead of exiting."""
    checkpoints, clip = salad_home
    main([*shlex.split(SEED_COMMAND), "--checkpoints_dir", str(checkpoints), "--clip_path",
          str(clip), *FEW])  # fmt: skip
    return ck.run_paths(checkpoints, RUN)


def base_state(checkpoints: Path) -> dict[str, torch.Tensor]:
    return read_state(ck.run_paths(checkpoints, NAME).best, "denoiser")[0]


def test_the_seed_command_erases_from_a_salad_folder(salad_home, erased) -> None:
    """Listed as an ESD run of the SALAD family; its epoch is HumanML3D's (23,384 clips)."""
    checkpoints = salad_home[0]
    entry = {e.name: e for e in ck.list_models(checkpoints)}[RUN]
    assert (entry.kind, entry.family, entry.text_encoder) == ("esd", "salad", "CLIP ViT-B/32")
    assert ck.default_checkpoint(erased) == erased.latest
    latest = ck.load_checkpoint(erased.latest, kind="esd")
    assert latest["total_iter"] == 2 and latest["base"]["name"] == NAME
    assert latest["esd"]["negative_guidance"] == 1.5 and latest["esd"]["lr"] == 1e-5
    assert latest["esd"]["train_clips"] == 23_384  # a SALAD t2m base: HumanML3D's train split
    log = (erased.logs_dir / "train.log").read_text()
    assert "ceil(23,384 training clips" in log and "done: 2/2 steps" in log


def test_the_run_is_also_a_salad_model_that_reloads_strictly(salad_home, erased) -> None:
    """model/net_best_fid.tar = {'denoiser', 'epoch'} with the original's keys, in order; it
    loads strictly into SALAD's denoiser; only cross-attention Wq/Wk/Wv/Wo moved (esd-x), and
    they equal the overlay's tensors."""
    checkpoints = salad_home[0]
    data = torch.load(erased.best, map_location="cpu", weights_only=True)
    assert set(data) == {"denoiser", "epoch"} and data["epoch"] == 1
    original = base_state(checkpoints)
    assert list(data["denoiser"]) == list(original)
    model = load_salad_model(erased.root)  # through the run's opt.txt (vae_name), strictly
    strict = SaladDenoiser(model.denoiser.cfg)
    strict.load_state_dict(data["denoiser"], strict=True)
    moved = {k for k, v in data["denoiser"].items() if not torch.equal(v, original[k])}
    assert moved and all(is_cross_attention(k) for k in moved)
    assert {k.split(".")[-2] for k in moved} == CROSS_TENSORS
    overlay = ck.load_checkpoint(erased.latest, kind="esd")["denoiser"]
    assert set(overlay) == {k for k in original if is_cross_attention(k)}
    for key, tensor in overlay.items():
        assert torch.equal(tensor, data["denoiser"][key])


def test_the_project_overlay_still_loads(salad_home, erased) -> None:
    """from_checkpoint(run): latest.tar over its SALAD base; --ckpt net_best_fid.tar: the
    SALAD-format file of the same folder; both give the SALAD file's weights."""
    checkpoints, clip = salad_home
    saved = torch.load(erased.best, map_location="cpu", weights_only=True)["denoiser"]
    for ckpt in (None, ck.BEST_CKPT):
        generator = MotionGenerator.from_checkpoint(RUN, ckpt, checkpoints, "cpu", clip_path=clip)
        assert generator.family.name == "salad"
        state = generator.denoiser.state_dict()
        assert all(torch.equal(state[k], v) for k, v in saved.items())


def test_opt_txt_is_salads_format_with_the_runs_flags(salad_home, erased) -> None:
    """SALAD's keys keep SALAD's values (renamed to the run); the run's flags are added, as
    esd_<key> where SALAD uses the key; every line splits once on ': ' (SALAD's reader)."""
    text = erased.opt_file.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == BANNER and lines[-1] == END
    for line in lines[1:-1]:
        key, value = line.strip().split(": ")  # exactly two pieces, as SALAD's get_opt
        assert key and value
        if value.startswith("["):
            ast.literal_eval(value)  # SALAD evals list values
    options = read_salad_opt(erased.opt_file)
    assert options["name"] == RUN and options["vae_name"] == "t2m_vae_gelu"
    assert options["save_root"].endswith(f"/{RUN}") and options["latent_dim"] == 64
    assert options["seed"] == 1234 and options["batch_size"] == 64  # SALAD's, not the run's
    assert options["esd_name"] == NAME and options["esd_seed"] == 0
    assert options["esd_batch_size"] == 128 and options["esd_checkpoints_dir"]
    assert options["target_concept"] == ["a person kicking"]
    assert options["negative_guidance"] == 1.5 and options["unlearn_lr"] == "1e-05"
    assert options["iterations"] == 2 and options["clip_path"].endswith(CLIP)


def test_resuming_keeps_one_opt_txt(salad_home, erased) -> None:
    """--resume rewrites opt.txt from the flags: still SALAD's format, no esd_esd_ keys, and
    the SALAD file follows latest.tar."""
    checkpoints, clip = salad_home
    main([*shlex.split(SEED_COMMAND), "--checkpoints_dir", str(checkpoints), "--clip_path",
          str(clip), *FEW[2:], "--iterations", "3", "--resume"])  # fmt: skip
    options = read_salad_opt(erased.opt_file)
    assert options["iterations"] == 3 and options["resume"] is True
    assert not any(k.startswith("esd_esd_") for k in options)
    assert ck.load_checkpoint(erased.latest)["total_iter"] == 3
    data = torch.load(erased.best, map_location="cpu", weights_only=True)
    overlay = ck.load_checkpoint(erased.latest, kind="esd")["denoiser"]
    assert all(torch.equal(v, data["denoiser"][k]) for k, v in overlay.items())


def test_a_clip_of_another_width_is_one_line(salad_fixture_dir: Path, tmp_path, capsys) -> None:
    """The fixture's own denoiser reads 512-d states; the tiny CLIP gives 8-d ones."""
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", checkpoints)
    with pytest.raises(SystemExit) as exit_info:
        main(["--name", NAME, "--checkpoints_dir", str(checkpoints), "--clip_path",
              str(salad_fixture_dir / "clip_tiny" / CLIP), *FEW])  # fmt: skip
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]  # notes (e.g. a shadowed bundled model) may come first
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert line.startswith("error: the CLIP in") and line.endswith("(--clip_path)")
    assert "gives 8-d token states" in line and "reads 512-d ones" in line
    assert not ck.run_paths(checkpoints, RUN).root.exists()


def test_salad_settings_read_in_one_piece_and_round_trip(tmp_path) -> None:
    """': ' in a value, an empty value and a '[...]' that is no list literal are made safe for
    SALAD's reader; a list of prompts still evaluates to itself; a re-read is a fixed point."""
    salad = {"name": NAME, "seed": 1234, "vae_name": "t2m_vae_gelu", "dataset_name": "t2m"}
    settings = {"name": NAME, "target_concept": ["a person: kicking", "é"], "data_root": "",
                "note": "[not a list", "odd": "[x]", "seed": 0}  # fmt: skip
    extras = salad_settings(settings, salad)
    assert extras["esd_name"] == NAME and extras["esd_seed"] == "0" and "seed" not in extras
    assert ast.literal_eval(extras["target_concept"]) == ["a person: kicking", "é"]
    assert extras["data_root"] == "''" and extras["odd"] == "'[x]'"
    assert extras["note"] == "[not a list"
    run = ck.run_paths(tmp_path, RUN)
    run.root.mkdir(parents=True)
    run.opt_file.write_text(format_opt({**salad, "name": RUN, **extras}), encoding="utf-8")
    assert salad_settings(run_settings(run, salad), salad) == extras
    assert salad_value(salad_value("a: b")) == salad_value("a: b") == "a:\\x20b"


def test_auto_anchors_are_chosen_by_clip(salad_home) -> None:
    """--auto_anchors on a SALAD base: the CLIP's own states choose two vocabulary concepts, never
    the target; the overlay and the SALAD file's opt.txt record them."""
    checkpoints, clip = salad_home
    main(["--name", NAME, "--target_concept", "a person waving", "--checkpoints_dir",
          str(checkpoints), "--clip_path", str(clip), "--auto_anchors", "2", *FEW])  # fmt: skip
    run = ck.run_paths(checkpoints, f"{NAME}_ESD_a_person_waving")
    esd = ck.load_checkpoint(run.latest, kind="esd")["esd"]
    anchors = tuple(esd["anchors"])
    assert len(anchors) == 2 and "a person waving" not in anchors
    assert esd["auto_anchors"] == 2 and esd["preservation_weight"] == 5.0
    assert (
        f"anchored (preservation weight 5.0): {list(anchors)}"
        in (run.logs_dir / "train.log").read_text()
    )
    assert read_salad_opt(run.opt_file)["anchored"] == list(anchors)
