"""Does the procedural world transfer to real motion? An evaluator trained on a generated corpus
alone recognises the held-out half of the real Bandai-Namco takes.

Steps of ``run`` (each timed):

1. generate a corpus (``python -m esd.corpus --out OUT/corpus --clips N --seed S``);
2. train an evaluator on it with the project's pretraining (``python -m esd.pretrain evaluator
   --data_root OUT/corpus --checkpoints_dir OUT/checkpoints --evaluator_steps K``);
3. run the recogniser with that evaluator (``python -m esd.recognise --evaluator ...``) on one
   half of an imported pack (a view folder of links, ``OUT/<half>``) and print the rate per
   concept with its 95% Wilson interval.

``--evaluator FILE`` skips steps 1-2 and measures that evaluator (e.g. the bundled one).
``--mix_calibration N`` adds the calibration half of the pack (each clip listed N times in
train.txt) to the corpus the evaluator trains on (``esd.pretrain.mixed``: OUT/mixed_xN, the
evaluator in OUT/checkpoints_mixed_xN); the held-out half never enters, so the row "evaluator
trained on corpus + real calibration clips" is measured with the same split and settings.

The split is by take and deterministic (``split_takes``): file names are
``dataset-{1|2}_{content}_{style}_{take}``; within each (dataset, content) the takes are sorted
by (style, take) and alternate calibration, held-out, calibration, ... so every content (and so
every concept) is split about 50/50 and every style with two or more takes lands in both halves.
Only the calibration half may be looked at while tuning the generator (``bench_mocap.py --ids
OUT/calibration.txt``, or ``run --half calibration``); the held-out half is for the final table.
Nothing derived from the pack is written outside ``--out`` (the pack is CC BY-NC 4.0: data and
weights made from it never go into ``assets/``; the corpus and the evaluator made here are not
made from it).

Usage:
    python -m esd.import_bvh --bvh_dir ../shared/fixtures/mocap/bandai/bvh \\
        --labels ../shared/fixtures/mocap/bandai/labels.csv --out /tmp/bandai_h3d
    python benchmarks/bench_transfer.py split --mocap /tmp/bandai_h3d --out /tmp/transfer
    python benchmarks/bench_transfer.py run --mocap /tmp/bandai_h3d --out /tmp/transfer \\
        --clips 3000 --seed 0 --evaluator_steps 800
    python benchmarks/bench_transfer.py run --mocap /tmp/bandai_h3d --out /tmp/transfer_bundled \\
        --evaluator assets/t2m_evaluator/model/evaluator.tar        # the bundled evaluator
    python benchmarks/bench_transfer.py run --mocap /tmp/bandai_h3d --out /tmp/transfer \\
        --clips 3000 --seed 0 --evaluator_steps 800 --reuse --mix_calibration 8   # + real clips

Motion data: Bandai-Namco-Research-Motiondataset, (c) 2022 Bandai Namco Research Inc., licensed
under CC BY-NC 4.0 (https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.evaluation.recognition import wilson_interval
from esd.motion.humanml3d import FEATURES_DIR, JOINTS_DIR, LABELS_FILE
from esd.pretrain.licences import PROVENANCE_FILE
from esd.pretrain.mixed import MixSettings, build_mixed_folder

ROOT = Path(__file__).resolve().parents[1]
HALVES = ("calibration", "heldout")
TAKE_NAME = re.compile(r"^dataset-(\d)_([a-z-]+)_([a-z-]+)_(\d+)$")
EVALUATOR_FILE = Path("t2m") / "t2m_evaluator" / "model" / "evaluator.tar"  # under checkpoints


@dataclass(frozen=True)
class Take:
    """One real take, read from its file name."""

    dataset: str
    content: str
    style: str
    take: str


def parse_take(clip_id: str) -> Take:
    match = TAKE_NAME.match(clip_id)
    if match is None:
        raise ValueError(f"{clip_id!r} is not a dataset-N_content_style_take name")
    return Take(*match.groups())


def split_takes(clip_ids: Iterable[str]) -> dict[str, str]:
    """{clip id: "calibration" | "heldout"}: per (dataset, content), takes sorted by (style, take)
    alternate between the halves, starting with calibration."""
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for clip_id in clip_ids:
        take = parse_take(clip_id)
        groups[(take.dataset, take.content)].append((take.style, take.take, clip_id))
    halves = {}
    for members in groups.values():
        for i, (_, _, clip_id) in enumerate(sorted(members)):
            halves[clip_id] = HALVES[i % 2]
    return halves


def write_view(source: Path, dest: Path, ids: list[str]) -> None:
    """A HumanML3D-layout folder of links to ``ids`` of ``source`` with their labels."""
    labels = json.loads((source / LABELS_FILE).read_text())
    for sub in (JOINTS_DIR, FEATURES_DIR):
        (dest / sub).mkdir(parents=True, exist_ok=True)
        for clip_id in ids:
            link = dest / sub / f"{clip_id}.npy"
            if not link.is_symlink():
                link.symlink_to((source / sub / f"{clip_id}.npy").resolve())
    (dest / LABELS_FILE).write_text(json.dumps({i: labels[i] for i in ids if i in labels}))
    (dest / "all.txt").write_text("".join(f"{i}\n" for i in ids))


def write_split(mocap: Path, out: Path) -> dict[str, list[str]]:
    """OUT/calibration.txt, OUT/heldout.txt and one view folder per half; the ids per half."""
    ids = sorted(p.stem for p in (mocap / FEATURES_DIR).glob("*.npy"))
    halves = split_takes(ids)
    out.mkdir(parents=True, exist_ok=True)
    by_half = {half: [i for i in ids if halves[i] == half] for half in HALVES}
    for half, members in by_half.items():
        (out / f"{half}.txt").write_text("".join(f"{i}\n" for i in members))
        write_view(mocap, out / half, members)
    return by_half


def concept_counts(mocap: Path, by_half: dict[str, list[str]]) -> list[str]:
    labels = json.loads((mocap / LABELS_FILE).read_text())
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(HALVES, 0))
    for half, members in by_half.items():
        for clip_id in members:
            for concept in labels.get(clip_id, {}).get("concepts", []) or ["(none)"]:
                counts[concept][half] += 1
    lines = [f"{'concept':12s} {'calibration':>11s} {'heldout':>8s}"]
    for concept, row in sorted(counts.items()):
        lines.append(f"{concept:12s} {row['calibration']:11d} {row['heldout']:8d}")
    return lines


def timed(label: str, command: list[str]) -> float:
    """Run a project command from the repository root; its wall seconds (stops on failure)."""
    print(f"$ {' '.join(command)}", flush=True)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"{label} failed (exit {done.returncode})")
    print(f"{label}: {seconds / 60:.1f} min", flush=True)
    return seconds


def rate_lines(result: dict) -> list[str]:
    """Per-concept rates with 95% Wilson intervals, then the overall rate."""
    lines = [f"{'concept':12s} {'n':>4s} {'rate':>6s}  95% interval"]
    rows = dict(result.get("per_concept", {}))
    if "overall" in result:
        rows["overall"] = result["overall"]
    for concept, row in rows.items():
        lo, hi = wilson_interval(row["hits"], row["n"])
        lines.append(f"{concept:12s} {row['n']:4d} {row['rate']:6.1%}  [{lo:.1%}, {hi:.1%}]")
    return lines


def confusions(result: dict) -> list[str]:
    """Per concept, what its missed clips were called (the diagnosis of a low rate)."""
    called: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for clip in result["clips"].values():
        for concept in clip["labels"]:
            if clip["predicted"] not in clip["labels"]:
                called[concept][clip["predicted"]] += 1
    return [
        f"{concept:12s} missed as {_most_first(row)}" for concept, row in sorted(called.items())
    ]


def by_content(result: dict) -> list[str]:
    """Per take content (the file name's, e.g. walk-turn-left), what its clips were called:
    which kind of take a concept's misses come from."""
    called: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for clip_id, clip in result["clips"].items():
        match = TAKE_NAME.match(clip_id)
        if match is not None:
            called[match.group(2)][clip["predicted"]] += 1
    return [f"{content:20s} called {_most_first(row)}" for content, row in sorted(called.items())]


def _most_first(counts: dict[str, int]) -> str:
    """ "spin 2, walk 1": the counts, largest first (ties keep their order)."""
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def mix_calibration(mocap: Path, corpus: Path, out: Path, repeat: int, mixed: Path) -> float:
    """OUT/mixed_xN: the corpus plus the calibration half (N times), never the held-out half."""
    began = time.monotonic()
    provenance = build_mixed_folder(
        MixSettings(
            procedural=corpus, mocap=(mocap,), out=mixed, mocap_ids=out / "calibration.txt",
            exclude_ids=out / f"{HALVES[1]}.txt", mocap_repeat=repeat, mocap_val=False,
            overwrite=True,
        ),
        notify=print,
    )  # fmt: skip
    real = provenance["sources"][1]
    print(f"mixed folder {mixed}: {real['clips']['train']} real calibration clips x{repeat} = "
          f"{real['train_entries']} of {provenance['splits']['train']} train entries "
          f"({real['licence']['name']}: local only)")  # fmt: skip
    return time.monotonic() - began


def run(args: argparse.Namespace) -> None:
    out = args.out.resolve()
    by_half = write_split(args.mocap, out)
    print("\n".join(concept_counts(args.mocap, by_half)))
    seconds: dict[str, float] = {}
    evaluator = args.evaluator
    if evaluator is None:
        corpus, checkpoints = out / "corpus", out / "checkpoints"
        if not (args.reuse and (corpus / "manifest.json").is_file()):
            seconds["corpus"] = timed(
                "corpus",
                ["esd.corpus", "--out", str(corpus), "--clips", str(args.clips),
                 "--seed", str(args.seed), "--workers", str(args.workers), "--overwrite"],
            )  # fmt: skip
        data = corpus
        if args.mix_calibration:
            data = out / f"mixed_x{args.mix_calibration}"
            checkpoints = out / f"checkpoints_mixed_x{args.mix_calibration}"
            if not (args.reuse and (data / PROVENANCE_FILE).is_file()):
                seconds["mix"] = mix_calibration(
                    args.mocap, corpus, out, args.mix_calibration, data
                )
        evaluator = checkpoints / EVALUATOR_FILE
        if not (args.reuse and evaluator.is_file()):
            seconds["evaluator"] = timed(
                "evaluator",
                ["esd.pretrain", "evaluator", "--data_root", str(data),
                 "--checkpoints_dir", str(checkpoints), "--evaluator_steps",
                 str(args.evaluator_steps), "--seed", str(args.seed), "--threads",
                 str(args.threads), "--device", "cpu", "--overwrite"],
            )  # fmt: skip
    report = out / f"recognised_{args.half}.json"
    seconds["recognise"] = timed(
        "recognise",
        ["esd.recognise", "--data_root", str(out / args.half), "--evaluator", str(evaluator),
         "--device", "cpu", "--json", str(report)],
    )  # fmt: skip
    result = json.loads(report.read_text())
    trained_on = (
        f" (trained on the corpus + the calibration half x{args.mix_calibration})"
        if args.mix_calibration and args.evaluator is None
        else ""
    )
    print(f"\nreal {args.half} takes recognised by {evaluator}{trained_on}:")
    print("\n".join(rate_lines(result)))
    print("\n".join(confusions(result)))
    print("\n".join(by_content(result)))
    print("wall: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in seconds.items()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    split = sub.add_parser("split", help="write the calibration / held-out split of a pack")
    go = sub.add_parser("run", help="corpus -> evaluator -> recognition of real takes")
    for p in (split, go):
        p.add_argument("--mocap", type=Path, required=True, help="imported pack (import_bvh)")
        p.add_argument("--out", type=Path, required=True, help="work folder (split, corpus, ...)")
    go.add_argument("--clips", type=int, default=3000, help="corpus clips")
    go.add_argument("--seed", type=int, default=0, help="corpus and training seed")
    go.add_argument("--workers", type=int, default=2, help="corpus worker processes")
    go.add_argument("--evaluator_steps", type=int, default=2500, help="evaluator training steps")
    go.add_argument("--threads", type=int, default=2, help="torch CPU threads for training")
    go.add_argument("--evaluator", type=Path, help="measure this evaluator (no corpus, training)")
    go.add_argument("--half", choices=HALVES, default="heldout", help="which real half")
    go.add_argument("--reuse", action="store_true", help="keep OUT's corpus and evaluator")
    go.add_argument(
        "--mix_calibration",
        type=int,
        default=0,
        metavar="N",
        help="also train on the calibration half, each clip N times (0: corpus only)",
    )
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.command == "run" and args.mix_calibration < 0:
        raise SystemExit("error: --mix_calibration must be 0 or more")
    if args.command == "run" and args.mix_calibration and args.half != HALVES[1]:
        raise SystemExit("error: --mix_calibration trains on the calibration half; measure heldout")
    if args.command == "split":
        by_half = write_split(args.mocap, args.out)
        print("\n".join(concept_counts(args.mocap, by_half)))
        print(f"wrote {args.out}/calibration.txt, heldout.txt and a view folder per half")
        return
    run(args)


if __name__ == "__main__":
    run_cli(main)
