"""Caption keywords: which captions name a concept ("a person kicking" -> the stem "kick").

The forget set of an evaluation (captions that contain the target) and the ``data`` x_t source of
ESD (clips of the concept) both select captions this way, so they always agree.
"""

from __future__ import annotations

import re

_STOPWORD_TEXT = """a an the person someone somebody man woman human people he she they it its
his her their them him is are was were be being been does do doing did make makes making made and
then while as with of to in on at by for from into one some something thing"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())  # words that never make a target keyword
_WORD = re.compile(r"[a-z]+")
_KEEP_DOUBLE = frozenset("lsz")  # "roll", "toss", "buzz" keep their double final letter


def stem(word: str) -> str:
    """A tiny suffix stripper: kicks/kicking/kicked -> kick, running -> run, lunges -> lung.

    Rules, in order: drop "ing" (words > 5 letters), "ed" (> 4), "es" (> 4) or a final "s"
    (> 3, not "ss"); undouble a final consonant pair (runn -> run, not l/s/z); drop a final
    "e" (> 3 letters). Both captions and targets go through it, so only consistency matters.
    """
    w = word.lower()
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
    elif w.endswith(("ed", "es")) and len(w) > 4:
        w = w[:-2]
    elif w.endswith("s") and len(w) > 3 and not w.endswith("ss"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou" and w[-1] not in _KEEP_DOUBLE:
        w = w[:-1]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def caption_stems(text: str) -> set[str]:
    """Stems of all words of a caption."""
    return {stem(w) for w in _WORD.findall(text.lower())}


def target_keywords(text: str) -> tuple[str, ...]:
    """Stemmed keywords of a target text: its words minus STOPWORDS, in order, unique.

    "a person kicking" -> ("kick",). Raises ValueError when nothing is left ("a person").
    """
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    keywords = tuple(dict.fromkeys(stem(w) for w in words))
    if not keywords:
        raise ValueError(
            f"target {text!r} has no keywords once stopwords are removed; name the action, "
            "e.g. 'a person kicking'"
        )
    return keywords
