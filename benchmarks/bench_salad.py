"""Speed of ESD and sampling on SALAD's model at its REAL size, with random weights.

SALAD's released ``t2m_denoiser_vpred_vaegelu`` cannot be downloaded here, so its networks are
built at the real size from the option values in ../shared/docs/SALAD_COMPAT.md 2.2-2.3 (the
``SaladDenoiserConfig`` / ``SaladVAEConfig`` defaults: D 256, 8 heads, 5 layers, FFN 1024; VAE
latent 32, GELU) and checked against the real-size manifests' totals. Speed does not depend on
the weights' values. The text encoder is CLIP ViT-B/32's text transformer at its real size with
random weights (``transformers.CLIPTextConfig`` defaults: width 512, 12 layers, 8 heads, vocab
49408; eager attention, as the project runs CLIP); prompts become pseudo token ids (BOS, one id
per word, EOS, 77 tokens), so its cost is the real one. It never caches: every sampling call
pays one CLIP pass for its prompts and one for the "" prompts (the project's encoder caches both).

Measured, each as the median and range of ``--repeats`` runs (``--long-repeats`` for the long
ones), each line with the device, the torch threads and the machine's load (``os.getloadavg``):

(a) ESD with esd-x (the 40 cross-attention W{q,k,v,o} tensors, 1,315,840 parameters):
    * one iteration at batch 8 and 32: the teacher's predictions come precomputed with the
      batch (the pool), so an iteration is the student's forward + backward + Adam step
      (``esd.erasure.objective.esd_loss``), on x_t of the pool's longest trajectory (6 s,
      30 latent tokens x 7 parts, the ESDConfig default lengths 2-6 s padded to it);
    * building the pool: the teacher's guided DDIM trajectories (50 steps, CFG 3.0, both
      predictions recorded; ``esd.erasure.sources.teacher_trajectories``), per trajectory, for
      ``--pool-chunk`` trajectories sampled together (the pool samples 32 at once).
(b) sampling 1 and 8 motions of 196 frames (49 latent tokens), 50 DDIM steps, CFG 7.5
    (``MotionGenerator.generate``: CLIP, the sampler, the VAE decode, joints).

Usage:
    python benchmarks/bench_salad.py                         # CPU here, cuda when present
    python benchmarks/bench_salad.py --threads 1 --repeats 3 --long-repeats 2
    python benchmarks/bench_salad.py --device cuda --json salad_speed.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.common.runtime import pick_device
from esd.console import run_cli
from esd.erasure.config import ESDConfig
from esd.erasure.objective import esd_loss
from esd.erasure.parameters import freeze, prepare_student
from esd.erasure.sources import XtBatch, teacher_trajectories, trajectory_lengths_max
from esd.models.diffusion import ddim_timesteps
from esd.models.generator import MotionGenerator
from esd.models.salad.denoiser import SaladDenoiser, SaladDenoiserConfig
from esd.models.salad.family import SALAD
from esd.models.salad.folder import salad_schedule
from esd.models.salad.vae import SaladVAE, SaladVAEConfig
from esd.models.text.batch import TextBatch
from esd.motion.skeleton import FEATURE_DIM, MAX_FRAMES

REAL_DENOISER_NUMEL = 11_174_176  # manifests/salad_denoiser_*.json: 9,894,176 + the pe table
REAL_VAE_NUMEL = 168_223  # manifests/salad_vae_t2m_vae_gelu.json
ESD_X_TENSORS, ESD_X_PARAMETERS = 40, 1_315_840  # SALAD_COMPAT.md 7.2
CONTEXT, BOS, EOS = 77, 49406, 49407  # CLIP's token window and special ids
ESD_BATCHES = (8, 32)  # x_t samples per ESD iteration
SAMPLE_COUNTS = (1, 8)  # motions per sampling call
CONCEPT = "a person kicking"  # the erased prompt (its text states are encoded once)
PROMPTS = ("a person walks forward and waves", "someone jumps up twice", "a man kicks",
           "a person sits down slowly", "a woman turns around", "a person throws a ball",
           "someone crawls on the floor", "a person dances in place")  # fmt: skip


class RandomClip:
    """CLIP ViT-B/32's text transformer at its real size, random weights, no cache:
    ``encode(prompts)`` -> TextBatch (B, 77, 512) with the BOS..EOS mask, pads zeroed."""

    def __init__(self, device: torch.device) -> None:
        from transformers import CLIPTextConfig, CLIPTextModel  # slow import: on demand

        torch.manual_seed(0)
        model = CLIPTextModel._from_config(CLIPTextConfig(), attn_implementation="eager")
        self.model = model.to(device).eval().requires_grad_(False)
        self.device = device
        self.parameters = sum(p.numel() for p in model.parameters())

    def token_ids(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pseudo ids (B, 77): BOS, one id per word (a hash), EOS, EOS padding; mask (B, 77)."""
        ids = torch.full((len(prompts), CONTEXT), EOS)
        mask = torch.zeros(len(prompts), CONTEXT, dtype=torch.bool)
        for row, prompt in enumerate(prompts):
            words = [zlib.crc32(w.encode()) % BOS for w in prompt.split()][: CONTEXT - 2]
            ids[row, : len(words) + 2] = torch.tensor([BOS, *words, EOS])
            mask[row, : len(words) + 2] = True
        return ids, mask

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> TextBatch:
        ids, mask = self.token_ids(prompts)
        states = self.model(input_ids=ids.to(self.device)).last_hidden_state.float()
        mask = mask.to(self.device)
        return TextBatch(states * mask[..., None], mask)


