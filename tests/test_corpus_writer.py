"""The corpus folder: HumanML3D layout, determinism, splits, round trip, plausibility, bad input."""

import json

import numpy as np
import pytest

from esd.corpus import writer
from esd.corpus.__main__ import main
from esd.corpus.captions.heldout import HELDOUT_PHRASINGS
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.features import features_to_joints
from esd.motion.humanml3d import MotionFolder, parse_captions

CLIPS = 100  # 4 per concept: every concept in every split


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "t2m_synth"
    manifest = writer.write_corpus(out, clips=CLIPS, seed=7, workers=2)
    return out, manifest


def test_layout_and_manifest(corpus):
    out, manifest = corpus
    ids = (out / "all.txt").read_text().split()
    assert len(ids) == CLIPS and ids[0] == "000000"
    for clip in ids[:5]:
        joints = np.load(out / "new_joints" / f"{clip}.npy")
        features = np.load(out / "new_joint_vecs" / f"{clip}.npy")
        assert joints.dtype == np.float32 and features.dtype == np.float32
        assert joints.shape[1:] == (22, 3) and features.shape == (joints.shape[0] - 1, 263)
        assert 40 <= joints.shape[0] <= 196
        lines = (out / "texts" / f"{clip}.txt").read_text().splitlines()
        assert len(lines) == 3 and all(line.count("#") == 3 for line in lines)
        assert all(line.endswith("#0.0#0.0") for line in lines)
        assert len({line.split("#")[0] for line in lines}) == 3
    assert np.load(out / "Mean.npy").shape == (263,) and np.load(out / "Std.npy").shape == (263,)
    labels = json.loads((out / "labels.json").read_text())
    assert set(labels) == set(ids)
    assert set(json.loads((out / "heldout.json").read_text())) == set(HELDOUT_PHRASINGS)
    assert manifest["clips"] == CLIPS and sum(manifest["splits"].values()) == CLIPS
    assert json.loads((out / "manifest.json").read_text())["seed"] == 7
    assert not list(out.parent.glob(".t2m_synth.partial-*"))


def test_every_concept_in_every_split_and_the_reader_accepts_it(corpus):
    out, _ = corpus
    folder = MotionFolder(out)
    labels = json.loads((out / "labels.json").read_text())
    for split in ("train", "val", "test"):
        ids = (out / f"{split}.txt").read_text().split()
        present = {c for i in ids for c in labels[i]["concepts"]}
        assert present == set(CONCEPT_NAMES), split
        assert len(folder.load_split(split)) >= len(ids)


def test_features_round_trip_to_the_stored_joints(corpus):
    out, _ = corpus
    for clip in ("000003", "000042"):
        joints = np.load(out / "new_joints" / f"{clip}.npy")
        decoded = features_to_joints(np.load(out / "new_joint_vecs" / f"{clip}.npy"))
        np.testing.assert_allclose(decoded, joints[:-1], atol=1e-4)


def test_labels_match_captions(corpus):
    out, _ = corpus
    labels = json.loads((out / "labels.json").read_text())
    for clip, label in list(labels.items())[:40]:
        segments = label["segments"]
        assert [s["concept"] for s in segments] == label["concepts"]
        frames = np.load(out / "new_joints" / f"{clip}.npy").shape[0]
        assert all(0 <= s["start"] < s["end"] <= frames for s in segments)
        captions = parse_captions((out / "texts" / f"{clip}.txt").read_text())
        assert all(c[1] == 0 for c in captions)  # whole-clip captions


def test_plausibility_within_bounds(corpus):
    _, manifest = corpus
    p = manifest["plausibility"]
    assert p["min_height_m"]["min"] >= 0.0  # nothing below the floor, in any clip
    assert p["planted_skate_mm"]["mean"] < 0.5 and p["planted_skate_max_mm"]["max"] < 10.0
    assert p["hinge_violations"]["max"] == 0
    assert p["ballistic_error_m_s2"]["max"] < 1e-3
    assert p["max_speed_m_s"]["max"] < 25.0  # m/s: no teleporting joints


def test_deterministic_and_independent_of_workers(corpus, tmp_path):
    out, _ = corpus
    again = tmp_path / "again"
    writer.write_corpus(again, clips=CLIPS, seed=7, workers=1)
    for name in ("all.txt", "train.txt", "test.txt", "labels.json", "texts/000011.txt"):
        assert (again / name).read_text() == (out / name).read_text(), name
    for name in ("new_joint_vecs/000011.npy", "Mean.npy", "Std.npy"):
        np.testing.assert_array_equal(np.load(again / name), np.load(out / name))


def test_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    out = tmp_path / "c"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(writer.CorpusError, match="--overwrite"):
        writer.write_corpus(out, clips=3)
    assert (out / "keep.txt").read_text() == "mine"
    writer.write_corpus(out, clips=3, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "manifest.json").is_file()


def test_a_failed_run_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = writer.make_clip

    def flaky(index, primary, seed):
        calls["n"] += 1
        if calls["n"] > 4:
            raise RuntimeError("disk on fire")
        return real(index, primary, seed)

    monkeypatch.setattr(writer, "make_clip", flaky)
    with pytest.raises(RuntimeError):
        writer.write_corpus(tmp_path / "c", clips=10)
    assert not (tmp_path / "c").exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--clips", "0"], "must be at least 1"),
        (["--clips", "many"], "expected a whole number"),
        (["--seed", "-1"], "seed must be >= 0"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_cli_usage_errors(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "c"), *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_cli_writes_and_summarises(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["--out", str(out), "--clips", "5", "--workers", "1"]) == 0
    assert main(["--summary", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "5 clips" in printed and "kick" in printed and "foot skate" in printed
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(out), "--clips", "5"])
    assert exit_info.value.code == 2 and "not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--summary", str(tmp_path / "missing")])
    assert "no manifest.json" in capsys.readouterr().err
