"""Forget / retain / related item sets of the T2M test set, from caption keywords.

The rule is the bundled evaluation's (``esd.motion.keywords``): a caption belongs to a concept
when its word stems contain every keyword of the concept's text ("a person kicking" -> kick, so
"kicks", "kicking" and "kicked" all match). Then, for a target and related concepts:

* ``forget``: the items with a caption of the target, keeping only those captions (so every
  prompt drawn from the set names the target);
* ``retain``: the items with no caption of the target (all their captions);
* ``related:TEXT``: the retain items with a caption of a related concept, keeping only those
  captions;
* ``test``: every item, as the standard protocol (optional).
"""

from __future__ import annotations

from collections.abc import Sequence

from esd.evaluation.t2m.testset import Caption, T2MItem
from esd.motion.keywords import caption_stems, target_keywords

ALL_SPLIT = "test"  # the whole test set: the papers' numbers
FORGET_SPLIT, RETAIN_SPLIT = "forget", "retain"
RELATED_PREFIX = "related:"


def captions_of(item: T2MItem, keywords: Sequence[str]) -> list[Caption]:
    """The item's captions whose stems contain every keyword."""
    wanted = set(keywords)
    return [c for c in item.captions if wanted <= caption_stems(c.text)]


def keyword_splits(
    items: Sequence[T2MItem],
    target: str,
    related: Sequence[str] = (),
    include_all: bool = True,
    also_erased: Sequence[str] = (),
) -> dict[str, list[T2MItem]]:
    """{"test", "forget", "retain", "related:TEXT" ...} item lists (see the module docstring).

    ``also_erased``: a multi-concept run's other targets; items a caption of which names one
    leave the retain set (and so the related splits) without joining the forget set.

    Raises ValueError when the target or a related text has no keywords ("a person").
    """
    keywords = target_keywords(target)
    others = [target_keywords(text) for text in also_erased]
    forget, retain = [], []
    for item in items:
        hits = captions_of(item, keywords)
        if hits:
            forget.append(item.with_captions(hits))
        elif not any(captions_of(item, other) for other in others):
            retain.append(item)
    splits = {ALL_SPLIT: list(items)} if include_all else {}
    splits |= {FORGET_SPLIT: forget, RETAIN_SPLIT: retain}
    for text in related:
        related_keywords = target_keywords(text)
        matched = [(item, captions_of(item, related_keywords)) for item in retain]
        splits[RELATED_PREFIX + text] = [item.with_captions(c) for item, c in matched if c]
    return splits
