"""``python -m esd.evaluate`` with the T2M evaluator, end to end, and its rules.

A user's layout in tmp: ``checkpoints/`` holds the reduced fixture T2M evaluator
(``t2m/text_mot_match``, ``t2m/Comp_v6_KLD005``), SALAD's reduced fixture model with the tiny CLIP
(as ``tests/test_salad_cli.py`` lays it out), and a tiny bundled-family base with an ESD run
over it; ``data/`` is a HumanML3D-layout folder of 64 crops of the official sample 012314 whose
captions name kick (32 clips: the forget split) or walk and jump (32 clips: retain, and the
related splits of walking and jumping); ``--glove_dir`` is the fixture's GloVe (real vocabulary,
random vectors). Two replications, 10 DDIM steps. Quality is meaningless (random weights); what
is tested is the protocol's plumbing, metrics.json's structure and intervals, the paired changes
(a model against itself changes by exactly 0), the verdict rules, the evaluator choice and the
one-line errors.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from esd import evaluate as cli
from esd.evaluation.instruments import choose_evaluator
from esd.evaluation.t2m.evaluator import T2MFilesError
from esd.evaluation.t2m.generation import generation_callback
from esd.evaluation.t2m.run import planned_batches
from esd.evaluation.t2m.summary import paired_change, summarise
from esd.evaluation.t2m.verdicts import t2m_verdicts
from esd.models import checkpoints as ck
from esd.models.generator import shared_text_encoder
from esd.models.salad.folder import write_salad_model
from tests.test_evaluate_cli import BASE, RUN, base_payload, esd_payload
from tests.test_salad_cli import CLIP, TINY_CLIP_WIDTH, clip_width_denoiser
from tests.test_salad_cli import NAME as SALAD
from tests.tiny import tiny_generator

SHORT_CLIPS = 60  # the SALAD run's longest clip (its sampling cost grows with the length)
CLIPS = 64  # 32 forget + 32 retain: one batch of 32 in every split, two in the test split
KICK = [
    "a man kicks with his left leg#a/DET man/NOUN kick/VERB with/ADP his/DET left/ADJ leg/NOUN",
    "a person is kicking forward#a/DET person/NOUN is/AUX kick/VERB forward/ADV",
]
OTHER = [
    "a person walks forward slowly#a/DET person/NOUN walk/VERB forward/ADV slowly/ADV",
    "someone jumps up and lands#someone/PRON jump/VERB up/ADP and/CCONJ land/VERB",
]
RELATED = ["a person walking", "a person jumping"]
SPLITS = ["test", "forget", "retain", "related:a person walking", "related:a person jumping"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: threads only add contention on a shared CPU
    yield
    torch.set_num_threads(before)


def write_humanml3d(root: Path, features: np.ndarray, longest: int = 170) -> Path:
    """64 noisy crops of the official sample (40 to ``longest`` frames: some draw m_len 36)."""
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    rng = np.random.default_rng(0)
    ids = []
    for i in range(CLIPS):
        frames = 40 + i % 2 if i < 2 else int(rng.integers(40, longest + 1))
        start = int(rng.integers(0, features.shape[0] - frames + 1))
        crop = features[start : start + frames] + rng.normal(scale=0.05, size=(frames, 263))
        ids.append(f"{i:06d}")
        np.save(root / "new_joint_vecs" / f"{ids[-1]}.npy", crop.astype(np.float32))
        captions = KICK if i % 2 == 0 else OTHER
        lines = [f"{caption}#0.0#0.0" for caption in captions]
        (root / "texts" / f"{ids[-1]}.txt").write_text("\n".join(lines) + "\n")
    (root / "test.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture(scope="module")
def home(salad_fixture_dir: Path, official_sample, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("t2m_home")
    checkpoints = root / "checkpoints"
    shutil.copytree(salad_fixture_dir / "checkpoints", checkpoints)
    denoiser, options = clip_width_denoiser(checkpoints / "t2m" / SALAD, TINY_CLIP_WIDTH)
    write_salad_model(checkpoints / "t2m" / SALAD, denoiser, options, epoch=0)
    shutil.copytree(salad_fixture_dir / "clip_tiny" / CLIP, checkpoints / CLIP)
    generator = tiny_generator(shared_text_encoder("cpu"))
    ck.save_checkpoint(base_payload(generator), ck.run_paths(checkpoints, BASE).best)
    ck.save_checkpoint(esd_payload(generator), ck.run_paths(checkpoints, RUN).latest)
    data = write_humanml3d(root / "data", official_sample["features"])
    short = write_humanml3d(root / "short", official_sample["features"], SHORT_CLIPS)
    return {"root": root, "checkpoints": checkpoints, "data": data, "short": short,
            "glove": salad_fixture_dir / "glove"}  # fmt: skip


def argv(home: dict[str, Path], *extra: str, data: bool | str = True) -> list[str]:
    """The command line; ``data``: --data_root of the 64 clips (True), of the short ones
    ("short") or none (False)."""
    args = ["--checkpoints_dir", str(home["checkpoints"]), "--glove_dir", str(home["glove"]),
            "--ddim_steps", "10", "--device", "cpu"]  # fmt: skip
    if "--related_concepts" not in extra:
        args += ["--related_concepts", *RELATED]
    if data:
        args += ["--data_root", str(home["short" if data == "short" else "data"])]
    return args + list(extra)


def run_ok(home, capsys, *extra: str, data: bool | str = True) -> tuple[dict, str]:
    assert cli.main(argv(home, *extra, data=data)) == 0
    name = extra[extra.index("--name") + 1]
    out = home["checkpoints"] / "t2m" / name / "evaluation"
    captured = capsys.readouterr()
    return json.loads((out / "metrics.json").read_text()), captured.err + captured.out


def one_error_line(home, capsys, *extra: str, data: bool = True, after: str = "") -> str:
    """The run's error: stderr is that one line (after the evaluator's line when ``after``
    starts it, for a failure once the run has begun)."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv(home, *extra, data=data))
    assert info.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    if after:
        assert lines[0].startswith(after)
        lines = lines[1:]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return " ".join(lines[0].split())


