"""HumanML3D-style captions of generated clips, held-out phrasings and POS token fields.

``clip_captions`` describes a clip (one segment, or two composed: "a person walks forward, then
kicks with the right leg") from its ``SegmentFacts``: lower case, a varied subject ("a person",
"a man", "someone", ...), present tense or "-ing" forms, the side, variant, speed and repetitions
where they matter, and the two segments joined by "then", "before", "after that"...

Templates are small predicate patterns per concept and variant ("*": any variant):

* ``<kick>`` a verb, inflected for the sentence ("kicks", "kicking", "kick"); ``<touch:base>``
  keeps one form ("to touch");
* ``[a|b|]`` one alternative at random (an empty one makes the group optional); groups nest;
* ``{poss}`` a possessive ("his", "their", "the"), ``{own}`` the subject's ("his"), ``{self}``
  the reflexive, ``{side}`` left/right, ``{dir}`` a direction ("to the left"), ``{hand}``
  ``{arm}`` ``{leg}`` ``{foot}`` ``{knee}`` ``{fist}`` a limb ("his left leg", "both hands",
  "alternating fists"), ``{lead}`` the lead hand of a combination, ``{reps}`` the repetitions
  as an adverb ("twice", often nothing) and ``{n:noun phrase}`` a counted noun ("three jabs",
  "a few jabs").

A template that needs a side only applies to segments with one; alternatives that need a side
are skipped for segments without. The vocabulary of each concept stays its own (a jump caption
never says "kick"), and ``HELDOUT_PHRASINGS`` holds sentences no caption can be: the
concept's own verb in everyday contexts ("a soccer player kicks a ball") with nouns and shapes its
templates never use, so the evaluation can test that an erasure reaches unseen phrasings that the
base model still understands (bare synonyms such as "punts" it never learnt to read).

``pos_tokens`` writes HumanML3D's token field ("a/DET person/NOUN kick/VERB ...") with a small
rule-based tagger over the lexicon of the words used here (unknown words: NOUN).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from esd.corpus.catalog import BOTH, LEFT, RIGHT, SPEC_BY_NAME, SegmentFacts
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
VARIANT_WEIGHT = 2.5  # variant-specific templates are preferred over generic ones
SIDE_WEIGHT = 2.0  # templates that name the side are preferred when there is one
TWO_SEGMENTS = 2

# --- sentences ----------------------------------------------------------------------------------

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
DESCRIPTION_VARIANTS = {  # descriptions that only fit one variant
    "a person swinging a bat": "bat",
    "someone swings a golf club": "golf",
}

# --- templates ----------------------------------------------------------------------------------

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "walk": {
        "*": ("<walk>", "<walk> [a few|several|some] steps", "<take> a [short|little|] walk"),
        "forward": (
            "<walk> [forward|forwards|ahead|straight ahead|straight forward]",
            "<walk> [forward|ahead] in a straight line",
            "<take> [a few|several|some] steps [forward|ahead]",
            "<walk> [forward|straight ahead] [across the room|for a few steps]",
            "<step> forward [a few times|]",
            "<head> [forward|straight ahead] at a walking pace",
        ),
        "backward": (
            "<walk> [backward|backwards|in reverse]",
            "<take> [a few|several|some|small] steps [backward|back|backwards]",
            "<step> [backward|back] [a few times|]",
            "<walk> back [a few steps|]",
            "<retreat> [a few steps|backward]",
            "<move> backward with small steps",
        ),
        "sideways": (
            "<walk> sideways [{dir}|]",
            "<step> sideways [{dir}|]",
            "<take> [a few|several|some] [side steps|steps sideways] [{dir}|]",
            "<shuffle> sideways [{dir}|]",
            "<sidestep> {dir}",
            "<move> [sideways|laterally] {dir}",
            "<walk> {dir} [sideways|with side steps]",
        ),
        "circle": (
            "<walk> [around|] in a [small|big|wide|large|] circle [{dir}|]",
            "<walk> [around|] in a circular path [{dir}|]",
            "<walk> a [full|complete|] loop [{dir}|]",
            "<walk> around in a loop",
            "<walk> in a circle, <turn:ing> {side}",
            "<go> around in a [small|wide|big|] circle [{dir}|]",
        ),
        "turn": (
            "<walk> [forward|ahead|] and <turn> {side}",
            "<walk> [forward|ahead|] and <turn> [around|back]",
            "<walk> [forward|ahead|] and <make> a [sharp|] {side} turn",
            "<walk> [forward|ahead|] before <turn:ing> {dir}",
            "<walk> [forward|ahead|] and <change> direction",
            "<walk> [forward|ahead|], <turn:ing> {dir}",
            "<turn> {side} [while <walk:ing>|and <keep> <walk:ing>]",
        ),
    },
    "run": {
        "*": (
            "<run>",
            "<run> [for a bit|for a moment|a short distance]",
            "<go> for a [short|] run",
            "<run> [along|] at a [steady|good] pace",
        ),
        "forward": (
            "<run> [forward|ahead|straight ahead|straight forward]",
            "<run> [forward|ahead] in a straight line",
            "<run> [forward|] [across the room|a short distance]",
            "<break> into a run",
            "<take> a few running steps [forward|]",
        ),
        "jog": (
            "<jog> [forward|ahead|along|]",
            "<jog> [lightly|at an easy pace|at a steady pace]",
            "<go> for a [short|light|] jog",
            "<do> a [light|short|] jog",
            "<run> at a [light|] jogging pace",
            "<jog> [forward|] [for a bit|for a moment]",
        ),
        "circle": (
            "<run> [around|] in a [small|big|wide|large|] circle [{dir}|]",
            "<run> around in circles",
            "<run> [around|] in a loop [{dir}|]",
            "<run> [around|] in a circular path [{dir}|]",
            "<jog> around in a circle [{dir}|]",
        ),
    },
    "jump": {
        "*": (
            "<jump>{reps}",
            "<jump> up and down{reps}",
            "<do> {n:jump}",
            "<jump> [up|] [into the air|off the ground]{reps}",
        ),
        "in_place": (
            "<jump> [up|] [in place|on the spot]{reps}",
            "<jump> straight up{reps}",
            "<do> {n:vertical jump}",
            "<jump> [up|] with both feet{reps}",
            "<do> {n:jump} [in place|on the spot]",
            "<jump> up and <land> in the same spot{reps}",
        ),
        "forward": (
            "<jump> [forward|ahead]{reps}",
            "<do> {n:forward jump}",
            "<jump> [forward|ahead] with both feet{reps}",
            "<do> {n:long jump}",
            "<take> {n:jump} forward",
            "<jump> [forward|ahead] a short distance{reps}",
        ),
        "hop": (
            "<hop>{reps}",
            "<hop> on {leg}{reps}",
            "<hop> on {poss} {side} foot{reps}",
            "<hop> on one [leg|foot]{reps}",
            "<do> {n:hop} [on {leg}|on one leg]",
            "<jump> on one [leg|foot]{reps}",
            "<hop> [up and down|in place] on {foot}",
        ),
        "jumping_jacks": (
            "<do> {n:jumping jack}",
            "<perform> {n:jumping jack}",
            "<do> [a set of|some] jumping jacks",
            "<jump> [up|] while <spread:ing> {poss} arms and legs{reps}",
            "<jump> and <spread> {poss} arms and legs{reps}",
            "<jump> [up|], <open:ing> and <close:ing> {poss} arms and legs{reps}",
        ),
    },
    "kick": {
        "*": (
            "<kick>{reps}",
            "<kick> with {leg}{reps}",
            "<kick> [out|forward|] with {foot}{reps}",
            "<kick> {poss} {side} leg [out|forward|up]{reps}",
            "<do> {n:kick} [with {leg}|]",
            "<perform> {n:kick} [with {leg}|]",
            "<kick> [at|into] the air [with {leg}|]{reps}",
            "<do> {n:{side} kick}",
        ),
        "front": (
            "<kick> [straight|] [forward|ahead] [with {leg}|]{reps}",
            "<do> {n:front kick} [with {leg}|]",
            "<perform> {n:front kick}",
            "<do> {n:{side} front kick}",
            "<kick> [straight|] out in front [with {leg}|]{reps}",
            "<snap> {leg} forward{reps}",
        ),
        "side": (
            "<kick> [out|] to the side [with {leg}|]{reps}",
            "<do> {n:side kick} [with {leg}|]",
            "<kick> sideways [with {leg}|]{reps}",
            "<perform> {n:side kick} {dir}",
            "<kick> {dir} [with {leg}|]{reps}",
            "<do> {n:{side} side kick}",
        ),
        "roundhouse": (
            "<do> {n:roundhouse kick} [with {leg}|]",
            "<perform> {n:roundhouse kick}",
            "<do> {n:roundhouse} [with {leg}|]",
            "<kick> in a [circular|sweeping|wide|] arc [with {leg}|]{reps}",
            "<pivot> and <kick> [around|] with {leg}{reps}",
            "<do> {n:{side} roundhouse kick}",
            "<pivot> on {poss} [standing|support] foot and <kick>{reps}",
        ),
    },
    "punch": {
        "*": (
            "<punch>{reps}",
            "<punch> with {fist}{reps}",
            "<punch> [forward|straight ahead|the air|at the air]{reps}",
            "<throw> {n:punch} [with {hand}|]",
            "<punch> [forward|] with {hand}{reps}",
            "<punch> [the air|forward] like a boxer",
            "<do> {n:punch} [with {fist}|]",
        ),
        "jab": (
            "<jab> [forward|] [with {hand}|]{reps}",
            "<throw> {n:jab} [with {hand}|]",
            "<throw> {n:{side} jab}",
            "<jab> [at the air|straight ahead]{reps}",
            "<do> {n:jab} [with {fist}|]",
        ),
        "cross": (
            "<throw> {n:cross} [with {hand}|]",
            "<throw> {n:{side} cross}",
            "<throw> {n:cross punch} [with {hand}|]",
            "<punch> across {poss} body [with {hand}|]{reps}",
            "<do> {n:straight punch} [with {hand}|]",
            "<punch> straight [forward|ahead] [with {fist}|]{reps}",
        ),
        "hook": (
            "<throw> {n:hook} [with {hand}|]",
            "<throw> {n:{side} hook}",
            "<do> {n:hook punch} [with {hand}|]",
            "<punch> [in a curve|from the side] [with {hand}|]{reps}",
            "<throw> {n:hook punch} [with {fist}|]",
        ),
        "uppercut": (
            "<throw> {n:uppercut} [with {hand}|]",
            "<do> {n:uppercut}",
            "<throw> {n:{side} uppercut}",
            "<punch> upward [with {hand}|]{reps}",
            "<punch> up [from below|] [with {fist}|]{reps}",
        ),
        "combo": (
            "<throw> {n:punch combination} [{lead}|]",
            "<throw> a [flurry|series|combination] of punches",
            "<throw> {n:jab and cross combination} [{lead}|]",
            "<do> {n:punching combo}",
            "<punch> [several times|repeatedly] in a combination",
            "<throw> {n:combination} of punches [{lead}|]",
            "<mix> [jabs|punches] and hooks [together|]",
        ),
    },
    "lunge": {
        "*": (
            "<lunge>{reps}",
            "<lunge> with {leg}{reps}",
            "<do> {n:lunge} [with {leg}|]",
            "<perform> {n:lunge} [with {leg}|]",
            "<step> into a lunge{reps}",
            "<do> {n:{side} leg lunge}",
            "<lunge> [deeply|low]{reps}",
            "<hold> a lunge [on {leg}|] for a moment",
        ),
        "forward": (
            "<lunge> forward [with {leg}|]{reps}",
            "<step> forward [with {leg}|] into a lunge{reps}",
            "<do> {n:forward lunge} [with {leg}|]",
            "<step> [forward|ahead] and <lunge>{reps}",
            "<lunge> forward on {leg}{reps}",
            "<take> a [big|long|deep] step forward into a lunge",
        ),
        "side": (
            "<lunge> [out|] to the side [with {leg}|]{reps}",
            "<do> {n:side lunge} [{dir}|]",
            "<lunge> {dir}{reps}",
            "<step> out {dir} into a lunge{reps}",
            "<step> [out|] to the side and <lunge>{reps}",
            "<perform> {n:side lunge} [with {leg}|]",
        ),
    },
    "squat": {
        "*": (
            "<squat>{reps}",
            "<squat> down{reps}",
            "<do> {n:squat}",
            "<perform> {n:squat}",
            "<squat> down and <come> back up{reps}",
            "<lower> into a squat [and <come> back up|]",
            "<bend> {poss} knees into a squat",
            "<drop> into a squat{reps}",
        ),
        "arms_forward": (
            "<squat>{reps} with {poss} arms [out in front|extended forward|straight out in front]",
            "<do> {n:squat} with {poss} arms [out in front|forward]",
            "<squat> [down|] while <hold:ing> {poss} arms [out|straight] in front{reps}",
            "<squat> [down|] and <reach> {poss} arms forward{reps}",
            "<extend> {poss} arms forward and <squat>{reps}",
        ),
        "hands_on_hips": (
            "<squat>{reps} with {poss} hands on {poss} hips",
            "<do> {n:squat} with hands on hips",
            "<put> {poss} hands on {poss} hips and <squat> [down|]{reps}",
            "<squat> [down|] with {poss} hands <rest:ing> on {poss} hips",
            "<place> {poss} hands on {poss} hips and <do> {n:squat}",
        ),
        "deep": (
            "<do> {n:deep squat}",
            "<squat> [down|] [deeply|low|all the way down]{reps}",
            "<sink> [down|] into a deep squat",
            "<squat> [down|] as low as possible{reps}",
            "<drop> [down|] into a deep squat{reps}",
            "<perform> {n:deep squat}",
        ),
    },
    "wave": {
        "*": (
            "<wave>{reps}",
            "<wave> [hello|goodbye]",
            "<wave> [hello|goodbye|] with {hand}",
            "<wave> {hand} [in the air|]{reps}",
            "<wave> [at someone|to someone|to a friend]",
            "<wave> [back and forth|from side to side]{reps}",
            "<give> {n:wave} [with {hand}|]",
        ),
        "one_hand": (
            "<wave> {poss} [{side}|] hand [in the air|above {poss} head|]{reps}",
            "<wave> with one hand{reps}",
            "<wave> [hello|goodbye] with one hand",
            "<give> a [friendly|little|] wave with {hand}",
        ),
        "both_hands": (
            "<wave> with both hands [above {poss} head|in the air|]{reps}",
            "<wave> both [hands|arms] [overhead|in the air|]{reps}",
            "<wave> [hello|goodbye] with both hands",
            "<give> a big wave with both hands",
            "<wave> both arms [back and forth|from side to side]",
        ),
    },
    "raise_arms": {
        "*": (
            "<raise> {poss} arms{reps}",
            "<raise> both arms{reps}",
            "<lift> [both|{poss}] arms [up|]{reps}",
            "<raise> {poss} hands{reps}",
            "<raise> {poss} arms and <lower> them [again|back down]{reps}",
        ),
        "overhead": (
            "<raise> [both|{poss}] arms [overhead|above {poss} head|up high|straight up]{reps}",
            "<lift> {poss} hands [over|above] {poss} head{reps}",
            "<put> {poss} hands up [in the air|]{reps}",
            "<hold> {poss} arms up [overhead|above {poss} head]",
            "<raise> {poss} arms toward the ceiling{reps}",
        ),
        "forward": (
            "<raise> [both|{poss}] arms [forward|in front of {poss} body|straight out in front]"
            "{reps}",
            "<lift> {poss} arms [straight|] forward{reps}",
            "<raise> {poss} arms [up|] to shoulder height in front{reps}",
            "<hold> {poss} arms out in front",
        ),
        "sideways": (
            "<raise> [both|{poss}] arms [out|] to the sides{reps}",
            "<lift> {poss} arms sideways{reps}",
            "<raise> {poss} arms [out|] sideways [to shoulder height|]{reps}",
            "<spread> {poss} arms [out|wide] to the sides",
            "<lift> both arms out to the side{reps}",
        ),
    },
    "clap": {
        "*": (
            "<clap>{reps}",
            "<clap> {poss} hands{reps}",
            "<clap> {poss} hands together{reps}",
            "<bring> {poss} hands together [in a clap|]{reps}",
            "<clap> [along|] [to a beat|to the rhythm]",
            "<give> {n:clap}",
        ),
        "in_front": (
            "<clap> [{poss} hands|] in front of {poss} [chest|body]{reps}",
            "<clap> [{poss} hands|] at chest height{reps}",
        ),
        "overhead": (
            "<clap> [{poss} hands|] [above {poss} head|overhead|over {poss} head]{reps}",
            "<clap> with {poss} hands [up|] above {poss} head{reps}",
            "<clap> high above {poss} head{reps}",
        ),
    },
    "sit_down": {
        "*": (
            "<sit> down",
            "<sit> down on a chair",
            "<sit> [down|] [on|in] [a|the] chair",
            "<take> a seat [on a chair|]",
            "<lower> {self} [down|] into a chair",
            "<bend> {poss} knees and <sit> down",
            "<sit> [down|] on a seat",
            "<settle> [down|] into a chair",
            "<ease> {self} down onto a chair",
        ),
    },
    "stand_up": {
        "*": (
            "<stand> up",
            "<stand> up from [a|the] chair",
            "<get> up [from the chair|out of the chair|]",
            "<rise> [up|] from [a|the] chair",
            "<get> to {own} feet",
            "<rise> to {own} feet",
            "<stand> [back|] up [straight|]",
            "<come> up to a standing position",
        ),
    },
    "kneel": {
        "*": (
            "<kneel> [down|]",
            "<kneel> down on the [floor|ground]",
            "<go> down into a kneeling position",
            "<lower> {self} down to the [floor|ground]",
        ),
        "one_knee": (
            "<kneel> [down|] on one knee",
            "<kneel> [down|] on {knee}",
            "<drop> [down|] to {knee}",
            "<go> down on one knee",
            "<take> a knee",
            "<lower> {poss} {side} knee to the [floor|ground]",
            "<step> [back|forward] and <kneel> on one knee",
        ),
        "both_knees": (
            "<kneel> [down|] on both knees",
            "<drop> to {own} knees",
            "<go> down on both knees",
            "<get> down on {own} knees",
            "<kneel> all the way down on both knees",
        ),
        "crouch": (
            "<crouch> [down|]",
            "<crouch> [down|] low",
            "<crouch> [down|] close to the [floor|ground]",
            "<drop> into a crouch",
            "<get> into a low crouch",
            "<crouch> [down|] and <come> back up",
        ),
    },
    "bow": {
        "*": (
            "<bow>{reps}",
            "<bow> [down|forward]{reps}",
            "<bend> forward [at the waist|] [to <bow:base>|in a bow]",
            "<take> a bow",
            "<do> {n:bow}",
            "<give> a [polite|formal|] bow",
            "<bow> {poss} head [forward|]{reps}",
        ),
        "slight": (
            "<bow> slightly{reps}",
            "<give> {n:slight bow}",
            "<bow> [{poss} head|] a little{reps}",
            "<do> {n:small bow}",
            "<lean> forward a little in a bow",
        ),
        "deep": (
            "<bow> deeply{reps}",
            "<do> {n:deep bow}",
            "<bend> [far|low] forward [at the waist|] in a deep bow",
            "<bow> [down|] low{reps}",
            "<give> a deep bow",
        ),
    },
    "spin": {
        "*": (
            "<spin> [around|]{reps}",
            "<spin> {dir}{reps}",
            "<spin> [around|] in place [{dir}|]{reps}",
            "<turn> [all the way|] around in place{reps}",
            "<do> {n:spin} [{dir}|]",
            "<make> {n:full turn} [{dir}|]",
            "<spin> [around|] on the spot{reps}",
            "<do> {n:full spin} [in place|]",
            "<turn> {dir} in a full circle",
        ),
    },
    "throw": {
        "*": (
            "<throw> [something|a ball|an object]{reps}",
            "<throw> [a ball|something] with {hand}{reps}",
            "<toss> [a ball|something] [with {hand}|]",
            "<throw> [something|a ball] [forward|ahead]{reps}",
            "<make> {n:throwing motion} [with {arm}|]",
            "<throw> with {arm}{reps}",
        ),
        "overhand": (
            "<throw> [a ball|something] overhand [with {hand}|]",
            "<throw> overhand{reps}",
            "<make> {n:overhand throw}",
            "<throw> [something|a ball] from above {poss} shoulder",
            "<wind> up and <throw> [a ball|something] [with {hand}|]",
        ),
        "underhand": (
            "<throw> [a ball|something] underhand [with {hand}|]",
            "<toss> [a ball|something] underhand",
            "<make> {n:underhand throw}",
            "<throw> [a ball|] with an underhand motion",
            "<toss> [something|a ball] from below {poss} waist",
        ),
    },
    "stretch": {
        "*": (
            "<stretch>",
            "<stretch> [out|] {poss} body",
            "<do> a [light|short|good] stretch",
            "<stretch> [out|] {poss} muscles",
        ),
        "overhead": (
            "<stretch> {poss} arms [overhead|up high|above {poss} head]",
            "<stretch> upward",
            "<reach> [up|] [overhead|high|toward the ceiling] and <stretch>",
            "<stretch> {arm} [up|] [overhead|above {poss} head]",
            "<do> an overhead stretch [with {arm}|]",
            "<reach> up high [with {arm}|] to <stretch:base>",
        ),
        "side_bend": (
            "<bend> [to the side|sideways] to <stretch:base>",
            "<bend> {dir} [to <stretch:base>|]",
            "<lean> {dir} [in a side stretch|to <stretch:base> {poss} side]",
            "<do> a side stretch [{dir}|]",
            "<stretch> {dir}",
            "<stretch> {poss} side [by <bend:ing> {dir}|]",
        ),
        "toe_touch": (
            "<touch> {poss} toes",
            "<bend> down to <touch:base> {poss} toes",
            "<bend> [down|forward] and <touch> {poss} toes",
            "<reach> down [to|toward] {poss} toes",
            "<reach> down to {poss} {side} foot",
            "<do> a toe touch",
            "<stretch> down to {poss} toes",
            "<touch> the toes of {poss} {side} foot",
        ),
    },
    "dance": {
        "*": (
            "<dance>",
            "<dance> around",
            "<dance> [happily|energetically|cheerfully]",
            "<dance> to [the music|a song|some music]",
            "<do> a little dance",
            "<move> to the [music|beat|rhythm]",
            "<dance> in place",
            "<dance> [around|] to the beat",
        ),
        "groove": (
            "<groove> to the [music|beat]",
            "<sway> [{poss} hips|] to the [beat|music]",
            "<bob> [{poss} head|] to the beat",
            "<dance> with a [relaxed|loose|] groove",
            "<groove> [along|] to a song",
        ),
        "twist": (
            "<do> the twist",
            "<dance> the twist",
            "<twist> {poss} hips [to the music|]",
            "<twist> [from side to side|back and forth]",
            "<twist> {poss} [hips|body|torso] while <dance:ing>",
        ),
        "disco": (
            "<do> a disco dance",
            "<dance> [as if at a disco|like a disco dancer]",
            "<do> [some|] disco moves",
            "<point> [up|] and down like a disco dancer",
            "<dance> disco style",
        ),
    },
    "balance": {
        "*": (
            "<balance> on {leg}",
            "<balance> on one [leg|foot]",
            "<stand> on {poss} {side} [leg|foot]",
            "<balance> on {foot}",
            "<hold> {own} balance on {leg}",
            "<stand> on one [leg|foot]",
            "<keep> {own} balance on one leg",
            "<hold> the other foot [up|off the ground|off the floor]",
        ),
        "one_leg": (
            "<balance> on {leg} [for a moment|for a moment|]",
            "<stand> on one leg with the other knee bent",
            "<balance> on {leg} with the other leg [up|off the ground]",
            "<do> a [single|one] leg balance",
        ),
        "arms_out": (
            "<balance> on {leg} with {poss} arms [out|spread out|out to the sides]",
            "<stand> on one [leg|foot] with {poss} arms out [to the sides|wide|]",
            "<balance> [on one foot|] with arms extended [sideways|to the sides]",
            "<hold> {poss} arms out [wide|] to <keep:base> {own} balance",
            "<spread> {poss} arms [out|wide] and <balance> on {leg}",
        ),
    },
    "push": {
        "*": (
            "<push>{reps}",
            "<push> [something|an object|a heavy object|a wall|a door] [away|forward|]{reps}",
            "<push> [forward|] with {hand}{reps}",
            "<push> against [something|a wall]{reps}",
            "<push> [something|] away from {poss} body{reps}",
            "<push> [forward|out] [hard|firmly]{reps}",
        ),
        "two_hands": (
            "<push> [something|an object|a box] with both hands{reps}",
            "<push> [forward|] with both [hands|arms]{reps}",
            "<push> both hands forward{reps}",
            "<push> [a heavy object|something heavy] with both hands",
            "<lean> in and <push> with both hands",
        ),
        "one_hand": (
            "<push> [something|an object|a door] with {hand}{reps}",
            "<push> [forward|out] with one hand{reps}",
            "<push> [a door|something] open with {hand}",
            "<push> [something|] away with one hand",
        ),
    },
    "pick_up": {
        "*": (
            "<pick> up [something|an object|an item|a box|a bag]",
            "<pick> [something|an object|an item] up [from the floor|off the ground|]",
            "<pick> [something|an object] up with {hand}",
            "<grab> [something|an object|an item] [from the floor|off the ground]",
            "<reach> down and <grab> [something|an object]",
            "<reach> down to <pick:base> up [something|an object]",
            "<pick> up [something|an object] [from the floor|off the ground|] with {hand}",
        ),
        "bend": (
            "<bend> down and <pick> up [something|an object]",
            "<bend> down to <pick:base> [something|an object] up",
            "<bend> over to <grab:base> [something|an item] [from the floor|]",
            "<lean> down and <grab> [an object|something] [with {hand}|]",
            "<bend> [down|over] [at the waist|] and <pick> up [a box|a bag|something]",
        ),
        "squat": (
            "<bend> {poss} knees and <pick> up [something|an object]",
            "<get> down low to <pick:base> [something|an object] up",
            "<lower> {self} [down|] to <grab:base> [something|an object] [from the floor|]",
            "<drop> down low and <grab> [something|an object]",
            "<bend> {poss} knees to <pick:base> up [a box|a bag|something] [with {hand}|]",
        ),
    },
    "arm_circles": {
        "*": (
            "<circle> {arm}{reps}",
            "<make> {n:arm circle} [with {arm}|]",
            "<do> {n:arm circle}",
            "<rotate> {arm} [in circles|in a circle|]{reps}",
            "<move> {arm} in [big|small|large|wide|] circles",
            "<make> [big|small|large|] circles with {arm}",
            "<draw> circles [in the air|] with {arm}",
        ),
        "forward": (
            "<circle> {arm} forward{reps}",
            "<do> {n:forward arm circle}",
            "<rotate> {arm} forward{reps}",
            "<make> forward circles with {arm}",
        ),
        "backward": (
            "<circle> {arm} [backward|backwards]{reps}",
            "<do> {n:backward arm circle}",
            "<rotate> {arm} backward{reps}",
            "<make> [backward|reverse] circles with {arm}",
        ),
    },
    "swing": {
        "*": (
            "<swing>{reps}",
            "<swing> with both hands{reps}",
            "<take> {n:swing}",
            "<swing> from the {side} side{reps}",
            "<take> {n:swing} from the {side} side",
            "<swing> [hard|powerfully]{reps}",
        ),
        "bat": (
            "<swing> a [baseball|] bat{reps}",
            "<swing> a bat from the {side} side",
            "<take> {n:swing} with a [baseball|] bat",
            "<take> {n:baseball swing}",
            "<swing> [a bat|] like a baseball [player|hitter|batter]",
            "<swing> a bat [at a ball|] [with both hands|]",
        ),
        "golf": (
            "<swing> a golf club{reps}",
            "<take> {n:golf swing}",
            "<swing> a golf club from the {side} side",
            "<do> {n:golf swing}",
            "<swing> [a club|] like a golfer",
            "<swing> a club at a golf ball",
        ),
    },
    "climb": {
        "*": (
            "<climb> [up|] a ladder",
            "<climb> [up|] the ladder",
            "<climb> up",
            "<climb> [up|] the rungs of a ladder",
            "<go> up a ladder",
            "<move> up a ladder [hand over hand|rung by rung]",
            "<climb> [upward|higher]",
            "<make> {own} way up a ladder",
            "<climb> a ladder [hand over hand|rung by rung]",
        ),
    },
    "swim": {
        "*": (
            "<swim>",
            "<make> swimming strokes",
            "<move> {poss} arms like [swimming|a swimmer]",
            "<do> [some|a few] swimming strokes",
            "<swim> [in place|forward|]",
            "<mimic> swimming [with {poss} arms|]",
            "<pretend> to <swim:base>",
            "<make> swimming motions with {poss} arms",
        ),
        "freestyle": (
            "<swim> freestyle",
            "<do> [a|the] freestyle stroke",
            "<swim> [the|] freestyle [with {poss} arms|]",
            "<make> freestyle [swimming|] strokes",
            "<alternate> {poss} arms in freestyle strokes",
            "<do> freestyle [swimming|] strokes with {poss} arms",
        ),
        "breaststroke": (
            "<swim> breaststroke",
            "<do> [the|] breaststroke",
            "<make> breaststroke [movements|motions] [with {poss} arms|]",
            "<open> {poss} arms [wide|] in a breaststroke",
            "<swim> [the|] breaststroke [with {poss} arms|]",
        ),
    },
}

# Paraphrases no template produces: each uses a verb or noun the concept's templates never use.
HELDOUT_PHRASINGS: dict[str, tuple[str, ...]] = {
    "walk": (
        "an elderly man walks slowly through a park",
        "a person walks to the kitchen",
        "someone is walking down a hallway",
        "a woman walks over to a window",
    ),
    "run": (
        "a person runs to catch a bus",
        "an athlete runs along a track",
        "a man runs away from a dog",
        "someone runs down the street in a hurry",
    ),
    "jump": (
        "a child jumps over a puddle",
        "a person jumps for joy",
        "someone jumps to reach a high shelf",
        "an athlete jumps as high as possible",
    ),
    "kick": (
        "a soccer player kicks a ball",
        "a child kicks a pebble down the road",
        "someone kicks a door open",
        "a person angrily kicks a bucket",
    ),
    "punch": (
        "a boxer punches a heavy bag",
        "someone punches the air in celebration",
        "an angry man punches a wall",
        "a fighter is punching at an opponent",
    ),
    "lunge": (
        "a fencer lunges toward an opponent",
        "someone lunges forward during a workout",
        "a person lunges across the gym floor",
        "an athlete does lunges to warm up the legs",
    ),
    "squat": (
        "a weightlifter squats with an imaginary barbell",
        "someone squats to look under a table",
        "a person squats as part of a workout",
        "an athlete squats down low and holds it",
    ),
    "wave": (
        "someone waves at a passing car",
        "a child waves to its mother",
        "a person waves from across the street",
        "someone is waving to get attention",
    ),
    "raise_arms": (
        "a fan raises both arms at a concert",
        "someone raises their hands to ask a question",
        "a person raises both arms in victory",
        "the winner lifts both arms up high",
    ),
    "clap": (
        "an audience member claps after a show",
        "someone claps along to music",
        "a person claps to cheer on a team",
        "a teacher claps to get attention",
    ),
    "sit_down": (
        "a tired person sits down on a sofa",
        "someone sits down at a desk",
        "a man sits down to rest his legs",
        "a woman sits down on a park bench",
    ),
    "stand_up": (
        "a student stands up from a desk",
        "someone stands up to greet a guest",
        "a person gets up from the sofa",
        "the man stands up after a long meeting",
    ),
    "kneel": (
        "a knight kneels before a king",
        "someone kneels to tie a shoelace",
        "a person kneels down in a church",
        "a gardener kneels beside a flower bed",
    ),
    "bow": (
        "an actor bows to the audience",
        "someone bows after a performance",
        "a student bows to the teacher",
        "a person bows politely to a guest",
    ),
    "spin": (
        "a ballerina spins on the spot",
        "a child spins around until dizzy",
        "someone spins to look behind them",
        "a figure skater spins in place",
    ),
    "throw": (
        "a pitcher throws a baseball",
        "someone throws a frisbee to a friend",
        "a person throws a stone into a lake",
        "a quarterback throws a long pass",
    ),
    "stretch": (
        "an athlete stretches before a match",
        "someone stretches after waking up",
        "a yoga student stretches the whole body",
        "a person stretches to ease a sore back",
    ),
    "dance": (
        "a guest dances at a wedding",
        "someone dances at a nightclub",
        "a person dances happily in the kitchen",
        "a performer dances on a stage",
    ),
    "balance": (
        "a gymnast balances on one leg",
        "someone balances on one foot like a flamingo",
        "a yoga student balances in tree pose",
        "a person balances on a narrow beam",
    ),
    "push": (
        "someone pushes a heavy box across the floor",
        "a person pushes a stalled car",
        "a man pushes a lawn mower across the yard",
        "someone pushes a shopping cart",
    ),
    "pick_up": (
        "someone picks up a dropped phone",
        "a child picks up a toy",
        "a person picks up the laundry from the floor",
        "someone picks a coin up off the ground",
    ),
    "arm_circles": (
        "someone circles their arms to warm up the shoulders",
        "an athlete circles both arms before a race",
        "a person circles the arms like a windmill",
        "a coach circles their arms during a warm up",
    ),
    "swing": (
        "a baseball player swings at a pitch",
        "someone swings a tennis racket",
        "a golfer swings at the ball on the tee",
        "a person swings an axe at a log",
    ),
    "climb": (
        "a firefighter climbs a ladder",
        "someone climbs a rock wall",
        "a person climbs up into an attic",
        "a child climbs a tree",
    ),
    "swim": (
        "someone swims laps in a pool",
        "a person swims across a lake",
        "a swimmer swims freestyle in a race",
        "someone pretends to swim in the air",
    ),
}

# --- lexicon ------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


VERBS = frozenset(
    _words("""
    walk take step head retreat move shuffle sidestep go turn make change keep run break jog do
    jump land hop perform spread open close kick snap pivot punch throw jab mix lunge squat come
    lower bend drop hold reach extend put rest place sink wave give raise lift clap bring sit
    settle ease stand get rise kneel crouch bow lean spin toss wind stretch touch dance groove
    sway bob twist point balance pick grab circle rotate draw swing climb swim mimic pretend
    alternate push applaud lead switch
    amble stroll saunter trek wander sprint dash race bolt spring leap bound vault deliver boot
    lash punt strike sock hit spar box stride flex dip hunker signal gesture flap hail hoist
    elevate slap smack pat plop perch leave straighten pull heave genuflect tip incline twirl
    pirouette whirl revolve hurl pitch fling lob limber loosen warm lengthen boogie jive cut
    steady teeter pose remain shove press thrust nudge retrieve gather collect lie scoop fetch
    windmill churn sweep crank tee drive crack scale ascend clamber scramble paddle tread mime
    catch ask greet look cheer tie wake
    """)
)
DOUBLED_FINALS = frozenset(  # verbs that double their last letter before "-ing"
    _words(
        "run jog hop sit get swim clap step put drop bob snap spin grab sidestep cut dip pat slap "
        "plop trek lob spar tip squat jab"
    )
)
IRREGULAR_VERBS = {"mimic": ("mimics", "mimicking"), "boogie": ("boogies", "boogieing")}
PARTICIPLES = {"extended": "extend"}  # past participles used as modifiers ("arms extended")
NOUNS = frozenset(
    _words("""
    person man woman figure human individual step walk room line time pace side circle path loop
    turn direction run jog distance bit air ground spot jump foot leg hop arm jack set kick
    roundhouse arc support punch hand fist boxer jab cross body hook curve uppercut combination
    combo flurry series lunge squat knee hip wave friend head ceiling shoulder height front clap
    beat rhythm chest chair seat floor position bow waist spin ball object motion throw stretch
    muscle toe touch dance music song groove twist disco move dancer style moment balance wall
    door box bag item way ladder rung swing baseball bat player hitter batter golf club golfer
    stroke swimmer freestyle breaststroke movement torso reverse place
    speed blow knuckle opponent stance fencing advance heel dip greeting sky surrender palm round
    applause smack bench stool couch bottom armchair proposal pose respect stone spine rug routine
    limb flamingo rope cliff water crawl backstroke ring wheel driver fairway stick cut plate
    slugger couple lead
    actor athlete attention attic audience axe ballerina barbell beam bed bus car cart
    celebration child church coach coin concert desk dog fan fencer fighter firefighter flower
    frisbee gardener guest gym gymnast hallway hurry joy karate king kitchen knight lake lap lawn
    log match meeting member mother mower park part pass performance performer phone pitcher
    pool puddle quarterback question racket rock shelf shoelace show skater soccer sofa stage
    street student table target teacher team tennis toy track tree victory wedding weightlifter
    window winner workout yard yoga bucket nightclub laundry pebble road
    """)
)
IRREGULAR_PLURALS = {"foot": "feet", "series": "series"}
SUBJECT_NOUNS = frozenset(  # a verb-or-noun word right after one of these is the verb
    _words("""
    person man woman figure human individual actor athlete ballerina boxer child coach fan
    fencer fighter firefighter gardener golfer guest gymnast knight member performer pitcher
    player quarterback skater student swimmer teacher weightlifter winner
    """)
)
SUBJECT_PRONOUNS = frozenset({"someone", "he", "she", "they", "which", "that"})
WORDS_BY_TAG = {  # the closed classes and other words that are never verbs or nouns here
    "DET": "a an the his her their some both each all its",
    "PRON": "someone something he she they himself herself themselves them that which it",
    "NUM": " ".join(NUMBER_WORDS[1:]),
    "ADP": """with on in into onto from to toward at of off against across above below through
        for like by over up down behind beside during under""",
    "CCONJ": "and or",
    "SCONJ": "before after while as if until",
    "AUX": "is",
    "INTJ": "hello goodbye",
    "ADV": """forward forwards ahead straight backward backwards back sideways laterally around
        along again away together overhead upward lightly deeply slightly low high higher out
        hard firmly powerfully happily energetically cheerfully once twice repeatedly then first
        afterwards quickly rapidly swiftly slowly very far fast underhand overhand aloft skyward
        outward upright politely forth angrily""",
    "ADJ": """left right few several short little small big wide large full complete sharp light
        steady easy vertical long same circular deep heavy good relaxed loose single other bent
        friendly polite formal slight possible slow open close closed invisible imaginary split
        upper courteous flat wooden angry dizzy dropped elderly loud narrow passing shopping
        sore stalled tired whole""",
}
WORD_TAGS = {word: tag for tag, words in WORDS_BY_TAG.items() for word in _words(words)}
IRREGULAR_LEMMAS = {"is": "be"}
NOUN_STOPS = frozenset({"DET", "NUM", "ADP", "VERB"})  # a verb/noun word after these is a noun
MODIFIER_TAGS = frozenset({"ADJ", "ADV", "NOUN"})  # skipped when looking for that context
SEQUENCE_ADVERBS = frozenset({"then", "first", "afterwards"})  # "then kicks": a verb follows
FALLBACK_TAG = "NOUN"
_WORD = re.compile(r"[a-z]+")


def _third_person(lemma: str) -> str:
    if lemma in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[lemma][0]
    if lemma.endswith(("s", "sh", "ch", "x", "z", "o")):
        return lemma + "es"
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def _gerund(lemma: str) -> str:
    if lemma in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[lemma][1]
    if lemma in DOUBLED_FINALS:
        return lemma + lemma[-1] + "ing"
    if lemma.endswith("ie"):
        return lemma[:-2] + "ying"
    if lemma.endswith("e") and not lemma.endswith("ee"):
        return lemma[:-1] + "ing"
    return lemma + "ing"


def _plural(noun: str) -> str:
    if noun in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "sh", "ch", "x", "z")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _build_lexicon() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(verb form -> lemma, other word -> (lemma, tag)); a word may be in both."""
    verb_forms = {}
    for lemma in VERBS:
        for form in (lemma, _third_person(lemma), _gerund(lemma)):
            verb_forms[form] = lemma
    verb_forms.update(PARTICIPLES)
    others = {word: (IRREGULAR_LEMMAS.get(word, word), tag) for word, tag in WORD_TAGS.items()}
    for noun in NOUNS:
        others[noun] = others[_plural(noun)] = (noun, "NOUN")
    return verb_forms, others


