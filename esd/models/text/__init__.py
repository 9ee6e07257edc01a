"""Text encoders: all-MiniLM-L6-v2 (bundled family), CLIP from a local folder (SALAD's
family), and their common ``TextBatch``."""
