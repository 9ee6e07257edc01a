"""The workbench service: what the web UI (``app.py``) drives, usable and tested without any UI.

    wb = Workbench()                               # one per process (module level in app.py)
    wb.list_models()                               # base models and past runs, with settings
    wb.start_training(TrainingRequest(concept="a person kicking", iterations=200))
    wb.snapshot()                                  # poll: state, step/total, losses, ETA, ...
    wb.stop()                                      # cooperative: stops before the next step
    wb.compare(base, run, ["a person kicking"], seconds=4.0, seed=0, steps=50)
    wb.start_evaluation(EvaluationRequest(model=run)); wb.evaluation_snapshot()
    wb.export_checkpoint(run)                      # outputs/exports/RUN_standalone.tar
    wb.export_motion(comparison, "0:unlearned", "bvh")  # outputs/motions/PROMPT_..._seed_0.bvh

Jobs. ONE background job at a time, training or evaluation (the reference machine has two
cores), each in a daemon thread owned by a ``BackgroundJob`` (``esd.workbench.jobs``) with
``background_threads()`` torch threads (one core is left to the web server), on CUDA when
available. A second start while a job runs raises ``BusyError``.

Models. Loaded base generators are cached and shared read-only (loading the text encoder and a
model takes seconds). Comparison reads saved checkpoints (written atomically by the ESD loop) or
the student of the last finished/stopped job (no longer trained), so it may run while training.

Export formats (``torch.save`` dicts, loadable with ``torch.load(..., weights_only=True)``):

* standalone (default): a complete base-model payload (``kind: "base"``: VAE, statistics,
  schedule and the denoiser WITH the erasure applied) plus ``erased`` metadata (the run's
  ``esd`` settings, steps, run and base names).
  ``MotionGenerator.from_payload(ck.load_checkpoint(path), device)`` rebuilds the unlearned model
  without its base; saved as ``checkpoints/t2m/NAME/model/net_best_fid.tar`` it is model NAME for
  every command.
* overlay: the run's latest.tar without the optimizer state: the trained tensors plus the name of
  the base model, which must be present to reload it (as ``checkpoints/t2m/RUN/model/latest.tar``).

Motions of a comparison export as BVH, GLB meshes (one pose or a trail) or NPY (joints and
263-d features), only under ``{output_dir}/motions/`` with names made safe by ``safe_filename``.

Beside it: ``esd.workbench.user_input`` (the typed requests, their limits and checks) and
``esd.workbench.presentation`` (pure functions from the service's values to what the UI shows:
status line, metrics and model tables), so that ``app.py`` holds layout and wiring only. The
comparison's prompts and motion choices stay here, with the comparison they belong to.

Errors meant for the user are ``WorkbenchError`` (a ValueError, ``esd.workbench.user_input``) with a
one-line message; the UI shows them as ``gr.Error`` / ``gr.Warning`` toasts.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from esd.common.files import safe_filename
from esd.common.runtime import background_threads, pick_device
from esd.erasure.concept_clips import concept_latents
from esd.erasure.config import ESDConfig
from esd.erasure.loop import ESDStep, run_esd
from esd.evaluation.context import EvalContext
from esd.evaluation.instruments import (
    DEFAULT_RELATED,
    DEFAULT_TARGET,
    METRICS_NAME,
    default_reference,
    load_context,
    output_dir,
    resolve_evaluator,
    write_outputs,
)
from esd.evaluation.plan import make_plan
from esd.evaluation.protocol import run_evaluation
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import LatentDenoiser, count_parameters, select_parameters
from esd.models.diffusion import MIN_DDIM_STEPS, TRAIN_STEPS
from esd.models.generator import (
    DEFAULT_GUIDANCE,
    DEFAULT_STEPS,
    MotionGenerator,
    apply_denoiser_overlay,
    shared_text_encoder,
)
from esd.models.text.minilm import TextEncoder
from esd.motion.skeleton import FPS, MAX_SECONDS, MIN_SECONDS
from esd.workbench.jobs import (
    FINISHED,
    RUNNING,
    STOPPED,
    BackgroundJob,
    JobOutcome,
    JobSnapshot,
    one_line,
)
from esd.workbench.user_input import (
    COMPARE_SECONDS,
    MAX_GUIDANCE,
    MAX_PROMPTS,
    MAX_RELATED,
    MAX_SEED,
    BusyError,
    EvaluationRequest,
    TrainingRequest,
    WorkbenchError,
    as_choice,
    as_integer,
    as_number,
    as_text,
    as_texts,
    evaluation_settings,
    training_config,
)

DEFAULT_OUTPUT_DIR = Path("outputs")  # exports go to outputs/exports/
EXPORTS = "exports"  # sub-folder of the output folder for downloads
REQUEST_FILE = "request.json"  # the typed training request, beside opt.txt
TRAIN_LOG = "train.log"  # inside the run's logs/
LOG_EVERY = 25  # training steps between two loss lines in train.log
MAX_SUFFIX = 99  # auto_suffix tries RUN_2 .. RUN_99
GENERATOR_CACHE = 3  # loaded base models kept in memory
RUN_CACHE = 4  # loaded unlearned models kept in memory

T = TypeVar("T")


class MotionWriters(Protocol):
    """The file writers of motion exports; ``viz.export`` (the module) is one. The service
    chooses names and folders, the writers the formats, so esd/ never imports viz/."""

    def write_bvh(self, path: Path, joints: np.ndarray) -> Path: ...

    def write_mesh(self, path: Path, joints: np.ndarray, frame: int | None = None) -> Path: ...

    def write_npy(self, path: Path, joints: np.ndarray, features: np.ndarray) -> list[Path]: ...


def user_errors(method: Callable[..., T]) -> Callable[..., T]:
    """Turn ValueError / OSError (CheckpointError, ReferenceError, ...) into WorkbenchError."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except WorkbenchError:
            raise
        except (ValueError, OSError) as err:
            raise WorkbenchError(one_line(err)) from None

    return wrapper


