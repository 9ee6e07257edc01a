"""CLIP's text transformer from a local Hugging Face folder, as SALAD conditions on it.

    prompts --CLIP BPE tokenizer, padded to 77 ("<|endoftext|>")--> ids (B, 77), mask (B, 77)
    text_model(ids) --last_hidden_state (after the final LayerNorm)--> states (B, 77, 512)

No attention mask is passed to the text model (only CLIP's causal mask applies); the tokenizer's
mask (True for BOS ... EOS) is returned as the denoiser's key-padding mask. The unconditional
prompt is ``""`` run through CLIP (BOS, EOS, 75 masked pads), not a learned null token.
Attention is ``eager`` (SDPA differs by ~3e-6). Loaded offline (``local_files_only``) from
``<checkpoints_dir>/clip-vit-base-patch32`` (SALAD's folder) or any folder holding a
``CLIPModel`` / ``CLIPTextModel`` (a hub-cache snapshot works); ``model.safetensors`` and a
legacy ``pytorch_model.bin`` (with ``position_ids``; torch-loaded with ``weights_only=True``)
both load.

Because attention is causal and the pads follow EOS, a prompt's real-token states do not
depend on the padding or on the other prompts: they are cached per prompt (LRU). ``encode``
returns the project's ``TextBatch`` with the masked positions zeroed (they never count: the
denoiser gives them zero attention weight).
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from esd.models.text.batch import TextBatch
from esd.models.text.minilm import _LRU, SHOWN_PROMPT_CHARS, _prompt_keys

CLIP_FOLDER = "clip-vit-base-patch32"  # SALAD's folder name under its checkpoints_dir
CONTEXT_LENGTH = 77  # CLIP's token window; every prompt is padded to it
ENCODE_CHUNK = 64  # uncached prompts per forward pass
CLIP_NAME = "CLIP ViT-B/32"  # what the model list shows as the text encoder
DEFAULT_WIDTH = 512  # text width of a CLIP config.json that does not state it


def resolve_clip_dir(path: str | Path) -> Path:
    """A folder with config.json: ``path`` itself, or the single snapshot of a hub-cache entry
    (``models--openai--clip-vit-base-patch32/snapshots/<rev>``)."""
    path = Path(path).expanduser()
    if (path / "config.json").is_file():
        return path
    snapshots = sorted(p for p in (path / "snapshots").glob("*") if (p / "config.json").is_file())
    if len(snapshots) == 1:
        return snapshots[0]
    raise FileNotFoundError(
        f"no CLIP model in {path} (config.json missing): pass --clip_path <a local folder with "
        "config.json, vocab.json, merges.txt and model.safetensors or pytorch_model.bin>, e.g. "
        f"<checkpoints_dir>/{CLIP_FOLDER} or a Hugging Face cache snapshot"
    )


def _load_clip(model_dir: Path) -> tuple[Any, Any]:
    """Tokenizer and CLIPTextModel (eager attention), offline, without printing."""
    from transformers import AutoTokenizer, CLIPTextModel  # slow import: on demand
    from transformers.utils import logging as hf_logging

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    verbosity, bar_was_on = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the vision tower's weights are reported as unexpected
    hf_logging.disable_progress_bar()
    try:
        model = CLIPTextModel.from_pretrained(
            model_dir, local_files_only=True, attn_implementation="eager"
        )
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return tokenizer, model


class ClipTextEncoder:
    """Frozen CLIP text transformer -> ``TextBatch`` (B, 77, D) with the tokenizer's mask.

    Args:
        model_dir: the local CLIP folder (see ``resolve_clip_dir``).
        device: where the model runs and where returned tensors live.
        cache_size: prompts remembered (LRU, CPU): an entry is ~L x 512 float32 (~30 KB).
    """

    name = CLIP_NAME

    def __init__(
        self, model_dir: str | Path, device: torch.device | str = "cpu", cache_size: int = 4096
    ) -> None:
        self.model_dir = resolve_clip_dir(model_dir)
        self.device = torch.device(device)
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.RLock()
        self._cache = _LRU(cache_size)  # stripped prompt -> (L_i, D) real-token states, CPU

    @property
    def dim(self) -> int:
        """Width of the token states (512 for ViT-B/32), from config.json (nothing loads)."""
        config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
        return int(config.get("text_config", config).get("hidden_size", DEFAULT_WIDTH))

    def load(self) -> ClipTextEncoder:
        """Load tokenizer and weights now (otherwise the first encode does); returns self."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                self._tokenizer, model = _load_clip(self.model_dir)
                self._model = model.to(self.device).eval().requires_grad_(False)
        return self

    def tokenize(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (B, 77) long and mask (B, 77) bool, padded (and truncated) to 77 tokens."""
        self.load()
        tokens = self._tokenizer(
            list(prompts), padding="max_length", max_length=CONTEXT_LENGTH, truncation=True,
            return_tensors="pt",
        )  # fmt: skip
        return tokens["input_ids"], tokens["attention_mask"].bool()

    @torch.no_grad()
    def hidden_states(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """``text_model(ids).last_hidden_state`` (B, 77, D) float32 (pads included) and the mask
        (B, 77), on ``device``; no cache (SALAD's exact tensors)."""
        ids, mask = self.tokenize(prompts)
        states = self._model(input_ids=ids.to(self.device)).last_hidden_state
        return states.float(), mask.to(self.device)

    def encode(self, prompts: Sequence[str]) -> TextBatch:
        """TextBatch of ``prompts``: states (B, 77, D) zero where the mask is False."""
        keys = _prompt_keys(prompts)
        with self._lock:
            found = {k: v for k in dict.fromkeys(keys) if (v := self._cache.get(k)) is not None}
            missing = [k for k in dict.fromkeys(keys) if k not in found]
            for start in range(0, len(missing), ENCODE_CHUNK):
                found.update(self._run(missing[start : start + ENCODE_CHUNK]))
        width = next(iter(found.values())).shape[-1]
        states = torch.zeros(len(keys), CONTEXT_LENGTH, width)
        mask = torch.zeros(len(keys), CONTEXT_LENGTH, dtype=torch.bool)
        for row, key in enumerate(keys):
            count = len(found[key])
            states[row, :count], mask[row, :count] = found[key], True
        return TextBatch(states, mask).to(self.device)

    def _run(self, keys: list[str]) -> dict[str, torch.Tensor]:
        """Real-token states (L_i, D) of distinct prompts, cached."""
        self.load()
        self._warn_truncated(keys)
        states, mask = self.hidden_states(keys)
        result = {}
        for key, row, valid in zip(keys, states.cpu(), mask.cpu()):
            result[key] = row[: int(valid.sum())].clone()
            self._cache.put(key, result[key])
        return result

    def _warn_truncated(self, keys: list[str]) -> None:
        counted = self._tokenizer(keys, verbose=False)["input_ids"]  # verbose: no length warning
        for key, ids in zip(keys, counted):
            if len(ids) > CONTEXT_LENGTH:
                shown = key if len(key) <= SHOWN_PROMPT_CHARS else key[:SHOWN_PROMPT_CHARS] + "..."
                warnings.warn(
                    f"prompt {shown!r} has {len(ids)} CLIP tokens, more than {CONTEXT_LENGTH}: "
                    f"truncated, {len(ids) - CONTEXT_LENGTH} tokens dropped",
                    stacklevel=5,
                )


_SHARED: dict[tuple[str, str], ClipTextEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_clip_encoder(
    model_dir: str | Path, device: torch.device | str = "cpu"
) -> ClipTextEncoder:
    """One ClipTextEncoder per (folder, device) and process (its cache is shared).

    The key is the folder as named (absolute, links kept): a hub-cache snapshot linked to another
    folder is its own encoder, so ``model_dir`` always reads back as the caller named it."""
    folder = resolve_clip_dir(model_dir)
    key = (str(folder.absolute()), str(torch.device(device)))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = ClipTextEncoder(folder, device)
        return _SHARED[key]


def width_mismatch(encoder: object, width: int | None, reader: str) -> str | None:
    """Why a CLIP cannot feed a denoiser, or None when it can: ``encoder`` (any text encoder)
    gives token states of another width than the ``width`` the denoiser ``reader`` reads (the
    fixtures' tiny 8-d CLIP or ViT-L's 768 for a ViT-B/32 model). Callers add what to do."""
    if not isinstance(encoder, ClipTextEncoder) or width is None or encoder.dim == width:
        return None
    return (
        f"the CLIP in {encoder.model_dir} gives {encoder.dim}-d token states but {reader} "
        f"reads {width}-d ones ({CLIP_NAME}: 512)"
    )
