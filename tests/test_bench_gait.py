"""benchmarks/bench_gait.py renoise on a tiny folder with the bundled model: one row per start,
the no-noise row is the VAE round trip, and only single-action test walks are used."""

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from esd.evaluation import gait
from tests.fakes import write_fake_humanml3d

_SPEC = importlib.util.spec_from_file_location(
    "bench_gait", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gait.py"
)
bench_gait = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_gait)


def test_renoise_rows_and_the_round_trip_row(tmp_path, text_encoder):
    from esd.models import checkpoints as ck
    from esd.models.generator import MotionGenerator

    root = write_fake_humanml3d(tmp_path / "data", lengths=[48, 52, 60, 44, 50])
    test = (root / "test.txt").read_text().split()
    everything = sorted(p.stem for p in (root / "new_joint_vecs").glob("*.npy"))
    labels = {i: {"concepts": ["walk"] if i in test else ["walk", "kick"]} for i in everything}
    outside = next(i for i in everything if i not in test)
    labels[outside] = {"concepts": ["walk"]}  # a single walk outside test.txt: not used
    (root / "labels.json").write_text(json.dumps(labels))
    args = argparse.Namespace(data_root=root, samples=8, steps=10, starts=[10, 0, 5], seed=0,
                              name=None, checkpoints_dir=None)  # fmt: skip
    results = bench_gait.renoise(args)
    assert list(results) == [
        "from DDIM step 0 of 10 (t = 999)",
        "from DDIM step 5 of 10 (t = 499)",
        "VAE round trip (no noise)",
    ]
    # the no-noise row: the single-action test walks, cut to the shortest, encoded and decoded
    model = MotionGenerator.from_checkpoint(
        ck.BASE_MODEL_NAME, None, str(ck.DEFAULT_CHECKPOINTS_DIR), "cpu", text_encoder
    )
    clips = [np.load(root / "new_joint_vecs" / f"{i}.npy") for i in test]
    frames = min(len(c) for c in clips) // 4 * 4
    latents = model.encode_features([c[:frames] for c in clips])
    import torch

    _, joints = model.decode(torch.stack(latents), [frames] * len(clips))
    speeds = [gait.support_speed_cm_s(j.astype(np.float64)) for j in joints]
    row = results["VAE round trip (no noise)"]["supporting-foot speed"]
    assert row.n == len(test) and row.mean == pytest.approx(np.mean(speeds), rel=1e-5)


def test_renoise_without_single_walks_is_one_line(tmp_path):
    root = write_fake_humanml3d(tmp_path / "data", lengths=[48, 52, 60, 44, 50])
    (root / "labels.json").write_text("{}")
    args = argparse.Namespace(data_root=root, samples=8, steps=10, starts=[10], seed=0,
                              name=None, checkpoints_dir=None)  # fmt: skip
    with pytest.raises(SystemExit, match="no single-action walk"):
        bench_gait.renoise(args)


def test_a_missing_model_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gait.py"
    done = subprocess.run(
        [sys.executable, str(script), "generated", "--name", "no_such_model",
         "--checkpoints_dir", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error:") and "no_such_model" in lines[0]
