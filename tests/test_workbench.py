"""The workbench service on tiny random models in a temporary checkpoints folder.

What is tested is the plumbing the UI relies on: a job that reports, stops and refuses a second
start; one-line errors for bad requests; comparisons from identical noise; exports that reload;
the model list; a deleted run folder; an evaluation with a tiny evaluator and reference set.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from esd.common.files import FILE_MODE
from esd.erasure.config import AUTO_ANCHOR_WEIGHT
from esd.evaluation.instruments import DEFAULT_RELATED
from esd.evaluation.verdicts import read_verdict
from esd.models import checkpoints as ck
from esd.models import generator as generator_module
from esd.models.generator import MotionGenerator
from esd.motion.skeleton import FEATURE_DIM, FPS, NUM_JOINTS
from esd.workbench.catalogue import ModelInfo
from esd.workbench.comparison import (
    Comparison,
    ComparisonPair,
    MotionClip,
    comparison_prompts,
    motion_choices,
    pick_clip,
)
from esd.workbench.evaluation_setup import evaluation_targets
from esd.workbench.export import MOTION_FORMATS
from esd.workbench.jobs import FINISHED, STOPPED, JobSnapshot
from esd.workbench.presentation import (
    METRICS_HEADERS,
    MODEL_HEADERS,
    block_verdicts,
    default_base_model,
    duration_text,
    metrics_rows,
    metrics_summary,
    model_rows,
    note_line,
    note_sides,
    progress_text,
    run_prompts,
)
from esd.workbench.recognition_notes import pair_note
from esd.workbench.run_folders import REQUEST_FILE
from esd.workbench.run_status import write_status
from esd.workbench.service import Workbench
from esd.workbench.user_input import (
    MAX_PROMPTS,
    BusyError,
    EvaluationRequest,
    TrainingRequest,
    WorkbenchError,
    evaluation_settings,
    run_length,
)
from tests.fakes import write_fake_humanml3d, write_tiny_evaluator
from tests.test_jobs import threads_of_a_new_thread
from tests.test_viz_gltf import joint_nodes, node_worlds
from tests.tiny import PRETRAINING_INFO, write_tiny_base
from viz import export as viz_export
from viz.export import read_bvh
from viz.gltf import accessor_array, read_glb
from viz.gltf_check import glb_problems

BASE = ck.BASE_MODEL_NAME
RUN = f"{BASE}_ESD_a_person_kicking"
FAST = {"trajectories": 2, "ddim_steps": 10, "batch_size": 8, "seconds": (2.0, 2.0)}
LENGTHS = [40 + (i * 37) % 150 for i in range(60)]  # fake clips for the evaluator's reference
TIMEOUT = 60.0


def wait_for(bench: Workbench, predicate, timeout: float = TIMEOUT) -> JobSnapshot:
    """Poll the training job like the UI does until ``predicate(snapshot)`` holds."""
    end = time.monotonic() + timeout
    while True:
        snap = bench.snapshot()
        if predicate(snap):
            return snap
        assert time.monotonic() < end, f"timed out; last snapshot {snap}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, text_encoder) -> dict[str, Path]:
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder  # evaluation reuses it
    root = tmp_path_factory.mktemp("workbench")
    checkpoints = root / "checkpoints"
    write_tiny_base(checkpoints, text_encoder)
    data = write_fake_humanml3d(
        root / "data", LENGTHS, {"train": slice(0, 20), "test": slice(20, 60)}
    )
    write_tiny_evaluator(checkpoints, data)
    return {"root": root, "checkpoints": checkpoints, "outputs": root / "outputs"}


@pytest.fixture(scope="module")
def bench(folders, text_encoder):
    wb = Workbench(
        folders["checkpoints"],
        folders["outputs"],
        "cpu",
        text_encoder,
        motion_writers=viz_export,
    )
    yield wb
    wb.stop()
    wb.stop_evaluation()
    wb.wait(TIMEOUT)
    wb.wait_evaluation(TIMEOUT)


@pytest.fixture(scope="module")
def trained(bench) -> list[JobSnapshot]:
    """Every snapshot polled while a 6-step run trained to its end (lr high: visible change)."""
    bench.start_training(TrainingRequest(iterations=6, lr=1e-2, **FAST))
    snaps = [bench.snapshot()]
    while snaps[-1].active:
        time.sleep(0.01)
        snaps.append(bench.snapshot())
    return snaps


# --- training -----------------------------------------------------------------------------------


def test_a_run_reports_progress_and_finishes(trained) -> None:
    counts = [len(s.losses) for s in trained]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 6
    done = trained[-1]
    assert done.state == FINISHED and done.step == done.total == 6 and done.epoch >= 1
    assert done.run_name == RUN and done.rate > 0 and done.eta_s == 0.0
    assert all(math.isfinite(v) for v in done.losses)
    latest = ck.load_checkpoint(done.checkpoint, kind="esd")
    assert latest["total_iter"] == 6 and latest["base"]["name"] == BASE
    text = progress_text(done)
    assert text.startswith(f"finished · {RUN} · step 6/6 (100%)") and "it/s" in text


def test_a_run_with_anchored_nearest_concepts_stores_the_anchors(bench) -> None:
    request = TrainingRequest(
        concept="a person jumping", related=(), iterations=1, auto_anchors=1, **FAST
    )
    bench.start_training(request)
    done = bench.wait(TIMEOUT)
    assert done.state == FINISHED
    esd = ck.load_checkpoint(done.checkpoint, kind="esd")["esd"]
    assert tuple(esd["anchors"]) == ("a person kicking",) and esd["auto_anchors"] == 1
    assert esd["preservation_weight"] == AUTO_ANCHOR_WEIGHT


def test_a_run_can_be_stopped_mid_run_and_a_second_job_is_refused(bench) -> None:
    threads = torch.get_num_threads()
    request = TrainingRequest(concept="a person waving", iterations=100_000, **FAST)
    bench.start_training(request)
    first = wait_for(bench, lambda s: len(s.losses) >= 3)
    assert threads_of_a_new_thread() == threads  # training leaves comparisons' threads alone
    later = wait_for(bench, lambda s: len(s.losses) > len(first.losses) + 2)
    assert later.losses[: len(first.losses)] == first.losses  # the history only grows
    with pytest.raises(BusyError, match=r"one job at a time: the training of .* is running"):
        bench.start_training(TrainingRequest(concept="a person spinning", **FAST))
    with pytest.raises(BusyError, match="wait for it to finish or stop it first"):
        bench.start_evaluation(EvaluationRequest(model=BASE))
    with pytest.raises(WorkbenchError, match="still training"):
        bench.export_checkpoint(request_run_name := f"{BASE}_ESD_a_person_waving")
    assert "stopping" in bench.stop()
    snap = bench.wait(TIMEOUT)
    assert snap.state == STOPPED and 3 <= snap.step < 100_000
    payload = torch.load(snap.checkpoint, weights_only=True)
    assert payload["total_iter"] == snap.step and payload["kind"] == "esd"
    assert request_run_name in bench.run_names()
    assert "nothing to stop" in bench.stop()


def test_an_existing_run_is_refused_unless_suffixed(bench, trained) -> None:
    again = TrainingRequest(iterations=1, **FAST)
    with pytest.raises(WorkbenchError, match="already exists: choose overwrite"):
        bench.start_training(again)
    snap = bench.start_training(TrainingRequest(iterations=1, auto_suffix=True, **FAST))
    assert snap.run_name == f"{RUN}_2"
    assert bench.wait(TIMEOUT).state == FINISHED


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"concept": "  "}, "target concept is empty"),
        ({"negative_guidance": float("nan")}, "negative guidance must be between 0.5 and 5"),
        ({"negative_guidance": -1.0}, "negative guidance must be between"),
        ({"lr": -1e-3}, "learning rate must be between"),
        ({"lr": None}, "learning rate is empty"),
        ({"lr": float("inf")}, "learning rate must be between"),
        ({"batch_size": 10**9}, "batch size must be between 1 and 1024"),
        ({"iterations": 0}, "iterations must be between"),
        ({"iterations": 2.5}, "iterations must be a whole number"),
        ({"epochs": 10**12}, "epochs must be between"),
        ({"method": "lora"}, "unknown method 'lora'"),
        ({"seed": -1}, "seed must be between"),
        ({"auto_anchors": 9}, "anchored concepts must be between 0 and 8"),
        ({"auto_anchors": 1.5}, "anchored concepts must be a whole number"),
        ({"related": ("a person kicking",)}, "repeats the target concept"),
        ({"related": ("x",) * 3 + tuple(f"p{i}" for i in range(9))}, "at most 8 related"),
        ({"base_model": "no_such_model"}, "does not exist"),
        ({"base_model": ""}, "no base model chosen"),
        ({"base_model": "../../etc"}, "model name"),
        ({"seed": 2**31}, "seed must be between 0 and 2147483647, got"),  # not 2.14748e+09
        ({"concept": "a person\nkicking"}, "control character U\\+000A"),  # never in opt.txt
        ({"concept": "a person\x00kicking"}, "control character U\\+0000"),
        ({"related": ("a person\x00jumping",)}, "control character U\\+0000"),
        ({"concept": "k" * 201}, "201 characters long; at most 200"),  # the CLI's limit too
        ({"concept": "🦵🦵"}, "has no letters or digits"),
        ({"xt_source": "data", "data_root": "/no/such/corpus"}, "'data' x_t source needs a"),
    ],
)
def test_bad_requests_are_one_line_errors_and_start_nothing(bench, changes, message) -> None:
    before = sorted(p.name for p in (bench.checkpoints_dir / "t2m").iterdir())
    with pytest.raises(WorkbenchError, match=message) as info:
        bench.start_training(TrainingRequest(**{**FAST, **changes}))
    assert "\n" not in str(info.value)
    assert not bench.snapshot().active
    assert sorted(p.name for p in (bench.checkpoints_dir / "t2m").iterdir()) == before


def test_run_length_from_the_form() -> None:
    assert run_length("iterations", 50.0) == {"iterations": 50, "epochs": 10}
    assert run_length("epochs", 3) == {"iterations": None, "epochs": 3}
    with pytest.raises(WorkbenchError, match="iterations is empty"):
        run_length("iterations", None)
    with pytest.raises(WorkbenchError, match="unknown run length unit"):
        run_length("weeks", 3)


# --- models -------------------------------------------------------------------------------------


def test_the_model_list_shows_the_run_with_its_settings(bench, trained) -> None:
    infos = {m.name: m for m in bench.list_models()}
    assert infos[BASE].kind == "base" and infos[BASE].error is None
    run = infos[RUN]
    assert run.kind == "esd" and run.base == BASE and run.steps == 6 and not run.bundled
    assert run.settings["method"] == "esd-x" and run.settings["lr"] == 1e-2
    assert run.settings["related"] == list(DEFAULT_RELATED)
    assert run_prompts(run) == ("a person kicking", DEFAULT_RELATED)
    assert run.status == "trained" and run.usable
    rows = {row[0]: dict(zip(MODEL_HEADERS, row)) for row in model_rows(list(infos.values()))}
    assert len(rows[RUN]) == len(MODEL_HEADERS)
    assert rows[RUN]["status"] == "✓ trained" and rows[RUN]["base"] == BASE
    assert rows[RUN]["concept"] == "a person kicking" and rows[RUN]["method"] == "esd-x"
    assert rows[RUN]["steps"] == "6" and infos[BASE].shadows  # named like the bundled model
    assert rows[BASE]["status"] == "base model · shadows the bundled model of the same name"
    assert default_base_model(bench.base_model_names()) == BASE
    assert default_base_model(["other", "x"]) == "other" and default_base_model([]) is None


def test_a_deleted_run_folder_gives_a_clear_error(bench, trained, folders) -> None:
    t2m = folders["checkpoints"] / "t2m"
    shutil.copytree(t2m / RUN, t2m / f"{RUN}_copy")
    name = f"{RUN}_copy"
    bench.compare(None, name, ["a person kicking"], seconds=2.0, steps=10)  # cached now
    shutil.rmtree(t2m / name)
    for call in (
        lambda: bench.model_info(name),
        lambda: bench.compare(None, name, ["a person kicking"], seconds=2.0, steps=10),
        lambda: bench.export_checkpoint(name),
        lambda: bench.start_evaluation(EvaluationRequest(model=name)),
    ):
        with pytest.raises(WorkbenchError, match="does not exist \\(any more\\)"):
            call()
    (t2m / "empty_ESD_x" / "model").mkdir(parents=True)
    with pytest.raises(WorkbenchError, match="has no checkpoint"):
        bench.model_info("empty_ESD_x")


# --- comparison ---------------------------------------------------------------------------------


def identity_run(folders, bench) -> str:
    """An ESD run whose overlay is the base's own cross-attention: unlearned == original."""
    name = f"{BASE}_ESD_identity"
    state = bench.base_generator(BASE).denoiser.state_dict()
    payload = {
        "kind": "esd",
        "denoiser": {k: v.clone() for k, v in state.items() if "cross_attn" in k},
        "base": {"name": BASE, "ckpt": None},
        "esd": {"concepts": ["a person identity"]},
        "total_iter": 1,
    }
    ck.save_checkpoint(payload, ck.run_paths(folders["checkpoints"], name).latest)
    return name


