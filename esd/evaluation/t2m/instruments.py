"""Loading the T2M run's instruments: the evaluator, GloVe, the test items, the tagger's
agreement with the data's tokens, and the bundled recogniser as an optional concept probe.

* ``load_scorer``: the evaluator and the GloVe vectoriser (T2MFilesError / GloveError /
  UnsafePickleError); ``load_t2m_instruments``: with the test items, ``T2MInstruments``
  (T2MDataError). All are ValueErrors with one line.
* ``load_concept_probe``: the bundled evaluator and its recogniser (``checkpoints/t2m/
  t2m_evaluator`` or the one in ``assets/``) placing the target and related concepts; None and a
  note when there is no bundled evaluator or a concept cannot be placed.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import torch

from esd.evaluation.instruments import evaluator_candidates, load_evaluator
from esd.evaluation.plan import place_concept
from esd.evaluation.recogniser import ConceptRecogniser
from esd.evaluation.t2m.evaluator import T2MEvaluator, T2MPaths, load_t2m_evaluator
from esd.evaluation.t2m.run import ConceptProbe, T2MInstruments
from esd.evaluation.t2m.splits import FORGET_SPLIT, RELATED_PREFIX
from esd.evaluation.t2m.tagger import tag_caption, tagger_agreement
from esd.evaluation.t2m.testset import load_test_items
from esd.evaluation.t2m.vectorizer import WordVectorizer, load_word_vectorizer
from esd.models.generator import shared_text_encoder
from esd.motion.humanml3d import TEXTS_DIR

TAGGER_SAMPLE_FILES = 500  # caption files (sorted by name) the tagger's agreement is measured on


def tagger_sample_agreement(data_root: str | Path, vocabulary: frozenset[str]) -> dict | None:
    """The lexicon tagger's agreement with the token field of the first ``TAGGER_SAMPLE_FILES``
    caption files (None when none has tokens)."""
    tag = partial(tag_caption, vocabulary=vocabulary)
    try:
        agreement = tagger_agreement(Path(data_root) / TEXTS_DIR, tag, TAGGER_SAMPLE_FILES)
    except ValueError:
        return None
    return {"captions": agreement.captions, **agreement.rates(), "line": agreement.line()}


def load_scorer(
    checkpoints_dir: str | Path, glove_dir: str | Path, device: torch.device | str = "cpu"
) -> tuple[T2MEvaluator, WordVectorizer]:
    """The evaluator (on ``device``) and the GloVe vectoriser: the quick part, checked first."""
    return load_t2m_evaluator(checkpoints_dir, device=device), load_word_vectorizer(glove_dir)


def load_t2m_instruments(
    scorer: tuple[T2MEvaluator, WordVectorizer],
    data_root: str | Path,
    checkpoints_dir: str | Path,
    glove_dir: str | Path,
) -> T2MInstruments:
    """``load_scorer``'s evaluator and vectoriser, the test items of ``data_root`` (captions
    without tokens tagged by the lexicon tagger) and the tagger's agreement with the files'
    tokens; ``checkpoints_dir`` and ``glove_dir`` are recorded."""
    evaluator, words = scorer
    items, summary = load_test_items(
        data_root, tag=partial(tag_caption, vocabulary=words.vocabulary)
    )
    info = {"evaluator_dir": str(T2MPaths.under(checkpoints_dir).matcher.parents[2])}
    info["glove_dir"] = str(glove_dir)
    info["tagger_agreement"] = tagger_sample_agreement(data_root, words.vocabulary)
    return T2MInstruments(evaluator, words, items, summary, str(data_root), data_info=info)


def _probe_functions(bundle, recogniser: ConceptRecogniser):
    @torch.no_grad()
    def embed(features: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        device = bundle.mean.device
        x = torch.as_tensor(np.asarray(features, np.float32), device=device)  # (B, T, 263)
        n = torch.as_tensor(np.asarray(lengths, np.int64), device=device)  # (B,)
        return bundle.embed_motion(x, n).float().cpu().numpy()

    return embed, recogniser.recognise


def load_concept_probe(
    checkpoints_dir: str | Path,
    target: str,
    related: list[str],
    device: torch.device | str = "cpu",
) -> tuple[ConceptProbe | None, list[str]]:
    """The bundled recogniser for the forget and related splits, and notes on what it skips."""
    path = next((p for p in evaluator_candidates(checkpoints_dir) if p.is_file()), None)
    if path is None:
        return None, ["concept rates skipped: no bundled evaluator (train one with "
                      "`python -m esd.pretrain`)"]  # fmt: skip
    bundle = load_evaluator(path)
    encoder = shared_text_encoder(device)
    recogniser = ConceptRecogniser(bundle, lambda t: encoder.sentence_embeddings(t).cpu())
    concepts, notes = {}, []
    for split, text in [(FORGET_SPLIT, target), *[(RELATED_PREFIX + t, t) for t in related]]:
        placed = place_concept(recogniser, text)
        if placed.name is None:
            notes.append(
                f"no concept rate for '{text}': the bundled recogniser cannot place it (nearest "
                f"{placed.nearest}, cosine {placed.similarity:.2f})"
            )
        else:
            concepts[split] = placed.name
    if not concepts:
        return None, notes
    embed, recognise = _probe_functions(bundle, recogniser)
    return ConceptProbe(embed, recognise, concepts, str(path)), notes
