"""Text grounding of a base model: do captions with role nouns, noun forms and objects lead to
the motion the sentence names?

Issue 14 found the bundled base turning "the fighter throws a roundhouse kick" into punches. Each
probe below is a caption of one kind and the concept it names; the model generates ``--samples``
motions per probe (one batch, seed ``--seed``, DDIM ``--steps``, the family's guidance, 4 s), the
evaluator's recogniser names each motion's concept, and the script prints per probe the share
recognised as the named concept (95% Wilson interval) and the most frequent other concept, then
the pooled share per kind. Probes were written for this benchmark; with ``--data_root`` the
script checks each against the corpus's captions and held-out phrasings and marks any probe that
occurs there verbatim (such a probe measures memory, not grounding).

Usage:
    python benchmarks/bench_grounding.py [--name NAME] [--checkpoints_dir DIR]
        [--samples 16] [--steps 50] [--seed 0] [--data_root data/t2m_synth] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esd.console import positive_int, run_cli
from esd.evaluation import instruments as cli
from esd.evaluation.recognition import wilson_interval
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator, shared_text_encoder
from esd.motion.humanml3d import HELDOUT_FILE, TEXTS_DIR

PROBE_SECONDS = 4.0  # length of every generated probe motion
ROLE, NOUN, OBJECT, VERB = "role noun", "noun form", "object", "verb form"
PROBES = (  # (caption, concept it names, kind); the first four are issue 14's own examples
    ("a martial artist delivers a high kick", "kick", ROLE),
    ("the fighter throws a roundhouse kick", "kick", ROLE),
    ("someone kicks a ball hard", "kick", OBJECT),
    ("a karate student practices kicking", "kick", VERB),
    ("a boxer lands a quick jab", "punch", ROLE),
    ("the dancer twirls around on one spot", "spin", ROLE),
    ("a sprinter races down the track", "run", ROLE),
    ("a gymnast leaps high into the air", "jump", ROLE),
    ("a soldier marches straight ahead", "walk", ROLE),
    ("a swimmer does the front crawl", "swim", ROLE),
    ("a kick", "kick", NOUN),
    ("a wave", "wave", NOUN),
    ("a jump", "jump", NOUN),
    ("a deep squat", "squat", NOUN),
    ("a polite bow", "bow", NOUN),
    ("a short walk", "walk", NOUN),
    ("a person throws a frisbee to a friend", "throw", OBJECT),
    ("a person lifts a box off the floor", "pick_up", OBJECT),
    ("a person scrambles up a rock wall", "climb", OBJECT),
    ("a person pushes a heavy cart", "push", OBJECT),
    ("a person sits on a wooden stool", "sit_down", OBJECT),
    ("a batter swings at the pitch", "swing", ROLE),
    ("someone waves a flag over their head", "wave", OBJECT),
    ("a person punches a heavy bag", "punch", OBJECT),
)  # fmt: skip


def corpus_captions(data_root: Path) -> set[str]:
    """Every caption of ``data_root/texts`` (HumanML3D lines ``caption#tokens#start#end``),
    lower-cased, plus the held-out phrasings of its reference when present."""
    seen = set()
    for file in (data_root / TEXTS_DIR).glob("*.txt"):
        for line in file.read_text(encoding="utf-8").splitlines():
            seen.add(line.split("#", 1)[0].strip().lower())
    heldout = data_root / HELDOUT_FILE
    if heldout.is_file():
        for phrasings in json.loads(heldout.read_text()).values():
            seen.update(str(p).strip().lower() for p in phrasings)
    return seen


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--name", default=ck.BASE_MODEL_NAME)
    p.add_argument("--checkpoints_dir", default=str(ck.DEFAULT_CHECKPOINTS_DIR))
    p.add_argument("--samples", type=positive_int, default=16, help="motions per probe")
    p.add_argument("--steps", type=positive_int, default=50, help="DDIM steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data_root", type=Path, help="corpus to check the probes against")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    began = time.perf_counter()
    context, _ = cli.load_context(args.checkpoints_dir)
    model = MotionGenerator.from_checkpoint(
        args.name, None, args.checkpoints_dir, "cpu", shared_text_encoder()
    )
    seen = corpus_captions(args.data_root) if args.data_root else set()
    rows, pooled = {}, defaultdict(lambda: [0, 0])
    for caption, concept, kind in PROBES:
        motion = model.generate(
            [caption] * args.samples, seconds=PROBE_SECONDS, seed=args.seed, num_steps=args.steps
        )
        named = context.recogniser.recognise(context.motion_emb(motion.features, motion.lengths))
        hits = sum(n == concept for n in named)
        others = Counter(n for n in named if n != concept).most_common(1)
        low, high = wilson_interval(hits, len(named))
        memorised = caption.lower() in seen
        rows[caption] = {"concept": concept, "kind": kind, "hits": hits, "n": len(named),
                         "rate": hits / len(named), "ci95": [low, high],
                         "other": others[0][0] if others else None,
                         "in_corpus": memorised if args.data_root else None}  # fmt: skip
        pooled[kind][0] += hits
        pooled[kind][1] += len(named)
        other = f", else {others[0][0]} {others[0][1]}" if others else ""
        flag = "  (in the corpus verbatim)" if memorised else ""
        print(f"{kind:<9} {caption!r:<46} -> {concept:<9} {hits / len(named):.2f} "
              f"[{low:.2f}, {high:.2f}]{other}{flag}", flush=True)  # fmt: skip
    kinds = {}
    for kind, (hits, n) in pooled.items():
        low, high = wilson_interval(hits, n)
        kinds[kind] = {"hits": hits, "n": n, "rate": hits / n, "ci95": [low, high]}
        print(f"{kind}: {hits}/{n} = {hits / n:.2f} [{low:.2f}, {high:.2f}]")
    print(f"model {model.source}; {time.perf_counter() - began:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"model": str(model.source), "samples": args.samples, "seed": args.seed,
               "probes": rows, "kinds": kinds}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    run_cli(main)
