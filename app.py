"""ESD for Motion workbench: erase a concept from a text-to-motion model, watch, compare, export.

    python app.py [--host 127.0.0.1] [--port 7860] [--auth USER:PASSWORD | --auth FILE]
                  [--checkpoints_dir DIR] [--output_dir DIR] [--device auto|cpu|cuda]
                  [--clip_path DIR]

Models of every family under ``--checkpoints_dir`` are listed, erased, compared, evaluated and
exported alike, a SALAD ``checkpoints/`` folder included (its CLIP text encoder from
``<checkpoints_dir>/clip-vit-base-patch32`` or ``--clip_path``).

Layout and wiring only. The service (``esd.workbench.service.Workbench``: models, the one background
job, comparison, evaluation, export) and its pure helpers decide everything; ``viz`` draws.
One Workbench per process holds the shared read-only models and the job, so every browser (and
a reloaded page) sees the same running job; per-browser values (the last comparison, what the
poll last drew) live in ``gr.State``. A ``gr.Timer`` polls the job every 0.5 s and switches
itself off when the job ends; a tab whose start lost the race to another tab follows the job
that runs. Skeleton animations are drawn by ``Plotly.newPlot`` inside a ``gr.HTML``
(``gr.Plot`` drops animation frames in Gradio 6.31), with plotly.js served offline.

Pickers of runs and models accept any name (``allow_custom_value``): a script can name a run
that exists on disk without listing first, and the service refuses an unknown one in one line.

API names (``gradio_client``): start_training, poll_training, stop_training, resume_training,
compare, start_evaluation, poll_evaluation, stop_evaluation, show_run, export_checkpoint,
export_motion, list_runs, load_run, delete_run.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import gradio as gr
import pandas as pd

from esd.common.errors import one_line
from esd.common.runtime import (
    DEVICE_CHOICES,
    server_threads,
    set_torch_threads,
    tune_cpu_allocator,
)
from esd.erasure.config import METHODS, RECIPE, XT_SOURCES
from esd.evaluation.instruments import DEFAULT_RELATED, DEFAULT_TARGET
from esd.models import checkpoints as ck
from esd.models.text.clip import CLIP_FOLDER, resolve_clip_dir
from esd.motion.humanml3d import CORPUS_ROOT
from esd.motion.skeleton import MAX_SECONDS, MIN_SECONDS
from esd.workbench.comparison import comparison_prompts, motion_choices
from esd.workbench.export import MOTION_FORMATS
from esd.workbench.families import sampler_hint
from esd.workbench.jobs import FAILED, STOPPING
from esd.workbench.presentation import (
    METRICS_HEADERS,
    MODEL_HEADERS,
    default_base_model,
    metrics_rows,
    metrics_summary,
    model_rows,
    note_line,
    note_sides,
    progress_text,
    run_choices,
    run_prompts,
)
from esd.workbench.service import DEFAULT_OUTPUT_DIR, Workbench
from esd.workbench.user_input import (
    COMPARE_SECONDS,
    GUIDANCE_RANGE,
    LR_RANGE,
    MAX_AUTO_ANCHORS,
    MAX_BATCH_SIZE,
    MAX_SEED,
    MAX_TRAJECTORIES,
    PRESETS,
    RUN_LENGTH_UNITS,
    EvaluationRequest,
    TrainingRequest,
    WorkbenchError,
    as_choice,
    number_text,
    run_length,
)
from viz import export as viz_export
from viz.figures import loss_figure, pair_figure
from viz.skeleton import EMBED_HTML_TEMPLATE, EMBED_JS_ON_LOAD, figure_json, plotly_js_path

LOG = logging.getLogger("esd.app")
POLL_S = 0.5  # seconds between two polls of a running job
EXISTING_RUN = {  # what to do when the run folder exists: label -> policy
    "keep it, train a new one beside it (RUN_2, ...)": "suffix",
    "overwrite it": "overwrite",
    "refuse": "refuse",
}
CHECKPOINT_FORMATS = {  # label -> standalone?
    "standalone (the whole unlearned model)": True,
    "overlay (trained tensors; needs its base model)": False,
}
NO_DOWNLOAD = "Download unlearned checkpoint (.tar)"  # label of the disabled button
CSS = """
.motion-plot { min-height: 380px; }
#train-status, #eval-status { font-family: ui-monospace, monospace; white-space: pre-wrap; }
#download-ckpt, #download-ckpt * { white-space: normal !important; overflow-wrap: anywhere; }
#download-ckpt { height: auto !important; min-height: 2.5em; }
#runs-table th, #runs-table th * { white-space: nowrap !important; word-break: keep-all; }
#runs-table td { overflow-wrap: anywhere; }
.run-picker input { text-overflow: ellipsis; }
#delete-confirm { border: 1px solid var(--error-border-color, #ef4444); border-radius: 8px;
                  padding: 8px; }
