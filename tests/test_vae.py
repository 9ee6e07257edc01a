"""MotionVAE: shapes, latent lengths, padding invariance, KL, config round trip (tiny configs)."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from esd.models.bundled.vae import MotionVAE, VAEConfig, kl_divergence, latent_lengths
from esd.motion.skeleton import FEATURE_DIM

TINY = VAEConfig(hidden_dim=32, latent_dim=4, num_res_blocks=1)


def make_vae(cfg: VAEConfig = TINY, seed: int = 0) -> MotionVAE:
    torch.manual_seed(seed)  # weight init only
    return MotionVAE(cfg).eval()


def features(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, frames, FEATURE_DIM, generator=g)


def test_default_config_matches_the_format() -> None:
    cfg = VAEConfig()
    assert cfg.feature_dim == FEATURE_DIM and cfg.downsample == 4 and cfg.num_levels == 2
    assert VAEConfig(**asdict(cfg)) == cfg


@pytest.mark.parametrize("frames", [40, 49, 50, 51, 52])
def test_shapes_and_latent_length_is_ceil_of_quarter(frames: int) -> None:
    vae = make_vae()
    lengths = torch.tensor([frames, frames - 3, 1])
    mu, logvar = vae.encode(features(3, frames), lengths)
    n = -(-frames // 4)
    assert mu.shape == logvar.shape == (3, n, 4)
    expected = [-(-int(x) // 4) for x in lengths]
    assert vae.latent_lengths(lengths).tolist() == expected == latent_lengths(lengths).tolist()
    for row, count in enumerate(expected):
        assert torch.all(mu[row, count:] == 0) and mu[row, :count].abs().sum() > 0
    out = vae.decode(mu, vae.latent_lengths(lengths))
    assert out.shape == (3, 4 * n, FEATURE_DIM)
    assert torch.all(out[1, 4 * expected[1] :] == 0)


def test_encoder_ignores_padding_frames() -> None:
    vae = make_vae()
    x, lengths = features(3, 45), torch.tensor([45, 30, 13])
    mu, logvar = vae.encode(x, lengths)
    garbage = x.clone()
    for row, length in enumerate(lengths.tolist()):
        garbage[row, length:] = 1e4 * torch.randn(45 - length, FEATURE_DIM)
    garbage[2, 20] = float("nan")
    padded = torch.cat([garbage, 1e3 * features(3, 11, seed=1)], dim=1)  # 56 frames
    mu2, logvar2 = vae.encode(padded, lengths)
    assert torch.allclose(mu2[:, : mu.shape[1]], mu, atol=1e-5)
    assert torch.allclose(logvar2[:, : mu.shape[1]], logvar, atol=1e-5)
    alone, _ = vae.encode(x[2:, :13], lengths[2:])  # a clip alone, cropped, no padding at all
    assert torch.allclose(alone, mu[2:, : alone.shape[1]], atol=1e-5)


def test_decoder_ignores_padding_tokens_and_accepts_a_mask() -> None:
    vae = make_vae()
    z = torch.randn(2, 8, 4, generator=torch.Generator().manual_seed(3))
    counts = torch.tensor([8, 5])
    out = vae.decode(z, counts)
    z_garbage = z.clone()
    z_garbage[1, 5:] = 1e4
    mask = torch.arange(8)[None] < counts[:, None]  # (2, 8)
    out2 = vae.decode(z_garbage, mask)
    assert torch.allclose(out, out2, atol=1e-5)
    alone = vae.decode(z[1:, :5], counts[1:])
    assert torch.allclose(alone, out[1:, :20], atol=1e-5)


def test_no_gradient_reaches_padding_frames() -> None:
    vae = make_vae()
    x = features(2, 40).requires_grad_(True)
    lengths = torch.tensor([40, 22])
    x_hat, mu, _ = vae(x, lengths, torch.Generator().manual_seed(0))
    valid = torch.arange(40)[None] < lengths[:, None]  # (2, 40)
    (x_hat[valid].square().sum() + mu.square().sum()).backward()
    assert torch.all(x.grad[1, 22:] == 0) and x.grad[1, :22].abs().sum() > 0


def test_kl_is_nonnegative_and_masked() -> None:
    g = torch.Generator().manual_seed(4)
    mu, logvar = torch.randn(3, 6, 4, generator=g), torch.randn(3, 6, 4, generator=g)
    assert float(kl_divergence(mu, logvar)) >= 0
    assert float(kl_divergence(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))) == 0.0
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[1, 2:] = False
    base = kl_divergence(mu, logvar, mask)
    mu[1, 2:], logvar[1, 2:] = 100.0, 10.0  # padded tokens must not count
    assert torch.allclose(kl_divergence(mu, logvar, mask), base)
    assert torch.equal(make_vae().kl_divergence(mu, logvar, mask), base)  # method form


def test_reparameterize_is_seeded() -> None:
    mu, logvar = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    a = MotionVAE.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    b = MotionVAE.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    c = MotionVAE.reparameterize(mu, logvar, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(MotionVAE.reparameterize(mu, torch.full_like(mu, -60.0)), mu)


def test_rebuilds_from_config_dict_and_state() -> None:
    vae = make_vae(VAEConfig(hidden_dim=16, latent_dim=3, num_res_blocks=1, downsample=8))
    copy = MotionVAE(VAEConfig(**asdict(vae.cfg))).eval()
    copy.load_state_dict(vae.state_dict())
    x, lengths = features(2, 33), torch.tensor([33, 9])
    mu, _ = vae.encode(x, lengths)
    assert mu.shape == (2, 5, 3)  # ceil(33 / 8)
    assert torch.equal(copy.encode(x, lengths)[0], mu)


def test_learns_to_reconstruct_smooth_motion() -> None:
    """Low-rank smooth signals (like real features) are compressible: the loss must fall."""
    torch.manual_seed(0)
    vae = MotionVAE(TINY).train()
    g = torch.Generator().manual_seed(5)
    phase = torch.arange(32)[None, :, None] * torch.rand(4, 1, 2, generator=g) * 0.4  # (4, 32, 2)
    x = torch.cat([phase.sin(), phase.cos()], -1) @ torch.randn(4, FEATURE_DIM, generator=g)
    lengths = torch.tensor([32, 32, 24, 16])
    optimizer = torch.optim.Adam(vae.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        mu, _ = vae.encode(x, lengths)
        loss = (vae.decode(mu, vae.latent_lengths(lengths)) - x).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]  # measured 0.18


def test_bad_inputs_raise_value_errors() -> None:
    vae = make_vae()
    with pytest.raises(ValueError, match="263"):
        vae.encode(torch.zeros(1, 8, 10), torch.tensor([8]))
    with pytest.raises(ValueError, match="between 1 and 8"):
        vae.encode(torch.zeros(1, 8, FEATURE_DIM), torch.tensor([9]))
    with pytest.raises(ValueError, match="between 1 and 8"):
        vae.encode(torch.zeros(1, 8, FEATURE_DIM), torch.tensor([0]))
    with pytest.raises(ValueError, match="latent mask"):
        vae.decode(torch.zeros(2, 3, 4), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="power of 2"):
        VAEConfig(downsample=3)
