"""The T2M evaluator loaded from SALAD's / text-to-motion's file layout, and its embeddings.

Files (SALAD_COMPAT.md 3.1, relative to ``checkpoints_dir/dataset_name``):

* ``text_mot_match/model/finest.tar``: ``text_encoder``, ``motion_encoder``, ``movement_encoder``
  state dicts (and optimiser states, ignored), read with ``torch.load(weights_only=True)`` and
  loaded strictly; the sizes come from the tensor shapes (``T2MSizes.from_state``).
* ``Comp_v6_KLD005/meta/{mean,std}.npy``: the meta statistics (263,) that normalise every motion
  the evaluator sees (ground truth and generated alike).
* ``Comp_v6_KLD005/opt.txt`` (optional): ``unit_length`` and ``max_text_len``.

Ordering (as T2M's ``get_co_embeddings``): the batch is sorted by motion length, descending, with
``align_idx = np.argsort(m_lens)[::-1]``; both embeddings come back in that order, so row ``i``
of the text and the motion embeddings is the pair ``align_idx[i]`` of the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from esd.evaluation.t2m.networks import (
    CONTACT_DIMS,
    TIME_REDUCTION,
    MotionEncoderBiGRUCo,
    MovementConvEncoder,
    T2MSizes,
    T2MWeightsError,
    TextEncoderBiGRUCo,
    build_networks,
)
from esd.models.checkpoints import load_error_reason
from esd.motion.skeleton import FEATURE_DIM

DEFAULT_DATASET = "t2m"  # SALAD's --dataset_name for HumanML3D
MATCHER_FILE = Path("text_mot_match") / "model" / "finest.tar"
META_DIR = Path("Comp_v6_KLD005") / "meta"
OPT_FILE = Path("Comp_v6_KLD005") / "opt.txt"
NETWORK_KEYS = ("movement_encoder", "text_encoder", "motion_encoder")
UNIT_LENGTH = 4  # frames per movement step (opt.txt unit_length; the convolutions reduce x4)
MAX_TEXT_LEN = 20  # tokens kept before sos/eos (opt.txt max_text_len)


class T2MFilesError(T2MWeightsError):
    """The evaluator's files are missing or unreadable."""


@dataclass(frozen=True)
class T2MPaths:
    """Where the evaluator's files are for one ``checkpoints_dir`` and ``dataset_name``."""

    matcher: Path  # finest.tar
    mean: Path  # meta/mean.npy
    std: Path  # meta/std.npy
    opt: Path  # opt.txt (optional)

    @classmethod
    def under(cls, checkpoints_dir: str | Path, dataset_name: str = DEFAULT_DATASET) -> T2MPaths:
        root = Path(checkpoints_dir) / dataset_name
        meta = root / META_DIR
        return cls(root / MATCHER_FILE, meta / "mean.npy", meta / "std.npy", root / OPT_FILE)

    def missing(self) -> list[Path]:
        """The required files that do not exist (empty when the evaluator can load)."""
        return [p for p in (self.matcher, self.mean, self.std) if not p.is_file()]


def _read_options(path: Path) -> dict[str, str]:
    """``key: value`` lines of a T2M opt.txt (other lines ignored); {} when absent."""
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _int_option(options: dict[str, str], key: str, default: int, path: Path) -> int:
    try:
        return int(options.get(key, default))
    except ValueError:
        raise T2MFilesError(f"{path}: {key} is {options[key]!r}, expected an integer") from None


def _load_meta(path: Path, what: str) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise T2MFilesError(f"{path} is not a readable .npy file: {err}") from None
    if values.shape != (FEATURE_DIM,) or not np.isfinite(values).all():
        raise T2MFilesError(f"{path}: the meta {what} must be {FEATURE_DIM} finite values")
    if what == "std" and (values <= 0).any():
        raise T2MFilesError(f"{path}: the meta std has a value <= 0")
    return values.astype(np.float32)


