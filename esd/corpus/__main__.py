"""``python -m esd.corpus``: write the procedural motion corpus, or summarise one.

    python -m esd.corpus --out data/t2m_synth --clips 12000 --seed 0 [--workers 2] [--overwrite]
    python -m esd.corpus --summary data/t2m_synth

The summary prints the clips per concept and split, the composed share, the lengths and the
plausibility statistics of ``esd.corpus.stats`` (from manifest.json and labels.json).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from esd.console import CONSOLE, StepProgress, positive_int, run_cli, seed_int
from esd.corpus.writer import DEFAULT_CLIPS, CorpusError, write_corpus
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.humanml3d import CORPUS_ROOT

DEFAULT_OUT = CORPUS_ROOT
# What each plausibility statistic means, with its unit (rows of the summary table).
STAT_LABELS = {
    "planted_skate_mm": "foot skate while planted, mean (mm/frame)",
    "planted_skate_max_mm": "foot skate while planted, worst frame (mm/frame)",
    "contact_skate_cm_s": "foot speed at HumanML3D contacts (cm/s)",
    "min_height_m": "lowest joint (m)",
    "max_speed_m_s": "fastest joint (m/s)",
    "max_accel_m_s2": "largest joint acceleration (m/s^2)",
    "hinge_violations": "frames with a knee/elbow bent the wrong way",
    "airborne_frames": "airborne frames",
    "flight_clearance_m": "foot clearance in flight (m)",
    "ballistic_error_m_s2": "pelvis |y'' + g| in flight (m/s^2)",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m esd.corpus", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write")
    p.add_argument("--clips", type=positive_int, default=DEFAULT_CLIPS, help="number of clips")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--workers", type=positive_int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument("--summary", type=Path, metavar="DIR", help="summarise an existing corpus")
    return p


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpusError(f"no {path.name} in {path.parent}: is it a generated corpus?") from None
    except (OSError, ValueError) as err:
        raise CorpusError(f"{path} is unreadable ({err}); regenerate the corpus") from None


def summary_tables(root: Path) -> list[Table]:
    """Rich tables: concepts (clips containing it, as main concept, per split), plausibility."""
    manifest = _read_json(root / "manifest.json")
    labels = _read_json(root / "labels.json")
    split_of = {}
    for split in ("train", "val", "test"):
        for line in (root / f"{split}.txt").read_text().split():
            split_of[line] = split
    counts: dict[str, Counter] = {name: Counter() for name in CONCEPT_NAMES}
    for clip, label in labels.items():
        for concept in label["concepts"]:
            counts.setdefault(concept, Counter())[split_of.get(clip, "?")] += 1
    title = (
        f"{manifest['clips']} clips ({manifest['composed_clips']} composed), "
        f"{manifest['frames']['total']} frames, seed {manifest['seed']}, {manifest['generator']}"
    )
    concepts = Table("concept", "clips", "train", "val", "test", title=title)
    for name, c in counts.items():
        concepts.add_row(name, str(sum(c.values())), str(c["train"]), str(c["val"]), str(c["test"]))
    plaus = Table("statistic", "min", "mean", "p99", "max", title="plausibility (per clip)")
    for key, row in manifest.get("plausibility", {}).items():
        if key in STAT_LABELS:
            plaus.add_row(STAT_LABELS[key], *(f"{row[k]:g}" for k in ("min", "mean", "p99", "max")))
    return [concepts, plaus]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.summary is not None:
        out = Console()
        for table in run_cli(lambda: summary_tables(args.summary)):  # CorpusError: one line
            out.print(table)
        return 0

    def write() -> dict:  # CorpusError, OSError: one line
        with StepProgress("clips", args.clips) as bar:
            return write_corpus(
                args.out, args.clips, args.seed, args.workers, args.overwrite, bar.update
            )

    interrupted = f"interrupted; {args.out} was not written (nothing partial is left)"
    manifest = run_cli(write, interrupted=interrupted)
    CONSOLE.print(
        f"wrote {manifest['clips']} clips to {args.out} in {manifest['generation_seconds']} s; "
        f"summary: python -m esd.corpus --summary {args.out}",
        soft_wrap=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
