"""A mixed training folder: the procedural corpus plus imported motion capture, HumanML3D layout.

    OUT/new_joint_vecs, new_joints, texts   hard links to (else copies of) the sources' files, ids
                                            prefixed ``proc-`` / ``mocapK-`` (K = 1, 2, ...)
    OUT/train.txt val.txt test.txt all.txt  procedural clips keep their split; a mocap clip enters
                                            only if listed in ``mocap_ids`` (when given) and not in
                                            ``exclude_ids``, into train (``mocap_repeat`` times,
                                            so a few hundred real clips are not drowned) or, with
                                            ``mocap_val``, into val (once) when its import put it
                                            there; never into test. train.txt is shuffled (seeded)
                                            so ``--max_clips N`` takes a mix.
    OUT/Mean.npy Std.npy                    ``esd.motion.features.feature_statistics`` over the
                                            train split as listed (repeats counted)
    OUT/labels.json heldout.json manifest.json   merged labels (prefixed ids), the corpus's files
    OUT/provenance.json                     sources, counts, the licence of each source

The folder is built in a hidden sibling and renamed at the end (never half written). Mocap data
keeps its source's licence: an imported Bandai-Namco pack is CC BY-NC 4.0, so the folder and any
weights trained on it are for local, non-commercial use only and never go into ``assets/``
(``esd.pretrain.licences``: the licences, model cards and the checks that keep them out).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from esd.common.files import replace_dir
from esd.motion.concepts import CONCEPT_NAMES
from esd.motion.features import feature_statistics
from esd.motion.humanml3d import (
    FEATURES_DIR,
    HELDOUT_FILE,
    JOINTS_DIR,
    LABELS_FILE,
    MANIFEST_FILE,
    MEAN_FILE,
    SPLITS,
    STD_FILE,
    TEXTS_DIR,
    MotionFolder,
    read_npy,
)
from esd.pretrain.licences import (
    PROJECT_LICENCE,
    PROVENANCE_FILE,
    check_outside_assets,
    mocap_licence,
)

GENERATOR = "esd-motion-mixed/1"
PROCEDURAL_PREFIX = "proc-"
MOCAP_PREFIX = "mocap{index}-"  # index 1, 2, ... per mocap folder
SHUFFLE_KEY = 0x313  # seeds the order of train.txt with MixSettings.seed

Notify = Callable[[str], None]  # one line about the build (a skipped clip, ...)
ProgressFn = Callable[[int, int], None]  # (clips placed, total)
Source = tuple[Path, str, list[str]]  # (folder, id prefix, its ids that enter)


class MixError(ValueError):
    """The mixed folder cannot be built as asked; the message says what to do."""


@dataclass(frozen=True)
class MixSettings:
    """What goes into a mixed folder (the flags of ``python -m esd.pretrain mixed``)."""

    procedural: Path  # a corpus folder (python -m esd.corpus), with Mean/Std
    mocap: tuple[Path, ...]  # imported folders (python -m esd.import_bvh), Mean/Std not needed
    out: Path  # the mixed folder to write
    mocap_ids: Path | None = None  # only these mocap ids may enter (e.g. the calibration half)
    exclude_ids: Path | None = None  # these mocap ids never enter (e.g. the held-out half)
    mocap_repeat: int = 1  # times each mocap train clip is listed in train.txt
    mocap_val: bool = True  # mocap clips of the import's val split go to val (False: to train)
    skip_unknown_concepts: bool = False  # drop clips with concepts outside the vocabulary
    seed: int = 0  # order of train.txt
    overwrite: bool = False  # replace an existing ``out``


def read_ids(path: Path | None, flag: str) -> set[str] | None:
    """The ids of a one-per-line file (None when ``path`` is None)."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise MixError(
            f"no ids file at {path} ({flag}); write one id per line, e.g. with "
            "`python benchmarks/bench_transfer.py split`"
        )
    return {line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()} - {""}


def _split_lists(root: Path) -> dict[str, list[str]]:
    lists = {}
    for split in SPLITS:
        path = root / f"{split}.txt"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        lists[split] = [line.strip() for line in text.splitlines() if line.strip()]
    return lists


