"""Safe file names from user text (``safe_filename``) and atomic file writes (``atomic_save``).

A prompt such as ``"../../etc/passwd <b>kick</b>"`` must never name a file outside its folder;
the stem keeps only ``[a-z0-9_-]`` (``[A-Za-z0-9_-]`` with ``keep_case``).

Every file the project writes (checkpoints, reports, reference sets, dataset caches, exports,
opt.txt) goes through ``atomic_save``: a temp file in the same folder, flushed and fsynced, then
``os.replace``. A reader never sees a half-written file and an interrupted write leaves the old
file intact. Files get the usual permissions (0666 minus the umask), not mkstemp's 0600.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_RESERVED_STEMS = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)  # names Windows refuses as files


def safe_filename(
    text: str, max_len: int = 60, fallback: str = "motion", keep_case: bool = False
) -> str:
    """A file stem made of ``[a-z0-9_-]`` from user text (e.g. a prompt); never empty.

    Accents are stripped (``é`` -> ``e``), the text is lower-cased unless ``keep_case`` (run
    names keep theirs), every other run of characters becomes ``_``, the ends are trimmed of
    ``_``/``-`` (no leading dash, no path separator, no dot: ``../x`` -> ``x``), the result is
    cut to ``max_len``; an empty result gives ``fallback``; Windows device names (``con``,
    ``nul``, ...) get a trailing ``_``.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", plain if keep_case else plain.lower()).strip("_-")
    stem = stem[:max_len].rstrip("_-")
    if not stem:
        if fallback != safe_filename(fallback, max_len, fallback="motion", keep_case=keep_case):
            raise ValueError(f"fallback {fallback!r} is not itself a safe file stem")
        return fallback
    return f"{stem[: max_len - 1]}_" if stem.lower() in _RESERVED_STEMS else stem


def _current_umask() -> int:
    """The process umask, read without changing it where /proc tells it (Linux), else 0o022."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


FILE_MODE = 0o666 & ~_current_umask()  # what open() would give a new file


def atomic_save(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(handle)`` on a temp file beside ``path``, fsync it, then rename it to ``path``.

    A reader never sees a half-written file; on any error (or Ctrl-C) the temp file is removed
    and an existing ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write(path: str | Path, content: bytes | str) -> Path:
    """Write ``content`` (str as UTF-8) to ``path`` atomically (``atomic_save``)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return atomic_save(path, lambda handle: handle.write(data))


def replace_dir(tmp: Path, out: Path) -> None:
    """Rename the finished folder ``tmp`` to ``out``; an existing ``out`` is moved aside first
    and deleted after, so ``out`` is never half written."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
