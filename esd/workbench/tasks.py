"""The work of the two background jobs (``BackgroundJob`` threads of ``esd.workbench.jobs``).

``TrainingTask``: load the base model (any family: a SALAD base trains its cross-attention like
the bundled one), take the data source's latents and run ESD with the library calls of
``python -m esd.train`` (``esd.erasure.concept_clips.source_latents``,
``esd.erasure.loop.run_esd``) while reporting every step to the job and every LOG_EVERY steps to
the run's ``logs/train.log``, then remember the student in the catalogue. ``EvaluationTask``:
plan, generate with the model (and its baseline), measure
(``esd.evaluation.protocol.run_evaluation``) and write ``metrics.json`` and ``REPORT.md``. Both
stop cooperatively when the job's stop is requested.

Neither touches process-wide settings (torch threads, the allocator): the program sets those
once at start-up (``esd.common.runtime``), so a job never changes how a comparison served
meanwhile runs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from esd.erasure.concept_clips import source_latents
from esd.erasure.config import ESDConfig
from esd.erasure.loop import ESDStep, run_esd
from esd.evaluation.instruments import METRICS_NAME, output_dir, write_outputs
from esd.evaluation.plan import make_plan
from esd.evaluation.protocol import run_evaluation
from esd.evaluation.settings import EvalSettings
from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import count_parameters, select_parameters
from esd.workbench.catalogue import ModelCatalogue, TrainedModel
from esd.workbench.evaluation_setup import ContextCache, EvaluationTargets, evaluator_problem
from esd.workbench.jobs import (
    FINISHED,
    RUNNING,
    STOPPED,
    BackgroundJob,
    JobOutcome,
    one_line,
)
from esd.workbench.run_status import write_status
from esd.workbench.user_input import EvaluationRequest, TrainingRequest, WorkbenchError

TRAIN_LOG = "train.log"  # inside the run's logs/
LOG_EVERY = 25  # training steps between two loss lines in train.log


def log_line(path: Path, message: str) -> None:
    """Append a timestamped line to a run's train.log (library code never prints)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


class _Cancelled(Exception):
    """Raised inside an evaluation's progress callback when a stop was requested."""


class TrainingTask:
    """What the training thread runs: load the base, run ESD (or resume it), remember the
    student. The run's status.json follows the job (``esd.workbench.run_status``)."""

    def __init__(
        self,
        models: ModelCatalogue,
        job: BackgroundJob,
        request: TrainingRequest,
        cfg: ESDConfig,
        run: ck.RunPaths,
        base: ck.ModelEntry,
        resume: bool = False,
    ) -> None:
        self.models, self.job, self.request, self.cfg, self.run = models, job, request, cfg, run
        self.base_ref = {"name": base.name, "ckpt": ck.default_checkpoint(base.paths).name}
        self.log_file = run.logs_dir / TRAIN_LOG
        self.resume = resume
        write_status(run.root, "running", "started from the workbench")

    def log(self, message: str) -> None:
        log_line(self.log_file, message)

    def failed(self, err: BaseException, trace: str) -> None:
        """The job's ``on_failure``: the error and its traceback go to train.log, the error to
        status.json (the Runs tab shows the run as failed)."""
        snap = self.job.snapshot()
        write_status(self.run.root, "failed", one_line(err), snap.step, snap.total)
        self.log(f"FAILED: {one_line(err)}\n{trace.rstrip()}")

    def nothing_saved(self, message: str) -> JobOutcome:
        """Stopped before any step: a new run's folder is removed (it holds no model), a
        resumed run keeps its checkpoint and reads as stopped."""
        if self.resume:
            write_status(self.run.root, "stopped", message)
        else:
            shutil.rmtree(self.run.root, ignore_errors=True)
        return JobOutcome(STOPPED, message)

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
        generator = self.models.base_generator(self.base_ref["name"], self.base_ref["ckpt"])
        if job.stop_requested:
            return self.nothing_saved("stopped before training started; nothing was saved")
        if cfg.xt_source == "data":
            self.status(f"reading clips of the concept from {self.request.data_root}")
        latents = source_latents(generator, cfg, Path(self.request.data_root))  # as the CLI
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
            resume=self.resume,
        )
        if result.checkpoint is None:  # stopped before a step: nothing worth keeping
            return self.nothing_saved("stopped before the first step; nothing was saved")
        trained_on = {**self.base_ref, "fingerprint": generator.fingerprint()}
        self.models.remember(TrainedModel(self.run.name, trained_on, result.student))
        verb = "stopped" if result.stopped else "finished"
        message = f"{verb} at step {result.steps_done}/{result.total_steps}: {result.checkpoint}"
        self.log(message)
        write_status(self.run.root, verb, message, result.steps_done, result.total_steps)
        return JobOutcome(
            STOPPED if result.stopped else FINISHED,
            message,
            {"checkpoint": str(result.checkpoint), "trainable": result.trainable},
        )


class EvaluationTask:
    """What the evaluation thread runs: plan, generate, measure, write metrics.json.

    ``on_metrics(metrics)`` receives the metrics once they are written."""

    def __init__(
        self,
        models: ModelCatalogue,
        contexts: ContextCache,
        job: BackgroundJob,
        request: EvaluationRequest,
        settings: EvalSettings,
        targets: EvaluationTargets,
        on_metrics: Callable[[dict[str, Any]], None],
    ) -> None:
        self.models, self.contexts, self.job = models, contexts, job
        self.request, self.settings, self.on_metrics = request, settings, on_metrics
        self.targets = targets
        self.done: dict[str, int] = {}  # motions generated per stage
        self.total = 0

    def on_progress(self, stage: str, count: int, of: int) -> None:
        if self.job.stop_requested:
            raise _Cancelled
        self.done[stage] = count
        self.job.progress(
            sum(self.done.values()), self.total, state=RUNNING, message=f"{stage} {count}/{of}"
        )

    def __call__(self, job: BackgroundJob) -> JobOutcome:
        began = time.monotonic()
        models, name, baseline = self.models, self.targets.model, self.targets.baseline
        context, evaluator_path = self.contexts.get(self.request)
        problem = evaluator_problem(context, evaluator_path)
        if problem is not None:
            raise WorkbenchError(problem)
        plan = make_plan(
            context,
            self.targets.target,
            self.targets.related,
            self.settings,
            self.targets.also_erased,
        )
        job.update(message=f"loading {name}")
        model = models.generator(name)
        other = models.generator(baseline) if baseline else None
        self.total = sum(len(b) for b in plan.blocks()) * (2 if other is not None else 1)
        job.update(state=RUNNING, total=self.total, message="generating motions")
        try:
            metrics = run_evaluation(
                model,
                plan,
                context,
                self.settings,
                models.model_fields(name),
                other,
                models.model_fields(baseline) if baseline else None,
                self.on_progress,
            )
        except _Cancelled:
            return JobOutcome(STOPPED, "evaluation stopped; nothing was written")
        metrics["run"] = {  # not part of the measurement: differs between identical runs
            "evaluator": str(evaluator_path),
            "device": str(models.device),
            "elapsed_s": round(time.monotonic() - began, 1),
        }
        out_dir = output_dir(name, models.checkpoints_dir)
        write_outputs(metrics, out_dir, None)
        self.on_metrics(metrics)
        path = out_dir / METRICS_NAME
        return JobOutcome(FINISHED, f"metrics written to {path}", {"result_path": str(path)})
