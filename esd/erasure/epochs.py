"""What an epoch of ESD is: the seed's "one pass over the training split", counted in batches.

The seed measures ESD's length in epochs of the base model's training data ("500-1000
iterations, approx 1-3 epochs on HumanML3D"), although ESD never reads that data: its x_t come
from the chosen source (``esd.erasure.sources``). So one epoch is

    iterations per epoch = n_concepts x ceil(training clips / batch size)

(one pass per target concept: ``esd.erasure.loop`` scales the work with the number of concepts).
The number of training clips, in order of precedence (``training_clips``):

1. ``--data_root`` given: the ids in its ``train.txt``;
2. a base that records it (``train_clips`` in its checkpoint info, or in a SALAD-format base's
   ``opt.txt``: ``python -m esd.pretrain salad`` writes it);
3. SALAD's family (a HumanML3D model): ``HUMANML3D_TRAIN_CLIPS``;
4. the bundled base (``esd.models.checkpoints.BASE_MODEL_NAME``): ``BUNDLED_TRAIN_CLIPS``.

Any other base needs ``--data_root`` (its training data) or ``--iterations``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esd.models import checkpoints as ck
from esd.motion.humanml3d import MotionFolder

# The bundled base's training split: the corpus `python -m esd.corpus --out data/t2m_synth
# --clips 12000 --seed 0` splits 80/10/10 by concept (esd.corpus.writer.SPLIT_SHARES), 9,600
# train clips (assets/t2m_denoiser_vpred_vaegelu/MODEL_CARD.md, "Data"); the bundled checkpoint
# does not record it and is not rewritten for it.
BUNDLED_TRAIN_CLIPS = 9_600
# HumanML3D's train split (Guo et al., 2022): HumanML3D/train.txt of EricGuo5513/HumanML3D lists
# 23,384 ids (mirrored clips included; train_val.txt: 24,844 = 23,384 + 1,460 val). SALAD's t2m
# models are trained on it.
HUMANML3D_TRAIN_CLIPS = 23_384
INFO_KEY = "train_clips"  # where a base that records its training split size keeps it


@dataclass(frozen=True)
class TrainingClips:
    """How many clips an epoch stands for, and where the number comes from."""

    count: int  # clips in the base model's training split
    source: str  # e.g. "data/t2m_synth/train.txt", "the bundled base's model card"


def training_clips(
    base_name: str, base_info: dict[str, Any], data_root: Path | None
) -> TrainingClips:
    """The training split size of an epoch (see the module docstring for the precedence).

    Raises ValueError (DatasetError for a bad folder) when no rule applies.
    """
    if data_root is not None:
        ids = MotionFolder(data_root).split_ids("train")
        return TrainingClips(len(ids), f"{Path(data_root) / 'train.txt'}")
    recorded = base_info.get(INFO_KEY) or (base_info.get("salad_options") or {}).get(INFO_KEY)
    if isinstance(recorded, int) and recorded > 0:
        return TrainingClips(recorded, f"recorded by the base {base_name}")
    if base_info.get("salad_options") is not None:
        return TrainingClips(HUMANML3D_TRAIN_CLIPS, "HumanML3D's train.txt (a SALAD base)")
    if base_name == ck.BASE_MODEL_NAME:
        return TrainingClips(BUNDLED_TRAIN_CLIPS, "the bundled base's training split")
    raise ValueError(
        f"cannot tell how many clips {base_name!r} was trained on, so an epoch has no length: "
        "give --data_root (its training data) or --iterations"
    )


def iterations_per_epoch(train_clips: int, batch_size: int, concepts: int = 1) -> int:
    """concepts x ceil(train_clips / batch_size): one pass over the training split per concept."""
    return concepts * math.ceil(train_clips / batch_size)