def test_compare_draws_both_models_from_identical_noise(bench, folders) -> None:
    name = identity_run(folders, bench)
    result = bench.compare(None, name, ["a person kicking", "a person jumping"], 2.0, 5, 10)
    assert [p.prompt for p in result.pairs] == ["a person kicking", "a person jumping"]
    for pair in result.pairs:
        assert pair.original.joints.shape == (2 * FPS, NUM_JOINTS, 3)
        assert pair.original.features.shape == (2 * FPS, FEATURE_DIM)
        np.testing.assert_array_equal(pair.original.joints, pair.unlearned.joints)
    assert not np.array_equal(result.pairs[0].original.joints, result.pairs[1].original.joints)
    base = bench.base_generator(BASE).generate(
        ["a person jumping"], seconds=2.0, seed=6, num_steps=10
    )
    np.testing.assert_allclose(base.clip(0)[0], result.pairs[1].original.joints, atol=1e-4)
    assert not result.plant_feet


def test_compare_can_plant_the_feet_of_both_models(bench, folders) -> None:
    from esd.motion.foot_plant import plant_feet

    name = identity_run(folders, bench)
    raw = bench.compare(None, name, ["a person walking"], 2.0, 5, 10)
    planted = bench.compare(None, name, ["a person walking"], 2.0, 5, 10, plant_feet=True)
    assert planted.plant_feet
    for side in ("original", "unlearned"):
        expected = plant_feet(getattr(raw.pairs[0], side).features)
        np.testing.assert_allclose(getattr(planted.pairs[0], side).features, expected, atol=1e-5)


