"""The blocks of SALAD's denoiser: attention with separate Wq/Wk/Wv/Wo, FiLM, the ST layer.

    attention(q_in, kv_in, key_mask) = Wo(softmax(fill(Q K^T / sqrt(d), ~key_mask, -1e9)) V)
    FiLM(h, c)  = h (1 + scale) + shift,   (scale, shift) = Linear(SiLU(c))     c: timestep (B, D)

STTransformerLayer on x (B, T, P, D) (T latent frames, P = 7 parts), each sublayer pre-norm and
added residually after FiLM:
    1. temporal self-attention per part over T (key padding: the length mask)
    2. skeletal self-attention per frame over the P parts (no mask)
    3. cross-attention of all T P tokens to the text tokens (key padding: the text mask)
    4. FFN: Linear(D -> F), GELU, Linear(F -> D)
Text enters only through ``cross_attn`` (ESD-x's parameters: its Wq, Wk, Wv, Wo).
"""

from __future__ import annotations

import math

import torch
from torch import nn

MASK_FILL = -1e9  # score of a masked key before the softmax


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with biased Wq, Wk, Wv, Wo projections (SALAD's names)."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"model width {dim} must be divisible by n_heads={num_heads}")
        self.num_heads = num_heads
        self.Wq, self.Wk = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.Wv, self.Wo = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, heads, L, D / heads)."""
        batch, length, dim = x.shape
        return x.reshape(batch, length, self.num_heads, dim // self.num_heads).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, key_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """query (B, Lq, D), key = value (B, Lk, D), key_mask (B, Lk) bool (True = attend)."""
        q, k, v = self._heads(self.Wq(query)), self._heads(self.Wk(key)), self._heads(self.Wv(key))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, h, Lq, Lk)
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask[:, None, None, :], MASK_FILL)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        out = torch.matmul(weights, v).transpose(1, 2)  # (B, Lq, h, d)
        return self.Wo(out.reshape(query.shape))


class FiLM(nn.Module):
    """h (1 + scale) + shift with (scale, shift) = Linear(SiLU(c)); ``linear.1`` in the keys."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """h (B, T, P, D), c (B, D) -> (B, T, P, D)."""
        scale, shift = self.linear(c)[:, None, None].chunk(2, dim=-1)  # (B, 1, 1, D) each
        return h * (1 + scale) + shift


class STTransformerLayer(nn.Module):
    """Temporal, skeletal and cross attention, then an FFN; see the module doc."""

    def __init__(self, dim: int, num_heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        # registration order = SALAD's state-dict order
        self.skel_attn = MultiHeadAttention(dim, num_heads, dropout)
        self.skel_norm = nn.LayerNorm(dim)
        self.temp_attn = MultiHeadAttention(dim, num_heads, dropout)
        self.temp_norm = nn.LayerNorm(dim)
        self.cross_attn = MultiHeadAttention(dim, num_heads, dropout)
        self.cross_src_norm, self.cross_tgt_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn_linear1, self.ffn_linear2 = nn.Linear(dim, ff_dim), nn.Linear(ff_dim, dim)
        self.ffn_norm = nn.LayerNorm(dim)
        self.skel_film, self.temp_film = FiLM(dim), FiLM(dim)
        self.cross_film, self.ffn_film = FiLM(dim), FiLM(dim)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        c: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor | None,
        len_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """x (B, T, P, D), c (B, D), text (B, L, D), text_mask (B, L), len_mask (B, T)."""
        x = x + self.temp_film(self._temporal(self.temp_norm(x), len_mask), c)
        x = x + self.skel_film(self._skeletal(self.skel_norm(x)), c)
        x = x + self.cross_film(self._cross(self.cross_src_norm(x), text, text_mask), c)
        ffn = self.ffn_linear2(self.dropout(self.activation(self.ffn_linear1(self.ffn_norm(x)))))
        return x + self.ffn_film(self.dropout(ffn), c)

    def _temporal(self, h: torch.Tensor, len_mask: torch.Tensor | None) -> torch.Tensor:
        batch, frames, parts, dim = h.shape
        seq = h.transpose(1, 2).reshape(batch * parts, frames, dim)  # (B P, T, D)
        mask = None if len_mask is None else len_mask.repeat_interleave(parts, dim=0)  # (B P, T)
        out = self.temp_attn(seq, seq, mask)
        return self.dropout(out.reshape(batch, parts, frames, dim).transpose(1, 2))

    def _skeletal(self, h: torch.Tensor) -> torch.Tensor:
        batch, frames, parts, dim = h.shape
        seq = h.reshape(batch * frames, parts, dim)  # (B T, P, D)
        return self.dropout(self.skel_attn(seq, seq).reshape(batch, frames, parts, dim))

    def _cross(
        self, h: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor | None
    ) -> torch.Tensor:
        batch, frames, parts, dim = h.shape
        tokens = h.reshape(batch, frames * parts, dim)  # (B, T P, D)
        out = self.cross_attn(tokens, self.cross_tgt_norm(text), text_mask)
        return self.dropout(out.reshape(batch, frames, parts, dim))
