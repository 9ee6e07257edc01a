"""The workbench on a user's SALAD ``checkpoints/`` folder (the conformance fixtures laid out as
SALAD's README leaves them, with a tiny bundled-family base beside them).

The fixture's tiny CLIP gives 8-d token states, so the SALAD denoiser is the reduced fixture one
with an 8-d ``word_emb`` written back in SALAD's format (``tests.test_salad_cli``). Checked: the
model list (family, text encoder, missing parts in one line), a 2-iteration ESD run started as
the page starts it, comparisons and evaluations sampled with SALAD's own settings (CFG 7.5, 50
steps), standalone and overlay exports, and an animated GLB of a compared motion.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from esd.evaluation.settings import QUICK_STEPS, EvalSettings
from esd.models import checkpoints as ck
from esd.models import generator as generator_module
from esd.models.generator import MotionGenerator
from esd.models.salad.folder import load_salad_model, write_salad_model
from esd.models.salad.options import read_salad_opt
from esd.workbench.evaluation_setup import evaluator_problem, family_settings
from esd.workbench.jobs import FINISHED, JobSnapshot
from esd.workbench.presentation import MODEL_HEADERS, model_rows
from esd.workbench.service import Workbench
from esd.workbench.user_input import EvaluationRequest, TrainingRequest, WorkbenchError
from tests.fakes import write_fake_humanml3d, write_tiny_evaluator
from tests.test_salad_cli import CLIP, NAME, TINY_CLIP_WIDTH, clip_width_denoiser
from tests.test_viz_gltf import joint_nodes, node_worlds
from tests.tiny import write_tiny_base
from viz import export as viz_export
from viz.gltf import accessor_array, read_glb
from viz.gltf_check import glb_problems

RUN = f"{NAME}_ESD_a_person_kicking"
BUNDLED = "tiny_bundled"  # a bundled-family base beside the SALAD one
SALAD_GUIDANCE, SALAD_STEPS = 7.5, 50  # SALAD's sampler (SALAD_COMPAT.md)
FEW_STEPS = 10  # DDIM steps of the fast comparisons
LENGTHS = [40 + (i * 37) % 150 for i in range(40)]  # fake clips for the evaluator's reference
TIMEOUT = 300.0


@pytest.fixture(scope="module")
def home(salad_fixture_dir: Path, tmp_path_factory, text_encoder) -> Path:
    """``home/checkpoints``: SALAD's t2m/ folders (denoiser with an 8-d ``word_emb``), the tiny
    CLIP in SALAD's default place, a tiny evaluator and a tiny bundled base; ``home/hub``: the
    same CLIP as a hub-cache entry."""
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder  # the recogniser's MiniLM
    home = tmp_path_factory.mktemp("salad_workbench")
    checkpoints = home / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", checkpoints)
    denoiser, options = clip_width_denoiser(checkpoints / "t2m" / NAME, TINY_CLIP_WIDTH)
    write_salad_model(checkpoints / "t2m" / NAME, denoiser, options, epoch=7)
    tiny_clip = salad_fixture_dir / "clip_tiny" / CLIP
    shutil.copytree(tiny_clip, checkpoints / CLIP)
    shutil.copytree(tiny_clip, home / "hub" / f"models--openai--{CLIP}" / "snapshots" / "0a1b")
    splits = {"train": slice(0, 10), "test": slice(10, 40)}
    data = write_fake_humanml3d(home / "data", LENGTHS, splits)
    write_tiny_evaluator(checkpoints, data)
    write_tiny_base(checkpoints, text_encoder, name=BUNDLED)
    return home


@pytest.fixture(scope="module")
def bench(home: Path, text_encoder):
    wb = Workbench(
        home / "checkpoints", home / "outputs", "cpu", text_encoder, motion_writers=viz_export
    )
    yield wb
    wb.stop()
    wb.stop_evaluation()
    wb.wait(TIMEOUT)
    wb.wait_evaluation(TIMEOUT)


@pytest.fixture(scope="module")
def salad_run(bench: Workbench) -> JobSnapshot:
    """A 2-iteration ESD-x run on the reduced SALAD denoiser, started as the page starts it."""
    request = TrainingRequest(
        base_model=NAME, iterations=2, lr=1e-2, batch_size=4, trajectories=2, ddim_steps=10,
        seconds=(2.0, 2.0),
    )  # fmt: skip
    bench.start_training(request)
    snap = bench.wait(TIMEOUT)
    assert snap.state == FINISHED, snap.message
    return snap


# --- the model list -------------------------------------------------------------------------------


def test_salad_models_are_listed_with_their_family_and_text_encoder(bench) -> None:
    infos = {i.name: i for i in bench.list_models()}
    salad, bundled = infos[NAME], infos[BUNDLED]
    assert salad.kind == "base" and salad.error is None and salad.usable
    assert (salad.family, salad.text_encoder) == ("salad", "CLIP ViT-B/32")
    assert (bundled.family, bundled.text_encoder) == ("bundled", "all-MiniLM-L6-v2")
    assert salad.epoch == 7 and salad.settings["vae_name"] == "t2m_vae_gelu"
    assert salad.settings["n_layers"] == 3  # typed by SALAD's rules
    assert "t2m_vae_gelu" not in infos and "Comp_v6_KLD005" not in infos  # parts, not models
    assert {NAME, BUNDLED} <= set(bench.base_model_names())
    rows = {r[0]: dict(zip(MODEL_HEADERS, r)) for r in model_rows(list(infos.values()))}
    assert rows[NAME]["family"] == "SALAD · CLIP ViT-B/32"
    assert rows[BUNDLED]["family"] == "bundled · all-MiniLM-L6-v2"


def copy_layout(home: Path, target: Path, *, without: str | None = None) -> Path:
    """The SALAD t2m/ folders of ``home`` in ``target/checkpoints`` (``without`` one of them)."""
    checkpoints = target / "checkpoints"
    shutil.copytree(home / "checkpoints" / "t2m", checkpoints / "t2m")
    if without:
        shutil.rmtree(checkpoints / "t2m" / without)
    return checkpoints


def test_a_salad_model_with_a_missing_part_is_listed_with_why(home, tmp_path, text_encoder):
    """No CLIP (a --clip_path to nowhere), no VAE, no meta statistics, a KIT model: each one
    line in the list, the model not offered as a base, using it refused in one line."""
    checkpoints = copy_layout(home, tmp_path / "a")
    cases = [(checkpoints, tmp_path / "nowhere", "--clip_path")]
    for part, why in (("t2m_vae_gelu", "its VAE 't2m_vae_gelu' is missing"),
                      ("Comp_v6_KLD005", "Comp_v6_KLD005")):  # fmt: skip
        cases.append((copy_layout(home, tmp_path / part, without=part), None, why))
    kit = copy_layout(home, tmp_path / "kit")
    opt = kit / "t2m" / NAME / "opt.txt"
    opt.write_text(opt.read_text().replace("dataset_name: t2m", "dataset_name: kit"))
    cases.append((kit, None, "dataset_name 'kit' is not supported"))
    for folder, clip, why in cases:
        wb = Workbench(folder, tmp_path / "out", "cpu", text_encoder, clip_path=clip)
        info = next(i for i in wb.list_models() if i.name == NAME)
        assert info.family == "salad" and why in info.error and "\n" not in info.error
        assert NAME not in wb.base_model_names()
        with pytest.raises(WorkbenchError, match="cannot be used"):
            wb.start_training(TrainingRequest(base_model=NAME, iterations=1))


def test_clip_path_takes_a_hub_cache_entry(home, tmp_path, text_encoder) -> None:
    """--clip_path to a hub-cache entry: the model is usable with that CLIP."""
    checkpoints = copy_layout(home, tmp_path)
    hub = home / "hub" / f"models--openai--{CLIP}"
    wb = Workbench(checkpoints, tmp_path / "out", "cpu", text_encoder, clip_path=hub)
    assert NAME in wb.base_model_names()
    encoder = wb.base_generator(NAME).text_encoder
    assert encoder.model_dir == hub / "snapshots" / "0a1b"


def test_a_clip_of_another_width_is_one_line(salad_fixture_dir, tmp_path, text_encoder) -> None:
    """The fixture's own denoiser reads 512-d states; the tiny CLIP gives 8-d ones."""
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", checkpoints)
    clip = salad_fixture_dir / "clip_tiny" / CLIP
    wb = Workbench(checkpoints, tmp_path / "out", "cpu", text_encoder, clip_path=clip)
    with pytest.raises(WorkbenchError, match=r"gives 8-d token states but .* reads 512-d") as err:
        wb.base_generator(NAME)
    assert "--clip_path" in str(err.value) and "\n" not in str(err.value)