def test_compare_shows_the_erasure_and_is_deterministic(bench, trained) -> None:
    first = bench.compare(BASE, RUN, "a person kicking\n\na person kicking", 2.0, 0, 10)
    again = bench.compare(None, RUN, ["a person kicking"], 2.0, 0, 10)
    assert len(first.pairs) == 1 and first.base_name == BASE and first.unlearned_name == RUN
    pair = first.pairs[0]
    assert not np.allclose(pair.original.joints, pair.unlearned.joints)
    np.testing.assert_array_equal(pair.unlearned.joints, again.pairs[0].unlearned.joints)
    assert not pair.original.joints.flags.writeable  # shared read-only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompts": []}, "at least one prompt"),
        ({"prompts": ["x"] * 1 + [f"p{i}" for i in range(9)]}, "at most 8 prompts"),
        ({"seconds": 100.0}, "seconds must be between"),
        ({"seconds": float("nan")}, "seconds must be between"),
        ({"steps": 5}, "DDIM steps must be between 10"),
        ({"base_name": "other_base"}, "was erased from"),
        ({"run_name": BASE}, "is a base model, not an unlearned run"),
    ],
)
def test_bad_comparisons_are_one_line_errors(bench, trained, kwargs, message) -> None:
    args = {"base_name": None, "run_name": RUN, "prompts": ["a person kicking"], **kwargs}
    with pytest.raises(WorkbenchError, match=message):
        bench.compare(**args)


