"""Text encoders: all-MiniLM-L6-v2 (bundled family) and their common ``TextBatch``."""
