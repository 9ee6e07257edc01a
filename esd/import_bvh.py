"""CLI: turn a folder of BVH motion capture into a HumanML3D-layout folder.

    python -m esd.import_bvh --bvh_dir ../shared/fixtures/mocap/bandai/bvh \\
        --labels ../shared/fixtures/mocap/bandai/labels.csv --out /tmp/bandai_h3d

Writes ``new_joints/``, ``new_joint_vecs/``, ``texts/`` (``caption#tokens#0.0#0.0``),
``all.txt`` + train/val/test splits, ``labels.json`` when concepts are known and
``import.json`` (rig, unit, up axis, mirroring per clip; skipped files and why). Captions come
from ``--labels CSV`` (columns: file + caption / concepts, or the Bandai-Namco content / style /
side) or from ``NAME.txt`` beside each ``NAME.bvh``. Known rigs: CMU (cgspeed), Mixamo,
Bandai-Namco; units (m, cm, mm, inch, CMU) are detected from the leg length unless ``--unit``.
See ``esd.motion.bvh`` for the conversion. The clips carry the licence of their source: keep
the attribution it asks for with the folder.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from esd.console import CONSOLE, StepProgress, plain_warnings, run_cli, seed_int
from esd.corpus.captions.tokens import caption_line
from esd.motion.bvh.importer import ImportSettings, find_bvh_files, import_folder
from esd.motion.bvh.rest import UNITS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m esd.import_bvh",
        description="Convert BVH motion capture (CMU, Mixamo, Bandai-Namco rigs) into a "
        "HumanML3D-layout folder of 22-joint clips at 20 fps.",
    )
    p.add_argument("--bvh_dir", required=True, type=Path, help="folder with the .bvh files")
    p.add_argument("--out", required=True, type=Path, help="HumanML3D-layout folder to write")
    p.add_argument("--labels", type=Path, help="labels CSV (default: NAME.txt caption files)")
    p.add_argument("--unit", choices=sorted(UNITS), help="file unit (default: detected)")
    p.add_argument("--seed", type=seed_int, default=0, help="seeds the train/val/test split")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain_warnings()
    settings = ImportSettings(args.labels, args.unit, args.seed, args.overwrite)

    def on_skip(file: str, reason: str) -> None:
        CONSOLE.print(f"skipped {file}: {reason}", style="yellow", soft_wrap=True, markup=False)

    def convert() -> tuple[Path, dict]:  # BvhError, UnknownRigError, LabelsError, FolderError
        total = len(find_bvh_files(args.bvh_dir))
        with StepProgress("importing", total) as bar:
            return import_folder(
                args.bvh_dir, args.out, caption_line, settings, lambda d, t: bar.update(d), on_skip
            )

    out, counts = run_cli(convert, interrupted="interrupted; nothing was written")
    CONSOLE.print(
        f"wrote {counts['imported']} clips to {out} ({counts['skipped']} skipped; see "
        f"{out / 'import.json'})",
        soft_wrap=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
