"""Workbench timings: how long ``python app.py`` takes to serve, and one comparison's cost.

1. Serving: wall time from starting ``python app.py`` until its HTTP port answers (GET / gives
   200), over ``--serve_runs`` fresh processes. Models load lazily, so this is import + build +
   launch whatever model is installed.
2. Comparison: ``Workbench.compare`` of 4 prompts (target + 3 related) x 2 models (original and
   unlearned, identical noise), then the figure (``viz.figures.pair_figure``) and its JSON for
   ``Plotly.newPlot``. The first call loads the models (cold); the next ``--repeats`` are warm.
   With the bundled base model (assets/) when it is present, over an ESD run trained for a few
   steps just for this; else on tiny random models (a smoke run: the numbers say little).

Usage:
    python benchmarks/bench_workbench.py                  # bundled model when present
    python benchmarks/bench_workbench.py --tiny           # force tiny random models
    python benchmarks/bench_workbench.py --seconds 6 --steps 50 --threads 2 --repeats 3
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.evaluation.instruments import DEFAULT_RELATED, DEFAULT_TARGET
from esd.models import checkpoints as ck
from esd.models.generator import DEFAULT_STEPS, shared_text_encoder
from esd.workbench.service import (
    Workbench,
)
from esd.workbench.user_input import (
    TrainingRequest,
)
from viz.figures import pair_figure
from viz.skeleton import figure_json

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = (DEFAULT_TARGET, *DEFAULT_RELATED)  # 4 prompts
SERVE_TIMEOUT = 180.0  # seconds before a server that never answers counts as failed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def time_to_serve(checkpoints: Path, outputs: Path) -> float:
    """Seconds from starting ``python app.py`` until GET / answers 200; the server is stopped."""
    port = free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--device", "cpu"]
    command += ["--checkpoints_dir", str(checkpoints), "--output_dir", str(outputs)]
    began = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not answers(f"http://127.0.0.1:{port}/"):
            if server.poll() is not None:
                raise RuntimeError(f"app.py exited: {server.stderr.read().decode()[-500:]}")
            if time.perf_counter() - began > SERVE_TIMEOUT:
                raise RuntimeError(f"app.py did not answer within {SERVE_TIMEOUT:.0f} s")
            time.sleep(0.05)
        return time.perf_counter() - began
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def setup_models(tiny: bool, root: Path) -> tuple[Path, str]:
    """A checkpoints folder with a base model and an ESD run over it: (folder, note)."""
    checkpoints = root / "checkpoints"
    bundled = (ck.ASSETS_DIR / ck.BASE_MODEL_NAME / "model").is_dir()
    if tiny or not bundled:
        from tests.tiny import write_tiny_base

        write_tiny_base(checkpoints, shared_text_encoder("cpu"))
        why = "--tiny" if tiny else f"no bundled model in {ck.ASSETS_DIR}"
        return checkpoints, f"TINY random models ({why}): smoke numbers, not the real cost"
    return checkpoints, f"bundled base model {ck.BASE_MODEL_NAME} + a short ESD run"


def train_run(bench: Workbench) -> str:
    """A few ESD steps (the comparison costs the same whatever the training did)."""
    bench.start_training(
        TrainingRequest(iterations=2, batch_size=8, trajectories=2, ddim_steps=10, auto_suffix=True)
    )
    snap = bench.wait(3600)
    if snap.state != "finished":
        raise RuntimeError(f"training did not finish: {snap.message}")
    return snap.run_name


def time_comparison(bench: Workbench, run: str, args: argparse.Namespace) -> dict[str, float]:
    """Seconds of generate (both models) and of figure + JSON; the JSON size in KB."""
    began = time.perf_counter()
    result = bench.compare(None, run, PROMPTS, args.seconds, 0, args.steps)
    generated = time.perf_counter()
    triples = [(p.prompt, p.original.joints, p.unlearned.joints) for p in result.pairs]
    text = figure_json(pair_figure(triples))
    drawn = time.perf_counter()
    return {"generate": generated - began, "figure": drawn - generated, "kb": len(text) / 1024}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random models")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of every motion")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="DDIM steps")
    parser.add_argument("--repeats", type=int, default=3, help="warm comparisons timed")
    parser.add_argument("--serve_runs", type=int, default=2, help="app.py starts timed")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoints, note = setup_models(args.tiny, Path(tmp))
        serve = [time_to_serve(checkpoints, Path(tmp) / "out") for _ in range(args.serve_runs)]
        print(f"app.py serving (GET / answers): {', '.join(f'{s:.1f} s' for s in serve)}")
        bench = Workbench(checkpoints, Path(tmp) / "out", "cpu")
        run = train_run(bench)
        print(f"comparison: {note}")
        print(
            f"  {len(PROMPTS)} prompts x 2 models, {args.seconds:g} s, {args.steps} DDIM steps,"
            f" {args.threads} torch threads"
        )
        cold = time_comparison(bench, run, args)
        warm = [time_comparison(bench, run, args) for _ in range(args.repeats)]
        print(
            f"  cold (loads models): generate {cold['generate']:.2f} s, figure "
            f"{cold['figure']:.2f} s"
        )
        for key in ("generate", "figure"):
            values = [w[key] for w in warm]
            print(
                f"  warm {key}: median {statistics.median(values):.2f} s "
                f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
            )
        print(f"  figure JSON: {warm[-1]['kb']:.0f} KB")


if __name__ == "__main__":
    run_cli(main)