def check_entry(entry: dict, replications: int) -> None:
    """mean, ci95 = mean -+ 1.96 std / sqrt(R), per_replication (R,) or (R, 3)."""
    values = np.asarray(entry["per_replication"], dtype=np.float64)
    assert values.shape[0] == replications and np.isfinite(values).all()
    mean = np.asarray(entry.get("mean", entry.get("change")))
    np.testing.assert_allclose(mean, values.mean(axis=0), rtol=1e-12, atol=1e-12)
    half = 1.96 * values.std(axis=0) / np.sqrt(replications)
    np.testing.assert_allclose(entry["half_width"], half, rtol=1e-12, atol=1e-12)
    bounds = np.asarray(entry["ci95"])  # (2,) or (3, 2)
    assert (bounds[..., 0] <= mean + 1e-12).all() and (mean <= bounds[..., 1] + 1e-12).all()
    np.testing.assert_allclose(bounds[..., 1] - bounds[..., 0], 2 * half, atol=1e-12)


def test_an_esd_run_against_its_base_end_to_end(home, capsys, tmp_path):
    out = tmp_path / "copy.json"
    metrics, text = run_ok(home, capsys, "--name", RUN, "--replications", "2", "--json", str(out),
                           "--evaluator", "auto")  # fmt: skip
    assert "evaluator: t2m" in text and "estimate: the first batch of 32 took" in text
    assert json.loads(out.read_text()) == metrics
    assert metrics["evaluator"] == "t2m" and "Overall:" in text
    assert metrics["model"]["name"] == RUN and metrics["baseline"]["name"] == BASE
    t2m = metrics["t2m"]
    assert list(t2m["splits"]) == SPLITS
    assert [t2m["splits"][s]["items"] for s in SPLITS] == [64, 32, 32, 32, 32]
    assert [t2m["splits"][s]["batches"] for s in SPLITS] == [2, 1, 1, 1, 1]
    assert t2m["settings"]["replications"] == 2 and t2m["sampler"]["model"]["steps"] == 10
    for group in ("model", "baseline", "real"):
        assert set(t2m[group]) == set(SPLITS)
        for split in SPLITS:
            metrics_of = t2m[group][split]
            expected = {"r_precision", "matching_score", "diversity"} | (
                {"fid"} if group != "real" else set()
            )
            assert expected <= set(metrics_of)
            assert len(metrics_of["r_precision"]["mean"]) == 3
            for entry in metrics_of.values():
                check_entry(entry, 2)
    for split in SPLITS:
        for metric, change in t2m["changes"][split].items():
            check_entry(change, 2)
            model, base = t2m["model"][split][metric], t2m["baseline"][split][metric]
            diff = np.subtract(model["per_replication"], base["per_replication"])
            np.testing.assert_allclose(change["per_replication"], diff, atol=1e-12)
    verdicts = metrics["verdicts"]
    assert set(verdicts["efficacy"]["metrics"]) == {"r_precision_top3", "matching_score", "fid"}
    assert set(verdicts["specificity"]) == set(RELATED)
    assert verdicts["overall_verdict"] in {"pass", "fail", "inconclusive"}
    report = (home["checkpoints"] / "t2m" / RUN / "evaluation" / "REPORT.md").read_text()
    assert "# T2M evaluation" in report and "## Efficacy: forget split" in report
    assert "Specificity: related split ('a person jumping')" in report
    if "concept_probe" in t2m:  # the bundled evaluator (assets/) recognises the motions
        rate = t2m["model"]["forget"]["concept_rate"]
        assert rate["concept"] == t2m["concept_probe"]["concepts"]["forget"]
        assert all(0 <= r <= 1 for r in rate["per_replication"])
        check_entry(t2m["changes"]["forget"]["concept_rate"], 2)


