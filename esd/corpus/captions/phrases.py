"""The words and shapes of a caption sentence around its predicates, and which templates fit
which variants: subjects and their pronouns, one- and two-segment sentence shapes, speed and
repetition words, directions and limbs (a data table read by ``esd.corpus.captions.generator``).
"""

from __future__ import annotations

from esd.corpus.catalog import BOTH, LEFT, RIGHT, SPEC_BY_NAME

# subject, gender (possessive/pronoun/reflexive), relative weight
SUBJECTS: tuple[tuple[str, str, float], ...] = (
    ("a person", "n", 6.0),
    ("someone", "n", 2.0),
    ("the person", "n", 2.0),
    ("a man", "m", 2.5),
    ("a woman", "f", 2.0),
    ("the man", "m", 1.0),
    ("the woman", "f", 1.0),
    ("a figure", "n", 1.0),
    ("a human", "n", 0.5),
    ("an individual", "n", 0.5),
)
# Roles that now and then replace the subject in a concept's captions (noun, gender), so that a
# sentence about "a fighter" or "a dancer" is read by its verb: the same roles appear with
# several concepts (a fighter kicks and punches; a dancer kicks, jumps, spins and dances).
# None of them completes a held-out phrasing of its concept (esd.corpus.captions.heldout).
ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "kick": (
        ("fighter", "n"), ("martial artist", "n"), ("karate student", "n"),
        ("kickboxer", "n"), ("soccer player", "n"), ("football player", "n"), ("dancer", "n"),
        ("athlete", "n"),
    ),
    "punch": (
        ("fighter", "n"), ("martial artist", "n"), ("karate student", "n"), ("kickboxer", "n"),
        ("boxer", "n"),
    ),
    "run": (("athlete", "n"), ("runner", "n"), ("jogger", "n")),
    "walk": (("pedestrian", "n"), ("old man", "m"), ("old woman", "f"), ("young woman", "f")),
    "jump": (("kid", "n"), ("dancer", "n")),
    "wave": (("kid", "n"), ("tourist", "n"), ("young woman", "f")),
    "raise_arms": (("student", "n"), ("kid", "n"), ("child", "n")),
    "bow": (("musician", "n"), ("gentleman", "m")),
    "spin": (("dancer", "n"), ("kid", "n")),
    "dance": (("dancer", "n"), ("teenager", "n")),
}  # fmt: skip
GENDER_WORDS = {  # possessive, pronoun, reflexive
    "m": ("his", "he", "himself"),
    "f": ("her", "she", "herself"),
    "n": ("their", "they", "themselves"),
}

# {s} subject, {pron} pronoun; {p}/{p1}/{p2} predicates; ":ing" gerund, ":pron" agrees with
# the pronoun ("they kick", "he kicks"); the plain form agrees with the subject ("kicks").
SINGLE_SHAPES: tuple[tuple[str, float], ...] = (
    ("{s} {p}", 7.0),
    ("{s} {p:ing}", 2.0),
    ("{s} is {p:ing}", 1.5),
)
TWO_SHAPES: tuple[tuple[str, float], ...] = (
    ("{s} {p1}, then {p2}", 3.0),
    ("{s} {p1} and then {p2}", 3.0),
    ("{s} {p1}, and then {p2}", 1.0),
    ("{s} first {p1}, then {p2}", 1.5),
    ("first {s} {p1}, after that {pron} {p2:pron}", 1.0),
    ("{s} {p1}, then {pron} {p2:pron}", 1.0),
    ("{s} {p1}, after which {pron} {p2:pron}", 0.7),
    ("{s} {p1} before {p2:ing}", 1.5),
    ("after {p1:ing}, {s} {p2}", 1.0),
    ("{s} {p1} and {p2}", 1.5),
    ("{s} {p1} and afterwards {p2}", 0.7),
    ("{s} {p1:ing}, then {p2:ing}", 1.0),
    ("{s} is {p1:ing} and then {p2:ing}", 0.7),
)

