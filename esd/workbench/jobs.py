"""Background jobs: one daemon thread, a lock-protected snapshot, a cooperative stop event.

The web UI polls ``BackgroundJob.snapshot()`` (e.g. every 0.5 s with ``gr.Timer``); a page
reload simply polls again, because the job lives in the service, not in a browser session.
Stopping is cooperative: ``stop()`` sets a ``threading.Event`` that the work checks between
steps (Gradio's ``cancels=`` cannot interrupt a thread). A failing job never takes the server
down: any exception ends it in state ``failed`` with a one-line message. A job changes no
process-wide setting: torch's thread count is set once at start-up by the program
(``esd.common.runtime.set_torch_threads``), never from a job thread. When a job ends, the
memory it freed goes back to the system (``esd.common.runtime.release_free_memory``), so an
idle server holds its live data only.

States::

    idle -> preparing -> running -> finished
                    \\           \\-> stopping -> stopped
                     \\-> failed (from any active state)
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from esd.common.errors import one_line
from esd.common.runtime import release_free_memory

IDLE = "idle"
PREPARING = "preparing"
RUNNING = "running"
STOPPING = "stopping"
FINISHED = "finished"
STOPPED = "stopped"
FAILED = "failed"
ACTIVE_STATES = frozenset({PREPARING, RUNNING, STOPPING})
END_STATES = frozenset({FINISHED, STOPPED, FAILED})


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable copy of a job's progress, safe to hand to another thread or the UI."""

    kind: str  # "training" or "evaluation"
    state: str = IDLE  # see the module docstring
    message: str = ""  # one line for the status bar
    run_name: str | None = None  # the run (training) or model (evaluation) the job works on
    step: int = 0  # units done: optimizer steps (training) or motions generated (evaluation)
    total: int = 0  # units planned (0 while unknown)
    epoch: int = 0  # 1-based epoch of the last step (training)
    losses: tuple[float, ...] = ()  # loss after every step so far (training)
    elapsed_s: float = 0.0  # seconds since the job started (ticks while it is active)
    rate: float | None = None  # units per second since the first unit (None before two)
    eta_s: float | None = None  # estimated seconds left
    checkpoint: str | None = None  # latest.tar of the run, once written
    trainable: int = 0  # trained scalars (training)
    result_path: str | None = None  # metrics.json written by an evaluation
    error: str | None = None  # one-line error of a failed job
    started_at: float | None = None  # wall-clock time.time() of the start

    @property
    def active(self) -> bool:
        """True while preparing, running or stopping."""
        return self.state in ACTIVE_STATES

    @property
    def progress(self) -> float:
        """Fraction done in [0, 1] (0 while the total is unknown)."""
        return min(1.0, self.step / self.total) if self.total > 0 else 0.0


@dataclass(frozen=True)
class JobOutcome:
    """What a work function returns: the final state and its message (plus snapshot fields)."""

    state: str  # FINISHED or STOPPED
    message: str
    updates: dict[str, Any] = field(default_factory=dict)  # final JobSnapshot fields


class JobBusyError(RuntimeError):
    """Raised by ``BackgroundJob.start`` while the job is still active."""


_FIELD_NAMES = frozenset(f.name for f in fields(JobSnapshot)) - {"kind", "losses"}