# --- training -----------------------------------------------------------------------------------


def test_esd_x_on_a_salad_base_trains_its_cross_attention(bench, salad_run) -> None:
    info = next(i for i in bench.list_models() if i.name == RUN)
    assert info.kind == "esd" and info.status == "trained" and info.steps == 2
    assert (info.family, info.base) == ("salad", NAME)
    payload = ck.load_checkpoint(ck.run_paths(bench.checkpoints_dir, RUN).latest, kind="esd")
    trained = payload["denoiser"]
    assert trained and all("cross_attn" in k for k in trained)
    base = bench.base_generator(NAME).denoiser.state_dict()
    assert any(not torch.equal(v, base[k]) for k, v in trained.items())  # it moved
    assert RUN in bench.run_names()
    run = ck.run_paths(bench.checkpoints_dir, RUN)  # also a SALAD model (esd.erasure.runs)
    salad = load_salad_model(run.root).denoiser.state_dict()
    assert all(torch.equal(salad[k], v) for k, v in trained.items())
    options = read_salad_opt(run.opt_file)  # the workbench's opt.txt, in SALAD's format
    assert (options["name"], options["esd_name"]) == (RUN, NAME)
    assert options["started_from"] == "workbench" and options["vae_name"] == "t2m_vae_gelu"