SPEED_PRE = {"slow": ("slowly",), "fast": ("quickly", "rapidly", "swiftly")}
SPEED_POST = {
    "slow": ("slowly", "very slowly", "at a slow pace"),
    "fast": ("quickly", "fast", "rapidly", "at a fast pace"),
}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
# repetitions as an adverb / as the count of a noun ("{}": the number word)
REPS_ADVERBS = {
    2: ("twice", "two times", "a couple of times"),
    3: ("three times", "a few times"),
    4: ("four times", "a few times", "several times"),
}
MANY_REPS_ADVERBS = ("{} times", "several times", "repeatedly", "over and over")
REPS_COUNTS = {
    1: ("a", "a", "a", "one", "a single"),
    2: ("two", "a couple of"),
    3: ("three", "a few"),
}
MANY_REPS_COUNTS = ("{}", "several", "a series of")
SILENT_COUNT = "some"  # a count left out: "throws some jabs"

DIRECTIONS = ("to the {side}", "to {poss} {side}", "toward the {side}")
LIMB_FIELDS = frozenset({"hand", "arm", "leg", "foot", "knee", "fist", "lead"})  # any side
SIDED_FIELDS = frozenset({"side", "dir"})  # need left or right
# Markers that write nothing: {single} fits one hand (left or right) only, {pair} both hands.
MARKER_SIDES = {"single": (LEFT, RIGHT), "pair": (BOTH,)}
# Variants that use both hands whatever the side (the side only says which leads).
VARIANT_SIDES = {("wave", "both_hands"): BOTH, ("push", "two_hands"): BOTH}
# One-handed variants: with side "both" the hands take turns, and the variant's own templates
# ("with one hand") do not fit, so only the generic ones describe them.
ONE_HANDED = frozenset({("wave", "one_hand"), ("push", "one_hand")})
ALTERNATING = ONE_HANDED | {("punch", variant) for variant in SPEC_BY_NAME["punch"].variants}
ALTERNATE_LIMBS = ("alternating {limbs}", "each {limb} in turn", "both {limbs}")
LEAD_HANDS = ("leading with {poss} {side} hand", "with {poss} {side} hand leading")
SWITCHED_LEADS = ("switching the lead hand", "alternating the lead hand")  # side "both"
SPECIFIC_ONLY = frozenset({("punch", "combo")})  # generic templates would name one fist only
DESCRIPTION_SIDES = {  # descriptions that only fit both hands
    "someone lifts both arms up": BOTH,
    "a person raises their hands": BOTH,
}
DESCRIPTION_VARIANTS = {  # descriptions that only fit one variant
    "a person swinging a bat": "bat",
    "someone swings a golf club": "golf",
}

# How a styled segment's caption says its manner when no style template is used: an adverb
# (phrase) after the predicate. Style templates: ``templates.STYLE_TEMPLATES``.
STYLE_ADVERBS: dict[tuple[str, str], tuple[str, ...]] = {
    ("walk", "energetic"): (
        "energetically", "briskly", "with energy", "at a brisk pace", "vigorously",
    ),
    ("walk", "tired"): ("tiredly", "wearily", "as if exhausted", "as if tired", "sluggishly"),
    ("walk", "graceful"): ("gracefully", "elegantly", "like a model"),
    ("walk", "bouncy"): (
        "cheerfully", "happily", "with a bounce in {own} step", "with a spring in {own} step",
    ),
    ("walk", "timid"): ("timidly", "hesitantly", "nervously", "cautiously", "shyly"),
    ("wave", "big"): ("enthusiastically", "high above {poss} head", "with big arm movements"),
    ("wave", "small"): ("shyly", "with a small motion", "in front of {poss} chest", "discreetly"),
}  # fmt: skip
# Concepts whose style templates only describe some variants (a styled circle walk is said
# with an adverb: "walks in a circle wearily").
STYLE_TEMPLATE_VARIANTS = {"walk": ("forward",)}
