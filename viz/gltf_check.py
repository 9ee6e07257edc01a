"""A structural check of GLB files: what a glTF viewer relies on, without the Khronos validator.

:func:`glb_problems` returns one line per problem (empty: none found):

* layout: header magic / version / length, a JSON chunk then a BIN chunk, 4-byte padded;
  one buffer no longer than the BIN chunk;
* bufferViews inside the buffer, 4-byte aligned offsets, a known target;
* accessors inside their bufferView, aligned to their component size, finite floats, and
  ``min`` / ``max`` (where given, and always on POSITION and animation inputs) equal to the
  data's;
* meshes: POSITION / NORMAL float VEC3 of one vertex count, indices in range, whole triangles;
* nodes: valid children, at most one parent each, no cycles, unit rotations, scenes listing
  root nodes only;
* animations: inputs float SCALAR, strictly increasing and non-negative, outputs of the same
  count (LINEAR) and of the path's type (translation / scale VEC3, rotation unit VEC4), valid
  target nodes, at most one channel per node and path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from viz.gltf import (
    ALIGN,
    ARRAY_BUFFER,
    COMPONENT_DTYPES,
    ELEMENT_ARRAY_BUFFER,
    GlbError,
    GlbFile,
    accessor_array,
    read_glb,
)

UNIT_TOLERANCE = 1e-3  # |q| of a rotation may differ from 1 by this much (float32 data)
PATH_TYPES = {"translation": "VEC3", "rotation": "VEC4", "scale": "VEC3", "weights": "SCALAR"}


def glb_problems(data: bytes) -> list[str]:
    """Every structural problem of the GLB ``data`` found by the checks in the module docs."""
    try:
        glb = read_glb(data)
    except GlbError as error:
        return [f"layout: {error}"]
    problems = _buffer_problems(glb)
    if problems:  # accessors cannot be read safely
        return problems
    arrays: dict[int, np.ndarray] = {}
    for i, accessor in enumerate(glb.document.get("accessors", [])):
        problems += _accessor_problems(glb, i, accessor, arrays)
    problems += _mesh_problems(glb.document, arrays)
    problems += _node_problems(glb.document)
    problems += _animation_problems(glb.document, arrays)
    return problems


def _buffer_problems(glb: GlbFile) -> list[str]:
    buffers = glb.document.get("buffers", [])
    if len(buffers) != 1:
        return [f"buffers: expected one (the BIN chunk), found {len(buffers)}"]
    size = buffers[0].get("byteLength", -1)
    if not 0 <= size <= len(glb.binary) or len(glb.binary) - size >= ALIGN:
        return [f"buffers: byteLength {size} does not match the BIN chunk ({len(glb.binary)})"]
    problems = []
    for i, view in enumerate(glb.document.get("bufferViews", [])):
        start, length = view.get("byteOffset", 0), view.get("byteLength", 0)
        if view.get("buffer") != 0 or start < 0 or length <= 0 or start + length > size:
            problems.append(f"bufferView {i}: [{start}, {start + length}) outside the buffer")
        if start % ALIGN:
            problems.append(f"bufferView {i}: offset {start} not {ALIGN}-byte aligned")
        if view.get("target", ARRAY_BUFFER) not in (ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER):
            problems.append(f"bufferView {i}: unknown target {view['target']}")
    return problems


def _accessor_problems(
    glb: GlbFile, i: int, accessor: dict[str, Any], arrays: dict[int, np.ndarray]
) -> list[str]:
    dtype = COMPONENT_DTYPES.get(accessor.get("componentType"))
    if dtype is None:
        return [f"accessor {i}: unknown componentType {accessor.get('componentType')}"]
    if accessor.get("byteOffset", 0) % dtype.itemsize:
        return [f"accessor {i}: byteOffset not aligned to {dtype.itemsize} bytes"]
    try:
        values = accessor_array(glb, i)
    except GlbError as error:
        return [f"accessor {i}: {error}"]
    arrays[i] = values
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        return [f"accessor {i}: non-finite values"]
    problems = []
    flat = values.reshape(len(values), -1)  # (count, width)
    for key, reduce in (("min", np.min), ("max", np.max)):
        if key in accessor and len(flat):
            actual = reduce(flat, axis=0).astype(np.float64)
            if not np.array_equal(np.asarray(accessor[key], dtype=dtype), actual.astype(dtype)):
                problems.append(f"accessor {i}: {key} {accessor[key]} != data {actual.tolist()}")
    return problems


def _mesh_problems(doc: dict[str, Any], arrays: dict[int, np.ndarray]) -> list[str]:
    problems = []
    accessors = doc.get("accessors", [])
    for m, mesh in enumerate(doc.get("meshes", [])):
        for p, primitive in enumerate(mesh.get("primitives", [])):
            where = f"mesh {m} primitive {p}"
            attributes = primitive.get("attributes", {})
            counts = set()
            for name in ("POSITION", "NORMAL"):
                if name in attributes:
                    acc = attributes[name]
                    if acc not in arrays or accessors[acc]["type"] != "VEC3":
                        problems.append(f"{where}: {name} is not a readable VEC3 accessor")
                        continue
                    counts.add(len(arrays[acc]))
            position = attributes.get("POSITION")
            if position is None or not {"min", "max"} <= set(accessors[position]):
                problems.append(f"{where}: POSITION missing or without min/max")
            if len(counts) > 1:
                problems.append(f"{where}: attributes of different vertex counts {counts}")
            indices = arrays.get(primitive.get("indices", -1))
            if indices is None or not counts:
                continue
            if indices.dtype.kind != "u" or len(indices) % 3 or indices.max() >= max(counts):
                problems.append(f"{where}: indices not whole triangles within the vertices")
    return problems


def _node_problems(doc: dict[str, Any]) -> list[str]:
    nodes = doc.get("nodes", [])
    problems = []
    parent: dict[int, int] = {}
    for n, node in enumerate(nodes):
        for child in node.get("children", []):
            if not 0 <= child < len(nodes) or child == n:
                problems.append(f"node {n}: bad child {child}")
            elif child in parent:
                problems.append(f"node {child}: two parents ({parent[child]} and {n})")
            else:
                parent[child] = n
        rotation = node.get("rotation")
        if rotation is not None and abs(np.linalg.norm(rotation) - 1) > UNIT_TOLERANCE:
            problems.append(f"node {n}: rotation {rotation} is not a unit quaternion")
    for n in range(len(nodes)):  # walking up from any node must reach a root
        seen, current = {n}, n
        while current in parent:
            current = parent[current]
            if current in seen:
                problems.append(f"node {n}: in a cycle")
                break
            seen.add(current)
    for s, scene in enumerate(doc.get("scenes", [])):
        for root in scene.get("nodes", []):
            if not 0 <= root < len(nodes) or root in parent:
                problems.append(f"scene {s}: node {root} is not a root node")
    return problems


def _animation_problems(doc: dict[str, Any], arrays: dict[int, np.ndarray]) -> list[str]:
    problems = []
    accessors = doc.get("accessors", [])
    n_nodes = len(doc.get("nodes", []))
    for a, animation in enumerate(doc.get("animations", [])):
        samplers = animation.get("samplers", [])
        for s, sampler in enumerate(samplers):
            times = arrays.get(sampler.get("input", -1))
            where = f"animation {a} sampler {s}"
            acc = accessors[sampler["input"]] if times is not None else {}
            if times is None or times.ndim != 1 or times.dtype.kind != "f":
                problems.append(f"{where}: input is not a float SCALAR accessor")
            elif not {"min", "max"} <= set(acc) or times.min() < 0:
                problems.append(f"{where}: input without min/max or with negative times")
            elif len(times) > 1 and not (np.diff(times) > 0).all():
                problems.append(f"{where}: input times not strictly increasing")
            output = arrays.get(sampler.get("output", -1))
            if output is None or times is None or len(output) != len(times):
                problems.append(f"{where}: output count does not match the input (LINEAR)")
        targets = set()
        for c, channel in enumerate(animation.get("channels", [])):
            problems += _channel_problems(f"animation {a} channel {c}", channel, samplers,
                                          accessors, arrays, n_nodes)  # fmt: skip
            key = (channel.get("target", {}).get("node"), channel.get("target", {}).get("path"))
            if key in targets:
                problems.append(f"animation {a}: two channels target node/path {key}")
            targets.add(key)
    return problems


def _channel_problems(
    where: str,
    channel: dict[str, Any],
    samplers: list[dict[str, Any]],
    accessors: list[dict[str, Any]],
    arrays: dict[int, np.ndarray],
    n_nodes: int,
) -> list[str]:
    target = channel.get("target", {})
    path, node = target.get("path"), target.get("node")
    if not 0 <= channel.get("sampler", -1) < len(samplers):
        return [f"{where}: no sampler {channel.get('sampler')}"]
    if node is None or not 0 <= node < n_nodes or path not in PATH_TYPES:
        return [f"{where}: bad target {target}"]
    output = samplers[channel["sampler"]].get("output", -1)
    if output not in arrays or accessors[output]["type"] != PATH_TYPES[path]:
        return [f"{where}: output of {path} must be {PATH_TYPES[path]}"]
    if path == "rotation":
        norms = np.linalg.norm(arrays[output].astype(np.float64), axis=-1)
        if (np.abs(norms - 1) > UNIT_TOLERANCE).any():
            return [f"{where}: rotations are not unit quaternions"]
    return []
