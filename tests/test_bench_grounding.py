"""The text-grounding probes (benchmarks/bench_grounding.py): each names a known concept, the
kinds issue 14 asks about are all there, and the corpus check reads captions and held-out
phrasings the way the HumanML3D layout stores them."""

import importlib.util
import json
from pathlib import Path

from esd.motion.concepts import CONCEPT_NAMES

_SPEC = importlib.util.spec_from_file_location(
    "bench_grounding", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_grounding.py"
)
bench_grounding = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_grounding)


def test_every_probe_names_a_known_concept_once():
    captions = [caption for caption, _, _ in bench_grounding.PROBES]
    assert len(set(captions)) == len(captions)
    assert {concept for _, concept, _ in bench_grounding.PROBES} <= set(CONCEPT_NAMES)
    kinds = {kind for _, _, kind in bench_grounding.PROBES}
    assert {bench_grounding.ROLE, bench_grounding.NOUN, bench_grounding.OBJECT} <= kinds
    issue = {"a martial artist delivers a high kick", "the fighter throws a roundhouse kick"}
    assert issue <= set(captions)


def test_the_corpus_check_reads_captions_and_heldout_phrasings(tmp_path):
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "000001.txt").write_text(
        "A person kicks#a/DET person/NOUN kick/VERB#0.0#0.0\nsomeone waves#x#0.0#0.0\n"
    )
    (tmp_path / "heldout.json").write_text(json.dumps({"kick": ["the fighter kicks high"]}))
    seen = bench_grounding.corpus_captions(tmp_path)
    assert seen == {"a person kicks", "someone waves", "the fighter kicks high"}
    assert bench_grounding.corpus_captions(tmp_path / "missing") == set()