VERB_FORMS, OTHER_WORDS = _build_lexicon()
KNOWN_WORDS: frozenset[str] = frozenset(VERB_FORMS) | frozenset(OTHER_WORDS)

# --- rendering ----------------------------------------------------------------------------------

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


def _voice(rng: np.random.Generator) -> _Voice:
    weights = np.array([w for *_, w in SUBJECTS])
    subject, gender, _ = SUBJECTS[int(rng.choice(len(SUBJECTS), p=weights / weights.sum()))]
    return _Voice(subject, *GENDER_WORDS[gender])


def _side_ok(text: str, side: str | None) -> bool:
    """Whether the fields of ``text`` can be filled for a segment with ``side``."""
    fields = set(_FIELD.findall(text))
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
    return phrase.format(limb=limb, limbs=_plural(limb))


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
    plural = " ".join([*head, _plural(last)])
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
        return {"side": side, "own": voice.possessive, "self": voice.reflexive}[name]

    text = _FIELD.sub(field, text)
    return _COUNTED.sub(lambda m: _counted(m.group(1), facts.reps, rng), text)


def _with_speed(predicate: str, speed: str, rng: np.random.Generator) -> str:
    if speed not in SPEED_PRE or rng.random() >= SPEED_MENTION_P:
        return predicate
    if rng.random() < PRE_ADVERB_P:
        return f"{_pick(rng, SPEED_PRE[speed])} {predicate}"
    return f"{predicate} {_pick(rng, SPEED_POST[speed])}"


def _predicate(facts: SegmentFacts, voice: _Voice, rng: np.random.Generator) -> str:
    """A predicate of the segment with its verbs still marked (``<kick>``)."""
    side = _effective_side(facts)
    template = _pick_weighted(rng, _candidates(facts.concept, facts.variant, side))
    text = _fill_fields(_expand_groups(template, side, rng), facts, voice, rng)
    return _with_speed(text, facts.speed, rng)


def _inflect(predicate: str, form: str) -> str:
    """Write the marked verbs of ``predicate`` in ``form`` (3sg / base / ing) unless fixed."""

    def verb(match: re.Match) -> str:
        lemma, fixed = match.group(1), match.group(2) or form
        if fixed == "ing":
            return _gerund(lemma)
        return lemma if fixed == "base" else _third_person(lemma)

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
    ]
    return _pick(rng, options)


def _one_caption(segments: Sequence[SegmentFacts], rng: np.random.Generator) -> str:
    if len(segments) == 1 and rng.random() < CANONICAL_P:
        return _tidy(_description(segments[0], rng), rng)
    voice = _voice(rng)
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


# --- tokens -------------------------------------------------------------------------------------


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
