"""BackgroundJob: start, progress, stop, one job at a time, failures as one-line errors."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from esd.workbench import jobs
from esd.workbench.jobs import (
    FAILED,
    FINISHED,
    IDLE,
    PREPARING,
    RUNNING,
    STOPPED,
    STOPPING,
    BackgroundJob,
    JobBusyError,
    JobOutcome,
    JobSnapshot,
    one_line,
)

TIMEOUT = 10.0  # seconds any wait in these tests may take at most


def wait_until(predicate, timeout: float = TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class StepWork:
    """A work function that runs ``total`` steps, one per ``go`` event set by the test."""

    def __init__(self, total: int = 5) -> None:
        self.total = total
        self.go = threading.Event()
        self.threads: int | None = None  # torch threads the work ran with

    def __call__(self, job: BackgroundJob) -> JobOutcome:
        self.threads = torch.get_num_threads()
        for step in range(1, self.total + 1):
            while not self.go.wait(0.01):
                if job.stop_requested:
                    return JobOutcome(STOPPED, f"stopped at step {step - 1}")
            self.go.clear()
            job.add_loss(1.0 / step)
            job.progress(step, self.total, state=RUNNING, message=f"step {step}")
        return JobOutcome(FINISHED, "done", {"checkpoint": "x.tar"})


def advance(job: BackgroundJob, work: StepWork, step: int) -> JobSnapshot:
    work.go.set()
    wait_until(lambda: job.snapshot().step >= step)
    return job.snapshot()


def test_a_new_job_is_idle_with_a_message() -> None:
    snap = BackgroundJob("training").snapshot()
    assert snap.state == IDLE and not snap.active and snap.kind == "training"
    assert snap.message == "no training has run yet" and snap.progress == 0.0


def test_progress_is_published_and_the_outcome_ends_the_job() -> None:
    job, work = BackgroundJob("training"), StepWork(total=3)
    first = job.start(work, "run", "loading")
    assert first.state == PREPARING and first.run_name == "run" and first.message == "loading"
    seen = [advance(job, work, step) for step in (1, 2)]
    assert [len(s.losses) for s in seen] == [1, 2]  # the loss history grows
    assert seen[1].state == RUNNING and seen[1].total == 3 and seen[1].rate > 0
    assert seen[1].eta_s is not None and seen[1].progress == pytest.approx(2 / 3)
    assert seen[1].elapsed_s <= job.snapshot().elapsed_s  # elapsed ticks while active
    work.go.set()
    assert job.wait(TIMEOUT)
    done = job.snapshot()
    assert done.state == FINISHED and done.message == "done" and done.checkpoint == "x.tar"
    assert done.losses == (1.0, 0.5, 1 / 3) and done.eta_s == 0.0 and done.error is None
    time.sleep(0.05)
    assert job.snapshot().elapsed_s == done.elapsed_s  # frozen once ended


def threads_of_a_new_thread() -> int:
    """torch's thread count as a thread started now sees it (a server worker, a comparison)."""
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join(TIMEOUT)
    return seen[0]


def test_a_job_leaves_the_torch_thread_count_to_the_program() -> None:
    """The count the program set at start-up holds inside the job, in threads started while it
    runs (what a comparison served meanwhile gets) and after it ended."""
    before = torch.get_num_threads()
    chosen = before + 1  # a count no job would pick by itself
    torch.set_num_threads(chosen)
    try:
        job, work = BackgroundJob("training"), StepWork(total=2)
        job.start(work, "run", "go")
        advance(job, work, 1)
        assert work.threads == chosen and threads_of_a_new_thread() == chosen
        work.go.set()
        assert job.wait(TIMEOUT) and job.snapshot().state == FINISHED
        assert torch.get_num_threads() == chosen and threads_of_a_new_thread() == chosen
    finally:
        torch.set_num_threads(before)


