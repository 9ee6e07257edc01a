"""Which base an ESD run belongs to: the base denoiser's fingerprint, and the check against it.

An ESD checkpoint stores only the weights it trained, as an overlay on its base; its
``base`` reference ({"name", "ckpt", "fingerprint"}) names the base and fingerprints the
denoiser it was trained from. Wherever a run meets a base (overlay, resume, export, the model
list) ``check_base`` compares that fingerprint with the base found now, so a run is never put
silently on another base (e.g. one written later under the same name in ``checkpoints/t2m``,
which shadows the bundled model).

    fingerprint = the first FINGERPRINT_CHARS hex digits of
                  SHA-256( for each (name, tensor) of the denoiser's state dict, sorted by name:
                           name (UTF-8) || tensor as float32 bytes, C order )

The same number comes from a built denoiser (``fingerprint``) and from its checkpoint file
(``file_fingerprint``: this project's ``payload["denoiser"]`` or SALAD's ``denoiser`` dict,
its ``clip_model.*`` keys dropped as SALAD's loader drops them), because loading writes those
tensors, as float32, under the same names.

Old checkpoints whose reference has no fingerprint are accepted unchecked (nothing to compare).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from esd.models import checkpoints as ck
from esd.models.salad.folder import CLIP_PREFIX

FINGERPRINT_CHARS = 16  # hex digits of the SHA-256 kept as a base model's fingerprint
FILE_CACHE = 16  # file fingerprints remembered (per file version) by ``file_fingerprint``

_FILE_PRINTS: dict[tuple[str, int, int], str] = {}
_FILE_LOCK = threading.Lock()


class BaseMismatchError(ck.CheckpointError):
    """An ESD run is about to be put on a base other than the one it was trained from."""


def state_fingerprint(state: Mapping[str, torch.Tensor]) -> str:
    """Short SHA-256 of a state dict (see the module docstring for the byte layout)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def fingerprint(model: torch.nn.Module) -> str:
    """Short SHA-256 of a model's parameters and buffers (identifies the base an ESD run
    started from); ``MotionGenerator.fingerprint`` caches it per loaded base."""
    return state_fingerprint(model.state_dict())


def denoiser_state(data: Any, path: str | Path) -> dict[str, torch.Tensor]:
    """The denoiser state dict of a base checkpoint (this project's or SALAD's), as loaded."""
    if ck.is_salad_checkpoint(data):
        return {k: v for k, v in data["denoiser"].items() if not k.startswith(CLIP_PREFIX)}
    payload = ck.check_payload(data, path, kind="base")
    return payload["denoiser"]


def file_fingerprint(path: str | Path) -> str:
    """``fingerprint`` of the denoiser a base checkpoint file builds, without building it
    (memory-mapped read; remembered per file version: path, mtime, size)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _FILE_LOCK:
        if key in _FILE_PRINTS:
            return _FILE_PRINTS[key]
    value = state_fingerprint(denoiser_state(ck.load_raw(path, mmap=True), path))
    with _FILE_LOCK:
        _FILE_PRINTS[key] = value
        while len(_FILE_PRINTS) > FILE_CACHE:
            _FILE_PRINTS.pop(next(iter(_FILE_PRINTS)))
    return value


def stored_fingerprint(base_ref: Mapping[str, Any] | None) -> str | None:
    """The fingerprint an ESD checkpoint's base reference holds (None: an old checkpoint)."""
    value = (base_ref or {}).get("fingerprint")
    return value if isinstance(value, str) and value else None


def base_mismatch(
    run: str,
    base_ref: Mapping[str, Any] | None,
    found: str | Callable[[], str],
    where: str | Path,
) -> str | None:
    """One line saying that run ``run`` was trained on another base than the one ``found``
    (its fingerprint, or a function computing it) at ``where``; None when they agree or the
    reference stores no fingerprint (an old checkpoint: accepted unchecked, ``found`` is then
    not computed)."""
    stored = stored_fingerprint(base_ref)
    if stored is None:
        return None
    now = found() if callable(found) else found
    if now == stored:
        return None
    name = (base_ref or {}).get("name", "?")
    return (
        f"run {run!r} was trained on base {name!r} with fingerprint {stored}, but the base found "
        f"at {where} has fingerprint {now}; retrain it or restore that base"
    )


def check_base(
    run: str,
    base_ref: Mapping[str, Any] | None,
    found: str | Callable[[], str],
    where: str | Path,
) -> None:
    """Raise BaseMismatchError (one line, ``base_mismatch``) when run ``run`` does not belong
    to the base found at ``where``; old checkpoints without a fingerprint pass unchecked."""
    problem = base_mismatch(run, base_ref, found, where)
    if problem is not None:
        raise BaseMismatchError(problem)
