"""The lexicon tagger for free prompts and its agreement report."""

from __future__ import annotations

import numpy as np
import pytest

from esd.evaluation.t2m import tagger
from esd.evaluation.t2m.tagger import tag_caption, words_of


def test_words_of_follows_the_preprocessing():
    text = "A man's left-hand, 2 kicks; don't stop! 3rd"
    assert words_of(text) == ["a", "man", "lefthand", "kicks", "do", "stop"]


@pytest.mark.parametrize(
    ("caption", "tokens"),
    [
        ("a person kicking", "a/DET person/NOUN kick/VERB"),
        ("The man is walking!", "the/DET man/NOUN is/AUX walk/VERB"),
        (
            "a person does a kick with the left leg",
            "a/DET person/NOUN do/VERB a/DET kick/NOUN with/ADP the/DET left/ADJ leg/NOUN",
        ),
        (
            "he lifted both arms over his head",
            "he/PRON lift/VERB both/DET arm/NOUN over/ADP his/DET head/NOUN",
        ),
        (
            "a figure bends over to pick something up",
            "a/DET figure/NOUN bend/VERB over/ADP to/PART pick/VERB something/PRON up/ADP",
        ),
        (
            "the person ran, then sat down",
            "the/DET person/NOUN run/VERB then/ADV sit/VERB down/ADP",
        ),
        (
            "walks in a counter-clockwise circle",
            "walk/VERB in/ADP a/DET counterclockwise/ADV circle/NOUN",
        ),
        ("someone has raised his feet", "someone/PRON has/AUX raise/VERB his/DET foot/NOUN"),
        (
            "a person walks around the room",
            "a/DET person/NOUN walk/VERB around/ADP the/DET room/NOUN",
        ),
    ],
)
def test_known_captions(caption, tokens):
    assert tag_caption(caption) == tokens.split()


def test_left_is_never_lemmatised_and_plurals_use_the_vocabulary():
    assert tag_caption("he left")[-1] == "left/ADJ"
    assert tag_caption("the boxes", vocabulary={"box"})[-1] == "box/NOUN"
    assert tag_caption("the boxes")[-1] == "boxe/NOUN"  # the plain -s rule without a vocabulary


def test_fixture_caption_is_reproduced(salad_fixture_dir):
    from esd.evaluation.t2m.vectorizer import load_word_vectorizer, pad_tokens

    with np.load(salad_fixture_dir / "reference" / "evaluator.npz") as data:
        joined = str(data["token_strings"][1])
    words = load_word_vectorizer(salad_fixture_dir / "glove")
    tokens = tag_caption("A man kicks something or someone with his left leg.", words.vocabulary)
    assert "_".join(pad_tokens(tokens)[0]) == joined


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")


def test_agreement_counts(tmp_path):
    exact = "a person walks forward"
    ours = tag_caption(exact)  # 4 tokens, reproduced exactly
    other = "a person is jumping"  # ours: jump/VERB; the file says jumping/NOUN
    ref_other = ["a/DET", "person/NOUN", "is/AUX", "jumping/NOUN"]
    pos_only = "the man kicks"  # ours: kick/VERB; the file says kick/NOUN (word right, tag wrong)
    _write(tmp_path / "000001.txt", [f"{exact}#{' '.join(ours)}#0.0#0.0", "no tokens here#"])
    _write(tmp_path / "000002.txt", [f"{other}#{' '.join(ref_other)}#0.0#0.0"])
    _write(tmp_path / "000003.txt", [f"{pos_only}#the/DET man/NOUN kick/NOUN#0.0#0.0"])
    report = tagger.tagger_agreement(tmp_path)
    assert (report.captions, report.exact_captions, report.reference_tokens) == (3, 1, 11)
    assert report.matched_tokens == 11 - 2  # jumping/NOUN and kick/NOUN differ
    assert report.matched_words == 11 - 1  # only "jumping" differs as a word
    assert report.rates()["token"] == pytest.approx(9 / 11)
    assert "3 captions" in report.line()
    assert tagger.tagger_agreement(tmp_path, limit=1).captions == 1


def test_agreement_needs_tokens(tmp_path):
    _write(tmp_path / "000001.txt", ["a caption without tokens"])
    with pytest.raises(ValueError, match="no caption with word/POS tokens"):
        tagger.tagger_agreement(tmp_path)
