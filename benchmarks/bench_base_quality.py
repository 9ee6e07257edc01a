"""Quality of a base model per concept: is each concept generated, and does it look physical?

1. Concept families: for every concept of the vocabulary, ``--samples`` prompts cycling over its
   canonical prompt and captions of single-concept test clips
   (``esd.evaluation.plan.concept_block`` without held-out phrasings), and separately its
   held-out phrasings; the share of generated motions the evaluator's recogniser assigns to the
   concept, and the concept it names most often instead.
2. Physics of three families, from the generated joints: kicks (the highest foot above the
   floor), jumps (the highest clearance of the lower foot: both feet off the floor), walks (foot
   speed on the frames HumanML3D's velocity rule labels as contacts: foot skate, cm/s; the
   corpus's own clips give 1.8 cm/s, see ``python -m esd.corpus --summary``) and the lowest
   joint of those generated motions.

Usage:
    python benchmarks/bench_base_quality.py [--name NAME] [--samples 32] [--steps 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import run_cli
from esd.corpus.stats import FOOT_JOINTS, contact_skate
from esd.evaluation import instruments as cli
from esd.evaluation.measure import generate_embeddings
from esd.evaluation.plan import concept_block, place_concept
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.motion.concepts import CONCEPTS
from esd.motion.features import joints_to_features
from esd.motion.skeleton import JOINT_INDEX

PHYSICS_FAMILIES = ("kick", "jump", "walk")
BALLS_OF_FEET = [JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"]]


def heldout_prompts(reference, name: str, count: int) -> list[str]:
    """``count`` prompts cycling over the held-out phrasings of ``name``."""
    phrasings = reference.heldout.get(name, ())
    return [phrasings[i % len(phrasings)] for i in range(count)] if phrasings else []


def physics(joints: np.ndarray, lengths: np.ndarray, family: str) -> float:
    """The family's number (module docstring), averaged over the clips."""
    values = []
    for clip, n in zip(joints, lengths):
        clip = clip[:n]
        feet = clip[:, list(FOOT_JOINTS), 1]  # (T, 4) heights
        if family == "kick":
            values.append(float(clip[:, BALLS_OF_FEET, 1].max()))
        elif family == "jump":
            values.append(float(feet.min(axis=1).max()))
        else:
            values.append(100 * contact_skate(clip, joints_to_features(clip)))
    return float(np.mean(values))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--name", default=ck.BASE_MODEL_NAME)
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    began = time.perf_counter()
    context, _ = cli.load_context(args.checkpoints_dir)
    model = MotionGenerator.from_checkpoint(
        args.name, None, args.checkpoints_dir, "cpu", shared_text_encoder()
    )
    settings = EvalSettings.full(ddim_steps=args.steps)
    rows, physical, lowest = {}, {}, []
    for k, concept in enumerate(CONCEPTS):
        target = place_concept(context.recogniser, concept.prompt)
        block = concept_block(context.reference, target, args.samples, 0, 10 + k, heldout=False)
        emb = generate_embeddings(model, block, context, settings)
        family_rate = context.recogniser.rate(emb, concept.name)
        misses = Counter(n for n in context.recogniser.recognise(emb) if n != concept.name)
        other = misses.most_common(1)[0] if misses else None
        held = heldout_prompts(context.reference, concept.name, args.samples // 2)
        motion = model.generate(held, seconds=4.0, seed=0, num_steps=args.steps) if held else None
        held_rate = None
        if motion is not None:
            held_emb = context.motion_emb(motion.features, motion.lengths)
            held_rate = context.recogniser.rate(held_emb, concept.name)
        rows[concept.name] = {"family": family_rate, "heldout": held_rate,
                              "other": other[0] if other else None}  # fmt: skip
        print(f"{concept.name:<12} family {family_rate:.2f}  held-out "
              f"{'-' if held_rate is None else f'{held_rate:.2f}'}"
              f"{f'  (else {other[0]} {other[1]})' if other else ''}", flush=True)  # fmt: skip
        if concept.name in PHYSICS_FAMILIES:
            gen = model.generate(list(block.prompts), lengths=list(block.lengths), seed=0,
                                 num_steps=args.steps)  # fmt: skip
            physical[concept.name] = physics(gen.joints, gen.lengths, concept.name)
            lowest += [float(gen.joints[i, :n, :, 1].min()) for i, n in enumerate(gen.lengths)]
    families = [r["family"] for r in rows.values()]
    print(f"concept families recognised as themselves: mean {np.mean(families):.2f}, "
          f"min {min(families):.2f}; families >= 0.8: {sum(f >= 0.8 for f in families)}/"
          f"{len(families)}")  # fmt: skip
    print(f"kicks: highest foot {physical['kick']:.2f} m; jumps: lower-foot clearance "
          f"{physical['jump']:.2f} m; walks: foot speed at contacts {physical['walk']:.1f} cm/s; "
          f"lowest joint {min(lowest):.3f} m ({time.perf_counter() - began:.0f} s)")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"concepts": rows, "physics": physical, "lowest_joint_m": min(lowest)}
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    run_cli(main)