def build_generator(device: torch.device) -> MotionGenerator:
    """SALAD's model at its real size with random weights, behind MotionGenerator."""
    torch.manual_seed(0)
    vae, denoiser = SaladVAE(SaladVAEConfig()), SaladDenoiser(SaladDenoiserConfig())
    sizes = [sum(v.numel() for v in m.state_dict().values()) for m in (denoiser, vae)]
    if sizes != [REAL_DENOISER_NUMEL, REAL_VAE_NUMEL]:
        raise SystemExit(f"not SALAD's real size: state numel {sizes}")
    channels = denoiser.cfg.channels  # 7 parts x 32 = 224
    stats = {
        "feature_mean": torch.zeros(FEATURE_DIM),
        "feature_std": torch.ones(FEATURE_DIM),
        "latent_mean": torch.zeros(channels),
        "latent_std": torch.ones(channels),
    }
    schedule = salad_schedule({})  # scaled-linear betas, leading spacing, v-prediction
    encoder = RandomClip(device)
    return MotionGenerator(vae, denoiser, schedule, stats, encoder, device, {}, SALAD)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], repeats: int, warmup: int, device: torch.device) -> dict:
    """Seconds of ``repeats`` calls of fn after ``warmup`` calls, and the 1-minute load."""
    for _ in range(warmup):
        fn()
    sync(device)
    load_before, times = os.getloadavg()[0], []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return {"seconds": times, "load_1min": [load_before, os.getloadavg()[0]]}


def esd_iteration(base: MotionGenerator, batch_size: int, tokens: int) -> Callable[[], float]:
    """One ESD-x optimizer step on a pool-like batch (teacher predictions precomputed)."""
    teacher = freeze(copy.deepcopy(base.denoiser))
    student, names = prepare_student(teacher, "esd-x")
    params = [p for n, p in student.named_parameters() if n in set(names)]
    if (len(params), sum(p.numel() for p in params)) != (ESD_X_TENSORS, ESD_X_PARAMETERS):
        raise SystemExit(f"esd-x selected {len(params)} tensors, not SALAD's {ESD_X_TENSORS}")
    optimizer = torch.optim.Adam(params, lr=ESDConfig().lr)
    g = torch.Generator().manual_seed(batch_size)
    shape = (batch_size, tokens, base.denoiser.cfg.channels)  # (B, N, 224)
    schedule = base.schedule  # the pool's timesteps: SALAD's leading spacing
    steps = ddim_timesteps(ESDConfig().ddim_steps, schedule.num_steps, schedule.spacing)
    picks = torch.randint(len(steps), (batch_size,), generator=g)
    batch = XtBatch(
        x_t=torch.randn(shape, generator=g).to(base.device),
        t=steps.cpu()[picks].to(base.device),
        mask=torch.ones(batch_size, tokens, dtype=torch.bool, device=base.device),
        prompt_ids=torch.zeros(batch_size, dtype=torch.long, device=base.device),
        pred_cond=torch.randn(shape, generator=g).to(base.device),
        pred_uncond=torch.randn(shape, generator=g).to(base.device),
    )
    texts = base.encode_prompts([CONCEPT] * batch_size)[0]  # the real encoder caches it

    def step() -> float:
        loss = esd_loss(base, student, batch, texts, ESDConfig().negative_guidance)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def pool_chunk(base: MotionGenerator, count: int, frames: int) -> Callable[[], object]:
    """The teacher's trajectories of ``count`` pool entries sampled together (ESDConfig)."""
    teacher = freeze(copy.deepcopy(base.denoiser))
    cfg = ESDConfig()
    return lambda: teacher_trajectories(base, teacher, [CONCEPT] * count, [frames] * count, cfg, 0)