# --- comparison, evaluation ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(bench, salad_run):
    return bench.compare(None, RUN, ["a person kicking", "a person walking"], 2.0, 3, FEW_STEPS)


def test_compare_samples_with_salads_guidance(bench, comparison) -> None:
    """Steps given, guidance not: SALAD's 7.5, from the seeds' noise."""
    assert (comparison.steps, comparison.guidance) == (FEW_STEPS, SALAD_GUIDANCE)
    assert comparison.base_name == NAME and comparison.unlearned_name == RUN
    kwargs = {"seconds": 2.0, "seed": 3, "num_steps": FEW_STEPS, "guidance_scale": SALAD_GUIDANCE}
    prompts = [p.prompt for p in comparison.pairs]
    original = bench.base_generator(NAME).generate(prompts, **kwargs)
    for i, pair in enumerate(comparison.pairs):
        assert pair.original.joints.shape == pair.unlearned.joints.shape == (40, 22, 3)
        np.testing.assert_allclose(pair.original.joints, original.clip(i)[0], atol=1e-5)
    assert not np.allclose(comparison.pairs[0].original.joints, original.clip(1)[0])
    assert len(comparison.notes) == 2  # the recogniser reads SALAD's 263-d motions too


class Sampled(Exception):
    """Raised by the spy below once it saw what a generation was asked for."""


def test_compare_without_steps_uses_salads_own_sampler(bench, salad_run, monkeypatch) -> None:
    """No steps, no guidance: SALAD's 50 / 7.5 reach the generator (the spy stops it there)."""
    asked: dict = {}

    def spy(self, prompts, **kwargs):
        asked.update(kwargs)
        raise Sampled

    monkeypatch.setattr(MotionGenerator, "generate", spy)
    with pytest.raises(Sampled):
        bench.compare(None, RUN, ["a person kicking"], 2.0, 0)
    assert (asked["num_steps"], asked["guidance_scale"]) == (SALAD_STEPS, SALAD_GUIDANCE)