def _options(request: TrainingRequest, cfg: ESDConfig, run: ck.RunPaths, base: Path) -> dict:
    """opt.txt of a workbench run: the CLI's keys (``python -m esd.train``) plus provenance."""
    return {
        "name": request.base_model,
        "dataset_name": ck.DATASET_NAME,
        "target_concept": list(cfg.concepts),
        "related_concepts": list(as_texts("related concepts", request.related, MAX_RELATED)),
        "variants": list(cfg.variants),
        "negative_guidance": cfg.negative_guidance,
        "unlearn_epochs": cfg.epochs,
        "unlearn_lr": cfg.lr,
        "iterations": cfg.iterations,
        "batch_size": cfg.batch_size,
        "method": cfg.method,
        "xt_source": cfg.xt_source,
        "trajectories": cfg.trajectories,
        "ddim_steps": cfg.ddim_steps,
        "seconds": list(cfg.seconds),
        "seed": cfg.seed,
        "data_root": request.data_root,
        "base_model": str(base),
        "run_name": run.name,
        "started_from": "workbench",
    }


# --- models -------------------------------------------------------------------------------------


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


def _stamp(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) of a file: a cache key that changes when the file is rewritten."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe_payload(entry: ck.ModelEntry, payload: dict[str, Any]) -> dict[str, Any]:
    """ModelInfo fields read from a checkpoint dict (and the folder's opt.txt / request.json)."""
    options = ck.read_opt(entry.paths.opt_file) if entry.paths.opt_file.is_file() else {}
    if payload.get("kind") == "esd":
        settings: dict[str, Any] = dict(payload.get("esd") or {})
        request = _read_json(entry.paths.root / REQUEST_FILE) or {}
        if "related" in request:
            settings["related"] = list(request["related"])
        base = (payload.get("base") or {}).get("name")
    else:
        settings, base = dict(options), None
        settings.update(
            {"training_metrics": payload.get("metrics")} if "metrics" in payload else {}
        )
    return {
        "base": base,
        "settings": settings,
        "steps": payload.get("total_iter"),
        "epoch": payload.get("epoch"),
        "created": payload.get("created"),
    }


# --- comparison ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotionClip:
    """One generated motion (read-only arrays, cropped to its length)."""

    label: str  # "original" or "unlearned"
    model: str  # the model that generated it
    prompt: str
    joints: np.ndarray  # (T, 22, 3) metres, y up
    features: np.ndarray  # (T, 263) HumanML3D features

    @property
    def frames(self) -> int:
        return int(self.joints.shape[0])


@dataclass(frozen=True)
class ComparisonPair:
    """The original and the unlearned motion of one prompt, from identical noise."""

    prompt: str
    original: MotionClip
    unlearned: MotionClip


@dataclass(frozen=True)
class Comparison:
    """Result of ``Workbench.compare``."""

    base_name: str  # the original model
    unlearned_name: str  # the run (or "RUN (in memory)" for the last job's student)
    seed: int  # item i of both models starts from the noise of seed + i
    seconds: float
    steps: int  # DDIM steps
    guidance: float  # classifier-free guidance scale
    pairs: tuple[ComparisonPair, ...]


def _clips(motion: Any, label: str, model: str) -> list[MotionClip]:
    """The items of a GeneratedMotion as read-only MotionClips."""
    clips = []
    for i, prompt in enumerate(motion.prompts):
        joints, features = (np.array(a, dtype=np.float32) for a in motion.clip(i))
        joints.setflags(write=False)
        features.setflags(write=False)
        clips.append(MotionClip(label, model, prompt, joints, features))
    return clips


@dataclass(frozen=True)
class TrainedModel:
    """The student of the last finished or stopped training job (no longer trained)."""

    run_name: str
    base_ref: dict[str, Any]  # {"name", "ckpt"} of its base model
    denoiser: LatentDenoiser


class _Cancelled(Exception):
    """Raised inside an evaluation's progress callback when a stop was requested."""


