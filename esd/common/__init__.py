"""Utilities every layer may use: atomic file writes, safe file names, device and threads."""
