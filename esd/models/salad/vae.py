"""SALAD's skeleton-aware VAE: normalised frames (B, T, 263) <-> latents (B, T/4, 7, C).

    split into 22 joints --motion_enc (one MLP per joint)--> (B, T, 22, C)
    conv_enc: per level [ResSTConv x (n_extra + 1), STPool]:   22 -> 12 -> 7 nodes, T -> T/4
    dist (one Linear per part): (B, T/4, 7, 2C) -> mu, logvar;  z = mu + exp(logvar / 2) eps
    conv_dec: per level [STUnpool (+ x2 linear upsampling), ResSTConv x (n_extra + 1)]
    motion_dec (one MLP per joint) --merge--> (B, T, 263)

    STConv(x)    = GraphConv(x) + Conv1d_time(x)
    GraphConv(x) = linear1(x) + (A linear2(x)) / (rowsum(A) + 1e-6),  A with self-loops
    ResSTConv(x) = x + Dropout(STConv(act(norm(STConv(act(norm(x)))))))

Parameter names are SALAD's (``motion_enc.layers.{j}.{0,2}``, ``conv_enc.layers.{l}.{k}.layers.
{2,5}.{adj_matrix, graph_conv.linear1, graph_conv.linear2, temp_conv}``, ``dist.{weight, bias}``,
...), in SALAD's state-dict order, so SALAD's ``{'vae': state_dict}`` loads strictly. The graphs
and pooling matrices are constant parameters (no gradient) stored in the state dict. There is no
length mask: a padded batch's last frames see the padding (SALAD decodes its padded batches so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from esd.models.salad import skeleton as sk
from esd.motion.skeleton import NUM_JOINTS

ACTIVATIONS = {"gelu": nn.GELU, "silu": nn.SiLU, "relu": nn.ReLU}
GRAPH_EPS = 1e-6  # added to the adjacency's row sums in GraphConv
LEVELS = 2  # pooling levels of the t2m hierarchy (22 -> 12 -> 7)


@dataclass
class SaladVAEConfig:
    """Shape of a SaladVAE; the fields are SALAD's ``opt.txt`` keys of the VAE folder."""

    latent_dim: int = 32  # C: channels per joint, per group and per latent part
    kernel_size: int = 3  # temporal kernel of every STConv (odd)
    n_layers: int = 2  # pooling levels (22 -> 12 -> 7 joints, x2 time each): 2 for t2m
    n_extra_layers: int = 1  # ResSTConv blocks per level beyond the first
    activation: str = "gelu"  # gelu (exact erf), silu or relu
    norm: str = "none"  # normalisation inside ResSTConv: none only (batch/layer add keys)
    dropout: float = 0.1  # dropout at the end of each ResSTConv (training only)

    def __post_init__(self) -> None:
        if self.n_layers != LEVELS:
            raise ValueError(f"n_layers must be {LEVELS} for the t2m skeleton, got {self.n_layers}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation {self.activation!r} unknown; SALAD's are {', '.join(ACTIVATIONS)}"
            )
        if self.norm != "none":
            raise ValueError(f"norm {self.norm!r} is not supported (only 'none', SALAD's default)")
        if self.latent_dim < 1 or self.n_extra_layers < 0:
            raise ValueError("latent_dim must be >= 1 and n_extra_layers >= 0")

    @property
    def downsample(self) -> int:
        """Frames per latent token (x2 per level)."""
        return 2**self.n_layers