def sampling(base: MotionGenerator, count: int) -> Callable[[], object]:
    """``count`` motions of 196 frames with SALAD's sampler (50 steps, CFG 7.5)."""
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(count)]
    return lambda: base.generate(
        prompts, lengths=[MAX_FRAMES] * count, seed=0, num_steps=SALAD.sampler.steps,
        guidance_scale=SALAD.sampler.guidance,
    )  # fmt: skip


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or "unknown",
    ) if Path("/proc/cpuinfo").is_file() else platform.processor()  # fmt: skip
    return f"cpu ({model}, {os.cpu_count()} cores)"


def show(label: str, result: dict, per: int = 1, unit: str = "") -> None:
    """One line: median and range (divided by ``per``), repeats, threads, load before/after."""
    times = [t / per for t in result["seconds"]]
    low, high = result["load_1min"]
    print(
        f"{label}: median {statistics.median(times):.3f} s{unit}, range {min(times):.3f}-"
        f"{max(times):.3f} ({len(times)} runs) | {result['device']}, {result['threads']} "
        f"threads, load {low:.1f} -> {high:.1f}",
        flush=True,
    )


def measure(args: argparse.Namespace, base: MotionGenerator) -> dict[str, dict]:
    """Every measurement of the module doc, printed as it completes."""
    device, results = base.device, {}
    context = {"device": device_name(device), "threads": torch.get_num_threads()}
    tokens = base.latent_mask([trajectory_lengths_max(ESDConfig())]).shape[1]

    def record(key: str, fn: Callable[[], object], repeats: int, warmup: int) -> dict:
        results[key] = {**timed(fn, repeats, warmup, device), **context}
        return results[key]

    for batch in ESD_BATCHES:
        label = f"(a) ESD esd-x iteration, batch {batch} x {tokens} tokens"
        show(label, record(f"esd_iter_b{batch}", esd_iteration(base, batch, tokens),
                           args.repeats, args.warmup))  # fmt: skip
    frames = trajectory_lengths_max(ESDConfig())
    chunk = record("pool_chunk", pool_chunk(base, args.pool_chunk, frames), args.long_repeats, 0)
    show(f"(a) pool: teacher trajectory (50 steps, CFG 3), {args.pool_chunk} at once",
         chunk, per=args.pool_chunk, unit=" per trajectory")  # fmt: skip
    for count in SAMPLE_COUNTS:
        repeats, warmup = (args.repeats, args.warmup) if count == 1 else (args.long_repeats, 0)
        label = f"(b) sampling {count} x {MAX_FRAMES} frames, 50 steps, CFG 7.5"
        show(label, record(f"sample_{count}", sampling(base, count), repeats, warmup))
    show("    CLIP text forward (8 prompts, random real-size)",
         record("clip_8", lambda: base.text_encoder.encode(PROMPTS), args.repeats, 1))  # fmt: skip
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=3, help="runs of the short measurements")
    p.add_argument("--long-repeats", type=int, default=2, help="runs of 8 motions and the pool")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before the short ones")
    p.add_argument("--pool-chunk", type=int, default=2, help="trajectories sampled together")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    began = time.perf_counter()
    base = build_generator(device)
    print(
        f"SALAD real size, random weights: denoiser {REAL_DENOISER_NUMEL:,} state numel, VAE "
        f"{REAL_VAE_NUMEL:,}, CLIP text {base.text_encoder.parameters:,} parameters | torch "
        f"{torch.__version__}, {device_name(device)}, {torch.get_num_threads()} threads, load "
        f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    results = measure(args, base)
    print(f"total {time.perf_counter() - began:.0f} s", flush=True)
    if args.json:
        summary: dict[str, Any] = {"torch": torch.__version__, "results": results}
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