def test_an_ended_job_gives_its_free_memory_back(monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(jobs, "release_free_memory", lambda: calls.append("released"))
    job = BackgroundJob("training")
    job.start(lambda job: JobOutcome(FINISHED, "done"), None, "go")
    assert job.wait(TIMEOUT) and calls == ["released"]
    job.start(lambda job: 1 / 0, None, "go again")  # a failing job releases too
    assert job.wait(TIMEOUT) and job.snapshot().state == FAILED and len(calls) == 2


def test_stop_is_cooperative_and_ends_stopped() -> None:
    job, work = BackgroundJob("training"), StepWork(total=100)
    job.start(work, "run", "go")
    advance(job, work, 1)
    stopping, message = job.stop()
    assert stopping and "after the current step" in message
    assert job.snapshot().state == STOPPING
    job.progress(1, 100, state=RUNNING)  # a late report cannot undo the stop
    assert job.snapshot().state == STOPPING
    assert job.wait(TIMEOUT)
    snap = job.snapshot()
    assert snap.state == STOPPED and snap.message == "stopped at step 1" and snap.eta_s is None
    assert job.stop() == (False, "no training is running; nothing to stop")


def test_one_job_at_a_time_then_a_fresh_start() -> None:
    job, work = BackgroundJob("evaluation"), StepWork(total=1)
    job.start(work, "a", "go")
    with pytest.raises(JobBusyError, match="the evaluation job is already running"):
        job.start(StepWork(), "b", "go")
    work.go.set()
    assert job.wait(TIMEOUT)
    again = StepWork(total=1)
    snap = job.start(again, "b", "go again")
    assert snap.run_name == "b" and snap.losses == () and snap.step == 0  # nothing carried over
    again.go.set()
    assert job.wait(TIMEOUT) and job.snapshot().state == FINISHED


def test_a_failing_work_gives_a_one_line_error_and_calls_on_failure() -> None:
    calls = []

    def broken(job: BackgroundJob) -> JobOutcome:
        raise RuntimeError("the GPU caught fire\nsecond line\nthird line")

    job = BackgroundJob("training")
    job.start(broken, "run", "go", on_failure=lambda e, tb: calls.append((e, tb)))
    assert job.wait(TIMEOUT)
    snap = job.snapshot()
    assert snap.state == FAILED and not snap.active
    assert snap.error == "RuntimeError: the GPU caught fire"
    assert snap.message == "training failed: RuntimeError: the GPU caught fire"
    assert "Traceback" in calls[0][1] and isinstance(calls[0][0], RuntimeError)


def test_a_failing_failure_logger_does_not_hide_the_failure() -> None:
    def broken(job: BackgroundJob) -> JobOutcome:
        raise ValueError("bad batch size")

    def bad_logger(err: BaseException, trace: str) -> None:
        raise OSError("disk full")

    job = BackgroundJob("training")
    job.start(broken, None, "go", on_failure=bad_logger)
    assert job.wait(TIMEOUT)
    assert job.snapshot().error == "bad batch size"  # our own ValueErrors read without a type


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_system_exit_inside_the_work_still_ends_the_job() -> None:
    def leaving(job: BackgroundJob) -> JobOutcome:
        raise SystemExit(3)

    job = BackgroundJob("training")
    job.start(leaving, None, "go")
    assert job.wait(TIMEOUT)
    snap = job.snapshot()
    assert snap.state == FAILED and snap.error == "interrupted"


def test_update_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError, match="unknown snapshot fields"):
        BackgroundJob("training").update(colour="red")


@pytest.mark.parametrize(
    ("err", "line"),
    [
        (ValueError("lr must be positive\nmore"), "lr must be positive"),
        (KeyError("vae"), "KeyError: missing entry 'vae'"),
        (RuntimeError(""), "RuntimeError"),
        (ValueError(""), "ValueError"),
    ],
)
def test_one_line(err: BaseException, line: str) -> None:
    assert one_line(err) == line
    assert len(one_line(RuntimeError("x" * 1000))) == 300


def test_an_outcome_with_unknown_fields_fails_the_job_and_snapshots_still_work() -> None:
    job = BackgroundJob("training")
    job.start(lambda job: JobOutcome(FINISHED, "done", {"colour": "red"}), None, "go")
    assert job.wait(TIMEOUT)
    snap = job.snapshot()
    assert snap.state == FAILED and "unknown snapshot fields: ['colour']" in snap.error


def test_a_finished_thread_never_touches_the_next_job() -> None:
    """The first job's thread ends after the second job started: the second stays running."""
    release = threading.Event()

    class LateFinish(BackgroundJob):
        def _finish(self, state: str, message: str, **changes) -> None:
            super()._finish(state, message, **changes)
            if threading.current_thread().name == "esd-training" and not release.is_set():
                release.wait(TIMEOUT)  # hold the first thread just after it ended its job

    job = LateFinish("training")
    job.start(lambda job: JobOutcome(FINISHED, "first done"), "a", "go")
    wait_until(lambda: job.snapshot().state == FINISHED)
    first_thread = job._thread
    second = StepWork(total=1)
    job.start(second, "b", "go again")
    release.set()
    first_thread.join(TIMEOUT)
    assert job.snapshot().state == PREPARING and job.snapshot().run_name == "b"
    second.go.set()
    assert job.wait(TIMEOUT) and job.snapshot().state == FINISHED
