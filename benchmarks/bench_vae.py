"""How well does a base model's VAE reconstruct clips? Round-trip MPJPE per clip and concept.

Each clip's 263-d features go through the model's VAE (posterior mean, ``encode_features``, then
``decode``) and both the input and the reconstruction through HumanML3D's ric decoder
(``features_to_joints``); the error of a clip is its mean per-joint position error

    MPJPE = mean_{t, j} |J_hat(t, j) - J(t, j)|   (cm),

globally (root drift included: the base-model card's number) and root-relative (the pelvis of
each frame subtracted from both first: pose only). Printed: the mean over clips with a 95%
bootstrap interval, the frame-weighted pooled value (``esd.pretrain.vae.reconstruction_mpjpe``'s
definition) and the mean per concept of ``labels.json`` when present. Clips longer than
``MAX_FRAMES`` (9.8 s) are cut to their first ``MAX_FRAMES`` frames, the longest the model takes.

``--gait``: does the round trip keep the gait? For the walk and kick clips of ``labels.json``
(one action each, ``esd.evaluation.gait.action_frames``) the supporting-foot speed and ankle lift
of walks and the kick height, of the input and of its reconstruction, side by side (mean over
clips with a 95% bootstrap interval). A VAE that smooths fast limb motion shows here first:
what it cannot reconstruct the denoiser cannot generate.

Usage:
    python benchmarks/bench_vae.py /tmp/corpus_small --split test [--gait]
    python benchmarks/bench_vae.py /tmp/bandai_h3d --ids /tmp/transfer/heldout.txt
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.evaluation import gait
from esd.evaluation.gait import CM_PER_M, PELVIS, action_frames, summarise
from esd.motion.features import features_to_joints
from esd.motion.humanml3d import FEATURES_DIR, LABELS_FILE, read_npy
from esd.motion.skeleton import MAX_FRAMES, NUM_JOINTS

MIN_CLIP_FRAMES = 4  # one latent token
BATCH = 32
GAIT = {  # concept -> [(measure, per-clip function, unit, digits)]
    "walk": [
        ("supporting-foot speed", gait.support_speed_cm_s, "cm/s", 1),
        ("ankle lift", gait.ankle_lift_cm, "cm", 1),
    ],
    "kick": [("kick height", gait.kick_height_m, "m", 2)],
}


def mpjpe_cm(predicted: np.ndarray, target: np.ndarray, root_relative: bool = False) -> float:
    """Mean per-joint position error of one clip, cm: (T, 22, 3), (T, 22, 3) -> float;
    ``root_relative``: each frame's pelvis is subtracted from both first."""
    predicted, target = np.asarray(predicted, np.float64), np.asarray(target, np.float64)
    if predicted.shape != target.shape or predicted.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"need two (T, {NUM_JOINTS}, 3) arrays, got {predicted.shape}, "
                         f"{target.shape}")  # fmt: skip
    if root_relative:
        predicted = predicted - predicted[:, PELVIS : PELVIS + 1]
        target = target - target[:, PELVIS : PELVIS + 1]
    return float(np.linalg.norm(predicted - target, axis=-1).mean() * CM_PER_M)


def round_trip(model, clips: list[np.ndarray]) -> list[np.ndarray]:
    """Reconstructed joints (T_i, 22, 3) of raw feature clips (T_i, 263) through the VAE.

    A VAE without a mask (``family.masked_vae`` False: SALAD's) would let padding into a clip's
    last frames: its clips go one at a time (``main`` has cut them to whole latent units)."""
    out = []
    size = BATCH if model.family.masked_vae else 1
    for start in range(0, len(clips), size):
        chunk = clips[start : start + size]
        latents = model.encode_features(chunk)  # list of (ceil(T_i / 4), C), normalised
        batch = torch.nn.utils.rnn.pad_sequence(latents, batch_first=True).to(model.device)
        lengths = [len(c) for c in chunk]
        _, joints = model.decode(batch, lengths)  # (B, T_max, 22, 3)
        out += [joints[i, :n] for i, n in enumerate(lengths)]
    return out