def test_a_salad_model_against_itself_changes_by_exactly_zero(home, capsys):
    """The same SALAD model as its own baseline: same draws, same noise, so every
    per-replication change is 0, efficacy fails (nothing fell) and preservation passes."""
    metrics, _ = run_ok(home, capsys, "--name", SALAD, "--baseline_name", SALAD,
                           "--replications", "2", "--no_test_split", "--evaluator", "t2m",
                           "--related_concepts", RELATED[0], data="short")  # fmt: skip
    t2m = metrics["t2m"]
    assert list(t2m["splits"]) == ["forget", "retain", f"related:{RELATED[0]}"]
    assert t2m["sampler"]["model"]["guidance"] == 7.5  # SALAD's sampler
    for split, changes in t2m["changes"].items():
        for metric, change in changes.items():
            assert np.all(np.asarray(change["per_replication"]) == 0), (split, metric)
            assert np.all(np.asarray(change["ci95"]) == 0)
    verdicts = metrics["verdicts"]
    assert verdicts["efficacy"]["verdict"] == "fail"
    assert {v["verdict"] for v in verdicts["efficacy"]["metrics"].values()} == {"fail"}
    assert verdicts["preservation"]["verdict"] == "pass"
    assert verdicts["specificity"][RELATED[0]]["verdict"] == "pass"
    assert verdicts["overall_verdict"] == "fail"
    fid = t2m["model"]["retain"]["fid"]["mean"]
    assert np.isfinite(fid) and fid > 0


def test_auto_picks_bundled_without_data_root(home, capsys):
    metrics, text = run_ok(home, capsys, "--name", BASE, "--quick", "--num_samples", "4",
                           data=False)  # fmt: skip
    assert "evaluator: bundled: the T2M evaluator is not used (no --data_root" in text
    assert metrics["evaluator"] == "bundled" and "t2m" not in metrics
    assert "efficacy" in metrics["model"]  # the bundled layout, as before


def test_choose_evaluator_reads_the_files(home, tmp_path):
    checkpoints, glove, data = home["checkpoints"], home["glove"], home["data"]
    assert choose_evaluator("auto", checkpoints, glove, data).kind == "t2m"
    assert choose_evaluator(None, checkpoints, glove, data).kind == "t2m"
    assert choose_evaluator("bundled", checkpoints, glove, data).kind == "bundled"
    given = choose_evaluator("some/evaluator.tar", checkpoints, glove, data)
    assert (given.kind, given.file) == ("bundled", "some/evaluator.tar")
    for args, missing in [
        ((tmp_path, glove, data), "text_mot_match"),
        ((checkpoints, tmp_path, data), "our_vab_data.npy"),
        ((checkpoints, glove, tmp_path), "test.txt"),
    ]:
        choice = choose_evaluator("auto", *args)
        assert choice.kind == "bundled" and missing in choice.reason
        with pytest.raises(T2MFilesError, match=missing):
            choose_evaluator("t2m", *args)


