"""Recognise every clip of a HumanML3D-layout folder with the evaluator's concept recogniser.

Only ``new_joint_vecs/*.npy`` is required (no Mean/Std, splits or manifest: the evaluator
normalises raw features with its own statistics, as ``reference.embed_records`` does).
``labels.json`` ({id: {"concepts": [...]}}), when present, gives the rate per concept:

    rate_c = |{i labelled c : predicted(i) = c}| / n_c,   n_c = |{i labelled c}|

with a 95% Wilson score interval (``wilson_interval``). ``overall`` counts a labelled clip as
right when its prediction is one of its concepts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from esd.evaluation.contrastive import EvaluatorBundle
from esd.evaluation.recogniser import ConceptRecogniser
from esd.evaluation.reference import EMBED_BATCH, embed_records
from esd.motion.humanml3d import (
    FEATURES_DIR,
    LABELS_FILE,
    DatasetError,
    MotionRecord,
    read_npy,
)
from esd.motion.skeleton import FEATURE_DIM

TOP_K = 3  # concepts listed per clip
Z_95 = 1.959963984540054  # standard normal quantile for a two-sided 95% interval

ProgressFn = Callable[[str, int, int], None]  # progress(stage, done, total)


def wilson_interval(hits: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion hits / n:

        centre = (p + z²/2n) / (1 + z²/n),   half = z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)

    (0, 1) when n = 0. Unlike p ± z sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty
    at p = 0 or 1.
    """
    if not 0 <= hits <= n:
        raise ValueError(f"need 0 <= hits <= n, got {hits} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def read_clips(
    root: str | Path, ids: Collection[str] | None = None, one_concept: bool = False
) -> list[MotionRecord]:
    """Every ``new_joint_vecs/ID.npy`` of ``root`` as a record (sorted ids, labels attached);
    only the ``ids`` given, and with ``one_concept`` only clips labelled with one concept."""
    root = Path(root)
    folder = root / FEATURES_DIR
    files = sorted(folder.glob("*.npy")) if folder.is_dir() else []
    if not files:
        raise DatasetError(
            f"no {FEATURES_DIR}/*.npy under {root}; point --data_root at a "
            "HumanML3D-layout folder (e.g. one written by esd.import_bvh)"
        )
    labels = read_labels(root)
    if ids is not None:
        files = [f for f in files if f.stem in ids]
    if one_concept:
        files = [f for f in files if len(labels.get(f.stem, ())) == 1]
    if not files:
        wanted = " of --ids" if ids is not None else ""
        kind = " labelled with one concept" if one_concept else ""
        raise DatasetError(f"no clip{wanted} under {root / FEATURES_DIR}{kind}")
    records = []
    for path in files:
        try:
            features = read_npy(path)
        except (OSError, ValueError) as err:
            raise DatasetError(f"cannot read {path}: {err}") from None
        if features.ndim != 2 or features.shape[1] != FEATURE_DIM or features.shape[0] < 1:
            raise DatasetError(f"{path} has shape {features.shape}, expected (T, {FEATURE_DIM})")
        if not np.isfinite(features).all():
            raise DatasetError(f"{path} holds NaN or infinite values; re-import the clip")
        concepts = tuple(labels.get(path.stem, ()))
        records.append(MotionRecord(path.stem, features, ("",), concepts))
    return records


def read_labels(root: Path) -> dict[str, list[str]]:
    """{id: concepts} from ``labels.json``; {} when absent."""
    path = root / LABELS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): [str(c) for c in v.get("concepts", [])] for k, v in data.items()}
    except (OSError, ValueError, AttributeError) as err:
        raise DatasetError(f'{path} must map clip ids to {{"concepts": [...]}}: {err}') from None


def top_concepts(
    recogniser: ConceptRecogniser, motion_emb: np.ndarray, k: int = TOP_K
) -> list[list[str]]:
    """The ``k`` most cosine-similar concept names per motion (N, D), best first (ties: lower
    vocabulary index, as ``metrics.recognise``)."""
    unit = motion_emb / np.linalg.norm(motion_emb, axis=1, keepdims=True)
    similarity = unit @ recogniser.concept_emb.T  # (N, K)
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :k]  # (N, k)
    return [[recogniser.names[i] for i in row] for row in order]


def per_concept_rates(predicted: Sequence[str], labels: Sequence[Sequence[str]]) -> dict[str, Any]:
    """{concept: {"n", "hits", "rate", "ci95"}} over labelled clips (module doc), sorted."""
    out = {}
    for concept in sorted({c for group in labels for c in group}):
        rows = [p for p, group in zip(predicted, labels) if concept in group]
        hits = sum(p == concept for p in rows)
        lo, hi = wilson_interval(hits, len(rows))
        out[concept] = {
            "n": len(rows),
            "hits": hits,
            "rate": hits / len(rows),
            "ci95": [round(lo, 4), round(hi, 4)],
        }
    return out


def recognise_folder(
    recogniser: ConceptRecogniser,
    evaluator: EvaluatorBundle,
    root: str | Path,
    batch_size: int = EMBED_BATCH,
    progress: ProgressFn | None = None,
    ids: Collection[str] | None = None,
    one_concept: bool = False,
) -> dict[str, Any]:
    """{"clips": {id: {"predicted", "top3", "labels"}}, "per_concept": ..., "overall": ...}
    over the clips ``read_clips(root, ids, one_concept)`` selects."""
    records = read_clips(root, ids, one_concept)
    emb = embed_records(evaluator, records, batch_size, progress)  # (N, D)
    tops = top_concepts(recogniser, emb)
    clips = {
        r.id: {"predicted": top[0], "top3": top, "labels": list(r.concepts)}
        for r, top in zip(records, tops)
    }
    labelled = [(top[0], r.concepts) for r, top in zip(records, tops) if r.concepts]
    result: dict[str, Any] = {"data_root": str(root), "clips": clips}
    if labelled:
        predicted, labels = zip(*labelled)
        result["per_concept"] = per_concept_rates(predicted, labels)
        hits = sum(p in group for p, group in labelled)
        lo, hi = wilson_interval(hits, len(labelled))
        result["overall"] = {
            "n": len(labelled),
            "hits": hits,
            "rate": hits / len(labelled),
            "ci95": [round(lo, 4), round(hi, 4)],
        }
    return result
