"""The T2M text inputs: ``word/POS`` tokens -> GloVe word vectors and POS one-hots, padded to 22.

Specification: SALAD_COMPAT.md 3.3 and 3.4.

* Vocabulary: ``our_vab_data.npy`` (V, 300) rows indexed by ``our_vab_idx.pkl`` (word -> row);
  ``our_vab_words.pkl`` lists the words. The pickles are read with ``load_plain_pickle``.
* A word outside the vocabulary gets the ``unk`` vector and POS OTHER. A word of a VIP list gets
  that list's POS (Loc_VIP ... Desc_VIP) whatever its tag; lists are checked in the order
  Loc, Body, Obj, Act, Desc. Any other tag outside ``POS_INDEX`` (CCONJ, SCONJ, PART, ...) is
  OTHER.
* Padding (``pad_tokens``): fewer than ``max_text_len`` (20) tokens: ``sos/OTHER`` + tokens +
  ``eos/OTHER``, then ``unk/OTHER`` up to 22, ``cap_len`` = tokens + 2; otherwise the first 20
  tokens between sos and eos, ``cap_len`` = 22.

The VIP word lists are those of text-to-motion's word vectoriser (MIT, (c) 2022 Chuan Guo); the
reference fixture checks ten of them (kick, walk, left, forward, leg, arm, stair, slowly,
quickly, and wave as a non-VIP verb).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from esd.evaluation.t2m.safe_pickle import load_plain_pickle

DEFAULT_GLOVE_DIR = "glove"  # SALAD's layout: ./glove relative to the working directory
GLOVE_PREFIX = "our_vab"  # our_vab_data.npy, our_vab_words.pkl, our_vab_idx.pkl
POS_INDEX = {
    "VERB": 0,
    "NOUN": 1,
    "DET": 2,
    "ADP": 3,
    "NUM": 4,
    "AUX": 5,
    "PRON": 6,
    "ADJ": 7,
    "ADV": 8,
    "Loc_VIP": 9,
    "Body_VIP": 10,
    "Obj_VIP": 11,
    "Act_VIP": 12,
    "Desc_VIP": 13,
    "OTHER": 14,
}
POS_DIM = len(POS_INDEX)  # 15
_VIP_TEXT = {  # checked in this order; the first list holding the word wins
    "Loc_VIP": """left right clockwise counterclockwise anticlockwise forward back backward up down
        straight curve""",
    "Body_VIP": "arm chin foot feet face hand mouth leg waist eye knee shoulder thigh",
    "Obj_VIP": "stair dumbbell chair window floor car ball handrail baseball basketball",
    "Act_VIP": """walk run swing pick bring kick put squat throw hop dance jump turn stumble stop
        sit lift lower raise wash stand kneel stroll rub bend balance flap jog shuffle lean rotate
        spin spread climb""",
    "Desc_VIP": """slowly carefully fast careful slow quickly happy angry sad happily angrily
        sadly""",
}
VIP_WORDS = {pos: frozenset(text.split()) for pos, text in _VIP_TEXT.items()}
SOS, EOS, UNK = "sos/OTHER", "eos/OTHER", "unk/OTHER"  # padding tokens
UNK_WORD = "unk"  # the vocabulary row of unknown words


class GloveError(ValueError):
    """The GloVe vocabulary files are missing or inconsistent."""


def pad_tokens(tokens: Sequence[str], max_text_len: int = 20) -> tuple[list[str], int]:
    """T2M's padding: (max_text_len + 2 tokens, cap_len). See the module docstring."""
    tokens = list(tokens)
    if len(tokens) < max_text_len:
        padded = [SOS, *tokens, EOS]
        cap_len = len(padded)
        return padded + [UNK] * (max_text_len + 2 - cap_len), cap_len
    return [SOS, *tokens[:max_text_len], EOS], max_text_len + 2


def vip_pos(word: str) -> str | None:
    """The VIP POS of a word, or None."""
    return next((pos for pos, words in VIP_WORDS.items() if word in words), None)


@dataclass(frozen=True)
class TextInputs:
    """Padded text inputs of a batch."""

    word_embs: np.ndarray  # (B, max_text_len + 2, 300) float32
    pos_ohot: np.ndarray  # (B, max_text_len + 2, 15) float32
    cap_lens: np.ndarray  # (B,) int64, tokens including sos and eos


