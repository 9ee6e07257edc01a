"""One motion generator per concept, registered by name (``ACTIONS``).

Families, one module per concept (or a small family of concepts) with their shared helpers:
``kick``; ``locomotion/`` (walk, run, jump, spin, dance, climb; legs planned in the world and
solved by inverse kinematics); ``lower_body/`` (lunge, squat, sit_down and stand_up, kneel, bow,
stretch, balance, pick_up; legs solved in a floor frame); ``upper_body/`` (punch, the arm
gestures wave, raise_arms, clap and arm_circles, throw, push, swing, swim; keyed arm postures).

Importing this package imports every concept module, which registers its generator.
"""

from esd.corpus.actions import kick  # noqa: F401  (each concept module registers its generator)
from esd.corpus.actions.base import ACTIONS, ActionRequest, ActionResult, generate_action
from esd.corpus.actions.locomotion import (  # noqa: F401
    climb,
    dance,
    jump,
    run,
    spin,
    walk,
)
from esd.corpus.actions.lower_body import (  # noqa: F401
    balance,
    bow,
    kneel,
    lunge,
    pick_up,
    sit,
    squat,
    stretch,
)
from esd.corpus.actions.upper_body import (  # noqa: F401
    arm_gestures,
    punch,
    push,
    raise_arms,
    swim,
    swing,
    throw,
    wave,
)

__all__ = ["ACTIONS", "ActionRequest", "ActionResult", "generate_action"]