def test_comparison_prompts_put_the_target_first() -> None:
    got = comparison_prompts(" a person kicking ", "a person jumping\n\na person kicking", "x")
    assert got == ("a person kicking", "a person jumping", "x")
    with pytest.raises(WorkbenchError, match="target prompt is empty"):
        comparison_prompts("", "a person jumping")
    with pytest.raises(WorkbenchError, match=f"at most {MAX_PROMPTS} prompts"):
        comparison_prompts("t", [f"r{i}" for i in range(4)], [f"e{i}" for i in range(4)])


# --- export -------------------------------------------------------------------------------------


def test_the_standalone_export_reloads_as_the_unlearned_model(bench, trained, text_encoder):
    path = bench.export_checkpoint(RUN)
    assert path.parent == (bench.output_dir / "exports") and path.suffix == ".tar"
    payload = torch.load(path, weights_only=True)
    assert payload["kind"] == "base" and "optimizer" not in payload
    assert payload["erased"]["run"] == RUN and payload["erased"]["base"]["name"] == BASE
    # the run's steps and date, not the base's pretraining ones (nor the base's metrics)
    assert payload["total_iter"] == payload["erased"]["total_iter"] == 6
    assert payload["created"] != PRETRAINING_INFO["created"] and "metrics" not in payload
    rebuilt = MotionGenerator.from_payload(payload, torch.device("cpu"), text_encoder)
    erased = bench.run_generator(RUN)[0]
    kwargs = {"seconds": 2.0, "seed": 3, "num_steps": 10}
    want = erased.generate(["a person kicking"], **kwargs).joints
    np.testing.assert_allclose(
        rebuilt.generate(["a person kicking"], **kwargs).joints, want, atol=1e-5
    )


def test_the_overlay_export_names_its_base(bench, trained) -> None:
    payload = torch.load(bench.export_checkpoint(RUN, standalone=False), weights_only=True)
    assert payload["kind"] == "esd" and payload["base"]["name"] == BASE
    assert "optimizer" not in payload and payload["total_iter"] == 6


def test_exporting_before_anything_exists_is_refused(tmp_path, text_encoder) -> None:
    empty = Workbench(tmp_path / "none", tmp_path / "out", "cpu", text_encoder)
    with pytest.raises(WorkbenchError, match="nothing to export yet"):
        empty.export_checkpoint()
    write_tiny_base(tmp_path / "none", text_encoder)
    with pytest.raises(WorkbenchError, match="is a base model"):
        empty.export_checkpoint(BASE)
    with pytest.raises(WorkbenchError, match="no motion shown yet"):
        empty.export_motion(None, "0:original", "bvh")
    with pytest.raises(WorkbenchError, match="motion export is off"):  # built without writers
        empty.export_motion(one_pair_comparison(), "0:original", "bvh")
    assert not (tmp_path / "out").exists()


def one_pair_comparison() -> Comparison:
    joints, features = np.zeros((40, NUM_JOINTS, 3)), np.zeros((40, FEATURE_DIM))
    clip = MotionClip("original", BASE, "a person kicking", joints, features)
    pair = ComparisonPair(clip.prompt, clip, replace(clip, label="unlearned"))
    return Comparison(BASE, "run", 0, 2.0, 10, 2.5, (pair,))


@pytest.fixture(scope="module")
def odd_comparison(bench, trained) -> Comparison:
    return bench.compare(
        None, RUN, ["../../etc/passwd <b>kick</b>", "a person jumping"], 2.0, 7, 10
    )


def test_motions_export_as_bvh_glb_and_npy_under_the_output_folder(bench, odd_comparison):
    keys = [key for _, key in motion_choices(odd_comparison)]
    assert keys == ["0:original", "0:unlearned", "1:original", "1:unlearned"]
    clip = pick_clip(odd_comparison, "0:unlearned")
    folder = bench.output_dir / "motions"
    (bvh,) = bench.export_motion(odd_comparison, "0:unlearned", "bvh")
    assert bvh.parent == folder and bvh.name == "etc_passwd_b_kick_b_unlearned_seed_7.bvh"
    joints, fps = read_bvh(bvh)
    assert joints.shape == clip.joints.shape and fps == pytest.approx(FPS)
    (pose,) = bench.export_motion(odd_comparison, "1:original", "glb-pose", 0.5)
    assert pose.name.endswith("_pose_010.glb") and len(trimesh.load(pose).geometry) == 1
    (trail,) = bench.export_motion(odd_comparison, "1:original", "glb-trail")
    assert trail.name.endswith("_trail.glb") and trail.stat().st_size > pose.stat().st_size
    joints_file, features_file = bench.export_motion(odd_comparison, "0:original", "npy")
    np.testing.assert_array_equal(np.load(joints_file), odd_comparison.pairs[0].original.joints)
    assert np.load(features_file).shape == (2 * FPS, FEATURE_DIM)
    assert all(p.parent == folder for p in (pose, trail, joints_file, features_file))


