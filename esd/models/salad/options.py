"""SALAD's ``opt.txt``: a tolerant reader with SALAD's value rules, a writer in its format.

    ------------ Options -------------
    key: value                       (sorted; every attribute of the run, paths included)
    -------------- End ----------------

Values are typed like SALAD's ``get_opt``: ``True``/``False`` -> bool, plain decimals
(``\\d+\\.\\d+``) -> float, digit strings -> int, ``[...]`` -> list (parsed with
``ast.literal_eval``, never ``eval``), anything else stays a string (so ``1e-06`` is a string).
Lines without ``": "`` (banners, a stray ``window_size = 64``) are skipped instead of crashing.
After reading, the dataset's constants override the file (``dataset_constants``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from esd.common.files import atomic_write
from esd.models.checkpoints import CheckpointError

BANNER = "------------ Options -------------"
END = "-------------- End ----------------"
DECIMAL = re.compile(r"\d+\.\d+")
DATASET_CONSTANTS = {  # what SALAD's get_opt sets from dataset_name
    "t2m": {
        "joints_num": 22,  # HumanML3D skeleton
        "pose_dim": 263,  # features per frame
        "contact_joints": [7, 10, 8, 11],  # L ankle, L foot, R ankle, R foot
        "max_motion_length": 196,  # frames (9.8 s at 20 fps)
        "unit_length": 4,  # frames per latent token; lengths are multiples of it
    },
}


class SaladOptionsError(CheckpointError):
    """A SALAD option file is missing, or describes something this project cannot run."""


def parse_value(text: str) -> bool | int | float | list | str:
    """One value by SALAD's rules (see the module doc)."""
    text = text.strip()
    if text in ("True", "False"):
        return text == "True"
    if DECIMAL.fullmatch(text):
        return float(text)
    if text.isdigit():
        return int(text)
    if text.startswith("[") and text.endswith("]"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return value if isinstance(value, list) else text
    return text


def read_salad_opt(path: str | Path) -> dict[str, Any]:
    """The options of an ``opt.txt`` (typed; odd lines skipped), dataset constants applied."""
    path = Path(path)
    if not path.is_file():
        raise SaladOptionsError(f"no opt.txt at {path}: a SALAD model folder holds one")
    options: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.strip():
            options[key.strip()] = parse_value(value)
    return dataset_constants(options)


def dataset_constants(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the constants of its ``dataset_name`` (t2m only) written over it."""
    name = options.get("dataset_name", "t2m")
    if name not in DATASET_CONSTANTS:
        raise SaladOptionsError(
            f"dataset_name {name!r} is not supported: this project runs HumanML3D ('t2m') models"
        )
    return {**options, **DATASET_CONSTANTS[name]}


def format_opt(options: Mapping[str, Any]) -> str:
    """The text of an ``opt.txt`` in SALAD's format (banner, sorted ``key: value``, end)."""
    lines = [f"{key}: {options[key]}" for key in sorted(options)]
    return "\n".join([BANNER, *lines, END]) + "\n"


def write_salad_opt(path: str | Path, options: Mapping[str, Any]) -> None:
    """Write ``options`` as SALAD's ``opt.txt`` (atomically)."""
    atomic_write(path, format_opt(options))


def vae_dir(options: Mapping[str, Any], checkpoints_dir: str | Path) -> Path:
    """The VAE folder a denoiser's options name: ``{checkpoints_dir}/{dataset}/{vae_name}``."""
    name = options.get("vae_name")
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise SaladOptionsError(f"the denoiser's opt.txt names no usable vae_name ({name!r})")
    return Path(checkpoints_dir) / str(options.get("dataset_name", "t2m")) / name
