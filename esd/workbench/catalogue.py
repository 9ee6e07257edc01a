"""The model catalogue of the workbench: which models exist, what they are, the loaded ones.

``ModelCatalogue`` lists base models and ESD runs (``checkpoints/t2m/*``, then the bundled
``assets/*``) as ``ModelInfo`` entries, reading each checkpoint's metadata once per version of
the file. It loads generators once and shares them read-only (the text encoder and a model take
seconds to load): base models, and unlearned runs rebuilt as their overlay on the cached base.
It also remembers the student of the last finished or stopped training job (``TrainedModel``,
no longer trained), which comparisons and evaluations use before or instead of its checkpoint.

Every family is listed and loaded alike (``ModelInfo.family`` / ``text_encoder``): a SALAD model
folder is described from its opt.txt and epoch, with a missing VAE, ``meta`` statistics or CLIP
folder as its error (``esd.workbench.families``); SALAD's CLIP comes from ``clip_path``.

A run is put only on the base it was trained from: a run whose stored base fingerprint
(``esd.models.fingerprint``) is not the base's found now (e.g. a base written later under the
same name) is listed as broken with the one line naming both fingerprints, never offered, and
refused when loaded; a run checkpoint without a fingerprint (an old one) is not checked. A
checkpoints-folder model named like a bundled one says that it shadows it (``ModelInfo.shadows``).

One lock per cache, so a long load (a model) blocks only who needs that cache: the page's
model list and status stay responsive.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from esd.common.errors import one_line
from esd.evaluation.instruments import METRICS_NAME, output_dir
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser
from esd.models.fingerprint import base_mismatch, check_base, file_fingerprint, stored_fingerprint
from esd.models.generator import MotionGenerator, apply_denoiser_overlay, shared_text_encoder
from esd.models.text.clip import CLIP_FOLDER
from esd.models.text.minilm import TextEncoder
from esd.workbench.families import check_text_width, salad_description, salad_problem
from esd.workbench.run_folders import REQUEST_FILE
from esd.workbench.run_status import (
    BROKEN,
    STATUS_FILE,
    USABLE,
    checkpoint_state,
    orphan_runs,
    orphan_state,
)
from esd.workbench.user_input import WorkbenchError

GENERATOR_CACHE = 3  # loaded base models kept in memory
RUN_CACHE = 4  # loaded unlearned models kept in memory


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the model list (a base model or an ESD run)."""

    name: str  # folder name, e.g. t2m_denoiser_vpred_vaegelu_ESD_a_person_kicking
    kind: str  # "base" or "esd"
    bundled: bool  # found in assets/ (read-only) rather than checkpoints/t2m/
    path: str  # the model's folder
    base: str | None = None  # the base model of an ESD run
    settings: dict[str, Any] = field(default_factory=dict)  # ESD config / opt.txt values
    steps: int | None = None  # optimizer steps done (total_iter)
    epoch: int | None = None  # epochs done
    created: str | None = None  # when the checkpoint was written
    metrics: dict[str, Any] | None = None  # evaluation/metrics.json, when present
    error: str | None = None  # why the checkpoint could not be read (listed anyway)
    family: str = "bundled"  # model family: "bundled" or "salad" ('' unknown: no checkpoint)
    text_encoder: str = ck.FAMILY_TEXT_ENCODERS["bundled"]  # what the family conditions on
    status: str = ""  # a run's state (esd.workbench.run_status: trained, incomplete, ...)
    status_note: str = ""  # one line explaining the state ('' for a plain trained run)
    base_ref: dict[str, Any] = field(default_factory=dict)  # a run's {"name", "ckpt", ...}
    shadows: bool = False  # a checkpoints-folder model hiding the bundled one of its name

    @property
    def usable(self) -> bool:
        """A readable base model, or a run with finite weights of at least one step."""
        return self.error is None and (self.kind != "esd" or self.status in USABLE)


@dataclass(frozen=True)
class TrainedModel:
    """The student of the last finished or stopped training job (no longer trained)."""

    run_name: str
    base_ref: dict[str, Any]  # {"name", "ckpt", "fingerprint"} of its base model
    denoiser: LatentDenoiser


