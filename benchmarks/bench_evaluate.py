"""Wall time of ``esd.evaluate``'s engine per preset and per block, and a same-seed check.

Measures, for each preset (quick, full): the plan, every generation block (generate + embed,
timed from the progress callbacks), the metrics, the total, and motions per second. With a
baseline every block runs twice (model, then baseline); here the model is compared with itself,
which costs exactly what a real comparison costs. Then the quick preset runs again with the same
seed and the script checks that every number is identical.

Usage:
    python benchmarks/bench_evaluate.py                          # bundled base model + evaluator
    python benchmarks/bench_evaluate.py --preset quick --threads 2
    python benchmarks/bench_evaluate.py --data_root DIR         # also time building a reference
    python benchmarks/bench_evaluate.py --tiny                  # tiny random models (smoke run)
    python benchmarks/bench_evaluate.py --json OUT.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.common.runtime import pick_device
from esd.console import run_cli
from esd.evaluation import instruments as cli
from esd.evaluation.context import EvalContext
from esd.evaluation.plan import make_plan
from esd.evaluation.protocol import run_evaluation
from esd.evaluation.recogniser import ConceptRecogniser
from esd.evaluation.reference import ReferenceSet
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.motion.humanml3d import MotionFolder

RELATED = list(cli.DEFAULT_RELATED)


class StageClock:
    """on_progress callback recording when each stage finished (stages run one after another)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.done: dict[str, float] = {}
        self.items: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.done[stage] = time.perf_counter()
        self.items[stage] = total

    def durations(self) -> dict[str, float]:
        """Seconds per stage: from the end of the previous stage to its own end."""
        result, last = {}, self.began
        for stage, end in self.done.items():
            result[stage] = end - last
            last = end
        return result


class TimedSource:
    """Wraps a MotionSource and adds up the seconds spent inside generate()."""

    def __init__(self, source: Any) -> None:
        self.source, self.seconds = source, 0.0

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.source.generate(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began


def tiny_setup(device: torch.device) -> tuple[MotionGenerator, EvalContext]:
    """Tiny random generator, evaluator and fake reference (no bundled assets needed)."""
    from tests.fakes import tiny_evaluator, write_fake_humanml3d
    from tests.tiny import tiny_generator

    root = Path(tempfile.mkdtemp(prefix="bench_evaluate_"))
    lengths = [40 + (i * 37) % 150 for i in range(400)]
    splits = {"train": slice(0, 50), "test": slice(50, 400)}
    folder = MotionFolder(write_fake_humanml3d(root, lengths, splits))
    evaluator = tiny_evaluator(folder)
    encoder = shared_text_encoder(device)
    generator = tiny_generator(encoder)
    reference = ReferenceSet.build(folder, evaluator)
    recogniser = ConceptRecogniser(evaluator, lambda t: encoder.sentence_embeddings(t).cpu())
    return generator, EvalContext(evaluator, recogniser, reference)


def bundled_setup(args: argparse.Namespace, device: torch.device) -> tuple[Any, EvalContext]:
    """The real base model, evaluator and reference (or one built from --data_root)."""
    began = time.perf_counter()
    context, _ = cli.load_context(
        args.checkpoints_dir, args.evaluator, args.data_root, None, device
    )
    if args.data_root:
        print(f"reference built from {args.data_root}: {len(context.reference)} clips in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
    encoder = shared_text_encoder(device)
    generator = MotionGenerator.from_checkpoint(
        args.name, None, args.checkpoints_dir, device, encoder
    )
    return generator, context


def run_preset(
    generator: Any, context: EvalContext, settings: EvalSettings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One evaluation (model vs itself as baseline); returns metrics and timings."""
    began = time.perf_counter()
    plan = make_plan(context, cli.DEFAULT_TARGET, RELATED, settings)
    plan_s = time.perf_counter() - began
    clock, source = StageClock(), TimedSource(generator)
    metrics = run_evaluation(source, plan, context, settings, {}, source, {}, clock)
    total = time.perf_counter() - began
    motions = sum(clock.items.values())
    timings = {
        "plan_s": plan_s,
        "stages_s": clock.durations(),  # wall time per block, its metrics included
        "generate_s": source.seconds,
        "embed_and_metrics_s": total - plan_s - source.seconds,
        "total_s": total,
        "motions": motions,
        "motions_per_s": motions / max(source.seconds, 1e-9),
    }
    return metrics, timings


def report(name: str, timings: dict[str, Any]) -> None:
    print(f"\n== {name}: {timings['total_s']:.1f} s total, {timings['motions']} motions, "
          f"{timings['motions_per_s']:.1f} motions/s inside generate()")  # fmt: skip
    print(f"  {'plan':<40s} {timings['plan_s']:7.2f} s")
    for stage, seconds in timings["stages_s"].items():
        print(f"  {stage:<40s} {seconds:7.2f} s")
    print(f"  {'of which generate()':<40s} {timings['generate_s']:7.2f} s")
    print(f"  {'of which embedding, text, metrics':<40s} {timings['embed_and_metrics_s']:7.2f} s")


def without_run(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "run"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", nargs="+", default=["quick", "full"], choices=["quick", "full"])
    p.add_argument("--tiny", action="store_true", help="tiny random models, fake data")
    p.add_argument("--name", default=ck.BASE_MODEL_NAME)
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--evaluator")
    p.add_argument("--data_root")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    began = time.perf_counter()
    try:
        generator, context = tiny_setup(device) if args.tiny else bundled_setup(args, device)
    except ValueError as err:  # no bundled model / evaluator yet: say so, use --tiny
        sys.exit(f"error: {err}\n(run with --tiny for a smoke run on tiny random models)")
    setup_s = time.perf_counter() - began
    print(f"device {device}, {torch.get_num_threads()} threads; setup {setup_s:.1f} s; "
          f"reference: {len(context.reference)} clips")  # fmt: skip
    results: dict[str, Any] = {"device": str(device), "threads": torch.get_num_threads()}
    for preset in args.preset:
        settings = EvalSettings.quick() if preset == "quick" else EvalSettings.full()
        metrics, timings = run_preset(generator, context, settings)
        report(preset, timings)
        results[preset] = timings
        if preset == "quick":
            again, _ = run_preset(generator, context, settings)
            same = without_run(again) == without_run(metrics)
            print(f"  same seed, same numbers: {same}")
            results["deterministic"] = same
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    run_cli(main)