def _load_states(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the unpickler raises many types on corrupt bytes
        reason = load_error_reason(err)
        raise T2MFilesError(f"{path} is not a readable T2M checkpoint: {reason}") from None
    if not isinstance(data, dict) or any(not isinstance(data.get(k), dict) for k in NETWORK_KEYS):
        raise T2MFilesError(f"{path} lacks the state dicts {', '.join(NETWORK_KEYS)}")
    return {key: data[key] for key in NETWORK_KEYS}


class T2MEvaluator:
    """The three networks in eval mode, the meta statistics and the protocol's lengths."""

    def __init__(
        self,
        networks: tuple[MovementConvEncoder, TextEncoderBiGRUCo, MotionEncoderBiGRUCo],
        sizes: T2MSizes,
        meta_mean: np.ndarray,
        meta_std: np.ndarray,
        unit_length: int = UNIT_LENGTH,
        max_text_len: int = MAX_TEXT_LEN,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.movement_encoder, self.text_encoder, self.motion_encoder = (
            net.to(self.device).eval() for net in networks
        )
        self.sizes = sizes
        self.meta_mean, self.meta_std = meta_mean, meta_std  # (263,) float32 each
        self.unit_length, self.max_text_len = unit_length, max_text_len

    def _tensor(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).to(self.device)

    @torch.no_grad()
    def movements(self, motions: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(B, T, 263) normalised motions -> (B, T / 4, L) movements (contacts dropped)."""
        return self.movement_encoder(self._tensor(motions)[..., :-CONTACT_DIMS])

    def align_order(self, m_lens: np.ndarray) -> np.ndarray:
        """T2M's order: ``np.argsort(m_lens)[::-1]`` (longest first; numpy's default sort)."""
        return np.argsort(np.asarray(m_lens).tolist())[::-1].copy()

    @torch.no_grad()
    def motion_embeddings(
        self, motions: np.ndarray | torch.Tensor, m_lens: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(B, T, 263) normalised motions, (B,) frames -> ((B, E) in align order, align_idx)."""
        align = self.align_order(m_lens)  # (B,)
        movements = self.movements(self._tensor(motions)[torch.as_tensor(align)])  # (B, T/4, L)
        steps = torch.as_tensor(np.asarray(m_lens)[align] // self.unit_length)  # (B,)
        return self.motion_encoder(movements, steps).cpu().numpy(), align

    @torch.no_grad()
    def text_embeddings(
        self,
        word_embs: np.ndarray | torch.Tensor,
        pos_ohot: np.ndarray | torch.Tensor,
        cap_lens: np.ndarray,
    ) -> np.ndarray:
        """(B, 22, 300), (B, 22, 15), (B,) tokens -> (B, E), in the input order."""
        lengths = torch.as_tensor(np.asarray(cap_lens))
        out = self.text_encoder(self._tensor(word_embs), self._tensor(pos_ohot), lengths)
        return out.cpu().numpy()

    def co_embeddings(
        self,
        word_embs: np.ndarray | torch.Tensor,
        pos_ohot: np.ndarray | torch.Tensor,
        cap_lens: np.ndarray,
        motions: np.ndarray | torch.Tensor,
        m_lens: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Text and motion embeddings (B, E) each, both in align order, and align_idx (B,)."""
        motion_emb, align = self.motion_embeddings(motions, m_lens)
        text_emb = self.text_embeddings(word_embs, pos_ohot, cap_lens)[align]
        return text_emb, motion_emb, align


def load_t2m_evaluator(
    checkpoints_dir: str | Path,
    dataset_name: str = DEFAULT_DATASET,
    device: str | torch.device = "cpu",
) -> T2MEvaluator:
    """Load the evaluator from ``checkpoints_dir/dataset_name`` (SALAD's layout).

    Raises T2MFilesError (a ValueError) with one actionable line for a missing or foreign file.
    """
    paths = T2MPaths.under(checkpoints_dir, dataset_name)
    missing = paths.missing()
    if missing:
        raise T2MFilesError(
            f"T2M evaluator file not found: {missing[0]}; place the evaluator "
            f"(text_mot_match, Comp_v6_KLD005) under {Path(checkpoints_dir) / dataset_name}"
        )
    states = _load_states(paths.matcher)
    sizes = T2MSizes.from_state(states)
    networks = build_networks(sizes)
    for key, net in zip(NETWORK_KEYS, networks, strict=True):
        try:
            net.load_state_dict(states[key], strict=True)
        except RuntimeError as err:
            reason = " ".join(str(err).split())[:200]
            raise T2MFilesError(f"{paths.matcher}: {key} does not load: {reason}") from None
    options = _read_options(paths.opt)
    unit = _int_option(options, "unit_length", UNIT_LENGTH, paths.opt)
    if unit != TIME_REDUCTION:
        raise T2MFilesError(
            f"{paths.opt}: unit_length {unit} is not supported; the movement encoder reduces "
            f"time by {TIME_REDUCTION}"
        )
    max_text = _int_option(options, "max_text_len", MAX_TEXT_LEN, paths.opt)
    mean, std = _load_meta(paths.mean, "mean"), _load_meta(paths.std, "std")
    return T2MEvaluator(networks, sizes, mean, std, unit, max_text, device)