def test_a_motion_exports_as_an_animated_glb_that_plays_it(bench, odd_comparison) -> None:
    """ "glb-animation": a valid GLB whose joint nodes, posed at keyframe k by their animation
    channels, stand where the clip's joints are at frame k (every frame, at 20 fps)."""
    assert "glb-animation" in MOTION_FORMATS
    (path,) = bench.export_motion(odd_comparison, "1:unlearned", "glb-animation")
    assert path.parent == bench.output_dir / "motions"
    assert path.name == "a_person_jumping_unlearned_seed_7_animation.glb"
    data = path.read_bytes()
    assert glb_problems(data) == []
    glb = read_glb(data)
    joints = odd_comparison.pairs[1].unlearned.joints
    (animation,) = glb.document["animations"]
    times = accessor_array(glb, animation["samplers"][0]["input"])
    np.testing.assert_allclose(times, np.arange(len(joints)) / FPS, atol=1e-6)
    for frame in (0, len(joints) // 2, len(joints) - 1):
        worlds = node_worlds(glb, frame)
        posed = np.array([worlds[n][:3, 3] for n in joint_nodes(glb)])  # (22, 3)
        np.testing.assert_allclose(posed, joints[frame], atol=1e-4)
    assert not np.allclose(joints[0], joints[-1])  # so the check above sees it move


@pytest.mark.parametrize(
    ("key", "fmt", "pose", "message"),
    [
        ("5:original", "bvh", None, "pick one of the motions"),
        ("0:teacher", "bvh", None, "pick one of the motions"),
        (None, "bvh", None, "pick one of the motions"),
        ("0:original", "fbx", None, "unknown motion format"),
        ("0:original", "glb-pose", 60.0, "pose time must be between 0 and 1.95"),
        ("0:original", "glb-pose", float("nan"), "pose time must be between"),
    ],
)
def test_bad_motion_exports_are_one_line_errors(bench, odd_comparison, key, fmt, pose, message):
    with pytest.raises(WorkbenchError, match=message):
        bench.export_motion(odd_comparison, key, fmt, pose)


# --- evaluation ---------------------------------------------------------------------------------


def test_an_evaluation_measures_the_run_against_its_base(bench, trained) -> None:
    request = EvaluationRequest(
        model=RUN, related=("a person walking",), num_samples=4, ddim_steps=10
    )
    started = bench.start_evaluation(request)
    assert started.kind == "evaluation" and started.run_name == RUN
    snap = bench.wait_evaluation(TIMEOUT)
    assert snap.state == FINISHED, snap.message
    assert snap.step == snap.total > 0 and Path(snap.result_path).is_file()
    metrics = bench.last_metrics()
    assert metrics["model"]["name"] == RUN and metrics["baseline"]["name"] == BASE
    assert metrics["settings"]["preset"] == "custom"
    stored = bench.metrics(RUN)
    assert stored["model"] == metrics["model"]
    rows = metrics_rows(metrics)
    assert all(len(r) == len(METRICS_HEADERS) for r in rows)
    assert rows[0][:2] == ["Efficacy: a person kicking", "concept rate ↓"]
    verdicts = ("pass", "fail", "inconclusive", "n/a")
    assert rows[0][3] != "" and rows[0][6] in verdicts  # original + the metric's verdict
    assert any(r[0] == "Specificity: a person walking" for r in rows)
    summary = metrics_summary(metrics)
    assert summary.startswith(f"{RUN} vs original {BASE} · preset custom") and "overall" in summary
    run_row = next(
        dict(zip(MODEL_HEADERS, r)) for r in model_rows(bench.list_models()) if r[0] == RUN
    )
    assert run_row["concept rate"] != "" and run_row["efficacy"] in verdicts
    assert run_row["preservation"] in verdicts and run_row["specificity"] in verdicts


def test_a_multi_concept_runs_other_targets_leave_the_retain_set(bench, folders) -> None:
    name = identity_run(folders, bench)
    payload = ck.load_raw(ck.run_paths(folders["checkpoints"], name).latest)
    payload["esd"] = {"concepts": ["a person kicking", "a person waving"]}
    two = f"{BASE}_ESD_two"
    ck.save_checkpoint(payload, ck.run_paths(folders["checkpoints"], two).latest)
    entry = bench.models.entry(two)
    first = evaluation_targets(bench.models, entry, EvaluationRequest(model=two))
    assert (first.target, first.also_erased) == ("a person kicking", ("a person waving",))
    second = evaluation_targets(
        bench.models, entry, EvaluationRequest(model=two, target="a person waving")
    )
    assert second.also_erased == ("a person kicking",)
    single = evaluation_targets(
        bench.models, bench.models.entry(name), EvaluationRequest(model=name)
    )
    assert single.also_erased == ()


def test_bad_evaluation_requests_are_one_line_errors(bench, trained) -> None:
    for request, message in [
        (EvaluationRequest(model=RUN, preset="slow"), "unknown preset"),
        (EvaluationRequest(model=RUN, num_samples=0), "samples per block must be between"),
        (EvaluationRequest(model="gone"), "does not exist"),
        (EvaluationRequest(model=RUN, related=("a person kicking",)), "repeats the target"),
    ]:
        with pytest.raises(WorkbenchError, match=message):
            bench.start_evaluation(request)
    with pytest.raises(WorkbenchError, match="the metrics are incomplete"):
        metrics_rows({"model": {}})


# --- status text --------------------------------------------------------------------------------


def test_progress_text_and_durations() -> None:
    snap = JobSnapshot(
        "training", "running", "step 3/40", "RUN", 3, 40, 1, (0.5, 0.25), 75.0, 2.0, 18.5, None,
        started_at=1.0,
    )  # fmt: skip
    assert progress_text(snap) == (
        "running · RUN · step 3/40 (8%) · epoch 1 · loss 0.25000 · elapsed 1 min 15 s · "
        "2.0 it/s · ETA 18.5 s\nstep 3/40"
    )
    assert progress_text(JobSnapshot("evaluation", message="none yet")) == "idle\nnone yet"
    assert [duration_text(s) for s in (None, 4.25, 65, 7325)] == [
        "-",
        "4.2 s",
        "1 min 05 s",
        "2 h 02 min",
    ]


def test_an_export_is_rewritten_only_when_the_run_changed(bench, trained) -> None:
    first = bench.export_checkpoint(RUN)
    stamp = first.stat().st_mtime_ns
    assert bench.export_checkpoint(RUN).stat().st_mtime_ns == stamp  # reused
    latest = ck.run_paths(bench.checkpoints_dir, RUN).latest
    os.utime(latest, ns=(stamp + 10**9, stamp + 10**9))  # the run was trained further
    assert bench.export_checkpoint(RUN).stat().st_mtime_ns > stamp


# --- run states: broken, failed, incomplete; resume and delete ----------------------------------


def run_like(folders, source: str, name: str, **changes) -> ck.RunPaths:
    """A run folder whose latest.tar is ``source``'s with ``changes`` (a hand-made state)."""
    paths = ck.run_paths(folders["checkpoints"], name)
    payload = ck.load_checkpoint(ck.run_paths(folders["checkpoints"], source).latest)
    ck.save_checkpoint({**payload, **changes}, paths.latest)
    return paths


def test_runs_that_cannot_be_used_are_marked_and_refused(bench, trained, folders) -> None:
    """A diverged run (non-finite weights), a run with no completed step, a failed run without
    a checkpoint: listed with why, never offered for a comparison, refused in one line."""
    payload = ck.load_checkpoint(ck.run_paths(folders["checkpoints"], RUN).latest)
    nan = {k: torch.full_like(v, float("nan")) for k, v in payload["denoiser"].items()}
    run_like(folders, RUN, f"{BASE}_ESD_diverged", denoiser=nan)
    run_like(folders, RUN, f"{BASE}_ESD_step0", total_iter=0, losses=[])
    failed = ck.run_paths(folders["checkpoints"], f"{BASE}_ESD_failed")
    failed.model_dir.mkdir(parents=True)
    write_status(failed.root, "failed", "training diverged at step 1: the loss is nan")
    infos = {i.name: i for i in bench.list_models()}
    expected = {
        "diverged": ("broken", "non-finite trained weights"),
        "step0": ("broken", "no training step completed"),
        "failed": ("failed", "training diverged at step 1"),
    }
    rows = {r[0]: dict(zip(MODEL_HEADERS, r)) for r in model_rows(list(infos.values()))}
    for suffix, (status, why) in expected.items():
        name = f"{BASE}_ESD_{suffix}"
        assert infos[name].status == status and why in infos[name].status_note
        assert rows[name]["status"].startswith("✗ ") and why in rows[name]["status"]
        assert name not in bench.run_names() and name in bench.all_run_names()
        for call in (
            lambda n=name: bench.compare(None, n, ["a person kicking"], seconds=2.0, steps=10),
            lambda n=name: bench.export_checkpoint(n),
            lambda n=name: bench.start_evaluation(EvaluationRequest(model=n)),
        ):
            with pytest.raises(WorkbenchError) as info:
                call()
            message = str(info.value)
            assert "\n" not in message and (why in message or "has no checkpoint" in message)
    for suffix in expected:
        bench.delete_run(f"{BASE}_ESD_{suffix}")


def test_a_refused_checkpoint_is_explained_and_its_base_not_offered(bench, folders) -> None:
    """A checkpoint that weights_only=True refuses: one line with the reason, without torch's
    advice to load it with weights_only=False; such a base model is not offered for training."""
    evil = ck.run_paths(folders["checkpoints"], "evil_base")
    evil.model_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"format": ck.FORMAT_TAG, "kind": "base", "x": Smuggled()}, evil.best)
    info = next(i for i in bench.list_models() if i.name == "evil_base")
    assert info.error and "weights_only=True refused it" in info.error
    assert "weights_only set to False" not in info.error and "Re-running" not in info.error
    assert "evil_base" not in bench.base_model_names() and BASE in bench.base_model_names()
    row = next(r for r in model_rows([info]))
    assert row[1] == "✗ refused" and "weights_only=False" not in " ".join(row)
    with pytest.raises(WorkbenchError, match=r"cannot be used: .*weights_only=True refused"):
        bench.start_training(TrainingRequest(base_model="evil_base", **FAST))
    shutil.rmtree(evil.root)