"""
RUNS_COLUMN_PX = {  # widths of the Runs table's columns: the verdicts stay on screen, the
    "name": 250, "status": 210, "efficacy": 95, "preservation": 125, "specificity": 115,
    "concept rate": 125, "concept": 170, "method": 80, "η": 50, "lr": 80, "steps": 70,
    "batch": 65, "base": 230, "family": 190, "created": 175, "note": 250,
}  # settings after them scroll sideways  # fmt: skip
FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]  # local fonts: the app works offline
POLL = {"show_progress": "hidden", "concurrency_limit": None}  # timer ticks: quiet, never queued
# What shows "the run", in the order WorkbenchUI.show_run returns it: the comparison's run
# picker, the metrics' model picker, the checkpoint download, the target and related prompts,
# the metrics summary and table.
RUN_VIEW = ("run", "model", "download", "target", "related", "summary", "table")
FORM = (
    "base",
    "concept",
    "related",
    "eta",
    "lr",
    "unit",
    "count",
    "batch",
    "method",
    "anchors",
    "seed",
    "xt_source",
    "trajectories",
    "ddim_steps",
    "existing",
)  # training form, handler order
HELP = {  # info= lines of the fields (what a newcomer needs to choose)
    "base": "the text-to-motion model the concept is erased from",
    "concept": "the prompt whose motions the unlearned model must stop making",
    "related": "concepts that must survive the erasure: compared and evaluated beside it",
    "eta": f"negative guidance η, {number_text(GUIDANCE_RANGE[0])} to "
    f"{number_text(GUIDANCE_RANGE[1])}: 1 moves the concept to 'no prompt', more pushes it "
    "further away (stronger erasure, more collateral damage)",
    "lr": f"Adam learning rate, {number_text(LR_RANGE[0])} to {number_text(LR_RANGE[1])}; "
    "too high diverges (the run then fails with one line)",
    "unit": "iterations: optimizer steps; epochs: passes over the x_t samples",
    "count": "how many epochs or iterations",
    "batch": f"x_t samples per step, 1 to {MAX_BATCH_SIZE}",
    "method": "esd-x: cross-attention only (erases the prompt's effect, keeps the rest); "
    "esd-u: every layer but cross-attention (broader); full: every parameter",
    "anchors": f"0 to {MAX_AUTO_ANCHORS}: the concepts whose prompts the model's text encoder "
    "puts nearest the target are kept as they were (preservation term); 0: plain ESD",
    "seed": f"0 to {MAX_SEED}: same seed and settings, same run",
    "xt_source": "where the noisy latents x_t come from: pool: teacher trajectories sampled "
    "once (fast); teacher: sampled anew every step (slow, the ESD authors'); data: corpus "
    f"clips of the concept, noised (needs a corpus in {CORPUS_ROOT})",
    "trajectories": f"teacher trajectories in the pool, 1 to {MAX_TRAJECTORIES}",
    "ddim_steps": "DDIM steps of each teacher trajectory (x_t is recorded at every step)",
    "existing": "a run of the same base and concept already exists",
    "seconds": f"length of the compared motions, {number_text(MIN_SECONDS)} to "
    f"{number_text(MAX_SECONDS)} s",
    "samples": "prompts per block; empty: the preset's (quick: a first look, full: the "
    "reported setting)",
    "pose_s": "time of the GLB pose in seconds; empty: the middle of the motion",
    "compare_seed": "motion i of both models starts from the noise of seed + i",
    "compare_steps": "DDIM steps of the sampler (fewer: faster, rougher); empty: the model's "
    f"own sampler ({sampler_hint()})",
    "eval_seed": "seeds the prompts and the noise: same seed, same numbers",
    "plant_feet": "hold a foot on the floor still by correcting the root's path (no glide; "
    "the pose is kept), alike for both models; off: the motions as the models made them",
}

H = TypeVar("H", bound=Callable[..., Any])


class ChoiceRadio(gr.Radio):
    """A ``gr.Radio`` (same frontend: a template component) whose value the service checks:
    Gradio's own check logs a traceback for a value a script sends outside the choices; the
    service refuses it in one line (``as_choice``), like every other bad value."""

    is_template = True

    def preprocess(self, payload: str | int | float | None) -> str | int | float | None:
        return payload


def shown(handler: H) -> H:
    """Turn WorkbenchError into a gr.Error toast (one line, no traceback); log anything else."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except WorkbenchError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Exception as err:  # a bug: the user still reads one line, the log the traceback
            LOG.exception("handler %s failed", handler.__name__)
            raise gr.Error(f"unexpected error: {one_line(err)}", print_exception=False) from None

    return wrapper  # type: ignore[return-value]


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(headers))


def _lines(text: str | None) -> tuple[str, ...]:
    return tuple((text or "").splitlines())


def _download(path: Any = None) -> gr.DownloadButton:
    if path is None:
        return gr.DownloadButton(label=NO_DOWNLOAD, value=None, interactive=False)
    return gr.DownloadButton(label=f"Download {path.name}", value=str(path), interactive=True)