def _check_mocap(root: Path) -> None:
    hint = "import one with `python -m esd.import_bvh --bvh_dir DIR --out FOLDER`"
    if not root.is_dir():
        raise MixError(f"no mocap folder at {root}; {hint}")
    if not ((root / FEATURES_DIR).is_dir() and (root / TEXTS_DIR).is_dir()):
        raise MixError(f"{root} has no {FEATURES_DIR}/ and {TEXTS_DIR}/ folders; {hint}")


def _check_out(cfg: MixSettings) -> Path:
    out = Path(cfg.out)
    check_outside_assets(out)
    for source in (cfg.procedural, *cfg.mocap):
        if Path(source).resolve() == out.resolve():
            raise MixError(f"the mixed folder {out} is one of its sources; choose another")
    if out.exists() and not cfg.overwrite:
        raise MixError(f"{out} already exists; pass --overwrite to rebuild it")
    return out


def _unknown_concepts(root: Path, labels: dict, chosen: list[str], skip: bool) -> dict:
    """{id: concepts outside the vocabulary} of ``chosen``; MixError naming them unless ``skip``."""
    unknown = {i: sorted(set(labels.get(i, {}).get("concepts", [])) - set(CONCEPT_NAMES))
               for i in chosen}  # fmt: skip
    unknown = {i: names for i, names in unknown.items() if names}
    if unknown and not skip:
        names = sorted({c for cs in unknown.values() for c in cs})
        raise MixError(
            f"{len(unknown)} clip(s) of {root} have concepts outside the corpus vocabulary: "
            f"{', '.join(names)}; relabel them or pass --skip_unknown_concepts"
        )
    return unknown


def _mocap_plan(
    root: Path, prefix: str, cfg: MixSettings, allowed: set[str] | None, excluded: set[str],
    notify: Notify,
) -> tuple[dict[str, list[str]], dict, dict]:  # fmt: skip
    """(source ids per mixed split, prefixed labels, provenance entry) of one mocap folder."""
    _check_mocap(root)
    path = root / LABELS_FILE
    labels = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    splits = _split_lists(root)
    val = set(splits["val"]) if cfg.mocap_val else set()
    listed = list(dict.fromkeys(i for s in SPLITS for i in splits[s]))
    chosen = [i for i in listed if (allowed is None or i in allowed) and i not in excluded]
    unknown = _unknown_concepts(root, labels, chosen, cfg.skip_unknown_concepts)
    for clip_id, concepts in unknown.items():
        notify(f"skipped {root}/{clip_id}: unknown concept(s) {', '.join(concepts)}")
    chosen = [i for i in chosen if i not in unknown]
    plan = {"train": [i for i in chosen if i not in val], "val": [i for i in chosen if i in val]}
    entry = {
        "kind": "mocap", "root": str(root), "prefix": prefix,
        "licence": asdict(mocap_licence(root)),
        "clips": {split: len(ids) for split, ids in plan.items()},
        "repeat": cfg.mocap_repeat, "train_entries": len(plan["train"]) * cfg.mocap_repeat,
        "ids_file": None if cfg.mocap_ids is None else str(cfg.mocap_ids),
        "exclude_file": None if cfg.exclude_ids is None else str(cfg.exclude_ids),
        "left_out": len(listed) - len(chosen) - len(unknown), "skipped_unknown": unknown,
    }  # fmt: skip
    return plan, {prefix + i: labels[i] for i in chosen if i in labels}, entry


