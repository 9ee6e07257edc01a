"""Checkpoint files, run folders and the model registry.

Layout (as the seed project):

    checkpoints/t2m/NAME/                    a base model or an ESD run
        opt.txt                              the run's settings, ``key: value`` per line
        model/net_best_fid.tar               base model: best validation checkpoint
        model/latest.tar                     last state (ESD runs: also net_e_XX.tar per epoch)
        logs/train.log
        evaluation/REPORT.md, metrics.json

A model NAME resolves to ``checkpoints/t2m/NAME`` first, then to the bundled ``assets/NAME``:
a checkpoints-folder model named like a bundled one shadows it (``shadows_bundled``,
``shadow_notes``: the fact; the commands print it, the workbench shows it).

Checkpoint files are ``torch.save`` dicts of tensors and plain values with a ``format`` tag and a
``kind`` ("base", "esd" or "evaluator"); they are written to a temporary file and renamed (atomic)
and always loaded with ``torch.load(..., weights_only=True)``.

Two model families live in these folders (``ModelEntry.family``): the project's own ("bundled")
and SALAD's, whose folders carry no format tag: ``opt.txt`` naming a ``vae_name`` and
``model/net_best_fid.tar`` holding ``{'denoiser': state_dict, 'epoch': int}``. An ESD run belongs
to its base's family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from esd.common.files import atomic_save, atomic_write
from esd.common.prompts import concept_slug

FORMAT_TAG = "esd-motion/1"  # written into every checkpoint; bump when the layout changes
DATASET_NAME = "t2m"  # HumanML3D's dataset name in the seed's folder layout
BASE_MODEL_NAME = "t2m_denoiser_vpred_vaegelu"  # the bundled default base model
EVALUATOR_NAME = "t2m_evaluator"  # the bundled evaluator
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
DEFAULT_CHECKPOINTS_DIR = Path("checkpoints")
BEST_CKPT = "net_best_fid.tar"
LATEST_CKPT = "latest.tar"
KINDS = ("base", "esd", "evaluator")

FAMILY_TEXT_ENCODERS = {"bundled": "all-MiniLM-L6-v2", "salad": "CLIP ViT-B/32"}
SALAD_BANNER = "------------ Options"  # how SALAD's opt.txt files open


class CheckpointError(ValueError):
    """A checkpoint or model folder is missing, unreadable, or of the wrong kind."""


@dataclass(frozen=True)
class RunPaths:
    """The folders and files of one model or run, e.g. ``checkpoints/t2m/NAME``."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def eval_dir(self) -> Path:
        return self.root / "evaluation"

    @property
    def opt_file(self) -> Path:
        return self.root / "opt.txt"

    @property
    def latest(self) -> Path:
        return self.model_dir / LATEST_CKPT

    @property
    def best(self) -> Path:
        return self.model_dir / BEST_CKPT

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.model_dir / f"net_e_{epoch:02d}.tar"

    @property
    def bundled(self) -> bool:
        return ASSETS_DIR in self.root.resolve().parents


def run_paths(checkpoints_dir: str | Path, name: str) -> RunPaths:
    """Paths of ``{checkpoints_dir}/t2m/{name}`` (nothing is created)."""
    return RunPaths(Path(checkpoints_dir) / DATASET_NAME / name)


# --- files ------------------------------------------------------------------------------------


def save_checkpoint(payload: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``payload`` (plus the format tag) to ``path`` atomically: temp file, fsync, rename.

    A reader never sees a half-written file, and an interrupted save leaves the old file intact.
    """
    data = {"format": FORMAT_TAG, **payload}
    return atomic_save(path, lambda handle: torch.save(data, handle))


WEIGHTS_ONLY_MARKER = "WeightsUnpickler error:"  # where torch states why weights_only refused


def load_error_reason(err: BaseException, limit: int = 200) -> str:
    """The useful part of a ``torch.load`` failure, on one line of at most ``limit`` characters.

    For a ``weights_only=True`` refusal torch's first lines advise ``weights_only=False`` (which
    this project never does); the reason is what follows its WeightsUnpickler marker.
    """
    text = str(err).strip()
    if WEIGHTS_ONLY_MARKER in text:
        reason = " ".join(text.split(WEIGHTS_ONLY_MARKER, 1)[1].split())
        for advice in (". Please", " Check the documentation"):  # torch's advice, not the reason
            reason = reason.split(advice)[0]
        return f"weights_only=True refused it ({reason.rstrip('.')[:limit]})"
    return text.splitlines()[0][:limit] if text else type(err).__name__


def load_raw(path: str | Path, map_location: str = "cpu", mmap: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` of any file (this project's or SALAD's).

    ``mmap``: map the tensors instead of reading them (cheap peeks at large files; falls back
    to a plain load for the legacy non-zip format). CheckpointError for a missing or
    unreadable file, never a bare unpickling traceback.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        try:
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
        except RuntimeError as err:
            if not mmap or "mmap" not in str(err):
                raise
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # the unpickler raises many types on corrupt bytes
        raise CheckpointError(
            f"{path} is not a readable checkpoint (corrupt, truncated or not saved by this "
            f"project): {load_error_reason(err)}"
        ) from None


def is_salad_checkpoint(data: Any) -> bool:
    """A SALAD denoiser file: ``{'denoiser': state_dict, 'epoch': ...}`` without a format tag."""
    return (
        isinstance(data, dict) and "format" not in data and isinstance(data.get("denoiser"), dict)
    )


def load_checkpoint(
    path: str | Path, kind: str | tuple[str, ...] | None = None, map_location: str = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; check its format tag and ``kind``.

    Raises CheckpointError with an actionable message for a missing, corrupt, foreign or
    wrong-kind file, never a bare unpickling traceback.
    """
    return check_payload(load_raw(path, map_location), path, kind)


