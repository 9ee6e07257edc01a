"""esd.common.prompts: the one place that says which prompts and concepts are usable and how a
concept names its run folder (the CLI and the workbench share it)."""

from __future__ import annotations

import hashlib
import re

import pytest

from esd.common.prompts import (
    MAX_PROMPT_CHARS,
    MAX_SLUG_CHARS,
    PromptError,
    check_prompt,
    concept_slug,
)


@pytest.mark.parametrize(
    "text",
    ["一个人在踢腿", "une personne qui saute", "a person kicking 🦵", "человек бежит", "kick 2"],
)
def test_prompts_in_any_script_are_accepted(text) -> None:
    assert check_prompt(f"  {text} ") == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (None, "is empty"),
        ("🦵🦵", "has no letters or digits"),
        ("a person\nkicking", "control character U+000A"),
        ("a person\x00kicking", "control character U+0000"),
        ("a person\tkicking", "control character U+0009"),
        ("kick\u202eing", "control character U+202E"),
        ("k" * (MAX_PROMPT_CHARS + 1), f"at most {MAX_PROMPT_CHARS} are allowed"),
    ],
)
def test_unusable_prompts_are_refused_in_one_line(text, message) -> None:
    with pytest.raises(PromptError, match=re.escape(message)) as info:
        check_prompt(text, "target concept")
    assert "\n" not in str(info.value) and str(info.value).startswith("target concept")


def test_the_limit_is_inclusive() -> None:
    assert check_prompt("k" * MAX_PROMPT_CHARS) == "k" * MAX_PROMPT_CHARS


def test_plain_concepts_keep_their_readable_slug() -> None:
    assert concept_slug("a person kicking") == "a_person_kicking"
    assert concept_slug("A  Person Kicking ") == "a_person_kicking"  # case, spacing: same concept
    assert concept_slug("kick 2") == "kick_2"


def test_different_concepts_never_share_a_slug() -> None:
    texts = [
        "a person kicking",
        "a person kicking 🦵",
        "a/person/kicking",
        "a person kicking!",
        "a person kickıng",
        "café",
        "cafe",
        "一个人在踢腿",
        "一个人在跑步",
        "x" * 60,
        "x" * 61,
    ]
    slugs = [concept_slug(t) for t in texts]
    assert len(set(slugs)) == len(texts), slugs
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9_]+", slug) and len(slug) <= MAX_SLUG_CHARS
    assert slugs[1].startswith("a_person_kicking_") and slugs[7].startswith("concept_")


def test_a_slug_is_stable() -> None:
    """The hash is of the text, not of the process: a run folder is found again tomorrow."""
    digest = hashlib.sha256(b"a/person/kicking").hexdigest()[:8]
    assert concept_slug("a/person/kicking") == f"a_person_kicking_{digest}"


def test_a_slug_of_an_unusable_concept_is_refused() -> None:
    with pytest.raises(PromptError, match="no letters or digits"):
        concept_slug("../..")
