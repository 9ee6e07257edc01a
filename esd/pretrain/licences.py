"""The licences of training data, and what they allow: model cards, provenance, the assets guard.

A mixed folder (``esd.pretrain.mixed``) records every source with its ``Licence`` in
``provenance.json``; a run trained on it carries a copy beside its ``MODEL_CARD.md``
(``write_run_card``). Imported Bandai-Namco motion capture is CC BY-NC 4.0: data converted from
it and weights trained on it are for local, non-commercial use only, so they never go into
``assets/`` (``check_outside_assets``, and ``licence_refusal`` for ``esd.pretrain.bundle``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esd.common.files import atomic_write
from esd.models import checkpoints as ck

PROVENANCE_FILE = "provenance.json"  # in a mixed data folder and in every run folder trained on it
MODEL_CARD_FILE = "MODEL_CARD.md"
IMPORT_FILE = "import.json"  # written by esd.import_bvh
BANDAI_RIG = "Bandai-Namco"  # the rig esd.import_bvh reports for the Bandai-Namco pack
BANDAI_ATTRIBUTION = (
    "Motion data: Bandai-Namco-Research-Motiondataset, © 2022 Bandai Namco Research Inc., "
    "licensed under CC BY-NC 4.0 "
    "(https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset). "
    "A subset of the files is used, unmodified."
)  # verbatim from ../shared/fixtures/mocap/bandai/README.md
NON_COMMERCIAL_TERMS = (
    "CC BY-NC 4.0: non-commercial use only; never redistribute these weights as part of this "
    "project's assets"
)


@dataclass(frozen=True)
class Licence:
    """The licence of one source of training data."""

    name: str  # e.g. "CC BY-NC 4.0"
    commercial: bool  # may weights trained on it be bundled and used commercially?
    attribution: str = ""  # text every derived artefact must carry ("" when none is asked)
    url: str = ""


PROJECT_LICENCE = Licence("the project's own procedural corpus (python -m esd.corpus)", True)
BANDAI_LICENCE = Licence(
    "CC BY-NC 4.0", False, BANDAI_ATTRIBUTION, "https://creativecommons.org/licenses/by-nc/4.0/"
)
UNKNOWN_LICENCE = Licence(
    "unknown licence of imported motion capture (treated as non-commercial)",
    False,
    "Check the licence of the source motion capture and add the attribution it asks for.",
)


def mocap_licence(root: Path) -> Licence:
    """The licence of an imported folder: Bandai-Namco's when every clip has its rig, else
    ``UNKNOWN_LICENCE`` (non-commercial until the user knows better)."""
    path = Path(root) / IMPORT_FILE
    report = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    rigs = {clip.get("rig") for clip in (report.get("clips") or {}).values()}
    return BANDAI_LICENCE if rigs == {BANDAI_RIG} else UNKNOWN_LICENCE


def check_outside_assets(*paths: Path) -> None:
    """ValueError when a path is (inside) ``assets/``: nothing made from mocap is bundled."""
    assets = ck.ASSETS_DIR.resolve()
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        if resolved == assets or assets in resolved.parents:
            raise ValueError(
                f"{path} is inside {ck.ASSETS_DIR}: data and weights made from imported motion "
                "capture must stay local; choose a folder outside assets/"
            )


def read_provenance(folder: Path) -> dict[str, Any] | None:
    """``folder/provenance.json`` (a mixed data folder or a run folder), or None if absent.

    An unreadable file counts as non-commercial (``{"non_commercial": [...]}``).
    """
    path = Path(folder) / PROVENANCE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"non_commercial": [f"unknown (unreadable {path}, treated as non-commercial)"]}


def licence_refusal(folders: Iterable[Path]) -> str | None:
    """Why weights tied to these run or data folders must not be bundled (one line), or None."""
    for folder in folders:
        names = (read_provenance(folder) or {}).get("non_commercial") or []
        if names:
            return (
                f"refusing to bundle: {folder} says it was trained on motion capture licensed "
                f"{', '.join(names)} (non-commercial use only); such weights never go into assets/"
            )
    return None


def _source_row(source: dict[str, Any]) -> str:
    clips = source["clips"]
    train = str(clips.get("train", 0))
    if source["kind"] == "mocap":
        train += f" (x{source['repeat']} = {source['train_entries']} entries)"
    return (
        f"| {source['kind']} `{source['root']}` | `{source['prefix']}` | {train} | "
        f"{clips.get('val', 0)} | {clips.get('test', 0)} | {source['licence']['name']} |"
    )


def _selection_line(source: dict[str, Any]) -> str:
    only = f" only ids listed in `{source['ids_file']}`," if source.get("ids_file") else ""
    never = (
        f" never ids listed in `{source['exclude_file']}`," if source.get("exclude_file") else ""
    )
    return (
        f"`{source['prefix']}` clips:{only}{never} {source['left_out']} clip(s) of the folder left "
        f"out, {len(source['skipped_unknown'])} skipped for unknown concepts.\n"
    )


def model_card(provenance: dict[str, Any], model: str, command: str) -> str:
    """MODEL_CARD.md text of a run trained on a mixed folder: data, command, counts, licence."""
    splits = provenance["splits"]
    lines = [
        f"# {model}: trained on procedural plus imported motion capture",
        "",
        f"Command: `{command}`",
        "",
        "## Data",
        "",
        "| source | id prefix | train clips | val clips | test clips | licence |",
        "|---|---|---|---|---|---|",
        *(_source_row(source) for source in provenance["sources"]),
        "",
        f"Split entries: train {splits['train']}, val {splits['val']}, test {splits['test']}.",
        "",
        *(_selection_line(source) for source in provenance["sources"] if source["kind"] == "mocap"),
    ]
    restricted = [s["licence"] for s in provenance["sources"] if not s["licence"]["commercial"]]
    if restricted:
        lines += ["## Licence", "", f"**{NON_COMMERCIAL_TERMS}.**", ""]
        for text in dict.fromkeys(lic["attribution"] for lic in restricted if lic["attribution"]):
            lines += [f"> {text}", ""]
        lines += [
            "The motion capture was converted to the 22-joint HumanML3D skeleton at 20 fps by "
            "`python -m esd.import_bvh`, and these weights were trained on it.",
            "",
        ]
    return "\n".join(lines)


def write_run_card(run_root: Path, provenance: dict[str, Any], model: str, command: str) -> Path:
    """MODEL_CARD.md and provenance.json into a run folder, atomically; returns the card."""
    atomic_write(Path(run_root) / PROVENANCE_FILE, json.dumps(provenance, indent=1) + "\n")
    return atomic_write(Path(run_root) / MODEL_CARD_FILE, model_card(provenance, model, command))