def form_values(request: TrainingRequest) -> tuple:
    """The training form's values (``FORM`` order) showing ``request``."""
    unit = "iterations" if request.iterations is not None else "epochs"
    existing = next(
        (label for label, policy in EXISTING_RUN.items() if policy == "suffix"),
        next(iter(EXISTING_RUN)),
    )
    return (
        request.base_model,
        request.concept,
        "\n".join(request.related),
        request.negative_guidance,
        request.lr,
        unit,
        request.iterations if request.iterations is not None else request.epochs,
        request.batch_size,
        request.method,
        request.auto_anchors,
        request.seed,
        request.xt_source,
        request.trajectories,
        request.ddim_steps,
        existing,
    )


# --- handlers -----------------------------------------------------------------------------------


class WorkbenchUI:
    """The event handlers: each turns widget values into one service call and the result back."""

    def __init__(self, workbench: Workbench) -> None:
        self.wb = workbench

    # --- page and lists -----------------------------------------------------------------------

    @shown
    def load(self) -> tuple:
        """Fresh model lists and both jobs as the service has them (a reload finds the job and
        shows its settings in the form)."""
        bases = self.wb.base_model_names()
        train, evaluation = self.wb.snapshot(), self.wb.evaluation_snapshot()
        shown_run = train.run_name if train.run_name in self.wb.run_names() else None
        return (
            gr.Dropdown(choices=bases, value=default_base_model(bases)),
            progress_text(train),
            loss_figure(train.losses),
            gr.Timer(active=train.active),
            progress_text(evaluation),
            gr.Timer(active=evaluation.active),
            *self.list_runs(),
            *self.show_run(shown_run),
            *self._running_form(),
        )

    def _running_form(self) -> tuple:
        """The running job's settings for the form (unchanged fields while none runs)."""
        request = self.wb.training_request()
        return form_values(request) if request is not None else (gr.skip(),) * len(FORM)

    @shown
    def list_runs(self) -> tuple:
        """The model table and the run picker of the Runs tab (every run, usable or not)."""
        infos = self.wb.list_models()
        runs = [i.name for i in infos if i.kind == "esd" and not i.bundled]
        return _table(model_rows(infos), MODEL_HEADERS), gr.Dropdown(choices=run_choices(runs))

    @shown
    def show_run(self, name: str | None) -> tuple:
        """Show run ``name`` everywhere: pickers, download, comparison prompts, metrics."""
        runs = run_choices(self.wb.run_names())
        models = runs + run_choices(self.wb.base_model_names())
        nothing = (gr.Dropdown(choices=runs, value=None), gr.Dropdown(choices=models), _download())
        nothing += (gr.skip(),) * (len(RUN_VIEW) - len(nothing))
        if not name:
            return nothing
        try:
            info = self.wb.usable_model(name)
            rows = metrics_rows(info.metrics) if info.metrics else []
            training = self.wb.snapshot()
            still_training = training.active and training.run_name == name
            path = None if still_training else self.wb.export_checkpoint(name)
        except WorkbenchError as err:
            gr.Warning(str(err))
            return nothing
        target, related = run_prompts(info)
        summary = metrics_summary(info.metrics) if info.metrics else f"{name}: not evaluated yet"
        return (
            gr.Dropdown(choices=runs, value=name),
            gr.Dropdown(choices=models, value=name),
            _download(path),
            target,
            "\n".join(related),
            summary,
            _table(rows, METRICS_HEADERS),
        )

    @shown
    def load_run(self, name: str | None) -> tuple:
        """Runs tab: show a past run and switch to the comparison."""
        if not name:
            raise WorkbenchError("pick a run to load (refresh the list if it is empty)")
        self.wb.usable_model(name)  # one line when it was deleted meanwhile or is broken
        return (*self.show_run(name), gr.Tabs(selected="compare"))

    @shown
    def ask_delete(self, name: str | None) -> tuple:
        """Runs tab, Delete: show the confirmation (nothing is deleted yet)."""
        if not name:
            raise WorkbenchError("pick a run to delete")
        question = f"Delete **{name}**? Its folder (checkpoints, logs, metrics) is removed."
        return gr.Column(visible=True), question

    @shown
    def delete_run(self, name: str | None) -> tuple:
        """Delete a run folder (the service refuses a running job's and a base model's)."""
        if not name:
            raise WorkbenchError("pick a run to delete")
        gr.Info(self.wb.delete_run(name))
        return (gr.Column(visible=False), *self.list_runs(), *self.show_run(None))

    @shown
    def resume_run(self, name: str | None) -> tuple:
        """Runs tab: continue a stopped or interrupted run; the Train tab follows it."""
        if not name:
            raise WorkbenchError("pick a stopped or interrupted run to resume")
        snap = self.wb.resume_training(name)
        return (progress_text(snap), loss_figure(()), gr.Timer(active=True), None,
                gr.Tabs(selected="train"), *self._running_form())  # fmt: skip

    # --- training -----------------------------------------------------------------------------

    @shown
    def start_training(
        self,
        base: str | None,
        concept: str,
        related: str,
        eta: float,
        lr: float,
        unit: str,
        count: float,
        batch: float,
        method: str,
        anchors: float,
        seed: float,
        xt_source: str,
        trajectories: float,
        ddim_steps: float,
        existing: str,
    ) -> tuple:
        """Validate the form and start ESD in the background; the timer starts polling."""
        policy = EXISTING_RUN[as_choice("existing-run choice", existing, tuple(EXISTING_RUN))]
        request = TrainingRequest(
            base_model=base or "",
            concept=concept,
            related=_lines(related),
            negative_guidance=eta,
            lr=lr,
            **run_length(unit, count),
            batch_size=batch,
            method=method,
            auto_anchors=anchors,
            seed=seed,
            xt_source=xt_source,
            trajectories=trajectories,
            ddim_steps=ddim_steps,
            overwrite=policy == "overwrite",
            auto_suffix=policy == "suffix",
        )
        snap = self.wb.start_training(request)
        return progress_text(snap), loss_figure(()), gr.Timer(active=True), None

    def follow_training(self) -> tuple:
        """After a refused start (another tab's job runs): poll that job, show its settings."""
        snap = self.wb.snapshot()
        return (progress_text(snap), gr.Timer(active=snap.active), None, *self._running_form())

    @shown
    def poll_training(self, seen: tuple | None) -> tuple:
        """Timer tick: status, loss curve (redrawn only when it changed), and, once the job has
        ended, the run it wrote; the timer switches itself off then."""
        snap = self.wb.snapshot()
        key = (snap.started_at, snap.state, snap.step)
        changed = key != seen
        plot = loss_figure(snap.losses) if changed else gr.skip()
        run_view = (gr.skip(),) * len(RUN_VIEW)
        if changed and not snap.active and snap.started_at is not None:
            if snap.state == FAILED:
                gr.Warning(snap.message)
            if snap.run_name in self.wb.run_names():
                run_view = self.show_run(snap.run_name)
        return (progress_text(snap), plot, gr.Timer(active=snap.active), key, *run_view)

    @shown
    def stop_training(self) -> str:
        """Ask the job to stop before its next step (latest.tar is written)."""
        message = self.wb.stop()
        (gr.Info if self.wb.snapshot().state == STOPPING else gr.Warning)(message)
        return progress_text(self.wb.snapshot())

    # --- comparison and export ----------------------------------------------------------------

    @shown
    def compare(
        self,
        run: str | None,
        target: str,
        related: str,
        extra: str,
        seconds: float,
        seed: float,
        steps: str | float | None,
        plant_feet: bool = True,
    ) -> tuple:
        """Original vs unlearned motions of every prompt (same seed), one animated figure with
        the recogniser's reading under each pair; ``steps`` empty: the model's own sampler;
        ``plant_feet``: feet on the floor held still (``esd.motion.foot_plant``)."""
        prompts = comparison_prompts(target, related, extra)
        result = self.wb.compare(
            None, run or None, prompts, seconds, seed, steps, plant_feet=bool(plant_feet)
        )
        fig = pair_figure(
            [(p.prompt, p.original.joints, p.unlearned.joints) for p in result.pairs],
            f"original · {result.base_name}",
            f"unlearned · {result.unlearned_name}",
            notes=[note_sides(n) for n in result.notes] or None,
        )
        choices = motion_choices(result)
        note = (
            f"{len(result.pairs)} prompts · seed {result.seed} (item i: seed + i, identical "
            f"noise for both models) · {result.seconds:g} s · {result.steps} DDIM steps, "
            f"guidance {result.guidance:g}{' · feet planted' if result.plant_feet else ''}"
        )
        if result.notes:
            note += "\n\nRecogniser, original → unlearned:\n" + "\n".join(
                f"- *{p.prompt}*: {note_line(n)}" for p, n in zip(result.pairs, result.notes)
            )
        elif result.notes_skipped:
            note += f"\n\n{result.notes_skipped}"
        return figure_json(fig), result, gr.Dropdown(choices=choices, value=choices[0][1]), note

    @shown
    def export_checkpoint(self, run: str | None, fmt: str) -> gr.DownloadButton:
        fmt = as_choice("checkpoint format", fmt, tuple(CHECKPOINT_FORMATS))
        path = self.wb.export_checkpoint(run or None, standalone=CHECKPOINT_FORMATS[fmt])
        gr.Info(f"checkpoint written to {path}")
        return _download(path)

    @shown
    def export_motion(self, comparison: Any, key: str | None, fmt: str, pose_s: Any) -> list:
        paths = self.wb.export_motion(comparison, key, fmt, pose_s)
        return [str(p) for p in paths]

    # --- evaluation ---------------------------------------------------------------------------

    @shown
    def start_evaluation(self, model: str | None, preset: str, samples: Any, seed: float) -> tuple:
        """Measure efficacy / preservation / specificity in the background (``samples`` empty:
        the preset's)."""
        request = EvaluationRequest(
            model=model or None, preset=preset, seed=seed, num_samples=samples
        )
        snap = self.wb.start_evaluation(request)
        return progress_text(snap), gr.Timer(active=True), None

    @shown
    def poll_evaluation(self, seen: tuple | None) -> tuple:
        """Timer tick of the evaluation; the metrics table once it has finished."""
        snap = self.wb.evaluation_snapshot()
        key = (snap.started_at, snap.state, snap.step)
        summary, table = gr.skip(), gr.skip()
        if key != seen and not snap.active and snap.started_at is not None:
            metrics = self.wb.last_metrics() if snap.result_path else None
            if snap.state == FAILED:
                gr.Warning(snap.message)
            if metrics is not None:
                summary = metrics_summary(metrics)
                table = _table(metrics_rows(metrics), METRICS_HEADERS)
        return progress_text(snap), gr.Timer(active=snap.active), key, summary, table

    @shown
    def stop_evaluation(self) -> str:
        message = self.wb.stop_evaluation()
        (gr.Info if self.wb.evaluation_snapshot().state == STOPPING else gr.Warning)(message)
        return progress_text(self.wb.evaluation_snapshot())


