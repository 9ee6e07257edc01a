"""Data for the lexicon tagger: HumanML3D's words by part of speech (universal tags, as spaCy's
``en_core_web_sm`` gave them in the dataset's token field), and irregular inflections.

A data table (not logic): ``esd.evaluation.t2m.tagger`` uses it. Verbs are the corpus lexicon's
(``esd.corpus.captions.lexicon.VERBS``) plus ``MORE_VERBS``, words of the T2M GloVe vocabulary
that HumanML3D's captions use as verbs. Any word not listed is a NOUN (the open class).
"""

from __future__ import annotations

from esd.corpus.captions.lexicon import VERBS as CORPUS_VERBS


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MORE_VERBS = _words("""
    accept act add adjust aim allow animate answer apologize appear approach arch arrange assume
    attempt avoid backflip backtrack be beckon beg begin bite blend block bore bounce brace brush
    bump call carry cartwheel catch cause check chop clasp claw clean climb collide come
    communicate conduct consider consume continue control correct correspond cover cradle crawl
    create creep cry curl dangle dart deal decide defeat defend demonstrate descend dial dig dive
    do dodge drag dribble drift drink drum duck eat embrace emote emulate end evade evoke examine
    exercise express fail fake fall feed feel feign fiddle fight finish fish fix flail flare flick
    flinch flip flip floss flutter fly fold follow form frighten gain generate gesticulate glance
    glide grasp guard gulp hang have help hesitate hobble hold hop hope huddle hug hunch hurt
    imitate increase indicate injure inspect interact interlock jerk jiggle join jump knock know
    land laugh lay let limp lose maintain march mirror moonwalk observe order outline pace pack
    paint pause pet pitch place plan plant play pour practice practise prance pray preform prepare
    proceed propel protect prune purr read realign rearrange receive recoil recognize recover
    reel reenter regain relax release remove repeat replace reposition require resume retract
    return rinse roll rub run salute sashay saw say scratch scrub scuff search see seem select
    serve shake shift shiver shoot shout shrug sign skip slide slouch slump sneak sob speak spiral
    sprinkle stagger stamp stare start stay steer stir stomp stoop stop strafe strain stress
    strum strut struggle stumble swat swim swipe swivel take talk tap tear tell think tie tighten
    tilt tiptoe touch transfer transition trip trot try tuck tumble turn undulate unfold use veer
    vocalize wait want wash watch wiggle wipe wobble wonder wrap yell
    """)
VERB_LEMMAS = CORPUS_VERBS | MORE_VERBS
IRREGULAR_VERBS = {  # inflected form -> lemma (regular -s / -ing / -ed forms are derived)
    "ran": "run",
    "went": "go",
    "gone": "go",
    "stood": "stand",
    "sat": "sit",
    "took": "take",
    "taken": "take",
    "threw": "throw",
    "thrown": "throw",
    "fell": "fall",
    "fallen": "fall",
    "made": "make",
    "held": "hold",
    "got": "get",
    "came": "come",
    "began": "begin",
    "begun": "begin",
    "bent": "bend",
    "spun": "spin",
    "swung": "swing",
    "knelt": "kneel",
    "leapt": "leap",
    "leant": "lean",
    "struck": "strike",
    "did": "do",
    "done": "do",
    "does": "do",
    "brought": "bring",
    "caught": "catch",
    "shook": "shake",
    "shaken": "shake",
    "rose": "rise",
    "risen": "rise",
    "drew": "draw",
    "drawn": "draw",
    "stuck": "stick",
    "slid": "slide",
    "swam": "swim",
    "flew": "fly",
    "wore": "wear",
    "lay": "lie",
    "laid": "lay",
    "lain": "lie",
    "has": "have",
    "had": "have",
    "says": "say",
    "said": "say",
    "saw": "see",
    "seen": "see",
    "felt": "feel",
    "kept": "keep",
    "led": "lead",
    "lit": "light",
    "hung": "hang",
    "dug": "dig",
    "fought": "fight",
    "bit": "bite",
    "tore": "tear",
    "thought": "think",
}
IRREGULAR_NOUNS = {"feet": "foot", "men": "man", "women": "woman", "children": "child"}
BE_FORMS = _words("is are was were be been being am")  # AUX (spaCy tags copulas AUX too)
MODALS = _words("can could will would shall should may might must")  # AUX
HAVE_DO = _words("have has had do does did")  # AUX before a participle / "not", else VERB
WORDS_BY_TAG = {  # closed classes and the open-class words that are neither verbs nor nouns
    "DET": """a an the his her their its my your our this that these those some any both each
        every all another either neither no""",
    "PRON": """someone somebody something he she they it him them himself herself itself
        themselves themself i me you we us who what which whatever everything nothing anyone
        everyone""",
    "ADP": """with on in into onto from of off against across above below through for like by
        over up down behind beside besides during under underneath upon at toward towards
        around along between near via without within after before until till than out about
        among per despite except thru""",
    "CCONJ": "and or but nor yet amd adn",
    "SCONJ": "while as if because though although whilst when whereas unless whether",
    "PART": "not n't",
    "NUM": """one two three four five six seven eight nine ten eleven twelve thirteen fourteen
        fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty ninety hundred""",
    "INTJ": "hello hi goodbye bye yes please",
    "ADV": """forward forwards foreward foward forword ahead straight backward backwards back
        sideways sideway laterally around along again away together overhead upward upwards
        downward downwards low high hard fast far then first afterwards once twice very too
        also only just still even here there where now soon later almost nearly quite rather
        much more most less least well yet never always sometimes often halfway inside outside
        upstairs downstairs aside apart alone altogether anyway instead maybe perhaps somewhat
        backup clockwise counterclockwise anticlockwise diagonally how why else ever so""",
    "ADJ": """left right few several short little small big wide large full complete sharp light
        steady easy vertical long same circular deep heavy good relaxed loose single other
        friendly polite slow open closed invisible imaginary upper flat angry dizzy tired whole
        drunk surprised unlevel imperfect general oval next opposite normal solid original
        stationary half ready regular lighter exaggerated fluid partial tight elongated dry
        irregular nasty constant empty square casual initial hearty jovial quick longer clumsy
        random overall wobbly ideal uneven rocky unseen different jagged greater medium diagonal
        sorry final brisk horizontal funny moderate poor strong stiff handy giant defensive
        neutral sudden aggressive new dangerous hurried smart difficult jittery kind thin tall
        frustrated startled firm larger enthusiastic certain unsteady choppy happy leisurely
        gentle bad athletic rhythmic comical dark smaller slower free intoxicated semicircular
        various last rectangular nice anxious energetic slanted comfortable erratic idle
        unbalanced similar relative closer unsure fancy specific upset extra prone cold curved
        active crooked strange separate fearful motionless afraid nearby wavy natural careful
        sad wider bigger higher lower fifth fourth third second outstretched""",
}
WORD_TAGS = {word: tag for tag, text in WORDS_BY_TAG.items() for word in _words(text)}
ADP_BEFORE_OBJECT = _words("around along about")  # ADP before a determiner / pronoun, else ADV
NOUN_CONTEXT = frozenset({"DET", "ADJ", "NUM", "ADP"})  # a verb-or-noun word after these: NOUN
NOT_ADVERBS = _words("fly belly family rally ally jelly bully holly")  # nouns/verbs in -ly
