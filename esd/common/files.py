"""Safe file names from user text (``safe_filename``) and atomic file writes (``atomic_write``).

A prompt such as ``"../../etc/passwd <b>kick</b>"`` must never name a file outside its folder;
the stem keeps only ``[a-z0-9_-]``. A reader never sees a half-written file: content goes to a
temp file in the same folder, then ``os.replace``. (Checkpoints stream through
``esd.models.checkpoints.save_checkpoint``, which also fsyncs.)
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

_RESERVED_STEMS = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)  # names Windows refuses as files


def safe_filename(text: str, max_len: int = 60, fallback: str = "motion") -> str:
    """A file stem made of ``[a-z0-9_-]`` from user text (e.g. a prompt); never empty.

    Accents are stripped (``é`` -> ``e``), every other run of characters becomes ``_``, the ends
    are trimmed of ``_``/``-`` (no leading dash, no path separator, no dot: ``../x`` -> ``x``),
    the result is cut to ``max_len``; an empty result gives ``fallback``; Windows device names
    (``con``, ``nul``, ...) get a trailing ``_``.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^a-z0-9_-]+", "_", plain.lower()).strip("_-")
    stem = stem[:max_len].rstrip("_-")
    if not stem:
        if fallback != safe_filename(fallback, max_len, fallback="motion"):
            raise ValueError(f"fallback {fallback!r} is not itself a safe file stem")
        return fallback
    return f"{stem[: max_len - 1]}_" if stem in _RESERVED_STEMS else stem


def atomic_write(path: str | Path, content: bytes | str) -> Path:
    """Write ``content`` (str as UTF-8) to ``path`` via a temp file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
