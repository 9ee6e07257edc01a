"""Which weights ESD trains: the frozen teacher and the student copy.

The method (``esd-x``: cross-attention only, ``esd-u``: everything but cross-attention, ``full``)
picks the student's trainable parameters; an empty selection is an error, never a no-op. The
base's fingerprint, stored in every run checkpoint, is ``esd.models.fingerprint``'s.
"""

from __future__ import annotations

import copy

from esd.models.bundled.denoiser import LatentDenoiser, select_parameters


def prepare_student(teacher: LatentDenoiser, method: str) -> tuple[LatentDenoiser, list[str]]:
    """A trainable copy of the teacher with only ``method``'s parameters requiring grad.

    The student stays in eval mode (no dropout): ESD fine-tunes deterministic predictions.
    """
    student = copy.deepcopy(teacher).eval()
    names = list(select_parameters(student, method))  # raises for an empty/unknown selection
    chosen = set(names)
    for name, param in student.named_parameters():
        param.requires_grad_(name in chosen)
    return student, names


def freeze(model: LatentDenoiser) -> LatentDenoiser:
    """The teacher: eval mode, no gradients."""
    return model.eval().requires_grad_(False)
