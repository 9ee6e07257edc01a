"""ESD for Motion: erase concepts from text-to-motion diffusion models.

The engine package. It never imports the UI (``app.py``) or the visualisation (``viz/``).
"""

__version__ = "0.1.0"
