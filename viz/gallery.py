"""``python -m viz.gallery``: film strips and GIFs of a model's walk, kick, wave and jump.

    python -m viz.gallery --out docs/gallery [--name NAME] [--seed 0] [--seconds 6] [--steps 50]
        [--plant_feet]

Generates each concept's canonical prompt (``esd.motion.concepts``: "a person walking", ...)
with the model ``--name`` (default: the bundled base model), each from the noise of ``--seed``
(the same motion as ``python -m esd.generate --prompt P --seed S --seconds N``), and writes into
``--out``:

* ``<concept>.png``: a film strip of 8 evenly spaced poses (``viz.filmstrip.film_strip``; the
  wave seen from the front, the others from the body's right side);
* ``<concept>.gif``: the clip at 10 fps (``viz.filmstrip.animated_gif``);
* ``gallery.json``: model (name, family, checkpoint, denoiser fingerprint), sampler settings,
  per clip its prompt, seed, frames, file names and gait numbers (``esd.evaluation.gait``:
  supporting-foot speed, ankle lift and pelvis speed of the walk, the kick's height, the jump's
  clearance, each with the issue-14 target where there is one; with ``--plant_feet`` the
  clips are drawn and measured with their feet planted, ``esd.motion.foot_plant``, and each
  clip also keeps ``measures_as_generated``);
* ``gallery.md``: the markdown snippet for the README (links relative to the repository root
  when ``--out`` lies inside it).

Every file is written atomically. The total size is checked against ``SIZE_BUDGET_BYTES``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from esd.common.files import atomic_save, atomic_write
from esd.console import (
    CONSOLE,
    notice,
    plain_warnings,
    positive_float,
    positive_int,
    run_cli,
    seed_int,
)
from esd.evaluation import gait
from esd.models import checkpoints as ck
from esd.models.diffusion import MIN_DDIM_STEPS
from esd.models.generator import MotionGenerator, frames_from_seconds
from esd.motion.concepts import CONCEPTS
from esd.motion.skeleton import FPS
from viz.filmstrip import GIF_STRIDE, animated_gif, film_strip, strip_frames

SIZE_BUDGET_BYTES = 1_500_000  # the whole gallery folder, so the repository stays small
STRIP_FRAMES = 8  # poses per film strip
MAX_GUIDANCE = 20.0  # as esd.generate: larger CFG scales only saturate the motion
PROMPTS = {c.name: c.prompt for c in CONCEPTS}

# name -> (per-clip function of joints (T, 22, 3), unit, digits, target, target is a minimum)
Measure = tuple[Callable[[np.ndarray], float], str, int, float | None, bool]
MEASURES: dict[str, Measure] = {
    "supporting-foot speed": (
        gait.support_speed_cm_s, "cm/s", 1, gait.SUPPORT_SPEED_MAX_CM_S, False,
    ),
    "ankle lift": (gait.ankle_lift_cm, "cm", 1, gait.ANKLE_LIFT_MIN_CM, True),
    "pelvis speed": (gait.pelvis_speed_m_s, "m/s", 2, None, True),
    "kick height": (gait.kick_height_m, "m", 2, gait.KICK_HEIGHT_MIN_M, True),
    "jump clearance": (gait.jump_clearance_cm, "cm", 1, gait.JUMP_CLEARANCE_MIN_CM, True),
}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One clip of the gallery: a concept (its canonical prompt), the view, its numbers."""

    concept: str
    view: str  # "side" or "front" (viz.filmstrip.VIEWS)
    measures: tuple[str, ...]  # keys of MEASURES

    @property
    def prompt(self) -> str:
        return PROMPTS[self.concept]


