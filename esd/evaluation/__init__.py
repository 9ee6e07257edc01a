"""Evaluators, concept recogniser, reference sets, metrics, the protocol and its report."""
