"""The mixed folder (procedural corpus + imported motion capture) and ``python -m esd.pretrain
mixed``: prefixed ids, held-out ids never enter, repeats, Mean/Std, labels, provenance, model
cards with the attribution, the bundle refusal and the one-line errors. Fake folders, except the
last test (a few real Bandai-Namco files, CC BY-NC 4.0: tests only, nothing of them is kept)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from esd.models import checkpoints as ck
from esd.motion.humanml3d import MotionFolder
from esd.motion.skeleton import FEATURE_DIM, NUM_JOINTS
from esd.pretrain import cli
from esd.pretrain.licences import (
    BANDAI_ATTRIBUTION,
    MODEL_CARD_FILE,
    NON_COMMERCIAL_TERMS,
    PROVENANCE_FILE,
    UNKNOWN_LICENCE,
)
from esd.pretrain.mixed import MixError, MixSettings, build_mixed_folder
from tests.bvh_samples import bandai_dir  # noqa: F401 (a fixture)
from tests.fakes import group_std, write_fake_humanml3d

MOCAP = {  # id -> concepts; the import put *_003 in val and *_004 in test
    "dataset-2_walk_normal_001": ["walk"],
    "dataset-2_walk_normal_002": ["walk"],
    "dataset-2_walk_normal_003": ["walk"],
    "dataset-2_wave-left-hand_normal_004": ["wave"],
    "dataset-2_wave-left-hand_normal_005": ["wave"],
    "dataset-2_wave-left-hand_normal_006": ["wave"],
    "dataset-1_guide_normal_001": [],
    "dataset-1_bow_normal_001": ["bow"],
}
CALIBRATION = [  # what --mocap_ids lists (the last one is also excluded: exclusion wins)
    "dataset-2_walk_normal_001",
    "dataset-2_walk_normal_003",
    "dataset-2_wave-left-hand_normal_004",
    "dataset-2_wave-left-hand_normal_005",
    "dataset-1_guide_normal_001",
    "dataset-1_bow_normal_001",
]
HELDOUT = ["dataset-2_walk_normal_002", "dataset-1_bow_normal_001"]
TINY = ["--model_dim", "32", "--num_layers", "1", "--latent_dim", "4", "--batch_size", "8"]
STEPS = ["--evaluator_steps", "2", "--vae_steps", "2", "--denoiser_steps", "2", "--max_clips", "16"]


def write_fake_mocap(root: Path, clips: dict[str, list[str]], rig: str = "Bandai-Namco") -> Path:
    """An esd.import_bvh-like folder (no Mean/Std): random features offset by 5."""
    rng = np.random.default_rng(1)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for clip_id, concepts in clips.items():
        length = 40 + 7 * len(clip_id) % 30
        np.save(
            root / "new_joint_vecs" / f"{clip_id}.npy",
            rng.normal(5.0, 2.0, (length, FEATURE_DIM)).astype(np.float32),
        )
        np.save(root / "new_joints" / f"{clip_id}.npy", rng.normal(size=(length, NUM_JOINTS, 3)))
        what = concepts[0] if concepts else "something"
        (root / "texts" / f"{clip_id}.txt").write_text(f"a person does {what}#x#0.0#0.0\n")
    ids = list(clips)
    split = {"val": [i for i in ids if i.endswith("_003")], "test": [i for i in ids if "_004" in i]}
    split["train"] = [i for i in ids if i not in split["val"] + split["test"]]
    for name, members in split.items():
        (root / f"{name}.txt").write_text("".join(f"{i}\n" for i in members))
    labels = {i: {"concepts": c, "source": {"content": i.split("_")[1]}} for i, c in clips.items()}
    (root / "labels.json").write_text(json.dumps(labels))
    (root / "import.json").write_text(json.dumps({"clips": {i: {"rig": rig} for i in ids}}))
    return root


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("mixed_sources")
    procedural = write_fake_humanml3d(tmp / "proc", lengths=[60, 80, 100, 45, 120, 70, 90, 50] * 3)
    mocap = write_fake_mocap(tmp / "mocap", MOCAP)
    (tmp / "calibration.txt").write_text("\n".join(CALIBRATION) + "\n")
    (tmp / "heldout.txt").write_text("\n".join(HELDOUT) + "\n")
    return {
        "proc": procedural,
        "mocap": mocap,
        "ids": tmp / "calibration.txt",
        "heldout": tmp / "heldout.txt",
    }


def lines(path: Path) -> list[str]:
    return path.read_text().split()


def mix(sources, out: Path, **overrides) -> MixSettings:
    settings = dict(
        procedural=sources["proc"],
        mocap=(sources["mocap"],),
        out=out,
        mocap_ids=sources["ids"],
        exclude_ids=sources["heldout"],
        mocap_repeat=3,
    )
    return MixSettings(**{**settings, **overrides})


def test_mixed_folder_splits_labels_statistics_and_provenance(sources, tmp_path):
    out = tmp_path / "mixed"
    provenance = build_mixed_folder(mix(sources, out))
    proc = sources["proc"]
    splits = {s: lines(out / f"{s}.txt") for s in ("train", "val", "test")}
    for split in ("train", "val", "test"):  # the corpus's own split, prefixed
        own = {f"proc-{i}" for i in lines(proc / f"{split}.txt")}
        assert {i for i in splits[split] if i.startswith("proc-")} == own
    mocap_train = Counter(i for i in splits["train"] if i.startswith("mocap1-"))
    assert mocap_train == {f"mocap1-{i}": 3 for i in CALIBRATION[:-1] if not i.endswith("_003")}
    assert [i for i in splits["val"] if i.startswith("mocap1-")] == [
        "mocap1-dataset-2_walk_normal_003"
    ]
    assert not [i for i in splits["test"] if not i.startswith("proc-")]  # real clips: never test
    files = {p.stem for p in (out / "new_joint_vecs").glob("*.npy")}
    assert all(f.startswith(("proc-", "mocap1-")) for f in files)
    never = {f"mocap1-{i}" for i in HELDOUT} | {"mocap1-dataset-2_wave-left-hand_normal_006"}
    labels = json.loads((out / "labels.json").read_text())
    listed = {i for ids in splits.values() for i in ids} | set(lines(out / "all.txt"))
    assert not never & (files | set(labels) | listed)  # held-out and unlisted clips never enter
    assert labels["mocap1-dataset-2_wave-left-hand_normal_004"]["concepts"] == ["wave"]
    proc_labels = json.loads((proc / "labels.json").read_text())
    assert labels["proc-000000"] == proc_labels["000000"]
    same = os.stat(out / "new_joint_vecs" / "proc-000000.npy").st_ino
    assert same == os.stat(proc / "new_joint_vecs" / "000000.npy").st_ino  # linked, not copied

    rows = np.concatenate([np.load(out / "new_joint_vecs" / f"{i}.npy") for i in splits["train"]])
    np.testing.assert_allclose(np.load(out / "Mean.npy"), rows.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.load(out / "Std.npy"), group_std(rows), rtol=1e-5)

    records = MotionFolder(out).load_split("train")  # duplicates in train.txt are fine
    assert Counter(r.id for r in records if r.id.startswith("mocap1-")) == mocap_train
    assert provenance == json.loads((out / PROVENANCE_FILE).read_text())
    proc_entry, mocap_entry = provenance["sources"]
    assert proc_entry["licence"]["commercial"] and proc_entry["prefix"] == "proc-"
    assert mocap_entry["licence"]["name"] == "CC BY-NC 4.0"
    assert mocap_entry["licence"]["attribution"] == BANDAI_ATTRIBUTION
    assert mocap_entry["clips"] == {"train": 4, "val": 1}
    assert mocap_entry["train_entries"] == 12 and mocap_entry["left_out"] == 3
    assert provenance["non_commercial"] == ["CC BY-NC 4.0"]
    assert provenance["splits"]["train"] == len(splits["train"])


def test_unknown_concepts_are_refused_or_skipped_and_licences_unknown(sources, tmp_path):
    strange = write_fake_mocap(
        tmp_path / "cmu", {"01_01": ["walk"], "02_05": ["slash", "bow"]}, rig="CMU"
    )
    with pytest.raises(MixError, match="outside the corpus vocabulary: slash; relabel"):
        build_mixed_folder(mix(sources, tmp_path / "a", mocap=(strange,), mocap_ids=None))
    assert not (tmp_path / "a").exists()
    notes: list[str] = []
    settings = mix(
        sources,
        tmp_path / "b",
        mocap=(sources["mocap"], strange),
        mocap_ids=None,
        exclude_ids=None,
        mocap_repeat=1,
        skip_unknown_concepts=True,
    )
    provenance = build_mixed_folder(settings, notes.append)
    assert notes == [f"skipped {strange}/02_05: unknown concept(s) slash"]
    assert provenance["sources"][2]["skipped_unknown"] == {"02_05": ["slash"]}
    assert provenance["sources"][2]["licence"]["name"] == UNKNOWN_LICENCE.name
    assert len(provenance["non_commercial"]) == 2
    ids = lines(tmp_path / "b" / "all.txt")
    assert "mocap2-01_01" in ids and "mocap2-02_05" not in ids
    assert sum(i.startswith("mocap1-") for i in ids) == len(MOCAP)  # no ids file: all enter


def test_bad_folders_are_refused(sources, tmp_path, monkeypatch):
    with pytest.raises(MixError, match="no mocap folder at"):
        build_mixed_folder(mix(sources, tmp_path / "x", mocap=(tmp_path / "none",)))
    build_mixed_folder(mix(sources, tmp_path / "x"))
    with pytest.raises(MixError, match="already exists; pass --overwrite"):
        build_mixed_folder(mix(sources, tmp_path / "x"))
    build_mixed_folder(mix(sources, tmp_path / "x", mocap_repeat=1, overwrite=True))
    assert len(lines(tmp_path / "x" / "train.txt")) < len(lines(sources["proc"] / "train.txt")) + 5
    with pytest.raises(MixError, match="one of its sources"):
        build_mixed_folder(mix(sources, sources["proc"], overwrite=True))
    monkeypatch.setattr(ck, "ASSETS_DIR", tmp_path / "assets")
    with pytest.raises(ValueError, match=r"inside .*assets: data and weights made from imported"):
        build_mixed_folder(mix(sources, tmp_path / "assets" / "mixed"))


def run_mixed(sources, tmp_path: Path, *extra: str) -> None:
    cli.main(
        [
            "mixed",
            "--data_root",
            str(sources["proc"]),
            "--mocap",
            str(sources["mocap"]),
            "--mocap_ids",
            str(sources["ids"]),
            "--exclude_ids",
            str(sources["heldout"]),
            "--mocap_repeat",
            "3",
            "--mixed_root",
            str(tmp_path / "mixed"),
            "--checkpoints_dir",
            str(tmp_path / "ckpt"),
            *STEPS,
            *TINY,
            *extra,
        ]
    )


def test_mixed_command_trains_both_runs_with_model_cards_and_bundle_refuses(
    sources, tmp_path, monkeypatch, capsys
):
    run_mixed(sources, tmp_path)
    evaluator = ck.run_paths(tmp_path / "ckpt", ck.EVALUATOR_NAME)
    base = ck.run_paths(tmp_path / "ckpt", cli.MIXED_NAME)
    assert (evaluator.model_dir / "evaluator.tar").is_file() and base.best.is_file()
    for run in (evaluator, base):
        card = (run.root / MODEL_CARD_FILE).read_text()
        assert BANDAI_ATTRIBUTION in card and NON_COMMERCIAL_TERMS in card
        assert (
            "python -m esd.pretrain mixed --data_root" in card and "| 4 (x3 = 12 entries)" in card
        )
        assert json.loads((run.root / PROVENANCE_FILE).read_text())["non_commercial"]
    assert ck.read_opt(base.opt_file)["data_root"] == str(tmp_path / "mixed")

    # --resume keeps an evaluator trained as asked; one trained otherwise is trained again
    trained = (evaluator.model_dir / "evaluator.tar").read_bytes()
    run_mixed(sources, tmp_path, "--resume")
    assert (evaluator.model_dir / "evaluator.tar").read_bytes() == trained
    assert "kept the finished evaluator" in (evaluator.logs_dir / "train.log").read_text()
    run_mixed(sources, tmp_path, "--resume", "--evaluator_steps", "3")
    payload = ck.load_checkpoint(evaluator.model_dir / "evaluator.tar", kind="evaluator")
    assert payload["info"]["steps"] == 3

    monkeypatch.setattr(ck, "ASSETS_DIR", tmp_path / "assets")
    capsys.readouterr()
    for leave_out in (None, base.root, evaluator.root):  # the run cards, then the data's own
        if leave_out is not None:
            (leave_out / PROVENANCE_FILE).unlink()
        with pytest.raises(SystemExit) as exit_info:
            cli.main(
                ["bundle", "--name", cli.MIXED_NAME, "--checkpoints_dir", str(tmp_path / "ckpt")]
            )
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "CC BY-NC 4.0" in err and "refusing to bundle" in err
        assert not (tmp_path / "assets").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--mocap": "none"}, "no mocap folder at"),
        ({"--mocap": "strange"}, "outside the corpus vocabulary: slash"),
        ({"--checkpoints_dir": "assets/ck"}, "must stay local"),
        ({"--mixed_root": "assets/mixed"}, "must stay local"),
        ({"--mocap_repeat": "0"}, "--mocap_repeat must be at least 1"),
    ],
)
def test_mixed_command_bad_input_is_one_line(
    sources, tmp_path, monkeypatch, capsys, change, message
):
    monkeypatch.setattr(ck, "ASSETS_DIR", tmp_path / "assets")
    write_fake_mocap(tmp_path / "strange", {"x_1": ["slash"]})
    argv = {
        "--data_root": str(sources["proc"]),
        "--mocap": str(sources["mocap"]),
        "--mixed_root": str(tmp_path / "mixed"),
        "--checkpoints_dir": str(tmp_path / "ck"),
    }
    argv.update({k: v if k == "--mocap_repeat" else str(tmp_path / v) for k, v in change.items()})
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["mixed", *[x for pair in argv.items() for x in pair], *STEPS])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "mixed").exists() and not (tmp_path / "assets").exists()


def test_real_bandai_clips_mix_with_their_licence(bandai_dir, sources, tmp_path):  # noqa: F811
    from esd.import_bvh import main as import_bvh
    from tests.test_bvh_import import pick_bandai

    folder = pick_bandai(bandai_dir, tmp_path)
    imported = tmp_path / "h3d"
    assert (
        import_bvh(
            [
                "--bvh_dir",
                str(folder),
                "--labels",
                str(tmp_path / "labels.csv"),
                "--out",
                str(imported),
            ]
        )
        == 0
    )
    provenance = build_mixed_folder(
        MixSettings(sources["proc"], (imported,), tmp_path / "mixed", mocap_repeat=2)
    )
    entry = provenance["sources"][1]
    assert entry["licence"]["attribution"] == BANDAI_ATTRIBUTION
    assert entry["clips"]["train"] + entry["clips"]["val"] == 4
    labels = json.loads((tmp_path / "mixed" / "labels.json").read_text())
    real = sorted(c for i, v in labels.items() if i.startswith("mocap1-") for c in v["concepts"])
    assert real == ["bow", "raise_arms", "walk", "wave"]
    MotionFolder(tmp_path / "mixed").load_split("train")


def test_bench_transfer_mixes_only_the_calibration_half(sources, tmp_path):
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_transfer.py"
    spec = importlib.util.spec_from_file_location("bench_transfer", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_transfer", bench)  # its dataclasses look themselves up
    spec.loader.exec_module(bench)
    halves = bench.write_split(sources["mocap"], tmp_path)
    bench.mix_calibration(sources["mocap"], sources["proc"], tmp_path, 2, tmp_path / "mixed")
    entries = Counter(lines(tmp_path / "mixed" / "train.txt"))
    real = {i.removeprefix("mocap1-"): n for i, n in entries.items() if i.startswith("mocap1-")}
    assert real == dict.fromkeys(halves["calibration"], 2)  # the import's val clips too
    assert not [i for i in lines(tmp_path / "mixed" / "all.txt") if i.startswith("mocap1-")
                and i.removeprefix("mocap1-") in halves["heldout"]]  # fmt: skip
