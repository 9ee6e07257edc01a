"""Which weights ESD trains: the frozen teacher, the student copy and the base's fingerprint.

The method (``esd-x``: cross-attention only, ``esd-u``: everything but cross-attention, ``full``)
picks the student's trainable parameters; an empty selection is an error, never a no-op.
"""

from __future__ import annotations

import copy
import hashlib

import torch

from esd.models.bundled.denoiser import LatentDenoiser, select_parameters

FINGERPRINT_CHARS = 16  # hex digits of the SHA-256 kept as a base model's fingerprint


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


def fingerprint(model: torch.nn.Module) -> str:
    """Short SHA-256 of a model's parameters (identifies the base an ESD run started from)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:FINGERPRINT_CHARS]