# --- layout -------------------------------------------------------------------------------------


def _run_picker(label: str, elem_id: str | None = None, **kwargs: Any) -> gr.Dropdown:
    """A picker of runs / models: any name is accepted (the service checks it), wide enough
    for a run's label (its concept first)."""
    return gr.Dropdown(
        [], value=None, label=label, allow_custom_value=True, elem_id=elem_id,
        elem_classes=["run-picker"], min_width=360, **kwargs,
    )  # fmt: skip


def _training_tab(bases: list[str]) -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            ui.base = gr.Dropdown(
                bases, value=default_base_model(bases), label="Base model", info=HELP["base"],
                allow_custom_value=True,
            )  # fmt: skip
            ui.concept = gr.Textbox(
                DEFAULT_TARGET, label="Target concept (erased)", info=HELP["concept"],
                elem_id="concept",
            )  # fmt: skip
            ui.related = gr.Textbox(
                "\n".join(DEFAULT_RELATED), lines=3, info=HELP["related"],
                label="Related concepts (kept), one per line",
            )  # fmt: skip
            ui.eta = gr.Number(
                RECIPE.negative_guidance, label="Negative guidance η", info=HELP["eta"], step=0.1,
                elem_id="eta",
            )  # fmt: skip
            ui.lr = gr.Number(RECIPE.lr, label="Learning rate", step=1e-6, info=HELP["lr"])
            with gr.Row():
                ui.unit = ChoiceRadio(
                    list(RUN_LENGTH_UNITS), value="iterations", label="Length in", info=HELP["unit"]
                )
                ui.count = gr.Number(
                    RECIPE.iterations, label="Epochs / iterations", info=HELP["count"],
                    elem_id="count",
                )  # fmt: skip
            with gr.Row():
                ui.batch = gr.Number(
                    RECIPE.batch_size, label="Batch size", info=HELP["batch"], elem_id="batch"
                )
                ui.seed = gr.Number(RECIPE.seed, label="Seed", info=HELP["seed"])
            ui.method = ChoiceRadio(
                list(METHODS), value=RECIPE.method, label="Trained parameters", info=HELP["method"]
            )
            ui.anchors = gr.Number(
                RECIPE.auto_anchors, label="Anchored nearest concepts", info=HELP["anchors"],
                precision=0, elem_id="auto-anchors",
            )  # fmt: skip
            with gr.Accordion("Advanced", open=False):
                ui.xt_source = ChoiceRadio(
                    list(XT_SOURCES), value=RECIPE.xt_source, label="x_t", info=HELP["xt_source"]
                )
                ui.trajectories = gr.Number(
                    RECIPE.trajectories, label="Teacher trajectories", info=HELP["trajectories"],
                    elem_id="trajectories",
                )  # fmt: skip
                ui.ddim_steps = gr.Number(
                    RECIPE.ddim_steps, label="DDIM steps per trajectory", info=HELP["ddim_steps"],
                    elem_id="ddim-steps",
                )  # fmt: skip
                ui.existing = ChoiceRadio(
                    list(EXISTING_RUN), value=next(iter(EXISTING_RUN)),
                    label="If the run exists", info=HELP["existing"],
                )  # fmt: skip
            with gr.Row():
                ui.start = gr.Button("Start training", variant="primary", elem_id="start-training")
                ui.stop = gr.Button("Stop", variant="stop", elem_id="stop-training")
        with gr.Column(scale=2):
            ui.status = gr.Markdown("no training has run yet", elem_id="train-status")
            ui.loss = gr.Plot(loss_figure(()), label="Loss", elem_id="loss-plot")
    return ui


