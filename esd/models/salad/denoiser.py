"""SALAD's denoiser: a skip-transformer over (T/4, 7) latent tokens that predicts v.

    x (B, T, 7, C) --input_process: Linear, ReLU, Linear--> (B, T, 7, D)
    + pos_emb.pe over the flattened token index t * 7 + p (sin on even dims, 5000 rows)
    c = timestep_emb.mlp(sinusoid_256(t))  (B, D);  text = word_emb(CLIP states) (B, 77, D)
    transformer (SkipTransformer, n_layers odd): input_blocks -> middle_block -> output_blocks,
        before output block i: x = skip_blocks.i(cat(x, saved.pop()))   (U-Net order)
    --output_process: LayerNorm, Linear, ReLU, Linear--> v (B, T, 7, C)

Every block is an ``STTransformerLayer`` (``esd.models.salad.layers``). Parameter names are
SALAD's, so ``{'denoiser': state_dict}`` (no ``clip_model.*`` keys) loads strictly; ``pos_emb.pe``
is a buffer stored in the state dict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from esd.models.salad.layers import STTransformerLayer
from esd.models.salad.skeleton import NUM_PARTS

TIMESTEP_FEATURES = 256  # width of the timestep sinusoid (fixed, whatever the model width)
MAX_PERIOD = 10_000.0  # longest wavelength of the timestep and position sinusoids


@dataclass
class SaladDenoiserConfig:
    """Shape of a SaladDenoiser (from SALAD's opt.txt: latent_dim, n_heads, n_layers, ff_dim)."""

    model_dim: int = 256  # D: transformer width (SALAD's ``latent_dim`` option)
    num_heads: int = 8  # attention heads (``n_heads``; must divide model_dim)
    num_layers: int = 5  # ST layers, odd: (n - 1) / 2 input, 1 middle, (n - 1) / 2 output
    ff_dim: int = 1024  # FFN hidden width
    dropout: float = 0.1  # dropout in attention and sublayers (training only)
    latent_dim: int = 32  # C: channels per latent part (the VAE's ``latent_dim``)
    num_parts: int = NUM_PARTS  # P: latent parts per frame (7 for t2m)
    text_dim: int = 512  # width of the text token states (CLIP ViT-B/32: 512)
    max_positions: int = 5000  # rows of the positional table (T * P <= 5000, T <= 714)

    def __post_init__(self) -> None:
        if self.num_layers < 1 or self.num_layers % 2 == 0:
            raise ValueError(f"n_layers must be odd (skip transformer), got {self.num_layers}")
        if self.model_dim % self.num_heads or self.model_dim % 2:
            raise ValueError(
                f"latent_dim={self.model_dim} must be even and divisible by "
                f"n_heads={self.num_heads}"
            )

    @property
    def channels(self) -> int:
        """Channels of one latent frame, P * C (224 for t2m)."""
        return self.num_parts * self.latent_dim


def timestep_sinusoid(t: torch.Tensor, dim: int = TIMESTEP_FEATURES) -> torch.Tensor:
    """(B, dim) features [cos(t f_i), sin(t f_i)], f_i = exp(-ln(10000) i / (dim / 2))."""
    half = dim // 2
    exponent = -math.log(MAX_PERIOD) * torch.arange(half, dtype=torch.float32, device=t.device)
    angles = t[:, None].float() * torch.exp(exponent / half)[None]  # (B, half)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


def position_table(rows: int, dim: int) -> torch.Tensor:
    """(1, rows, dim) sin/cos table: pe[p, 2i] = sin(p w_i), pe[p, 2i+1] = cos(p w_i),
    w_i = exp(-2i ln(10000) / dim)."""
    position = torch.arange(rows, dtype=torch.float32)[:, None]  # (rows, 1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(MAX_PERIOD) / dim))
    table = torch.zeros(rows, dim)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)
    return table[None]


class TimestepEmbedding(nn.Module):
    """c = mlp(sinusoid(t)): Linear(256 -> D), SiLU, Linear(D -> D)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(TIMESTEP_FEATURES, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_sinusoid(t))


class PositionalEncoding(nn.Module):
    """Adds ``pe`` (1, rows, D) over a token axis."""

    def __init__(self, dim: int, rows: int) -> None:
        super().__init__()
        self.register_buffer("pe", position_table(rows, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, L, D) -> (B, L, D)."""
        return tokens + self.pe[:, : tokens.shape[1]]


