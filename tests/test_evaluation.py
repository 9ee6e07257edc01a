"""Reference set and evaluation protocol (settings, plan, measure, verdicts), on a fake HumanML3D
folder with known answers.

Sources are fakes that return REAL clips of the folder (``tests.fakes.FakeClipSource``): a
"perfect" model returns the clip a caption belongs to, an "erasing" one returns walking clips for
every prompt that mentions kicking. The recogniser's concept prototypes are the mean real
embeddings of each concept (``FakeRecogniser``), so recognition answers are known.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from esd.evaluation import measure, metrics, uncertainty
from esd.evaluation.changes import block_changes, paired_changes
from esd.evaluation.context import EvalContext
from esd.evaluation.measure import evaluate_model, generate_embeddings, measure_model
from esd.evaluation.plan import EvalPlan, anchored_notes, make_plan
from esd.evaluation.protocol import run_evaluation
from esd.evaluation.recognition import wilson_interval
from esd.evaluation.reference import (
    ReferenceError,
    ReferenceSet,
    evaluator_fingerprint,
)
from esd.evaluation.report import markdown_report, report_rows, verdict_text
from esd.evaluation.settings import EvalSettings
from esd.evaluation.verdicts import FID_TOLERANCE, R3_TOLERANCE, compare, read_verdict
from esd.motion.humanml3d import DatasetError, MotionFolder
from esd.motion.keywords import stem, target_keywords
from tests.fakes import FakeClipSource, FakeRecogniser, tiny_evaluator, write_fake_humanml3d

LENGTHS = [40 + (i * 37) % 150 for i in range(150)]  # 40..189 frames
SPLITS = {"train": slice(0, 30), "val": slice(30, 40), "test": slice(40, 150)}
TARGET = "a person kicking"
RELATED = ["a person walking", "a person waving"]
SMALL = EvalSettings.quick(retain_samples=64, mm_prompts=4, mm_repeats=4)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> MotionFolder:
    root = tmp_path_factory.mktemp("fake_t2m")
    return MotionFolder(write_fake_humanml3d(root, lengths=LENGTHS, splits=SPLITS))


@pytest.fixture(scope="module")
def evaluator(folder):
    torch.set_num_threads(1)
    return tiny_evaluator(folder)


@pytest.fixture(scope="module")
def reference(folder, evaluator, tmp_path_factory) -> ReferenceSet:
    """Built, then saved and loaded back (float16 embeddings, as shipped)."""
    path = tmp_path_factory.mktemp("ref") / "reference_test.npz"
    ReferenceSet.build(folder, evaluator).save(path)
    return ReferenceSet.load(path)


@pytest.fixture(scope="module")
def context(evaluator, reference) -> EvalContext:
    return EvalContext(evaluator, FakeRecogniser(reference), reference)


@pytest.fixture(scope="module")
def records(folder):
    return folder.load_split("test")


@pytest.fixture(scope="module")
def plan(context) -> EvalPlan:
    return make_plan(context, TARGET, RELATED, SMALL)


@pytest.fixture(scope="module")
def perfect_vs_erasing(plan, context, records) -> dict:
    """Model: erases kicking; baseline: perfect."""
    return run_evaluation(
        FakeClipSource(records, erase="kick"),
        plan,
        context,
        SMALL,
        {"name": "erased"},
        FakeClipSource(records),
        {"name": "perfect"},
    )


# --- keywords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words, expected",
    [
        ("kick kicks kicking kicked", "kick"),
        ("lunge lunges lunging", "lung"),
        ("run runs running", "run"),
        ("punch punches punching", "punch"),
    ],
)
def test_stemmer_merges_inflections(words, expected):
    assert {stem(w) for w in words.split()} == {expected}


def test_target_keywords_drop_stopwords():
    assert target_keywords("A person kicking") == ("kick",)
    assert target_keywords("someone balancing on one leg") == ("balanc", "leg")
    with pytest.raises(ValueError, match="no keywords"):
        target_keywords("a person")


# --- reference set ------------------------------------------------------------------------------


def test_reference_round_trip_is_small_and_faithful(folder, evaluator, tmp_path):
    built = ReferenceSet.build(folder, evaluator)
    path = built.save(tmp_path / "ref.npz")
    loaded = ReferenceSet.load(path)
    assert path.stat().st_size < 100_000
    assert loaded.ids == built.ids and loaded.captions == built.captions
    assert loaded.concepts == built.concepts and loaded.heldout == built.heldout
    np.testing.assert_array_equal(loaded.lengths, built.lengths)
    np.testing.assert_allclose(loaded.motion_emb, built.motion_emb, atol=2e-3)
    assert loaded.fingerprint == evaluator_fingerprint(evaluator) and loaded.split == "test"
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert all(data[k].dtype != object for k in data.files)
    assert len(built) == len(folder.load_split("test"))  # sub-clip records included
    assert built.heldout == {c: ("an unseen way to " + c,) for c in ("walk", "kick", "wave")}


def test_reference_embeddings_match_the_evaluator(reference, evaluator, records):
    record = records[5]
    x = torch.tensor(record.features)[None]
    emb = evaluator.embed_motion(x, torch.tensor([record.num_frames]))[0].numpy()
    np.testing.assert_allclose(reference.motion_emb[5], emb, atol=2e-3)


def test_reference_errors(tmp_path, reference, folder):
    with pytest.raises(ReferenceError, match=r"no reference set at .*--data_root"):
        ReferenceSet.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ReferenceError, match="not a readable reference set"):
        ReferenceSet.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "old.npz", version=np.array(0))
    with pytest.raises(ReferenceError, match="format 0"):
        ReferenceSet.load(tmp_path / "old.npz")
    with pytest.raises(ReferenceError, match="empty"):
        ReferenceSet((), (), np.zeros(0), (), np.zeros((0, 16)))
    with pytest.raises(ReferenceError, match="another evaluator"):
        reference.check_evaluator(tiny_evaluator(folder, seed=1))


def test_an_empty_test_split_is_refused(tmp_path, evaluator):
    root = write_fake_humanml3d(tmp_path, LENGTHS[:10])
    (root / "test.txt").write_text("\n")
    with pytest.raises(DatasetError, match="lists no clip ids"):
        ReferenceSet.build(MotionFolder(root), evaluator)


def test_retain_forget_with_labels(reference):
    retain, forget = reference.retain_forget("kick")
    assert len(retain) + len(forget) == len(reference) and len(forget) > 20
    assert all("kick" in reference.concepts[i] for i in forget)
    assert not any("kick" in reference.concepts[i] for i in retain)
    _, rule = reference.forget_mask("kick")
    assert rule.startswith("labels")


def test_retain_forget_with_keywords_when_unlabelled(tmp_path, evaluator):
    root = write_fake_humanml3d(tmp_path, LENGTHS[:30], corpus_files=False)
    unlabelled = ReferenceSet.build(MotionFolder(root), evaluator, split="train")
    assert not unlabelled.has_labels and unlabelled.heldout == {}
    retain, forget = unlabelled.retain_forget("a person kicking")
    for i in forget:
        assert any("kick" in c for c in unlabelled.captions[i])
    for i in retain:
        assert not any("kick" in c for c in unlabelled.captions[i])
    assert len(forget) > 0
    assert unlabelled.forget_mask("someone kicks")[1] == "keywords: a caption contains kick"


# --- the plan -----------------------------------------------------------------------------------


def test_a_related_concept_the_erasure_anchored_gets_a_note(plan):
    notes = anchored_notes(plan, [" a person waving ", "a person jumping"])  # jumping: not related
    assert len(notes) == 1 and notes[0].startswith(
        "related concept 'a person waving' was an anchor"
    )
    assert anchored_notes(plan, []) == []


def test_plan_is_deterministic_and_seed_dependent(context, plan):
    assert make_plan(context, TARGET, RELATED, SMALL) == plan
    other = make_plan(context, TARGET, RELATED, EvalSettings.quick(seed=1, mm_prompts=0))
    assert other.retain.prompts != plan.retain.prompts


def test_plan_prompts_come_from_the_right_clips(plan, reference):
    assert len(plan.retain) == 64 and len(plan.forget) == 32 and len(plan.efficacy) == 32
    for block, inside in ((plan.retain, False), (plan.forget, True)):
        for i, prompt, length in zip(block.clip_idx, block.prompts, block.lengths):
            assert ("kick" in reference.concepts[i]) == inside
            assert prompt in reference.captions[i] and length == reference.lengths[i]
    assert plan.efficacy.prompts[0] == TARGET
    kinds = set(plan.efficacy.kinds)
    assert kinds == {"concept", "heldout", "paraphrase"}
    heldout = [p for p, k in zip(plan.efficacy.prompts, plan.efficacy.kinds) if k == "heldout"]
    assert set(heldout) == {"an unseen way to kick"}
    kick_captions = {c for i in reference.retain_forget("kick")[1] for c in reference.captions[i]}
    paraphrases = [
        p for p, k in zip(plan.efficacy.prompts, plan.efficacy.kinds) if k == "paraphrase"
    ]
    assert paraphrases and all(p in kick_captions for p in paraphrases)
    assert [b.name for b in plan.specificity] == RELATED
    assert "heldout" not in plan.specificity[0].kinds
    mm = plan.multimodality
    assert len(mm) == 16 and mm.prompts[:4] == (plan.retain.prompts[0],) * 4


def test_other_targets_leave_the_retain_set_but_not_the_forget_set(context, plan, reference):
    """A multi-concept run: preservation is measured on clips no target names."""
    both = make_plan(context, TARGET, RELATED, SMALL, also_erased=["a person walking"])
    assert both.forget == plan.forget and both.efficacy == plan.efficacy
    walk = set(reference.retain_forget("walk")[1].tolist())
    assert walk and not walk & set(both.retain.clip_idx)
    assert walk & set(plan.retain.clip_idx)  # without also_erased walks stay in the retain set
    kick = set(reference.retain_forget("kick")[1].tolist())
    assert both.retain_size == len(reference.concepts) - len(kick | walk)
    assert "also without 'a person walking'" in both.forget_rule
    with pytest.raises(ValueError, match="contains 'a person kicking' or 'a person walking' or"):
        make_plan(context, TARGET, [], SMALL, also_erased=["a person walking", "a person waving"])


def test_bad_concepts_are_refused(context):
    with pytest.raises(ValueError, match="empty"):
        make_plan(context, "  ", RELATED, SMALL)
    with pytest.raises(ValueError, match="differ from the target"):
        make_plan(context, TARGET, [TARGET], SMALL)
    with pytest.raises(ValueError, match="listed twice"):
        make_plan(context, TARGET, [RELATED[0], RELATED[0] + " "], SMALL)


def test_settings_presets_and_validation():
    full, quick = EvalSettings.full(), EvalSettings.quick()
    assert (full.retain_samples, full.forget_samples, full.concept_samples) == (256, 64, 64)
    assert full.ddim_steps == 50 and full.mm_prompts > 0
    assert quick.retain_samples == 32 and quick.ddim_steps == 20 and quick.mm_prompts == 0
    assert quick.with_num_samples(8).forget_samples == 8
    with pytest.raises(ValueError, match="retain_samples"):
        EvalSettings(retain_samples=0).validated()
    with pytest.raises(ValueError, match="ddim_steps must be at least 10"):
        EvalSettings(ddim_steps=5).validated()


# --- generation ---------------------------------------------------------------------------------


def test_model_and_baseline_get_the_same_prompts_and_noise(plan, context, records):
    model, baseline = FakeClipSource(records, erase="kick"), FakeClipSource(records)
    evaluate_model(model, plan, context, SMALL)
    evaluate_model(baseline, plan, context, SMALL)
    assert model.calls == baseline.calls


def test_item_seeds_do_not_depend_on_the_batch_size(plan, context, records):
    seeds = []
    for batch_size in (7, 64):
        source = FakeClipSource(records)
        settings = EvalSettings.quick(batch_size=batch_size)
        generate_embeddings(source, plan.retain, context, settings)
        seeds.append([seed + i for prompts, seed in source.calls for i in range(len(prompts))])
    assert seeds[0] == seeds[1] == list(range(plan.retain.seed, plan.retain.seed + 64))


def test_progress_reports_every_batch(plan, context, records):
    seen = []
    settings = EvalSettings.quick(batch_size=16)
    generate_embeddings(
        FakeClipSource(records), plan.retain, context, settings, lambda *a: seen.append(a), "x"
    )
    assert seen == [("x", 16, 64), ("x", 32, 64), ("x", 48, 64), ("x", 64, 64)]


# --- known answers ------------------------------------------------------------------------------


def test_perfect_source_reaches_the_real_ceiling(perfect_vs_erasing):
    perfect = perfect_vs_erasing["baseline"]["preservation"]
    real = perfect_vs_erasing["real"]
    for part in ("retain", "forget"):
        assert perfect[part]["fid"] < 1e-4
        assert perfect[part]["r_precision"] == pytest.approx(real[part]["r_precision"], abs=1 / 32)
        assert perfect[part]["matching_score"] == pytest.approx(
            real[part]["matching_score"], abs=1e-3
        )
        assert perfect[part]["diversity"] == pytest.approx(real[part]["diversity"], abs=1e-3)
    assert real["forget"]["concept_rate"] > 0.8 and real["retain"]["concept_rate"] < 0.2


def test_erasing_source_lowers_the_target_rate_and_passes(perfect_vs_erasing):
    erased, perfect = perfect_vs_erasing["model"], perfect_vs_erasing["baseline"]
    assert perfect["efficacy"]["concept_rate"] > 0.6
    assert erased["efficacy"]["concept_rate"] < 0.2
    assert perfect["efficacy"]["heldout_concept_rate"] == 1.0
    assert erased["efficacy"]["heldout_concept_rate"] == 0.0
    assert max(erased["efficacy"]["recognised"], key=erased["efficacy"]["recognised"].get) == (
        "walk"
    )
    assert erased["preservation"]["retain"] == perfect["preservation"]["retain"]
    assert erased["specificity"] == perfect["specificity"]
    verdicts = perfect_vs_erasing["verdicts"]
    assert verdicts["efficacy"]["pass"] is True
    assert verdicts["preservation"]["pass"] is True
    assert all(v["pass"] for v in verdicts["specificity"].values())
    assert verdicts["overall"] is True


def test_damaging_a_related_concept_fails_specificity(plan, context, records):
    result = run_evaluation(
        FakeClipSource(records, erase="wave"), plan, context, SMALL, {}, FakeClipSource(records)
    )
    verdicts = result["verdicts"]
    assert verdicts["specificity"]["a person waving"]["pass"] is False
    assert verdicts["specificity"]["a person walking"]["pass"] is True
    assert verdicts["efficacy"]["pass"] is False  # the target itself was not erased
    assert verdicts["overall"] is False


def test_same_seed_same_numbers(plan, context, records, perfect_vs_erasing):
    again = run_evaluation(
        FakeClipSource(records, erase="kick"),
        make_plan(context, TARGET, RELATED, SMALL),
        context,
        SMALL,
        {"name": "erased"},
        FakeClipSource(records),
        {"name": "perfect"},
    )
    assert again == perfect_vs_erasing


def test_metrics_json_shape(perfect_vs_erasing):
    model = perfect_vs_erasing["model"]
    assert set(model["efficacy"]) >= {
        "concept",
        "concept_rate",
        "matching_score",
        "heldout_concept_rate",
    }
    retain = model["preservation"]["retain"]
    assert set(retain) >= {"fid", "r_precision", "matching_score", "diversity", "multimodality"}
    assert len(retain["r_precision"]) == 3
    assert set(model["specificity"]) == set(RELATED)
    assert set(perfect_vs_erasing["real"]["forget"]) >= {"r_precision", "matching_score"}
    settings = perfect_vs_erasing["settings"]
    assert settings["seed"] == 0 and settings["num_samples"]["retain"] == 64
    assert settings["tolerances"]["fid_relative"] == FID_TOLERANCE
    assert retain["multimodality"] is not None  # mm_prompts > 0 here


def test_unplaced_concept_reports_null_rate_with_known_concepts(context, records):
    settings = EvalSettings.quick(mm_prompts=0)
    plan = make_plan(context, TARGET, ["a person juggling"], settings)
    assert plan.related[0].name is None
    assert any("juggling" in n and "walk, kick, wave" in n for n in plan.notes)
    result = run_evaluation(
        FakeClipSource(records), plan, context, settings, {}, FakeClipSource(records)
    )
    block = result["model"]["specificity"]["a person juggling"]
    assert block["concept_rate"] is None and block["matching_score"] > 0
    assert result["verdicts"]["specificity"]["a person juggling"]["pass"] is None
    assert result["model"]["preservation"]["retain"]["multimodality"] is None


def test_few_samples_shrink_the_pool_with_a_note(context, records):
    settings = EvalSettings.quick().with_num_samples(5)
    plan = make_plan(context, TARGET, RELATED, settings)
    result = evaluate_model(FakeClipSource(records), plan, context, settings)
    retain = result["preservation"]["retain"]
    assert len(retain["r_precision"]) == 3 and retain["fid"] is not None
    assert any("pools of 5" in n for n in result["notes"])
    one = EvalSettings.quick().with_num_samples(1)
    plan = make_plan(context, TARGET, RELATED, one)
    retain = evaluate_model(FakeClipSource(records), plan, context, one)["preservation"]["retain"]
    assert retain["r_precision"] is None and retain["fid"] is None


def test_more_samples_than_clips_uses_each_clip_once(context):
    plan = make_plan(context, TARGET, RELATED, EvalSettings.quick(forget_samples=500))
    assert len(plan.forget) == plan.forget_size and len(set(plan.forget.clip_idx)) == len(
        plan.forget
    )
    assert any("fewer than the 500 requested" in n for n in plan.notes)


# --- verdict rules ------------------------------------------------------------------------------


def _block(rate=0.5, fid=1.0, r3=0.5, spec=0.8):
    return {
        "efficacy": {"concept_rate": rate},
        "preservation": {"retain": {"fid": fid, "r_precision": [0.2, 0.3, r3]}},
        "specificity": {"a person jumping": {"concept_rate": spec}},
    }


@pytest.mark.parametrize(
    "model, expected",
    [
        (_block(rate=0.4), (True, True, True)),
        (_block(rate=0.5), (False, True, True)),  # the rate must fall
        (_block(rate=0.1, fid=1.25), (True, True, True)),  # +25% is allowed
        (_block(rate=0.1, fid=1.26), (True, False, True)),
        (_block(rate=0.1, r3=0.47), (True, True, True)),  # -0.03 is allowed
        (_block(rate=0.1, r3=0.46), (True, False, True)),
        (_block(rate=0.1, spec=0.7), (True, True, True)),  # -10 points is allowed
        (_block(rate=0.1, spec=0.69), (True, True, False)),
    ],
)
def test_verdict_tolerances(model, expected):
    verdicts = compare(model, _block())
    got = (
        verdicts["efficacy"]["pass"],
        verdicts["preservation"]["pass"],
        verdicts["specificity"]["a person jumping"]["pass"],
    )
    assert got == expected
    assert verdicts["overall"] == all(expected)


# --- intervals ----------------------------------------------------------------------------------


def _intervals(block, where=""):
    """(where, value, [lo, hi]) of every ``name_ci95`` in a nested metrics block."""
    found = []
    for key, value in block.items():
        if isinstance(value, dict):
            found += _intervals(value, f"{where}/{key}")
        elif key.endswith("_ci95") and value is not None:
            point = block[key[: -len("_ci95")]]
            pairs = zip(point, value) if isinstance(point, list) else [(point, value)]
            found += [(f"{where}/{key}", p, ci) for p, ci in pairs]
    return found


def test_every_rate_fid_and_r_precision_has_an_interval_containing_it(perfect_vs_erasing):
    model = perfect_vs_erasing["model"]
    retain = model["preservation"]["retain"]
    for key in ("fid_ci95", "r_precision_ci95", "matching_score_ci95"):
        assert retain[key] is not None, key
    assert len(retain["r_precision_ci95"]) == 3
    assert model["efficacy"]["concept_rate_ci95"] and model["efficacy"]["heldout_concept_rate_ci95"]
    assert all(b["concept_rate_ci95"] for b in model["specificity"].values())
    assert perfect_vs_erasing["real"]["forget"]["concept_rate_ci95"]
    found = []
    for part in ("model", "baseline", "real"):
        found += _intervals(perfect_vs_erasing[part], part)
    assert len(found) > 30
    for where, point, (lo, hi) in found:
        assert lo <= point <= hi, (where, point, lo, hi)
    widths = [hi - lo for _, _, (lo, hi) in found]
    assert max(widths) > 0.05  # 32-64 samples: real uncertainty, not zero-width decorations


def test_rate_intervals_are_wilson(perfect_vs_erasing):
    efficacy = perfect_vs_erasing["baseline"]["efficacy"]
    n = efficacy["num_samples"]
    hits = round(efficacy["concept_rate"] * n)
    assert efficacy["concept_rate_ci95"] == pytest.approx(list(wilson_interval(hits, n)))


def test_changes_are_paired_and_contain_the_change(perfect_vs_erasing):
    changes = perfect_vs_erasing["changes"]
    assert changes["paired"] is True
    rate = changes["efficacy"]["concept_rate"]
    model, base = perfect_vs_erasing["model"], perfect_vs_erasing["baseline"]
    assert rate["change"] == pytest.approx(
        model["efficacy"]["concept_rate"] - base["efficacy"]["concept_rate"]
    )
    lo, hi = rate["ci95"]
    assert lo <= rate["change"] <= hi < 0  # erased: the whole interval is a fall
    # the retain block is untouched by erasing kicks: paired, its changes are exactly 0
    retain = changes["preservation"]["retain"]
    assert retain["fid"]["change"] == 0 and retain["fid"]["ci95"] == [0.0, 0.0]
    assert all(e["ci95"] == [0.0, 0.0] for e in retain["r_precision"])


def test_identical_models_change_by_zero_and_do_not_erase(plan, context, records):
    result = run_evaluation(
        FakeClipSource(records), plan, context, SMALL, {}, FakeClipSource(records)
    )
    verdicts = result["verdicts"]
    assert verdicts["efficacy"]["verdict"] == "fail"  # a rate that did not fall
    assert verdicts["preservation"]["verdict"] == "pass"
    assert verdicts["overall_verdict"] == "fail" and verdicts["overall"] is False


def test_paired_changes_need_the_same_plan(plan, context, records):
    settings = EvalSettings.quick(mm_prompts=0)
    other = make_plan(context, TARGET, RELATED, settings)
    a = measure_model(FakeClipSource(records), plan, context, SMALL)
    b = measure_model(FakeClipSource(records), other, context, settings)
    with pytest.raises(ValueError, match="different plans"):
        paired_changes(a, b)


def test_fid_bootstrap_interval_is_bias_corrected():
    # resampling repeats items, which inflates the FID: the plain percentile interval misses
    # the estimate, the bias-corrected one contains it
    rng = np.random.default_rng(5)
    real, generated = rng.normal(size=(32, 64)), rng.normal(size=(32, 64)) + 0.1
    estimate = metrics.frechet_distance(real, generated, strict=True)
    indices = uncertainty.resample_indices(32, 400, np.random.default_rng(6))
    reps = uncertainty.fid_replicates(real, generated, indices)
    assert np.quantile(reps, 0.025) > estimate  # the plain percentile interval excludes it
    lo, hi = uncertainty.interval(reps, estimate, (0.0, np.inf))
    assert lo <= estimate <= hi


def test_r_precision_is_the_metrics_module_value(context):
    rng = np.random.default_rng(7)
    text, motion = rng.normal(size=(70, 16)), rng.normal(size=(70, 16))
    values = measure.retrieval_metrics(text, motion, SMALL, "retain", [])
    same = np.random.default_rng((SMALL.seed, zlib.crc32(b"retain/r_precision")))
    assert values["r_precision"] == metrics.r_precision(text, motion, generator=same).tolist()


# --- FID size, diversity and multimodality pairs -------------------------------------------------


def test_fid_from_no_more_samples_than_dimensions_is_indicative(context, records):
    settings = EvalSettings.quick().with_num_samples(8)  # 8 samples, tiny evaluator D = 16
    plan = make_plan(context, TARGET, RELATED, settings)
    result = run_evaluation(
        FakeClipSource(records), plan, context, settings, {}, FakeClipSource(records)
    )
    retain = result["model"]["preservation"]["retain"]
    assert retain["fid_indicative"] is True
    assert any(
        "indicative" in n and "8 samples in 16 dimensions" in n for n in result["model"]["notes"]
    )
    fid_row = next(r for r in report_rows(result) if r.metric.startswith("FID"))
    assert "indicative" in fid_row.metric
    assert result["verdicts"]["preservation"]["metrics"]["fid"]["indicative"] is True


def test_fid_from_more_samples_than_dimensions_is_not_indicative(perfect_vs_erasing):
    assert perfect_vs_erasing["model"]["preservation"]["retain"]["fid_indicative"] is False


def test_diversity_uses_300_pairs_of_two_different_motions(plan, context, records, monkeypatch):
    drawn = []
    original = metrics.distinct_pairs

    def spy(num_items, num_pairs, generator=None):
        first, second = original(num_items, num_pairs, generator)
        drawn.append((num_items, len(first), bool((first != second).all())))
        return first, second

    monkeypatch.setattr(metrics, "distinct_pairs", spy)
    block = evaluate_model(FakeClipSource(records), plan, context, SMALL)
    retain, forget = block["preservation"]["retain"], block["preservation"]["forget"]
    assert (64, 300, True) in drawn and (32, 300, True) in drawn  # retain and forget blocks
    assert retain["diversity_pairs"] == forget["diversity_pairs"] == 300


def test_fewer_diversity_pairs_are_reported(context, records):
    settings = EvalSettings.quick().with_num_samples(5)
    plan = make_plan(context, TARGET, RELATED, settings)
    result = run_evaluation(FakeClipSource(records), plan, context, settings)
    assert result["model"]["preservation"]["retain"]["diversity_pairs"] == 10  # 5 * 4 / 2
    assert any(r.metric == "diversity → (10 pairs)" for r in report_rows(result))


def test_multimodality_follows_guo_30_generations_10_pairs(perfect_vs_erasing):
    assert EvalSettings.full().mm_repeats == 30
    full = EvalSettings.full()
    assert metrics.distinct_pair_count(full.mm_repeats, metrics.MULTIMODALITY_PAIRS) == 10
    retain = perfect_vs_erasing["model"]["preservation"]["retain"]
    assert retain["multimodality_pairs"] == 6  # SMALL: 4 generations give 6 distinct pairs


# --- verdicts from intervals ----------------------------------------------------------------------


def _with_intervals(rate, rate_ci, fid, fid_ci, r3, r3_ci, spec, spec_ci):
    return {
        "efficacy": {"concept_rate": rate, "concept_rate_ci95": rate_ci},
        "preservation": {
            "retain": {
                "fid": fid,
                "fid_ci95": fid_ci,
                "r_precision": [0.5, 0.7, r3],
                "r_precision_ci95": [[0.4, 0.6], [0.6, 0.8], r3_ci],
            }
        },
        "specificity": {"a person jumping": {"concept_rate": spec, "concept_rate_ci95": spec_ci}},
    }


BASELINE = _with_intervals(0.8, [0.7, 0.9], 1.0, [0.9, 1.1], 0.9375, [0.86, 0.98], 0.8, [0.7, 0.9])


def test_a_drop_just_past_the_tolerance_on_32_samples_is_inconclusive():
    # the documented default recipe on the quick preset: R-precision top-3 -0.031 (rule: 0.03)
    model = _with_intervals(
        0.1, [0.03, 0.2], 1.02, [0.97, 1.08], 0.906, [0.82, 0.96], 0.8, [0.7, 0.9]
    )
    verdicts = compare(model, BASELINE)  # unpaired: the blocks' own intervals
    r3 = verdicts["preservation"]["metrics"]["r_precision_top3"]
    assert r3["change"] == pytest.approx(-0.0315) and -r3["change"] > R3_TOLERANCE
    assert r3["verdict"] == "inconclusive" and r3["pass"] is None
    lo, hi = r3["change_ci95"]
    assert lo < -R3_TOLERANCE < hi
    assert verdicts["preservation"]["metrics"]["fid"]["verdict"] == "pass"
    assert verdicts["efficacy"]["verdict"] == "pass"
    assert verdicts["preservation"]["verdict"] == "inconclusive"
    assert verdicts["overall_verdict"] == "inconclusive" and verdicts["overall"] is None


def _changes(rate, fid_relative, r3, spec):
    """A ``changes`` block with the given (change, [lo, hi]) per metric."""
    entry = lambda c: {"change": c[0], "ci95": c[1]}  # noqa: E731
    fid = {"change": 0.0, "ci95": [0.0, 0.0], "relative": fid_relative[0]}
    fid["relative_ci95"] = fid_relative[1]
    return {
        "efficacy": {"concept_rate": entry(rate)},
        "preservation": {"retain": {"fid": fid, "r_precision": [None, None, entry(r3)]}},
        "specificity": {"a person jumping": {"concept_rate": entry(spec)}},
    }


OK_RATE = (-0.5, [-0.6, -0.4])  # (change, interval) of each metric: clearly passing
OK_FID = (0.1, [0.0, 0.2])  # relative
OK_R3 = (0, [-0.02, 0.02])
OK_SPEC = (0, [-0.05, 0.05])


@pytest.mark.parametrize(
    "changes, expected",
    [
        (_changes(OK_RATE, OK_FID, OK_R3, OK_SPEC), ("pass",) * 5),
        (_changes((-0.1, [-0.3, 0.1]), OK_FID, OK_R3, OK_SPEC),
         ("inconclusive", "pass", "pass", "pass", "inconclusive")),
        (_changes(OK_RATE, (0.2, [0.1, 0.4]), OK_R3, OK_SPEC),
         ("pass", "inconclusive", "pass", "pass", "inconclusive")),
        (_changes(OK_RATE, (0.3, [0.26, 0.4]), OK_R3, OK_SPEC),
         ("pass", "fail", "pass", "pass", "fail")),
        (_changes(OK_RATE, OK_FID, (-0.05, [-0.1, -0.04]), (0, [-0.2, 0.05])),
         ("pass", "pass", "fail", "inconclusive", "fail")),  # a failure outranks inconclusive
        (_changes(OK_RATE, OK_FID, OK_R3, (-0.3, [-0.4, -0.2])),
         ("pass", "pass", "pass", "fail", "fail")),
        (_changes((0.0, [0.0, 0.0]), OK_FID, OK_R3, OK_SPEC),
         ("fail", "pass", "pass", "pass", "fail")),  # a rate that did not fall
    ],
)  # fmt: skip
def test_verdicts_read_the_interval_of_the_change(changes, expected):
    block = _with_intervals(0.5, None, 1.0, None, 0.9, None, 0.8, None)
    verdicts = compare(block, block, changes)
    got = (
        verdicts["efficacy"]["verdict"],
        verdicts["preservation"]["metrics"]["fid"]["verdict"],
        verdicts["preservation"]["metrics"]["r_precision_top3"]["verdict"],
        verdicts["specificity"]["a person jumping"]["verdict"],
        verdicts["overall_verdict"],
    )
    assert got == expected


@pytest.mark.parametrize(
    ("verdict", "word", "shown"),
    [
        ({"verdict": "INCONCLUSIVE", "pass": None}, "inconclusive", "INCONCLUSIVE"),
        ({"status": "failed"}, "fail", "FAIL"),  # an older engine's key and word
        ({"inconclusive": True, "pass": None}, "inconclusive", "INCONCLUSIVE"),
        ({"pass": True}, "pass", "PASS"),  # legacy bools
        ({"pass": False}, "fail", "FAIL"),
        ({"pass": None}, "n/a", "n/a"),
        ("PASS", "pass", "PASS"),
        ("maybe", "n/a", "n/a"),  # an unknown word is no verdict
        (False, "fail", "FAIL"),
        (None, "n/a", "n/a"),
    ],
)  # fmt: skip
def test_one_reader_of_verdicts_serves_the_report_and_the_page(verdict, word, shown):
    assert read_verdict(verdict) == word
    assert verdict_text(verdict) == shown


def test_the_fid_row_carries_the_fid_verdict_not_the_block_verdict():
    # FID +2% passes; R-precision top-3 falls by 0.2 and fails: the block fails, the FID row not
    model, baseline = _block(rate=0.1, fid=1.02, r3=0.3), _block()
    verdicts = compare(model, baseline)
    for block in (model, baseline):
        block["efficacy"].update(concept="a person kicking", heldout_concept_rate=None)
        block["efficacy"]["matching_score"] = None
        block["specificity"]["a person jumping"]["matching_score"] = None
        block["preservation"]["retain"].update(matching_score=1, diversity=1, multimodality=None)
        block["preservation"]["forget"] = block["preservation"]["retain"]
    real = {"r_precision": [1.0, 1.0, 1.0], "matching_score": 0.5, "diversity": 1.0}
    real = {"retain": real, "forget": {**real, "concept_rate": 0.8}}
    metrics_json = {"model": model, "baseline": baseline, "verdicts": verdicts, "real": real}
    rows = {(r.section, r.metric): r for r in report_rows(metrics_json)}
    assert rows[("Preservation: retain set", "FID ↓")].verdict == "PASS"
    assert rows[("Preservation: retain set", "R-precision top-3 ↑")].verdict == "FAIL"
    assert rows[("Preservation: retain set", "R-precision top-1 ↑")].verdict == ""
    assert all(r.verdict == "" for r in rows.values() if r.section.endswith("forget set"))
    assert verdicts["preservation"]["verdict"] == "fail"


def test_report_shows_intervals_and_inconclusive(perfect_vs_erasing):
    rows = report_rows(perfect_vs_erasing)
    rate = next(r for r in rows if r.metric == "concept rate ↓")
    assert rate.model.count("[") == 1 and rate.baseline.count("[") == 1 and "[" in rate.change
    fid = next(r for r in rows if r.metric.startswith("FID"))
    assert "%" in fid.change and "[" in fid.model
    model = _with_intervals(
        0.1, [0.03, 0.2], 1.02, [0.9, 1.15], 0.906, [0.82, 0.96], 0.8, [0.7, 0.9]
    )
    assert "inconclusive" in str(compare(model, BASELINE))
    text = markdown_report(perfect_vs_erasing)
    assert "**Overall: PASS**" in text and "INCONCLUSIVE" in text  # defined in the definitions


def test_unpaired_changes_from_blocks_combine_their_intervals():
    model = _with_intervals(
        0.1, [0.03, 0.2], 1.02, [0.9, 1.15], 0.906, [0.82, 0.96], 0.8, [0.7, 0.9]
    )
    changes = block_changes(model, BASELINE)
    assert changes["paired"] is False
    lo, hi = changes["efficacy"]["concept_rate"]["ci95"]
    assert lo == pytest.approx(-0.7 - np.hypot(0.07, 0.1))
    assert hi == pytest.approx(-0.7 + np.hypot(0.1, 0.1))
    assert changes["preservation"]["retain"]["fid"]["relative_ci95"] == pytest.approx(
        [0.9 / 1.1 - 1, 1.15 / 0.9 - 1]
    )
