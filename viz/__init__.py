"""Visualisation and export of skeleton motions (plotly figures, BVH / mesh / NPY files)."""