def _compare_tab() -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Row():
        ui.run = _run_picker("Unlearned run", "compare-run", scale=3)
        ui.seconds = gr.Number(
            COMPARE_SECONDS, label="Seconds", info=HELP["seconds"], step=0.1, elem_id="seconds"
        )
        ui.seed = gr.Number(0, label="Seed", info=HELP["compare_seed"])
        ui.steps = gr.Textbox(  # a Number cannot be empty on the page (it shows 0)
            "", label="DDIM steps", placeholder="the model's", info=HELP["compare_steps"],
            elem_id="compare-steps",
        )  # fmt: skip
        ui.plant = gr.Checkbox(
            True, label="Plant feet", info=HELP["plant_feet"], elem_id="plant-feet"
        )
    with gr.Row():
        ui.target = gr.Textbox(DEFAULT_TARGET, label="Target prompt")
        ui.related = gr.Textbox(
            "\n".join(DEFAULT_RELATED), lines=3, label="Related prompts", elem_id="compare-related"
        )
        ui.extra = gr.Textbox("", lines=3, label="Extra prompts (optional), one per line")
    ui.button = gr.Button("Compare original vs unlearned", variant="primary", elem_id="compare")
    ui.note = gr.Markdown(elem_id="compare-note")
    ui.figure = gr.HTML(
        None,
        html_template=EMBED_HTML_TEMPLATE,
        js_on_load=EMBED_JS_ON_LOAD,
        head=f'<script src="/gradio_api/file={plotly_js_path()}"></script>',
        elem_id="motion-figure",
    )
    return ui


