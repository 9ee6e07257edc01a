"""MotionVAE: normalised 263-d features (B, T, 263) <-> latent tokens (B, ceil(T/4), C).

A 1-D convolutional residual network with GELU activations, in the layout of T2M-GPT's
encoder/decoder (strided convs down, nearest-neighbour + conv up, residual blocks at the reduced
resolutions only, which keeps the full-frame-rate work to one conv on each side):

    encoder: conv(263->H), [stride-2 conv, res blocks] x log2(ds), norm, GELU, 1x1 conv -> 2C
    decoder: conv(C->H), [res blocks, upsample x2, conv] x log2(ds), norm, GELU, conv -> 263

Padding never leaks into valid frames: normalisation is per frame (LayerNorm over channels,
never over time) and every conv sees its input multiplied by the frame mask of its resolution
and has its output multiplied by the mask of its output resolution. A clip of L frames has
ceil(L / 2^k) valid positions after k stride-2 convs, hence ceil(L / 4) latent tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from esd.motion.skeleton import FEATURE_DIM

LATENT_REDUCTION = 4  # frames per latent token of the models this project trains and runs
LOGVAR_RANGE = (-30.0, 20.0)  # log-variance clamp: keeps exp() finite (as diffusers' VAE)


@dataclass
class VAEConfig:
    """Shape of a MotionVAE; ``VAEConfig(**asdict(cfg))`` rebuilds it from a checkpoint."""

    feature_dim: int = FEATURE_DIM  # features per frame in and out (HumanML3D: 263)
    hidden_dim: int = 256  # channels of every hidden conv layer
    latent_dim: int = 16  # C: channels per latent token
    num_res_blocks: int = 2  # residual blocks per reduced resolution, in encoder and decoder
    downsample: int = LATENT_REDUCTION  # frames per latent token (power of 2; stride-2 convs)
    kernel_size: int = 3  # temporal kernel of the convs (odd)
    dropout: float = 0.0  # dropout inside residual blocks (the procedural corpus is large)

    def __post_init__(self) -> None:
        if self.downsample < 2 or self.downsample & (self.downsample - 1):
            raise ValueError(f"downsample must be a power of 2 (>= 2), got {self.downsample}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        for name in ("feature_dim", "hidden_dim", "latent_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def num_levels(self) -> int:
        """Number of stride-2 convs (log2 of ``downsample``)."""
        return int(math.log2(self.downsample))


def latent_lengths(lengths: torch.Tensor, downsample: int = LATENT_REDUCTION) -> torch.Tensor:
    """Valid latent tokens per clip: ceil(lengths / downsample), (B,) long."""
    lengths = torch.as_tensor(lengths).long()
    return torch.div(lengths + downsample - 1, downsample, rounding_mode="floor")


def lengths_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, size) float mask: 1 for positions < lengths[b] (broadcasts over channels)."""
    steps = torch.arange(size, device=lengths.device)
    return (steps[None] < lengths[:, None]).float()[:, None, :]  # (B, 1, size)


def kl_divergence(
    mu: torch.Tensor, logvar: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Masked mean of KL(N(mu, e^logvar) || N(0, 1)) per latent element, a scalar (nats).

    KL = 0.5 (mu^2 + e^logvar - 1 - logvar), averaged over valid tokens (mask (B, N) bool)
    and the C channels of mu, logvar (B, N, C).
    """
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # (B, N, C)
    if mask is None:
        return kl.mean()
    weights = mask.to(kl.dtype)[..., None]  # (B, N, 1)
    return (kl * weights).sum() / (weights.sum() * kl.shape[-1]).clamp_min(1.0)


class FrameNorm(nn.LayerNorm):
    """LayerNorm over the channels of each frame of a (B, H, T) tensor (never across time)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)  # (B, T, H) normed -> (B, H, T)


