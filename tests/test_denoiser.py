"""LatentDenoiser: shapes, masks, null text, the cross-attention-only text pathway, ESD parameter
sets and config round trip (tiny configs)."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch
from torch import nn

from esd.models.bundled.denoiser import (
    DenoiserConfig,
    LatentDenoiser,
    count_parameters,
    parameter_groups,
    select_parameters,
)
from esd.models.text.batch import TextBatch

TINY = DenoiserConfig(
    latent_dim=4, model_dim=32, num_layers=2, num_heads=2, text_dim=8, max_latent_tokens=16
)
B, N, C, L = 3, 7, 4, 5


def randomised(cfg: DenoiserConfig = TINY, seed: int = 0) -> LatentDenoiser:
    """A model with every parameter random (the zero-initialised gates would hide the paths)."""
    model = LatentDenoiser(cfg).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(0.3 * torch.randn(param.shape, generator=g))
    return model


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def text(seed: int = 1, lengths: tuple[int, ...] = (5, 2, 3)) -> TextBatch:
    mask = torch.arange(L)[None] < torch.tensor(lengths)[:, None]  # (B, L)
    return TextBatch(rand(len(lengths), L, 8, seed=seed) * mask[..., None], mask)


def latent_mask(counts: tuple[int, ...] = (7, 4, 1)) -> torch.Tensor:
    return torch.arange(N)[None] < torch.tensor(counts)[:, None]  # (B, N)


T = torch.tensor([0, 500, 999])


def test_shapes_and_timestep_forms() -> None:
    model = randomised()
    x = rand(B, N, C)
    out = model(x, T, text(), latent_mask())
    assert out.shape == (B, N, C) and torch.isfinite(out).all()
    assert torch.equal(model(x, T.float(), text(), latent_mask()), out)
    same_t = model(x, 250, text())
    assert torch.allclose(same_t, model(x, torch.full((B,), 250), text()))
    assert not torch.allclose(out, model(x, T.flip(0), text(), latent_mask()))  # t matters


def test_fresh_model_starts_at_zero_output() -> None:
    out = LatentDenoiser(TINY)(rand(B, N, C), T, text())
    assert torch.all(out == 0)  # adaLN-Zero gates and a zero output layer (DiT)


def test_padding_tokens_never_reach_valid_ones() -> None:
    model, mask = randomised(), latent_mask()
    x = rand(B, N, C)
    out = model(x, T, text(), mask)
    garbage = torch.where(mask[..., None], x, 1e4)
    garbage[2, 3] = float("nan")
    assert torch.allclose(model(garbage, T, text(), mask), out, atol=1e-5)
    assert torch.all(out[~mask] == 0)
    alone = model(x[1:2, :4], T[1:2], text().index([1]))  # row 1 cropped to its 4 tokens
    assert torch.allclose(alone, out[1:2, :4], atol=1e-5)


def test_masked_text_tokens_and_batch_company_do_not_matter() -> None:
    model = randomised()
    x, batch = rand(B, N, C), text()
    out = model(x, T, batch)
    padded = batch.padded(L + 3)
    padded.states[~padded.mask] = 1e4  # garbage in masked text slots
    assert torch.allclose(model(x, T, padded), out, atol=1e-5)
    null = TextBatch(torch.zeros(B, 1, 8), torch.zeros(B, 1, dtype=torch.bool))
    both = model(x.repeat(2, 1, 1), T.repeat(2), TextBatch.cat(batch, null))  # one 2B call
    assert torch.allclose(both[:B], out, atol=1e-5)
    assert torch.allclose(both[B:], model(x, T, null), atol=1e-5)


def test_null_rows_use_the_learned_null_text() -> None:
    model = randomised(DenoiserConfig(**{**asdict(TINY), "num_null_tokens": 2}))
    x = rand(B, N, C)
    null = TextBatch(torch.zeros(B, 1, 8), torch.zeros(B, 1, dtype=torch.bool))
    as_text = TextBatch(
        model.null_text.detach().expand(B, 2, 8).clone(), torch.ones(B, 2, dtype=torch.bool)
    )
    assert torch.allclose(model(x, T, null), model(x, T, as_text), atol=1e-5)
    mixed = TextBatch.cat(text().index([0]), null.index([1, 2]))
    before = model(x, T, mixed)
    with torch.no_grad():
        model.null_text.add_(1.0)
    after = model(x, T, mixed)
    assert torch.equal(after[0], before[0])  # a real prompt ignores the null tokens
    assert not torch.allclose(after[1:], before[1:])  # null rows follow null_text


def test_text_acts_only_through_cross_attention() -> None:
    model = randomised()
    x, mask = rand(B, N, C), latent_mask()
    prompts = [text(seed=1), text(seed=2, lengths=(1, 5, 4))]
    null = TextBatch(torch.zeros(B, 1, 8), torch.zeros(B, 1, dtype=torch.bool))
    outs = [model(x, T, batch, mask) for batch in [*prompts, null]]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "cross_attn.out" in name:
                param.zero_()  # cut the text pathway
    cut = [model(x, T, batch, mask) for batch in [*prompts, null]]
    assert torch.equal(cut[0], cut[1]) and torch.equal(cut[0], cut[2])


def test_text_conditioning_is_learnable() -> None:
    """Two prompts, opposite targets: a few steps from the zero init separate them."""
    torch.manual_seed(0)
    model = LatentDenoiser(TINY).train()
    prompts = TextBatch(rand(2, 3, 8, seed=4), torch.ones(2, 3, dtype=torch.bool))
    target = torch.tensor([1.0, -1.0])[:, None, None].expand(2, N, C)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(150):
        x = rand(2, N, C, seed=100 + step)
        t = torch.full((2,), (step * 37) % 1000)  # the same t for both: only text differs
        loss = (model(x, t, prompts) - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    out = model.eval()(rand(2, N, C, seed=7), torch.tensor([300, 300]), prompts)
    assert out[0].mean() > 0.5 and out[1].mean() < -0.5


def test_parameter_sets() -> None:
    model = LatentDenoiser(TINY)
    groups = parameter_groups(model)
    names = [n for n, _ in model.named_parameters()]
    assert groups["full"] == names
    assert set(groups["esd-x"]) | set(groups["esd-u"]) == set(names)
    assert not set(groups["esd-x"]) & set(groups["esd-u"])
    assert all("cross_attn" in n for n in groups["esd-x"])
    for layer in range(TINY.num_layers):
        for part in ("to_q", "to_kv", "out"):
            assert f"blocks.{layer}.cross_attn.{part}.weight" in groups["esd-x"]
    assert "null_text" in groups["esd-u"] and "blocks.0.attn.qkv.weight" in groups["esd-u"]
    assert select_parameters(model, "esd-x") == groups["esd-x"]
    assert count_parameters(model, groups["esd-x"]) + count_parameters(
        model, groups["esd-u"]
    ) == count_parameters(model)
    assert model.blocks[0].cross_attn.to_kv.in_features == TINY.text_dim  # kdim = vdim = text


def test_parameter_selection_errors() -> None:
    with pytest.raises(ValueError, match="esd-x, esd-u, full"):
        select_parameters(LatentDenoiser(TINY), "esd-xx")
    with pytest.raises(ValueError, match="selects no parameters"):
        select_parameters(nn.Linear(2, 2), "esd-x")


def test_rebuilds_from_config_dict_and_state() -> None:
    model = randomised()
    copy = LatentDenoiser(DenoiserConfig(**asdict(model.cfg))).eval()
    copy.load_state_dict(model.state_dict())
    x = rand(B, N, C)
    assert torch.equal(copy(x, T, text(), latent_mask()), model(x, T, text(), latent_mask()))
    assert DenoiserConfig(**asdict(DenoiserConfig())) == DenoiserConfig()


def test_bad_inputs_raise_value_errors() -> None:
    model = LatentDenoiser(TINY)
    with pytest.raises(ValueError, match="max_latent_tokens"):
        model(rand(1, 17, C), T[:1], text().index([0]))
    with pytest.raises(ValueError, match="8-d states"):
        model(rand(B, N, C), T, TextBatch(torch.zeros(B, 2, 5), torch.ones(B, 2, dtype=torch.bool)))
    with pytest.raises(ValueError, match="at least one valid token"):
        model(rand(B, N, C), T, text(), latent_mask((7, 0, 1)))
    with pytest.raises(ValueError, match=r"\(B, N, 4\)"):
        model(rand(B, N, 3), T, text())
    with pytest.raises(ValueError, match="divisible"):
        DenoiserConfig(model_dim=30, num_heads=4)
