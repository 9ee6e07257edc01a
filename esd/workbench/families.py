"""What the workbench needs to know about a model's family (the bundled one, SALAD's).

A SALAD model folder carries no format tag: its ``net_best_fid.tar`` is ``{'denoiser', 'epoch'}``
and its settings are SALAD's ``opt.txt`` (``salad_description`` reads both, the checkpoint
memory-mapped). Its other parts live elsewhere (the VAE its ``vae_name`` names, the evaluator's
``meta`` statistics, the CLIP folder): ``salad_problem`` says in one line which one is missing,
so the model list explains why it cannot be used instead of a load failing later.
``check_text_width`` refuses a CLIP whose token width is not the denoiser's before the first
denoiser call would fail. Comparisons and evaluations sample with the family's own settings
(``family_sampler``: bundled CFG 2.5 / 50 steps, SALAD 7.5 / 50) unless the user gives steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from esd.models import checkpoints as ck
from esd.models.family import SamplerPreset
from esd.models.generator import FAMILIES, MotionGenerator
from esd.models.salad.folder import MODEL_FILE, meta_stats
from esd.models.salad.options import read_salad_opt, vae_dir
from esd.models.text.clip import CLIP_NAME, resolve_clip_dir, width_mismatch

FAMILY_LABELS = {"bundled": "bundled", "salad": "SALAD"}  # how the model list names a family


def family_sampler(family: str) -> SamplerPreset:
    """The default guidance and DDIM steps of ``family`` ("bundled" or "salad")."""
    if family not in FAMILIES:
        raise ck.CheckpointError(f"unknown model family {family!r}")
    return FAMILIES[family].sampler


def family_text(family: str, text_encoder: str) -> str:
    """A model's family and text encoder as the model list shows them: "SALAD · CLIP ViT-B/32"
    ('' when unknown, e.g. a run without a checkpoint)."""
    if not family:
        return ""
    return f"{FAMILY_LABELS.get(family, family)} · {text_encoder}" if text_encoder else family


def sampler_hint() -> str:
    """Each family's defaults, for help texts: "bundled 50 steps, CFG 2.5; SALAD 50, 7.5"."""
    return "; ".join(
        f"{FAMILY_LABELS.get(name, name)} {f.sampler.steps} steps, CFG {f.sampler.guidance:g}"
        for name, f in FAMILIES.items()
    )


def salad_description(entry: ck.ModelEntry, file: Path) -> dict[str, Any]:
    """The metadata of a SALAD base model: ``{"kind": "base", "family": "salad", "epoch",
    "salad_options"}`` from its denoiser file (memory-mapped) and its opt.txt (typed).
    CheckpointError (one line) for a file that is not SALAD's or options it cannot run."""
    data = ck.load_raw(file, mmap=True)
    if not ck.is_salad_checkpoint(data):
        raise ck.CheckpointError(
            f"{file} is not a SALAD denoiser checkpoint (no 'denoiser' dict), though "
            f"{entry.paths.opt_file} names a vae_name"
        )
    epoch = data.get("epoch")
    options = read_salad_opt(entry.paths.opt_file)
    return {
        "kind": "base",
        "family": "salad",
        "epoch": epoch if isinstance(epoch, int) else None,
        "salad_options": options,
    }


def salad_problem(entry: ck.ModelEntry, options: dict[str, Any], clip_dir: Path) -> None:
    """CheckpointError naming the first part of a SALAD model that is missing: its VAE folder,
    the evaluator's ``meta`` statistics, or the CLIP text encoder (``clip_dir``)."""
    checkpoints_dir = entry.paths.root.parent.parent
    vae_file = vae_dir(options, checkpoints_dir) / "model" / MODEL_FILE
    if not vae_file.is_file():
        raise ck.CheckpointError(
            f"its VAE {options.get('vae_name')!r} is missing ({vae_file}): copy SALAD's VAE "
            "folder beside the denoiser's"
        )
    meta_stats(checkpoints_dir, options)  # CheckpointError naming the meta folder
    try:
        resolve_clip_dir(clip_dir)
    except FileNotFoundError as err:
        raise ck.CheckpointError(f"it needs {CLIP_NAME}: {err}") from None


def check_text_width(generator: MotionGenerator, name: str) -> None:
    """CheckpointError when the generator's CLIP gives token states of another width than its
    denoiser reads (the fixtures' tiny 8-d CLIP for a ViT-B/32 model, ViT-L's 768, ...)."""
    width = getattr(generator.denoiser.cfg, "text_dim", None)
    problem = width_mismatch(generator.text_encoder, width, name)
    if problem:
        raise ck.CheckpointError(
            f"{problem}: start the workbench with --clip_path <the CLIP folder the model was "
            "trained with>"
        )
