"""``python -m esd.generate``: motions from prompts with a base model or an unlearned run.

    python -m esd.generate --name t2m_denoiser_vpred_vaegelu --prompt "a person kicking" \
        --prompt "a person jumping" --seconds 4 --seed 0 --out kicks.npy

Any model under ``--checkpoints_dir`` works, whatever its family: this project's models and
SALAD's own ``checkpoints/`` folder (``--checkpoints_dir SALAD/checkpoints``; its CLIP text
encoder from ``<checkpoints_dir>/clip-vit-base-patch32`` or ``--clip_path``). Without
``--steps`` / ``--guidance`` the model family's sampler settings apply (see ``--help``).

Writes joints ``(B, T, 22, 3)`` float32 (metres, y up, 20 fps) to ``--out``; with
``--features OUT`` also the 263-d features ``(B, T, 263)``. All prompts share one length, so the
arrays are dense. Item i starts from the noise of ``seed + i``: the same seed gives the same
motion, whatever model (base or unlearned) generates it. ``--plant_feet`` holds a foot on the
floor still (``esd.motion.foot_plant``: the root translation is corrected, the pose kept).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from esd.common.files import atomic_save
from esd.common.runtime import seed_everything
from esd.console import (
    CONSOLE,
    notice,
    plain_warnings,
    positive_float,
    positive_int,
    run_cli,
    seed_int,
)
from esd.models import checkpoints as ck
from esd.models.generator import (
    FAMILIES,
    GeneratedMotion,
    MotionGenerator,
    frames_from_seconds,
)
from esd.models.text.clip import CLIP_FOLDER, width_mismatch

MIN_SAMPLER_STEPS = 10  # fewer DDIM steps give visibly broken motion
MAX_GUIDANCE = 20.0  # larger CFG scales only saturate the motion


def family_defaults(setting: str) -> str:
    """``"bundled 2.5, salad 7.5"``: each family's default of a ``SamplerPreset`` field."""
    return ", ".join(f"{name} {getattr(f.sampler, setting)}" for name, f in FAMILIES.items())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m esd.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--name", default=ck.BASE_MODEL_NAME, help="base model or ESD run")
    p.add_argument("--ckpt", help="checkpoint file (default: net_best_fid.tar / latest.tar)")
    p.add_argument("--prompt", action="append", required=True, help="repeat for several")
    p.add_argument("--seconds", type=positive_float, default=4.0, help="2 to 9.8")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--steps", type=positive_int, default=None,
        help=f"DDIM steps (default: the model family's: {family_defaults('steps')})",
    )  # fmt: skip
    p.add_argument(
        "--guidance", type=float, default=None,
        help=f"CFG scale (default: the model family's: {family_defaults('guidance')})",
    )  # fmt: skip
    p.add_argument("--out", type=Path, required=True, help="joints .npy to write")
    p.add_argument("--features", type=Path, help="also write the 263-d features here")
    p.add_argument(
        "--plant_feet",
        action="store_true",
        help="post-process: the root is moved so the supporting foot stays where it landed "
        "(esd.motion.foot_plant); pose, heading and height are kept",
    )
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument(
        "--clip_path", type=Path,
        help=f"SALAD models: a local Hugging Face CLIP folder (default: <checkpoints_dir>/"
        f"{CLIP_FOLDER}; a hub-cache snapshot such as .../models--openai--clip-vit-base-patch32"
        "/snapshots/<rev> works)",
    )  # fmt: skip
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return p


def save_npy(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` to ``path`` atomically (temp file in the same folder, then rename)."""
    return atomic_save(path, lambda handle: np.save(handle, array))


def check_args(args: argparse.Namespace) -> None:
    """One-line errors before anything slow happens (via ValueError)."""
    frames_from_seconds(args.seconds)
    if any(not p.strip() for p in args.prompt):
        raise ValueError("a --prompt is empty; give text such as 'a person kicking'")
    if args.steps is not None and args.steps < MIN_SAMPLER_STEPS:
        raise ValueError(f"--steps must be at least {MIN_SAMPLER_STEPS}, got {args.steps}")
    if args.guidance is not None and not 0.0 <= args.guidance <= MAX_GUIDANCE:
        raise ValueError(f"--guidance must be between 0 and {MAX_GUIDANCE:g}, got {args.guidance}")
    if args.out.suffix != ".npy" or (args.features and args.features.suffix != ".npy"):
        raise ValueError("--out and --features must be .npy files")


def check_text_width(generator: MotionGenerator) -> None:
    """A CLIP folder whose token width is not the denoiser's (e.g. ViT-L's 768 for a ViT-B/32
    model) fails here with one line instead of inside the first denoiser call."""
    problem = width_mismatch(
        generator.text_encoder, getattr(generator.denoiser.cfg, "text_dim", None), "the model"
    )
    if problem:
        raise ValueError(
            f"{problem}: pass --clip_path <the CLIP folder the model was trained with>"
        )


def load_generator(args: argparse.Namespace) -> MotionGenerator:
    """The model ``--name`` (any family), its text encoder checked against its denoiser; a
    checkpoints-folder model (or a run's base) hiding a bundled one is said in one line."""
    for line in ck.shadow_notes(args.name, args.checkpoints_dir):
        notice(line)
    generator = MotionGenerator.from_checkpoint(
        args.name, args.ckpt, args.checkpoints_dir, args.device, clip_path=args.clip_path
    )
    check_text_width(generator)
    return generator


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain_warnings()

    def generate() -> tuple[MotionGenerator, GeneratedMotion, int, float]:
        """CheckpointError, bad lengths, an unwritable output: one line (``run_cli``)."""
        check_args(args)
        seed_everything(args.seed)
        generator = load_generator(args)
        steps = generator.sampler.steps if args.steps is None else args.steps
        guidance = generator.sampler.guidance if args.guidance is None else args.guidance
        motion = generator.generate(
            args.prompt, seconds=args.seconds, seed=args.seed, num_steps=steps,
            guidance_scale=guidance, plant_feet=args.plant_feet,
        )  # fmt: skip
        save_npy(args.out, motion.joints.astype(np.float32))
        if args.features:
            save_npy(args.features, motion.features.astype(np.float32))
        return generator, motion, steps, guidance

    generator, motion, steps, guidance = run_cli(generate)
    CONSOLE.print(
        f"wrote joints {tuple(motion.joints.shape)} to {args.out} ({generator.family.name} "
        f"model {args.name}: {steps} DDIM steps, guidance {guidance:g}"
        f"{', feet planted' if args.plant_feet else ''})",
        soft_wrap=True,
        markup=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
