"""Terminal output for the command-line tools (Rich), and the mirrored ``logs/train.log``.

Library code never prints: it reports through callbacks. Only the CLIs (``python -m esd.*``)
use this module to render those reports.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from esd.common.errors import one_line

if TYPE_CHECKING:  # annotations only: the console stays free of torch
    import torch

T = TypeVar("T")

CONSOLE = Console(stderr=True, highlight=False)  # progress, warnings and the one error line
NOTICES = Console(highlight=False)  # stdout: facts about what a command uses (never an error)
EXIT_USAGE = 2  # exit status for bad input, as argparse uses
EXIT_INTERRUPTED = 130  # exit status after Ctrl-C in a command that resumes (128 + SIGINT)
PLAIN_EVERY_S = 30.0  # seconds between progress lines when the output is not a terminal
CLI_ERROR_CHARS = 1000  # the error line of a command (the page's limit would cut the advice off)
GPU_ADVICE_S = 3600.0  # an evaluation estimate above this on the CPU recommends a GPU


def positive_float(text: str) -> float:
    """argparse type: a positive finite float (the seed parsed lr as int: never again)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a random seed, an integer >= 0."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be >= 0, got {value}")
    return value


def plain_warnings() -> None:
    """Show Python warnings as one ``warning: ...`` line each (no file, line or source echo)."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        CONSOLE.print(f"warning: {message}", style="yellow", soft_wrap=True, markup=False)

    warnings.showwarning = show


def notice(line: str) -> None:
    """Print a fact about what the command uses (e.g. a model shadowing a bundled one) on
    stdout, so that a later error stays the only line on stderr."""
    NOTICES.print(line, soft_wrap=True, markup=False)


def fail(message: str) -> NoReturn:
    """Print a one-line error that says what to do, and exit with status 2."""
    CONSOLE.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    sys.exit(EXIT_USAGE)


def run_cli(
    main: Callable[[], T], interrupted: str = "interrupted", resume_hint: str | None = None
) -> T:
    """``main()``, with the project's user-facing errors (ValueError and its subclasses such as
    CheckpointError, OSError such as a missing file) and Ctrl-C ending in one line on stderr and
    exit status 2 instead of a traceback; what ``main`` returns is passed on.

    ``interrupted`` is the line Ctrl-C ends with (say what was kept, e.g. "interrupted; nothing
    was written"). A command that resumes gives ``resume_hint`` instead: Ctrl-C then prints it
    (not an error) and exits with ``EXIT_INTERRUPTED``. ``SystemExit`` passes through."""
    try:
        return main()
    except (ValueError, OSError) as err:
        fail(one_line(err, CLI_ERROR_CHARS))
    except KeyboardInterrupt:
        if resume_hint is None:
            fail(interrupted)
        CONSOLE.print(resume_hint, soft_wrap=True, markup=False)
        sys.exit(EXIT_INTERRUPTED)


class RunLog:
    """Append timestamped lines to a log file and mirror them to the terminal."""

    def __init__(self, path: str | Path | None, console: Console = CONSOLE) -> None:
        self.path = Path(path) if path else None
        self.console = console
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, message: str, style: str = "") -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        if self.path:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(f"{stamp} {message}\n")
        self.console.print(f"[dim]{stamp}[/] {message}", style=style or None, soft_wrap=True)


class StepProgress(AbstractContextManager):
    """A Rich progress bar for a loop of ``total`` steps with a loss readout.

    Use as a context manager and pass ``progress.update`` as the loop's step callback.
    """

    def __init__(self, description: str, total: int, console: Console = CONSOLE) -> None:
        self._description, self._total, self._console = description, total, console
        self._last_line = time.monotonic()  # without a terminal: a plain line now and then
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=total, status="")

    def __enter__(self) -> StepProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, step: int, status: str = "") -> None:
        """Move the bar to ``step`` (1-based count of finished steps) and show ``status``.

        When the console is not a terminal (a log file, CI), the bar is not drawn; a plain line
        is printed every ``PLAIN_EVERY_S`` seconds and at the last step instead.
        """
        self._progress.update(self._task, completed=step, status=status)
        now = time.monotonic()
        if not self._console.is_terminal and (
            now - self._last_line >= PLAIN_EVERY_S or step == self._total
        ):
            self._last_line = now
            stamp = time.strftime("%H:%M:%S")
            self._console.print(f"{stamp} {self._description} {step}/{self._total} {status}")


class StageProgress:
    """Rich progress, one bar per stage; pass it as ``on_progress(stage, done, total)``."""

    def __init__(self, console: Console = CONSOLE) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


def duration_text(seconds: float) -> str:
    """12 s, 3.4 min, 5.6 h or 7.8 days."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


class T2MProgress:
    """One bar over every generation batch of the run (both models); after the first batch,
    one line with the measured seconds per batch and the extrapolated duration of the run. An
    interrupted run leaves no bar behind (the error line alone)."""

    def __init__(self, batches: int, models: int, replications: int, device: torch.device):
        self.total, self.models, self.replications = batches * models, models, replications
        self.per_model, self.device = batches, device
        self.progress = Progress(
            TextColumn("[bold]T2M protocol"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=CONSOLE,
        )
        self.task = self.progress.add_task("T2M protocol", total=self.total, status="")
        self.done, self.started = 0, time.monotonic()
        self.last_line = self.started  # without a terminal: a plain line now and then

    def __enter__(self) -> T2MProgress:
        self.progress.start()
        self.started = self.last_line = time.monotonic()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.progress.live.transient = True  # stopped or failed: no bar left on screen
        self.progress.stop()

    def estimate_line(self, first_batch_s: float) -> str:
        whole = first_batch_s * self.total
        line = (
            f"estimate: the first batch of 32 took {first_batch_s:.1f} s on {self.device}; "
            f"{self.per_model // self.replications} batches per replication x "
            f"{self.replications} replications x {self.models} model(s) = {self.total} batches"
            f" -> about {duration_text(whole)} in all (extrapolated from one batch)"
        )
        if self.device.type == "cpu" and whole > GPU_ADVICE_S:
            line += "; the papers' protocol wants a GPU (README 'Evaluate like the papers')"
        return line

    def __call__(self, label: str, split: str, rep: int, done: int, total: int) -> None:
        self.done += 1
        now = time.monotonic()
        if self.done == 1:
            CONSOLE.print(self.estimate_line(now - self.started), soft_wrap=True)
        status = f"{label} · {split} · replication {rep + 1}/{self.replications}"
        self.progress.update(self.task, completed=min(self.done, self.total), status=status)
        if not CONSOLE.is_terminal and now - self.last_line >= PLAIN_EVERY_S:
            self.last_line = now
            stamp = time.strftime("%H:%M:%S")
            CONSOLE.print(f"{stamp} T2M protocol {self.done}/{self.total} {status}")
