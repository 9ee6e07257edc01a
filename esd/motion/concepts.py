"""The motion concept vocabulary shared by the corpus generator and the evaluator's recogniser.

A concept is a kind of action ("kick") with a canonical prompt ("a person kicking") and a few
short descriptions. The corpus generator produces clips and captions for each concept; the
evaluator's zero-shot recogniser embeds the descriptions and assigns a motion to the nearest
concept. Keeping the vocabulary in one small module lets both sides agree without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    """One recognisable action."""

    name: str  # identifier used in labels.json and on the command line, e.g. "kick"
    prompt: str  # canonical prompt, e.g. "a person kicking"
    descriptions: tuple[str, ...]  # short paraphrases used by the recogniser (prompt included)


def _concept(name: str, prompt: str, *more: str) -> Concept:
    return Concept(name=name, prompt=prompt, descriptions=(prompt, *more))


CONCEPTS: tuple[Concept, ...] = (
    _concept("walk", "a person walking", "someone walks", "a person takes steps"),
    _concept("run", "a person running", "someone runs", "a person jogging"),
    _concept("jump", "a person jumping", "someone jumps", "a person hops"),
    _concept("kick", "a person kicking", "someone kicks", "a person kicks with one leg"),
    _concept("punch", "a person punching", "someone punches", "a person throws a punch"),
    _concept("lunge", "a person lunging", "someone lunges", "a person does a lunge"),
    _concept("squat", "a person squatting", "someone squats", "a person does squats"),
    _concept("wave", "a person waving", "someone waves a hand", "a person waves hello"),
    _concept(
        "raise_arms",
        "a person raising their arms",
        "someone lifts both arms up",
        "a person raises their hands",
    ),
    _concept("clap", "a person clapping", "someone claps their hands", "a person applauds"),
    _concept("sit_down", "a person sitting down", "someone sits down", "a person takes a seat"),
    _concept("stand_up", "a person standing up", "someone stands up", "a person gets up"),
    _concept("kneel", "a person kneeling", "someone kneels down", "a person crouches down"),
    _concept("bow", "a person bowing", "someone bows", "a person bends forward to bow"),
    _concept("spin", "a person spinning around", "someone spins", "a person turns in a circle"),
    _concept("throw", "a person throwing", "someone throws something", "a person tosses a ball"),
    _concept("stretch", "a person stretching", "someone stretches", "a person stretches arms"),
    _concept("dance", "a person dancing", "someone dances", "a person dances around"),
    _concept(
        "balance",
        "a person balancing on one leg",
        "someone stands on one foot",
        "a person balances",
    ),
    _concept("push", "a person pushing", "someone pushes something", "a person pushes forward"),
    _concept(
        "pick_up",
        "a person picking something up",
        "someone picks up an object",
        "a person bends down to pick something up",
    ),
    _concept(
        "arm_circles",
        "a person circling their arms",
        "someone makes arm circles",
        "a person rotates their arms",
    ),
    _concept(
        "swing",
        "a person swinging a bat",
        "someone swings a golf club",
        "a person swings with both hands",
    ),
    _concept(
        "climb",
        "a person climbing a ladder",
        "someone climbs",
        "a person climbs up",
    ),
    _concept(
        "swim",
        "a person making swimming strokes",
        "someone swims",
        "a person moves their arms like swimming",
    ),
)

CONCEPT_NAMES: tuple[str, ...] = tuple(c.name for c in CONCEPTS)
CONCEPT_BY_NAME: dict[str, Concept] = {c.name: c for c in CONCEPTS}
