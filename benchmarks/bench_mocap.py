"""Per-concept motion statistics of a HumanML3D-layout folder (real imports or the corpus).

Measured on ``new_joints/`` (canonical joints: metres, y up, 20 fps) for the clips that
``labels.json`` labels with a concept:

* walk / run: speed (median horizontal pelvis speed, m/s), cadence (steps/s: sign changes of
  the ankles' fore-aft separation beyond +-STEP_HYSTERESIS_M) and step length (speed / cadence);
* raise_arms / wave: arm elevation (upper arm from hanging, degrees: 0 down, 90 level, 180
  overhead; the maximum of the higher arm), the share of clips with a wrist above the head;
* wave: frequency (Hz, the dominant FFT peak in WAVE_BAND_HZ of the busier wrist's side-to-side
  motion relative to its shoulder) and amplitude (half the 5-95% range of that motion, m);
* one- vs two-hand use for arm concepts (a hand is used when its wrist reaches within
  HAND_USED_BELOW_SHOULDER_M of its shoulder's height), checked against ``source.side`` if present.

Corpus clips (``labels.json`` entries with ``segments``) are measured like real takes, which hold
one action cropped to it: only single-segment clips count, cut to their segment's frames (no
idle padding). ``--ids FILE`` (one id a line) restricts the clips, e.g. to a calibration half.

Means carry a 95% t interval, shares a 95% Wilson interval.

Usage:
    python -m esd.import_bvh --bvh_dir ../shared/fixtures/mocap/bandai/bvh \\
        --labels ../shared/fixtures/mocap/bandai/labels.csv --out /tmp/bandai_h3d
    python benchmarks/bench_mocap.py /tmp/bandai_h3d
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.evaluation.gait import action_frames
from esd.evaluation.recognition import wilson_interval
from esd.motion.humanml3d import JOINTS_DIR, LABELS_FILE, read_npy
from esd.motion.skeleton import FPS, JOINT_INDEX

STEP_HYSTERESIS_M = 0.05  # fore-aft ankle separation that counts as one foot ahead (m)
WAVE_BAND_HZ = (0.5, 5.0)  # frequencies searched for the wave oscillation
HAND_USED_BELOW_SHOULDER_M = 0.10  # a wrist this close below its shoulder height is in use
J = JOINT_INDEX


def horizontal(v: np.ndarray) -> np.ndarray:
    return v[..., [0, 2]]


def gait(joints: np.ndarray) -> dict[str, float]:
    """Speed (m/s), cadence (steps/s) and step length (m) of a walk or run (T, 22, 3)."""
    pelvis = horizontal(joints[:, J["pelvis"]])  # (T, 2)
    velocity = np.diff(pelvis, axis=0) * FPS  # (T-1, 2)
    speed = float(np.median(np.linalg.norm(velocity, axis=1)))
    heading = velocity / np.maximum(np.linalg.norm(velocity, axis=1, keepdims=True), 1e-6)
    ankles = horizontal(joints[1:, J["left_ankle"]] - joints[1:, J["right_ankle"]])  # (T-1, 2)
    separation = np.sum(ankles * heading, axis=1)  # (T-1,) + left foot ahead
    state, steps = 0, 0
    for d in separation:
        side = 1 if d > STEP_HYSTERESIS_M else -1 if d < -STEP_HYSTERESIS_M else 0
        if side and side != state:
            steps += state != 0
            state = side
    cadence = steps / (len(separation) / FPS)
    return {"speed": speed, "cadence": cadence, "step": speed / cadence if steps else np.nan}


def arm_elevation(joints: np.ndarray, side: str) -> np.ndarray:
    """Angle (T,) in degrees between the upper arm and straight down."""
    arm = joints[:, J[f"{side}_elbow"]] - joints[:, J[f"{side}_shoulder"]]  # (T, 3)
    cos = -arm[:, 1] / np.linalg.norm(arm, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def hands_used(joints: np.ndarray) -> list[str]:
    return [
        side
        for side in ("left", "right")
        if np.max(joints[:, J[f"{side}_wrist"], 1] - joints[:, J[f"{side}_shoulder"], 1])
        > -HAND_USED_BELOW_SHOULDER_M
    ]


def wave(joints: np.ndarray) -> dict[str, float]:
    """Frequency (Hz) and amplitude (m) of the busier wrist's side-to-side motion."""
    across = horizontal(joints[:, J["left_shoulder"]] - joints[:, J["right_shoulder"]])
    across /= np.linalg.norm(across, axis=1, keepdims=True)  # (T, 2) towards the left
    best = None
    for side in ("left", "right"):
        rel = horizontal(joints[:, J[f"{side}_wrist"]] - joints[:, J[f"{side}_shoulder"]])
        x = np.sum(rel * across, axis=1)  # (T,) lateral wrist position
        x = x - np.polyval(np.polyfit(np.arange(len(x)), x, 2), np.arange(len(x)))  # detrend
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / FPS)
        band = (freqs >= WAVE_BAND_HZ[0]) & (freqs <= WAVE_BAND_HZ[1])
        if not band.any():
            continue
        peak = int(np.argmax(np.where(band, spectrum, 0)))
        amplitude = float(np.subtract(*np.percentile(x, [95, 5])) / 2)
        if best is None or amplitude > best["amplitude"]:
            best = {"frequency": float(freqs[peak]), "amplitude": amplitude}
    return best or {"frequency": np.nan, "amplitude": np.nan}


