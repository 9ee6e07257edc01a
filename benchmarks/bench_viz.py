"""Speed and size of the visualisation / export path on this machine.

(a) ``motion_figure`` for 8 panels x 120 frames (the workbench comparison: target + 3 related
    prompts x original/unlearned) and for 2 panels; ``figure_json`` time and payload size.
(b) BVH write + read round trip (time, file size, joint error), GLB pose / trail export,
    the animated GLB (time, size, and its structural check).

Motions: the official clip 012314 from ``../shared`` when present (cut / reversed / shifted
per panel), else the synthetic motion of the export tests.

Usage:
    python benchmarks/bench_viz.py [--repeats 5] [--frames 120]
Prints the cold first call, then the median and best of --repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.motion.skeleton import FPS
from viz.export import read_bvh, write_animated_glb, write_bvh, write_mesh
from viz.gltf_check import glb_problems
from viz.skeleton import Panel, figure_json, motion_figure

OFFICIAL = Path(__file__).resolve().parents[2] / "shared/fixtures/humanml3d/012314_joints.npy"


def base_motion(frames: int) -> tuple[np.ndarray, str]:
    """A realistic clip of at least ``frames`` frames (tiled if shorter) and its source."""
    if OFFICIAL.is_file():
        joints, source = np.load(OFFICIAL), "official clip 012314"
    else:
        from tests.test_viz_export import synthetic_motion

        joints, source = synthetic_motion(frames), "synthetic motion (../shared absent)"
    reps = -(-frames // len(joints))
    return np.concatenate([joints] * reps)[:frames], source


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, float, object]:
    """(cold ms, median ms, best ms, last result) of ``fn``."""
    start = time.perf_counter()
    result = fn()
    cold = (time.perf_counter() - start) * 1e3
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1e3)
    return cold, statistics.median(times), min(times), result


def describe(label: str, cold: float, median: float, best: float) -> str:
    return f"{label:<42} cold {cold:7.1f} ms   median {median:7.1f} ms   best {best:7.1f} ms"


def bench_figures(joints: np.ndarray, repeats: int) -> None:
    """(a): figure build + JSON for 8 and 2 panels."""
    variants = [
        joints,
        joints[::-1],
        joints + np.array([0.5, 0.0, 0.0]),
        joints[: len(joints) * 3 // 4],
    ]
    for n_panels in (8, 2):
        panels = [
            Panel(f"prompt {i // 2}", variants[i % 4], "unlearned" if i % 2 else "original")
            for i in range(n_panels)
        ]
        cold, med, best, fig = timed(lambda p=panels: motion_figure(p), repeats)
        print(describe(f"(a) motion_figure {n_panels} panels x {len(joints)} fr", cold, med, best))
        cold, med, best, text = timed(lambda f=fig: figure_json(f), repeats)
        print(describe(f"(a) figure_json {n_panels} panels", cold, med, best))
        size = len(text) / 1e3
        print(f"    payload {size:.0f} KB, {len(fig.frames)} frames, {len(fig.data)} traces")


def bench_exports(joints: np.ndarray, repeats: int) -> None:
    """(b): BVH round trip and meshes."""
    with tempfile.TemporaryDirectory() as tmp:
        bvh = Path(tmp) / "m.bvh"
        cold, med, best, _ = timed(lambda: write_bvh(bvh, joints, FPS), repeats)
        print(describe(f"(b) write_bvh {len(joints)} frames", cold, med, best))
        cold, med, best, (back, fps) = timed(lambda: read_bvh(bvh), repeats)
        print(describe("(b) read_bvh", cold, med, best))
        err = np.linalg.norm(back - joints, axis=-1) * 100  # (T, 22) cm
        print(f"    {bvh.stat().st_size / 1e3:.0f} KB, fps {fps:g}, round-trip error "
              f"mean {err.mean():.5f} cm, max {err.max():.5f} cm")  # fmt: skip
        for name, kwargs in (("pose.glb", {"frame": 0}), ("trail.glb", {"trail_every": FPS})):
            path = Path(tmp) / name
            cold, med, best, _ = timed(lambda p=path, k=kwargs: write_mesh(p, joints, **k), repeats)
            print(describe(f"(b) write_mesh {name}", cold, med, best))
            print(f"    {path.stat().st_size / 1e3:.0f} KB")
        path = Path(tmp) / "motion.glb"
        cold, med, best, _ = timed(lambda: write_animated_glb(path, joints), repeats)
        print(describe(f"(b) write_animated_glb {len(joints)} frames", cold, med, best))
        problems = glb_problems(path.read_bytes())
        print(f"    {path.stat().st_size / 1e3:.0f} KB, structural problems: {len(problems)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls after the cold one")
    parser.add_argument("--frames", type=int, default=120, help="frames per clip (6 s at 20 fps)")
    args = parser.parse_args()
    joints, source = base_motion(args.frames)
    print(f"motion: {source}, {len(joints)} frames")
    bench_figures(joints, args.repeats)
    bench_exports(joints, args.repeats)


if __name__ == "__main__":
    run_cli(main)