def _metrics_tab() -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Row():
        ui.model = _run_picker("Model to evaluate (vs its base)", "eval-model", scale=3)
        ui.preset = ChoiceRadio(list(PRESETS), value=PRESETS[0], label="Preset")
        ui.samples = gr.Textbox(
            "", label="Samples per block", placeholder="the preset's", info=HELP["samples"],
            elem_id="eval-samples",
        )  # fmt: skip
        ui.seed = gr.Number(0, label="Seed", info=HELP["eval_seed"])
    with gr.Row():
        ui.start = gr.Button("Evaluate", variant="primary", elem_id="start-evaluation")
        ui.stop = gr.Button("Stop", variant="stop")
    ui.status = gr.Markdown("no evaluation has run yet", elem_id="eval-status")
    ui.summary = gr.Markdown(elem_id="eval-summary")
    ui.table = gr.Dataframe(
        _table([], METRICS_HEADERS), interactive=False, wrap=True, elem_id="metrics-table"
    )
    return ui


def _export_tab() -> SimpleNamespace:
    ui = SimpleNamespace()
    gr.Markdown("### Unlearned checkpoint")
    with gr.Row():
        ui.format = ChoiceRadio(
            list(CHECKPOINT_FORMATS),
            value=next(iter(CHECKPOINT_FORMATS)),
            label="Checkpoint format",
        )
        ui.prepare = gr.Button("Write checkpoint of the run shown")
        ui.download = gr.DownloadButton(NO_DOWNLOAD, interactive=False, elem_id="download-ckpt")
    gr.Markdown("### A motion of the comparison")
    with gr.Row():
        ui.motion = gr.Dropdown([], value=None, label="Motion", elem_id="motion-pick")
        ui.motion_format = ChoiceRadio(
            [(label, key) for key, label in MOTION_FORMATS.items()], value="bvh", label="Format",
            elem_id="motion-format",
        )  # fmt: skip
        ui.pose_s = gr.Textbox(
            "", label="Pose at (s)", placeholder="the middle", info=HELP["pose_s"]
        )
    ui.export_motion = gr.Button("Write motion file(s)", elem_id="export-motion")
    ui.files = gr.File(
        label="Motion files", file_count="multiple", interactive=False, elem_id="motion-files"
    )
    return ui


def _runs_tab() -> SimpleNamespace:
    ui = SimpleNamespace()
    with gr.Row():
        ui.pick = _run_picker("Run", "runs-pick", scale=3)
        ui.load = gr.Button("Load run for comparison", variant="primary", elem_id="load-run")
        ui.resume = gr.Button("Resume training", elem_id="resume-run")
        ui.delete = gr.Button("Delete…", variant="stop", elem_id="delete-run")
        ui.refresh = gr.Button("Refresh", elem_id="refresh-runs")
    with gr.Column(visible=False, elem_id="delete-confirm") as ui.confirm_box:
        ui.question = gr.Markdown()
        with gr.Row():
            ui.confirm = gr.Button("Yes, delete it", variant="stop", elem_id="confirm-delete")
            ui.cancel = gr.Button("Cancel", elem_id="cancel-delete")
    ui.table = gr.Dataframe(
        _table([], MODEL_HEADERS), interactive=False, wrap=True, elem_id="runs-table",
        column_widths=[f"{RUNS_COLUMN_PX.get(h, 90)}px" for h in MODEL_HEADERS],
    )  # fmt: skip
    return ui


