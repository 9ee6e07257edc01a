"""The protocol's seeded draws from the test items: one replication's batches.

Specification: SALAD_COMPAT.md 3.5 ("Test data"); every draw comes from one
``np.random.Generator``, in the reference order (caption, shorter coin, window):

* the items are shuffled and cut into batches of 32, the incomplete last one dropped;
* per item: a random caption; the length cut to a multiple of ``unit_length`` (4), and with
  probability 1/3 one unit shorter; a random window of that length; meta normalisation; zero
  padding to 196 frames;
* each batch is sorted by caption length (tokens + sos/eos), descending, ties kept in the
  shuffled order (a stable sort, as the reference collate function).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from esd.evaluation.t2m.evaluator import T2MEvaluator
from esd.evaluation.t2m.testset import Caption, T2MItem
from esd.evaluation.t2m.vectorizer import WordVectorizer
from esd.motion.skeleton import FEATURE_DIM, MAX_FRAMES

BATCH_SIZE = 32  # loader batch = R-precision pool
SHORTER_ODDS = 3  # one draw in 3 is one unit shorter (the reference's 'single', 'single', 'double')
SHORTER_MAX_UNIT = 10  # the shorter draw applies only when unit_length < 10 (reference)


@dataclass(frozen=True)
class T2MBatch:
    """One loader batch, in the reference collate order (cap_lens descending)."""

    captions: list[str]  # (B,) caption texts (the generation prompts)
    tokens: list[tuple[str, ...]]  # (B,) unpadded tokens
    word_embs: np.ndarray  # (B, 22, 300) float32
    pos_ohot: np.ndarray  # (B, 22, 15) float32
    cap_lens: np.ndarray  # (B,) int64, descending
    motions: np.ndarray  # (B, 196, 263) float32, meta-normalised, zero from m_lens on
    m_lens: np.ndarray  # (B,) int64 frames, multiples of unit_length
    items: np.ndarray  # (B,) int64 index of each row's item

    def __len__(self) -> int:
        return len(self.captions)


@dataclass(frozen=True)
class ItemDraw:
    """One item's draw: its caption, its normalised padded window and the window's length."""

    caption: Caption
    motion: np.ndarray  # (196, 263) float32
    m_len: int


def crop_length(frames: int, unit_length: int, shorter: bool) -> int:
    """``(frames // unit - 1) * unit`` when ``shorter`` else ``(frames // unit) * unit``."""
    return (frames // unit_length - int(shorter)) * unit_length


def normalise_and_pad(window: np.ndarray, evaluator: T2MEvaluator) -> np.ndarray:
    """(T, 263) raw features -> (196, 263) float32: meta-normalised, zero after T."""
    padded = np.zeros((MAX_FRAMES, FEATURE_DIM), dtype=np.float32)
    padded[: window.shape[0]] = (window - evaluator.meta_mean) / evaluator.meta_std
    return padded


def draw_item(item: T2MItem, rng: np.random.Generator, evaluator: T2MEvaluator) -> ItemDraw:
    """A random caption, a random window of the cut length, normalised and padded."""
    caption = item.captions[int(rng.integers(len(item.captions)))]
    frames, unit = item.motion.shape[0], evaluator.unit_length
    shorter = unit < SHORTER_MAX_UNIT and int(rng.integers(SHORTER_ODDS)) == 0
    m_len = crop_length(frames, unit, shorter)
    if not 0 < m_len <= MAX_FRAMES:
        raise ValueError(f"item {item.name} has {frames} frames; the protocol takes 40 to 199")
    start = int(rng.integers(frames - m_len + 1))
    return ItemDraw(
        caption, normalise_and_pad(item.motion[start : start + m_len], evaluator), m_len
    )


def collate(
    draws: Sequence[ItemDraw],
    item_idx: Sequence[int],
    words: WordVectorizer,
    max_text_len: int,
) -> T2MBatch:
    """Draws -> one batch sorted by caption length, descending (stable)."""
    text = words.text_inputs([d.caption.tokens for d in draws], max_text_len)
    order = sorted(range(len(draws)), key=lambda i: int(text.cap_lens[i]), reverse=True)
    return T2MBatch(
        captions=[draws[i].caption.text for i in order],
        tokens=[draws[i].caption.tokens for i in order],
        word_embs=text.word_embs[order],
        pos_ohot=text.pos_ohot[order],
        cap_lens=text.cap_lens[order],
        motions=np.stack([draws[i].motion for i in order]),  # (B, 196, 263)
        m_lens=np.array([draws[i].m_len for i in order], dtype=np.int64),
        items=np.asarray(item_idx, dtype=np.int64)[order],
    )


def batch_count(num_items: int, batch_size: int = BATCH_SIZE) -> int:
    """Batches of one pass (the incomplete last batch is dropped)."""
    return num_items // batch_size


def sample_batches(
    items: Sequence[T2MItem],
    rng: np.random.Generator,
    evaluator: T2MEvaluator,
    words: WordVectorizer,
    batch_size: int = BATCH_SIZE,
) -> Iterator[T2MBatch]:
    """One replication's pass: shuffled items, ``batch_count`` batches drawn lazily in order."""
    order = rng.permutation(len(items))  # (N,)
    for b in range(batch_count(len(items), batch_size)):
        idx = order[b * batch_size : (b + 1) * batch_size]  # (B,)
        draws = [draw_item(items[i], rng, evaluator) for i in idx]
        yield collate(draws, idx, words, evaluator.max_text_len)