def test_one_line_errors(home, capsys, tmp_path):
    err = one_error_line(home, capsys, "--name", BASE, "--evaluator", "t2m", data=False)
    assert "--evaluator t2m needs" in err and "--data_root" in err
    err = one_error_line(home, capsys, "--name", BASE, "--evaluator", "t2m", "--num_samples", "4")
    assert "--num_samples applies to the bundled evaluator" in err
    err = one_error_line(home, capsys, "--name", BASE, "--evaluator", "nowhere.tar")
    assert "evaluator checkpoint not found: nowhere.tar" in err


class _CreatesFile:
    """Unpickling this opens (creates) a file: what a malicious pickle could do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_malicious_glove_pickle_is_refused_in_one_line(home, capsys, tmp_path):
    glove = tmp_path / "glove"
    shutil.copytree(home["glove"], glove)
    victim = tmp_path / "pwned.txt"
    (glove / "our_vab_idx.pkl").write_bytes(pickle.dumps({"unk": _CreatesFile(str(victim))}))
    args = ["--name", BASE, "--evaluator", "t2m", "--glove_dir", str(glove)]
    err = one_error_line(home, capsys, *args)
    assert "our_vab_idx.pkl was refused" in err and "nothing in the file was executed" in err
    assert not victim.exists()


def test_ctrl_c_writes_nothing(home, capsys, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        def generate(texts, m_lens, seed):
            raise KeyboardInterrupt

        return generate

    monkeypatch.setattr(cli, "generation_callback", interrupted)
    out = home["checkpoints"] / "t2m" / BASE / "evaluation"
    shutil.rmtree(out, ignore_errors=True)
    json_path = str(tmp_path / "m.json")
    err = one_error_line(home, capsys, "--name", BASE, "--json", json_path, after="evaluator: t2m")
    assert err == "error: interrupted; nothing was written"
    assert not out.exists() and not (tmp_path / "m.json").exists()


# --- the rules, on numbers made up for them ------------------------------------------------------


class _FakeModel:
    """sample_latents / decode of a model whose features are 1 + the row's seed offset."""

    def sample_latents(self, prompts, lengths, seed=0, num_steps=None, guidance_scale=None):
        self.seen = (list(prompts), list(lengths), seed, num_steps, guidance_scale)
        return torch.arange(len(prompts), dtype=torch.float32), None

    def decode(self, latents, lengths):
        rows = latents.numpy()[:, None, None] + np.ones((1, max(lengths), 263))
        return rows.astype(np.float32), None


def test_generation_callback_normalises_with_the_meta_statistics():
    class Meta:
        meta_mean = np.full(263, 0.5, np.float32)
        meta_std = np.full(263, 2.0, np.float32)

    model = _FakeModel()
    generate = generation_callback(model, Meta(), num_steps=10, guidance_scale=7.5)
    out = generate(["a", "b"], np.array([36, 40]), 5)  # 36: below generate()'s 40-frame floor
    assert model.seen == (["a", "b"], [36, 40], 5, 10, 7.5)
    assert out.shape == (2, 40, 263) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], (1.0 - 0.5) / 2.0)
    np.testing.assert_allclose(out[1], (2.0 - 0.5) / 2.0)


def _block(values: dict[str, dict[str, list]]) -> dict:
    return {s: {m: summarise(v) for m, v in ms.items()} for s, ms in values.items()}


def _verdicts(model: dict, baseline: dict) -> dict:
    changes = {
        s: {m: paired_change(v, baseline[s][m], relative=m == "fid") for m, v in ms.items()}
        for s, ms in model.items()
    }
    splits = {s: {"items": 32} for s in model}
    return t2m_verdicts(_block(model), _block(baseline), changes, splits)


def _split(r3: list[float], ms: list[float], fid: list[float]) -> dict[str, list]:
    return {"r_precision": [[0.1, 0.2, x] for x in r3], "matching_score": ms, "fid": fid}


BASE_SPLIT = _split([0.5, 0.52, 0.48], [3.0, 3.1, 2.9], [1.0, 1.1, 0.9])


