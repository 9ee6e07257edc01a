"""Visualisation and export of skeleton motions: plotly figures; BVH, static and animated GLB,
OBJ/PLY and NPY files."""
