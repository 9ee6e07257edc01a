"""Speed of the HumanML3D feature encoder and decoders (CPU, one thread).

Run: python benchmarks/bench_features.py [--repeats 300]
The encoder input is a synthetic walking-and-turning clip of FRAMES frames (no data needed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.motion.features import features_to_joints, features_to_joints_fk, joints_to_features
from esd.motion.quaternion import qrot, yaw_quaternion
from esd.motion.skeleton import NUM_JOINTS, PARENTS, TARGET_OFFSETS

CORPUS_CALLS = 12_000  # encoder calls made by the corpus generator


def synthetic_clip(frames: int, seed: int = 0) -> np.ndarray:
    """A T-posed skeleton walking forward while turning, with small joint jitter, (T, 22, 3)."""
    rng = np.random.default_rng(seed)
    pose = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        pose[j] = pose[PARENTS[j]] + TARGET_OFFSETS[j]
    t = np.arange(frames)
    clip = pose + rng.normal(0, 0.01, (frames, NUM_JOINTS, 3))  # (T, 22, 3)
    clip = qrot(yaw_quaternion(0.01 * t)[:, None], clip)  # turning
    return clip + np.stack([0.02 * t, 0.9 + 0 * t, 0.05 * t], axis=-1)[:, None]  # walking


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for frames in (60, 150, 196):
        clip = synthetic_clip(frames)
        enc = median_ms(lambda c=clip: joints_to_features(c), args.repeats)
        feats = joints_to_features(clip)
        ric = median_ms(lambda f=feats: features_to_joints(f), args.repeats)
        fk = median_ms(lambda f=feats: features_to_joints_fk(f), args.repeats)
        print(
            f"T={frames:3d}: joints_to_features {enc:.2f} ms (x{CORPUS_CALLS}: "
            f"{enc * CORPUS_CALLS / 1e3:.1f} s) | features_to_joints {ric:.2f} ms | "
            f"features_to_joints_fk {fk:.2f} ms"
        )
    batch = torch.from_numpy(
        np.stack([joints_to_features(synthetic_clip(197, s)) for s in range(32)])
    )
    ric_b = median_ms(lambda: features_to_joints(batch), max(args.repeats // 10, 5))
    fk_b = median_ms(lambda: features_to_joints_fk(batch), max(args.repeats // 10, 5))
    print(f"torch float32 batch (32, 196, 263): ric {ric_b:.1f} ms | fk {fk_b:.1f} ms")


if __name__ == "__main__":
    run_cli(main)