def check_payload(
    data: Any, path: str | Path, kind: str | tuple[str, ...] | None = None
) -> dict[str, Any]:
    """``data`` loaded from ``path`` if it is this project's checkpoint of ``kind``."""
    if is_salad_checkpoint(data):
        raise CheckpointError(
            f"{path} is a SALAD checkpoint: load its model folder with "
            "MotionGenerator.from_checkpoint(name, checkpoints_dir=...)"
        )
    if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
        raise CheckpointError(
            f"{path} is not an ESD-for-Motion checkpoint (expected format {FORMAT_TAG!r}); "
            "train one with `python -m esd.pretrain` or `python -m esd.train`"
        )
    wanted = (kind,) if isinstance(kind, str) else kind
    if wanted is not None and data.get("kind") not in wanted:
        raise CheckpointError(
            f"{path} holds a {data.get('kind')!r} checkpoint, expected {' or '.join(wanted)}"
        )
    return data


def write_opt(path: str | Path, options: Mapping[str, Any]) -> None:
    """Write settings as sorted ``key: value`` lines (the seed's opt.txt), atomically."""
    atomic_write(path, "".join(f"{key}: {options[key]}\n" for key in sorted(options)))


def read_opt(path: str | Path) -> dict[str, str]:
    """Read an opt.txt back as strings (values are not re-typed; lines without ": " skipped)."""
    options: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            options[key.strip()] = value
    return options


# --- names ------------------------------------------------------------------------------------


def esd_run_name(base_name: str, concepts: str | list[str]) -> str:
    """Run folder name of an erasure, as the seed: ``{BASE}_ESD_{CONCEPT_SLUG}``.

    Slugs come from ``esd.common.prompts.concept_slug``: two different concepts never share a
    folder, and a plain ASCII concept keeps its readable slug ("a_person_kicking").
    """
    items = [concepts] if isinstance(concepts, str) else list(concepts)
    return f"{base_name}_ESD_" + "+".join(concept_slug(c) for c in items)