def _log_line(path: Path, message: str) -> None:
    """Append a timestamped line to a run's train.log (library code never prints)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


def _newer_than(path: Path, source: Path) -> bool:
    """True when ``path`` exists and was written after ``source`` last changed."""
    try:
        return path.stat().st_mtime_ns > source.stat().st_mtime_ns
    except FileNotFoundError:
        return False


# --- comparison prompts and motion choices (pure functions) -------------------------------------

MOTION_FORMATS = {  # motion export formats of ``Workbench.export_motion``: key -> label
    "bvh": "BVH animation (rotations fitted to the joints)",
    "glb-pose": "GLB mesh of one pose",
    "glb-trail": "GLB mesh: trail of one pose per second",
    "npy": "NPY: joints (T, 22, 3) and 263-d features",
}
MOTIONS = "motions"  # sub-folder of the output folder for exported motions


def comparison_prompts(
    target: str, related: str | Sequence[str] = (), extra: str | Sequence[str] = ()
) -> tuple[str, ...]:
    """The prompts of a comparison: the target first, then related and extra ones (texts with
    one prompt per line, or sequences); blanks and repeats dropped, at most MAX_PROMPTS."""
    first = as_text("target prompt", target)
    rest = as_texts("related prompts", related, MAX_PROMPTS)
    rest += as_texts("extra prompts", extra, MAX_PROMPTS)
    prompts = tuple(dict.fromkeys((first, *rest)))
    if len(prompts) > MAX_PROMPTS:
        raise WorkbenchError(
            f"at most {MAX_PROMPTS} prompts can be compared at once (target, related and extra "
            f"together), got {len(prompts)}; remove some"
        )
    return prompts


def motion_choices(comparison: Comparison | None) -> list[tuple[str, str]]:
    """(label, key) of every motion of a comparison, for a dropdown; keys are ``"i:label"``."""
    if comparison is None:
        return []
    return [
        (f"{pair.prompt} · {clip.label} ({clip.model})", f"{i}:{clip.label}")
        for i, pair in enumerate(comparison.pairs)
        for clip in (pair.original, pair.unlearned)
    ]


def pick_clip(comparison: Comparison | None, key: str | None) -> MotionClip:
    """The motion ``key`` (see ``motion_choices``) of a comparison; WorkbenchError otherwise."""
    if comparison is None or not comparison.pairs:
        raise WorkbenchError("no motion shown yet: run a comparison first")
    index, _, label = str(key or "").partition(":")
    known = index.isdigit() and int(index) < len(comparison.pairs)
    if not known or label not in ("original", "unlearned"):
        raise WorkbenchError("pick one of the motions of the comparison shown")
    return getattr(comparison.pairs[int(index)], label)


# --- the service --------------------------------------------------------------------------------


class Workbench:
    """Models, one background job (training or evaluation), comparison and export.

    ``checkpoints_dir`` holds ``t2m/RUN`` folders; ``output_dir`` receives exports. ``device``:
    "auto" (CUDA when available), "cpu" or "cuda". ``text_encoder``: shared by every model
    (default: the process-wide one). ``threads``: torch threads of the job thread.
    """

    def __init__(
        self,
        checkpoints_dir: str | Path = ck.DEFAULT_CHECKPOINTS_DIR,
        output_dir: str | Path = DEFAULT_OUTPUT_DIR,
        device: str = "auto",
        text_encoder: TextEncoder | None = None,
        threads: int | None = None,
        motion_writers: MotionWriters | None = None,
    ) -> None:
        """``motion_writers``: the BVH / mesh / NPY writers of ``export_motion`` (app.py passes
        ``viz.export``); without them motion exports are refused."""
        self.checkpoints_dir = Path(checkpoints_dir)
        self.motion_writers = motion_writers
        self.output_dir = Path(output_dir)
        self.device = pick_device(device)
        self.threads = threads or background_threads()
        self._text_encoder = text_encoder
        self.training = BackgroundJob("training")
        self.evaluation = BackgroundJob("evaluation")
        self._start_lock = threading.Lock()  # check-and-start of jobs is atomic
        # One lock per cache, so a long load (the evaluation's reference set, a model) blocks
        # only who needs that cache: the page's model list and status stay responsive.
        self._cache_lock = threading.RLock()  # _last, _last_metrics
        self._describe_lock = threading.Lock()  # _described (checkpoint metadata)
        self._model_lock = threading.RLock()  # _generators, _runs (run models load their base)
        self._context_lock = threading.Lock()  # _contexts (evaluator + reference set)
        self._generators: OrderedDict[tuple, MotionGenerator] = OrderedDict()
        self._runs: OrderedDict[tuple, tuple[MotionGenerator, dict]] = OrderedDict()
        self._described: dict[str, tuple[tuple, dict[str, Any]]] = {}  # file -> (stamp, info)
        self._contexts: dict[tuple, tuple[EvalContext, Path]] = {}  # (context, evaluator)
        self._last: TrainedModel | None = None
        self._last_metrics: dict[str, Any] | None = None

    @property
    def text_encoder(self) -> TextEncoder:
        if self._text_encoder is None:
            self._text_encoder = shared_text_encoder(self.device)
        return self._text_encoder

    # --- models -------------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """Base models and ESD runs (``checkpoints/t2m/*``, then bundled ``assets/*``).

        A folder deleted while listing is skipped; an unreadable checkpoint is listed with
        ``error`` set instead of failing the whole list.
        """
        infos = []
        for entry in ck.list_models(self.checkpoints_dir):
            if entry.paths.root.is_dir():
                infos.append(self._info(entry))
        return infos

    def base_model_names(self) -> list[str]:
        return [m.name for m in ck.list_models(self.checkpoints_dir) if m.kind == "base"]

    def run_names(self) -> list[str]:
        return [m.name for m in ck.list_models(self.checkpoints_dir) if m.kind == "esd"]

    @user_errors
    def model_info(self, name: str) -> ModelInfo:
        """The entry of ``name``; WorkbenchError when it does not exist (any more)."""
        return self._info(self._entry(name))

    @user_errors
    def metrics(self, name: str) -> dict[str, Any] | None:
        """The model's evaluation/metrics.json, or None when it was not evaluated yet."""
        return _read_json(output_dir(self._entry(name).name, self.checkpoints_dir) / METRICS_NAME)

    def _entry(self, name: str) -> ck.ModelEntry:
        ck.validate_name(str(name or ""))
        for entry in ck.list_models(self.checkpoints_dir):
            if entry.name == name:
                return entry
        if ck.run_paths(self.checkpoints_dir, name).model_dir.is_dir():
            raise WorkbenchError(
                f"model {name!r} has no checkpoint yet (still training its first epoch, or its "
                "training failed or was stopped before the first step); wait or pick another"
            )
        raise WorkbenchError(
            f"model {name!r} does not exist (any more): was its folder deleted? refresh the list"
        )

    def _info(self, entry: ck.ModelEntry) -> ModelInfo:
        common = {"name": entry.name, "kind": entry.kind, "bundled": entry.bundled}
        common["path"] = str(entry.paths.root)
        try:
            fields = self._describe(entry)
            metrics = _read_json(output_dir(entry.name, self.checkpoints_dir) / METRICS_NAME)
        except (ValueError, OSError) as err:
            return ModelInfo(**common, error=one_line(err))
        return ModelInfo(**common, **copy.deepcopy(fields), metrics=metrics)

    def _describe(self, entry: ck.ModelEntry) -> dict[str, Any]:
        """Checkpoint metadata of a model, cached per file until it changes (reading a .tar
        takes time; latest.tar is rewritten every epoch)."""
        file = ck.default_checkpoint(entry.paths)
        extra = entry.paths.root / REQUEST_FILE
        stamp = (_stamp(file), _stamp(extra) if extra.is_file() else None)
        with self._describe_lock:
            cached = self._described.get(str(file))
            if cached is None or cached[0] != stamp:
                payload = ck.load_checkpoint(file, kind=("base", "esd"))
                cached = (stamp, _describe_payload(entry, payload))
                self._described[str(file)] = cached
            fields = dict(cached[1])
        if fields["created"] is None:
            modified = time.localtime(file.stat().st_mtime)
            fields["created"] = time.strftime("%Y-%m-%d %H:%M:%S", modified)
        return fields

    # --- loading (cached, shared read-only) ---------------------------------------------------

    @user_errors
    def base_generator(self, name: str, ckpt: str | None = None) -> MotionGenerator:
        """The base model ``name`` (checkpoint ``ckpt``), loaded once and shared."""
        entry = self._entry(name)
        if entry.kind != "base":
            raise WorkbenchError(f"{name} is an unlearned run, not a base model; pick a base model")
        file = ck.resolve_checkpoint(entry.paths, ckpt)
        key = (name, str(file.resolve()), _stamp(file), str(self.device))
        with self._model_lock:
            if key not in self._generators:
                self._generators[key] = self._load(name, file)
                while len(self._generators) > GENERATOR_CACHE:
                    self._generators.popitem(last=False)
            self._generators.move_to_end(key)
            return self._generators[key]

    def _load(self, name: str, file: Path) -> MotionGenerator:
        """A foreign architecture raises CheckpointError there (a user error, see user_errors)."""
        return MotionGenerator.from_checkpoint(
            name, file, self.checkpoints_dir, self.device, self.text_encoder
        )

    @user_errors
    def run_generator(self, run_name: str) -> tuple[MotionGenerator, dict[str, Any]]:
        """The unlearned model of a run (its overlay on its cached base) and its base reference."""
        entry = self._entry(run_name)
        if entry.kind != "esd":
            raise WorkbenchError(f"{run_name} is a base model, not an unlearned run")
        file = entry.paths.latest
        key = (str(file.resolve()), _stamp(file), str(self.device))
        with self._model_lock:
            if key not in self._runs:
                payload = ck.load_checkpoint(file, kind="esd")
                base_ref = dict(payload.get("base") or {})
                if not base_ref.get("name"):
                    raise WorkbenchError(f"{file} does not name its base model; retrain the run")
                base = self.base_generator(base_ref["name"], base_ref.get("ckpt"))
                erased = base.with_denoiser(apply_denoiser_overlay(base.denoiser, payload))
                self._runs[key] = (erased, base_ref)
                while len(self._runs) > RUN_CACHE:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            return self._runs[key]

    def _model_generator(self, name: str) -> MotionGenerator:
        """Any model by name: a base model, or an ESD run rebuilt over its base."""
        if self._entry(name).kind == "esd":
            return self.run_generator(name)[0]
        return self.base_generator(name)

    # --- jobs ---------------------------------------------------------------------------------

    def snapshot(self) -> JobSnapshot:
        """The training job's progress (an immutable copy; poll it from the UI)."""
        return self.training.snapshot()

    def evaluation_snapshot(self) -> JobSnapshot:
        """The evaluation job's progress (an immutable copy)."""
        return self.evaluation.snapshot()

    def stop(self) -> str:
        """Stop the training before its next step (latest.tar is written); no-op when idle."""
        return self.training.stop()[1]

    def stop_evaluation(self) -> str:
        """Stop the evaluation after its current batch (nothing is written); no-op when idle."""
        return self.evaluation.stop()[1]

    def wait(self, timeout: float) -> JobSnapshot:
        """Wait up to ``timeout`` s for the training thread to end; its snapshot."""
        self.training.wait(timeout)
        return self.training.snapshot()

    def wait_evaluation(self, timeout: float) -> JobSnapshot:
        """Wait up to ``timeout`` s for the evaluation thread to end; its snapshot."""
        self.evaluation.wait(timeout)
        return self.evaluation.snapshot()

    def _ensure_idle(self) -> None:
        for job in (self.training, self.evaluation):
            snap = job.snapshot()
            if snap.active:
                where = f"step {snap.step}/{snap.total}" if snap.total else snap.state
                raise BusyError(
                    f"one job at a time: the {snap.kind} of {snap.run_name} is running "
                    f"({where}); wait for it to finish or stop it first"
                )

    # --- training -----------------------------------------------------------------------------

    @user_errors
    def start_training(self, request: TrainingRequest) -> JobSnapshot:
        """Validate ``request``, prepare the run folder, and train in the background.

        Raises WorkbenchError for a bad request or an existing run folder (unless ``overwrite``
        or ``auto_suffix``), BusyError while a job runs. Poll ``snapshot()`` afterwards.
        """
        cfg = training_config(request)
        request = replace(
            request,
            concept=cfg.concepts[0],
            related=as_texts("related concepts", request.related, MAX_RELATED),
            variants=cfg.variants,
            seconds=cfg.seconds,
        )
        if not str(request.base_model or "").strip():
            raise WorkbenchError(
                "no base model chosen: pick one (base models live in checkpoints/t2m/NAME/model/)"
            )
        base = self._entry(str(request.base_model).strip())
        if base.kind != "base":
            raise WorkbenchError(f"{base.name} is an unlearned run; erase from a base model")
        with self._start_lock:
            self._ensure_idle()
            run = self._new_run_folder(request, cfg)
            ck.write_opt(run.opt_file, _options(request, cfg, run, base.paths.root))
            request_text = json.dumps(asdict(request), indent=2) + "\n"
            (run.root / REQUEST_FILE).write_text(request_text, encoding="utf-8")
            task = _TrainingTask(self, request, cfg, run, base)
            task.log(f"ESD from the workbench on {self.device}: {json.dumps(asdict(cfg))}")
            return self.training.start(
                task, run.name, f"loading base model {base.name}", self.threads, task.failed
            )

    def _new_run_folder(self, request: TrainingRequest, cfg: ESDConfig) -> ck.RunPaths:
        """``{BASE}_ESD_{SLUG}`` (or the first free ``_2``, ``_3``...) with model/ created."""
        name = ck.esd_run_name(request.base_model, list(cfg.concepts))
        run = ck.run_paths(self.checkpoints_dir, name)
        if run.root.exists() and request.auto_suffix:
            free = (
                ck.run_paths(self.checkpoints_dir, f"{name}_{i}") for i in range(2, MAX_SUFFIX + 1)
            )
            run = next((r for r in free if not r.root.exists()), run)
        if run.root.exists():
            if not request.overwrite:
                raise WorkbenchError(
                    f"run {run.name} already exists: choose overwrite to replace it, or "
                    "auto-suffix to keep it and train a new one beside it"
                )
            shutil.rmtree(run.root)
            with self._cache_lock:
                if self._last is not None and self._last.run_name == run.name:
                    self._last = None
        run.model_dir.mkdir(parents=True)
        return run

    def _remember(self, trained: TrainedModel) -> None:
        """Keep the student of the last finished/stopped job for ``compare(run_name=None)``."""
        with self._cache_lock:
            self._last = trained

    # --- comparison ---------------------------------------------------------------------------

    @user_errors
    def compare(
        self,
        base_name: str | None,
        run_name: str | None,
        prompts: str | Sequence[str],
        seconds: float = COMPARE_SECONDS,
        seed: int = 0,
        steps: int = DEFAULT_STEPS,
        guidance: float = DEFAULT_GUIDANCE,
    ) -> Comparison:
        """Original and unlearned motions of every prompt, generated from identical noise.

        ``run_name`` None uses the student of the last finished/stopped training job.
        ``base_name`` None uses the run's own base; another base is refused (the unlearned model
        only exists on top of the base it was erased from). ``prompts``: a list, or one text
        with a prompt per line (at most MAX_PROMPTS).
        """
        texts = as_texts("prompts", prompts, MAX_PROMPTS)
        if not texts:
            raise WorkbenchError("give at least one prompt, such as 'a person kicking'")
        seconds = as_number("seconds", seconds, MIN_SECONDS, MAX_SECONDS)
        seed = as_integer("seed", seed, 0, MAX_SEED)
        steps = as_integer("DDIM steps", steps, MIN_DDIM_STEPS, TRAIN_STEPS)
        guidance = as_number("guidance", guidance, 0.0, MAX_GUIDANCE)
        unlearned, label, base_ref = self._unlearned(run_name)
        if base_name and base_name != base_ref["name"]:
            raise WorkbenchError(
                f"{label} was erased from {base_ref['name']}, not {base_name}; compare it with "
                f"{base_ref['name']}"
            )
        base = self.base_generator(base_ref["name"], base_ref.get("ckpt"))
        kwargs = {"seconds": seconds, "seed": seed, "num_steps": steps, "guidance_scale": guidance}
        original = _clips(base.generate(texts, **kwargs), "original", base_ref["name"])
        erased = _clips(unlearned.generate(texts, **kwargs), "unlearned", label)
        pairs = tuple(ComparisonPair(p, o, u) for p, o, u in zip(texts, original, erased))
        return Comparison(base_ref["name"], label, seed, seconds, steps, guidance, pairs)

    def _unlearned(self, run_name: str | None) -> tuple[MotionGenerator, str, dict[str, Any]]:
        """(generator, label, base reference) of a saved run or of the last job's student."""
        if run_name:
            generator, base_ref = self.run_generator(run_name)
            return generator, run_name, base_ref
        with self._cache_lock:
            last = self._last
        if last is None:
            raise WorkbenchError("no unlearned model yet: train one, or pick a saved run")
        base = self.base_generator(last.base_ref["name"], last.base_ref.get("ckpt"))
        return base.with_denoiser(last.denoiser), f"{last.run_name} (in memory)", last.base_ref

    # --- evaluation ---------------------------------------------------------------------------

    @user_errors
    def start_evaluation(self, request: EvaluationRequest) -> JobSnapshot:
        """Measure a model (against its baseline) in the background.

        Poll ``evaluation_snapshot()``; when it finishes, ``evaluation/metrics.json`` and
        ``REPORT.md`` of the model are written (``metrics(name)`` / ``last_metrics()``).
        """
        settings = evaluation_settings(request)
        with self._cache_lock:
            last = self._last.run_name if self._last is not None else None
        name = request.model or last
        if not name:
            raise WorkbenchError("nothing to evaluate yet: train a model first, or pick one")
        entry = self._entry(name)
        target, related, baseline = self._evaluation_targets(entry, request)
        self._instruments(request)  # a missing evaluator / reference set: refused up front
        with self._start_lock:
            self._ensure_idle()
            task = _EvaluationTask(self, entry, request, settings, target, related, baseline)
            return self.evaluation.start(
                task, entry.name, "loading the evaluator and the reference set", self.threads
            )

    def _evaluation_targets(
        self, entry: ck.ModelEntry, request: EvaluationRequest
    ) -> tuple[str, tuple[str, ...], str | None]:
        """(target concept, related concepts, baseline name) with the run's own defaults."""
        info = self._info(entry)
        if info.error:
            raise WorkbenchError(info.error)
        concepts = info.settings.get("concepts") or [DEFAULT_TARGET]
        target = as_text("target concept", request.target or concepts[0])
        default_related = info.settings.get("related") or DEFAULT_RELATED
        related = as_texts("related concepts", request.related or default_related, MAX_RELATED)
        if target in related:
            raise WorkbenchError("a related concept repeats the target concept; remove it")
        baseline = info.base if request.baseline is None else (request.baseline or None)
        if baseline is not None:
            self._entry(baseline)
        return target, related, baseline

    def _instruments(self, request: EvaluationRequest) -> tuple[Path, str | Path]:
        """(evaluator file, reference: a .npz file or a data folder); WorkbenchError if absent."""
        evaluator = resolve_evaluator(request.evaluator, self.checkpoints_dir)
        reference = request.data_root or request.reference or default_reference(evaluator)
        if request.data_root and not Path(request.data_root).is_dir():
            raise WorkbenchError(f"data folder not found: {request.data_root}")
        if not request.data_root and not Path(reference).is_file():
            raise WorkbenchError(f"reference set not found: {reference}")
        return evaluator, reference

    def evaluation_context(self, request: EvaluationRequest) -> tuple[EvalContext, Path]:
        """Evaluator, recogniser and reference set (``instruments.load_context``), cached."""
        evaluator, reference = self._instruments(request)
        key = (str(evaluator), _stamp(evaluator), str(reference), bool(request.data_root))
        if not request.data_root:
            key += (_stamp(Path(reference)),)
        with self._context_lock:
            if key not in self._contexts:
                self._contexts = {  # one context at a time: it holds the reference set
                    key: load_context(
                        self.checkpoints_dir,
                        evaluator,
                        request.data_root,
                        request.reference,
                        self.device,
                    )
                }
            return self._contexts[key]

    def _model_fields(self, name: str) -> dict[str, Any]:
        """{"name", "ckpt", "kind"} of a model, as metrics.json records it."""
        entry = self._entry(name)
        return {"name": name, "ckpt": str(ck.default_checkpoint(entry.paths)), "kind": entry.kind}

    def _store_metrics(self, metrics: dict[str, Any]) -> None:
        with self._cache_lock:
            self._last_metrics = metrics

    def last_metrics(self) -> dict[str, Any] | None:
        """A copy of the metrics of the last finished evaluation (None before one)."""
        with self._cache_lock:
            return copy.deepcopy(self._last_metrics)

    # --- export -------------------------------------------------------------------------------

    @user_errors
    def export_checkpoint(self, run_name: str | None = None, standalone: bool = True) -> Path:
        """Write a downloadable .tar of a run under ``{output_dir}/exports/`` and return it.

        ``standalone`` (default): the full base payload with the erased denoiser (reload with
        ``MotionGenerator.from_payload``); else the overlay (trained tensors + base name). See
        the module docstring. ``run_name`` None: the run of the last training job. An export
        written after the run's ``latest.tar`` last changed is returned as it is (showing a run
        prepares its download; this keeps that from rewriting ~34 MB every time).
        """
        with self._cache_lock:
            last = self._last.run_name if self._last is not None else None
        name = run_name or last
        if not name:
            raise WorkbenchError("nothing to export yet: train a model first, or pick a saved run")
        entry = self._entry(name)
        if entry.kind != "esd":
            raise WorkbenchError(f"{name} is a base model; pick an unlearned run to export")
        snap = self.training.snapshot()
        if snap.active and snap.run_name == name:
            raise WorkbenchError(f"{name} is still training; wait for it to finish or stop it")
        folder = self.output_dir / EXPORTS
        kind = "standalone" if standalone else "overlay"
        path = folder / f"{safe_filename(name, 120, 'model', keep_case=True)}_{kind}.tar"
        if path.resolve().parent != folder.resolve():  # cannot happen with a safe file name
            raise WorkbenchError(f"refusing to write outside {folder}")
        if _newer_than(path, entry.paths.latest):  # written since the run last changed: reuse
            return path
        payload = ck.load_checkpoint(entry.paths.latest, kind="esd")
        for key in ("optimizer", "format"):  # resuming state; the tag is rewritten on save
            payload.pop(key, None)
        if standalone:
            generator, base_ref = self.run_generator(name)
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

    @user_errors
    def export_motion(
        self,
        comparison: Comparison | None,
        key: str | None,
        fmt: str,
        pose_seconds: float | None = None,
    ) -> list[Path]:
        """Write one motion of a comparison under ``{output_dir}/motions/``; the files written.

        ``key``: from ``motion_choices``; ``fmt``: a ``MOTION_FORMATS`` key. "glb-pose" takes
        the pose at ``pose_seconds`` (None: the middle frame); "npy" writes two files,
        ``STEM_joints.npy`` (T, 22, 3) and ``STEM_features.npy`` (T, 263). File names come
        from the prompt, the label and the seed through ``safe_filename``.
        """
        fmt = as_choice("motion format", fmt, tuple(MOTION_FORMATS))
        clip = pick_clip(comparison, key)
        writers = self.motion_writers
        if writers is None:
            raise WorkbenchError("motion export is off: this workbench was built without writers")
        assert comparison is not None  # pick_clip raised otherwise
        folder = self.output_dir / MOTIONS
        stem = safe_filename(f"{clip.prompt} {clip.label} seed {comparison.seed}", max_len=80)
        path = folder / stem
        if path.resolve().parent != folder.resolve():  # cannot happen with a safe file name
            raise WorkbenchError(f"refusing to write outside {folder}")
        if fmt == "bvh":
            return [writers.write_bvh(path.with_suffix(".bvh"), clip.joints)]
        if fmt == "npy":
            return writers.write_npy(path, clip.joints, clip.features)
        if fmt == "glb-trail":
            return [writers.write_mesh(path.with_name(f"{stem}_trail.glb"), clip.joints)]
        last = (clip.frames - 1) / FPS
        when = last / 2 if pose_seconds is None else pose_seconds
        when = as_number("pose time", when, 0.0, last, " seconds (the length of the clip)")
        frame = round(when * FPS)
        return [
            writers.write_mesh(path.with_name(f"{stem}_pose_{frame:03d}.glb"), clip.joints, frame)
        ]


# --- the work of the job threads ----------------------------------------------------------------


class _TrainingTask:
    """What the training thread runs: load the base, run ESD, remember the student."""

    def __init__(
        self,
        bench: Workbench,
        request: TrainingRequest,
        cfg: ESDConfig,
        run: ck.RunPaths,
        base: ck.ModelEntry,
    ) -> None:
        self.bench, self.request, self.cfg, self.run = bench, request, cfg, run
        self.base_ref = {"name": base.name, "ckpt": ck.default_checkpoint(base.paths).name}
        self.log_file = run.logs_dir / TRAIN_LOG
        self.job = bench.training

    def log(self, message: str) -> None:
        _log_line(self.log_file, message)

    def failed(self, err: BaseException, trace: str) -> None:
        self.log(f"FAILED: {one_line(err)}\n{trace.rstrip()}")

    def status(self, message: str) -> None:
        self.job.update(message=message)
        self.log(message)

    def on_step(self, step: ESDStep) -> None:
        self.job.add_loss(step.loss)
        self.job.progress(
            step.step,
            step.total,
            state=RUNNING,
            epoch=step.epoch,
            checkpoint=str(self.run.latest) if self.run.latest.is_file() else None,
            message=f"step {step.step}/{step.total}, epoch {step.epoch}, loss {step.loss:.5f}",
        )
        if step.step % LOG_EVERY == 0 or step.step == step.total:
            self.log(f"step {step.step}/{step.total} epoch {step.epoch} loss {step.loss:.5f}")

    def __call__(self, job: BackgroundJob) -> JobOutcome:
        cfg = self.cfg
        generator = self.bench.base_generator(self.base_ref["name"], self.base_ref["ckpt"])
        if job.stop_requested:
            return JobOutcome(STOPPED, "stopped before training started; nothing was saved")
        latents = None
        if cfg.xt_source == "data":
            self.status(f"reading clips of the concept from {self.request.data_root}")
            latents = concept_latents(generator, Path(self.request.data_root), cfg.concepts)
        names = select_parameters(generator.denoiser, cfg.method)
        job.update(trainable=count_parameters(generator.denoiser, names))
        result = run_esd(
            generator,
            cfg,
            self.run,
            self.base_ref,
            on_step=self.on_step,
            on_status=self.status,
            stop=job.stop_event,
            data_latents=latents,
        )
        self.bench._remember(TrainedModel(self.run.name, self.base_ref, result.student))
        verb = "stopped" if result.stopped else "finished"
        message = f"{verb} at step {result.steps_done}/{result.total_steps}: {result.checkpoint}"
        self.log(message)
        return JobOutcome(
            STOPPED if result.stopped else FINISHED,
            message,
            {"checkpoint": str(result.checkpoint), "trainable": result.trainable},
        )


class _EvaluationTask:
    """What the evaluation thread runs: plan, generate, measure, write metrics.json."""

    def __init__(
        self,
        bench: Workbench,
        entry: ck.ModelEntry,
        request: EvaluationRequest,
        settings: EvalSettings,
        target: str,
        related: tuple[str, ...],
        baseline: str | None,
    ) -> None:
        self.bench, self.entry, self.request, self.settings = bench, entry, request, settings
        self.target, self.related, self.baseline = target, related, baseline
        self.done: dict[str, int] = {}  # motions generated per stage
        self.total = 0
        self.job = bench.evaluation

    def on_progress(self, stage: str, count: int, of: int) -> None:
        if self.job.stop_requested:
            raise _Cancelled
        self.done[stage] = count
        self.job.progress(
            sum(self.done.values()), self.total, state=RUNNING, message=f"{stage} {count}/{of}"
        )

    def __call__(self, job: BackgroundJob) -> JobOutcome:
        began = time.monotonic()
        bench, name = self.bench, self.entry.name
        context, evaluator_path = bench.evaluation_context(self.request)
        plan = make_plan(context, self.target, self.related, self.settings)
        job.update(message=f"loading {name}")
        model = bench._model_generator(name)
        other = bench._model_generator(self.baseline) if self.baseline else None
        self.total = sum(len(b) for b in plan.blocks()) * (2 if other is not None else 1)
        job.update(state=RUNNING, total=self.total, message="generating motions")
        try:
            metrics = run_evaluation(
                model,
                plan,
                context,
                self.settings,
                bench._model_fields(name),
                other,
                bench._model_fields(self.baseline) if self.baseline else None,
                self.on_progress,
            )
        except _Cancelled:
            return JobOutcome(STOPPED, "evaluation stopped; nothing was written")
        metrics["run"] = {  # not part of the measurement: differs between identical runs
            "evaluator": str(evaluator_path),
            "device": str(bench.device),
            "elapsed_s": round(time.monotonic() - began, 1),
        }
        out_dir = output_dir(name, bench.checkpoints_dir)
        write_outputs(metrics, out_dir, None)
        bench._store_metrics(metrics)
        path = out_dir / METRICS_NAME
        return JobOutcome(FINISHED, f"metrics written to {path}", {"result_path": str(path)})
