"""Downloads of the workbench: a run's checkpoint and the motions of a comparison.

Checkpoint exports (``torch.save`` dicts, loadable with ``torch.load(..., weights_only=True)``),
written under ``{output_dir}/exports/``:

* standalone (default): a complete base-model payload (``kind: "base"``: VAE, statistics,
  schedule and the denoiser WITH the erasure applied) plus ``erased`` metadata (the run's
  ``esd`` settings, steps, run and base names).
  ``MotionGenerator.from_payload(ck.load_checkpoint(path), device)`` rebuilds the unlearned model
  without its base; saved as ``checkpoints/t2m/NAME/model/net_best_fid.tar`` it is model NAME for
  every command. The payload names its family: a SALAD model's (``family: "salad"``, its
  ``salad_options``) reloads with ``from_payload(payload, device, clip_path=<its CLIP folder>)``
  (CLIP is not in the file).
* overlay: the run's latest.tar without the optimizer state: the trained tensors plus the name of
  the base model, which must be present to reload it (as ``checkpoints/t2m/RUN/model/latest.tar``).

Motions of a comparison export as BVH, an animated GLB (a skeleton whose joints move at 20 fps:
plays in Blender and glTF viewers), GLB meshes (one pose or a trail) or NPY (joints and 263-d
features), only under ``{output_dir}/motions/`` with names made safe by ``safe_filename``.
The file formats are the injected ``MotionWriters``' (``viz.export``): esd/ never imports viz/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from esd.common.files import safe_filename
from esd.models import checkpoints as ck
from esd.motion.skeleton import FPS
from esd.workbench.catalogue import ModelCatalogue
from esd.workbench.comparison import Comparison, pick_clip
from esd.workbench.user_input import WorkbenchError, as_choice, optional_number

EXPORTS = "exports"  # sub-folder of the output folder for downloads
MOTIONS = "motions"  # sub-folder of the output folder for exported motions
MOTION_FORMATS = {  # motion export formats of ``export_motion``: key -> label
    "bvh": "BVH animation (rotations fitted to the joints)",
    "glb-animation": "GLB animation (skeleton, plays in Blender / glTF viewers)",
    "glb-pose": "GLB mesh of one pose",
    "glb-trail": "GLB mesh: trail of one pose per second",
    "npy": "NPY: joints (T, 22, 3) and 263-d features",
}


class MotionWriters(Protocol):
    """The file writers of motion exports; ``viz.export`` (the module) is one. The service
    chooses names and folders, the writers the formats, so esd/ never imports viz/."""

    def write_bvh(self, path: Path, joints: np.ndarray) -> Path: ...

    def write_mesh(self, path: Path, joints: np.ndarray, frame: int | None = None) -> Path: ...

    def write_npy(self, path: Path, joints: np.ndarray, features: np.ndarray) -> list[Path]: ...

    def write_animated_glb(self, path: Path, joints: np.ndarray) -> Path: ...


def _newer_than(path: Path, source: Path) -> bool:
    """True when ``path`` exists and was written after ``source`` last changed."""
    try:
        return path.stat().st_mtime_ns > source.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def _inside(folder: Path, stem: str) -> Path:
    """``folder / stem``; WorkbenchError if it would leave ``folder`` (a safe name never does)."""
    path = folder / stem
    if path.resolve().parent != folder.resolve():
        raise WorkbenchError(f"refusing to write outside {folder}")
    return path


def export_checkpoint(
    models: ModelCatalogue,
    output_dir: Path,
    name: str,
    standalone: bool = True,
    training: str | None = None,
) -> Path:
    """Write the run ``name`` as ``{output_dir}/exports/NAME_{standalone|overlay}.tar``.

    See the module docstring for the two formats. ``training``: the run being trained now
    (refused: its checkpoint still changes). An export written after the run's ``latest.tar``
    last changed is returned as it is (showing a run prepares its download; this keeps that
    from rewriting ~34 MB every time).
    """
    entry = models.entry(name)
    if entry.kind != "esd":
        raise WorkbenchError(f"{name} is a base model; pick an unlearned run to export")
    if name == training:
        raise WorkbenchError(f"{name} is still training; wait for it to finish or stop it")
    models.usable_info(name)  # a broken or failed run: one line
    kind = "standalone" if standalone else "overlay"
    folder = output_dir / EXPORTS
    path = _inside(folder, f"{safe_filename(name, 120, 'model', keep_case=True)}_{kind}.tar")
    if _newer_than(path, entry.paths.latest):  # written since the run last changed: reuse
        return path
    payload = ck.load_checkpoint(entry.paths.latest, kind="esd")
    for key in ("optimizer", "format"):  # resuming state; the tag is rewritten on save
        payload.pop(key, None)
    if standalone:
        generator, base_ref = models.run_generator(name)
        steps = {k: payload.get(k) for k in ("total_iter", "epoch", "created")}  # the run's
        base_payload = generator.to_payload()
        base_payload.pop("metrics", None)  # the base's pretraining metrics, not this model's
        payload = {
            **base_payload,
            **steps,
            "erased": {"esd": payload.get("esd"), **steps, "run": name, "base": base_ref},
        }
    folder.mkdir(parents=True, exist_ok=True)
    return ck.save_checkpoint(payload, path)


def export_motion(
    writers: MotionWriters | None,
    output_dir: Path,
    comparison: Comparison | None,
    key: str | None,
    fmt: str,
    pose_seconds: float | str | None = None,
) -> list[Path]:
    """Write one motion of a comparison under ``{output_dir}/motions/``; the files written.

    ``key``: from ``motion_choices``; ``fmt``: a ``MOTION_FORMATS`` key. "glb-animation" is
    the whole clip at 20 fps (``STEM_animation.glb``); "glb-pose" takes the pose at
    ``pose_seconds`` (None or empty text: the middle frame); "npy" writes two files,
    ``STEM_joints.npy`` (T, 22, 3) and ``STEM_features.npy`` (T, 263). File names come
    from the prompt, the label and the seed through ``safe_filename``. ``writers`` None:
    motion export is off (refused).
    """
    fmt = as_choice("motion format", fmt, tuple(MOTION_FORMATS))
    clip = pick_clip(comparison, key)
    if writers is None:
        raise WorkbenchError("motion export is off: this workbench was built without writers")
    assert comparison is not None  # pick_clip raised otherwise
    stem = safe_filename(f"{clip.prompt} {clip.label} seed {comparison.seed}", max_len=80)
    path = _inside(output_dir / MOTIONS, stem)
    if fmt == "bvh":
        return [writers.write_bvh(path.with_suffix(".bvh"), clip.joints)]
    if fmt == "npy":
        return writers.write_npy(path, clip.joints, clip.features)
    if fmt == "glb-animation":
        return [writers.write_animated_glb(path.with_name(f"{stem}_animation.glb"), clip.joints)]
    if fmt == "glb-trail":
        return [writers.write_mesh(path.with_name(f"{stem}_trail.glb"), clip.joints)]
    last = (clip.frames - 1) / FPS
    hint = "seconds within the clip, or empty: the middle"
    when = optional_number("pose time", pose_seconds, 0.0, last, hint)
    frame = round((last / 2 if when is None else when) * FPS)
    return [writers.write_mesh(path.with_name(f"{stem}_pose_{frame:03d}.glb"), clip.joints, frame)]