def clip_ids(root: Path, split: str | None, ids_file: Path | None) -> list[str]:
    if ids_file is not None:
        return ids_file.read_text().split()
    if split is not None:
        return (root / f"{split}.txt").read_text().split()
    return sorted(p.stem for p in (root / FEATURES_DIR).glob("*.npy"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_root", type=Path, help="HumanML3D-layout folder")
    p.add_argument("--split", help="measure the ids of DATA_ROOT/SPLIT.txt (e.g. test)")
    p.add_argument("--ids", type=Path, help="measure the ids listed in this file")
    p.add_argument("--name", help="base model (default: the bundled one)")
    p.add_argument("--checkpoints_dir")
    p.add_argument(
        "--clip_path",
        help="a SALAD-family model's CLIP folder (its loader needs one; no text is read)",
    )
    p.add_argument("--gait", action="store_true", help="walk and kick gait: input vs round trip")
    args = p.parse_args()
    from esd.models import checkpoints as ck
    from esd.models.generator import MotionGenerator, shared_text_encoder

    checkpoints = args.checkpoints_dir or str(ck.DEFAULT_CHECKPOINTS_DIR)
    encoder = None if args.clip_path else shared_text_encoder()
    model = MotionGenerator.from_checkpoint(
        args.name or ck.BASE_MODEL_NAME, None, checkpoints, "cpu", encoder, args.clip_path
    )
    whole_units = not model.family.masked_vae  # such a VAE reads whole units of 4 frames only
    ids, clips = [], []
    for clip_id in clip_ids(args.data_root, args.split, args.ids):
        features = np.asarray(read_npy(args.data_root / FEATURES_DIR / f"{clip_id}.npy"))
        features = features[:MAX_FRAMES]
        if whole_units:
            features = features[: len(features) - len(features) % MIN_CLIP_FRAMES]
        if len(features) >= MIN_CLIP_FRAMES:
            ids.append(clip_id)
            clips.append(features.astype(np.float32))
    if not clips:
        raise SystemExit(f"no clip of {args.data_root} to measure")
    with torch.no_grad():
        rebuilt = round_trip(model, clips)
    truth = [features_to_joints(c) for c in clips]
    labels_path = args.data_root / LABELS_FILE
    labels = json.loads(labels_path.read_text()) if labels_path.is_file() else {}
    frames = np.array([len(c) for c in clips])
    print(f"{args.data_root} ({len(clips)} clips, VAE of {args.name or ck.BASE_MODEL_NAME}):")
    for root_relative in (False, True):
        errors = [mpjpe_cm(r, t, root_relative) for r, t in zip(rebuilt, truth)]
        kind = "root-relative" if root_relative else "global"
        summary = summarise(errors, name=f"vae/{kind}")
        pooled = float(np.sum(np.array(errors) * frames) / frames.sum())
        print(f"  MPJPE {kind:13s} {summary.line('cm', 2)}; frame-weighted {pooled:.2f} cm")
        by_concept: dict[str, list[float]] = defaultdict(list)
        for clip_id, err in zip(ids, errors):
            for concept in labels.get(clip_id, {}).get("concepts", []):
                by_concept[concept].append(err)
        if by_concept:
            print("    per concept: " + ", ".join(
                f"{c} {np.mean(v):.1f} (n={len(v)})" for c, v in sorted(by_concept.items())
            ))  # fmt: skip
    if args.gait:
        print_gait(ids, truth, rebuilt, labels)


def print_gait(ids: list[str], truth: list, rebuilt: list, labels: dict) -> None:
    """The ``GAIT`` measures of each labelled walk / kick clip, input vs reconstruction."""
    for concept, measures in GAIT.items():
        pairs = []
        for clip_id, real, rec in zip(ids, truth, rebuilt):
            entry = labels.get(clip_id, {})
            if entry.get("concepts") != [concept]:
                continue
            real_cut, rec_cut = action_frames(real, entry), action_frames(np.asarray(rec), entry)
            if real_cut is not None and rec_cut is not None:
                pairs.append((real_cut, rec_cut))
        if not pairs:
            continue
        print(f"  gait of {concept} ({len(pairs)} clips): input vs VAE round trip")
        for name, fn, unit, digits in measures:
            real = summarise([fn(a) for a, _ in pairs], name=f"{concept}/{name}/input")
            rec = summarise([fn(b) for _, b in pairs], name=f"{concept}/{name}/vae")
            print(f"    {name:22s} input {real.line(unit, digits)}")
            print(f"    {'':22s} VAE   {rec.line(unit, digits)}")


if __name__ == "__main__":
    run_cli(main)