def validate_name(name: str) -> str:
    """A model/run name must be one plain path component."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or name != name.strip():
        raise ValueError(f"invalid model name {name!r}: use a plain folder name like 'my_model'")
    return name


# --- registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelEntry:
    """A model found in the checkpoints folder or the bundled assets."""

    name: str
    paths: RunPaths
    kind: str  # "base" or "esd" (from the folder's checkpoints / opt.txt)
    bundled: bool
    family: str = "bundled"  # "bundled" or "salad" (an ESD run: its base's)
    text_encoder: str = FAMILY_TEXT_ENCODERS["bundled"]  # what the family conditions on
    shadows: bool = False  # a checkpoints-folder model hiding the bundled model of its name


def _folder_kind(paths: RunPaths) -> str | None:
    """ "esd" for a run (latest.tar, _ESD_ in the name; it may also hold a SALAD-format
    net_best_fid.tar of its denoiser), "base" for a model, None for anything else."""
    if not paths.model_dir.is_dir():
        return None
    if paths.latest.is_file() and "_ESD_" in paths.name:
        return "esd"
    if paths.best.is_file() and _salad_opt(paths) and not _names_vae(paths):
        return None  # a SALAD VAE folder: a part of a model, not one
    if paths.best.is_file() or paths.latest.is_file():
        return "base"
    return None


def _salad_opt(paths: RunPaths) -> bool:
    """Whether the folder's opt.txt is in SALAD's format (it opens with SALAD's banner)."""
    if not paths.opt_file.is_file():
        return False
    with paths.opt_file.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().startswith(SALAD_BANNER)


def _names_vae(paths: RunPaths) -> bool:
    """Whether the folder's opt.txt names a ``vae_name`` (SALAD's denoiser options)."""
    return paths.opt_file.is_file() and bool(read_opt(paths.opt_file).get("vae_name", "").strip())


def folder_family(paths: RunPaths, checkpoints_dir: str | Path | None = None) -> str:
    """ "salad" for a SALAD model folder (opt.txt with ``vae_name`` + a SALAD-format
    net_best_fid.tar) or an ESD run over one; "bundled" otherwise. Peeks files (mmap)."""
    if _folder_kind(paths) == "esd":
        if _names_vae(paths):
            return "salad"
        try:
            base = (load_raw(paths.latest, mmap=True).get("base") or {}).get("name")
        except (CheckpointError, AttributeError):
            return "bundled"
        root = Path(checkpoints_dir) if checkpoints_dir else paths.root.parent.parent
        base_paths = run_paths(root, base) if isinstance(base, str) and base else None
        if base_paths is None or _folder_kind(base_paths) != "base":
            return "bundled"
        return folder_family(base_paths)
    if not (paths.best.is_file() and _names_vae(paths)):
        return "bundled"
    try:
        return "salad" if is_salad_checkpoint(load_raw(paths.best, mmap=True)) else "bundled"
    except CheckpointError:
        return "bundled"


def _entry(name: str, paths: RunPaths, kind: str, bundled: bool) -> ModelEntry:
    family = "bundled" if bundled else folder_family(paths)
    shadows = not bundled and _folder_kind(RunPaths(ASSETS_DIR / name)) is not None
    return ModelEntry(name, paths, kind, bundled, family, FAMILY_TEXT_ENCODERS[family], shadows)


def list_models(checkpoints_dir: str | Path = DEFAULT_CHECKPOINTS_DIR) -> list[ModelEntry]:
    """All usable models: ``checkpoints/t2m/*`` first, then bundled ``assets/*`` not shadowed."""
    entries: dict[str, ModelEntry] = {}
    roots = [(Path(checkpoints_dir) / DATASET_NAME, False), (ASSETS_DIR, True)]
    for root, bundled in roots:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            paths = RunPaths(folder)
            kind = _folder_kind(paths)
            if kind is not None and folder.name not in entries:
                entries[folder.name] = _entry(folder.name, paths, kind, bundled)
    return list(entries.values())


def resolve_model(name: str, checkpoints_dir: str | Path = DEFAULT_CHECKPOINTS_DIR) -> RunPaths:
    """Folder of model ``name``: ``checkpoints/t2m/NAME`` if present, else ``assets/NAME``."""
    validate_name(name)
    for paths in (run_paths(checkpoints_dir, name), RunPaths(ASSETS_DIR / name)):
        if _folder_kind(paths) is not None:
            return paths
    available = ", ".join(e.name for e in list_models(checkpoints_dir)) or "none"
    raise CheckpointError(
        f"unknown model {name!r}: no {Path(checkpoints_dir) / DATASET_NAME / name}/model/ and no "
        f"bundled assets/{name}; available models: {available}"
    )


def shadows_bundled(name: str, checkpoints_dir: str | Path = DEFAULT_CHECKPOINTS_DIR) -> bool:
    """Whether model ``name`` of ``checkpoints_dir`` hides the bundled ``assets/NAME`` (both
    folders hold a model; ``resolve_model`` picks the checkpoints folder's)."""
    own = run_paths(checkpoints_dir, name)
    bundled = RunPaths(ASSETS_DIR / name)
    return _folder_kind(own) is not None and _folder_kind(bundled) is not None


def shadow_notes(
    names: str | Sequence[str | None], checkpoints_dir: str | Path = DEFAULT_CHECKPOINTS_DIR
) -> list[str]:
    """One line per model that loading ``names`` uses and that shadows a bundled model: each
    name (None skipped) and, for an ESD run, its base (read from its latest.tar; unreadable:
    not named). The commands print these lines; nothing is printed here."""
    found: list[str] = []
    for name in [names] if isinstance(names, str) else names:
        if not name or not _plain_name(name) or name in found:
            continue
        found.append(name)
        paths = run_paths(checkpoints_dir, name)
        if _folder_kind(paths) == "esd":
            try:
                base = (load_raw(paths.latest, mmap=True).get("base") or {}).get("name")
            except (CheckpointError, AttributeError):
                base = None
            if isinstance(base, str) and base not in found and _plain_name(base):
                found.append(base)
    return [
        f"{run_paths(checkpoints_dir, n).root} shadows the bundled model of the same name "
        f"({ASSETS_DIR / n} is not used)"
        for n in found
        if shadows_bundled(n, checkpoints_dir)
    ]


def _plain_name(name: str) -> bool:
    try:
        return bool(validate_name(name))
    except ValueError:
        return False


def default_checkpoint(paths: RunPaths) -> Path:
    """The file ``--ckpt`` defaults to: latest.tar for an ESD run, else net_best_fid.tar when
    present (a base model), else latest.tar."""
    if _folder_kind(paths) == "esd":
        return paths.latest
    return paths.best if paths.best.is_file() else paths.latest


def resolve_checkpoint(paths: RunPaths, ckpt: str | Path | None) -> Path:
    """Turn a ``--ckpt`` value (None, a file name inside model/, or a path) into a file path."""
    if ckpt is None:
        return default_checkpoint(paths)
    candidate = Path(ckpt)
    if candidate.is_file():
        return candidate
    inside = paths.model_dir / candidate.name
    if candidate.name == str(ckpt) and inside.is_file():
        return inside
    present = sorted(p.name for p in paths.model_dir.glob("*.tar"))
    raise CheckpointError(
        f"checkpoint {ckpt!r} not found (looked for {candidate} and {inside}); "
        f"files in {paths.model_dir}: {', '.join(present) or 'none'}"
    )
