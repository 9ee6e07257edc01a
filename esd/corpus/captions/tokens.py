"""HumanML3D's token field of a caption and the caption's line in a texts/ID.txt file.

``pos_tokens`` writes "a/DET person/NOUN kick/VERB ..." with a small rule-based tagger over the
lexicon of the words the captions use (``esd.corpus.captions.lexicon``; unknown words: NOUN).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from esd.corpus.captions.lexicon import (
    OTHER_WORDS,
    SUBJECT_NOUNS,
    SUBJECT_PRONOUNS,
    VERB_FORMS,
    VERBS,
)

NOUN_STOPS = frozenset({"DET", "NUM", "ADP", "VERB"})  # a verb/noun word after these is a noun
MODIFIER_TAGS = frozenset({"ADJ", "ADV", "NOUN"})  # skipped when looking for that context
SEQUENCE_ADVERBS = frozenset({"then", "first", "afterwards"})  # "then kicks": a verb follows
FALLBACK_TAG = "NOUN"
_WORD = re.compile(r"[a-z]+")


def _verb_context(tagged: Sequence[tuple[str, str]]) -> bool:
    """Whether a word that may be a verb or another part of speech is a verb here: looking back
    past modifiers, it follows a subject, a conjunction or an adverb like "then" rather than a
    determiner, a number, a preposition, an object or another verb."""
    for lemma, tag in reversed(tagged):
        if tag in NOUN_STOPS:
            return False
        if tag == "PRON":
            return lemma in SUBJECT_PRONOUNS
        if tag not in MODIFIER_TAGS or lemma in SUBJECT_NOUNS or lemma in SEQUENCE_ADVERBS:
            return True
    return True


def _tag(word: str, following: str | None, tagged: Sequence[tuple[str, str]]) -> tuple[str, str]:
    if word == "to":
        return ("to", "PART") if following in VERBS else ("to", "ADP")
    if word in VERB_FORMS and (word not in OTHER_WORDS or _verb_context(tagged)):
        return VERB_FORMS[word], "VERB"
    return OTHER_WORDS.get(word, (word, FALLBACK_TAG))


def pos_tokens(caption: str) -> str:
    """HumanML3D's token field: "lemma/TAG" per word (universal tags), punctuation dropped."""
    words = _WORD.findall(caption.lower())
    tagged: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        tagged.append(_tag(word, words[i + 1] if i + 1 < len(words) else None, tagged))
    return " ".join(f"{lemma}/{tag}" for lemma, tag in tagged)


def caption_line(caption: str) -> str:
    """One line of a HumanML3D texts/ID.txt file (the whole clip: 0.0#0.0)."""
    return f"{caption}#{pos_tokens(caption)}#0.0#0.0"
