"""Captions and concepts for imported clips: a labels CSV, or caption .txt files beside the BVH.

Labels CSV: one row per file, a ``file`` column (path or name; matched by file stem) and any of

    caption    one or more captions separated by ``|``
    concepts   project concept names (``esd.motion.concepts``) separated by ``;``
    content    an action name of the Bandai-Namco vocabulary (``CONTENTS``), which gives the
               concept and three phrasings when those columns are absent; ``style`` adds the
               first in that style, ``side`` is kept in labels.json

Caption files: ``NAME.txt`` beside ``NAME.bvh``, one caption per line, either plain sentences or
HumanML3D lines (``caption#tokens#start#end``: the caption is the part before the first ``#``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from esd.motion.concepts import CONCEPT_NAMES

# Bandai-Namco contents -> (concept or None, captions). Concepts are the project's vocabulary;
# "guide" (pointing the way) has none, "slash" (two-handed sword strikes) is nearest "swing".
# Several phrasings per content, the first the canonical one (which the style phrase extends):
# HumanML3D gives each clip three or more captions, and an evaluator trained on a pack whose
# every take of a content says one sentence learned that sentence as a class of its own (README,
# "Why real clips made the evaluator worse").
CONTENTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "walk": ("walk", (
        "a person walks forward", "someone walks straight ahead",
        "a person takes a few steps forward at a walking pace",
    )),
    "walk-turn-left": ("walk", (
        "a person walks forward and turns left", "someone walks ahead, then turns to the left",
        "a person walks and makes a left turn",
    )),
    "walk-turn-right": ("walk", (
        "a person walks forward and turns right", "someone walks ahead, then turns to the right",
        "a person walks and makes a right turn",
    )),
    "run": ("run", (
        "a person runs forward", "someone jogs straight ahead", "a person runs a few steps",
    )),
    "dash": ("run", (
        "a person sprints forward", "someone dashes ahead at full speed",
        "a person runs forward as fast as they can",
    )),
    "wave-left-hand": ("wave", (
        "a person waves with the left hand", "someone waves their left hand",
        "a person raises the left hand and waves it side to side",
    )),
    "wave-right-hand": ("wave", (
        "a person waves with the right hand", "someone waves their right hand",
        "a person raises the right hand and waves it side to side",
    )),
    "wave-both-hands": ("wave", (
        "a person waves with both hands", "someone waves both arms over their head",
        "a person waves hello with both hands",
    )),
    "raise-up-left-hand": ("raise_arms", (
        "a person raises the left hand", "someone lifts their left arm up",
        "a person puts the left hand up in the air",
    )),
    "raise-up-right-hand": ("raise_arms", (
        "a person raises the right hand", "someone lifts their right arm up",
        "a person puts the right hand up in the air",
    )),
    "raise-up-both-hands": ("raise_arms", (
        "a person raises both hands", "someone lifts both arms up",
        "a person puts both hands up in the air",
    )),
    "bow": ("bow", ("a person bows", "someone bows forward", "a person takes a bow")),
    "bye": ("wave", (
        "a person waves goodbye", "someone waves a hand to say goodbye",
        "a person waves farewell",
    )),
    "byebye": ("wave", (
        "a person waves goodbye with both hands", "someone waves both hands to say goodbye",
        "a person waves farewell with both arms",
    )),
    "guide": (None, (
        "a person gestures to show the way", "someone points the way with an arm",
        "a person guides someone with a sweep of the hand",
    )),
    "slash": ("swing", (
        "a person slashes with a sword held in both hands",
        "someone swings a sword with both hands", "a person strikes down with a two-handed sword",
    )),
}  # fmt: skip
STYLES: dict[str, str] = {  # style -> phrase appended to the caption ("" for none)
    "normal": "",
    "active": "energetically",
    "exhausted": "in an exhausted way",
    "tired": "tiredly",
    "feminine": "in a feminine way",
    "youthful": "in a youthful way",
    "childish": "like a child",
    "giant": "like a giant",
    "happy": "happily",
    "musical": "like in a musical",
    "not-confident": "without confidence",
}
KEPT_COLUMNS = ("content", "style", "side")  # copied into labels.json as "source"


class LabelsError(ValueError):
    """A labels CSV or caption file is unusable; the message says what to fix."""


@dataclass(frozen=True)
class ClipLabel:
    """What is known about one file."""

    captions: tuple[str, ...]  # at least one
    concepts: tuple[str, ...] = ()  # project concept names, () when unknown
    source: dict[str, str] = field(default_factory=dict)  # content / style / side from the CSV


def _split(text: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(separator) if part.strip())


def label_from_row(row: dict[str, str], where: str) -> ClipLabel:
    """A ClipLabel from one CSV row (columns as in the module doc)."""
    content = (row.get("content") or "").strip()
    style = (row.get("style") or "").strip()
    known = CONTENTS.get(content)
    captions = _split(row.get("caption") or "", "|")
    concepts = _split(row.get("concepts") or "", ";")
    if not captions and known:
        phrase = STYLES.get(style, f"in a {style} style" if style else "")
        captions = known[1] + ((f"{known[1][0]} {phrase}",) if phrase else ())
    if not captions and content:
        captions = (f"a person performs {content.replace('-', ' ')}",)
    if not captions:
        raise LabelsError(f"{where}: give a caption, or a content such as 'walk'")
    if not concepts and known and known[0]:
        concepts = (known[0],)
    unknown = [c for c in concepts if c not in CONCEPT_NAMES]
    if unknown:
        raise LabelsError(
            f"{where}: unknown concept {unknown[0]!r}; known: {', '.join(CONCEPT_NAMES)}"
        )
    source = {k: row[k].strip() for k in KEPT_COLUMNS if (row.get(k) or "").strip()}
    return ClipLabel(captions, concepts, source)


def read_labels_csv(path: str | Path) -> dict[str, ClipLabel]:
    """File stem -> ClipLabel for every row of a labels CSV."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise LabelsError(f"cannot read the labels CSV {path}: {err}") from None
    if not rows or "file" not in rows[0]:
        raise LabelsError(f"{path} needs a header with a 'file' column and at least one row")
    labels = {}
    for number, row in enumerate(rows, start=2):
        stem = Path((row.get("file") or "").strip()).stem
        if not stem:
            raise LabelsError(f"{path} line {number}: the 'file' column is empty")
        labels[stem] = label_from_row(row, f"{path} line {number}")
    return labels


def read_caption_file(path: str | Path) -> ClipLabel:
    """The captions of a ``NAME.txt`` beside ``NAME.bvh`` (plain or HumanML3D lines)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise LabelsError(f"cannot read the caption file {path}: {err}") from None
    captions = tuple(c for line in lines if (c := line.split("#", 1)[0].strip()))
    if not captions:
        raise LabelsError(f"{path} holds no caption; write one sentence per line")
    return ClipLabel(captions)
