"""One motion generator per concept, registered by name (``ACTIONS``).

Importing this package imports every family module, which registers its generators.
"""

from esd.corpus.actions import (  # noqa: F401  (each module registers its concepts)
    kick,
    locomotion,
    lower_body,
    upper_body,
)
from esd.corpus.actions.base import ACTIONS, ActionRequest, ActionResult, generate_action

__all__ = ["ACTIONS", "ActionRequest", "ActionResult", "generate_action"]