def build_demo(workbench: Workbench) -> gr.Blocks:
    """The workbench UI over one shared ``workbench`` (theme/css: ``launch_options``)."""
    gr.set_static_paths([plotly_js_path().parent])
    handlers = WorkbenchUI(workbench)
    with gr.Blocks(title="ESD for Motion", analytics_enabled=False) as demo:
        gr.Markdown("## ESD for Motion: erase a concept from a text-to-motion model")
        ui = SimpleNamespace(comparison=gr.State(None), train_seen=gr.State(None))
        ui.eval_seen = gr.State(None)
        ui.train_timer = gr.Timer(POLL_S, active=False)  # polls the training job
        ui.eval_timer = gr.Timer(POLL_S, active=False)  # polls the evaluation job
        with gr.Tabs() as ui.tabs:
            with gr.Tab("Train", id="train"):
                ui.train = _training_tab(workbench.base_model_names())
            with gr.Tab("Compare", id="compare"):
                ui.cmp = _compare_tab()
            with gr.Tab("Metrics", id="metrics"):
                ui.met = _metrics_tab()
            with gr.Tab("Export", id="export"):
                ui.exp = _export_tab()
            with gr.Tab("Runs", id="runs"):
                ui.runs = _runs_tab()
        # everything that shows "the run": WorkbenchUI.show_run returns their values in order
        ui.run_view = [ui.cmp.run, ui.met.model, ui.exp.download, ui.cmp.target,
                       ui.cmp.related, ui.met.summary, ui.met.table]  # fmt: skip
        assert len(ui.run_view) == len(RUN_VIEW)
        ui.form = [getattr(ui.train, name) for name in FORM]  # WorkbenchUI.start_training's
        _wire_training(handlers, ui)
        _wire_comparison(handlers, ui)
        _wire_metrics(handlers, ui)
        _wire_runs(handlers, ui)
        demo.load(handlers.load, None, ui.page, api_visibility="private")  # also on reload
    return demo


def _wire_training(handlers: WorkbenchUI, ui: SimpleNamespace) -> None:
    train = ui.train
    train.start.click(
        handlers.start_training,
        ui.form,
        [train.status, train.loss, ui.train_timer, ui.train_seen],
        api_name="start_training",
    ).failure(  # lost the start race to another tab (or a bad form): follow what runs
        handlers.follow_training,
        None,
        [train.status, ui.train_timer, ui.train_seen, *ui.form],
        api_visibility="private",
    )
    ui.train_timer.tick(
        handlers.poll_training,
        ui.train_seen,
        [train.status, train.loss, ui.train_timer, ui.train_seen, *ui.run_view],
        api_name="poll_training",
        **POLL,
    )
    train.stop.click(handlers.stop_training, None, train.status, api_name="stop_training")


def _wire_comparison(handlers: WorkbenchUI, ui: SimpleNamespace) -> None:
    cmp, exp = ui.cmp, ui.exp
    cmp.run.input(handlers.show_run, cmp.run, ui.run_view, api_name="show_run")
    cmp.button.click(
        handlers.compare,
        [cmp.run, cmp.target, cmp.related, cmp.extra, cmp.seconds, cmp.seed, cmp.steps, cmp.plant],
        [cmp.figure, ui.comparison, exp.motion, cmp.note],
        api_name="compare",
    )
    exp.prepare.click(
        handlers.export_checkpoint,
        [cmp.run, exp.format],
        exp.download,
        api_name="export_checkpoint",
    )
    exp.export_motion.click(
        handlers.export_motion,
        [ui.comparison, exp.motion, exp.motion_format, exp.pose_s],
        exp.files,
        api_name="export_motion",
    )


def _wire_metrics(handlers: WorkbenchUI, ui: SimpleNamespace) -> None:
    met = ui.met
    met.start.click(
        handlers.start_evaluation,
        [met.model, met.preset, met.samples, met.seed],
        [met.status, ui.eval_timer, ui.eval_seen],
        api_name="start_evaluation",
    )
    ui.eval_timer.tick(
        handlers.poll_evaluation,
        ui.eval_seen,
        [met.status, ui.eval_timer, ui.eval_seen, met.summary, met.table],
        api_name="poll_evaluation",
        **POLL,
    )
    met.stop.click(handlers.stop_evaluation, None, met.status, api_name="stop_evaluation")


def _wire_runs(handlers: WorkbenchUI, ui: SimpleNamespace) -> None:
    runs, train = ui.runs, ui.train
    lists = [runs.table, runs.pick]
    runs.refresh.click(handlers.list_runs, None, lists, api_name="list_runs")
    runs.load.click(handlers.load_run, runs.pick, [*ui.run_view, ui.tabs], api_name="load_run")
    runs.resume.click(
        handlers.resume_run,
        runs.pick,
        [train.status, train.loss, ui.train_timer, ui.train_seen, ui.tabs, *ui.form],
        api_name="resume_training",
    )
    runs.delete.click(
        handlers.ask_delete, runs.pick, [runs.confirm_box, runs.question], api_visibility="private"
    )
    runs.cancel.click(
        lambda: gr.Column(visible=False), None, runs.confirm_box, api_visibility="private"
    )
    runs.confirm.click(
        handlers.delete_run,
        runs.pick,
        [runs.confirm_box, *lists, *ui.run_view],
        api_name="delete_run",
    )
    page = [train.base, train.status, train.loss, ui.train_timer, ui.met.status, ui.eval_timer]
    ui.page = [*page, *lists, *ui.run_view, *ui.form]  # what WorkbenchUI.load returns, in order