class BackgroundJob:
    """Runs one work function at a time in a daemon thread and publishes its progress.

    ``work(job)`` receives this object: it reports with ``update(...)`` / ``add_loss(...)``,
    checks ``stop_requested`` between steps, and returns a ``JobOutcome``.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fields: dict[str, Any] = {"message": f"no {kind} has run yet"}
        self._losses: list[float] = []
        self._began = 0.0  # time.monotonic() of the start
        self._first: tuple[int, float] | None = None  # (step, time) of the first reported step

    # --- reading ----------------------------------------------------------------------------

    def snapshot(self) -> JobSnapshot:
        """A consistent immutable copy of the current progress."""
        with self._lock:
            values = dict(self._fields)
            if values.get("state") in ACTIVE_STATES:
                values["elapsed_s"] = time.monotonic() - self._began
            return JobSnapshot(self.kind, losses=tuple(self._losses), **values)

    @property
    def active(self) -> bool:
        with self._lock:
            return self._fields.get("state") in ACTIVE_STATES

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def stop_event(self) -> threading.Event:
        """The event the work passes on to loops that accept one (``run_esd(stop=...)``)."""
        return self._stop

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the thread to end; True when it has (or never ran)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # --- control ----------------------------------------------------------------------------

    def start(
        self,
        work: Callable[[BackgroundJob], JobOutcome],
        run_name: str | None,
        message: str,
        on_failure: Callable[[BaseException, str], None] | None = None,
    ) -> JobSnapshot:
        """Start ``work`` in a new daemon thread.

        Raises JobBusyError while a previous work is still active. ``on_failure(err,
        traceback_text)`` is called in the job thread when the work raises (e.g. to log it).
        """
        with self._lock:
            if self._fields.get("state") in ACTIVE_STATES:
                raise JobBusyError(f"the {self.kind} job is already running")
            self._stop.clear()
            self._losses = []
            self._first = None
            self._began = time.monotonic()
            self._fields = {
                "state": PREPARING,
                "message": message,
                "run_name": run_name,
                "started_at": time.time(),
            }
            self._thread = threading.Thread(
                target=self._main,
                args=(work, on_failure),
                name=f"esd-{self.kind}",
                daemon=True,
            )
            self._thread.start()
        return self.snapshot()

    def stop(self) -> tuple[bool, str]:
        """Ask the running work to stop after its current step; (stopping?, message)."""
        with self._lock:
            state = self._fields.get("state")
            if state not in ACTIVE_STATES:
                return False, f"no {self.kind} is running; nothing to stop"
            self._stop.set()
            self._fields["state"] = STOPPING
            self._fields["message"] = f"stopping the {self.kind} after the current step"
            return True, self._fields["message"]

    # --- reporting (called by the work) -------------------------------------------------------

    def update(self, **changes: Any) -> None:
        """Replace snapshot fields; a requested stop keeps the state at ``stopping``."""
        self._check_fields(changes)
        with self._lock:
            if self._stop.is_set() and changes.get("state") in (PREPARING, RUNNING):
                changes["state"] = STOPPING
            self._fields.update(changes)

    def progress(self, step: int, total: int, **changes: Any) -> None:
        """Report ``step`` of ``total`` units: also updates rate and ETA."""
        now = time.monotonic()
        with self._lock:
            if self._first is None or step < self._first[0]:
                self._first = (step, now)
            first_step, first_time = self._first
            rate = (step - first_step) / (now - first_time) if step > first_step else None
            eta = (total - step) / rate if rate else None
        self.update(step=step, total=total, rate=rate, eta_s=eta, **changes)

    def add_loss(self, loss: float) -> None:
        """Append one loss value to the history (kept as a list; copied by ``snapshot``)."""
        with self._lock:
            self._losses.append(float(loss))

    # --- the thread -------------------------------------------------------------------------

    def _main(
        self,
        work: Callable[[BackgroundJob], JobOutcome],
        on_failure: Callable[[BaseException, str], None] | None,
    ) -> None:
        try:
            outcome = work(self)
            self._finish(outcome.state, outcome.message, error=None, **outcome.updates)
        except Exception as err:  # a job must never take the server down
            error = one_line(err)
            if on_failure is not None:
                with contextlib.suppress(Exception):  # logging the failure must not fail
                    on_failure(err, traceback.format_exc())
            self._finish(FAILED, f"{self.kind} failed: {error}", error=error)
        finally:
            if self.active:  # BaseException (e.g. SystemExit) inside the work
                self._finish(FAILED, f"{self.kind} was interrupted", error="interrupted")
            release_free_memory()  # the job's buffers are garbage now: give them back

    @staticmethod
    def _check_fields(changes: dict[str, Any]) -> None:
        unknown = set(changes) - _FIELD_NAMES
        if unknown:
            raise TypeError(f"unknown snapshot fields: {sorted(unknown)}")

    def _finish(self, state: str, message: str, **changes: Any) -> None:
        """End the job owned by the calling thread; a stale thread (its job already ended, a
        newer job started) changes nothing."""
        self._check_fields(changes)
        with self._lock:
            if self._thread is not threading.current_thread():
                return
            self._fields.update(changes)
            self._fields.update(
                state=state,
                message=message,
                elapsed_s=time.monotonic() - self._began,
                eta_s=None if state != FINISHED else 0.0,
            )