class MaskedConv(nn.Conv1d):
    """Conv1d whose input and output are multiplied by frame masks (B, 1, T_in), (B, 1, T_out)."""

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, mask_in: torch.Tensor, mask_out: torch.Tensor | None = None
    ) -> torch.Tensor:
        return super().forward(x * mask_in) * (mask_in if mask_out is None else mask_out)


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> MaskedConv:
    return MaskedConv(c_in, c_out, kernel, stride=stride, padding=kernel // 2)


class ResBlock(nn.Module):
    """Pre-activation residual block: x + conv(drop(GELU(norm(conv(GELU(norm(x))))))."""

    def __init__(self, dim: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.conv1 = FrameNorm(dim), _conv(dim, dim, kernel)
        self.norm2, self.conv2 = FrameNorm(dim), _conv(dim, dim, kernel)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.gelu(self.norm1(x)), mask)
        h = self.conv2(self.dropout(F.gelu(self.norm2(h))), mask)
        return x + h


class Encoder(nn.Module):
    """(B, F, T) features -> (B, 2C, T / downsample) posterior parameters."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        hidden, kernel = cfg.hidden_dim, cfg.kernel_size
        self.conv_in = _conv(cfg.feature_dim, hidden, kernel)
        self.downs = nn.ModuleList(
            _conv(hidden, hidden, kernel, stride=2) for _ in range(cfg.num_levels)
        )
        self.stages = nn.ModuleList(
            nn.ModuleList(ResBlock(hidden, kernel, cfg.dropout) for _ in range(cfg.num_res_blocks))
            for _ in range(cfg.num_levels)
        )
        self.norm_out = FrameNorm(hidden)
        self.conv_out = _conv(hidden, 2 * cfg.latent_dim, 1)

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor]) -> torch.Tensor:
        """``masks[k]`` (B, 1, T / 2^k) is the frame mask after k stride-2 convs."""
        h = self.conv_in(x, masks[0])
        for level, (down, blocks) in enumerate(zip(self.downs, self.stages)):
            h = down(h, masks[level], masks[level + 1])  # (B, H, T / 2^(level+1))
            for block in blocks:
                h = block(h, masks[level + 1])
        return self.conv_out(F.gelu(self.norm_out(h)), masks[-1])


class Decoder(nn.Module):
    """(B, C, N) latents -> (B, F, N * downsample) features."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        hidden, kernel = cfg.hidden_dim, cfg.kernel_size
        self.conv_in = _conv(cfg.latent_dim, hidden, kernel)
        self.stages = nn.ModuleList(
            nn.ModuleList(ResBlock(hidden, kernel, cfg.dropout) for _ in range(cfg.num_res_blocks))
            for _ in range(cfg.num_levels)
        )
        self.ups = nn.ModuleList(_conv(hidden, hidden, kernel) for _ in range(cfg.num_levels))
        self.norm_out = FrameNorm(hidden)
        self.conv_out = _conv(hidden, cfg.feature_dim, kernel)

    def forward(self, z: torch.Tensor, masks: list[torch.Tensor]) -> torch.Tensor:
        """``masks[k]`` (B, 1, N * 2^(levels - k)): k = levels is the latent resolution."""
        h = self.conv_in(z, masks[-1])
        for step, (blocks, up) in enumerate(zip(self.stages, self.ups)):
            level = len(masks) - 1 - step  # resolution index of h before upsampling
            for block in blocks:
                h = block(h, masks[level])
            h = F.interpolate(h, scale_factor=2, mode="nearest")  # (B, H, 2 T_level)
            h = up(h, masks[level - 1])
        return self.conv_out(F.gelu(self.norm_out(h)), masks[0])


class MotionVAE(nn.Module):
    """Normalised features (B, T, F) <-> latents (B, ceil(T / downsample), C); see module doc."""

    def __init__(self, cfg: VAEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or VAEConfig()
        self.encoder = Encoder(self.cfg)
        self.decoder = Decoder(self.cfg)

    def latent_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """ceil(lengths / downsample) (B,) long."""
        return latent_lengths(lengths, self.cfg.downsample)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance (B, N, C) each, N = ceil(T / downsample).

        x (B, T, F) normalised features, lengths (B,) valid frames; frames >= lengths[b] are
        ignored whatever they hold, and latent tokens >= ceil(lengths[b] / downsample) are 0.
        """
        lengths = self._check_features(x, lengths)
        total = x.shape[1] + (-x.shape[1]) % self.cfg.downsample
        x = F.pad(x, (0, 0, 0, total - x.shape[1]))  # (B, T', F), T' a multiple of downsample
        masks = [
            lengths_mask(latent_lengths(lengths, 2**k), total // 2**k)
            for k in range(self.cfg.num_levels + 1)
        ]
        x = torch.nan_to_num(x) * masks[0].transpose(1, 2)  # padding may hold NaN garbage
        out = self.encoder(x.transpose(1, 2), masks).transpose(1, 2)  # (B, N, 2C)
        mu, logvar = out.chunk(2, dim=-1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def decode(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Features (B, N * downsample, F) from latents z (B, N, C).

        ``valid``: latent lengths (B,) or a latent mask (B, N) bool (valid tokens first).
        Frames past ``downsample * length`` are 0; crop to the clip lengths afterwards.
        """
        counts = self._check_latents(z, valid)
        size, levels = z.shape[1], self.cfg.num_levels
        masks = [
            lengths_mask(counts * 2 ** (levels - k), size * 2 ** (levels - k))
            for k in range(levels + 1)
        ]
        z = torch.nan_to_num(z) * masks[-1].transpose(1, 2)
        return self.decoder(z.transpose(1, 2), masks).transpose(1, 2)  # (B, N * ds, F)

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) drawn from ``generator``; (B, N, C)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + (0.5 * logvar).exp() * eps

    kl_divergence = staticmethod(kl_divergence)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction (B, T, F) of a posterior sample, and mu, logvar (B, N, C)."""
        mu, logvar = self.encode(x, lengths)
        z = self.reparameterize(mu, logvar, generator)
        x_hat = self.decode(z, self.latent_lengths(lengths.to(x.device)))
        return x_hat[:, : x.shape[1]], mu, logvar

    def _check_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.cfg.feature_dim:
            raise ValueError(
                f"x must be (B, T, {self.cfg.feature_dim}) normalised features, got "
                f"{tuple(x.shape)}"
            )
        return _check_lengths(lengths, x.shape[0], x.shape[1], x.device, "frames")

    def _check_latents(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        if z.dim() != 3 or z.shape[-1] != self.cfg.latent_dim:
            raise ValueError(f"z must be (B, N, {self.cfg.latent_dim}), got {tuple(z.shape)}")
        valid = torch.as_tensor(valid, device=z.device)
        if valid.dtype == torch.bool:
            if valid.shape != z.shape[:2]:
                raise ValueError(f"latent mask must be {tuple(z.shape[:2])}, got {valid.shape}")
            valid = valid.sum(dim=1)
        return _check_lengths(valid, z.shape[0], z.shape[1], z.device, "latent tokens")


def _check_lengths(
    lengths: torch.Tensor, batch: int, size: int, device: torch.device, unit: str
) -> torch.Tensor:
    """lengths as a (B,) long tensor on ``device``; ValueError unless 1 <= lengths <= size."""
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.shape != (batch,) or lengths.is_floating_point():
        raise ValueError(f"lengths must be a ({batch},) integer tensor, got {lengths.shape}")
    if int(lengths.min()) < 1 or int(lengths.max()) > size:
        raise ValueError(
            f"lengths must be between 1 and {size} {unit}, got [{int(lengths.min())}, "
            f"{int(lengths.max())}]"
        )
    return lengths.long()


@torch.no_grad()
def encode_latents(
    vae: MotionVAE, clips: Sequence[np.ndarray], device: torch.device, batch_size: int = 128
) -> list[torch.Tensor]:
    """Posterior means of normalised clips: a list of (ceil(T_i / 4), C) tensors on the CPU."""
    vae.eval()
    latents: list[torch.Tensor] = []
    order = np.argsort([len(c) for c in clips])  # similar lengths per batch: less padding
    result: dict[int, torch.Tensor] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        lengths = torch.tensor([len(clips[i]) for i in idx])
        x = torch.zeros(len(idx), int(lengths.max()), clips[idx[0]].shape[1])
        for row, i in enumerate(idx):
            x[row, : len(clips[i])] = torch.from_numpy(clips[i])
        mu, _ = vae.encode(x.to(device), lengths.to(device))  # (b, N, C)
        tokens = vae.latent_lengths(lengths)  # (b,)
        for row, i in enumerate(idx):
            result[int(i)] = mu[row, : int(tokens[row])].cpu()
    latents = [result[i] for i in range(len(clips))]
    return latents
