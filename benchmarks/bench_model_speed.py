"""Speed of the model building blocks on this machine (CPU by default).

(a) sampling: DDIM (50 steps, classifier-free guidance = one batched 2B call per step) for 8 clips
    of 6 s (120 frames -> 30 latent tokens), then VAE decode. Text states are random stand-ins of
    a typical caption length (12 tokens): the real encoder's per-prompt cache makes repeated
    prompts free, and a new prompt costs ~10 ms more.
(b) one training step (forward + backward + AdamW) of the denoiser at batch 64 x 49 latent
    tokens (196 frames) and of the VAE at batch 64 x 196 frames and x 64 frames (a training
    window), with a plain L1 reconstruction + KL loss.

Usage:
    python benchmarks/bench_model_speed.py                    # default configs
    python benchmarks/bench_model_speed.py --sweep            # also smaller denoisers, (a) only
    python benchmarks/bench_model_speed.py --model-dim 192 --layers 4
    python benchmarks/bench_model_speed.py --tune-malloc      # glibc mallopt, see below
    python benchmarks/bench_model_speed.py --name NAME [--checkpoints_dir DIR]
        # (a) only, on a trained model: MotionGenerator.generate end to end (its own text
        # encoder, 8 distinct prompts, DDIM --steps with the family's guidance, decode to joints)
Prints milliseconds (the cold first call, then median and best of --repeats after two warm-up
calls) and the peak resident memory.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import math
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser, count_parameters
from esd.models.bundled.vae import MotionVAE, VAEConfig
from esd.models.diffusion import NoiseSchedule, ddim_sample
from esd.models.generator import MotionGenerator
from esd.models.text.batch import TextBatch
from esd.motion.skeleton import FEATURE_DIM, FPS, MAX_FRAMES

TRAINED_PROMPTS = (  # (a) on a trained model: distinct captions, so no prompt is a cache hit twice
    "a person walks forward", "a person kicks with the right leg", "a person jumps up",
    "a person waves with the left hand", "a person squats down", "a person runs in a circle",
    "a person claps", "a person sits down",
)  # fmt: skip
CAPTION_TOKENS = 12  # typical HumanML3D caption length in MiniLM tokens, [CLS]/[SEP] included


def timed(fn: Callable[[], object], repeats: int, warmup: int = 2) -> tuple[float, ...]:
    """(first, median, best) wall time of fn in ms; ``first`` is the cold first call, the
    median and best are taken over ``repeats`` calls after ``warmup`` calls."""
    times = []
    for _ in range(warmup + repeats):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    warm = times[warmup:]
    return times[0], statistics.median(warm), min(warm)


def fake_text(batch: int, tokens: int, dim: int, null: bool, g: torch.Generator) -> TextBatch:
    if null:
        return TextBatch(torch.zeros(batch, 1, dim), torch.zeros(batch, 1, dtype=torch.bool))
    return TextBatch(torch.randn(batch, tokens, dim, generator=g), torch.ones(batch, tokens).bool())


def sampling_ms(
    denoiser: LatentDenoiser, vae: MotionVAE, clips: int, frames: int, steps: int, repeats: int
) -> tuple[float, ...]:
    """(a): DDIM with guidance + VAE decode for ``clips`` clips of ``frames`` frames."""
    g = torch.Generator().manual_seed(0)
    tokens = math.ceil(frames / vae.cfg.downsample)
    cond = fake_text(clips, CAPTION_TOKENS, denoiser.cfg.text_dim, False, g)
    uncond = fake_text(clips, CAPTION_TOKENS, denoiser.cfg.text_dim, True, g)
    mask = torch.ones(clips, tokens, dtype=torch.bool)
    schedule = NoiseSchedule()

    def denoise(x: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
        return denoiser(x, t, text, mask.repeat(x.shape[0] // clips, 1))

    @torch.no_grad()
    def run() -> torch.Tensor:
        x_T = torch.randn(clips, tokens, denoiser.cfg.latent_dim, generator=g)
        z = ddim_sample(
            denoise, x_T, schedule, num_steps=steps, guidance_scale=2.5, cond=cond, uncond=uncond
        )
        return vae.decode(z, torch.full((clips,), tokens))

    return timed(run, repeats)


def trained_sampling_ms(
    generator: MotionGenerator, clips: int, frames: int, steps: int, repeats: int
) -> tuple[float, ...]:
    """(a) on a trained model: ``generate`` for ``clips`` prompts of ``frames`` frames, each call
    on new seeds; the prompts cycle over ``TRAINED_PROMPTS`` (their text states are cached
    after the first call, as in the workbench)."""
    prompts = [TRAINED_PROMPTS[i % len(TRAINED_PROMPTS)] for i in range(clips)]
    seeds = itertools.count()

    def run() -> object:
        return generator.generate(prompts, [frames] * clips, seed=next(seeds), num_steps=steps)

    return timed(run, repeats)


def denoiser_step_ms(denoiser: LatentDenoiser, batch: int, repeats: int) -> tuple[float, ...]:
    """(b): v-MSE forward + backward + AdamW at batch x 49 latent tokens."""
    g = torch.Generator().manual_seed(1)
    tokens = math.ceil(MAX_FRAMES / 4)
    model = denoiser.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    text = fake_text(batch, CAPTION_TOKENS, model.cfg.text_dim, False, g)
    x = torch.randn(batch, tokens, model.cfg.latent_dim, generator=g)
    t = torch.randint(1000, (batch,), generator=g)

    def step() -> None:
        loss = (model(x, t, text) - x).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    result = timed(step, repeats)
    model.eval()
    return result


def vae_step_ms(vae: MotionVAE, batch: int, frames: int, repeats: int) -> tuple[float, ...]:
    """(b): L1 reconstruction + KL forward + backward + AdamW at batch x frames."""
    g = torch.Generator().manual_seed(2)
    model = vae.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, frames, FEATURE_DIM, generator=g)
    lengths = torch.full((batch,), frames)

    def step() -> None:
        x_hat, mu, logvar = model(x, lengths, g)
        loss = (x_hat - x).abs().mean() + 1e-4 * model.kl_divergence(mu, logvar)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    result = timed(step, repeats)
    model.eval()
    return result


def tune_glibc_malloc() -> bool:
    """Keep freed memory in the heap (no mmap/munmap + page faults per large tensor).

    glibc returns big blocks to the OS on free, so every forward pass re-faults its
    activations; raising the mmap/trim thresholds makes the denoiser ~10-15% faster here.
    Returns False where glibc's mallopt is unavailable.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # <malloc.h> parameter ids
    return all(
        libc.mallopt(param, value) == 1
        for param, value in ((m_mmap_threshold, 1 << 25), (m_trim_threshold, 1 << 30),
                             (m_top_pad, 1 << 28))
    )  # fmt: skip


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def describe(label: str, ms: tuple[float, ...]) -> str:
    first, median, best = ms
    return f"{label:<58} first {first:6.0f}  median {median:6.0f}  best {best:6.0f} ms"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.tune_malloc:
        print(f"glibc malloc tuned: {tune_glibc_malloc()}")
    torch.manual_seed(0)  # weight init of the benchmarked models only
    frames = round(args.seconds * FPS)
    if args.name:
        try:
            generator = MotionGenerator.from_checkpoint(
                args.name, checkpoints_dir=args.checkpoints_dir, device="cpu"
            )
        except ck.CheckpointError as error:
            raise SystemExit(f"bench_model_speed.py: {error}") from None
        print(f"torch {torch.__version__}, {args.threads} threads; model {generator.source}")
        ms = trained_sampling_ms(generator, args.clips, frames, args.steps, args.repeats)
        label = f"(a) generate {args.clips} clips x {frames} frames, DDIM {args.steps} steps"
        print(describe(label, ms))
        print(f"peak RSS {peak_rss_mib():.0f} MiB")
        return
    vae = MotionVAE(VAEConfig(hidden_dim=args.vae_hidden)).eval()
    base = DenoiserConfig(model_dim=args.model_dim, num_layers=args.layers, num_heads=args.heads)
    configs = [base]
    if args.sweep:
        configs += [replace(base, model_dim=d, num_layers=n) for d, n in SWEEP]
        configs = [c for i, c in enumerate(configs) if c not in configs[:i]]  # drop repeats
    print(f"torch {torch.__version__}, {args.threads} threads")
    print(f"VAE {count_parameters(vae):,} params, {asdict(vae.cfg)}")
    print(f"(a) {args.clips} clips x {frames} frames, DDIM {args.steps} steps, guidance (2B batch)")
    print(f"(b) one training step, AdamW, batch {args.batch}")
    for cfg in configs:
        denoiser = LatentDenoiser(cfg).eval()
        name = f"d={cfg.model_dim} layers={cfg.num_layers} ({count_parameters(denoiser):,} params)"
        ms = sampling_ms(denoiser, vae, args.clips, frames, args.steps, args.repeats)
        print(describe(f"(a) sample + decode, denoiser {name}", ms))
        if not args.skip_training:
            ms = denoiser_step_ms(denoiser, args.batch, args.repeats)
            print(describe(f"(b) denoiser {name} x {math.ceil(MAX_FRAMES / 4)} tokens", ms))
    if not args.skip_training:
        for vae_frames in (MAX_FRAMES, 64):
            ms = vae_step_ms(vae, args.batch, vae_frames, args.repeats)
            print(describe(f"(b) VAE x {vae_frames} frames", ms))
    print(f"peak RSS {peak_rss_mib():.0f} MiB; denoiser config {asdict(base)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dim", type=int, default=DenoiserConfig.model_dim)
    parser.add_argument("--layers", type=int, default=DenoiserConfig.num_layers)
    parser.add_argument("--heads", type=int, default=DenoiserConfig.num_heads)
    parser.add_argument("--vae-hidden", type=int, default=VAEConfig.hidden_dim)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--sweep", action="store_true", help="also time smaller denoisers")
    parser.add_argument("--skip-training", action="store_true", help="only time sampling (a)")
    parser.add_argument("--tune-malloc", action="store_true", help="raise glibc mmap threshold")
    parser.add_argument("--name", help="time (a) on this trained model (default: random init)")
    parser.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    return parser.parse_args()


SWEEP = ((256, 3), (192, 4), (192, 3), (128, 4))  # (model_dim, num_layers) tried by --sweep


if __name__ == "__main__":
    run_cli(main)