def launch_options(workbench: Workbench) -> dict[str, Any]:
    """What ``demo.launch`` needs besides host and port: theme, css, the exports folder."""
    workbench.output_dir.mkdir(parents=True, exist_ok=True)
    return {
        "theme": gr.themes.Soft(font=FONTS, font_mono=["ui-monospace", "monospace"]),
        "css": CSS,
        "allowed_paths": [str(workbench.output_dir.resolve())],
    }


# --- command line -------------------------------------------------------------------------------


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 1..65535, got {port}")
    return port


def _host(text: str) -> str:
    """An interface name or address that resolves here (else uvicorn fails with a port error)."""
    try:
        socket.getaddrinfo(text, None)
    except (OSError, UnicodeError) as err:
        raise argparse.ArgumentTypeError(
            f"host {text!r} does not resolve to an address ({err}); use 127.0.0.1 or 0.0.0.0"
        ) from None
    return text


def _clip_path(text: str) -> Path:
    """A CLIP folder given on the command line: a folder with config.json or a hub-cache entry
    with one snapshot (checked now, so a typo is one line at start-up, not a refused model)."""
    try:
        resolve_clip_dir(text)
    except FileNotFoundError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return Path(text).expanduser()


def _auth(text: str) -> tuple[str, str]:
    """``USER:PASSWORD``, or a file whose first line is ``USER:PASSWORD`` (kept off the
    command line, so off the process list)."""
    path = Path(text).expanduser()
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        text = lines[0].strip() if lines else ""
    user, sep, password = text.partition(":")
    if not (sep and user and password):
        raise argparse.ArgumentTypeError(
            "auth must be USER:PASSWORD, or a file whose first line is USER:PASSWORD"
        )
    return user, password


def is_loopback(host: str) -> bool:
    """Whether ``host`` serves this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def exposure_warning(host: str, auth: tuple[str, str] | None) -> str | None:
    """One line when the page is reachable from other machines without a login (None: not)."""
    if is_loopback(host) or auth is not None:
        return None
    return (
        f"warning: serving on {host} without a login: anyone who reaches this page can start "
        "jobs, read and delete runs; add --auth USER:PASSWORD (or --auth FILE)"
    )


def check_port_free(host: str, port: int) -> None:
    """OSError with the fix (``--port``) when ``host:port`` is already taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as err:
            raise OSError(
                f"port {port} on {host} is in use ({err.strerror}): pass another one, e.g. "
                f"--port {port + 1 if port < 65535 else port - 1}"
            ) from None


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="interface to serve on (default loopback; 0.0.0.0 exposes the workbench to the "
        "network: add --auth)",
    )
    parser.add_argument("--port", type=_port, default=7860, help="HTTP port (default 7860)")
    parser.add_argument(
        "--auth",
        type=_auth,
        default=None,
        help="require a login: USER:PASSWORD, or a file whose first line is USER:PASSWORD",
    )
    parser.add_argument(
        "--checkpoints_dir",
        default=str(ck.DEFAULT_CHECKPOINTS_DIR),
        help="folder with t2m/NAME model and run folders",
    )
    parser.add_argument(
        "--output_dir",
        default=str(DEFAULT_OUTPUT_DIR),
        help="exports are written under it (exports/, motions/)",
    )
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument(
        "--clip_path",
        type=_clip_path,
        default=None,
        help="SALAD models: a local Hugging Face CLIP folder (default: <checkpoints_dir>/"
        f"{CLIP_FOLDER}; a hub-cache entry such as .../models--openai--clip-vit-base-patch32 "
        "works)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the workbench until interrupted; exit status 2 with one line for a bad setting."""
    parser = make_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    warning = exposure_warning(args.host, args.auth)
    if warning:
        sys.stderr.write(warning + "\n")
    tune_cpu_allocator()
    try:
        check_port_free(args.host, args.port)
        workbench = Workbench(
            args.checkpoints_dir,
            args.output_dir,
            args.device,
            motion_writers=viz_export,
            clip_path=args.clip_path,
        )
        # Once, before any server or job thread starts (each inherits it): all but one core
        # for torch, shared by jobs and comparisons, so the server itself stays responsive.
        set_torch_threads(server_threads())
        demo = build_demo(workbench)
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            auth=args.auth,
            **launch_options(workbench),
        )
    except (ValueError, OSError) as err:  # --device cuda without a GPU, a port in use, ...
        parser.exit(2, f"{parser.prog}: error: {one_line(err)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