class Smuggled:
    """A class weights_only=True refuses to unpickle (stands for a malicious pickle)."""


def test_an_interrupted_run_is_incomplete_and_usable(bench, trained, folders) -> None:
    paths = run_like(folders, RUN, f"{BASE}_ESD_interrupted", total_iter=3)
    write_status(paths.root, "running", "started from the workbench")  # the server was killed
    info = next(i for i in bench.list_models() if i.name == paths.name)
    assert info.status == "incomplete" and info.status_note.startswith("interrupted at step 3/6")
    assert paths.name in bench.run_names()  # a partial erasure can still be compared
    write_status(paths.root, "stopped", "stopped at step 3/6")
    info = next(i for i in bench.list_models() if i.name == paths.name)
    assert info.status_note.startswith("stopped at step 3/6")
    row = next(r for r in model_rows([info]))
    assert row[1].startswith("◐ incomplete: stopped at step 3/6")
    bench.delete_run(paths.name)


def test_a_stopped_run_resumes_to_its_end(bench, trained) -> None:
    request = TrainingRequest(concept="a person resuming", iterations=60, **FAST)
    name = bench.start_training(request).run_name
    wait_for(bench, lambda s: len(s.losses) >= 2)
    bench.stop()
    stopped = bench.wait(TIMEOUT)
    assert stopped.state == STOPPED and stopped.step < 60
    info = next(i for i in bench.list_models() if i.name == name)
    assert info.status == "incomplete" and f"stopped at step {stopped.step}/60" in info.status_note
    snap = bench.resume_training(name)
    assert snap.run_name == name and bench.training_request().concept == "a person resuming"
    done = bench.wait(TIMEOUT)
    assert done.state == FINISHED and done.step == 60, done.message
    assert ck.load_checkpoint(ck.run_paths(bench.checkpoints_dir, name).latest)["total_iter"] == 60
    assert next(i for i in bench.list_models() if i.name == name).status == "trained"
    assert bench.training_request() is None  # no job runs
    with pytest.raises(WorkbenchError, match="already finished its 60 steps"):
        bench.resume_training(name)
    bench.delete_run(name)


