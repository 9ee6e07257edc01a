"""Which VAE loss keeps the kicks? Train the VAE stage alone, then measure its round trip.

The bundled family's VAE (``esd.pretrain.vae``) is trained on DATA_ROOT's train split with the
given loss weights and steps (nothing is written), then every clip of the test split goes
through it (posterior mean, decode; features normalised with DATA_ROOT's Mean/Std) and the
script prints, as ``benchmarks/bench_vae.py`` does for a whole base model:

* round-trip MPJPE (cm), global and root-relative, mean over clips with a 95% bootstrap interval;
* ``--gait``-style measures of the walk and kick clips of ``labels.json``: supporting-foot
  speed and ankle lift of walks, kick height, input vs round trip;
* with ``--real DIR --real_ids FILE``: the same MPJPE on those clips of another folder (e.g. the
  held-out real takes of ``bench_transfer.py split``), normalised with DATA_ROOT's statistics.

It isolates the VAE: a decoder that cannot rebuild a 0.7 m kick caps what the denoiser can
generate, and one VAE stage (minutes) is far cheaper than a base model (an hour).

Usage:
    python benchmarks/bench_vae_loss.py data/t2m_synth --steps 1000 --latent_dim 32 \\
        --velocity_weight 1 --contact_weight 2 --peak_weight 20 \\
        [--real /tmp/bandai_h3d --real_ids /tmp/transfer/heldout.txt] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_vae import mpjpe_cm, print_gait
from esd.common.runtime import DEVICE_CHOICES, pick_device
from esd.console import run_cli
from esd.evaluation.gait import summarise
from esd.models.bundled.vae import VAEConfig
from esd.motion.features import features_to_joints
from esd.motion.humanml3d import FEATURES_DIR, LABELS_FILE, MotionFolder, read_npy
from esd.motion.skeleton import MAX_FRAMES
from esd.pretrain.folders import load_clips
from esd.pretrain.vae import VAETrainConfig, train_vae

BATCH = 32
MIN_CLIP_FRAMES = 4  # one latent token


@torch.no_grad()
def round_trip(vae, clips: list[np.ndarray], mean: np.ndarray, std: np.ndarray) -> list:
    """Joints (T_i, 22, 3) of normalised clips (T_i, 263) after encode (mean) and decode."""
    out = []
    for start in range(0, len(clips), BATCH):
        chunk = clips[start : start + BATCH]
        lengths = torch.tensor([len(c) for c in chunk])
        x = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(c) for c in chunk], batch_first=True)
        mu, _ = vae.encode(x, lengths)  # (B, N, C)
        x_hat = vae.decode(mu, vae.latent_lengths(lengths))[:, : x.shape[1]]  # (B, T, 263)
        raw = x_hat.numpy() * std + mean
        out += [features_to_joints(raw[i, :n]) for i, n in enumerate(lengths.tolist())]
    return out


def mpjpe_block(
    vae, feats: list[np.ndarray], mean, std, label: str, name: str
) -> tuple[list, list, dict]:
    """Round trip of raw feature clips (T_i, 263): (reconstructed joints, input joints, the
    global and root-relative MPJPE summaries keyed ``mpjpe_{kind}_cm``), printed as ``label``;
    ``name`` prefixes the summaries' names (it seeds their bootstrap)."""
    rebuilt = round_trip(vae, [((f - mean) / std).astype(np.float32) for f in feats], mean, std)
    truth = [features_to_joints(f) for f in feats]
    out = {}
    for root_relative in (False, True):
        kind = "root-relative" if root_relative else "global"
        errors = [mpjpe_cm(r, t, root_relative) for r, t in zip(rebuilt, truth)]
        summary = summarise(errors, name=f"{name}/{kind}")
        out[f"mpjpe_{kind}_cm"] = [summary.mean, *summary.ci95]
        print(f"  {label} MPJPE {kind:13s} {summary.line('cm', 2)}")
    return rebuilt, truth, out


def measure_real(vae, root: Path, ids_file: Path | None, mean, std) -> dict[str, list[float]]:
    """Round-trip MPJPE of ``root``'s clips (those of ``ids_file``, else all), printed."""
    ids = (
        ids_file.read_text().split()
        if ids_file
        else sorted(p.stem for p in (root / FEATURES_DIR).glob("*.npy"))
    )
    feats = [np.asarray(read_npy(root / FEATURES_DIR / f"{i}.npy"))[:MAX_FRAMES] for i in ids]
    feats = [f.astype(np.float32) for f in feats if len(f) >= MIN_CLIP_FRAMES]
    _, _, out = mpjpe_block(vae, feats, mean, std, root.name, "real")
    return {f"real_{k}": v for k, v in out.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_root", type=Path, help="HumanML3D-layout folder with labels.json")
    p.add_argument("--steps", type=int, default=VAETrainConfig.steps)
    p.add_argument("--latent_dim", type=int, default=VAEConfig.latent_dim)
    p.add_argument("--velocity_weight", type=float, default=VAETrainConfig.velocity_weight)
    p.add_argument("--contact_weight", type=float, default=VAETrainConfig.contact_weight)
    p.add_argument("--peak_weight", type=float, default=VAETrainConfig.peak_weight)
    p.add_argument("--peak_power", type=int, default=VAETrainConfig.peak_power)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="where the VAE trains")
    p.add_argument("--real", type=Path, help="another HumanML3D-layout folder to measure")
    p.add_argument("--real_ids", type=Path, help="the ids of --real to measure (one per line)")
    p.add_argument("--json", type=Path, help="also write the settings and measures here")
    args = p.parse_args()
    folder = MotionFolder(args.data_root)
    train, _ = load_clips(folder, "train")
    val, _ = load_clips(folder, "val")
    records = [r for r in folder.load_split("test") if "@" not in r.id]  # whole clips only
    cfg = VAETrainConfig(
        steps=args.steps,
        seed=args.seed,
        velocity_weight=args.velocity_weight,
        contact_weight=args.contact_weight,
        peak_weight=args.peak_weight,
        peak_power=args.peak_power,
    )
    print(f"{args.data_root}: {len(train)} train / {len(val)} val / {len(records)} test clips")
    print(f"  {cfg}")
    began = time.monotonic()
    vae, metrics = train_vae(
        train, val, folder.mean, folder.std, VAEConfig(latent_dim=args.latent_dim), cfg,
        pick_device(args.device),
    )  # fmt: skip
    minutes = (time.monotonic() - began) / 60
    vae = vae.cpu().eval()
    kept = [r for r in records if r.num_frames >= MIN_CLIP_FRAMES]
    ids = [r.id for r in kept]
    print(f"VAE stage: {minutes:.1f} min, validation MPJPE {metrics['val_mpjpe_cm']:.2f} cm")
    feats = [np.asarray(r.features[:MAX_FRAMES], np.float32) for r in kept]
    rebuilt, truth, measured = mpjpe_block(vae, feats, folder.mean, folder.std, "test", "vae")
    result = {"settings": vars(args) | {"data_root": str(args.data_root)}, "minutes": minutes}
    result |= measured
    if args.real is not None:
        result |= measure_real(vae, args.real, args.real_ids, folder.mean, folder.std)
    labels_path = args.data_root / LABELS_FILE
    labels = json.loads(labels_path.read_text()) if labels_path.is_file() else {}
    print_gait(ids, truth, rebuilt, labels)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    run_cli(main)
