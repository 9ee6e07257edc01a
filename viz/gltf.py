"""A minimal glTF 2.0 binary (GLB) writer and reader: one buffer, one BIN chunk.

File layout (glTF 2.0 spec, "Binary glTF Layout"), all integers little-endian uint32::

    header   magic b"glTF" | version 2 | total length
    chunk 0  length | b"JSON" | UTF-8 JSON, padded with spaces to 4 bytes
    chunk 1  length | b"BIN\\0" | the buffer, padded with zeros to 4 bytes

:class:`GlbBuilder` appends one tightly packed bufferView per accessor, each starting on a
4-byte boundary (so every component is aligned), and writes ``min`` / ``max`` on the accessors
that need them (vertex positions, animation times). :func:`read_glb` and
:func:`accessor_array` read such files back (any tightly packed or strided accessor).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GLB_MAGIC = b"glTF"
GLB_VERSION = 2
CHUNK_JSON = b"JSON"
CHUNK_BIN = b"BIN\x00"
HEADER_BYTES = 12  # magic, version, length
CHUNK_HEADER_BYTES = 8  # length, type
ALIGN = 4  # chunk and bufferView alignment (bytes)

ARRAY_BUFFER = 34962  # bufferView target: vertex attributes
ELEMENT_ARRAY_BUFFER = 34963  # bufferView target: indices
COMPONENT_DTYPES = {  # accessor componentType -> numpy dtype (little-endian)
    5121: np.dtype("<u1"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
COMPONENT_TYPES = {dtype: code for code, dtype in COMPONENT_DTYPES.items()}
TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class GlbError(ValueError):
    """A GLB file that cannot be read (bad header, chunks or accessor)."""


@dataclass
class GlbFile:
    """A parsed GLB: its JSON document and the BIN chunk (the one buffer)."""

    document: dict[str, Any]  # the glTF JSON
    binary: bytes  # BIN chunk payload, padding included


@dataclass
class GlbBuilder:
    """Accumulates the JSON document and the binary buffer of one GLB file."""

    document: dict[str, Any] = field(
        default_factory=lambda: {"asset": {"version": "2.0", "generator": "esd-for-motion viz"}}
    )  # the glTF JSON; callers add scenes, nodes, meshes, materials, animations
    _binary: bytearray = field(default_factory=bytearray)  # the buffer built so far

    def add_accessor(
        self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False
    ) -> int:
        """Append ``array`` as a new bufferView + accessor; returns the accessor index.

        ``array``: ``(count,)`` for "SCALAR" or ``(count, n)`` for "VECn", of a dtype in
        ``COMPONENT_TYPES`` (float32, uint16, uint32, uint8). ``target``: ``ARRAY_BUFFER`` or
        ``ELEMENT_ARRAY_BUFFER`` for mesh data, None for animation data. ``bounds``: write the
        per-component ``min`` / ``max`` (required on POSITION and animation inputs).
        """
        data = np.ascontiguousarray(array)
        width = TYPE_SIZES[kind]
        if data.dtype not in COMPONENT_TYPES or data.reshape(len(data), -1).shape[1] != width:
            raise ValueError(f"array {data.shape} {data.dtype} does not fit a {kind} accessor")
        self._binary += b"\x00" * (-len(self._binary) % ALIGN)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self._binary)}
        view["byteLength"] = data.nbytes
        if target is not None:
            view["target"] = target
        self._binary += data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()
        views = self.document.setdefault("bufferViews", [])
        views.append(view)
        accessor: dict[str, Any] = {
            "bufferView": len(views) - 1,
            "componentType": COMPONENT_TYPES[data.dtype],
            "count": len(data),
            "type": kind,
        }
        if bounds:
            flat = data.reshape(len(data), width)  # (count, width)
            accessor["min"] = _plain(flat.min(axis=0))
            accessor["max"] = _plain(flat.max(axis=0))
        accessors = self.document.setdefault("accessors", [])
        accessors.append(accessor)
        return len(accessors) - 1

    def to_bytes(self) -> bytes:
        """The GLB file of the document and the buffer (see :func:`pack_glb`)."""
        return pack_glb(self.document, bytes(self._binary))


def pack_glb(document: dict[str, Any], binary: bytes) -> bytes:
    """The GLB file: header, JSON chunk (space-padded), BIN chunk (zero-padded); the document's
    ``buffers`` is set to the one BIN buffer."""
    binary = binary + b"\x00" * (-len(binary) % ALIGN)
    document = {**document, "buffers": [{"byteLength": len(binary)}]}
    text = json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % ALIGN)
    total = HEADER_BYTES + 2 * CHUNK_HEADER_BYTES + len(text) + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", GLB_MAGIC, GLB_VERSION, total),
            struct.pack("<I4s", len(text), CHUNK_JSON),
            text,
            struct.pack("<I4s", len(binary), CHUNK_BIN),
            binary,
        ]
    )


def read_glb(data: bytes) -> GlbFile:
    """Parse a GLB with a JSON and a BIN chunk; GlbError when the layout is wrong."""
    if len(data) < HEADER_BYTES + CHUNK_HEADER_BYTES:
        raise GlbError(f"{len(data)} bytes is too short for a GLB file")
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != GLB_MAGIC or version != GLB_VERSION:
        raise GlbError(f"not a glTF 2 binary (magic {magic!r}, version {version})")
    if total != len(data):
        raise GlbError(f"header says {total} bytes, the file has {len(data)}")
    chunks: list[tuple[bytes, bytes]] = []
    offset = HEADER_BYTES
    while offset < total:
        if offset + CHUNK_HEADER_BYTES > total:
            raise GlbError(f"truncated chunk header at byte {offset}")
        length, kind = struct.unpack_from("<I4s", data, offset)
        start = offset + CHUNK_HEADER_BYTES
        if start + length > total or length % ALIGN:
            raise GlbError(f"chunk {kind!r} at byte {offset}: bad length {length}")
        chunks.append((kind, data[start : start + length]))
        offset = start + length
    if not chunks or chunks[0][0] != CHUNK_JSON:
        raise GlbError("the first chunk must be JSON")
    try:
        document = json.loads(chunks[0][1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GlbError(f"the JSON chunk does not parse: {error}") from None
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == CHUNK_BIN else b""
    return GlbFile(document, binary)


def accessor_array(glb: GlbFile, index: int) -> np.ndarray:
    """Accessor ``index`` as an array ``(count,)`` (SCALAR) or ``(count, n)``; GlbError when it
    points outside its bufferView or the buffer."""
    try:
        accessor = glb.document["accessors"][index]
        view = glb.document["bufferViews"][accessor["bufferView"]]
        dtype = COMPONENT_DTYPES[accessor["componentType"]]
        width = TYPE_SIZES[accessor["type"]]
    except (KeyError, IndexError, TypeError) as error:
        raise GlbError(f"accessor {index} is incomplete or dangling: {error!r}") from None
    count = accessor["count"]
    element = dtype.itemsize * width
    stride = view.get("byteStride", element)
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    needed = (count - 1) * stride + element if count else 0
    end_of_view = view.get("byteOffset", 0) + view["byteLength"]
    if start + needed > end_of_view or end_of_view > len(glb.binary):
        raise GlbError(f"accessor {index} reads past its bufferView or the buffer")
    raw = np.frombuffer(glb.binary, dtype=np.uint8, count=needed, offset=start)
    rows = np.lib.stride_tricks.as_strided(raw, (count, element), (stride, 1))  # (count, bytes)
    values = np.ascontiguousarray(rows).view(dtype).reshape(count, width)
    return values[:, 0] if accessor["type"] == "SCALAR" else values


def _plain(values: np.ndarray) -> list[float | int]:
    """JSON numbers of ``values (n,)``: ints stay ints, float32 values keep their exact value."""
    if np.issubdtype(values.dtype, np.integer):
        return [int(v) for v in values]
    return [float(v) for v in values.astype(np.float64)]
