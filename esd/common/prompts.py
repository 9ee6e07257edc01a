"""Prompts and concepts as users type them: one set of checks for the CLI and the workbench.

``check_prompt`` refuses, with one line, what no model should be asked or no file should hold:
an empty text, more than ``MAX_PROMPT_CHARS`` characters, a control character (a line break,
NUL, a tab, a bidi override...), or no letter or digit in any script ("一个人在踢腿" is a
prompt; "🦵🦵" is not). ``concept_slug`` names a concept's run folder with ``[a-z0-9_]`` only:
a plain ASCII concept keeps its readable slug ("a person kicking" -> "a_person_kicking"); any
other text ("a/person/kicking", "a person kicking 🦵", "一个人在踢腿", a cut long text) gets a
short hash of its text appended, so two different concepts never share a folder.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_PROMPT_CHARS = 200  # characters of a concept or prompt (CLI and workbench)
MAX_SLUG_CHARS = 48  # characters of a concept's slug in a run name (hash included)
HASH_CHARS = 8  # hex digits of the text's hash appended to a lossy slug
FALLBACK_SLUG = "concept"  # readable part of a slug of a text with no ASCII letter or digit
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format, ...


class PromptError(ValueError):
    """A prompt or concept the project cannot use; the message says what to change."""


def _control_character(text: str) -> str | None:
    """The first control / format / unassigned character of ``text`` (None: there is none)."""
    return next((c for c in text if unicodedata.category(c) in _BAD_CATEGORIES), None)


def check_prompt(text: object, name: str = "concept") -> str:
    """``text`` stripped of surrounding spaces, or PromptError naming ``name`` and the fix.

    Refused: empty, longer than MAX_PROMPT_CHARS, containing a control character (line break,
    NUL, tab, zero-width or bidi control), or without a letter or digit in any script.
    """
    stripped = str(text if text is not None else "").strip()
    if not stripped:
        raise PromptError(f"{name} is empty: give a prompt such as 'a person kicking'")
    if len(stripped) > MAX_PROMPT_CHARS:
        raise PromptError(
            f"{name} is {len(stripped)} characters long; at most {MAX_PROMPT_CHARS} are "
            "allowed: shorten it"
        )
    bad = _control_character(stripped)
    if bad is not None:
        raise PromptError(
            f"{name} contains the control character U+{ord(bad):04X} "
            f"({unicodedata.name(bad, 'unnamed')}); write it on one line, plain text only"
        )
    if not any(unicodedata.category(c)[0] in "LN" for c in stripped):
        raise PromptError(
            f"{name} {stripped!r} has no letters or digits; give a prompt such as "
            "'a person kicking'"
        )
    return stripped


def concept_slug(text: object) -> str:
    """Folder-safe slug of a concept (``[a-z0-9_]``, at most MAX_SLUG_CHARS characters).

    The lower-cased ASCII words of the text joined by ``_``; when that loses anything (other
    characters, accents, separators other than single spaces, a cut) the first HASH_CHARS hex
    digits of the SHA-256 of the lower-cased, space-normalised text are appended. So
    "a person kicking" -> "a_person_kicking" (as before), "A  person kicking" shares it (case
    and spacing do not name a different concept), "a/person/kicking" and "a person kicking 🦵"
    each get their own. Raises PromptError for a text ``check_prompt`` refuses.
    """
    canonical = " ".join(check_prompt(text).lower().split())
    plain = unicodedata.normalize("NFKD", canonical).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", plain)
    slug = "_".join(words)
    if words and " ".join(words) == canonical and len(slug) <= MAX_SLUG_CHARS:
        return slug
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_CHARS]
    readable = slug[: MAX_SLUG_CHARS - HASH_CHARS - 1].rstrip("_") or FALLBACK_SLUG
    return f"{readable}_{digest}"