def _constant(value: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(value, requires_grad=False)


class GraphConv(nn.Module):
    """linear1(x) + (A linear2(x)) / (rowsum(A) + 1e-6) over the joint axis of (B, T, J, C)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, dim)
        self.linear2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        neighbours = torch.matmul(adj, self.linear2(x))  # (J, J) @ (B, T, J, C) -> (B, T, J, C)
        degree = adj.sum(dim=-1, keepdim=True) + GRAPH_EPS  # (J, 1)
        return self.linear1(x) + neighbours / degree


class STConv(nn.Module):
    """Graph convolution over joints plus a 1-D convolution over time (per joint)."""

    def __init__(self, dim: int, adj: torch.Tensor, kernel: int) -> None:
        super().__init__()
        self.adj_matrix = _constant(adj.clone())
        self.graph_conv = GraphConv(dim)
        self.temp_conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J, C) -> (B, T, J, C)."""
        batch, frames, joints, dim = x.shape
        seq = x.permute(0, 2, 3, 1).reshape(batch * joints, dim, frames)  # (B J, C, T)
        temporal = self.temp_conv(seq).reshape(batch, joints, dim, frames).permute(0, 3, 1, 2)
        return self.graph_conv(x, self.adj_matrix) + temporal


class ResSTConv(nn.Module):
    """x + Dropout(STConv(act(norm(STConv(act(norm(x))))))) (``layers.2`` and ``layers.5``)."""

    def __init__(self, cfg: SaladVAEConfig, adj: torch.Tensor) -> None:
        super().__init__()
        act, dim = ACTIVATIONS[cfg.activation], cfg.latent_dim
        self.layers = nn.Sequential(
            nn.Identity(), act(), STConv(dim, adj, cfg.kernel_size),
            nn.Identity(), act(), STConv(dim, adj, cfg.kernel_size),
            nn.Dropout(cfg.dropout),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


def _over_time(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Apply ``fn`` to (B, J C, T) and return (B, T', J, C)."""
    batch, frames, joints, dim = x.shape
    out = fn(x.reshape(batch, frames, joints * dim).transpose(1, 2))  # (B, J C, T')
    return out.transpose(1, 2).reshape(batch, -1, joints, dim)


class STPool(nn.Module):
    """Mean over each group's joints (fixed (J', J) matrix), then average pooling x2 over time."""

    def __init__(self, pool: torch.Tensor) -> None:
        super().__init__()
        self.skeleton_pool = _constant(pool.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J, C) -> (B, floor(T / 2), J', C)."""
        pooled = torch.matmul(self.skeleton_pool, x)  # (B, T, J', C)
        return _over_time(pooled, lambda seq: F.avg_pool1d(seq, 2, 2))


class STUnpool(nn.Module):
    """Sum into every member joint (binary (J, J') matrix), then x2 linear upsampling in time."""

    def __init__(self, unpool: torch.Tensor) -> None:
        super().__init__()
        self.skeleton_unpool = _constant(unpool.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J', C) -> (B, 2 T, J, C)."""
        spread = torch.matmul(self.skeleton_unpool, x)  # (B, T, J, C)
        return _over_time(spread, lambda seq: F.interpolate(seq, scale_factor=2, mode="linear"))


class JointMLPs(nn.Module):
    """One two-layer MLP per joint: Linear(in_j -> hidden), act, Linear(hidden -> out_j)."""

    def __init__(self, sizes: list[tuple[int, int, int]], activation: str) -> None:
        super().__init__()
        act = ACTIVATIONS[activation]
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(a, b), act(), nn.Linear(b, c)) for a, b, c in sizes
        )

    def forward(self, parts: list[torch.Tensor]) -> list[torch.Tensor]:
        return [layer(p) for layer, p in zip(self.layers, parts, strict=True)]


class MultiLinear(nn.Module):
    """A separate Linear per part: (B, T, P, C_in) -> (B, T, P, C_out), weight (P, C_in, C_out)."""

    def __init__(self, parts: int, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(parts, dim_in, dim_out))
        self.bias = nn.Parameter(torch.zeros(parts, dim_out))
        bound = dim_in**-0.5
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("btpi,pio->btpo", x, self.weight) + self.bias


class SaladVAE(nn.Module):
    """Normalised frames (B, T, 263) <-> latents (B, T/4, 7, C); see the module doc."""

    def __init__(self, cfg: SaladVAEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or SaladVAEConfig()
        dim, blocks = cfg.latent_dim, cfg.n_extra_layers + 1
        graphs, pools = sk.level_graphs(), sk.pool_matrices()
        unpools = [sk.membership(sk.JOINT_GROUPS, NUM_JOINTS).T,
                   sk.membership(sk.PART_GROUPS, len(sk.JOINT_GROUPS)).T]  # fmt: skip
        sizes = [sk.joint_channels(j) for j in range(NUM_JOINTS)]
        # registration order = SALAD's state-dict order
        self.motion_enc = JointMLPs([(n, dim, dim) for n in sizes], cfg.activation)
        self.motion_dec = JointMLPs([(dim, dim, n) for n in sizes], cfg.activation)
        self.conv_enc = nn.Module()
        self.conv_enc.layers = nn.ModuleList(
            nn.Sequential(*[ResSTConv(cfg, graphs[level]) for _ in range(blocks)],
                          STPool(pools[level]))
            for level in range(LEVELS)
        )  # fmt: skip
        self.conv_dec = nn.Module()
        self.conv_dec.layers = nn.ModuleList(
            nn.Sequential(STUnpool(unpools[level]),
                          *[ResSTConv(cfg, graphs[level]) for _ in range(blocks)])
            for level in reversed(range(LEVELS))
        )  # fmt: skip
        self.dist = MultiLinear(sk.NUM_PARTS, dim, 2 * dim)

    @property
    def downsample(self) -> int:
        return self.cfg.downsample

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu, logvar (B, T/4, 7, C) of normalised frames x (B, T, 263), T a multiple of 4."""
        if x.dim() != 3 or x.shape[1] % self.downsample or x.shape[1] == 0:
            raise ValueError(
                f"x must be (B, T, 263) with T a positive multiple of {self.downsample}, got "
                f"{tuple(x.shape)}"
            )
        h = torch.stack(self.motion_enc(sk.split_features(x)), dim=2)  # (B, T, 22, C)
        for level in self.conv_enc.layers:
            h = level(h)  # (B, T / 4, 7, C) after the last level
        mu, logvar = self.dist(h).chunk(2, dim=-1)
        return mu, logvar

    def encode(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A posterior sample z = mu + exp(logvar / 2) eps, and mu, logvar (B, T/4, 7, C).

        Like SALAD's ``encode``, it always samples: one ``randn`` of z's shape.
        """
        mu, logvar = self.encode_stats(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(logvar / 2) * eps, mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (B, N, 7, C) -> normalised frames (B, 4 N, 263)."""
        if z.dim() != 4 or z.shape[2:] != (sk.NUM_PARTS, self.cfg.latent_dim):
            raise ValueError(
                f"z must be (B, N, {sk.NUM_PARTS}, {self.cfg.latent_dim}), got {tuple(z.shape)}"
            )
        h = z
        for level in self.conv_dec.layers:
            h = level(h)  # (B, 4 N, 22, C) after the last level
        return sk.merge_features(self.motion_dec(list(h.unbind(dim=2))))


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """SALAD's KL term: mean over every element of 0.5 (mu^2 + e^logvar - 1 - logvar), a scalar."""
    return (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).mean()