def test_a_run_from_before_automatic_anchors_resumes_without_them(bench, trained) -> None:
    """A request.json written before the field existed: the run's own settings (no anchors)
    fill the form, not today's default."""
    request = TrainingRequest(concept="a person resting", iterations=60, auto_anchors=0, **FAST)
    name = bench.start_training(request).run_name
    wait_for(bench, lambda s: len(s.losses) >= 2)
    bench.stop()
    bench.wait(TIMEOUT)
    saved = ck.run_paths(bench.checkpoints_dir, name).root / REQUEST_FILE
    fields = json.loads(saved.read_text(encoding="utf-8"))
    del fields["auto_anchors"]
    saved.write_text(json.dumps(fields), encoding="utf-8")
    bench.resume_training(name)
    try:
        assert bench.training_request().auto_anchors == 0
    finally:
        bench.stop()
        bench.wait(TIMEOUT)
        bench.delete_run(name)


def test_stopping_while_x_t_is_prepared_leaves_no_run(bench, folders) -> None:
    """Stopped before its first step (e.g. while the pool is built): no folder is left that
    would look like a run."""
    request = TrainingRequest(concept="a person stopping early", iterations=5, **FAST)
    name = bench.start_training(request).run_name
    bench.stop()
    assert bench.wait(TIMEOUT).state == STOPPED
    assert name not in bench.all_run_names()
    assert not ck.run_paths(folders["checkpoints"], name).root.exists()


def test_delete_refuses_what_it_must_not_touch(bench, trained, folders) -> None:
    copy = ck.run_paths(folders["checkpoints"], f"{RUN}_doomed")
    shutil.copytree(ck.run_paths(folders["checkpoints"], RUN).root, copy.root)
    outside = folders["root"] / "outside_ESD_x"
    (outside / "model").mkdir(parents=True)
    (folders["checkpoints"] / "t2m" / "link_ESD_x").symlink_to(outside)
    for name, message in [
        (BASE, "is not an unlearned run"),
        ("../outside_ESD_x", "invalid model name"),
        ("link_ESD_x", "nothing deleted"),
        ("no_such_ESD_run", "nothing deleted"),
        ("", "invalid model name"),
    ]:
        with pytest.raises(WorkbenchError, match=message):
            bench.delete_run(name)
    assert outside.is_dir() and ck.run_paths(folders["checkpoints"], BASE).root.is_dir()
    name = bench.start_training(TrainingRequest(concept="a person busy", **FAST)).run_name
    try:
        with pytest.raises(BusyError, match="in use by the running training; stop it first"):
            bench.delete_run(name)
    finally:
        bench.stop()
        bench.wait(TIMEOUT)
    assert bench.delete_run(copy.name).startswith("deleted ")
    assert not copy.root.exists() and copy.name not in bench.all_run_names()
    (folders["checkpoints"] / "t2m" / "link_ESD_x").unlink()
    if name in bench.all_run_names():  # stopped before its first step: already gone
        bench.delete_run(name)


def test_two_different_concepts_never_share_a_run_folder() -> None:
    names = {ck.esd_run_name(BASE, [c]) for c in ("a person kicking 🦵", "a/person/kicking")}
    assert len(names) == 2 and ck.esd_run_name(BASE, ["a person kicking"]) == RUN
    assert ck.esd_run_name(BASE, ["a person kicking"]) == ck.esd_run_name(BASE, "a person kicking")


# --- the form's empty fields, exported files ----------------------------------------------------


def test_empty_optional_fields_mean_the_defaults() -> None:
    """The page sends "" for a field left empty: the preset's samples, the middle pose."""
    for empty in ("", "  ", None):
        settings = evaluation_settings(EvaluationRequest(num_samples=empty, ddim_steps=empty))
        assert settings.preset == "quick"
    assert evaluation_settings(EvaluationRequest(num_samples="8")).preset == "custom"
    with pytest.raises(WorkbenchError, match="samples per block must be between 1 and 4096"):
        evaluation_settings(EvaluationRequest(num_samples="0"))