def test_efficacy_reads_the_direction_of_each_change():
    erased = _split([0.2, 0.25, 0.15], [4.0, 4.2, 3.8], [3.0, 3.5, 2.5])
    model = {"forget": erased, "retain": BASE_SPLIT}
    baseline = {"forget": BASE_SPLIT, "retain": BASE_SPLIT}
    verdicts = _verdicts(model, baseline)
    assert verdicts["efficacy"]["verdict"] == "pass"
    assert verdicts["preservation"]["verdict"] == "pass"  # retain unchanged
    better = _split([0.6, 0.62, 0.58], [2.5, 2.6, 2.4], [0.5, 0.6, 0.4])  # matches better
    verdicts = _verdicts({"forget": better, "retain": BASE_SPLIT}, baseline)
    assert {v["verdict"] for v in verdicts["efficacy"]["metrics"].values()} == {"fail"}
    noisy = _split([0.3, 0.7, 0.5], [4.0, 4.2, 3.8], [3.0, 3.5, 2.5])  # top-3 straddles 0
    verdict = _verdicts({"forget": noisy, "retain": BASE_SPLIT}, baseline)["efficacy"]
    assert verdict["metrics"]["r_precision_top3"]["verdict"] == "inconclusive"
    assert verdict["verdict"] == "inconclusive"


def test_preservation_and_specificity_tolerances():
    baseline = {"retain": BASE_SPLIT, "related:x": BASE_SPLIT}
    # FID +20% (< 25%), top-3 -0.02 (< 0.03): pass; related top-3 -0.05 (< 0.10): pass
    kept = _split([0.48, 0.50, 0.46], [3.0, 3.1, 2.9], [1.2, 1.32, 1.08])
    near = _split([0.45, 0.47, 0.43], [3.0, 3.1, 2.9], [1.0, 1.1, 0.9])
    verdicts = _verdicts({"retain": kept, "related:x": near}, baseline)
    assert verdicts["preservation"]["metrics"]["fid"]["verdict"] == "pass"
    assert verdicts["preservation"]["metrics"]["fid"]["change_relative"] == pytest.approx(0.2)
    assert verdicts["preservation"]["metrics"]["r_precision_top3"]["verdict"] == "pass"
    assert verdicts["specificity"]["x"]["verdict"] == "pass"
    assert verdicts["efficacy"]["verdict"] == "n/a"  # no forget split
    # FID +50%, top-3 -0.1, related top-3 -0.2: all fail
    broken = _split([0.4, 0.42, 0.38], [3.0, 3.1, 2.9], [1.5, 1.65, 1.35])
    far = _split([0.3, 0.32, 0.28], [3.0, 3.1, 2.9], [1.0, 1.1, 0.9])
    verdicts = _verdicts({"retain": broken, "related:x": far}, baseline)
    assert verdicts["preservation"]["metrics"]["fid"]["verdict"] == "fail"
    assert verdicts["preservation"]["metrics"]["r_precision_top3"]["verdict"] == "fail"
    assert verdicts["specificity"]["x"]["verdict"] == "fail"
    assert verdicts["overall_verdict"] == "fail"


def test_paired_change_summarises_the_per_replication_differences():
    change = paired_change([2.0, 4.0, 3.0], [1.0, 1.0, 2.0], relative=True)
    d = np.array([1.0, 3.0, 1.0])
    assert change["change"] == pytest.approx(d.mean())
    assert change["half_width"] == pytest.approx(1.96 * d.std() / np.sqrt(3))
    rel = np.array([1.0, 3.0, 0.5])
    assert change["relative"]["change"] == pytest.approx(rel.mean())
    assert paired_change([1.0, 2.0], [0.0, 1.0], relative=True)["relative"] is None


def test_protocol_settings_from_the_command_line():
    """The papers' 20 replications and seed 1234 by default, --quick 2; multimodality on the
    test split, else retain; the batches the estimate multiplies (passes + one call per MM
    text, at most 100)."""
    splits = {"test": [0] * 300, "forget": [0] * 40, "retain": [0] * 260}
    settings = cli.t2m_settings(cli.build_parser().parse_args(["--mm"]), splits)
    assert (settings.replications, settings.seed, settings.multimodality) == (20, 1234, True)
    assert settings.mm_split == "test"
    assert planned_batches(splits, settings) == 20 * (9 + 1 + 8 + 100)
    splits = {"forget": [0] * 32, "retain": [0] * 40}
    args = cli.build_parser().parse_args(["--quick", "--mm", "--seed", "3"])
    quick = cli.t2m_settings(args, splits)
    assert (quick.replications, quick.seed, quick.mm_split) == (2, 3, "retain")
    assert planned_batches(splits, quick) == 2 * (1 + 1 + 40)
    plain = cli.t2m_settings(cli.build_parser().parse_args(["--replications", "5"]), splits)
    assert (plain.replications, plain.multimodality) == (5, False)
    assert planned_batches(splits, plain) == 5 * 2