ENTRIES = (
    Entry("walk", "side", ("supporting-foot speed", "ankle lift", "pelvis speed")),
    Entry("kick", "side", ("kick height",)),
    Entry("wave", "front", ()),  # gait has no wave number; the front view shows the hands
    Entry("jump", "side", ("jump clearance",)),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m viz.gallery", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("docs/gallery"), help="folder to write")
    p.add_argument("--name", default=ck.BASE_MODEL_NAME, help="base model or ESD run")
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--seed", type=seed_int, default=0, help="noise seed of every clip")
    p.add_argument("--seconds", type=positive_float, default=6.0, help="clip length, 2 to 9.8")
    p.add_argument("--steps", type=positive_int, help="DDIM steps (default: the model's)")
    p.add_argument("--guidance", type=float, help="CFG scale (default: the model's)")
    p.add_argument("--gif_stride", type=positive_int, default=GIF_STRIDE, help="frame step")
    p.add_argument(
        "--plant_feet",
        action="store_true",
        help="draw the motions with their feet planted (esd.motion.foot_plant), as the "
        "workbench shows them; gallery.json keeps the numbers as generated too",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return p


def check_args(args: argparse.Namespace) -> None:
    """One-line errors (ValueError) before the model loads."""
    frames_from_seconds(args.seconds)
    if args.steps is not None and args.steps < MIN_DDIM_STEPS:
        raise ValueError(f"--steps must be at least {MIN_DDIM_STEPS}, got {args.steps}")
    if args.guidance is not None and not 0.0 <= args.guidance <= MAX_GUIDANCE:
        raise ValueError(f"--guidance must be between 0 and {MAX_GUIDANCE:g}, got {args.guidance}")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file; give a folder")


def measure(joints: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The gait numbers ``names`` of one clip ``joints (T, 22, 3)``, each with unit and target."""
    out = {}
    for name in names:
        fn, unit, digits, target, at_least = MEASURES[name]
        value = round(float(fn(joints)), digits)
        meets = None if target is None else (value >= target if at_least else value <= target)
        out[name] = {
            "value": value, "unit": unit, "target": target,
            "target_is": None if target is None else ("min" if at_least else "max"),
            "meets": meets,
        }  # fmt: skip
    return out


def measure_text(measures: dict[str, dict[str, Any]]) -> str:
    """``"kick height 0.39 m (target >= 0.4)"``, the clip's numbers joined by ``"; "``."""
    parts = []
    for name, m in measures.items():
        bound = ""
        if m["target"] is not None:
            bound = f" (target {'>=' if m['target_is'] == 'min' else '<='} {m['target']:g})"
        parts.append(f"{name} {m['value']:g} {m['unit']}{bound}")
    return "; ".join(parts)


def link_prefix(out: Path) -> str:
    """Where gallery.md's links point from: the repository root if ``out`` is inside it
    (the snippet goes into README.md), else gallery.md's own folder."""
    resolved = out.resolve()
    if resolved.is_relative_to(ck.PROJECT_ROOT):
        return resolved.relative_to(ck.PROJECT_ROOT).as_posix() + "/"
    return ""


def markdown(record: dict[str, Any], prefix: str) -> str:
    """The README snippet: a table of the GIFs with prompts and numbers, then the strips."""
    model = record["model"]
    planted = ", feet planted" if record.get("plant_feet") else ""
    lines = [
        f"<!-- written by python -m viz.gallery: model {model['name']} (denoiser "
        f"{model['fingerprint']}), seed {record['seed']}, {record['steps']} DDIM steps, "
        f"guidance {record['guidance']:g}{planted} -->",
        "",
        "| Prompt (seed, measured) | Animation (10 fps) |",
        "|---|---|",
    ]
    for clip in record["clips"]:
        numbers = measure_text(clip["measures"])
        if clip.get("measures_as_generated") and clip["measures"]:
            numbers = f"feet planted: {numbers}<br>as generated: "
            numbers += measure_text(clip["measures_as_generated"])
        text = f'**{clip["concept"]}**: "{clip["prompt"]}"<br>seed {clip["seed"]}'
        lines.append(f"| {text}{'<br>' + numbers if numbers else ''} | "
                     f"![{clip['prompt']}]({prefix}{clip['gif']}) |")  # fmt: skip
    lines += ["", f"Film strips: {STRIP_FRAMES} poses evenly spaced over each clip; each panel "
              "gives the time and how far the pelvis has moved since the start.", ""]  # fmt: skip
    for clip in record["clips"]:
        view = "front view" if clip["view"] == "front" else "side view"
        lines += [f"**{clip['concept']}** ({view}): \"{clip['prompt']}\"", "",
                  f"![{clip['prompt']}, film strip]({prefix}{clip['strip']})", ""]  # fmt: skip
    return "\n".join(lines)


def write_clip(out: Path, entry: Entry, joints: np.ndarray, stride: int) -> dict[str, Any]:
    """Strip and GIF of one clip ``joints (T, 22, 3)`` into ``out``; its gallery.json entry."""
    strip, gif = f"{entry.concept}.png", f"{entry.concept}.gif"
    image = film_strip(joints, STRIP_FRAMES, view=entry.view)
    atomic_save(out / strip, lambda handle: image.save(handle, format="PNG", optimize=True))
    atomic_write(out / gif, animated_gif(joints, entry.view, stride))
    return {
        "concept": entry.concept, "prompt": entry.prompt, "view": entry.view,
        "frames": len(joints), "strip": strip, "gif": gif,
        "strip_frames": strip_frames(len(joints), STRIP_FRAMES).tolist(),
        "gif_frames": math.ceil(len(joints) / stride), "gif_fps": FPS / stride,
        "measures": measure(joints.astype(np.float64), entry.measures),
    }  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate, draw and write the gallery; the gallery.json record."""
    for line in ck.shadow_notes(args.name, args.checkpoints_dir):
        notice(line)
    generator = MotionGenerator.from_checkpoint(args.name, None, args.checkpoints_dir, args.device)
    steps = generator.sampler.steps if args.steps is None else args.steps
    guidance = generator.sampler.guidance if args.guidance is None else args.guidance
    clips = []
    for entry in ENTRIES:
        motion = generator.generate([entry.prompt], seconds=args.seconds, seed=args.seed,
                                    num_steps=steps, guidance_scale=guidance)  # fmt: skip
        joints, _ = motion.clip(0)
        extra: dict[str, Any] = {}
        if args.plant_feet:
            extra["measures_as_generated"] = measure(joints.astype(np.float64), entry.measures)
            joints, _ = motion.planted().clip(0)
        clip = write_clip(args.out, entry, joints, args.gif_stride)
        clips.append({**clip, "seed": args.seed, **extra})
        CONSOLE.print(f"{entry.concept}: {measure_text(clip['measures']) or 'drawn'}",
                      soft_wrap=True, markup=False)  # fmt: skip
    record = {
        "model": {
            "name": args.name, "family": generator.family.name,
            "checkpoint": generator.source.name if generator.source else None,
            "fingerprint": generator.fingerprint(),
        },
        "seed": args.seed, "seconds": args.seconds, "steps": steps, "guidance": guidance,
        "plant_feet": bool(args.plant_feet), "fps": FPS, "clips": clips,
    }  # fmt: skip
    atomic_write(args.out / "gallery.md", markdown(record, link_prefix(args.out)) + "\n")
    files = [c[k] for c in clips for k in ("strip", "gif")] + ["gallery.md"]
    record["bytes"] = {f: os.path.getsize(args.out / f) for f in files}
    record["total_bytes"] = sum(record["bytes"].values())  # gallery.json itself not counted
    atomic_write(args.out / "gallery.json", json.dumps(record, indent=2) + "\n")
    record["total_bytes"] += os.path.getsize(args.out / "gallery.json")
    return record


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain_warnings()

    def make() -> dict:  # CheckpointError, bad lengths, unwritable output: one line
        check_args(args)
        return run(args)

    record = run_cli(make)
    total = record["total_bytes"]
    CONSOLE.print(
        f"wrote {len(record['clips'])} strips and GIFs, gallery.json and gallery.md to "
        f"{args.out} ({total / 1e3:.0f} kB)", soft_wrap=True, markup=False,
    )  # fmt: skip
    if total > SIZE_BUDGET_BYTES:
        CONSOLE.print(f"warning: the gallery is {total / 1e6:.2f} MB, over the "
                      f"{SIZE_BUDGET_BYTES / 1e6:g} MB budget: raise --gif_stride or shorten "
                      "--seconds", style="yellow", soft_wrap=True, markup=False)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
