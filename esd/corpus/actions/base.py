"""The contract of an action generator and shared building blocks.

An action generator turns an ``ActionRequest`` (concept, variant, side, speed, repetitions) and a
random generator into an ``ActionResult``: a ``BodyMotion`` (joint rotations, heading, planted
joints, airborne frames; see ``esd.corpus.physics``) and the ``SegmentFacts`` captions describe.

Conventions every generator follows:
* It starts and ends in the neutral standing pose (identity rotations, heading 0 at the start),
  except ``sit_down`` (ends seated) and ``stand_up`` (starts seated); ``compose`` adds idle
  padding and blends transitions, so a generator does not pad itself.
* Angles come from ``esd.corpus.rig`` helpers (the anatomical signs are fixed there) and curves
  from ``esd.corpus.curves``; amplitudes and timings are randomised around natural values.
* Durations scale with ``speed`` (``TEMPO``); the result lasts roughly the catalog's seconds.
* Two planted joints must keep their relative position while both are planted (the physics
  cannot hold both still otherwise: they would skate). Asymmetric leg work (a kick, a lunge
  step) happens while the moving foot is lifted; symmetric work (a squat) is fine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from esd.corpus.catalog import PLAIN, SPEC_BY_NAME, SegmentFacts
from esd.corpus.physics import BOTH_FEET, BodyMotion
from esd.corpus.rig import Pose
from esd.motion.skeleton import FPS, JOINT_INDEX, NUM_JOINTS

TEMPO = {"slow": 1.4, "normal": 1.0, "fast": 0.72}  # duration multipliers per speed
DEG = np.pi / 180  # radians per degree: action code states its angles in degrees


@dataclass(frozen=True)
class ActionRequest:
    """What to generate."""

    concept: str
    variant: str
    side: str | None = None
    speed: str = "normal"
    reps: int = 1
    style: str = PLAIN  # a manner from the concept's styles (PLAIN: the default movement)


@dataclass
class ActionResult:
    """A generated segment: the body motion and what happened in it."""

    motion: BodyMotion
    facts: SegmentFacts
    # frames [first, last) of a gait at full speed (walk, run); a clip may be cut to them
    # (``esd.corpus.underway``), so it starts or ends in motion like a take cut from a longer one
    steady: tuple[int, int] | None = None


ActionFn = Callable[[ActionRequest, np.random.Generator], ActionResult]
ACTIONS: dict[str, ActionFn] = {}


def register(concept: str) -> Callable[[ActionFn], ActionFn]:
    """Decorator: register ``fn`` as the generator of ``concept`` (a catalog name)."""
    if concept not in SPEC_BY_NAME:
        raise ValueError(f"{concept!r} is not a catalog concept")

    def wrap(fn: ActionFn) -> ActionFn:
        ACTIONS[concept] = fn
        return fn

    return wrap


def generate_action(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    """Run the registered generator of ``request.concept`` after checking the request."""
    spec = SPEC_BY_NAME.get(request.concept)
    if spec is None or request.concept not in ACTIONS:
        raise ValueError(f"no generator for concept {request.concept!r}")
    if request.variant not in spec.variants or request.side not in spec.sides:
        raise ValueError(f"invalid variant/side for {request.concept}: {request}")
    if not 1 <= request.reps <= spec.max_reps or request.speed not in TEMPO:
        raise ValueError(f"invalid reps/speed for {request.concept}: {request}")
    if request.style not in spec.styles:
        raise ValueError(f"invalid style for {request.concept}: {request}")
    return ACTIONS[request.concept](request, rng)


def facts_of(request: ActionRequest) -> SegmentFacts:
    """The facts of a request (start/end are set by ``compose``)."""
    return SegmentFacts(
        request.concept, request.variant, request.side, request.reps, request.speed, request.style
    )


def seconds_to_frames(seconds: float) -> int:
    return max(2, round(seconds * FPS))


def jitter(rng: np.random.Generator, value: float, spread: float = 0.1) -> float:
    """``value`` scaled by a random factor in [1 - spread, 1 + spread]."""
    return value * rng.uniform(1.0 - spread, 1.0 + spread)


def other_side(side: str) -> str:
    return "right" if side == "left" else "left"


def foot(side: str) -> int:
    return JOINT_INDEX[f"{side}_foot"]


def standing(frames: int) -> BodyMotion:
    """A neutral standing body: rest pose, both feet planted, heading 0."""
    return BodyMotion.standing(Pose.rest(frames))


def planted_feet(frames: int, left: np.ndarray | bool, right: np.ndarray | bool) -> np.ndarray:
    """(T, 22) planted mask with the given per-frame (or constant) foot contacts."""
    planted = np.zeros((frames, NUM_JOINTS), dtype=bool)
    planted[:, BOTH_FEET[0]] = left
    planted[:, BOTH_FEET[1]] = right
    return planted