class MLP(nn.Module):
    """``layers``: an nn.Sequential (SALAD's key prefix for its input / output heads)."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SkipTransformer(nn.Module):
    """Input blocks (outputs saved), a middle block, output blocks fed cat(x, saved.pop())."""

    def __init__(self, cfg: SaladDenoiserConfig) -> None:
        super().__init__()
        half = (cfg.num_layers - 1) // 2

        def layer() -> STTransformerLayer:
            return STTransformerLayer(cfg.model_dim, cfg.num_heads, cfg.ff_dim, cfg.dropout)

        self.input_blocks = nn.ModuleList(layer() for _ in range(half))
        self.middle_block = layer()
        self.output_blocks = nn.ModuleList(layer() for _ in range(half))
        self.skip_blocks = nn.ModuleList(
            nn.Linear(2 * cfg.model_dim, cfg.model_dim) for _ in range(half)
        )

    def forward(self, x: torch.Tensor, *context: torch.Tensor | None) -> torch.Tensor:
        """x (B, T, P, D); context = (c, text, text_mask, len_mask) of STTransformerLayer."""
        saved = []
        for block in self.input_blocks:
            x = block(x, *context)
            saved.append(x)
        x = self.middle_block(x, *context)
        for skip, block in zip(self.skip_blocks, self.output_blocks):
            x = block(skip(torch.cat([x, saved.pop()], dim=-1)), *context)
        return x


class SaladDenoiser(nn.Module):
    """forward(x (B, T, P, C), t (B,) or (), text states (B, L, 512), text mask, length mask)."""

    def __init__(self, cfg: SaladDenoiserConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or SaladDenoiserConfig()
        dim = cfg.model_dim
        # registration order = SALAD's state-dict order
        self.input_process = MLP(nn.Linear(cfg.latent_dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.output_process = MLP(
            nn.LayerNorm(dim), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, cfg.latent_dim)
        )
        self.timestep_emb = TimestepEmbedding(dim)
        self.word_emb = nn.Linear(cfg.text_dim, dim)
        self.pos_emb = PositionalEncoding(dim, cfg.max_positions)
        self.transformer = SkipTransformer(cfg)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor | None = None,
        len_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """v (B, T, P, C) for x_t (B, T, P, C) at timesteps t (B,) (a 0-dim t is broadcast).

        ``text`` (B, L, text_dim) token states, ``text_mask`` (B, L) bool (True = real token;
        None: all), ``len_mask`` (B, T) bool (True = valid frame; None: all).
        """
        batch, frames, parts, _ = self._check(x, text)
        t = torch.as_tensor(t, device=x.device)
        t = t.expand(batch) if t.dim() == 0 else t
        c = self.timestep_emb(t)  # (B, D)
        words = self.word_emb(text)  # (B, L, D)
        h = self.input_process(x).reshape(batch, frames * parts, -1)  # (B, T P, D)
        h = self.pos_emb(h).reshape(batch, frames, parts, -1)  # (B, T, P, D)
        h = self.transformer(h, c, words, text_mask, len_mask)
        return self.output_process(h)

    def _check(self, x: torch.Tensor, text: torch.Tensor) -> torch.Size:
        cfg = self.cfg
        if x.dim() != 4 or x.shape[2:] != (cfg.num_parts, cfg.latent_dim):
            raise ValueError(
                f"x must be (B, T, {cfg.num_parts}, {cfg.latent_dim}), got {tuple(x.shape)}"
            )
        if x.shape[1] * cfg.num_parts > cfg.max_positions:
            raise ValueError(
                f"{x.shape[1]} latent frames exceed the positional table "
                f"({cfg.max_positions // cfg.num_parts} at most): generate a shorter clip"
            )
        if text.dim() != 3 or text.shape[0] != x.shape[0] or text.shape[-1] != cfg.text_dim:
            raise ValueError(
                f"text must be ({x.shape[0]}, L, {cfg.text_dim}), got {tuple(text.shape)}"
            )
        return x.shape
