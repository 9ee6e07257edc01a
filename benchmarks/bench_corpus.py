"""Time to generate the procedural corpus (the default 12,000 clips), and where it goes.

1. Per clip, one process: compose (action generators, blending, grounding), the 263-d features,
   captions, and the plausibility statistics, over ``--sample`` clips (median ms).
2. The whole corpus with ``--workers`` processes into a temporary folder (deleted afterwards):
   wall seconds, clips per second, frames, size on disk, and the composed share.

Usage:
    python benchmarks/bench_corpus.py                 # 12,000 clips, 2 workers
    python benchmarks/bench_corpus.py --clips 2000 --workers 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.corpus.stats import clip_stats
from esd.corpus.writer import DEFAULT_CLIPS, make_clip, write_corpus
from esd.motion.concepts import CONCEPT_NAMES


def per_clip_ms(sample: int, seed: int) -> float:
    times = []
    for i in range(sample):
        began = time.perf_counter()
        _, features, _, clip = make_clip(i, CONCEPT_NAMES[i % len(CONCEPT_NAMES)], seed)
        clip_stats(clip.joints, clip.motion, features)
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=DEFAULT_CLIPS)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--sample", type=int, default=250, help="clips for the per-clip timing")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(f"per clip (one process): {per_clip_ms(args.sample, args.seed):.1f} ms median")
    tmp = Path(tempfile.mkdtemp(prefix="bench_corpus_"))
    try:
        began = time.perf_counter()
        manifest = write_corpus(tmp / "corpus", args.clips, args.seed, args.workers)
        wall = time.perf_counter() - began
        size = folder_bytes(tmp / "corpus") / 2**20
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{manifest['clips']} clips with {args.workers} workers: {wall:.1f} s wall "
          f"({manifest['clips'] / wall:.0f} clips/s), {manifest['frames']['total']:,} frames, "
          f"{size:.0f} MiB, {manifest['composed_clips']} composed "
          f"({100 * manifest['composed_clips'] / manifest['clips']:.1f}%)")  # fmt: skip


if __name__ == "__main__":
    run_cli(main)
