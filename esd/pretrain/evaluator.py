"""Training of the contrastive text/motion evaluator on a HumanML3D-format training split.

Each step draws clips, one caption each, embeds the whole clips and the captions' sentence
embeddings (precomputed once with the frozen MiniLM), and minimises the soft-target InfoNCE of
``MotionTextEvaluator.contrastive_loss``. Optional augmentation: a random temporal crop keeping
at least ``min_crop`` of a clip, so the evaluator does not key on exact clip boundaries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from esd.evaluation.contrastive import EvaluatorBundle, EvaluatorConfig, MotionTextEvaluator
from esd.pretrain.vae import lr_at


@dataclass
class EvaluatorTrainConfig:
    """Optimisation settings of the evaluator."""

    steps: int = 2500  # optimizer steps
    batch_size: int = 128  # clips per step (InfoNCE negatives come from the batch)
    lr: float = 1e-3  # AdamW peak learning rate (warm-up, then cosine decay to 5%)
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay
    min_crop: float = 0.8  # random crops keep at least this share of a clip's frames
    min_frames: int = 40  # never crop below this many frames
    grad_clip: float = 1.0  # gradient-norm clip
    seed: int = 0  # seeds sampling and crops


@dataclass
class EvaluatorStep:
    """What the evaluator loop reports after each step."""

    step: int
    total: int
    loss: float
    elapsed: float


class CaptionedClips:
    """Normalised clips, their caption ids, and the sentence embeddings of all captions."""

    def __init__(
        self,
        clips: Sequence[np.ndarray],
        captions: Sequence[Sequence[str]],
        embed: Callable[[list[str]], torch.Tensor],
    ) -> None:
        self.clips = clips  # each (T_i, 263) normalised float32
        unique = sorted({c for caps in captions for c in caps})
        index = {c: i for i, c in enumerate(unique)}
        self.caption_ids = [[index[c] for c in caps] for caps in captions]
        self.sentences = embed(unique).float().cpu()  # (U, 384)

    def batch(
        self, cfg: EvaluatorTrainConfig, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features (B, T, 263), lengths (B,), sentence embeddings (B, 384), same-caption (B, B)."""
        picks = rng.integers(len(self.clips), size=cfg.batch_size)
        crops, ids = [], []
        for i in picks:
            clip = self.clips[i]
            keep = max(
                min(len(clip), cfg.min_frames), int(len(clip) * rng.uniform(cfg.min_crop, 1))
            )
            start = rng.integers(len(clip) - keep + 1)
            crops.append(clip[start : start + keep])
            options = self.caption_ids[i]
            ids.append(options[rng.integers(len(options))])
        lengths = torch.tensor([len(c) for c in crops])
        x = torch.zeros(len(crops), int(lengths.max()), crops[0].shape[1])
        for row, crop in enumerate(crops):
            x[row, : len(crop)] = torch.from_numpy(crop)
        ids_t = torch.tensor(ids)
        return x, lengths, self.sentences[ids_t], ids_t[:, None] == ids_t[None, :]


def train_evaluator(
    data: CaptionedClips,
    mean: np.ndarray,
    std: np.ndarray,
    model_cfg: EvaluatorConfig,
    cfg: EvaluatorTrainConfig,
    device: torch.device,
    on_step: Callable[[EvaluatorStep], None] | None = None,
    stop: threading.Event | None = None,
) -> EvaluatorBundle:
    """Train the evaluator; returns it (eval mode) with the feature statistics it expects."""
    torch.manual_seed(cfg.seed)
    model = MotionTextEvaluator(model_cfg).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    began = time.monotonic()
    for step in range(cfg.steps):
        if stop is not None and stop.is_set():
            break
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
        x, lengths, sentences, same = (t.to(device) for t in data.batch(cfg, rng))
        loss = model.contrastive_loss(model.motion(x, lengths), model.text(sentences), same)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        if on_step is not None:
            on_step(
                EvaluatorStep(step + 1, cfg.steps, float(loss.detach()), time.monotonic() - began)
            )
    mean_t = torch.tensor(mean, dtype=torch.float32)
    std_t = torch.tensor(std, dtype=torch.float32)
    return EvaluatorBundle(model.cpu().eval(), mean_t, std_t)
