"""The three networks of the T2M evaluator (Guo et al. 2022), with T2M's parameter names.

Specification: SALAD_COMPAT.md section 3.2. Sizes are not fixed here: ``T2MSizes.from_state``
reads them from the tensor shapes of a checkpoint, so the real evaluator (259 -> 512 -> 512,
text GRU 512, motion GRU 1024, co-embedding 512) and the reduced test fixture load alike.

* ``MovementConvEncoder``: normalised features without the 4 foot contacts ``(B, T, 259)`` ->
  movements ``(B, T/4, L)``: two Conv1d(k4, s2, p1) + Dropout(0.2) + LeakyReLU(0.2), then Linear.
* ``TextEncoderBiGRUCo``: word vectors ``(B, 22, 300)`` + Linear(POS one-hot ``(B, 22, 15)``) ->
  Linear -> bidirectional GRU over ``cap_lens`` tokens -> the two final states ``(B, 2H)`` ->
  Linear, LayerNorm, LeakyReLU(0.2), Linear -> ``(B, E)``.
* ``MotionEncoderBiGRUCo``: movements ``(B, T/4, L)`` -> Linear -> bidirectional GRU over
  ``m_lens // 4`` steps -> the same output head -> ``(B, E)``.

Both GRUs start from a learned state ``hidden`` (2, 1, H). Embeddings are not normalised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

CONTACT_DIMS = 4  # foot-contact channels dropped before the movement encoder (263 -> 259)
KERNEL, STRIDE, PADDING = 4, 2, 1  # both movement convolutions
TIME_REDUCTION = STRIDE * STRIDE  # frames per movement step
DROPOUT = 0.2  # movement encoder dropout (identity in eval mode)
LEAKY_SLOPE = 0.2  # LeakyReLU slope of every T2M block
DIRECTIONS = 2  # bidirectional GRUs


class T2MWeightsError(ValueError):
    """The evaluator's checkpoint does not hold the three T2M networks with matching sizes."""


@dataclass(frozen=True)
class T2MSizes:
    """Widths of the three networks (the real evaluator's values in the comments)."""

    movement_input: int  # 259: feature dims without the foot contacts
    movement_hidden: int  # 512: first convolution's channels
    movement_latent: int  # 512: second convolution's channels and movement width
    word_dim: int  # 300: word vector width (GloVe)
    pos_dim: int  # 15: POS one-hot width
    text_hidden: int  # 512: text GRU width per direction
    motion_hidden: int  # 1024: motion GRU width per direction
    coemb: int  # 512: co-embedding width

    @classmethod
    def from_state(cls, states: Mapping[str, Mapping[str, torch.Tensor]]) -> T2MSizes:
        """Read the sizes from ``{"movement_encoder", "text_encoder", "motion_encoder"}`` state
        dicts (T2M key names); raise T2MWeightsError when a key is missing or sizes disagree."""
        try:
            mov, text, mot = (
                states[k] for k in ("movement_encoder", "text_encoder", "motion_encoder")
            )
            hidden, movement_input, _ = mov["main.0.weight"].shape  # (H_mov, 259, 4)
            latent = mov["main.3.weight"].shape[0]  # (L, H_mov, 4)
            word_dim, pos_dim = text["pos_emb.weight"].shape  # (300, 15)
            sizes = cls(
                movement_input=int(movement_input),
                movement_hidden=int(hidden),
                movement_latent=int(latent),
                word_dim=int(word_dim),
                pos_dim=int(pos_dim),
                text_hidden=int(text["hidden"].shape[-1]),  # (2, 1, H_text)
                motion_hidden=int(mot["hidden"].shape[-1]),  # (2, 1, H_motion)
                coemb=int(text["output_net.3.weight"].shape[0]),  # (E, H_text)
            )
            motion_in = int(mot["input_emb.weight"].shape[1])  # (H_motion, L)
            motion_out = int(mot["output_net.3.weight"].shape[0])  # (E, H_motion)
        except (KeyError, AttributeError, ValueError, TypeError) as err:
            raise T2MWeightsError(
                f"not a T2M evaluator state (missing or bad entry {err})"
            ) from None
        if motion_in != sizes.movement_latent or motion_out != sizes.coemb:
            raise T2MWeightsError(
                f"T2M evaluator sizes disagree: motion encoder input {motion_in} vs movement "
                f"latent {sizes.movement_latent}, motion output {motion_out} vs text {sizes.coemb}"
            )
        return sizes


def _output_head(hidden: int, out: int) -> nn.Sequential:
    """Linear(2H -> H), LayerNorm(H), LeakyReLU, Linear(H -> E): keys output_net.{0,1,3}."""
    return nn.Sequential(
        nn.Linear(hidden * DIRECTIONS, hidden),
        nn.LayerNorm(hidden),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
        nn.Linear(hidden, out),
    )


class MovementConvEncoder(nn.Module):
    """(B, T, 259) normalised features -> (B, T / 4, L) movements."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, KERNEL, STRIDE, PADDING),
            nn.Dropout(DROPOUT, inplace=True),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
            nn.Conv1d(hidden_size, output_size, KERNEL, STRIDE, PADDING),
            nn.Dropout(DROPOUT, inplace=True),
            nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
        )
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.main(features.permute(0, 2, 1))  # (B, 259, T) -> (B, L, T / 4)
        return self.out_net(x.permute(0, 2, 1))  # (B, T / 4, L)


class _BiGRUCo(nn.Module):
    """Input projection, bidirectional GRU from a learned state, output head."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = _output_head(hidden_size, output_size)
        self.hidden = nn.Parameter(torch.randn((DIRECTIONS, 1, hidden_size)))

    def _encode(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, S, in) inputs, (B,) valid steps -> (B, E). Any order: packing sorts internally."""
        x = self.input_emb(inputs)  # (B, S, H)
        hidden = self.hidden.repeat(1, x.shape[0], 1)  # (2, B, H)
        packed = pack_padded_sequence(
            x, lengths.detach().cpu().long(), batch_first=True, enforce_sorted=False
        )
        _, last = self.gru(packed, hidden)  # last: (2, B, H), rows back in input order
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))  # (B, 2H) -> (B, E)


class TextEncoderBiGRUCo(_BiGRUCo):
    """(B, 22, 300) word vectors, (B, 22, 15) POS one-hots, (B,) cap_lens -> (B, E)."""

    def __init__(self, word_size: int, pos_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__(word_size, hidden_size, output_size)
        self.pos_emb = nn.Linear(pos_size, word_size)

    def forward(
        self, word_embs: torch.Tensor, pos_ohot: torch.Tensor, cap_lens: torch.Tensor
    ) -> torch.Tensor:
        return self._encode(word_embs + self.pos_emb(pos_ohot), cap_lens)


class MotionEncoderBiGRUCo(_BiGRUCo):
    """(B, T / 4, L) movements, (B,) movement steps -> (B, E)."""

    def forward(self, movements: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        return self._encode(movements, steps)


def build_networks(
    sizes: T2MSizes,
) -> tuple[MovementConvEncoder, TextEncoderBiGRUCo, MotionEncoderBiGRUCo]:
    """The three networks at ``sizes`` (random weights; load a state dict into them)."""
    return (
        MovementConvEncoder(sizes.movement_input, sizes.movement_hidden, sizes.movement_latent),
        TextEncoderBiGRUCo(sizes.word_dim, sizes.pos_dim, sizes.text_hidden, sizes.coemb),
        MotionEncoderBiGRUCo(sizes.movement_latent, sizes.motion_hidden, sizes.coemb),
    )
