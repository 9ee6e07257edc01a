"""Captions and concepts of imported clips from a labels CSV row (``esd.motion.bvh.labels``)."""

from __future__ import annotations

import pytest

from esd.motion.bvh.labels import CONTENTS, STYLES, LabelsError, label_from_row, read_labels_csv
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.keywords import caption_stems


def test_a_content_gives_its_concept_and_three_phrasings_plus_the_styled_first():
    label = label_from_row({"content": "walk-turn-left", "style": "active"}, "row 2")
    canonical = "a person walks forward and turns left"
    assert label.concepts == ("walk",)
    assert len(label.captions) == 4 and label.captions[0] == canonical
    assert label.captions[-1] == f"{canonical} energetically"
    assert len(set(label.captions)) == 4


def test_the_normal_style_and_an_unknown_one():
    assert label_from_row({"content": "bow", "style": "normal"}, "r").captions == CONTENTS["bow"][1]
    odd = label_from_row({"content": "bow", "style": "robotic"}, "r").captions
    assert odd[-1] == "a person bows in a robotic style"


def test_given_captions_and_concepts_win_over_the_content():
    row = {"content": "walk", "caption": "a person strolls | someone ambles", "concepts": "run"}
    label = label_from_row(row, "r")
    assert label.captions == ("a person strolls", "someone ambles")
    assert label.concepts == ("run",)


@pytest.mark.parametrize("content", sorted(CONTENTS))
def test_every_phrasing_names_its_action(content):
    """Each content has three distinct phrasings, each a sentence about a person, and a concept
    of the vocabulary (or none); no phrasing is another content's canonical caption."""
    concept, captions = CONTENTS[content]
    assert concept is None or concept in CONCEPT_NAMES
    assert len(captions) == 3 and len(set(captions)) == 3
    others = {c[1][0] for name, c in CONTENTS.items() if name != content}
    assert not set(captions) & others
    assert all(caption_stems(c) for c in captions)


def test_an_unknown_concept_and_an_empty_row_are_one_line(tmp_path):
    with pytest.raises(LabelsError, match="unknown concept 'flying'"):
        label_from_row({"caption": "a person flies", "concepts": "flying"}, "r")
    with pytest.raises(LabelsError, match="give a caption"):
        label_from_row({}, "r")
    csv = tmp_path / "labels.csv"
    csv.write_text("name,caption\nx.bvh,a person\n")
    with pytest.raises(LabelsError, match="'file' column"):
        read_labels_csv(csv)
    assert "energetically" in STYLES.values()