def test_an_empty_pose_time_is_the_middle_pose(bench, odd_comparison) -> None:
    frames = pick_clip(odd_comparison, "1:original").frames
    (pose,) = bench.export_motion(odd_comparison, "1:original", "glb-pose", "")
    assert pose.name.endswith(f"_pose_{round((frames - 1) / 2):03d}.glb")


def test_exported_files_have_the_usual_permissions(bench, trained, odd_comparison) -> None:
    """Not mkstemp's 0600: an exported file is readable as any file the user writes."""
    files = [bench.export_checkpoint(RUN, standalone=False)]
    files += bench.export_motion(odd_comparison, "0:original", "npy")
    files += bench.export_motion(odd_comparison, "0:original", "bvh")
    for path in files:
        assert path.stat().st_mode & 0o777 == FILE_MODE, path


# --- what the recogniser reads under each pair --------------------------------------------------


def test_each_pair_gets_the_recognisers_reading(bench, trained) -> None:
    result = bench.compare(None, RUN, ["a person kicking", "a person jumping"], 2.0, 1, 10)
    assert len(result.notes) == 2 and result.notes_skipped == ""
    for note in result.notes:
        assert 2 <= len(note.concepts) <= 3
        assert all(0.0 <= p <= 1.0 for p in (*note.original, *note.unlearned))
        assert list(note.original[:2]) == sorted(note.original[:2], reverse=True)
        assert re.fullmatch(
            r"\w+ \d\.\d\d → \d\.\d\d( · \w+ \d\.\d\d → \d\.\d\d)+", note_line(note)
        )


def test_the_notes_are_skipped_with_a_reason_without_an_evaluator(
    tmp_path, folders, trained, text_encoder, monkeypatch
):
    monkeypatch.setattr(ck, "ASSETS_DIR", tmp_path / "no_assets")  # no bundled evaluator
    write_tiny_base(tmp_path / "checkpoints", text_encoder)
    source = ck.run_paths(folders["checkpoints"], RUN).root
    shutil.copytree(source, ck.run_paths(tmp_path / "checkpoints", RUN).root)
    wb = Workbench(tmp_path / "checkpoints", tmp_path / "out", "cpu", text_encoder)
    result = wb.compare(None, RUN, ["a person kicking"], 2.0, 0, 10)
    assert result.notes == () and result.notes_skipped.startswith("no recogniser notes: ")


def test_a_pair_note_names_the_originals_top_concepts_and_the_unlearned_ones() -> None:
    note = pair_note(
        ["kick", "walk", "wave"], np.array([0.9, 0.07, 0.03]), np.array([0.1, 0.1, 0.8])
    )
    assert note.concepts == ("kick", "walk", "wave")
    assert note_line(note) == "kick 0.90 → 0.10 · walk 0.07 → 0.10 · wave 0.03 → 0.80"
    assert note_sides(note) == (
        "kick 0.90 · walk 0.07 · wave 0.03",
        "kick 0.10 · walk 0.10 · wave 0.80",
    )
    same = pair_note(
        ["kick", "walk", "wave"], np.array([0.9, 0.07, 0.03]), np.array([0.2, 0.7, 0.1])
    )
    assert same.concepts == ("kick", "walk")  # the unlearned's top is already named


# --- verdicts as the engine reports them --------------------------------------------------------


def metrics_with(verdicts: dict) -> dict:
    return {
        "model": {"name": RUN},
        "baseline": {"name": BASE},
        "settings": {},
        "verdicts": verdicts,
    }


def test_per_metric_verdicts_and_inconclusive_are_shown_as_reported() -> None:
    """The default recipe on a quick evaluation: R-precision down within its interval's noise
    reads inconclusive, never FAIL; the Runs tab shows the verdict of each block."""
    verdicts = {
        "efficacy": {"verdict": "pass", "pass": True},
        "preservation": {
            "verdict": "inconclusive",
            "pass": None,
            "metrics": {
                "fid": {"verdict": "pass", "pass": True},
                "r_precision_top3": {"verdict": "inconclusive", "pass": None},
            },
        },
        "specificity": {"a person jumping": {"verdict": "pass", "pass": True}},
        "overall": None,
        "overall_verdict": "inconclusive",
    }
    info = ModelInfo(RUN, "esd", False, "x", status="trained", metrics=metrics_with(verdicts))
    row = dict(zip(MODEL_HEADERS, model_rows([info])[0]))
    assert (row["efficacy"], row["preservation"], row["specificity"]) == (
        "pass", "inconclusive", "pass",
    )  # fmt: skip
    assert "fail" not in " ".join(row.values()).lower()
    summary = metrics_summary(metrics_with(verdicts))
    assert "overall inconclusive" in summary and "r precision top3 inconclusive" in summary
    legacy = {"efficacy": {"pass": True}, "preservation": {"pass": False}, "specificity": {},
              "overall": False}  # fmt: skip
    assert block_verdicts(metrics_with(legacy)) == {
        "efficacy": "pass", "preservation": "fail", "specificity": "n/a", "overall": "fail",
    }  # fmt: skip
    assert read_verdict({"verdict": "INCONCLUSIVE"}) == "inconclusive"
    assert read_verdict(None) == "n/a" and read_verdict("PASS") == "pass"