def _place(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (no space used), or copy it across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _link_clips(tmp: Path, sources: list[Source], progress: ProgressFn) -> None:
    total, done = sum(len(ids) for _, _, ids in sources), 0
    for root, prefix, ids in sources:
        for clip_id in ids:
            for sub, ext in ((FEATURES_DIR, "npy"), (JOINTS_DIR, "npy"), (TEXTS_DIR, "txt")):
                source = root / sub / f"{clip_id}.{ext}"
                if sub != JOINTS_DIR or source.is_file():  # joints are optional
                    _place(source, tmp / sub / f"{prefix}{clip_id}.{ext}")
            done += 1
            if done % 256 == 0 or done == total:
                progress(done, total)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _plan(cfg: MixSettings, corpus: MotionFolder, notify: Notify):
    """(ids per mixed split, merged labels, sources to link, provenance entries)."""
    allowed = read_ids(cfg.mocap_ids, "--mocap_ids")
    excluded = read_ids(cfg.exclude_ids, "--exclude_ids") or set()
    own = _split_lists(corpus.root)
    splits = {s: [PROCEDURAL_PREFIX + i for i in ids] for s, ids in own.items()}
    labels = {PROCEDURAL_PREFIX + k: v for k, v in (corpus.labels or {}).items()}
    sources: list[Source] = [
        (corpus.root, PROCEDURAL_PREFIX, list(dict.fromkeys(i for s in SPLITS for i in own[s])))
    ]
    entries = [{
        "kind": "procedural", "root": str(corpus.root), "prefix": PROCEDURAL_PREFIX,
        "licence": asdict(PROJECT_LICENCE), "manifest": corpus.manifest,
        "clips": {s: len(ids) for s, ids in own.items()},
    }]  # fmt: skip
    for index, root in enumerate(cfg.mocap, start=1):
        prefix = MOCAP_PREFIX.format(index=index)
        plan, mocap_labels, entry = _mocap_plan(Path(root), prefix, cfg, allowed, excluded, notify)
        splits["train"] += [prefix + i for i in plan["train"]] * cfg.mocap_repeat
        splits["val"] += [prefix + i for i in plan["val"]]
        labels.update(mocap_labels)
        sources.append((Path(root), prefix, plan["train"] + plan["val"]))
        entries.append(entry)
    np.random.default_rng([cfg.seed, SHUFFLE_KEY]).shuffle(splits["train"])
    return splits, labels, sources, entries


def build_mixed_folder(
    cfg: MixSettings, notify: Notify = lambda line: None, progress: ProgressFn = lambda d, t: None
) -> dict[str, Any]:
    """Write the mixed folder ``cfg.out`` (module docstring); returns its provenance.

    Mean, Std (263,) = ``feature_statistics`` over the rows of every train.txt entry (a repeated
    clip counts as often as it is listed), the corpus writer's rule (HumanML3D's group std).
    """
    if cfg.mocap_repeat < 1:
        raise MixError(f"--mocap_repeat must be at least 1, got {cfg.mocap_repeat}")
    if not cfg.mocap:
        raise MixError("no mocap folder given; pass --mocap FOLDER (an esd.import_bvh output)")
    out = _check_out(cfg)
    corpus = MotionFolder(cfg.procedural)  # checks the layout and Mean/Std
    splits, labels, sources, entries = _plan(cfg, corpus, notify)
    provenance = {
        "generator": GENERATOR,
        "sources": entries,
        "splits": {s: len(ids) for s, ids in splits.items()},
        "non_commercial": sorted(
            {e["licence"]["name"] for e in entries if not e["licence"]["commercial"]}
        ),
    }
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for sub in (FEATURES_DIR, JOINTS_DIR, TEXTS_DIR):
            (tmp / sub).mkdir(parents=True)
        _link_clips(tmp, sources, progress)
        for split, ids in splits.items():
            (tmp / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
        (tmp / "all.txt").write_text("".join(p + i + "\n" for _, p, ids in sources for i in ids))
        mean, std = feature_statistics(
            read_npy(tmp / FEATURES_DIR / f"{i}.npy") for i in splits["train"]
        )
        np.save(tmp / MEAN_FILE, mean)
        np.save(tmp / STD_FILE, std)
        _write_json(tmp / LABELS_FILE, labels)
        if corpus.heldout is not None:
            _write_json(tmp / HELDOUT_FILE, corpus.heldout)
        _write_json(tmp / MANIFEST_FILE, {"generator": GENERATOR, "splits": provenance["splits"]})
        _write_json(tmp / PROVENANCE_FILE, provenance)
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return provenance
