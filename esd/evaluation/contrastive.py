"""The contrastive text/motion evaluator (the field's "T2M evaluator", trained on our corpus).

Two encoders map into one ``D``-dimensional space:

* ``MotionEncoder``: normalised 263-d features ``(B, T, 263)`` + lengths -> ``(B, D)``, a 1-D conv
  network with masked mean+max pooling over time.
* ``TextHead``: a sentence embedding of the caption (mean-pooled all-MiniLM-L6-v2, ``(B, 384)``)
  -> ``(B, D)``, a small MLP.

Both outputs are L2-normalised, so distances lie in [0, 2] and FID / R-precision / matching
score / diversity are computed on the unit sphere. Training is symmetric InfoNCE (CLIP) with soft
targets: pairs whose captions are identical count as positives of each other, which matters for a
procedural corpus where short captions repeat.

The evaluator carries its own feature Mean/Std, so it judges any generator's features on the
scale it was trained on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from esd.motion.skeleton import FEATURE_DIM

EVALUATOR_FORMAT_KIND = "evaluator"
TIME_REDUCTION = 4  # two stride-2 stages in the motion encoder


@dataclass
class EvaluatorConfig:
    """Architecture of the evaluator (stored in its checkpoint, so it rebuilds from the file)."""

    feature_dim: int = FEATURE_DIM  # motion features per frame
    text_dim: int = 384  # sentence-embedding size of the text model (MiniLM-L6)
    hidden_dim: int = 256  # conv channels of the motion encoder
    embed_dim: int = 128  # joint embedding size D
    num_blocks: int = 3  # residual conv blocks after each of the two stride-2 stages
    kernel_size: int = 5  # temporal kernel of the conv blocks
    dropout: float = 0.1  # dropout in both encoders while training
    init_temperature: float = 0.07  # initial InfoNCE temperature (learned, as CLIP)


class _ResBlock1d(nn.Module):
    """x + conv(GELU(LN(x))), masked so padding never reaches valid frames."""

    def __init__(self, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: (B, C, T), mask: (B, 1, T)
        h = F.gelu(self.norm(x.transpose(1, 2))).transpose(1, 2) * mask
        return x + self.dropout(self.conv(h)) * mask


class MotionEncoder(nn.Module):
    """Normalised features (B, T, 263) + lengths (B,) -> unit embeddings (B, D)."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        h = cfg.hidden_dim
        self.input = nn.Conv1d(cfg.feature_dim, h, 3, padding=1)
        self.down = nn.ModuleList([nn.Conv1d(h, h, 4, stride=2, padding=1) for _ in range(2)])
        self.stages = nn.ModuleList(
            [
                nn.ModuleList(
                    [_ResBlock1d(h, cfg.kernel_size, cfg.dropout) for _ in range(cfg.num_blocks)]
                )
                for _ in range(2)
            ]
        )
        self.head = nn.Sequential(
            nn.LayerNorm(2 * h), nn.Linear(2 * h, h), nn.GELU(), nn.Linear(h, cfg.embed_dim)
        )

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pad = -features.shape[1] % TIME_REDUCTION  # so both stride-2 stages see even lengths
        features = F.pad(features, (0, 0, 0, pad))  # (B, T', 263), T' a multiple of 4
        steps = torch.arange(features.shape[1], device=features.device)
        mask = (steps[None] < lengths[:, None]).unsqueeze(1).to(features.dtype)  # (B, 1, T)
        x = self.input(features.transpose(1, 2) * mask) * mask  # (B, H, T)
        for down, blocks in zip(self.down, self.stages):
            x = down(x)  # (B, H, ceil(T/2))
            mask = F.max_pool1d(mask, 2, ceil_mode=True)[..., : x.shape[-1]]
            x = x * mask
            for block in blocks:
                x = block(x, mask)
        count = mask.sum(-1).clamp_min(1.0)  # (B, 1)
        mean = x.sum(-1) / count  # (B, H)
        peak = x.masked_fill(mask == 0, -1e4).amax(-1)  # (B, H)
        return F.normalize(self.head(torch.cat([mean, peak], dim=-1)), dim=-1)


class TextHead(nn.Module):
    """Sentence embeddings (B, 384) -> unit embeddings (B, D)."""

    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(cfg.text_dim, cfg.hidden_dim),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden_dim, cfg.hidden_dim),
            nn.GELU(),
            nn.Linear(cfg.hidden_dim, cfg.embed_dim),
        )

    def forward(self, sentence_embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(sentence_embeddings), dim=-1)


class MotionTextEvaluator(nn.Module):
    """The pair of encoders plus the learned InfoNCE temperature."""

    def __init__(self, cfg: EvaluatorConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or EvaluatorConfig()
        self.motion = MotionEncoder(self.cfg)
        self.text = TextHead(self.cfg)
        self.log_inv_temperature = nn.Parameter(
            torch.tensor(math.log(1.0 / self.cfg.init_temperature))
        )

    def contrastive_loss(
        self, motion_emb: torch.Tensor, text_emb: torch.Tensor, same_caption: torch.Tensor
    ) -> torch.Tensor:
        """Symmetric InfoNCE with soft targets.

        logits = exp(s) * text_emb @ motion_emb.T, (B, B); the target row of text i is uniform over
        the motions j whose caption equals caption i (``same_caption`` (B, B) bool, diagonal True);
        loss = (CE(logits, targets) + CE(logits.T, targets.T)) / 2.
        """
        scale = self.log_inv_temperature.clamp(max=math.log(100.0)).exp()
        logits = scale * text_emb @ motion_emb.T  # (B, B)
        targets = same_caption.float()
        targets = targets / targets.sum(-1, keepdim=True)
        loss_t = torch.sum(-targets * F.log_softmax(logits, dim=-1), dim=-1).mean()
        loss_m = torch.sum(-targets.T * F.log_softmax(logits.T, dim=-1), dim=-1).mean()
        return 0.5 * (loss_t + loss_m)


@dataclass
class EvaluatorBundle:
    """A trained evaluator with the feature statistics it expects."""

    model: MotionTextEvaluator
    mean: torch.Tensor  # (263,) feature mean of the data it was trained on
    std: torch.Tensor  # (263,) feature std
    info: dict[str, Any] = field(default_factory=dict)  # training command, metrics, data

    @torch.no_grad()
    def embed_motion(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Raw (unnormalised) features (B, T, 263) + lengths (B,) -> embeddings (B, D)."""
        self.model.eval()
        normalised = (features - self.mean) / self.std
        return self.model.motion(normalised, lengths)

    @torch.no_grad()
    def embed_text(self, sentence_embeddings: torch.Tensor) -> torch.Tensor:
        """Sentence embeddings (B, 384) -> embeddings (B, D)."""
        self.model.eval()
        return self.model.text(sentence_embeddings)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": EVALUATOR_FORMAT_KIND,
            "config": asdict(self.model.cfg),
            "model": self.model.state_dict(),
            "mean": self.mean.cpu(),
            "std": self.std.cpu(),
            "info": self.info,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> EvaluatorBundle:
        model = MotionTextEvaluator(EvaluatorConfig(**payload["config"]))
        model.load_state_dict(payload["model"])
        model.eval()
        return cls(model, payload["mean"].float(), payload["std"].float(), payload.get("info", {}))
