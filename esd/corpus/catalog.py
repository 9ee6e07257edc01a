"""What the corpus can generate: per concept its variants, sides and typical durations.

The concept names are the vocabulary of ``esd.motion.concepts``. A generated clip is a list of
``SegmentFacts`` (one or two segments); the action generators produce them and the caption writer
describes them, so this module is the contract between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

from esd.motion.concepts import CONCEPT_NAMES

LEFT, RIGHT, BOTH = "left", "right", "both"
SPEEDS = ("slow", "normal", "fast")
PLAIN = "plain"  # the style of an action performed without a particular manner
# Manners of walking seen in real capture (brisk arm-pumping, tired, graceful, bouncy, timid).
WALK_STYLES = (PLAIN, "energetic", "tired", "graceful", "bouncy", "timid")
# Waves: at head height (plain), big whole-arm waves high overhead, small waves below the chin.
WAVE_STYLES = (PLAIN, "big", "small")


@dataclass(frozen=True)
class ConceptSpec:
    """How one concept varies."""

    name: str  # a name from esd.motion.concepts.CONCEPT_NAMES
    variants: tuple[str, ...]  # kinds of the action, e.g. kick: front / side / roundhouse
    sides: tuple[str | None, ...]  # allowed sides (None: the action has no side)
    seconds: tuple[float, float]  # typical duration of one segment (before idle padding)
    max_reps: int = 1  # repetitions the generator may perform (1 = single action)
    styles: tuple[str, ...] = (PLAIN,)  # manners of any variant, e.g. walk: energetic / tired
    variant_weights: tuple[float, ...] | None = None  # how often each variant is drawn (None: even)
    style_weights: tuple[float, ...] | None = None  # how often each style is drawn (None: even)

    def __post_init__(self) -> None:
        for weights, names in (
            (self.variant_weights, self.variants),
            (self.style_weights, self.styles),
        ):
            if weights is not None and len(weights) != len(names):
                raise ValueError(f"{self.name}: one weight per variant / style")


@dataclass(frozen=True)
class SegmentFacts:
    """What happens in one segment of a clip: everything a caption may mention."""

    concept: str
    variant: str
    side: str | None = None  # left / right / both / None; for walks and spins: the direction
    reps: int = 1  # repetitions (steps are not counted for locomotion)
    speed: str = "normal"  # slow / normal / fast
    style: str = PLAIN  # the manner (a name from the spec's styles; PLAIN: none to mention)
    start: int = 0  # first frame of the segment in the clip
    end: int = 0  # one past its last frame


SPECS: tuple[ConceptSpec, ...] = (
    ConceptSpec(
        "walk",
        ("forward", "backward", "sideways", "circle", "turn"),
        (None, LEFT, RIGHT),
        (3.0, 7.0),
        styles=WALK_STYLES,
        # real walks mostly go forward or turn; plain walks as often as all the manners together
        variant_weights=(0.35, 0.125, 0.125, 0.15, 0.25),
        style_weights=(0.4, 0.12, 0.12, 0.12, 0.12, 0.12),
    ),
    ConceptSpec("run", ("forward", "jog", "circle"), (None, LEFT, RIGHT), (2.5, 6.0)),
    ConceptSpec(
        "jump",
        ("in_place", "forward", "hop", "jumping_jacks"),
        (None, LEFT, RIGHT),
        (1.5, 5.0),
        max_reps=4,
    ),
    ConceptSpec("kick", ("front", "side", "roundhouse"), (LEFT, RIGHT), (1.5, 4.0), max_reps=3),
    ConceptSpec(
        "punch",
        ("jab", "cross", "hook", "uppercut", "combo"),
        (LEFT, RIGHT, BOTH),
        (1.5, 4.5),
        max_reps=4,
    ),
    ConceptSpec("lunge", ("forward", "side"), (LEFT, RIGHT), (2.0, 5.0), max_reps=3),
    ConceptSpec(
        "squat", ("arms_forward", "hands_on_hips", "deep"), (None,), (2.0, 6.0), max_reps=4
    ),
    ConceptSpec(
        "wave",
        ("one_hand", "both_hands"),
        (LEFT, RIGHT, BOTH),
        (1.5, 7.0),
        max_reps=5,
        styles=WAVE_STYLES,
        variant_weights=(0.65, 0.35),  # real waves: about two thirds with one hand
        style_weights=(0.4, 0.4, 0.2),
    ),
    ConceptSpec(
        "raise_arms",
        ("overhead", "forward", "sideways", "hand_up", "shoulder"),
        (BOTH, LEFT, RIGHT),
        (1.0, 5.0),
        max_reps=3,
        # real raises mostly end with a hand above the head
        variant_weights=(0.35, 0.1, 0.1, 0.3, 0.15),
    ),
    ConceptSpec("clap", ("in_front", "overhead"), (None,), (1.5, 4.0), max_reps=8),
    ConceptSpec("sit_down", ("chair",), (None,), (2.0, 4.0)),
    ConceptSpec("stand_up", ("from_chair",), (None,), (2.0, 4.0)),
    ConceptSpec("kneel", ("one_knee", "both_knees", "crouch"), (None, LEFT, RIGHT), (2.0, 5.0)),
    ConceptSpec("bow", ("slight", "deep"), (None,), (1.5, 4.0), max_reps=2),
    ConceptSpec("spin", ("in_place",), (LEFT, RIGHT), (1.5, 4.0), max_reps=2),
    ConceptSpec("throw", ("overhand", "underhand"), (LEFT, RIGHT), (1.5, 3.5), max_reps=2),
    ConceptSpec("stretch", ("overhead", "side_bend", "toe_touch"), (None, LEFT, RIGHT), (2.5, 6.0)),
    ConceptSpec("dance", ("groove", "twist", "disco"), (None,), (3.0, 8.0)),
    ConceptSpec("balance", ("one_leg", "arms_out"), (LEFT, RIGHT), (2.5, 6.0)),
    ConceptSpec("push", ("two_hands", "one_hand"), (BOTH, LEFT, RIGHT), (1.5, 4.0), max_reps=3),
    ConceptSpec("pick_up", ("bend", "squat"), (None, LEFT, RIGHT), (2.0, 4.5)),
    ConceptSpec(
        "arm_circles", ("forward", "backward"), (BOTH, LEFT, RIGHT), (2.0, 5.0), max_reps=6
    ),
    ConceptSpec("swing", ("bat", "golf"), (LEFT, RIGHT), (1.5, 4.0), max_reps=2),
    ConceptSpec("climb", ("ladder",), (None,), (3.0, 7.0)),
    ConceptSpec("swim", ("freestyle", "breaststroke"), (None,), (3.0, 7.0)),
)

SPEC_BY_NAME: dict[str, ConceptSpec] = {spec.name: spec for spec in SPECS}
if tuple(SPEC_BY_NAME) != CONCEPT_NAMES:  # one vocabulary for the corpus and the evaluator
    raise ImportError(
        "esd.corpus.catalog and esd.motion.concepts must list the same concepts in order"
    )

# Concepts that start from, or end in, a non-standing posture: they only compose in this order.
ENDS_SEATED = frozenset({"sit_down"})
STARTS_SEATED = frozenset({"stand_up"})
