"""The T2M evaluator (Guo et al. 2022) and its evaluation protocol."""
