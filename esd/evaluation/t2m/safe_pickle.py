"""A restricted unpickler for the T2M vocabulary files: lists, dicts, strings and ints only.

``our_vab_words.pkl`` (a list of words) and ``our_vab_idx.pkl`` (word -> row) come from the
user's download. A pickle can run arbitrary code when loaded (a global + REDUCE), so this reader:

1. scans every opcode first (``pickletools.genops``, which only parses) and refuses a file with
   any opcode outside ``ALLOWED_OPCODES``: no globals, no REDUCE / BUILD / NEWOBJ, no
   persistent ids, no floats, tuples, sets or bytes; nothing is executed before this check;
2. unpickles with ``find_class`` and ``persistent_load`` refusing everything (defence in depth);
3. checks that the result is made of list, dict, str and int only.

A refused file raises UnsafePickleError (a ValueError) with one line naming the first culprit.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path
from typing import Any

MAX_PICKLE_BYTES = 16 * 2**20  # the vocabulary files are ~80 KB; refuse anything huge
ALLOWED_OPCODES = frozenset(
    {
        # framing and structure
        "PROTO",
        "FRAME",
        "STOP",
        "MARK",
        # memo
        "PUT",
        "BINPUT",
        "LONG_BINPUT",
        "MEMOIZE",
        "GET",
        "BINGET",
        "LONG_BINGET",
        # containers
        "EMPTY_LIST",
        "LIST",
        "APPEND",
        "APPENDS",
        "EMPTY_DICT",
        "DICT",
        "SETITEM",
        "SETITEMS",
        # str
        "UNICODE",
        "BINUNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE8",
        # int
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
    }
)
ALLOWED_TYPES = (list, dict, str, int)


class UnsafePickleError(ValueError):
    """The pickle holds something other than lists, dicts, strings and ints."""


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise UnsafePickleError(f"refused global {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refused a persistent id")


def _check_opcodes(data: bytes, path: Path) -> None:
    try:
        for opcode, arg, pos in pickletools.genops(data):
            if opcode.name not in ALLOWED_OPCODES:
                detail = f" {arg!r}" if isinstance(arg, str) else ""
                raise UnsafePickleError(
                    f"{path} was refused: opcode {opcode.name}{detail} at byte {pos} (only "
                    "lists, dicts, strings and ints are read; nothing in the file was executed)"
                )
    except UnsafePickleError:
        raise
    except Exception as err:  # genops raises ValueError and others on corrupt bytes
        raise UnsafePickleError(f"{path} is not a readable pickle: {err}") from None


def _check_types(value: Any, path: Path) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) not in ALLOWED_TYPES:
            raise UnsafePickleError(
                f"{path} holds a {type(item).__name__}; expected lists, "
                "dicts, strings and ints only"
            )
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())


def load_plain_pickle(path: str | Path) -> Any:
    """Read a pickle of lists, dicts, strings and ints; refuse anything else unexecuted."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PICKLE_BYTES:
            raise UnsafePickleError(f"{path} is {size} bytes; a vocabulary pickle is far smaller")
        data = path.read_bytes()
    except OSError as err:
        raise UnsafePickleError(f"cannot read {path}: {err.strerror or err}") from None
    _check_opcodes(data, path)
    try:
        value = _NoGlobals(io.BytesIO(data)).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path} was refused: {err}") from None
    except Exception as err:  # malformed but opcode-clean input
        raise UnsafePickleError(f"{path} is not a readable pickle: {err}") from None
    _check_types(value, path)
    return value
