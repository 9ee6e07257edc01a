"""A lexicon tagger for free prompts: ``word/POS`` tokens as HumanML3D's field has them.

HumanML3D's tokens were made by spaCy ``en_core_web_sm`` (SALAD_COMPAT.md 3.3): hyphens removed,
non-alphabetic tokens dropped, NOUN and VERB lemmatised except the word "left". That model is not
installable here, so a prompt that is not a dataset caption ("a person kicking") is tagged by
rules over the lexicon of ``esd.evaluation.t2m.lexicon``:

* lower case, hyphens removed, split at spaces and punctuation, clitics ('s, n't) split off and
  dropped with every non-alphabetic token;
* closed classes and listed adjectives / adverbs from the lexicon; "to" is PART before a verb's
  base form; forms of be and modals are AUX, have / do are AUX before a participle or "not";
* a verb form (lexicon lemma, regular -s / -ing / -ed or irregular form) is a VERB, except a
  base or -s form after a determiner, adjective, number or preposition ("a kick"): a NOUN;
* other words ending in -ly are ADV; everything else is a NOUN (plural -> singular, checked
  against the GloVe vocabulary when given).

``tagger_agreement`` measures how often this reproduces the tokens of caption files that have
them (a HumanML3D ``texts/`` folder).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from esd.evaluation.t2m.lexicon import (
    ADP_BEFORE_OBJECT,
    BE_FORMS,
    HAVE_DO,
    IRREGULAR_NOUNS,
    IRREGULAR_VERBS,
    MODALS,
    NOT_ADVERBS,
    NOUN_CONTEXT,
    VERB_LEMMAS,
    WORD_TAGS,
)

KEEP_AS_IS = frozenset({"left"})  # never lemmatised (HumanML3D's rule)
VERB_SUBJECT_TAGS = frozenset({"NOUN", "PRON", "AUX", "CCONJ", "ADV", "PART"})  # then a verb
MODIFIER_TAGS = frozenset({"ADJ", "ADV"})  # skipped when looking back for a noun context
_PIECE = re.compile(r"[a-z0-9']+")
_CLITIC = re.compile(r"(n't|'[a-z]*)$")


def words_of(text: str) -> list[str]:
    """The alphabetic tokens of a caption, lower case, hyphens removed, clitics dropped."""
    words = []
    for piece in _PIECE.findall(text.lower().replace("-", "")):
        base = _CLITIC.sub("", piece)
        if base.isalpha():
            words.append(base)
    return words


def _inflection_candidates(word: str) -> Iterator[str]:
    """Possible lemmas of a regular inflected form, most literal first."""
    yield word
    if word.endswith("ies"):
        yield word[:-3] + "y"
    if word.endswith("es"):
        yield word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        yield word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)]
            yield from (stem, stem + "e")
            if len(stem) > 2 and stem[-1] == stem[-2]:
                yield stem[:-1]  # running -> run
            if stem.endswith("i"):
                yield stem[:-1] + "y"  # carried -> carry
            if stem.endswith("y"):
                yield stem[:-1] + "ie"  # lying -> lie


def verb_lemma(word: str) -> str | None:
    """The lemma of a verb form of the lexicon, or None."""
    if word in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[word]
    return next((c for c in _inflection_candidates(word) if c in VERB_LEMMAS), None)


def noun_lemma(word: str, vocabulary: Collection[str] | None = None) -> str:
    """Singular of a noun: irregular table, then -ies/-es/-s (validated by ``vocabulary``)."""
    if word in IRREGULAR_NOUNS:
        return IRREGULAR_NOUNS[word]
    if vocabulary is not None and word in vocabulary:
        return word
    if word.endswith("ies") and len(word) > 4:
        candidates = [word[:-3] + "y"]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        candidates = [word[:-1], word[:-2]] if word.endswith("es") else [word[:-1]]
    else:
        return word
    if vocabulary is None:
        return candidates[0]
    return next((c for c in candidates if c in vocabulary), candidates[0])


def _is_participle(word: str | None) -> bool:
    return word is not None and (word.endswith(("ed", "en")) or word in IRREGULAR_VERBS)


def _function_word(word: str, following: str | None) -> str | None:
    """The tag of "to", auxiliaries and lexicon words; None for open-class words."""
    if word == "to":
        return "PART" if following is not None and verb_lemma(following) == following else "ADP"
    if word in BE_FORMS or word in MODALS:
        return "AUX"
    if word in HAVE_DO:
        return "AUX" if following == "not" or _is_participle(following) else None
    if word in ADP_BEFORE_OBJECT and following is not None:
        return "ADP" if WORD_TAGS.get(following) in ("DET", "PRON", "NUM") else "ADV"
    return WORD_TAGS.get(word)


def _noun_context(previous_tags: Sequence[str]) -> bool:
    """Whether, looking back past adjectives and adverbs, a determiner, number or preposition
    comes first ("a kick", "in a counterclockwise circle")."""
    for tag in reversed(previous_tags):
        if tag not in MODIFIER_TAGS:
            return tag in NOUN_CONTEXT
    return False


def tag_word(
    word: str,
    following: str | None,
    previous_tags: Sequence[str] = (),
    vocabulary: Collection[str] | None = None,
) -> tuple[str, str]:
    """(lemma or word, universal tag) of one word after words tagged ``previous_tags``."""
    listed = _function_word(word, following)
    if listed in ("AUX", "PART"):
        return word, listed
    lemma = verb_lemma(word)
    previous_tag = previous_tags[-1] if previous_tags else None
    if lemma is not None and (listed is None or previous_tag in VERB_SUBJECT_TAGS):
        inflected = word.endswith(("ing", "ed")) or word in IRREGULAR_VERBS
        if inflected or not _noun_context(previous_tags):
            return (word if word in KEEP_AS_IS else lemma), "VERB"
        return noun_lemma(word, vocabulary), "NOUN"
    if listed is not None:
        return word, listed
    if word.endswith("ly") and len(word) > 3 and word not in NOT_ADVERBS:
        return word, "ADV"
    return (word if word in KEEP_AS_IS else noun_lemma(word, vocabulary)), "NOUN"


def tag_caption(text: str, vocabulary: Collection[str] | None = None) -> list[str]:
    """``"A person is kicking!"`` -> ``["a/DET", "person/NOUN", "is/AUX", "kick/VERB"]``."""
    words = words_of(text)
    tagged: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else None
        tagged.append(tag_word(word, following, [t for _, t in tagged], vocabulary))
    return [f"{lemma}/{tag}" for lemma, tag in tagged]


# --- agreement with caption files ---------------------------------------------------------------


@dataclass(frozen=True)
class TaggerAgreement:
    """How well the tagger reproduces the tokens of caption files."""

    captions: int  # caption lines with tokens compared
    exact_captions: int  # lines whose whole token list is reproduced
    reference_tokens: int  # tokens in the files
    matched_tokens: int  # word/POS tokens reproduced (after aligning the two lists)
    matched_words: int  # words reproduced, whatever their tag

    def rates(self) -> dict[str, float]:
        tokens = max(self.reference_tokens, 1)
        return {
            "caption_exact": self.exact_captions / max(self.captions, 1),
            "token": self.matched_tokens / tokens,
            "word": self.matched_words / tokens,
        }

    def line(self) -> str:
        r = self.rates()
        return (
            f"tagger agreement on {self.captions} captions: {r['token']:.1%} of word/POS tokens, "
            f"{r['word']:.1%} of words, {r['caption_exact']:.1%} of captions exactly"
        )


def _matched(reference: list[str], ours: list[str]) -> int:
    blocks = difflib.SequenceMatcher(None, reference, ours, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks)


def tagger_agreement(
    texts_dir: str | Path,
    tag: Callable[[str], list[str]] = tag_caption,
    limit: int | None = None,
) -> TaggerAgreement:
    """Compare ``tag(caption)`` with the token field of every ``*.txt`` line that has one.

    ``limit`` caps the number of files read (sorted by name). Raises ValueError when the folder
    holds no caption with tokens.
    """
    files = sorted(Path(texts_dir).glob("*.txt"))[:limit]
    counts = [0, 0, 0, 0, 0]  # captions, exact, reference tokens, matched tokens, matched words
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.strip().split("#")
            reference = fields[1].split() if len(fields) > 1 else []
            if not fields[0].strip() or not reference:
                continue
            ours = tag(fields[0])
            counts[0] += 1
            counts[1] += ours == reference
            counts[2] += len(reference)
            counts[3] += _matched(reference, ours)
            counts[4] += _matched(
                [t.rsplit("/", 1)[0] for t in reference], [t.rsplit("/", 1)[0] for t in ours]
            )
    if counts[0] == 0:
        raise ValueError(f"no caption with word/POS tokens in {texts_dir}/*.txt")
    return TaggerAgreement(*counts)