def mean_ci(values: list[float]) -> str:
    v = np.array([x for x in values if np.isfinite(x)])
    if len(v) == 0:
        return "n/a"
    if len(v) == 1:
        return f"{v[0]:.2f} (n=1)"
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return f"{v.mean():.2f} [{v.mean() - half:.2f}, {v.mean() + half:.2f}] (n={len(v)})"


def share_ci(hits: int, n: int) -> str:
    lo, hi = wilson_interval(hits, n)
    return f"{hits}/{n} = {hits / n:.0%} [{lo:.0%}, {hi:.0%}]" if n else "n/a"


def measure(root: Path, ids: set[str] | None = None) -> dict[str, dict[str, list]]:
    labels = json.loads((root / LABELS_FILE).read_text())
    table: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for clip_id, entry in sorted(labels.items()):
        path = root / JOINTS_DIR / f"{clip_id}.npy"
        if not path.is_file() or (ids is not None and clip_id not in ids):
            continue
        joints = action_frames(np.asarray(read_npy(path), dtype=np.float64), entry)  # (T, 22, 3)
        if joints is None:
            continue
        for concept in entry.get("concepts", []):
            row = table[concept]
            if concept in ("walk", "run"):
                for key, value in gait(joints).items():
                    row[key].append(value)
            if concept in ("raise_arms", "wave"):
                elevation = np.maximum(
                    arm_elevation(joints, "left"), arm_elevation(joints, "right")
                )
                row["elevation_max"].append(float(elevation.max()))
                wrists = joints[:, [J["left_wrist"], J["right_wrist"]], 1].max(axis=1)
                row["above_head"].append(bool(np.any(wrists > joints[:, J["head"], 1])))
                used = hands_used(joints)
                row["hands"].append(len(used))
                side = entry.get("source", {}).get("side")
                if side:
                    row["side_agrees"].append(
                        used == ([side] if side != "both" else ["left", "right"])
                    )
            if concept == "wave":
                for key, value in wave(joints).items():
                    row[key].append(value)
    return table


def report(table: dict[str, dict[str, list]]) -> list[str]:
    lines = []
    for concept, row in sorted(table.items()):
        lines.append(f"{concept}:")
        for key in ("speed", "cadence", "step", "elevation_max", "frequency", "amplitude"):
            if key in row:
                lines.append(f"  {key:14s} {mean_ci(row[key])}")
        if "above_head" in row:
            lines.append(
                f"  {'wrist > head':14s} {share_ci(sum(row['above_head']), len(row['above_head']))}"
            )
            hands = row["hands"]
            lines.append(f"  {'one hand':14s} {share_ci(sum(h == 1 for h in hands), len(hands))}")
            lines.append(f"  {'two hands':14s} {share_ci(sum(h == 2 for h in hands), len(hands))}")
        if "side_agrees" in row:
            agree = row["side_agrees"]
            lines.append(f"  {'side = label':14s} {share_ci(sum(agree), len(agree))}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_root", type=Path, help="HumanML3D-layout folder with labels.json")
    parser.add_argument("--ids", type=Path, help="measure only the clip ids listed in this file")
    args = parser.parse_args()
    ids = set(args.ids.read_text().split()) if args.ids else None
    for line in report(measure(args.data_root, ids)):
        print(line)


if __name__ == "__main__":
    run_cli(main)
