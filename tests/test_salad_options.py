"""SALAD's opt.txt: value rules, tolerance to odd lines, the writer, vae_name, dataset constants."""

from __future__ import annotations

from pathlib import Path

import pytest

from esd.models.salad import options as O


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True), ("False", False), ("0.0005", 0.0005), ("7.5", 7.5), ("1234", 1234),
        ("1e-06", "1e-06"), ("-1", "-1"), ("cuda:0", "cuda:0"), ("[7, 10, 8, 11]", [7, 10, 8, 11]),
        ("[[0, 2], [9, 14]]", [[0, 2], [9, 14]]), ("./checkpoints", "./checkpoints"),
        ("[__import__('os')]", "[__import__('os')]"), ("1.5.3", "1.5.3"), ("None", "None"),
    ],
)  # fmt: skip
def test_values_follow_salads_rules(text: str, value: object) -> None:
    parsed = O.parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_reader_skips_odd_lines_and_applies_the_dataset_constants(tmp_path: Path) -> None:
    path = tmp_path / "opt.txt"
    path.write_text(
        f"{O.BANNER}\nname: my_model\nwindow_size = 64\njoints_num: 21\nweight_decay: 1e-06\n"
        f"vae_name: t2m_vae_gelu\n\n{O.END}\n"
    )
    options = O.read_salad_opt(path)
    assert options["name"] == "my_model" and options["weight_decay"] == "1e-06"
    assert "window_size" not in options and options["joints_num"] == 22  # the constant wins
    assert options["contact_joints"] == [7, 10, 8, 11] and options["unit_length"] == 4
    assert O.vae_dir(options, tmp_path) == tmp_path / "t2m" / "t2m_vae_gelu"


def test_writer_round_trips_in_salads_format(tmp_path: Path) -> None:
    options = {"lr": 0.0005, "name": "x", "is_train": True, "milestones": [50000], "wd": "1e-06"}
    O.write_salad_opt(tmp_path / "opt.txt", options)
    lines = (tmp_path / "opt.txt").read_text().splitlines()
    assert lines[0] == O.BANNER and lines[-1] == O.END and lines[1:-1] == sorted(lines[1:-1])
    assert lines[1] == "is_train: True" and "milestones: [50000]" in lines
    assert O.read_salad_opt(tmp_path / "opt.txt") == {**options, **O.DATASET_CONSTANTS["t2m"]}


def test_reader_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(O.SaladOptionsError, match=r"no opt\.txt"):
        O.read_salad_opt(tmp_path / "opt.txt")
    (tmp_path / "opt.txt").write_text("dataset_name: kit\n")
    with pytest.raises(O.SaladOptionsError, match="'kit' is not supported"):
        O.read_salad_opt(tmp_path / "opt.txt")
    for bad in ({}, {"vae_name": "../x"}, {"vae_name": ""}):
        with pytest.raises(O.SaladOptionsError, match="vae_name"):
            O.vae_dir(bad, tmp_path)


def test_reads_the_fixture_folders(salad_fixture_dir: Path) -> None:
    root = salad_fixture_dir / "checkpoints" / "t2m"
    denoiser = O.read_salad_opt(root / "t2m_denoiser_vpred_vaegelu" / "opt.txt")
    assert (
        denoiser["latent_dim"] == 64 and denoiser["n_heads"] == 4 and denoiser["cond_scale"] == 7.5
    )
    assert denoiser["prediction_type"] == "v_prediction" and denoiser["beta_start"] == 0.00085
    assert denoiser["kinematic_chain"][0] == [0, 2, 5, 8, 11]
    vae = O.read_salad_opt(O.vae_dir(denoiser, root.parent) / "opt.txt")
    assert vae["latent_dim"] == 32 and vae["norm"] == "none" and vae["activation"] == "gelu"
    evaluator = O.read_salad_opt(root / "Comp_v6_KLD005" / "opt.txt")
    assert evaluator["dim_movement_enc_hidden"] == 64 and evaluator["input_z"] is False
