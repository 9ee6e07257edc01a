"""A folder of BVH files (+ labels CSV or caption files) -> a HumanML3D-layout folder.

``import_folder`` converts every ``*.bvh`` under ``bvh_dir`` (sorted, recursively) with
``convert_bvh`` and writes it with ``FolderWriter``. A file that cannot be used (malformed,
unknown rig, no caption) is skipped with its reason, reported through ``on_skip`` and listed in
import.json; when no file at all can be used, the first reason becomes the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from esd.common.files import safe_filename
from esd.motion.bvh.convert import convert_bvh
from esd.motion.bvh.folder import FolderError, FolderWriter
from esd.motion.bvh.labels import ClipLabel, read_caption_file, read_labels_csv
from esd.motion.bvh.parser import read_bvh

MAX_ID_CHARS = 120  # clip ids are the file stems, made safe and cut to this length
MIN_FRAMES_OUT = 2  # frames at 20 fps a clip needs for one feature row

ProgressFn = Callable[[int, int], None]  # (files done, total)
SkipFn = Callable[[str, str], None]  # (file, reason)


@dataclass(frozen=True)
class ImportSettings:
    """How to import (the CLI's flags)."""

    labels_csv: Path | None = None  # labels CSV; None: NAME.txt caption files beside the BVH
    unit: str | None = None  # file unit (esd.motion.bvh.rest.UNITS); None: detect per file
    seed: int = 0  # seeds the hash-based split
    overwrite: bool = False  # replace an existing output folder


def find_bvh_files(bvh_dir: str | Path) -> list[Path]:
    """Every ``*.bvh`` (any case) under ``bvh_dir``, sorted; FolderError if there is none."""
    root = Path(bvh_dir)
    if not root.is_dir():
        raise FolderError(f"{root} is not a folder; pass the folder that holds the .bvh files")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())
    if not files:
        raise FolderError(f"no .bvh file under {root}")
    return files


def label_for(path: Path, labels: dict[str, ClipLabel] | None) -> ClipLabel:
    """The CSV row of the file (by stem), else its NAME.txt captions; LabelsError if neither."""
    if labels is not None and path.stem in labels:
        return labels[path.stem]
    captions = path.with_suffix(".txt")
    if captions.is_file():
        return read_caption_file(captions)
    where = "a row in the labels CSV or " if labels is not None else ""
    raise FolderError(f"no caption for {path.name}: add {where}{captions.name} beside it")


def import_folder(
    bvh_dir: str | Path,
    out: str | Path,
    caption_line: Callable[[str], str],
    settings: ImportSettings = ImportSettings(),
    progress: ProgressFn | None = None,
    on_skip: SkipFn | None = None,
) -> tuple[Path, dict[str, int]]:
    """Import every BVH file; returns the folder and {"imported": n, "skipped": m}."""
    files = find_bvh_files(bvh_dir)
    labels = read_labels_csv(settings.labels_csv) if settings.labels_csv else None
    writer = FolderWriter(out, caption_line, settings.overwrite, settings.seed)
    try:
        for done, path in enumerate(files, start=1):
            try:
                label = label_for(path, labels)
                clip = convert_bvh(read_bvh(path), settings.unit)
                if clip.joints.shape[0] < MIN_FRAMES_OUT:
                    raise FolderError(f"{path.name} is shorter than one frame at 20 fps")
                clip_id = safe_filename(path.stem, MAX_ID_CHARS, keep_case=True)
                writer.add(clip_id, clip.joints, label, {"file": path.name, **clip.info()})
            except ValueError as err:  # every user-facing error of the importer
                writer.skip(path.name, str(err))
                if on_skip is not None:
                    on_skip(path.name, str(err))
            if progress is not None:
                progress(done, len(files))
        if not writer.clips:
            first = next(iter(writer.skipped.values()))
            raise FolderError(f"no file could be imported; the first: {first}")
        report = {"source": str(Path(bvh_dir).resolve()), "unit": settings.unit or "detected"}
        writer.finish(report)
    except BaseException:
        writer.abort()
        raise
    return Path(out), {"imported": len(writer.clips), "skipped": len(writer.skipped)}