def file_stamp(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) of a file: a cache key that changes when the file is rewritten."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe_payload(entry: ck.ModelEntry, payload: dict[str, Any]) -> dict[str, Any]:
    """ModelInfo fields read from a checkpoint dict (and the folder's opt.txt / request.json /
    status.json); a SALAD base's settings are its typed opt.txt (``salad_options``)."""
    if "salad_options" in payload:
        options = dict(payload["salad_options"])
    elif entry.paths.opt_file.is_file():
        options = ck.read_opt(entry.paths.opt_file)
    else:
        options = {}
    family = payload.get("family", entry.family) if payload.get("kind") == "base" else entry.family
    state = {}
    if payload.get("kind") == "esd":
        run_state = checkpoint_state(entry.paths, payload)
        state = {"status": run_state.status, "status_note": run_state.note}
        settings: dict[str, Any] = dict(payload.get("esd") or {})
        request = read_json(entry.paths.root / REQUEST_FILE) or {}
        if "related" in request:
            settings["related"] = list(request["related"])
        base_ref = dict(payload.get("base") or {})
        state["base_ref"] = base_ref
        base = base_ref.get("name")
    else:
        settings, base = dict(options), None
        settings.update(
            {"training_metrics": payload.get("metrics")} if "metrics" in payload else {}
        )
    return {
        "family": family,
        "text_encoder": ck.FAMILY_TEXT_ENCODERS.get(family, ""),
        "base": base,
        "settings": settings,
        "steps": payload.get("total_iter"),
        "epoch": payload.get("epoch"),
        "created": payload.get("created"),
        **state,
    }


def _read_payload(entry: ck.ModelEntry, file: Path) -> dict[str, Any]:
    """The checkpoint of a listed model (weights_only); a SALAD denoiser file reads as a base
    model's (its settings are in opt.txt). CheckpointError for a refused or foreign file."""
    if entry.family == "salad" and entry.kind == "base":
        return salad_description(entry, file)
    raw = ck.load_raw(file)
    if entry.kind == "base" and ck.is_salad_checkpoint(raw):
        return {"kind": "base", "epoch": raw.get("epoch")}
    return ck.check_payload(raw, file, ("base", "esd"))


