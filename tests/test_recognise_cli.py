"""``python -m esd.recognise`` on a tiny HumanML3D-layout folder (only new_joint_vecs/ and
labels.json; no Mean/Std, splits or manifest), with the bundled evaluator; Wilson intervals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from esd.evaluation.instruments import load_evaluator, resolve_evaluator
from esd.evaluation.recogniser import ConceptRecogniser
from esd.evaluation.recognition import per_concept_rates, read_clips, wilson_interval
from esd.evaluation.reference import embed_records
from esd.models import checkpoints as ck
from esd.models.generator import shared_text_encoder
from esd.motion.bvh.convert import convert_bvh
from esd.motion.bvh.parser import parse_bvh
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.features import joints_to_features
from esd.recognise import main
from tests.bvh_samples import CMU_UNITS, bvh_text, cmu_skeleton, mixamo_skeleton, sample_motion

LABELS = {"cmu": ["walk"], "mixamo": ["raise_arms"], "cmu_still": ["walk"]}


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rec")
    (root / "new_joint_vecs").mkdir()
    cmu, mixamo = cmu_skeleton(), mixamo_skeleton()
    motions = {
        "cmu": (cmu, sample_motion(cmu, CMU_UNITS)),
        "mixamo": (mixamo, sample_motion(mixamo, 100.0)),
        "cmu_still": (cmu, 0 * sample_motion(cmu, CMU_UNITS)),
    }
    for clip_id, (skeleton, motion) in motions.items():
        joints = convert_bvh(parse_bvh(bvh_text(skeleton, motion))).joints
        np.save(root / "new_joint_vecs" / f"{clip_id}.npy", joints_to_features(joints))
    (root / "labels.json").write_text(json.dumps({k: {"concepts": v} for k, v in LABELS.items()}))
    return root


def test_wilson_interval_matches_known_values() -> None:
    """z = 1.96: 0/10 -> [0, 0.2775], 5/10 -> [0.2366, 0.7634], 10/10 -> [0.7225, 1]."""
    np.testing.assert_allclose(wilson_interval(0, 10), (0.0, 0.27753), atol=1e-4)
    np.testing.assert_allclose(wilson_interval(5, 10), (0.23659, 0.76341), atol=1e-4)
    np.testing.assert_allclose(wilson_interval(10, 10), (0.72247, 1.0), atol=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_per_concept_rates_count_each_labelled_concept() -> None:
    rates = per_concept_rates(["walk", "run", "wave", "wave"], [["walk"], ["walk"], ["wave"], []])
    assert list(rates) == ["walk", "wave"]
    assert (rates["walk"]["n"], rates["walk"]["hits"], rates["walk"]["rate"]) == (2, 1, 0.5)
    assert rates["wave"]["rate"] == 1.0 and rates["wave"]["ci95"][1] == 1.0


def test_recognise_cli_writes_predictions_and_rates(
    tiny_folder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "rec.json"
    assert main(["--data_root", str(tiny_folder), "--json", str(out), "--device", "cpu"]) == 0
    result = json.loads(out.read_text())
    assert sorted(result["clips"]) == sorted(LABELS)
    for clip_id, clip in result["clips"].items():
        assert clip["predicted"] == clip["top3"][0] and len(set(clip["top3"])) == 3
        assert set(clip["top3"]) <= set(CONCEPT_NAMES) and clip["labels"] == LABELS[clip_id]
    # the same recogniser on the same embeddings names the same concepts
    evaluator = load_evaluator(resolve_evaluator(None, ck.DEFAULT_CHECKPOINTS_DIR))
    encoder = shared_text_encoder("cpu")
    recogniser = ConceptRecogniser(evaluator, lambda t: encoder.sentence_embeddings(t).cpu())
    records = read_clips(tiny_folder)
    expected = recogniser.recognise(embed_records(evaluator, records))
    assert [result["clips"][r.id]["predicted"] for r in records] == expected
    walk = result["per_concept"]["walk"]
    hits = sum(result["clips"][i]["predicted"] == "walk" for i in ("cmu", "cmu_still"))
    assert (walk["n"], walk["hits"], walk["rate"]) == (2, hits, hits / 2)
    np.testing.assert_allclose(walk["ci95"], wilson_interval(hits, 2), atol=1e-4)
    assert result["overall"]["n"] == 3
    printed = capsys.readouterr().out
    assert "cmu_still: " in printed and "raise_arms" in printed and "overall" in printed


def test_recognise_without_labels_prints_predictions_only(
    tiny_folder: Path, tmp_path: Path, capsys
) -> None:
    bare = tmp_path / "bare" / "new_joint_vecs"
    bare.mkdir(parents=True)
    for path in (tiny_folder / "new_joint_vecs").glob("*.npy"):
        (bare / path.name).write_bytes(path.read_bytes())
    assert main(["--data_root", str(bare.parent), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "no labels.json" in printed and "mixamo: " in printed


def test_recognise_on_a_folder_without_features_is_one_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--data_root", str(tmp_path), "--device", "cpu"])
    assert err.value.code == 2
    message = capsys.readouterr().err.strip()
    assert "no new_joint_vecs/*.npy" in message and len(message.splitlines()) == 1


def test_ids_and_one_concept_select_the_clips(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    two = {**LABELS, "mixamo": ["raise_arms", "wave"]}  # mixamo now names two concepts
    root = tmp_path / "sel"
    (root / "new_joint_vecs").mkdir(parents=True)
    for path in (tiny_folder / "new_joint_vecs").glob("*.npy"):
        (root / "new_joint_vecs" / path.name).write_bytes(path.read_bytes())
    (root / "labels.json").write_text(json.dumps({k: {"concepts": v} for k, v in two.items()}))
    assert [r.id for r in read_clips(root, one_concept=True)] == ["cmu", "cmu_still"]
    assert [r.id for r in read_clips(root, ids={"mixamo", "cmu"})] == ["cmu", "mixamo"]
    assert [r.id for r in read_clips(root, ids={"mixamo", "cmu"}, one_concept=True)] == ["cmu"]
    listed = tmp_path / "ids.txt"
    listed.write_text("cmu_still\nmixamo\n")
    out = tmp_path / "rec.json"
    argv = ["--data_root", str(root), "--ids", str(listed), "--one_concept", "--json", str(out)]
    assert main([*argv, "--device", "cpu"]) == 0
    assert list(json.loads(out.read_text())["clips"]) == ["cmu_still"]
    listed.write_text("nothing\n")
    with pytest.raises(SystemExit) as err:
        main([*argv, "--device", "cpu"])
    assert err.value.code == 2
    assert "no clip of --ids" in capsys.readouterr().err
