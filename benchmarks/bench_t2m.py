"""Cost of the T2M protocol (``python -m esd.evaluate --evaluator t2m``) per batch of 32, and
what a full 20-replication run needs.

Measured here, each as the median and range of ``--repeats`` runs with the device, the torch
threads and the machine's load (``os.getloadavg``) before and after:

(a) the T2M evaluator alone at its REAL size (the three networks built from the tensor shapes of
    ``../shared/fixtures/salad/manifests/t2m_evaluator_text_mot_match.json``, random weights:
    speed does not depend on the values): one protocol batch = the text embeddings of 32
    captions (22 tokens), the ground truth's and the generated motions' embeddings (32 x 196
    frames, the lengths of a typical batch); with ``--checkpoints_dir DIR`` also the evaluator
    loaded from ``DIR/t2m/text_mot_match`` and ``DIR/t2m/Comp_v6_KLD005`` (``load_t2m_evaluator``;
    e.g. the fixtures' reduced one, or the real one where it is present), at its own sizes;
(b) generating one batch of 32 with the bundled model (``assets/``, its sampler: 50 DDIM steps,
    CFG 2.5) through the protocol's callback (``generation_callback``);
(c) the same with SALAD's model at its real size, random weights (``bench_salad.build_generator``:
    the real-size denoiser and VAE, a real-size random CLIP text transformer), 50 steps, CFG 7.5.

Extrapolated (labelled as such): a full run = batches x seconds per batch (generation +
evaluator), with ``--items`` test items (4,384 ids minus the length filter, plus captioned
ranges: about 4.4k), so ``items // 32`` batches per pass:

* the papers' numbers: one model, the test split, 20 replications;
* an unlearning run (``--evaluator t2m`` defaults): the model and its baseline, 20 replications,
  the test split + forget + retain (together one more pass) + the related splits
  (``--related_items``, an assumption: their caption counts in HumanML3D are not known here);
* the same with ``--no_test_split``; multimodality (``--mm``) adds 100 calls of 30 motions per
  replication and model.

GPU: no GPU is measured here. Per batch, the floating-point work is counted
(``torch.utils.flop_counter``: one text encoding, one guided denoiser step x 50, one VAE decode;
the evaluator's analytically, its GRUs dominate) and so are the operators launched (every aten
call, as eager PyTorch launches them). A GPU batch is then estimated as ``FLOPs / throughput +
operators x launch latency`` for two ASSUMED cards of performance: optimistic (200 TFLOP/s
sustained, 5 us per operator) and pessimistic (50 TFLOP/s, 20 us); an H100's dense bf16 peak is
~990 TFLOP/s, which models this small never reach, and small batches are bound by launches.
These GPU lines are extrapolations, not measurements.

Usage:
    python benchmarks/bench_t2m.py                     # CPU here (a few minutes: SALAD is slow)
    python benchmarks/bench_t2m.py --skip_salad --repeats 2
    python benchmarks/bench_t2m.py --skip_salad --repeats 1 \
        --checkpoints_dir ../shared/fixtures/salad/checkpoints    # + the fixtures' evaluator
    python benchmarks/bench_t2m.py --repeats 1 --salad_warmup 0 \
        --checkpoints_dir ../shared/fixtures/salad/checkpoints    # smallest run with (c)
    python benchmarks/bench_t2m.py --json t2m_cost.json

The machine's load matters far more than the run-to-run spread: on the 2-core reference CPU the
bundled batch took 5.1 s idle (load 0.5) and 50 s with other jobs running (load 3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_salad import build_generator as build_salad
from benchmarks.bench_salad import device_name
from esd.common.files import atomic_write
from esd.common.runtime import pick_device
from esd.console import run_cli
from esd.evaluation.t2m.evaluator import T2MEvaluator, load_t2m_evaluator
from esd.evaluation.t2m.generation import generation_callback
from esd.evaluation.t2m.networks import T2MSizes, build_networks
from esd.models.generator import MotionGenerator

MANIFEST = Path(__file__).resolve().parents[2] / "shared/fixtures/salad/manifests"
EVALUATOR_MANIFEST = "t2m_evaluator_text_mot_match.json"
BATCH, TOKENS, FRAMES = 32, 22, 196  # protocol batch, padded caption tokens, padded frames
REPLICATIONS = 20  # the papers' protocol
MM_CALLS = 100  # multimodality: generation calls of 30 motions per replication and model
GPU_ASSUMPTIONS = {"optimistic": (200.0, 5e-6), "pessimistic": (50.0, 20e-6)}  # TFLOP/s, s/op
CAPTIONS = ("a person walks forward and waves", "someone jumps up twice", "a man kicks high",
            "a person sits down slowly")  # fmt: skip


def real_sizes(manifest_dir: Path) -> T2MSizes:
    """The real evaluator's sizes from the manifest's tensor shapes (T2MSizes.from_state)."""
    manifest = json.loads((manifest_dir / EVALUATOR_MANIFEST).read_text(encoding="utf-8"))
    states = {
        net: {t["key"]: torch.empty(t["shape"]) for t in manifest[net]["tensors"]}
        for net in ("movement_encoder", "text_encoder", "motion_encoder")
    }
    return T2MSizes.from_state(states)


def batch_lengths(seed: int = 0) -> np.ndarray:
    """m_lens of a typical batch: 32 multiples of 4 in [40, 196], the longest 196 (32,)."""
    lengths = np.random.default_rng(seed).integers(40, FRAMES + 1, BATCH) // 4 * 4
    lengths[0] = FRAMES
    return lengths.astype(np.int64)


def caption_lengths(seed: int = 1) -> np.ndarray:
    """cap_lens of a typical batch: 32 token counts in [5, 22], longest first (32,)."""
    return np.sort(np.random.default_rng(seed).integers(5, TOKENS + 1, BATCH))[::-1].copy()


def evaluator_batch(
    sizes: T2MSizes, device: torch.device, evaluator: T2MEvaluator | None = None
) -> Callable[[], object]:
    """One protocol batch through ``evaluator`` (default: random weights at ``sizes``): texts,
    ground truth, generated."""
    if evaluator is None:
        torch.manual_seed(0)
        zeros, ones = np.zeros(263, np.float32), np.ones(263, np.float32)
        evaluator = T2MEvaluator(build_networks(sizes), sizes, zeros, ones, device=device)
    g = torch.Generator().manual_seed(0)
    words = torch.randn(BATCH, TOKENS, sizes.word_dim, generator=g)
    pos = torch.zeros(BATCH, TOKENS, sizes.pos_dim)
    pos[..., 0] = 1.0
    cap_lens = caption_lengths()
    motions = torch.randn(2, BATCH, FRAMES, 263, generator=g).numpy()
    m_lens = batch_lengths()

    def run() -> None:
        evaluator.co_embeddings(words, pos, cap_lens, motions[0], m_lens)
        evaluator.motion_embeddings(motions[1], m_lens)

    return run


def gru_flops(steps: int, inputs: int, hidden: int) -> int:
    """A bidirectional GRU's multiply-adds x 2 over ``steps`` packed steps (all rows together):
    3 gates x (input + hidden) x hidden per step and direction."""
    return 2 * 2 * 3 * (inputs + hidden) * hidden * steps


def evaluator_flops(sizes: T2MSizes) -> int:
    """Analytic FLOPs of one protocol batch: the convolutions on the padded 196 frames, the GRUs
    on the packed steps of the batch's lengths (m_len / 4, cap_len), the input projections."""
    conv = 2 * BATCH * (FRAMES // 2) * sizes.movement_input * sizes.movement_hidden * 4
    conv += 2 * BATCH * (FRAMES // 4) * sizes.movement_hidden * sizes.movement_latent * 4
    motion_steps, text_steps = int((batch_lengths() // 4).sum()), int(caption_lengths().sum())
    motion = gru_flops(motion_steps, sizes.motion_hidden, sizes.motion_hidden)
    motion += 2 * BATCH * (FRAMES // 4) * sizes.movement_latent * sizes.motion_hidden
    text = gru_flops(text_steps, sizes.text_hidden, sizes.text_hidden)
    text += 2 * BATCH * TOKENS * sizes.word_dim * sizes.text_hidden
    return 2 * (conv + motion) + text  # ground truth and generated motions, one text pass


def generation_batch(generator: MotionGenerator) -> Callable[[], object]:
    """One protocol batch of 32 through ``generation_callback`` at the family's sampler."""
    sizes = T2MSizes(259, 8, 8, 300, 15, 8, 8, 8)  # only the meta statistics are used
    zeros, ones = np.zeros(263, np.float32), np.ones(263, np.float32)
    scorer = T2MEvaluator(build_networks(sizes), sizes, zeros, ones)
    generate = generation_callback(generator, scorer)
    texts = [CAPTIONS[i % len(CAPTIONS)] + f" {i}" for i in range(BATCH)]  # no text cache hits
    return lambda: generate(texts, batch_lengths(), 0)


class _OpCounter(TorchDispatchMode):
    """Counts the aten operators a call runs (each one kernel launch or more on a GPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def _work(fn: Callable[[], object]) -> tuple[int, int]:
    """(FLOPs, aten operators) of one call (both counted in the same call)."""
    with FlopCounterMode(display=False) as counter, _OpCounter() as ops:
        fn()
    return int(counter.get_total_flops()), ops.count


@torch.no_grad()
def generation_work(generator: MotionGenerator) -> dict[str, int]:
    """FLOPs and operators of one batch: text (cond + null, captions never seen before, as in
    the protocol), one guided step (the sampler's one 2B forward: 2 x the FLOPs of B, the
    operators of one call) x steps, decode."""
    lengths = [int(n) for n in batch_lengths()]
    texts = [CAPTIONS[i % len(CAPTIONS)] + f" {i} work" for i in range(BATCH)]
    mask = generator.latent_mask(lengths)
    x_t = generator.initial_noise(BATCH, mask.shape[1], 0)
    text_flops, text_ops = _work(lambda: generator.encode_prompts(texts))
    cond, _ = generator.encode_prompts(texts)
    t = torch.full((BATCH,), 500, device=generator.device)
    step_flops, step_ops = _work(lambda: generator.denoise_fn(mask)(x_t, t, cond))
    decode_flops, decode_ops = _work(lambda: generator.decode(x_t, lengths))
    steps = generator.sampler.steps
    return {
        "text_flops": text_flops,
        "step_flops": 2 * step_flops,
        "decode_flops": decode_flops,
        "flops": text_flops + steps * 2 * step_flops + decode_flops,
        "ops": text_ops + steps * step_ops + decode_ops,
    }


@torch.no_grad()
def evaluator_ops(sizes: T2MSizes) -> int:
    """Operators of one protocol batch through the evaluator (the GRU is one each)."""
    run = evaluator_batch(sizes, torch.device("cpu"))
    with _OpCounter() as ops:
        run()
    return ops.count


def timed(
    fn: Callable[[], object], repeats: int, device: torch.device, warmup: int = 1
) -> dict[str, Any]:
    """Seconds of ``repeats`` calls after ``warmup`` untimed calls, and the 1-minute load around
    them."""
    for _ in range(warmup):
        fn()
    load_before, times = os.getloadavg()[0], []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return {"seconds": times, "load_1min": [load_before, os.getloadavg()[0]]}


def show(label: str, result: dict[str, Any], context: str) -> float:
    """One line: median and range, repeats, device, threads, load; returns the median."""
    times = result["seconds"]
    median = statistics.median(times)
    low, high = result["load_1min"]
    print(f"{label}: median {median:.2f} s per batch of {BATCH}, range {min(times):.2f}-"
          f"{max(times):.2f} ({len(times)} runs) | {context}, load {low:.1f} -> {high:.1f}",
          flush=True)  # fmt: skip
    return median


def duration(seconds: float) -> str:
    """12 s, 3.4 min, 5.6 h or 7.8 days."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def run_batches(args: argparse.Namespace) -> dict[str, int]:
    """Batches of 32 of each run of the module docstring."""
    per_pass, related = args.items // BATCH, args.related_items // BATCH
    return {
        "papers (1 model, test split)": REPLICATIONS * per_pass,
        "unlearning (2 models, test + forget/retain + related)": 2
        * REPLICATIONS
        * (2 * per_pass + related),
        "unlearning --no_test_split": 2 * REPLICATIONS * (per_pass + related),
        "multimodality adds (2 models)": 2 * REPLICATIONS * MM_CALLS,
    }


def extrapolate(label: str, per_batch: float, args: argparse.Namespace, where: str) -> dict:
    """Every run at ``per_batch`` seconds per batch (an extrapolation), printed and returned."""
    print(f"  EXTRAPOLATED: {label} {where}, {per_batch:.3g} s per batch ({args.items // BATCH} "
          f"batches per pass of {args.items} items, {REPLICATIONS} replications):")  # fmt: skip
    out = {}
    for name, batches in run_batches(args).items():
        out[name] = batches * per_batch
        print(f"    {name}: {batches:,} batches -> {duration(out[name])}", flush=True)
    return out


def measure_model(
    name: str, generator: MotionGenerator, context: str, repeats: int, warmup: int
) -> dict[str, Any]:
    """Timing and work of one batch of generation."""
    steps, guidance = generator.sampler.steps, generator.sampler.guidance
    result = timed(generation_batch(generator), repeats, generator.device, warmup)
    median = show(f"({name}) generation, {steps} steps, CFG {guidance}", result, context)
    work = generation_work(generator)
    print(f"  {name}: {work['flops'] / 1e12:.2f} TFLOP and {work['ops']:,} operators per batch "
          f"(text {work['text_flops'] / 1e9:.0f} GFLOP, one guided step "
          f"{work['step_flops'] / 1e9:.0f} GFLOP x {steps}, decode "
          f"{work['decode_flops'] / 1e9:.0f} GFLOP)", flush=True)  # fmt: skip
    return {"timing": result, "median_s": median, "work": work}


def gpu_batch_seconds(flops: int, ops: int, tflops: float, per_op_s: float) -> float:
    """ASSUMED GPU seconds of one batch: FLOPs / throughput + operators x launch latency."""
    return flops / (tflops * 1e12) + ops * per_op_s


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of (a) and (b)")
    p.add_argument("--salad_repeats", type=int, default=1, help="timed runs of (c)")
    p.add_argument("--skip_salad", action="store_true", help="skip (c) (minutes on a CPU)")
    p.add_argument("--salad_warmup", type=int, default=1, help="untimed runs of (c) first (0: "
                   "the first call is timed; SALAD's batch takes minutes on a CPU)")  # fmt: skip
    p.add_argument("--items", type=int, default=4400, help="test items per pass (~4.4k)")
    p.add_argument("--related_items", type=int, default=600, help="items of all related splits "
                   "together (an assumption)")  # fmt: skip
    p.add_argument("--manifests", type=Path, default=MANIFEST, help="the fixtures' manifests")
    p.add_argument("--checkpoints_dir", type=Path, help="also time the evaluator loaded from "
                   "DIR/t2m (SALAD's layout), at its own sizes")  # fmt: skip
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    context = f"{device_name(device)}, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} | {context} | load "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)  # fmt: skip
    sizes = real_sizes(args.manifests)
    results: dict[str, Any] = {"context": context, "sizes": sizes.__dict__}
    timing = timed(evaluator_batch(sizes, device), args.repeats, device)
    evaluator_s = show("(a) T2M evaluator, real size", timing, context)
    ev_flops, ev_ops = evaluator_flops(sizes), evaluator_ops(sizes)
    print(f"  evaluator: {ev_flops / 1e9:.0f} GFLOP (analytic) and {ev_ops} operators per batch",
          flush=True)  # fmt: skip
    results["evaluator"] = {"timing": timing, "median_s": evaluator_s, "flops": ev_flops,
                            "ops": ev_ops}  # fmt: skip
    if args.checkpoints_dir:
        loaded = load_t2m_evaluator(args.checkpoints_dir, device=device)
        timing = timed(evaluator_batch(loaded.sizes, device, loaded), args.repeats, device)
        widths = "/".join(str(v) for v in loaded.sizes.__dict__.values())
        label = f"(a') T2M evaluator loaded from {args.checkpoints_dir} (sizes {widths})"
        results["loaded_evaluator"] = {"timing": timing, "sizes": loaded.sizes.__dict__,
                                       "median_s": show(label, timing, context),
                                       "flops": evaluator_flops(loaded.sizes)}  # fmt: skip
        print(f"  loaded evaluator: {evaluator_flops(loaded.sizes) / 1e9:.2f} GFLOP (analytic) "
              "per batch; not used in the extrapolations below", flush=True)  # fmt: skip
    models = {"bundled": (lambda: MotionGenerator.from_checkpoint(device=device), args.repeats, 1)}
    if not args.skip_salad:
        models["SALAD real size"] = (
            lambda: build_salad(device),
            args.salad_repeats,
            args.salad_warmup,
        )
    for name, (build, repeats, warmup) in models.items():
        measured = measure_model(name, build(), context, repeats, warmup)
        per_batch = measured["median_s"] + evaluator_s
        measured["cpu_runs_s"] = extrapolate(name, per_batch, args, f"on this {context}")
        flops, ops = measured["work"]["flops"] + ev_flops, measured["work"]["ops"] + ev_ops
        measured["gpu_runs_s"] = {}
        for case, (tflops, per_op) in GPU_ASSUMPTIONS.items():
            seconds = gpu_batch_seconds(flops, ops, tflops, per_op)
            where = f"on an ASSUMED {case} GPU ({tflops:.0f} TFLOP/s, {per_op * 1e6:.0f} us/op)"
            measured["gpu_runs_s"][case] = extrapolate(name, seconds, args, where)
        results[name] = measured
    if args.json:
        atomic_write(args.json, json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
