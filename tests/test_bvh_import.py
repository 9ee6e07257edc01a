"""``python -m esd.import_bvh`` end to end: Bandai-Namco files with their labels CSV (copied to
tmp; the pack is CC BY-NC 4.0 and nothing of it is kept), written samples with caption files,
the folder layout, and the facing / floor conventions of the written clips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from esd.import_bvh import main
from esd.motion.bvh.folder import split_of
from esd.motion.humanml3d import parse_captions
from esd.motion.skeleton import FEATURE_DIM, JOINT_INDEX
from tests.bvh_samples import (  # noqa: F401 (bandai_dir is a fixture)
    CMU_UNITS,
    bandai_dir,
    bvh_text,
    cmu_skeleton,
    mixamo_skeleton,
    sample_motion,
)

J = JOINT_INDEX
BANDAI_FILES = (
    "dataset-2_walk_normal_007.bvh",
    "dataset-2_raise-up-left-hand_normal_001.bvh",
    "dataset-2_wave-right-hand_normal_003.bvh",
    "dataset-1_bow_normal_001.bvh",
)


def pick_bandai(bandai: Path, tmp: Path) -> Path:
    """Copy one file per content (the first of each name pattern that exists) and the CSV."""
    folder = tmp / "bvh"
    folder.mkdir()
    names = sorted(p.name for p in (bandai / "bvh").glob("*.bvh"))
    for wanted in BANDAI_FILES:
        stem = wanted.rsplit("_", 1)[0]
        name = wanted if wanted in names else next(n for n in names if n.startswith(stem))
        shutil.copy(bandai / "bvh" / name, folder / name)
    shutil.copy(bandai / "labels.csv", tmp / "labels.csv")
    return folder


@pytest.fixture(scope="module")
def bandai_import(bandai_dir: Path, tmp_path_factory) -> Path:  # noqa: F811
    tmp = tmp_path_factory.mktemp("bandai")
    folder = pick_bandai(bandai_dir, tmp)
    out = tmp / "h3d"
    assert (
        main(["--bvh_dir", str(folder), "--labels", str(tmp / "labels.csv"), "--out", str(out)])
        == 0
    )
    return out


def clip(out: Path, content: str) -> tuple[str, np.ndarray]:
    clip_id = next(p.stem for p in (out / "new_joints").glob("*.npy") if f"_{content}_" in p.name)
    return clip_id, np.load(out / "new_joints" / f"{clip_id}.npy").astype(np.float64)


def test_bandai_folder_has_the_humanml3d_layout(bandai_import: Path) -> None:
    out = bandai_import
    ids = (out / "all.txt").read_text().split()
    assert len(ids) == 4
    split_ids = [
        i for s in ("train", "val", "test") for i in (out / f"{s}.txt").read_text().split()
    ]
    assert sorted(split_ids) == sorted(ids)
    labels = json.loads((out / "labels.json").read_text())
    concepts = {i: labels[i]["concepts"] for i in ids}
    assert sorted(c for group in concepts.values() for c in group) == [
        "bow", "raise_arms", "walk", "wave",
    ]  # fmt: skip
    report = json.loads((out / "import.json").read_text())
    for clip_id in ids:
        joints = np.load(out / "new_joints" / f"{clip_id}.npy")
        features = np.load(out / "new_joint_vecs" / f"{clip_id}.npy")
        assert joints.dtype == features.dtype == np.float32
        assert features.shape == (joints.shape[0] - 1, FEATURE_DIM)
        assert np.isfinite(features).all()
        text = (out / "texts" / f"{clip_id}.txt").read_text()
        assert parse_captions(text) and all(len(ln.split("#")) == 4 for ln in text.splitlines())
        info = report["clips"][clip_id]
        assert (info["rig"], info["unit"], info["split"]) == (
            "Bandai-Namco", "cm", split_of(clip_id),
        )  # fmt: skip
    assert not (out / "Mean.npy").exists()


def test_bandai_clips_are_floored_and_face_plus_z_with_the_left_at_plus_x(bandai_import) -> None:
    for clip_id in (bandai_import / "all.txt").read_text().split():
        g = np.load(bandai_import / "new_joints" / f"{clip_id}.npy").astype(np.float64)
        assert g[..., 1].min() == pytest.approx(0.0, abs=1e-5)
        left = g[0, J["left_hip"]] - g[0, J["right_hip"]] + g[0, J["left_shoulder"]]
        left = left - g[0, J["right_shoulder"]]
        assert left[0] / np.linalg.norm(left) > 0.99  # frame 0: left is +X, so forward is +Z
        assert np.allclose(g[0, 0, [0, 2]], 0.0, atol=1e-5)


def test_bandai_motion_reads_as_the_action(bandai_import: Path) -> None:
    """Walk ~1.2 m/s forward; the left-hand raise lifts the left wrist above the head while the
    right stays below its shoulder; the right-hand wave oscillates the right wrist sideways."""
    _, walk = clip(bandai_import, "walk")
    speed = np.linalg.norm(walk[-1, 0, [0, 2]] - walk[0, 0, [0, 2]]) / (len(walk) / 20)
    assert 0.9 < speed < 1.6
    _, raise_left = clip(bandai_import, "raise-up-left-hand")
    assert (raise_left[:, J["left_wrist"], 1] > raise_left[:, J["head"], 1]).any()
    assert (raise_left[:, J["right_wrist"], 1] < raise_left[:, J["right_shoulder"], 1]).all()
    _, wave = clip(bandai_import, "wave-right-hand")
    lateral = wave[:, J["right_wrist"], 0] - wave[:, J["right_shoulder"], 0]
    crossings = np.sum(np.diff(np.sign(lateral - np.median(lateral))) != 0)
    assert crossings >= 4 and np.ptp(lateral) > 0.1


def test_written_samples_import_with_caption_files(tmp_path: Path) -> None:
    folder = tmp_path / "bvh"
    (folder / "sub").mkdir(parents=True)
    cmu, mixamo = cmu_skeleton(), mixamo_skeleton()
    (folder / "cmu_walk.bvh").write_text(bvh_text(cmu, sample_motion(cmu, CMU_UNITS)))
    (folder / "cmu_walk.txt").write_text("a person walks forward\nsomeone walks#x/X#0.0#0.0\n")
    (folder / "sub" / "mixamo.bvh").write_text(bvh_text(mixamo, sample_motion(mixamo, 100.0)))
    (folder / "sub" / "mixamo.txt").write_text("a person raises the left arm\n")
    (folder / "nocaption.bvh").write_text(bvh_text(cmu, sample_motion(cmu, CMU_UNITS)))
    out = tmp_path / "out"
    assert main(["--bvh_dir", str(folder), "--out", str(out)]) == 0
    assert (out / "all.txt").read_text().split() == ["cmu_walk", "mixamo"]
    texts = (out / "texts" / "cmu_walk.txt").read_text().splitlines()
    assert [t.split("#")[0] for t in texts] == ["a person walks forward", "someone walks"]
    assert not (out / "labels.json").exists()  # no concepts known
    report = json.loads((out / "import.json").read_text())
    assert report["clips"]["mixamo"]["rig"] == "Mixamo"
    assert "no caption" in report["skipped"]["nocaption.bvh"]


def test_import_errors_are_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "bvh").mkdir()
    with pytest.raises(SystemExit) as err:
        main(["--bvh_dir", str(tmp_path / "bvh"), "--out", str(tmp_path / "out")])
    assert err.value.code == 2
    assert "no .bvh file" in capsys.readouterr().err
    (tmp_path / "bvh" / "broken.bvh").write_text("HIERARCHY\nROOT x\n")
    (tmp_path / "bvh" / "broken.txt").write_text("a person\n")
    with pytest.raises(SystemExit):
        main(["--bvh_dir", str(tmp_path / "bvh"), "--out", str(tmp_path / "out")])
    assert "no file could be imported; the first: broken.bvh:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bvh"]  # no temp folder left behind