class ModelCatalogue:
    """Models of ``checkpoints_dir`` (and the bundled ones) on ``device``: listed, described,
    loaded once. ``text_encoder``: shared by every bundled-family model (None: the process-wide
    one); ``clip_path``: SALAD models' CLIP folder (None: ``{checkpoints_dir}/{CLIP_FOLDER}``).

    Methods raise WorkbenchError for a missing model and CheckpointError (a ValueError) for an
    unreadable one; the service turns both into one-line messages.
    """

    def __init__(
        self,
        checkpoints_dir: Path,
        device: torch.device,
        text_encoder: TextEncoder | None,
        clip_path: Path | None = None,
    ) -> None:
        self.checkpoints_dir = checkpoints_dir
        self.clip_dir = Path(clip_path) if clip_path else checkpoints_dir / CLIP_FOLDER
        self.device = device
        self._text_encoder = text_encoder
        self._describe_lock = threading.Lock()  # _described (checkpoint metadata)
        self._model_lock = threading.RLock()  # _generators, _runs (run models load their base)
        self._last_lock = threading.Lock()  # _last
        self._generators: OrderedDict[tuple, MotionGenerator] = OrderedDict()
        self._runs: OrderedDict[tuple, tuple[MotionGenerator, dict]] = OrderedDict()
        self._described: dict[str, tuple[tuple, dict[str, Any]]] = {}  # file -> (stamp, info)
        self._last: TrainedModel | None = None

    @property
    def text_encoder(self) -> TextEncoder:
        if self._text_encoder is None:
            self._text_encoder = shared_text_encoder(self.device)
        return self._text_encoder

    # --- the list -----------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """Base models and ESD runs (``checkpoints/t2m/*``, then bundled ``assets/*``).

        A folder deleted while listing is skipped; an unreadable checkpoint is listed with
        ``error`` set instead of failing the whole list.
        """
        infos = []
        entries = ck.list_models(self.checkpoints_dir)
        for entry in entries:
            if entry.paths.root.is_dir():
                infos.append(self.info(entry))
        for paths in orphan_runs(self.checkpoints_dir, {e.name for e in entries}):
            state = orphan_state(paths)
            found = {"name": paths.name, "kind": "esd", "bundled": False, "path": str(paths.root)}
            unknown = {"family": "", "text_encoder": ""}  # no checkpoint to tell
            infos.append(ModelInfo(**found, **unknown, status=state.status, status_note=state.note))
        return infos

    def names(self, kind: str) -> list[str]:
        """Names of the usable models of one kind ("base" or "esd"): a refused base model or
        a broken / failed run is left out (the model list shows why)."""
        return [m.name for m in self.list_models() if m.kind == kind and m.usable]

    def metrics(self, name: str) -> dict[str, Any] | None:
        """The model's evaluation/metrics.json, or None when it was not evaluated yet."""
        return read_json(output_dir(self.entry(name).name, self.checkpoints_dir) / METRICS_NAME)

    def entry(self, name: str) -> ck.ModelEntry:
        """The listed model ``name``; WorkbenchError saying why it is not there."""
        ck.validate_name(str(name or ""))
        for entry in ck.list_models(self.checkpoints_dir):
            if entry.name == name:
                return entry
        paths = ck.run_paths(self.checkpoints_dir, name)
        if paths.model_dir.is_dir():
            raise WorkbenchError(
                f"run {name!r} has no checkpoint ({orphan_state(paths).note}); wait for its "
                "first step, or delete it in the Runs tab"
            )
        raise WorkbenchError(
            f"model {name!r} does not exist (any more): was its folder deleted? refresh the list"
        )

    def info(self, entry: ck.ModelEntry) -> ModelInfo:
        """The ModelInfo of a listed model (``error`` set when its checkpoint is unreadable)."""
        common = {"name": entry.name, "kind": entry.kind, "bundled": entry.bundled}
        common.update(path=str(entry.paths.root), family=entry.family, shadows=entry.shadows)
        common["text_encoder"] = entry.text_encoder
        try:
            fields = self._describe(entry)
            if entry.family == "salad" and entry.kind == "base":  # SALAD's folder: parts elsewhere
                salad_problem(entry, fields["settings"], self.clip_dir)
            metrics = read_json(output_dir(entry.name, self.checkpoints_dir) / METRICS_NAME)
        except (ValueError, OSError) as err:
            broken = {"status": BROKEN, "status_note": one_line(err)} if entry.kind == "esd" else {}
            return ModelInfo(**common, error=one_line(err), **broken)
        common.update(family=fields.pop("family"), text_encoder=fields.pop("text_encoder"))
        if entry.kind == "esd" and fields.get("status") in USABLE:
            problem = self._base_problem(entry.name, fields.get("base_ref") or {})
            if problem is not None:
                fields.update(status=BROKEN, status_note=problem)
        return ModelInfo(**common, **copy.deepcopy(fields), metrics=metrics)

    def _base_problem(self, run: str, base_ref: dict[str, Any]) -> str | None:
        """The line saying that ``run`` was trained on another base than the one its
        reference resolves to now (None: the same one, an old checkpoint without a
        fingerprint, or a base that cannot be read: that is said when the run is loaded).
        The base's fingerprint is read from its file, once per version of the file."""
        if stored_fingerprint(base_ref) is None or not base_ref.get("name"):
            return None
        try:
            paths = ck.resolve_model(str(base_ref["name"]), self.checkpoints_dir)
            file = ck.resolve_checkpoint(paths, base_ref.get("ckpt"))
            return base_mismatch(run, base_ref, lambda: file_fingerprint(file), file)
        except (ValueError, OSError):
            return None

    def usable_info(self, name: str) -> ModelInfo:
        """The ModelInfo of ``name``; WorkbenchError in one line when it cannot be used (a
        refused checkpoint, a broken or failed run)."""
        info = self.info(self.entry(name))
        if not info.usable:
            why = info.status_note or info.error or info.status
            raise WorkbenchError(
                f"{name} cannot be used: {why}; delete it in the Runs tab or train it again"
            )
        return info

    def model_fields(self, name: str) -> dict[str, Any]:
        """{"name", "ckpt", "kind", "anchors"} of a model, as metrics.json records it
        ("anchors": the prompts an ESD run held still; the evaluation notes related ones)."""
        entry = self.entry(name)
        anchors = self._describe(entry)["settings"].get("anchors") or []
        return {"name": name, "ckpt": str(ck.default_checkpoint(entry.paths)), "kind": entry.kind,
                "anchors": [str(a) for a in anchors]}  # fmt: skip

    def _describe(self, entry: ck.ModelEntry) -> dict[str, Any]:
        """Checkpoint metadata of a model, cached per file until it changes (reading a .tar
        takes time; latest.tar is rewritten every epoch)."""
        file = ck.default_checkpoint(entry.paths)
        extras = [entry.paths.root / REQUEST_FILE, entry.paths.root / STATUS_FILE]
        stamp = (file_stamp(file), *(file_stamp(e) if e.is_file() else None for e in extras))
        with self._describe_lock:
            cached = self._described.get(str(file))
            if cached is None or cached[0] != stamp:
                payload = _read_payload(entry, file)
                cached = (stamp, _describe_payload(entry, payload))
                self._described[str(file)] = cached
            fields = dict(cached[1])
        if fields["created"] is None:
            modified = time.localtime(file.stat().st_mtime)
            fields["created"] = time.strftime("%Y-%m-%d %H:%M:%S", modified)
        return fields

    # --- loading (cached, shared read-only) ---------------------------------------------------

    def base_generator(self, name: str, ckpt: str | None = None) -> MotionGenerator:
        """The base model ``name`` (checkpoint ``ckpt``), loaded once and shared."""
        entry = self.entry(name)
        if entry.kind != "base":
            raise WorkbenchError(f"{name} is an unlearned run, not a base model; pick a base model")
        file = ck.resolve_checkpoint(entry.paths, ckpt)
        key = (name, str(file.resolve()), file_stamp(file), str(self.device))
        with self._model_lock:
            if key not in self._generators:
                self._generators[key] = self._load(entry, file)
                while len(self._generators) > GENERATOR_CACHE:
                    self._generators.popitem(last=False)
            self._generators.move_to_end(key)
            return self._generators[key]

    def _load(self, entry: ck.ModelEntry, file: Path) -> MotionGenerator:
        """A base model from ``file``, with its family's text encoder (a foreign architecture,
        a missing part or a CLIP of the wrong width: CheckpointError, a ValueError)."""
        salad = self.info(entry).family == "salad"
        encoder = self._text_encoder if salad else self.text_encoder  # MiniLM only if it needs it
        generator = MotionGenerator.from_checkpoint(
            entry.name, file, self.checkpoints_dir, self.device, encoder, self.clip_dir
        )
        check_text_width(generator, entry.name)
        return generator

    def run_generator(self, run_name: str) -> tuple[MotionGenerator, dict[str, Any]]:
        """The unlearned model of a run (its overlay on its cached base) and its base reference;
        WorkbenchError for a run that cannot be used (``usable_info``)."""
        entry = self.entry(run_name)
        if entry.kind != "esd":
            raise WorkbenchError(f"{run_name} is a base model, not an unlearned run")
        self.usable_info(run_name)
        file = entry.paths.latest
        key = (str(file.resolve()), file_stamp(file), str(self.device))
        with self._model_lock:
            if key not in self._runs:
                payload = ck.load_checkpoint(file, kind="esd")
                base_ref = dict(payload.get("base") or {})
                if not base_ref.get("name"):
                    raise WorkbenchError(f"{file} does not name its base model; retrain the run")
                base = self.base_generator(base_ref["name"], base_ref.get("ckpt"))
                where = base.source or base_ref["name"]
                check_base(run_name, base_ref, base.fingerprint, where)  # a base changed since
                erased = base.with_denoiser(apply_denoiser_overlay(base.denoiser, payload))
                self._runs[key] = (erased, base_ref)
                while len(self._runs) > RUN_CACHE:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            return self._runs[key]

    def generator(self, name: str) -> MotionGenerator:
        """Any model by name: a base model, or an ESD run rebuilt over its base."""
        if self.entry(name).kind == "esd":
            return self.run_generator(name)[0]
        return self.base_generator(name)

    # --- the student of the last training job -------------------------------------------------

    def remember(self, trained: TrainedModel) -> None:
        """Keep the student of the last finished/stopped job for comparisons without a run."""
        with self._last_lock:
            self._last = trained

    def forget(self, run_name: str) -> None:
        """Drop the remembered student when it is the run ``run_name`` (its folder is replaced)."""
        with self._last_lock:
            if self._last is not None and self._last.run_name == run_name:
                self._last = None

    def last_run_name(self) -> str | None:
        """The run of the remembered student (None before a training job ended)."""
        with self._last_lock:
            return self._last.run_name if self._last is not None else None

    def unlearned(self, run_name: str | None) -> tuple[MotionGenerator, str, dict[str, Any]]:
        """(generator, label, base reference) of a saved run, or of the last job's student
        when ``run_name`` is empty."""
        if run_name:
            generator, base_ref = self.run_generator(run_name)
            return generator, run_name, base_ref
        with self._last_lock:
            last = self._last
        if last is None:
            raise WorkbenchError("no unlearned model yet: train one, or pick a saved run")
        base = self.base_generator(last.base_ref["name"], last.base_ref.get("ckpt"))
        check_base(last.run_name, last.base_ref, base.fingerprint, base.source or "its name")
        return base.with_denoiser(last.denoiser), f"{last.run_name} (in memory)", last.base_ref
