"""An erasure on disk: its run folder, its ``opt.txt`` and the base model it starts from.

The layout is the seed's: ``{checkpoints_dir}/t2m/{BASE}_ESD_{CONCEPT_SLUG}/`` with ``model/``
(``net_e_XX.tar``, ``latest.tar``, written by ``esd.erasure.loop.run_esd``), ``logs/`` and
``opt.txt`` (``write_run_options``: the run's settings, ``key: value`` per line).

A run over a SALAD base (``base.info["salad_options"]``) is at the same time a SALAD model
folder, so that SALAD's own loaders (``get_opt`` on ``opt.txt``, then ``model/net_best_fid.tar``)
read the unlearned model:

    {checkpoints_dir}/t2m/{BASE}_ESD_{SLUG}/
        model/latest.tar, net_e_XX.tar   this project's ESD checkpoints (the trained tensors, an
                                         overlay on the base): what ``list_models`` and
                                         ``MotionGenerator.from_checkpoint`` read, as for any run
        model/net_best_fid.tar           SALAD's ``{'denoiser': whole state dict, 'epoch'}``,
                                         rewritten with every latest.tar (``write_salad_run``)
        opt.txt                          SALAD's format (banner, sorted ``key: value``, end)
        logs/train.log

One ``opt.txt`` serves both readers: the base's SALAD options renamed to the run (``name``,
``save_root``, ...; ``vae_name`` and the architecture unchanged), then the run's own settings
(the CLI's flags or the workbench's request, provenance). SALAD's keys keep SALAD's meaning
(``seed: 1234`` stays its evaluation seed, ``batch_size`` the base's); a run setting whose key
SALAD's options already use (``name``, ``dataset_name``, ``batch_size``, ``seed``,
``checkpoints_dir``, ``data_root``, ``device``...) is written as ``esd_<key>``
(``esd_name: t2m_denoiser_vpred_vaegelu`` is the base). Values are written so that SALAD's
strictest reader, which splits every line once on ``": "``, reads each in one piece: ``": "``
inside a value becomes ``":\\x20"`` (a Python escape: a list of prompts still reads back with
``ast.literal_eval``), an empty value ``''``. This project reads a run's settings from its
checkpoints, never from ``opt.txt``; the registry tells a run by ``latest.tar`` and the
family of a SALAD one by ``opt.txt``'s ``vae_name``.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from esd.erasure.config import ESDConfig
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator
from esd.models.salad.folder import ARCHITECTURE_KEYS, renamed_options, write_salad_model
from esd.models.salad.options import write_salad_opt
from esd.models.text.clip import width_mismatch

SETTING_PREFIX = "esd_"  # a run setting whose key SALAD's options already use: esd_<key>
COLON = ": "  # SALAD's key / value separator, never inside a SALAD-format value
ESCAPED_COLON = ":\\x20"  # what a value's ": " becomes (a Python escape of the space)
EMPTY_VALUE = "''"  # an empty value ("key: " would be "key:" to SALAD's reader, a crash)


def prepare_run_folder(
    checkpoints_dir: Path, base_name: str, cfg: ESDConfig, *, overwrite: bool, resume: bool
) -> ck.RunPaths:
    """The run folder of ``cfg``'s concepts erased from ``base_name``, with ``model/`` created.

    An existing folder is refused unless ``overwrite`` (replaced) or ``resume`` (kept; it must
    hold ``latest.tar``). Raises ValueError with the flag to pass.
    """
    run = ck.run_paths(checkpoints_dir, ck.esd_run_name(base_name, list(cfg.concepts)))
    if run.root.exists() and not (overwrite or resume):
        raise ValueError(
            f"{run.root} already exists: pass --resume to continue it or --overwrite to replace it"
        )
    if resume and not run.latest.is_file():
        raise ValueError(f"nothing to resume: {run.latest} does not exist")
    if overwrite and not resume and run.root.exists():
        shutil.rmtree(run.root)
    run.model_dir.mkdir(parents=True, exist_ok=True)
    return run


def load_base(
    name: str,
    checkpoints_dir: Path,
    device: torch.device,
    clip_path: str | Path | None = None,
) -> tuple[MotionGenerator, dict[str, Any]]:
    """The base model ``name`` and its reference ``{"name", "ckpt"}`` for the run's checkpoints.

    ``clip_path``: a SALAD base's CLIP folder or hub-cache entry (default
    ``{checkpoints_dir}/clip-vit-base-patch32``); a CLIP whose token states have another width
    than the denoiser reads is refused in one line (CheckpointError).
    """
    paths = ck.resolve_model(name, checkpoints_dir)
    base = MotionGenerator.from_checkpoint(
        name, checkpoints_dir=checkpoints_dir, device=device, clip_path=clip_path
    )
    check_text_width(base, name)
    return base, {"name": name, "ckpt": ck.default_checkpoint(paths).name}


def check_text_width(base: MotionGenerator, name: str) -> None:
    """CheckpointError when the base's CLIP gives token states of another width than its
    denoiser reads (a tiny test CLIP for a ViT-B/32 model, ViT-L's 768...)."""
    problem = width_mismatch(base.text_encoder, getattr(base.denoiser.cfg, "text_dim", None), name)
    if problem:
        raise ck.CheckpointError(
            f"{problem}: give the CLIP folder the model was trained with (--clip_path)"
        )


# --- opt.txt and SALAD's format ------------------------------------------------------------------


def salad_options_of(base: MotionGenerator) -> Mapping[str, Any] | None:
    """A SALAD base's options (its typed opt.txt), None for any other base."""
    options = base.info.get("salad_options")
    return options if isinstance(options, Mapping) else None


def write_run_options(run: ck.RunPaths, options: Mapping[str, Any], base: MotionGenerator) -> None:
    """Write the run's ``opt.txt``: ``options`` as ``key: value`` lines, or over a SALAD base
    SALAD's options renamed to the run plus ``options`` (see the module docstring)."""
    salad = salad_options_of(base)
    if salad is None:
        ck.write_opt(run.opt_file, options)
        return
    extras = salad_settings(options, salad)
    write_salad_opt(run.opt_file, {**renamed_options(salad, run.name), **extras})


def write_salad_run(
    run: ck.RunPaths, denoiser: nn.Module, salad: Mapping[str, Any], epoch: int
) -> Path:
    """Write ``denoiser`` as the run's SALAD model (``model/net_best_fid.tar`` and a SALAD
    ``opt.txt`` keeping the run's settings already in ``opt.txt``); returns the .tar path."""
    extras = salad_settings(run_settings(run, salad), salad)
    return write_salad_model(run.root, denoiser, salad, epoch, extra_options=extras)


def run_settings(run: ck.RunPaths, salad: Mapping[str, Any]) -> dict[str, str]:
    """The run's own settings in its ``opt.txt`` (as text): every line of this project's
    format; of SALAD's format, the keys the base's options do not define."""
    if not run.opt_file.is_file():
        return {}
    options = ck.read_opt(run.opt_file)
    with run.opt_file.open(encoding="utf-8", errors="replace") as handle:
        if not handle.readline().startswith(ck.SALAD_BANNER):
            return options
    base_keys = set(renamed_options(salad, run.name))
    return {key: value for key, value in options.items() if key not in base_keys}


def salad_settings(settings: Mapping[str, Any], salad: Mapping[str, Any]) -> dict[str, str]:
    """``settings`` as SALAD-format extras: a key SALAD's options (or its architecture keys)
    use becomes ``esd_<key>``; values made safe (``salad_value``)."""
    taken = set(salad) | ARCHITECTURE_KEYS | {"name"}
    return {
        (SETTING_PREFIX + key if key in taken else key): salad_value(value)
        for key, value in settings.items()
    }


def salad_value(value: Any) -> str:
    """``value`` as text that SALAD's reader takes in one piece: no ``": "`` inside (written
    ``":\\x20"``), never empty (``''``), a ``[...]`` text only when it is a list literal."""
    text = str(value).strip().replace(COLON, ESCAPED_COLON)
    if not text:
        return EMPTY_VALUE
    if text.startswith("[") and text.endswith("]"):
        try:
            ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return repr(text)  # SALAD would eval it and fail
    return text
