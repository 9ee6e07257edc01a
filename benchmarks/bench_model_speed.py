"""Speed of the model building blocks on this machine (CPU by default).

(a) sampling: DDIM (50 steps, classifier-free guidance = one batched 2B call per step) for 8 clips
    of 6 s (120 frames -> 30 latent tokens), then VAE decode. Text states are random stand-ins of
    a typical caption length (12 tokens): the real encoder's per-prompt cache makes repeated
    prompts free, and a new prompt costs ~10 ms more.
(b) one training step (forward + backward + AdamW) of the denoiser at batch 64 x 49 latent
    tokens (196 frames) and of the VAE at batch 64 x 196 frames (plain L1 reconstruction + KL).

Usage:
    python benchmarks/bench_model_speed.py                    # default configs
    python benchmarks/bench_model_speed.py --sweep            # also smaller denoisers, (a) only
    python benchmarks/bench_model_speed.py --model-dim 192 --layers 4
Prints milliseconds (median and best of --repeats) and the peak resident memory.
"""

from __future__ import annotations

import argparse
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

from esd.denoiser import DenoiserConfig, LatentDenoiser, count_parameters
from esd.diffusion import NoiseSchedule, ddim_sample
from esd.skeleton import FEATURE_DIM, FPS, MAX_FRAMES
from esd.text import TextBatch
from esd.vae import MotionVAE, VAEConfig

CAPTION_TOKENS = 12  # typical HumanML3D caption length in MiniLM tokens, [CLS]/[SEP] included


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """(median, best) wall time of fn in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times), min(times)


def fake_text(batch: int, tokens: int, dim: int, null: bool, g: torch.Generator) -> TextBatch:
    if null:
        return TextBatch(torch.zeros(batch, 1, dim), torch.zeros(batch, 1, dtype=torch.bool))
    return TextBatch(torch.randn(batch, tokens, dim, generator=g), torch.ones(batch, tokens).bool())


def sampling_ms(
    denoiser: LatentDenoiser, vae: MotionVAE, clips: int, frames: int, steps: int, repeats: int
) -> tuple[float, float]:
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


def denoiser_step_ms(denoiser: LatentDenoiser, batch: int, repeats: int) -> tuple[float, float]:
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


def vae_step_ms(vae: MotionVAE, batch: int, repeats: int) -> tuple[float, float]:
    """(b): L1 reconstruction + KL forward + backward + AdamW at batch x 196 frames."""
    g = torch.Generator().manual_seed(2)
    model = vae.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, MAX_FRAMES, FEATURE_DIM, generator=g)
    lengths = torch.full((batch,), MAX_FRAMES)

    def step() -> None:
        x_hat, mu, logvar = model(x, lengths, g)
        loss = (x_hat - x).abs().mean() + 1e-4 * model.kl_divergence(mu, logvar)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    result = timed(step, repeats)
    model.eval()
    return result


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def describe(label: str, ms: tuple[float, float]) -> str:
    return f"{label:<58} median {ms[0]:8.0f} ms   best {ms[1]:8.0f} ms"


def main() -> None:
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
    parser.add_argument("--sweep", action="store_true", help="also time smaller denoisers (a)")
    parser.add_argument("--skip-training", action="store_true", help="only time sampling (a)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # weight init of the benchmarked models only

    frames = round(args.seconds * FPS)
    vae = MotionVAE(VAEConfig(hidden_dim=args.vae_hidden)).eval()
    base = DenoiserConfig(model_dim=args.model_dim, num_layers=args.layers, num_heads=args.heads)
    configs = [base]
    if args.sweep:
        configs += [replace(base, model_dim=d, num_layers=n) for d, n in SWEEP if (d, n) != (
            base.model_dim, base.num_layers)]  # fmt: skip
    print(
        f"torch {torch.__version__}, {args.threads} threads, VAE {count_parameters(vae):,} params"
    )
    print(f"(a) {args.clips} clips x {frames} frames, DDIM {args.steps} steps, guidance (2B batch)")
    for cfg in configs:
        denoiser = LatentDenoiser(cfg).eval()
        ms = sampling_ms(denoiser, vae, args.clips, frames, args.steps, args.repeats)
        name = f"d={cfg.model_dim} layers={cfg.num_layers} ({count_parameters(denoiser):,} params)"
        print(describe(f"    sample + decode, denoiser {name}", ms))
    if not args.skip_training:
        denoiser = LatentDenoiser(base)
        print(f"(b) training steps, AdamW, batch {args.batch}")
        print(
            describe(
                "    denoiser x 49 tokens", denoiser_step_ms(denoiser, args.batch, args.repeats)
            )
        )
        print(
            describe(f"    VAE x {MAX_FRAMES} frames", vae_step_ms(vae, args.batch, args.repeats))
        )
    print(f"peak RSS {peak_rss_mib():.0f} MiB; denoiser config {asdict(base)}")


SWEEP = ((256, 3), (192, 4), (192, 3), (128, 4))  # (model_dim, num_layers) tried by --sweep


if __name__ == "__main__":
    main()
