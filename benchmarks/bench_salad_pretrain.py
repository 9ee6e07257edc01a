"""How fast does ``python -m esd.pretrain salad`` train, and how well does its VAE reconstruct?

Runs the stage (``esd.pretrain.salad_stage.train_salad``) into a temporary checkpoints folder and
prints, per network, steps per second (median over the steps after the first 5, which carry
the warm-up of the allocator) and the first / last 10-step mean loss; then the VAE round trip
(posterior mean, decode) of the validation clips:

    MPJPE = mean_{t, j} |J_hat(t, j) - J(t, j)|   (cm; ``esd.pretrain.salad_vae``'s pooled,
                                                   frame-weighted over clips)

and root-relative per clip (``benchmarks/bench_vae.mpjpe_cm``), mean over clips.

Usage:
    python -m esd.corpus --out /tmp/corpus600 --clips 600
    python benchmarks/bench_salad_pretrain.py /tmp/corpus600 --clip_path CLIP --config small \
        --vae_steps 150 --denoiser_steps 50 --batch_size 16 --vae_batch_size 32 --threads 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_vae import mpjpe_cm
from esd.console import run_cli
from esd.models.salad.folder import load_salad_model
from esd.models.text.clip import ClipTextEncoder
from esd.motion.features import features_to_joints
from esd.motion.humanml3d import MotionFolder
from esd.pretrain.salad_config import SALAD_PRESETS, SaladTrainConfig, meta_statistics
from esd.pretrain.salad_stage import SaladFolders, normalised_split, train_salad
from esd.pretrain.salad_vae import unit_crop

SKIP = 5  # first steps left out of the rate


def rate(stamps: list[float]) -> float:
    """Median steps per second from per-step timestamps."""
    gaps = np.diff(np.asarray(stamps[SKIP:]))
    return float(1.0 / np.median(gaps)) if len(gaps) else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_root", type=Path)
    p.add_argument("--clip_path", type=Path, required=True)
    p.add_argument("--config", default="small", choices=sorted(SALAD_PRESETS))
    for flag in ("vae_steps", "denoiser_steps", "batch_size", "vae_batch_size"):
        p.add_argument(f"--{flag}", type=int, default=getattr(SaladTrainConfig, flag))
    for flag in ("vae_lr", "lr"):
        p.add_argument(f"--{flag}", type=float, default=getattr(SaladTrainConfig, flag))
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = SaladTrainConfig(
        vae_steps=args.vae_steps, denoiser_steps=args.denoiser_steps,
        batch_size=args.batch_size, vae_batch_size=args.vae_batch_size, vae_lr=args.vae_lr,
        lr=args.lr,
    )  # fmt: skip
    folder, device = MotionFolder(args.data_root), torch.device("cpu")
    encoder = ClipTextEncoder(args.clip_path, device).load()
    stamps: dict[str, list[float]] = {"VAE": [], "denoiser": []}

    def progress(stage: str, step: int, total: int, status: str) -> None:
        stamps[stage].append(time.monotonic())
        if step % 10 == 0 or step == total:
            print(f"  {stage} {step}/{total} {status}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        folders = SaladFolders(Path(tmp), "bench")
        began = time.monotonic()
        result = train_salad(folders, folder, SALAD_PRESETS[args.config], cfg, encoder, device,
                             progress=progress)  # fmt: skip
        minutes = (time.monotonic() - began) / 60
        vae = load_salad_model(folders.model).vae
    print(f"{args.data_root}, config {args.config} {result.sizes}, {args.threads} "
          f"threads, lr {cfg.vae_lr:g} / {cfg.lr:g}, {minutes:.1f} min")  # fmt: skip
    for stage, losses in (("VAE", result.vae_losses), ("denoiser", result.denoiser_losses)):
        first, last = np.mean(losses[:10]), np.mean(losses[-10:])
        print(f"  {stage}: {len(losses)} steps, {rate(stamps[stage]):.2f} steps/s, loss "
              f"{first:.4f} -> {last:.4f} (first / last 10 steps)")  # fmt: skip
    mean, std = meta_statistics(folder.mean, folder.std)
    clips = [unit_crop(c) for c in normalised_split(folder, "val", (mean, std))[0]]
    errors = []
    with torch.no_grad():
        for clip in clips:
            x = torch.from_numpy(clip)[None]  # (1, T, 263)
            x_hat = vae.decode(vae.encode_stats(x)[0])[0].numpy()
            truth, rebuilt = (features_to_joints(a * std + mean) for a in (clip, x_hat))
            errors.append(mpjpe_cm(rebuilt, truth, root_relative=True))
    print(
        f"  VAE val MPJPE {result.metrics['mpjpe_cm']:.2f} cm (global, frame-weighted), "
        f"{np.mean(errors):.2f} cm (root-relative, mean of {len(errors)} clips)"
    )


if __name__ == "__main__":
    run_cli(main)
