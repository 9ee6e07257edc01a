"""Do walks step, jumps leave the floor and kicks rise? Issue 14's gait targets, measured.

Per clip (``esd.evaluation.gait``; joints (T, 22, 3), metres, y up, 20 fps):

* supporting-foot speed: the lower toe on each frame, its horizontal speed, median over frames
  (cm/s; target <= 5, no glide);
* ankle lift: each ankle's highest point above its own lowest, the smaller of the two (cm;
  target >= 8);
* pelvis speed (m/s) and HumanML3D's foot speed at detected contacts (cm/s, the older number);
* jump clearance: the lower toe's largest height above its own lowest point (cm; a jump leaves
  the floor when >= 5);
* kick height: the highest toe above the clip's floor (m; target >= 0.4).

Every number is the mean over clips with a 95% bootstrap interval, then the share of clips that
meet the target with a 95% Wilson interval.

``generated``: the base model's motions: "a person walks forward" (``--samples`` seeds,
``--seconds`` long), the walk, jump and kick families (each concept's canonical prompt and the
captions of single-concept test clips, ``esd.evaluation.plan.concept_block``, their lengths).
The walks are measured twice: as the model made them, and the same samples with their feet
planted (``esd.motion.foot_plant``, ``--plant_feet`` of ``esd.generate``), a post-process whose
cost the pelvis acceleration RMS shows (real studio walks: about 3 m/s²).
``renoise``: where in sampling the glide arises. Single-action corpus test walks (cut to the
shortest, so they batch) are encoded, noised to the timestep of DDIM step k (``q_sample``) and
denoised from there with the walk prompt (SDEdit; ``ddim_sample(start_at=k)``); k = 50 is the
VAE round trip alone. A glide that appears only from high timesteps is decided by the coarse
structure of the sample, not its last refinements.
``folder``: the clips of a HumanML3D-layout folder that ``labels.json`` labels with
``--concept`` (real takes whole; corpus clips only when they hold one segment, cut to it).

Usage:
    python benchmarks/bench_gait.py generated [--name NAME] [--samples 32] [--guidance G]
    python benchmarks/bench_gait.py renoise [--name NAME] [--data_root data/t2m_synth]
    python benchmarks/bench_gait.py folder /tmp/bandai_h3d --concept walk [--ids FILE]
    python benchmarks/bench_gait.py folder /tmp/corpus_small --concept walk
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import positive_int, run_cli, seed_int
from esd.corpus.stats import contact_skate
from esd.evaluation import gait
from esd.evaluation.gait import Summary, action_frames, summarise
from esd.motion.features import joints_to_features
from esd.motion.humanml3d import CORPUS_ROOT, JOINTS_DIR, LABELS_FILE, read_npy

# name -> (per-clip function, unit, digits, target, target is a lower bound)
Measure = tuple[Callable[[np.ndarray], float], str, int, float | None, bool]
WALK: dict[str, Measure] = {
    "supporting-foot speed": (
        gait.support_speed_cm_s, "cm/s", 1, gait.SUPPORT_SPEED_MAX_CM_S, False,
    ),
    "ankle lift (lower ankle)": (gait.ankle_lift_cm, "cm", 1, gait.ANKLE_LIFT_MIN_CM, True),
    "pelvis speed": (gait.pelvis_speed_m_s, "m/s", 2, None, True),
    "pelvis acceleration RMS": (gait.pelvis_jerkiness_m_s2, "m/s²", 2, None, True),
    "foot speed at contacts": (
        lambda j: 100 * contact_skate(j, joints_to_features(j)), "cm/s", 1, None, True,
    ),
}  # fmt: skip
JUMP: dict[str, Measure] = {
    "jump clearance": (gait.jump_clearance_cm, "cm", 1, gait.JUMP_CLEARANCE_MIN_CM, True),
}
KICK: dict[str, Measure] = {
    "kick foot height": (gait.kick_height_m, "m", 2, gait.KICK_HEIGHT_MIN_M, True),
}
BY_CONCEPT = {"walk": WALK, "jump": JUMP, "kick": KICK}
TEST_SPLIT = "test"  # renoise reads the walks of this split


def measure_clips(
    label: str, clips: Iterable[np.ndarray], measures: dict[str, Measure]
) -> dict[str, Summary]:
    """Every measure over the clips (each (T, 22, 3)), printed one line each; the summaries."""
    clips = list(clips)
    out = {}
    print(f"{label} ({len(clips)} clips):", flush=True)
    for name, (fn, unit, digits, target, at_least) in measures.items():
        summary = summarise([fn(c) for c in clips], target, at_least, name=f"{label}/{name}")
        bound = "" if target is None else f"  (target {'>=' if at_least else '<='} {target} {unit})"
        print(f"  {name:26s} {summary.line(unit, digits)}{bound}", flush=True)
        out[name] = summary
    return out


def folder_clips(root: Path, concept: str, ids: set[str] | None) -> list[np.ndarray]:
    """Joints (T, 22, 3) of the clips of ``root`` labelled ``concept`` (and in ``ids``)."""
    labels = json.loads((root / LABELS_FILE).read_text())
    clips = []
    for clip_id, entry in sorted(labels.items()):
        path = root / JOINTS_DIR / f"{clip_id}.npy"
        if concept not in entry.get("concepts", []) or not path.is_file():
            continue
        if ids is not None and clip_id not in ids:
            continue
        joints = action_frames(np.asarray(read_npy(path), dtype=np.float64), entry)
        if joints is not None and len(joints) >= 2:
            clips.append(joints)
    return clips


def load_model(args: argparse.Namespace):
    """The base model of ``--name`` / ``--checkpoints_dir`` (default: the bundled one), CPU."""
    from esd.models import checkpoints as ck
    from esd.models.generator import MotionGenerator, shared_text_encoder

    checkpoints = args.checkpoints_dir or str(ck.DEFAULT_CHECKPOINTS_DIR)
    return MotionGenerator.from_checkpoint(
        args.name or ck.BASE_MODEL_NAME, None, checkpoints, "cpu", shared_text_encoder()
    )


def generated(args: argparse.Namespace) -> dict[str, dict[str, Summary]]:
    from esd.evaluation import instruments as cli
    from esd.evaluation.plan import concept_block, place_concept
    from esd.models import checkpoints as ck
    from esd.motion.concepts import CONCEPTS

    began = time.perf_counter()
    context, _ = cli.load_context(args.checkpoints_dir or str(ck.DEFAULT_CHECKPOINTS_DIR))
    model = load_model(args)

    def crop(gen) -> list[np.ndarray]:
        return [gen.joints[i, :n].astype(np.float64) for i, n in enumerate(gen.lengths)]

    def planted(gen) -> list[np.ndarray]:  # the same samples through esd.motion.foot_plant
        return crop(gen.planted())

    results = {}
    prompt = "a person walks forward"
    gen = model.generate([prompt] * args.samples, seconds=args.seconds, seed=args.seed,
                         num_steps=args.steps, guidance_scale=args.guidance)  # fmt: skip
    results[prompt] = measure_clips(f'generated "{prompt}", {args.seconds:g} s', crop(gen), WALK)
    results[f"{prompt}, feet planted"] = measure_clips(
        "the same, feet planted (--plant_feet)", planted(gen), WALK
    )
    prompts_by_name = {c.name: c.prompt for c in CONCEPTS}
    for k, (concept, measures) in enumerate(BY_CONCEPT.items()):
        target = place_concept(context.recogniser, prompts_by_name[concept])
        block = concept_block(context.reference, target, args.samples, args.seed, 10 + k,
                              heldout=False)  # fmt: skip
        gen = model.generate(list(block.prompts), lengths=list(block.lengths), seed=block.seed,
                             num_steps=args.steps, guidance_scale=args.guidance)  # fmt: skip
        label = f"generated {concept} family (canonical prompt + test captions)"
        results[f"{concept} family"] = measure_clips(label, crop(gen), measures)
        if concept == "walk":
            results["walk family, feet planted"] = measure_clips(
                "the same, feet planted (--plant_feet)", planted(gen), measures
            )
    guidance = model.sampler.guidance if args.guidance is None else args.guidance
    print(f"({time.perf_counter() - began:.0f} s, {args.steps} DDIM steps, guidance {guidance:g})")
    return results


def renoise(args: argparse.Namespace) -> dict[str, dict[str, Summary]]:
    import torch

    from esd.models.bundled.vae import LATENT_REDUCTION
    from esd.models.diffusion import q_sample
    from esd.models.diffusion.sampling import ddim_sample, ddim_timesteps
    from esd.motion.humanml3d import FEATURES_DIR

    for name in (LABELS_FILE, f"{TEST_SPLIT}.txt"):
        if not (args.data_root / name).is_file():
            raise SystemExit(f"{args.data_root} has no {name}: give a corpus (--data_root)")
    labels = json.loads((args.data_root / LABELS_FILE).read_text())
    test = (args.data_root / f"{TEST_SPLIT}.txt").read_text().split()
    ids = [i for i in test if labels.get(i, {}).get("concepts") == ["walk"]][: args.samples]
    if not ids:
        raise SystemExit(f"{args.data_root}: no single-action walk in test.txt")
    clips = [np.load(args.data_root / FEATURES_DIR / f"{i}.npy") for i in ids]
    frames = min(len(c) for c in clips) // LATENT_REDUCTION * LATENT_REDUCTION
    model = load_model(args)
    z0 = torch.stack(model.encode_features([c[:frames] for c in clips]))  # (B, N, C)
    lengths = [frames] * len(ids)
    mask = model.latent_mask(lengths)
    cond, uncond = model.encode_prompts(["a person walks forward"] * len(ids))
    timesteps = ddim_timesteps(args.steps, model.schedule.num_steps, model.schedule.spacing)
    noise = torch.Generator().manual_seed(args.seed)
    results = {}
    for k in sorted(set(args.starts)):
        if k >= args.steps:
            z, label = z0, "VAE round trip (no noise)"
        else:
            t = timesteps[k].repeat(len(ids))
            x_t = q_sample(model.schedule, z0, t, torch.randn(z0.shape, generator=noise))
            z = ddim_sample(model.denoise_fn(mask), x_t, model.schedule, num_steps=args.steps,
                            guidance_scale=model.sampler.guidance, cond=cond, uncond=uncond,
                            mask=mask, start_at=k)  # fmt: skip
            label = f"from DDIM step {k} of {args.steps} (t = {int(timesteps[k])})"
        _, joints = model.decode(z, lengths)
        crops = [joints[i].astype(np.float64) for i in range(len(ids))]
        results[label] = measure_clips(f"{len(ids)} corpus walks, {label}", crops, WALK)
    return results


def folder(args: argparse.Namespace) -> dict[str, dict[str, Summary]]:
    ids = set(args.ids.read_text().split()) if args.ids else None
    clips = folder_clips(args.data_root, args.concept, ids)
    if not clips:
        raise SystemExit(f"no clip of {args.data_root} is labelled {args.concept!r}")
    label = f"{args.data_root} {args.concept}" + (f" (ids of {args.ids})" if args.ids else "")
    return {args.concept: measure_clips(label, clips, BY_CONCEPT[args.concept])}


def ddim_steps(text: str) -> int:
    """argparse type: a number of DDIM steps the sampler accepts (>= MIN_DDIM_STEPS)."""
    from esd.models.diffusion.sampling import MIN_DDIM_STEPS

    value = int(text)
    if value < MIN_DDIM_STEPS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_DDIM_STEPS}, got {value}")
    return value


def step_index(text: str) -> int:
    """argparse type: a DDIM step index, an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a step index must be >= 0, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generated", help="the base model's walks, jumps and kicks")
    gen.add_argument("--name", help="base model (default: the bundled one)")
    gen.add_argument("--checkpoints_dir")
    gen.add_argument("--samples", type=int, default=32, help="clips per prompt set")
    gen.add_argument("--steps", type=ddim_steps, default=50, help="DDIM steps")
    gen.add_argument("--seconds", type=float, default=4.0, help="length of the walk prompt")
    gen.add_argument("--guidance", type=float, help="CFG scale (default: the model's)")
    gen.add_argument("--seed", type=int, default=0)
    ren = sub.add_parser("renoise", help="corpus walks noised to a DDIM step, then denoised")
    ren.add_argument("--name", help="base model (default: the bundled one)")
    ren.add_argument("--checkpoints_dir")
    ren.add_argument("--data_root", type=Path, default=CORPUS_ROOT)
    ren.add_argument("--samples", type=positive_int, default=32, help="corpus walks")
    ren.add_argument("--steps", type=ddim_steps, default=50, help="DDIM steps")
    ren.add_argument("--starts", type=step_index, nargs="+", default=[50, 45, 40, 30, 20, 10, 0],
                     help="DDIM step indices to start from (>= --steps: no noise)")  # fmt: skip
    ren.add_argument("--seed", type=seed_int, default=0)
    fol = sub.add_parser("folder", help="clips of a HumanML3D-layout folder with labels.json")
    fol.add_argument("data_root", type=Path)
    fol.add_argument("--concept", choices=sorted(BY_CONCEPT), default="walk")
    fol.add_argument("--ids", type=Path, help="only the clip ids listed in this file")
    for p in (gen, ren, fol):
        p.add_argument("--json", type=Path, help="write the summaries here")
    args = parser.parse_args()
    results = {"generated": generated, "renoise": renoise, "folder": folder}[args.command](args)
    if args.json:
        from dataclasses import asdict

        from esd.common.files import atomic_write

        payload = {k: {m: asdict(s) for m, s in v.items()} for k, v in results.items()}
        atomic_write(args.json, json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    run_cli(main)
