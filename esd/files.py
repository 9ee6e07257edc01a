"""File names from user text: ``safe_filename`` (motion exports, downloads).

A prompt such as ``"../../etc/passwd <b>kick</b>"`` must never name a file outside its folder;
the stem keeps only ``[a-z0-9_-]``.
"""

from __future__ import annotations

import re
import unicodedata

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