class WordVectorizer:
    """``word/POS`` token -> (word vector (300,), POS one-hot (15,))."""

    def __init__(self, vectors: np.ndarray, word_to_row: dict[str, int]) -> None:
        if vectors.ndim != 2 or UNK_WORD not in word_to_row:
            raise GloveError(f"GloVe vectors must be (V, D) with an {UNK_WORD!r} row")
        rows = np.fromiter(word_to_row.values(), dtype=np.int64, count=len(word_to_row))
        if rows.size and (rows.min() < 0 or rows.max() >= vectors.shape[0]):
            raise GloveError(f"word rows exceed the {vectors.shape[0]} GloVe vectors")
        self.vectors = vectors.astype(np.float32)
        self.word_to_row = word_to_row

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self.word_to_row)

    def __call__(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(300,) float32 vector and (15,) float32 one-hot of one ``word/POS`` token."""
        word, _, pos = token.rpartition("/")
        if not word:
            raise ValueError(f"token {token!r} is not word/POS")
        one_hot = np.zeros(POS_DIM, dtype=np.float32)
        if word in self.word_to_row:
            vector = self.vectors[self.word_to_row[word]]
            tag = vip_pos(word) or (pos if pos in POS_INDEX else "OTHER")
        else:
            vector, tag = self.vectors[self.word_to_row[UNK_WORD]], "OTHER"
        one_hot[POS_INDEX[tag]] = 1.0
        return vector, one_hot

    def encode(self, padded: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Padded tokens (S,) -> word vectors (S, 300) and POS one-hots (S, 15)."""
        pairs = [self(token) for token in padded]
        return np.stack([v for v, _ in pairs]), np.stack([p for _, p in pairs])

    def text_inputs(self, token_lists: Sequence[Sequence[str]], max_text_len: int) -> TextInputs:
        """Pad and encode a batch of token lists (``pad_tokens`` then ``encode``)."""
        padded = [pad_tokens(tokens, max_text_len) for tokens in token_lists]
        encoded = [self.encode(tokens) for tokens, _ in padded]
        return TextInputs(
            np.stack([w for w, _ in encoded]),  # (B, S, 300)
            np.stack([p for _, p in encoded]),  # (B, S, 15)
            np.array([n for _, n in padded], dtype=np.int64),  # (B,)
        )


def glove_paths(glove_dir: str | Path) -> tuple[Path, Path, Path]:
    """(vectors .npy, words .pkl, index .pkl) in ``glove_dir``."""
    root = Path(glove_dir)
    return (
        root / f"{GLOVE_PREFIX}_data.npy",
        root / f"{GLOVE_PREFIX}_words.pkl",
        root / f"{GLOVE_PREFIX}_idx.pkl",
    )


def load_word_vectorizer(glove_dir: str | Path = DEFAULT_GLOVE_DIR) -> WordVectorizer:
    """Read ``our_vab_{data.npy,words.pkl,idx.pkl}``; raise GloveError (one line) if unusable."""
    data_path, words_path, idx_path = glove_paths(glove_dir)
    for path in (data_path, words_path, idx_path):
        if not path.is_file():
            raise GloveError(f"GloVe file not found: {path}; pass --glove_dir DIR (SALAD: ./glove)")
    try:
        vectors = np.load(data_path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise GloveError(f"{data_path} is not a readable .npy array: {err}") from None
    words, index = load_plain_pickle(words_path), load_plain_pickle(idx_path)
    if not isinstance(words, list) or not isinstance(index, dict):
        raise GloveError(f"{words_path} must hold a list and {idx_path} a dict (word -> row)")
    if any(not isinstance(w, str) or not isinstance(r, int) for w, r in index.items()):
        raise GloveError(f"{idx_path} must map words (str) to rows (int)")
    if len(words) != vectors.shape[0] or any(index.get(w) != i for i, w in enumerate(words)):
        raise GloveError(
            f"{words_path}, {idx_path} and {data_path} disagree (the word list, its index and "
            "the vector rows must have one order)"
        )
    return WordVectorizer(vectors, index)
