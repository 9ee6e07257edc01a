"""The caption lexicon: every word the templates and held-out phrasings use, with its part of
speech (universal tags) and inflected forms.

``VERB_FORMS`` maps each verb form ("kicks", "kicking") to its lemma, ``OTHER_WORDS`` every other
word (and noun plurals) to (lemma, tag); a word may be in both (``esd.corpus.captions.tokens``
decides from the context). Unknown words are tagged NOUN.
"""

from __future__ import annotations

from esd.corpus.captions.phrases import NUMBER_WORDS


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
    say practice pump drag trudge bounce creep hang
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
    artist kickboxer runner jogger pedestrian kid tourist musician gentleman teenager stride model
    runway elbow goalkeeper football bounce spring fashion energy face
    """)
)
IRREGULAR_PLURALS = {"foot": "feet", "series": "series"}
SUBJECT_NOUNS = frozenset(  # a verb-or-noun word right after one of these is the verb
    _words("""
    person man woman figure human individual actor athlete ballerina boxer child coach fan
    fencer fighter firefighter gardener golfer guest gymnast knight member performer pitcher
    player quarterback skater student swimmer teacher weightlifter winner
    artist kickboxer runner jogger pedestrian kid tourist musician gentleman teenager dancer
    goalkeeper
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
    "INTJ": "hello goodbye bye",
    "ADV": """forward forwards ahead straight backward backwards back sideways laterally around
        along again away together overhead upward lightly deeply slightly low high higher out
        hard firmly powerfully happily energetically cheerfully once twice repeatedly then first
        afterwards quickly rapidly swiftly slowly very far fast underhand overhand aloft skyward
        outward upright politely forth angrily halfway downfield wildly enthusiastically
        gracefully elegantly briskly vigorously tiredly wearily sluggishly timidly hesitantly
        nervously cautiously shyly discreetly""",
    "ADJ": """left right few several short little small big wide large full complete sharp light
        steady easy vertical long same circular deep heavy good relaxed loose single other bent
        friendly polite formal slight possible slow open close closed invisible imaginary split
        upper courteous flat wooden angry dizzy dropped elderly loud narrow passing shopping
        sore stalled tired whole martial old young brisk energetic lively quick weary graceful
        elegant feminine cheerful happy bouncy timid hesitant cautious nervous shy exhausted""",
}
WORD_TAGS = {word: tag for tag, words in WORDS_BY_TAG.items() for word in _words(words)}
IRREGULAR_LEMMAS = {"is": "be"}


def third_person(lemma: str) -> str:
    """The third person singular of a verb ("kick" -> "kicks", "touch" -> "touches")."""
    if lemma in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[lemma][0]
    if lemma.endswith(("s", "sh", "ch", "x", "z", "o")):
        return lemma + "es"
    if lemma.endswith("y") and lemma[-2] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def gerund(lemma: str) -> str:
    """The "-ing" form of a verb ("run" -> "running", "wave" -> "waving")."""
    if lemma in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[lemma][1]
    if lemma in DOUBLED_FINALS:
        return lemma + lemma[-1] + "ing"
    if lemma.endswith("ie"):
        return lemma[:-2] + "ying"
    if lemma.endswith("e") and not lemma.endswith("ee"):
        return lemma[:-1] + "ing"
    return lemma + "ing"


def plural_of(noun: str) -> str:
    """The plural of a noun ("kick" -> "kicks", "foot" -> "feet")."""
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
        for form in (lemma, third_person(lemma), gerund(lemma)):
            verb_forms[form] = lemma
    verb_forms.update(PARTICIPLES)
    others = {word: (IRREGULAR_LEMMAS.get(word, word), tag) for word, tag in WORD_TAGS.items()}
    for noun in NOUNS:
        others[noun] = others[plural_of(noun)] = (noun, "NOUN")
    return verb_forms, others


VERB_FORMS, OTHER_WORDS = _build_lexicon()
KNOWN_WORDS: frozenset[str] = frozenset(VERB_FORMS) | frozenset(OTHER_WORDS)
