"""One motion generator per concept, registered by name (``ACTIONS``).

Importing this package imports every family module, which registers its generators.
"""

from esd.corpus.actions import kick  # noqa: F401  (registers "kick")
from esd.corpus.actions.base import ACTIONS, ActionRequest, ActionResult, generate_action

__all__ = ["ACTIONS", "ActionRequest", "ActionResult", "generate_action"]
