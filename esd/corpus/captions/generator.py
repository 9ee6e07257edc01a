"""Captions of a clip: templates filled with a random subject, side, speed and repetitions.

``clip_captions`` draws distinct captions of a clip of one or two ``SegmentFacts``: a template of
each segment's concept and variant (``esd.corpus.captions.templates``) with its groups, fields and
verbs resolved, put into a sentence shape (``esd.corpus.captions.phrases``) and tidied; now and
then a single segment is described by one of its concept's canonical descriptions instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.corpus.captions.lexicon import gerund, plural_of, third_person
from esd.corpus.captions.phrases import (
    ALTERNATE_LIMBS,
    ALTERNATING,
    DESCRIPTION_SIDES,
    DESCRIPTION_VARIANTS,
    DIRECTIONS,
    GENDER_WORDS,
    LEAD_HANDS,
    LIMB_FIELDS,
    MANY_REPS_ADVERBS,
    MANY_REPS_COUNTS,
    MARKER_SIDES,
    NUMBER_WORDS,
    ONE_HANDED,
    REPS_ADVERBS,
    REPS_COUNTS,
    ROLES,
    SIDED_FIELDS,
    SILENT_COUNT,
    SINGLE_SHAPES,
    SPECIFIC_ONLY,
    SPEED_POST,
    SPEED_PRE,
    STYLE_ADVERBS,
    STYLE_TEMPLATE_VARIANTS,
    SUBJECTS,
    SWITCHED_LEADS,
    TWO_SHAPES,
    VARIANT_SIDES,
)
from esd.corpus.captions.templates import STYLE_TEMPLATES, TEMPLATES
from esd.corpus.catalog import BOTH, LEFT, PLAIN, RIGHT, SPEC_BY_NAME, SegmentFacts
from esd.motion.concepts import CONCEPT_BY_NAME

MAX_WORDS = 30  # HumanML3D captions are short
MAX_TRIES_PER_CAPTION = 40  # attempts to find a new distinct caption before giving up
FINAL_PERIOD_P = 0.15  # captions ending with "."
CANONICAL_P = 0.06  # single-segment captions that are one of the concept's descriptions
SPEED_MENTION_P = 0.75  # slow/fast segments whose caption says so
PRE_ADVERB_P = 0.5  # speed adverb before the verb ("quickly kicks") rather than after
REPS_SILENT_P = 0.3  # repeated actions whose caption leaves the count out
ONCE_P = 0.08  # single actions described with "once"
THE_POSSESSIVE_P = 0.35  # "the left leg" instead of "his/her/their left leg"
ROLE_P = 0.2  # captions whose subject is a role of the first segment's concept ("a fighter")
THE_ROLE_P = 0.3  # "the fighter" rather than "a fighter"
STYLE_MENTION_P = 0.8  # styled segments whose caption says how (the rest leave it out)
STYLE_TEMPLATE_P = 0.5  # of those: a style template ("takes a brisk walk") vs an adverb
VARIANT_WEIGHT = 2.5  # variant-specific templates are preferred over generic ones
SIDE_WEIGHT = 2.0  # templates that name the side are preferred when there is one
TWO_SEGMENTS = 2

_GROUP = re.compile(r"\[([^\[\]]*)\]")  # an innermost [a|b] group
_FIELD = re.compile(r"\{(\w+)\}")
_COUNTED = re.compile(r"\{n:([a-z ]+)\}")
_VERB = re.compile(r"<([a-z]+)(?::([a-z]+))?>")
_SHAPE_SLOT = re.compile(r"\{(s|pron|p|p1|p2)(?::([a-z]+))?\}")


@dataclass(frozen=True)
class _Voice:
    """Who a caption is about: the subject and the words that refer back to it."""

    subject: str
    possessive: str
    pronoun: str
    reflexive: str


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _pick_weighted(rng: np.random.Generator, options: Sequence[tuple[str, float]]) -> str:
    weights = np.array([w for _, w in options], dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def _voice(rng: np.random.Generator, concept: str) -> _Voice:
    """The subject: now and then a role of ``concept`` ("a fighter"), else a generic one."""
    roles = ROLES.get(concept, ())
    if roles and rng.random() < ROLE_P:
        noun, gender = roles[int(rng.integers(len(roles)))]
        article = "the" if rng.random() < THE_ROLE_P else "a"  # "a" -> "an" in _tidy
        return _Voice(f"{article} {noun}", *GENDER_WORDS[gender])
    weights = np.array([w for *_, w in SUBJECTS])
    subject, gender, _ = SUBJECTS[int(rng.choice(len(SUBJECTS), p=weights / weights.sum()))]
    return _Voice(subject, *GENDER_WORDS[gender])


def _side_ok(text: str, side: str | None) -> bool:
    """Whether the fields of ``text`` can be filled for a segment with ``side`` ({single} and
    {pair} mark words that fit one hand or both hands only)."""
    fields = set(_FIELD.findall(text))
    if any(side not in MARKER_SIDES[m] for m in fields & set(MARKER_SIDES)):
        return False
    if side is None:
        return not fields & (SIDED_FIELDS | LIMB_FIELDS)
    return side != BOTH or not fields & SIDED_FIELDS


def _without_groups(text: str) -> str:
    while _GROUP.search(text):
        text = _GROUP.sub("", text)
    return text


def _effective_side(facts: SegmentFacts) -> str | None:
    return VARIANT_SIDES.get((facts.concept, facts.variant), facts.side)


@functools.lru_cache(maxsize=1024)
def _candidates(concept: str, variant: str, side: str | None) -> tuple[tuple[str, float], ...]:
    """The templates that can describe the segment, with their selection weights."""
    groups, key = TEMPLATES[concept], (concept, variant)
    generic = () if key in SPECIFIC_ONLY else groups["*"]
    specific = () if key in ONE_HANDED and side == BOTH else groups.get(variant, ())
    tagged = [(t, 1.0) for t in generic] + [(t, VARIANT_WEIGHT) for t in specific]
    out = []
    for template, weight in tagged:
        if not _side_ok(_without_groups(template), side):
            continue
        names_side = side is not None and not _side_ok(template, None)
        out.append((template, weight * (SIDE_WEIGHT if names_side else 1.0)))
    if not out:
        raise ValueError(f"no caption template fits {concept}/{variant}/{side}")
    return tuple(out)


def _expand_groups(text: str, side: str | None, rng: np.random.Generator) -> str:
    """Resolve every [a|b] group, innermost first, skipping alternatives that need a side."""

    def choose(match: re.Match) -> str:
        options = [o for o in match.group(1).split("|") if _side_ok(o, side)]
        return _pick(rng, options)

    while _GROUP.search(text):
        text = _GROUP.sub(choose, text)
    return text


def _possessive(voice: _Voice, rng: np.random.Generator) -> str:
    return "the" if rng.random() < THE_POSSESSIVE_P else voice.possessive


def _limb(limb: str, side: str, alternating: bool, voice: _Voice, rng: np.random.Generator) -> str:
    if side != BOTH:
        return f"{_possessive(voice, rng)} {side} {limb}"
    phrase = _pick(rng, ALTERNATE_LIMBS) if alternating else "both {limbs}"
    return phrase.format(limb=limb, limbs=plural_of(limb))


def _reps_adverb(reps: int, rng: np.random.Generator) -> str:
    if reps == 1:
        return "once" if rng.random() < ONCE_P else ""
    if rng.random() < REPS_SILENT_P:
        return ""
    options = REPS_ADVERBS.get(reps, MANY_REPS_ADVERBS)
    return _pick(rng, options).format(NUMBER_WORDS[reps])


def _counted(phrase: str, reps: int, rng: np.random.Generator) -> str:
    """ "a kick", "two kicks", "a few kicks", "some kicks" for ``reps`` of ``phrase``."""
    if reps == 1:
        return f"{_pick(rng, REPS_COUNTS[1])} {phrase}"
    *head, last = phrase.split()
    plural = " ".join([*head, plural_of(last)])
    if rng.random() < REPS_SILENT_P:
        return f"{SILENT_COUNT} {plural}"
    count = _pick(rng, REPS_COUNTS.get(reps, MANY_REPS_COUNTS)).format(NUMBER_WORDS[reps])
    return f"{count} {plural}"


def _fill_fields(text: str, facts: SegmentFacts, voice: _Voice, rng: np.random.Generator) -> str:
    side = _effective_side(facts)
    alternating = (facts.concept, facts.variant) in ALTERNATING

    def field(match: re.Match) -> str:
        name = match.group(1)
        if name == "lead":
            options = SWITCHED_LEADS if side == BOTH else LEAD_HANDS
            return _pick(rng, options).format(side=side, poss=_possessive(voice, rng))
        if name in LIMB_FIELDS:
            return _limb(name, side, alternating, voice, rng)
        if name == "dir":
            return _pick(rng, DIRECTIONS).format(side=side, poss=_possessive(voice, rng))
        if name == "poss":
            return _possessive(voice, rng)
        if name == "reps":
            return " " + _reps_adverb(facts.reps, rng)
        if name in MARKER_SIDES:
            return ""
        return {"side": side, "own": voice.possessive, "self": voice.reflexive}[name]

    text = _FIELD.sub(field, text)
    return _COUNTED.sub(lambda m: _counted(m.group(1), facts.reps, rng), text)


def _with_speed(predicate: str, speed: str, rng: np.random.Generator) -> str:
    if speed not in SPEED_PRE or rng.random() >= SPEED_MENTION_P:
        return predicate
    if rng.random() < PRE_ADVERB_P:
        return f"{_pick(rng, SPEED_PRE[speed])} {predicate}"
    return f"{predicate} {_pick(rng, SPEED_POST[speed])}"


@functools.lru_cache(maxsize=256)
def _style_candidates(concept: str, variant: str, style: str, side: str | None) -> tuple:
    """The style templates that can describe the segment (none: say the style by an adverb)."""
    allowed = STYLE_TEMPLATE_VARIANTS.get(concept)
    if allowed is not None and variant not in allowed:
        return ()
    templates = STYLE_TEMPLATES.get(concept, {}).get(style, ())
    return tuple((t, 1.0) for t in templates if _side_ok(_without_groups(t), side))


def _predicate(facts: SegmentFacts, voice: _Voice, rng: np.random.Generator) -> str:
    """A predicate of the segment with its verbs still marked (``<kick>``); a styled segment
    mostly says its style, by a style template or an adverb ("walks briskly")."""
    side = _effective_side(facts)
    mention = facts.style != PLAIN and rng.random() < STYLE_MENTION_P
    styled = _style_candidates(facts.concept, facts.variant, facts.style, side) if mention else ()
    if styled and rng.random() < STYLE_TEMPLATE_P:
        template = _pick_weighted(rng, styled)
        return _fill_fields(_expand_groups(template, side, rng), facts, voice, rng)
    template = _pick_weighted(rng, _candidates(facts.concept, facts.variant, side))
    if mention:
        adverb = _pick(rng, STYLE_ADVERBS[(facts.concept, facts.style)])
        template = f"{template} {adverb}"
    text = _fill_fields(_expand_groups(template, side, rng), facts, voice, rng)
    return _with_speed(text, facts.speed, rng)


def _inflect(predicate: str, form: str) -> str:
    """Write the marked verbs of ``predicate`` in ``form`` (3sg / base / ing) unless fixed."""

    def verb(match: re.Match) -> str:
        lemma, fixed = match.group(1), match.group(2) or form
        if fixed == "ing":
            return gerund(lemma)
        return lemma if fixed == "base" else third_person(lemma)

    return _VERB.sub(verb, predicate)


def _sentence(shape: str, voice: _Voice, predicates: Sequence[str]) -> str:
    pronoun_form = "base" if voice.pronoun == "they" else "3sg"

    def slot(match: re.Match) -> str:
        name, form = match.group(1), match.group(2)
        if name == "s":
            return voice.subject
        if name == "pron":
            return voice.pronoun
        predicate = predicates[1] if name == "p2" else predicates[0]
        return _inflect(predicate, {"ing": "ing", "pron": pronoun_form}.get(form or "", "3sg"))

    return _SHAPE_SLOT.sub(slot, shape)


def _tidy(text: str, rng: np.random.Generator) -> str:
    """Single spaces, no space before commas, a/an agreement, sometimes a final period."""
    text = re.sub(r"\s+", " ", text).strip().replace(" ,", ",")
    text = re.sub(r"\ba (?=[aeiou])", "an ", text)
    text = re.sub(r"\ban (?=[^aeiou\W])", "a ", text)
    return text + "." if rng.random() < FINAL_PERIOD_P else text


def _description(facts: SegmentFacts, rng: np.random.Generator) -> str:
    options = [
        d
        for d in CONCEPT_BY_NAME[facts.concept].descriptions
        if DESCRIPTION_VARIANTS.get(d, facts.variant) == facts.variant
        and DESCRIPTION_SIDES.get(d, facts.side) == facts.side
    ]
    return _pick(rng, options)


def _one_caption(segments: Sequence[SegmentFacts], rng: np.random.Generator) -> str:
    if len(segments) == 1 and rng.random() < CANONICAL_P:
        return _tidy(_description(segments[0], rng), rng)
    voice = _voice(rng, segments[0].concept)
    predicates = [_predicate(facts, voice, rng) for facts in segments]
    shapes = SINGLE_SHAPES if len(segments) == 1 else TWO_SHAPES
    return _tidy(_sentence(_pick_weighted(rng, shapes), voice, predicates), rng)


def _check_segments(segments: Sequence[SegmentFacts]) -> None:
    if not 1 <= len(segments) <= TWO_SEGMENTS:
        raise ValueError(f"a clip has one or two segments, got {len(segments)}")
    for facts in segments:
        spec = SPEC_BY_NAME.get(facts.concept)
        if spec is None or facts.variant not in spec.variants:
            raise ValueError(f"no captions for {facts.concept!r} variant {facts.variant!r}")
        if facts.side not in (None, LEFT, RIGHT, BOTH) or facts.reps < 1:
            raise ValueError(f"invalid side or reps: {facts}")
        if facts.style not in spec.styles:
            raise ValueError(f"no captions for {facts.concept!r} style {facts.style!r}")


def clip_captions(
    segments: Sequence[SegmentFacts], rng: np.random.Generator, count: int = 3
) -> list[str]:
    """``count`` distinct HumanML3D-style captions of a clip of one or two segments.

    Raises ValueError for an invalid clip, RuntimeError when ``count`` distinct captions of at
    most MAX_WORDS words cannot be found (not for the catalog's clips and small counts)."""
    _check_segments(segments)
    captions: list[str] = []
    for _ in range(count * MAX_TRIES_PER_CAPTION):
        caption = _one_caption(segments, rng)
        if caption not in captions and len(caption.split()) <= MAX_WORDS:
            captions.append(caption)
            if len(captions) == count:
                return captions
    raise RuntimeError(f"found only {len(captions)} distinct captions of {list(segments)}")