def test_evaluation_settings_follow_the_models_family() -> None:
    full = EvalSettings.full()
    salad = family_settings(full, "salad", EvaluationRequest(preset="full"))
    assert (salad.ddim_steps, salad.guidance_scale) == (SALAD_STEPS, SALAD_GUIDANCE)
    bundled = family_settings(full, "bundled", EvaluationRequest(preset="full"))
    assert (bundled.ddim_steps, bundled.guidance_scale) == (50, 2.5)
    quick = family_settings(EvalSettings.quick(), "salad", EvaluationRequest())
    assert (quick.ddim_steps, quick.guidance_scale) == (QUICK_STEPS, SALAD_GUIDANCE)
    given = family_settings(
        EvalSettings.full(ddim_steps=12), "salad", EvaluationRequest(preset="full", ddim_steps=12)
    )
    assert given.ddim_steps == 12


def test_an_evaluation_measures_the_salad_run_against_its_base(bench, salad_run) -> None:
    request = EvaluationRequest(
        model=RUN, related=("a person walking",), num_samples=4, ddim_steps=FEW_STEPS
    )
    bench.start_evaluation(request)
    snap = bench.wait_evaluation(TIMEOUT)
    assert snap.state == FINISHED, snap.message
    metrics = bench.last_metrics()
    assert metrics["model"]["name"] == RUN and metrics["baseline"]["name"] == NAME
    settings = metrics["settings"]
    assert settings["guidance_scale"] == SALAD_GUIDANCE and settings["ddim_steps"] == FEW_STEPS
    assert bench.metrics(RUN)["model"] == metrics["model"]


def test_an_evaluator_of_other_features_is_one_line() -> None:
    """Every family generates HumanML3D's 263-d features; an evaluator that reads others (a
    KIT-ML one, 251-d) cannot measure them: one line, nothing for a 263-d one."""
    for width, problem in ((263, None), (251, "reads 251-d motion features")):
        config = SimpleNamespace(feature_dim=width)
        context = SimpleNamespace(evaluator=SimpleNamespace(model=SimpleNamespace(cfg=config)))
        got = evaluator_problem(context, Path("ev.tar"))
        assert got == problem if problem is None else problem in got and "263-d" in got


def test_a_baseline_of_another_family_is_refused(bench, salad_run) -> None:
    with pytest.raises(WorkbenchError, match="a salad model and tiny_bundled a bundled one"):
        bench.start_evaluation(EvaluationRequest(model=RUN, baseline=BUNDLED))


# --- export -------------------------------------------------------------------------------------


def test_the_standalone_export_reloads_with_its_clip(bench, home, salad_run) -> None:
    path = bench.export_checkpoint(RUN)
    payload = ck.load_checkpoint(path)
    assert payload["family"] == "salad" and payload["erased"]["base"]["name"] == NAME
    assert payload["salad_options"]["vae_name"] == "t2m_vae_gelu"
    with pytest.raises(ck.CheckpointError, match="clip_path"):
        MotionGenerator.from_payload(payload, torch.device("cpu"))
    clip = home / "checkpoints" / CLIP
    rebuilt = MotionGenerator.from_payload(payload, torch.device("cpu"), clip_path=clip)
    kwargs = {"seconds": 2.0, "seed": 1, "num_steps": FEW_STEPS}
    want = bench.run_generator(RUN)[0].generate(["a person kicking"], **kwargs).joints
    np.testing.assert_allclose(rebuilt.generate(["a person kicking"], **kwargs).joints, want,
                               atol=1e-5)  # fmt: skip
    overlay = ck.load_checkpoint(bench.export_checkpoint(RUN, standalone=False), kind="esd")
    assert overlay["base"]["name"] == NAME and "optimizer" not in overlay


def test_a_compared_salad_motion_exports_as_an_animated_glb(bench, comparison) -> None:
    (path,) = bench.export_motion(comparison, "0:unlearned", "glb-animation")
    assert path.name.endswith("_animation.glb") and path.parent == bench.output_dir / "motions"
    data = path.read_bytes()
    assert glb_problems(data) == []
    glb = read_glb(data)
    joints = comparison.pairs[0].unlearned.joints
    times = accessor_array(glb, glb.document["animations"][0]["samplers"][0]["input"])
    assert times.size == len(joints)
    for frame in (0, len(joints) - 1):
        worlds = node_worlds(glb, frame)
        got = np.array([worlds[n][:3, 3] for n in joint_nodes(glb)])
        np.testing.assert_allclose(got, joints[frame], atol=1e-4)
