"""Denoiser-stage batching: length buckets keep every clip drawable and cut the padding."""

from types import SimpleNamespace

import torch

from esd.pretrain.denoiser import DenoiserTrainConfig, LatentBatcher


def batcher(buckets: int) -> LatentBatcher:
    lengths = [10 + (i * 7) % 40 for i in range(400)]  # 10..49 tokens, as the corpus
    latents = [torch.full((n, 2), float(i + 1)) for i, n in enumerate(lengths)]  # id + 1: not 0
    bank = SimpleNamespace(index={"": 0, "a caption": 1})
    cfg = DenoiserTrainConfig(batch_size=16, length_buckets=buckets, cond_drop=0.0)
    return LatentBatcher(latents, [["a caption"]] * len(latents), bank, cfg)


def widths_and_picks(b: LatentBatcher, steps: int = 400) -> tuple[list[int], set[int]]:
    gen = torch.Generator().manual_seed(0)
    widths, seen = [], set()
    for _ in range(steps):
        z0, mask, caps = b.sample(gen, torch.device("cpu"))
        widths.append(z0.shape[1])
        seen |= {int(v) - 1 for v in z0[:, 0, 0]}
        assert (mask.sum(1) == (z0[..., 0] == z0[:, :1, 0]).sum(1)).all()  # mask = real tokens
        assert (caps == 1).all()
    return widths, seen


def test_buckets_cut_padding_and_reach_every_clip():
    flat_widths, flat_seen = widths_and_picks(batcher(1))
    widths, seen = widths_and_picks(batcher(8))
    assert sum(widths) < 0.8 * sum(flat_widths)
    assert len(seen) > 0.95 * 400 and len(flat_seen) > 0.95 * 400
