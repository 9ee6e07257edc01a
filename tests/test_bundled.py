"""End to end on the bundled assets: the base model, the evaluator, and an erasure that works.

These use ``assets/`` (committed), so they run on a fresh clone; they take tens of seconds.
"""

from __future__ import annotations

import shlex

import numpy as np
import pytest

from esd.erasure.config import RECIPE
from esd.erasure.loop import run_esd
from esd.evaluation import instruments as cli
from esd.evaluation.measure import evaluate_model
from esd.evaluation.plan import make_plan
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator
from esd.train import main as train_main

pytestmark = pytest.mark.slow

SEED_COMMAND = (
    "--name t2m_denoiser_vpred_vaegelu --dataset_name t2m --target_concept 'a person kicking' "
    "--negative_guidance 1.0 --unlearn_epochs 10 --unlearn_lr 1e-5 --batch_size 128 --num_workers 8"
)


@pytest.fixture(scope="module")
def base(text_encoder, tmp_path_factory):
    empty = tmp_path_factory.mktemp("no_checkpoints")  # the name must resolve to assets/
    return MotionGenerator.from_checkpoint(
        ck.BASE_MODEL_NAME, checkpoints_dir=empty, device="cpu", text_encoder=text_encoder
    )


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    return cli.load_context(tmp_path_factory.mktemp("no_checkpoints"))[0]


def test_bundled_files_are_small_and_load_with_weights_only():
    files = [p for p in ck.ASSETS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 32 * 2**20
    payload = ck.load_checkpoint(ck.ASSETS_DIR / ck.BASE_MODEL_NAME / "model/net_best_fid.tar")
    assert payload["kind"] == "base" and "denoiser" in payload


def test_bundled_base_generates_the_requested_length_reproducibly(base):
    a = base.generate(["a person kicking"], seconds=3.0, seed=5, num_steps=20)
    b = base.generate(["a person kicking"], seconds=3.0, seed=5, num_steps=20)
    assert a.joints.shape == (1, 60, 22, 3) and np.isfinite(a.joints).all()
    np.testing.assert_array_equal(a.joints, b.joints)
    assert a.joints[0, :, :, 1].min() > -0.1  # nothing sinks through the floor


def test_the_base_model_knows_the_concepts_the_evaluator_knows(base, context):
    prompts = ["a person kicking", "a person jumping", "a person punching", "a person waving"]
    motion = base.generate(prompts * 4, seconds=4.0, seed=0, num_steps=20)
    emb = context.motion_emb(motion.features, motion.lengths)
    guesses = context.recogniser.recognise(emb)
    expected = ["kick", "jump", "punch", "wave"] * 4
    assert np.mean([g == e for g, e in zip(guesses, expected)]) >= 0.75


def test_the_default_recipe_erases_kicking_and_keeps_jumping(base, context):
    settings = EvalSettings.quick().with_num_samples(24)
    plan = make_plan(context, "a person kicking", ["a person jumping"], settings)
    before = evaluate_model(base, plan, context, settings)
    result = run_esd(base, RECIPE)
    after = evaluate_model(base.with_denoiser(result.student), plan, context, settings)
    assert before["efficacy"]["concept_rate"] >= 0.6
    assert after["efficacy"]["concept_rate"] <= before["efficacy"]["concept_rate"] - 0.4
    jump_before = before["specificity"]["a person jumping"]["concept_rate"]
    jump_after = after["specificity"]["a person jumping"]["concept_rate"]
    assert jump_after >= jump_before - 0.2


def test_the_seed_training_command_works_on_the_bundled_model(tmp_path):
    train_main([*shlex.split(SEED_COMMAND), "--checkpoints_dir", str(tmp_path)])
    run = ck.run_paths(tmp_path, f"{ck.BASE_MODEL_NAME}_ESD_a_person_kicking")
    latest = ck.load_checkpoint(run.latest, kind="esd")
    assert latest["epoch"] == 10 and (run.model_dir / "net_e_10.tar").is_file()
