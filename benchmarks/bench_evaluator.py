"""Quality of the evaluator on REAL test clips: concept recognition and retrieval ceilings.

Reads the evaluator and its reference set (the test split's real motion embeddings, captions
and labels; bundled in ``assets/t2m_evaluator/`` or trained locally) and reports:

* zero-shot concept recognition accuracy of one-concept clips (overall and per concept) and the
  share of two-concept clips recognised as one of their concepts;
* R-precision top-1/2/3 (pools of 32) and matching score of the real clips against their first
  caption: the ceiling a generated model is compared with;
* the kick row of the confusion: what kick clips are taken for, and which clips are taken for
  kicks (the target concept of the acceptance recipe).

Usage:
    python benchmarks/bench_evaluator.py [--evaluator FILE] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.evaluation import instruments as cli
from esd.evaluation.measure import retrieval_metrics
from esd.evaluation.recogniser import recognition_accuracy
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck

TARGET = "kick"


def confusion(guesses: list[str], labels: list[tuple[str, ...]], name: str) -> dict[str, dict]:
    """What one-concept clips of ``name`` are recognised as, and what is recognised as ``name``."""
    single = [(g, c[0]) for g, c in zip(guesses, labels) if len(c) == 1]
    taken_for = Counter(g for g, truth in single if truth == name)
    mistaken = Counter(truth for g, truth in single if g == name and truth != name)
    return {"recognised_as": dict(taken_for.most_common()), "false_hits": dict(mistaken)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--evaluator", help="evaluator checkpoint (default: local, then bundled)")
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    began = time.perf_counter()
    context, path = cli.load_context(args.checkpoints_dir, args.evaluator)
    reference, recogniser = context.reference, context.recogniser
    labels = [tuple(c) for c in reference.concepts]
    accuracy = recognition_accuracy(recogniser, reference.motion_emb, labels)
    captions = [caps[0] for caps in reference.captions]
    real = retrieval_metrics(
        context.text_emb(captions), reference.motion_emb, EvalSettings.full(), "real test", []
    )
    guesses = recogniser.recognise(reference.motion_emb)
    result = {
        "evaluator": str(path),
        "test_clips": len(reference),
        "recognition": accuracy,
        "real_test": real,
        TARGET: confusion(guesses, labels, TARGET),
        "seconds": round(time.perf_counter() - began, 1),
    }
    print(f"evaluator {path}: {len(reference)} real test clips")
    print(f"recognition, one-concept clips: {accuracy['single']:.3f} "
          f"({accuracy['single_count']} clips); two-concept clips recognised as one of theirs: "
          f"{accuracy['composed']:.3f} ({accuracy['composed_count']})")  # fmt: skip
    worst = sorted((v, k) for k, v in accuracy["per_concept"].items() if v is not None)[:5]
    print("lowest per concept: " + ", ".join(f"{k} {v:.2f}" for v, k in worst))
    r = real["r_precision"]
    print(f"real R-precision top-1/2/3 {r[0]:.3f} / {r[1]:.3f} / {r[2]:.3f}, matching score "
          f"{real['matching_score']:.3f}, diversity {real['diversity']:.3f}")  # fmt: skip
    print(f"{TARGET} clips recognised as {result[TARGET]['recognised_as']}; "
          f"taken for {TARGET}: {result[TARGET]['false_hits']}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    run_cli(main)
