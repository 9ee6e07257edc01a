"""The workbench service: what the web UI (``app.py``) drives, usable and tested without any UI.

    wb = Workbench()                               # one per process (module level in app.py)
    wb.list_models()                               # base models and past runs, with settings
    wb.start_training(TrainingRequest(concept="a person kicking", iterations=200))
    wb.snapshot()                                  # poll: state, step/total, losses, ETA, ...
    wb.stop()                                      # cooperative: stops before the next step
    wb.compare(base, run, ["a person kicking"], seconds=4.0, seed=0)  # the model's sampler
    wb.start_evaluation(EvaluationRequest(model=run)); wb.evaluation_snapshot()
    wb.export_checkpoint(run)                      # outputs/exports/RUN_standalone.tar
    wb.export_motion(comparison, "0:unlearned", "bvh")  # outputs/motions/PROMPT_..._seed_0.bvh

``Workbench`` is the facade: it owns the jobs and the start lock, checks requests, and
delegates to one module per concern (all in ``esd/workbench/``):

* ``catalogue``: the model list, checkpoint metadata, loaded generators (cached, shared
  read-only) and the student of the last training job;
* ``run_folders``: the folder, opt.txt and request.json of a new training run;
* ``jobs`` and ``tasks``: ONE background job at a time, training or evaluation (the reference
  machine has two cores), in a daemon thread owned by a ``BackgroundJob``; a second start while
  a job runs raises ``BusyError``;
* ``evaluation_setup``: what an evaluation measures, its evaluator and reference set (cached);
* ``comparison``: original and unlearned motions from identical noise; it reads saved
  checkpoints (written atomically by the ESD loop) or the last job's student, so it may run
  while training;
* ``export``: checkpoint downloads (standalone / overlay) and motion files (BVH, GLB, NPY);
* ``user_input``: the typed requests, their limits and checks; ``presentation``: pure functions
  from the service's values to what the UI shows.

Threads. The service sets no process-wide state: torch's thread count is the program's, set
once at start-up (``app.main`` through ``esd.common.runtime.set_torch_threads``), so a job and a
comparison served meanwhile run with the same, documented count. Jobs run on CUDA when
available.

Errors meant for the user are ``WorkbenchError`` (a ValueError, ``esd.workbench.user_input``) with a
one-line message; the UI shows them as ``gr.Error`` / ``gr.Warning`` toasts.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

from esd.common.runtime import pick_device
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator
from esd.models.text.minilm import TextEncoder
from esd.workbench import export
from esd.workbench.catalogue import ModelCatalogue, ModelInfo
from esd.workbench.comparison import Comparison, compare
from esd.workbench.evaluation_setup import (
    ContextCache,
    evaluation_targets,
    evaluator_problem,
    family_settings,
    find_instruments,
)
from esd.workbench.export import MotionWriters
from esd.workbench.jobs import BackgroundJob, JobSnapshot, one_line
from esd.workbench.recognition_notes import comparison_notes
from esd.workbench.run_folders import check_data_source, new_run_folder, resume_request
from esd.workbench.run_status import TRAINING
from esd.workbench.tasks import EvaluationTask, TrainingTask
from esd.workbench.user_input import (
    COMPARE_SECONDS,
    MAX_RELATED,
    BusyError,
    EvaluationRequest,
    TrainingRequest,
    WorkbenchError,
    as_texts,
    evaluation_settings,
    training_config,
)

DEFAULT_OUTPUT_DIR = Path("outputs")  # exports go to outputs/exports/, motions to motions/

T = TypeVar("T")


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


class Workbench:
    """Models, one background job (training or evaluation), comparison and export.

    ``checkpoints_dir`` holds ``t2m/RUN`` folders; ``output_dir`` receives exports. ``device``:
    "auto" (CUDA when available), "cpu" or "cuda". ``text_encoder``: shared by every
    bundled-family model (default: the process-wide one; SALAD models use their CLIP).
    ``motion_writers``: the BVH / mesh / NPY / animated GLB writers of ``export_motion``
    (app.py passes ``viz.export``); without them motion exports are refused. ``clip_path``: the
    CLIP folder of SALAD models (default ``{checkpoints_dir}/clip-vit-base-patch32``; a
    hub-cache entry works).

    Parts: ``models`` (the ``ModelCatalogue``), ``contexts`` (evaluator and reference set),
    ``training`` and ``evaluation`` (the two ``BackgroundJob``; one runs at a time).
    """

    def __init__(
        self,
        checkpoints_dir: str | Path = ck.DEFAULT_CHECKPOINTS_DIR,
        output_dir: str | Path = DEFAULT_OUTPUT_DIR,
        device: str = "auto",
        text_encoder: TextEncoder | None = None,
        motion_writers: MotionWriters | None = None,
        clip_path: str | Path | None = None,
    ) -> None:
        self.checkpoints_dir = Path(checkpoints_dir)
        self.output_dir = Path(output_dir)
        self.device = pick_device(device)
        self.motion_writers = motion_writers
        clip = Path(clip_path) if clip_path else None
        self.models = ModelCatalogue(self.checkpoints_dir, self.device, text_encoder, clip)
        self.contexts = ContextCache(self.checkpoints_dir, self.device)
        self.training = BackgroundJob("training")
        self.evaluation = BackgroundJob("evaluation")
        self._start_lock = threading.Lock()  # check-and-start of jobs is atomic
        self._metrics_lock = threading.Lock()  # _last_metrics
        self._last_metrics: dict[str, Any] | None = None
        self._training_request: TrainingRequest | None = None  # of the last training job

    @property
    def text_encoder(self) -> TextEncoder:
        return self.models.text_encoder

    # --- models -------------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """Base models and ESD runs (``checkpoints/t2m/*``, then bundled ``assets/*``); an
        unreadable checkpoint is listed with ``error`` set, every run with its ``status``
        (``esd.workbench.run_status``; the run being trained now reads "training")."""
        infos = self.models.list_models()
        snap = self.training.snapshot()
        if not snap.active:
            return infos
        note = f"step {snap.step}/{snap.total}" if snap.total else snap.state
        return [
            replace(i, status=TRAINING, status_note=note) if i.name == snap.run_name else i
            for i in infos
        ]

    def base_model_names(self) -> list[str]:
        """Base models that can be erased from (a refused checkpoint is left out)."""
        return self.models.names("base")

    def run_names(self) -> list[str]:
        """Runs that can be compared, evaluated and exported (not broken, not failed)."""
        return self.models.names("esd")

    def all_run_names(self) -> list[str]:
        """Every run folder, usable or not (the Runs tab: resume, delete)."""
        return [i.name for i in self.list_models() if i.kind == "esd" and not i.bundled]

    @user_errors
    def model_info(self, name: str) -> ModelInfo:
        """The entry of ``name``; WorkbenchError when it does not exist (any more)."""
        return self.models.info(self.models.entry(name))

    @user_errors
    def usable_model(self, name: str) -> ModelInfo:
        """The entry of ``name``; WorkbenchError in one line when it does not exist (any more),
        its checkpoint is refused, or it is a broken or failed run."""
        return self.models.usable_info(name)

    @user_errors
    def metrics(self, name: str) -> dict[str, Any] | None:
        """The model's evaluation/metrics.json, or None when it was not evaluated yet."""
        return self.models.metrics(name)

    @user_errors
    def base_generator(self, name: str, ckpt: str | None = None) -> MotionGenerator:
        """The base model ``name`` (checkpoint ``ckpt``), loaded once and shared."""
        return self.models.base_generator(name, ckpt)

    @user_errors
    def run_generator(self, run_name: str) -> tuple[MotionGenerator, dict[str, Any]]:
        """The unlearned model of a run (its overlay on its cached base) and its base reference."""
        return self.models.run_generator(run_name)

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
        base = self.models.entry(str(request.base_model).strip())
        if base.kind != "base":
            raise WorkbenchError(f"{base.name} is an unlearned run; erase from a base model")
        self.models.usable_info(base.name)  # a refused checkpoint: one line, no folder
        if cfg.xt_source == "data":
            check_data_source(request.data_root)  # before any folder is created
        with self._start_lock:
            self._ensure_idle()
            run = new_run_folder(
                self.checkpoints_dir, request, cfg, base.paths.root, self.models.forget
            )
            return self._start_task(
                TrainingTask(self.models, self.training, request, cfg, run, base)
            )

    @user_errors
    def resume_training(self, run_name: str) -> JobSnapshot:
        """Continue a stopped or interrupted run from its latest.tar to its planned steps."""
        info = self.models.info(self.models.entry(run_name))
        if info.status == "trained":
            raise WorkbenchError(f"{run_name} already finished its {info.steps} steps")
        if info.steps is None or info.steps < 1 or info.status == "broken":
            raise WorkbenchError(f"{run_name} cannot be resumed: {info.status_note or info.error}")
        paths = ck.run_paths(self.checkpoints_dir, run_name)
        request, cfg = resume_request(paths)
        base = self.models.entry(request.base_model)
        with self._start_lock:
            self._ensure_idle()
            task = TrainingTask(self.models, self.training, request, cfg, paths, base, resume=True)
            return self._start_task(task)

    def _start_task(self, task: TrainingTask) -> JobSnapshot:
        """Start a training task (the start lock is held); remember its request for the form."""
        verb = "resumed" if task.resume else "started"
        task.log(f"ESD {verb} from the workbench on {self.device}: {json.dumps(asdict(task.cfg))}")
        self._training_request = task.request
        base = task.base_ref["name"]
        return self.training.start(task, task.run.name, f"loading base model {base}", task.failed)

    def training_request(self) -> TrainingRequest | None:
        """The request of the training job now running (None when none runs): a reloaded page
        shows its settings in the form."""
        return self._training_request if self.training.active else None

    @user_errors
    def delete_run(self, run_name: str) -> str:
        """Delete a run folder of ``checkpoints/t2m``; refused for the run a job uses now, for a
        base model and for anything outside the checkpoints folder. Returns what was deleted."""
        ck.validate_name(str(run_name or ""))
        root = (self.checkpoints_dir / ck.DATASET_NAME).resolve()
        folder = root / run_name
        if folder.is_symlink() or folder.resolve().parent != root or not folder.is_dir():
            raise WorkbenchError(f"no run {run_name!r} in {root}: nothing deleted")
        if "_ESD_" not in run_name or not (folder / "model").is_dir():
            raise WorkbenchError(f"{run_name} is not an unlearned run; only runs are deleted here")
        with self._start_lock:  # no job starts on it meanwhile
            for job in (self.training, self.evaluation):
                snap = job.snapshot()
                if snap.active and snap.run_name == run_name:
                    raise BusyError(
                        f"{run_name} is in use by the running {snap.kind}; stop it first"
                    )
            shutil.rmtree(folder)
        self.models.forget(run_name)
        return f"deleted {folder}"

    # --- comparison ---------------------------------------------------------------------------

    @user_errors
    def compare(
        self,
        base_name: str | None,
        run_name: str | None,
        prompts: str | Sequence[str],
        seconds: float = COMPARE_SECONDS,
        seed: int = 0,
        steps: int | None = None,
        guidance: float | None = None,
        plant_feet: bool = False,
    ) -> Comparison:
        """Original and unlearned motions of every prompt, from identical noise
        (``esd.workbench.comparison.compare``; ``run_name`` None: the last job's student;
        ``steps`` / ``guidance`` None: the model's own sampler settings; ``plant_feet``: feet
        on the floor held still, ``esd.motion.foot_plant``)."""
        result = compare(
            self.models, base_name, run_name, prompts, seconds, seed, steps, guidance, plant_feet
        )
        return self._with_notes(result)

    def _with_notes(self, result: Comparison) -> Comparison:
        """The comparison with the recogniser's note under each pair (``recognition_notes``);
        without an evaluator the notes are skipped and ``notes_skipped`` says why."""
        try:
            context, evaluator = self.contexts.get(EvaluationRequest())
        except (ValueError, OSError) as err:
            return replace(result, notes_skipped=f"no recogniser notes: {one_line(err)}")
        problem = evaluator_problem(context, evaluator)
        if problem is not None:
            return replace(result, notes_skipped=f"no recogniser notes: {problem}")
        pairs = [(p.original.features, p.unlearned.features) for p in result.pairs]
        return replace(result, notes=comparison_notes(context, pairs))

    # --- evaluation ---------------------------------------------------------------------------

    @user_errors
    def start_evaluation(self, request: EvaluationRequest) -> JobSnapshot:
        """Measure a model (against its baseline) in the background.

        Poll ``evaluation_snapshot()``; when it finishes, ``evaluation/metrics.json`` and
        ``REPORT.md`` of the model are written (``metrics(name)`` / ``last_metrics()``).
        """
        settings = evaluation_settings(request)
        name = request.model or self.models.last_run_name()
        if not name:
            raise WorkbenchError("nothing to evaluate yet: train a model first, or pick one")
        targets = evaluation_targets(self.models, self.models.entry(name), request)
        settings = family_settings(settings, targets.family, request)  # its own sampler
        find_instruments(request, self.checkpoints_dir)  # a missing one: refused up front
        with self._start_lock:
            self._ensure_idle()
            task = EvaluationTask(
                self.models, self.contexts, self.evaluation, request, settings, targets,
                self._store_metrics,
            )  # fmt: skip
            return self.evaluation.start(
                task, targets.model, "loading the evaluator and the reference set"
            )

    def _store_metrics(self, metrics: dict[str, Any]) -> None:
        with self._metrics_lock:
            self._last_metrics = metrics

    def last_metrics(self) -> dict[str, Any] | None:
        """A copy of the metrics of the last finished evaluation (None before one)."""
        with self._metrics_lock:
            return copy.deepcopy(self._last_metrics)

    # --- export -------------------------------------------------------------------------------

    @user_errors
    def export_checkpoint(self, run_name: str | None = None, standalone: bool = True) -> Path:
        """Write a downloadable .tar of a run under ``{output_dir}/exports/`` and return it.

        ``standalone`` (default): the full base payload with the erased denoiser (reload with
        ``MotionGenerator.from_payload``); else the overlay (trained tensors + base name); see
        ``esd.workbench.export``. ``run_name`` None: the run of the last training job. A run
        still training is refused.
        """
        name = run_name or self.models.last_run_name()
        if not name:
            raise WorkbenchError("nothing to export yet: train a model first, or pick a saved run")
        snap = self.training.snapshot()
        training = snap.run_name if snap.active else None
        return export.export_checkpoint(self.models, self.output_dir, name, standalone, training)

    @user_errors
    def export_motion(
        self,
        comparison: Comparison | None,
        key: str | None,
        fmt: str,
        pose_seconds: float | None = None,
    ) -> list[Path]:
        """Write one motion of a comparison under ``{output_dir}/motions/``; the files written
        (``esd.workbench.export.export_motion``: ``key`` from ``motion_choices``, ``fmt`` a
        ``MOTION_FORMATS`` key, ``pose_seconds`` the pose of "glb-pose")."""
        return export.export_motion(
            self.motion_writers, self.output_dir, comparison, key, fmt, pose_seconds
        )
