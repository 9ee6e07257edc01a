"""One-line error messages for users (CLI, workbench): no traceback, no type for our own errors."""

from __future__ import annotations

MAX_ERROR_CHARS = 300  # error text shown to the user (first line of the exception)


def one_line(err: BaseException, limit: int = MAX_ERROR_CHARS) -> str:
    """``Type: first line`` of an exception (no traceback), cut to ``limit`` characters.

    ValueError and its subclasses are our own user-facing errors: shown without the type.
    """
    text = str(err).strip()
    if isinstance(err, KeyError):  # str(KeyError) is the quoted key
        text = f"missing entry {text}"
    line = text.splitlines()[0] if text else ""
    if not isinstance(err, ValueError) or not line:
        line = f"{type(err).__name__}: {line}" if line else type(err).__name__
    return line[:limit]
