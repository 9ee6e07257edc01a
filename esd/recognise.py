"""CLI: name the concept of every clip of a HumanML3D-layout folder with the bundled recogniser.

    python -m esd.recognise --data_root /tmp/bandai_h3d --json /tmp/bandai_rec.json
    python -m esd.recognise --data_root data/t2m_synth --ids data/t2m_synth/test.txt --one_concept

Reads only ``new_joint_vecs/*.npy`` (no Mean/Std, splits or manifest needed) and, when present,
``labels.json``; ``--ids FILE`` keeps the clips listed there, ``--one_concept`` those labelled
with one concept. Prints one line per clip (the recognised concept and the top 3) and, with
labels, the rate per concept with a 95% Wilson interval. ``--json F`` writes
``{"clips": {id: {"predicted", "top3", "labels"}}, "per_concept": {c: {"n", "hits", "rate",
"ci95"}}, "overall": {...}}``. Evaluator: ``--evaluator FILE``, default
``checkpoints/t2m/t2m_evaluator/model/evaluator.tar``, else the bundled one in ``assets/``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from esd.common.files import atomic_write
from esd.common.runtime import DEVICE_CHOICES, pick_device
from esd.console import CONSOLE, plain_warnings, positive_int, run_cli
from esd.evaluation.instruments import load_evaluator, resolve_evaluator
from esd.evaluation.recogniser import ConceptRecogniser
from esd.evaluation.recognition import TOP_K, recognise_folder
from esd.evaluation.reference import EMBED_BATCH
from esd.models import checkpoints as ck
from esd.models.generator import shared_text_encoder


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m esd.recognise",
        description="Recognise the concept of every clip of a HumanML3D-layout folder with the "
        "evaluator's zero-shot recogniser; with labels.json, the rate per concept.",
    )
    p.add_argument("--data_root", required=True, type=Path, help="folder with new_joint_vecs/")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    p.add_argument("--ids", type=Path, help="only the clip ids listed in this file (e.g. test.txt)")
    p.add_argument(
        "--one_concept", action="store_true", help="only clips labels.json gives one concept"
    )
    p.add_argument("--evaluator", help="evaluator checkpoint (default: see module doc)")
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--batch_size", type=positive_int, default=EMBED_BATCH, help="clips per pass")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="text encoder device")
    return p


def run(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    """Load the evaluator and recogniser, recognise the folder; returns results and evaluator."""
    evaluator_path = resolve_evaluator(args.evaluator, args.checkpoints_dir)
    evaluator = load_evaluator(evaluator_path)
    encoder = shared_text_encoder(pick_device(args.device))
    recogniser = ConceptRecogniser(evaluator, lambda t: encoder.sentence_embeddings(t).cpu())
    ids = set(args.ids.read_text().split()) if args.ids is not None else None
    result = recognise_folder(
        recogniser, evaluator, args.data_root, args.batch_size, ids=ids,
        one_concept=args.one_concept,
    )  # fmt: skip
    result["evaluator"] = str(evaluator_path)
    return result, evaluator_path


def print_results(result: dict[str, Any], out: Console) -> None:
    """Per-clip lines, then the per-concept rates (if labelled)."""

    def say(line: str) -> None:  # a plain line, no Rich markup
        out.print(line, markup=False, soft_wrap=True)

    for clip_id, clip in result["clips"].items():
        mark = ""
        if clip["labels"]:
            mark = (
                "  ok"
                if clip["predicted"] in clip["labels"]
                else f"  (is {'/'.join(clip['labels'])})"
            )
        say(f"{clip_id}: {clip['predicted']}  top{TOP_K}: {', '.join(clip['top3'])}{mark}")
    if "per_concept" not in result:
        say("no labels.json: no rates")
        return
    say(f"\n{'concept':12s} {'n':>4s} {'rate':>6s}  95% interval")
    for concept, row in result["per_concept"].items():
        lo, hi = row["ci95"]
        say(f"{concept:12s} {row['n']:4d} {row['rate']:6.1%}  [{lo:.1%}, {hi:.1%}]")
    overall = result["overall"]
    lo, hi = overall["ci95"]
    say(f"{'overall':12s} {overall['n']:4d} {overall['rate']:6.1%}  [{lo:.1%}, {hi:.1%}]")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain_warnings()

    def recognise() -> dict:  # DatasetError, CheckpointError, ...: one line
        result, _ = run(args)
        if args.json is not None:
            atomic_write(args.json, json.dumps(result, indent=1) + "\n")
        return result

    result = run_cli(recognise)
    print_results(result, Console(highlight=False))
    if args.json is not None:
        CONSOLE.print(f"wrote {args.json}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
