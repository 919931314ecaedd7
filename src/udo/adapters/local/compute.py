"""LocalComputeAdapter: cleaning jobs run in a thread of this process.

`execute` is what a cleaning job does, wherever it runs: this adapter calls it in a
thread, and the Databricks job's entry point (``cloud/azure/databricks/udo_job.py``) calls
it on the cluster's driver. It drains a queue through the app's worker, or cleans the
batch of one run, and fails (`CleaningJobFailed`) when a run it worked on did not succeed.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from udo.domain.run import Route, RunStatus
from udo.errors import TerminalError
from udo.ports.compute import (
    ComputeJob,
    ComputeRunNotFound,
    ComputeService,
    ComputeState,
    InvalidComputeJob,
    RunState,
    SubmittedRun,
    run_id,
)

if TYPE_CHECKING:
    from udo.bootstrap import App
    from udo.orchestration.worker import Worker

log = logging.getLogger(__name__)

Runner = Callable[[ComputeJob, threading.Event], object]
"""Runs a job to its end; should return soon after the event is set (cancel)."""


class JobCancelled(TerminalError):
    """The job was cancelled while it ran."""


class CleaningJobFailed(TerminalError):
    """A cleaning job ran, but some of its runs did not end SUCCEEDED."""


@dataclass(frozen=True)
class JobReport:
    """What a cleaning job did: the runs it worked on and how each ended."""

    job: ComputeJob
    route: Route
    engine: str
    runs: dict[str, str] = field(default_factory=dict)
    """Run id -> final status, in the order the runs were worked on."""
    errors: dict[str, str] = field(default_factory=dict)
    """Run id -> error, for the runs that did not succeed."""

    @property
    def ok(self) -> bool:
        """Whether every run worked on succeeded."""
        return all(s == RunStatus.SUCCEEDED for s in self.runs.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (what the Databricks job prints)."""
        return {
            "mode": self.job.mode,
            "queue": self.job.queue,
            "route": self.route,
            "engine": self.engine,
            "runs": dict(self.runs),
            "errors": dict(self.errors),
            "ok": self.ok,
        }


def route_of(app: App, queue: str) -> Route:
    """The route whose queue is `queue` (InvalidComputeJob if neither)."""
    for route, name in app.queue_names.items():
        if name == queue:
            return route
    names = ", ".join(sorted(app.queue_names.values()))
    raise InvalidComputeJob(
        f"queue {queue!r} is not one of udo's queues ({names}); "
        "see UDO_QUEUE__SMALL / UDO_QUEUE__LARGE"
    )


def execute(app: App, job: ComputeJob, cancelled: threading.Event | None = None) -> JobReport:
    """Run `job` in this process against `app` and report on it.

    Raises `CleaningJobFailed` (with the report's errors) when a run did not succeed,
    `JobCancelled` when `cancelled` was set before the job finished, and the errors of
    the queue and metadata store as they come.
    """
    from udo.bootstrap import ENGINES

    cancelled = cancelled or threading.Event()
    route = route_of(app, job.queue)
    worker = app.worker
    engine = job.engine or worker.engines[route]
    if engine not in ENGINES:
        raise InvalidComputeJob(f"engine {engine!r} is not one of {', '.join(sorted(ENGINES))}")
    if engine != worker.engines[route]:
        # a copy sharing the queue, store and engine cache; the app's worker is untouched
        worker = copy.copy(worker)
        worker.engines = {**worker.engines, route: engine}
    if job.run_id is None:
        done = _drain(app, worker, route, job, cancelled)
    else:
        done = [_clean_run(app, worker, route, engine, job, cancelled)]
    runs: dict[str, str] = {}
    errors: dict[str, str] = {}
    for rid in dict.fromkeys(done):
        run = app.metadata.get_run(rid)
        runs[rid] = str(run.status)
        if run.status != RunStatus.SUCCEEDED:
            errors[rid] = run.error or str(run.status)
    report = JobReport(job=job, route=route, engine=engine, runs=runs, errors=errors)
    if cancelled.is_set():
        raise JobCancelled(f"cleaning job on {job.queue} cancelled after {len(runs)} run(s)")
    if not report.ok:
        listed = "; ".join(f"{rid} {runs[rid]}: {err}" for rid, err in errors.items())
        raise CleaningJobFailed(f"{len(errors)} of {len(runs)} run(s) did not succeed: {listed}")
    return report


def _drain(
    app: App, worker: Worker, route: Route, job: ComputeJob, cancelled: threading.Event
) -> list[str]:
    """The worker's drain, stopping after `max_runs` messages or on cancel."""
    name = app.queue_names[route]
    done: list[str] = []
    worker.sweep_poison(route)
    handled = 0
    while not cancelled.is_set() and not worker.stopping:
        if job.max_runs is not None and handled >= job.max_runs:
            break
        messages = app.queue.receive(
            name, max_messages=1, visibility_timeout=worker.visibility_timeout
        )
        if not messages:
            break
        handled += 1
        rid = worker.process(route, messages[0])
        if rid:
            done.append(rid)
    worker.sweep_poison(route)
    return done


def _clean_run(
    app: App, worker: Worker, route: Route, engine_name: str, job: ComputeJob, ev: threading.Event
) -> str:
    """Clean the batch of run `job.run_id` now, recording it as the worker does."""
    from udo.orchestration.runs import event

    assert job.run_id is not None
    run = app.metadata.get_run(job.run_id)
    for name, want, have in (
        ("dataset", job.dataset, run.dataset),
        ("batch", job.batch_id, run.batch_id),
    ):
        if want is not None and want != have:
            raise InvalidComputeJob(f"run {run.id} is for {name} {have!r}, not {want!r}")
    if run.status == RunStatus.SUCCEEDED:
        return run.id  # done before (a retried job): nothing to do
    if run.status == RunStatus.DEAD_LETTERED:
        raise InvalidComputeJob(
            f"run {run.id} is dead-lettered ({run.error}); request the batch again with force"
        )
    if run.status == RunStatus.REQUESTED:
        run = app.metadata.transition(run.id, RunStatus.QUEUED, detail=f"compute job on {route}")
    run = worker.begin(run, engine_name, f"compute job on {job.queue}")

    def progress(stage: str) -> None:
        if ev.is_set():
            raise JobCancelled(f"cancelled before {stage}")
        worker.stage(run, stage)

    engine = worker.engine_factory(engine_name)
    try:
        ledger = app.pipeline(engine).clean(run.dataset, run.batch_id, progress=progress)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        failed = app.metadata.transition(run.id, RunStatus.FAILED, error=error, detail="job")
        app.notifier.publish(event(failed, "run.failed", error, retrying=False))
        if isinstance(exc, JobCancelled):
            raise
        return run.id
    finally:
        engine.close()
    worker.succeed(run, ledger)
    return run.id


@dataclass
class _LocalRun:
    handle: SubmittedRun
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    state: ComputeState = ComputeState.PENDING
    message: str | None = None
    result: object = None
    thread: threading.Thread | None = None


class LocalComputeAdapter(ComputeService):
    """Each submitted job runs `runner` in its own daemon thread of this process.

    Cancelling sets the event the runner is given; the run ends CANCELLED when the
    runner returns or raises after that (a cooperative stop: the runner decides when).
    """

    remote = False

    def __init__(self, runner: Runner, *, poll_seconds: float = 0.05) -> None:
        self.runner = runner
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._runs: dict[str, _LocalRun] = {}
        self._keys: dict[str, str] = {}

    @classmethod
    def for_app(cls, app: App, *, poll_seconds: float = 0.05) -> LocalComputeAdapter:
        """An adapter running jobs with `execute` against `app`."""
        return cls(lambda job, ev: execute(app, job, ev), poll_seconds=poll_seconds)

    def __repr__(self) -> str:
        return f"LocalComputeAdapter(runs={len(self._runs)})"

    def submit(self, job: ComputeJob, *, idempotency_key: str | None = None) -> SubmittedRun:
        if not isinstance(job, ComputeJob):
            raise InvalidComputeJob(f"submit takes a ComputeJob, not {type(job).__name__}")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 64:
            raise InvalidComputeJob("an idempotency key has 1 to 64 characters")
        with self._lock:
            if idempotency_key is not None and idempotency_key in self._keys:
                return self._runs[self._keys[idempotency_key]].handle
            handle = SubmittedRun(id=f"local-{uuid.uuid4().hex}", job=job)
            run = _LocalRun(handle=handle)
            self._runs[handle.id] = run
            if idempotency_key is not None:
                self._keys[idempotency_key] = handle.id
        run.thread = threading.Thread(
            target=self._run, args=(run,), name=f"udo-compute-{handle.id[-8:]}", daemon=True
        )
        run.thread.start()
        return handle

    def _run(self, run: _LocalRun) -> None:
        with self._lock:
            if run.cancelled.is_set():
                self._end(run, ComputeState.CANCELLED, "cancelled before it started")
                return
            run.state = ComputeState.RUNNING
        try:
            result = self.runner(run.handle.job, run.cancelled)
        except BaseException as exc:  # the thread ends here whatever happened
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if run.cancelled.is_set():
                    self._end(run, ComputeState.CANCELLED, f"cancelled ({message})")
                else:
                    log.warning("compute run %s failed: %s", run.handle.id, message)
                    self._end(run, ComputeState.FAILED, message)
            return
        with self._lock:
            run.result = result
            if run.cancelled.is_set():
                self._end(run, ComputeState.CANCELLED, "cancelled")
            else:
                self._end(run, ComputeState.SUCCEEDED, None)

    @staticmethod
    def _end(run: _LocalRun, state: ComputeState, message: str | None) -> None:
        run.state = state
        run.message = message
        run.done.set()

    def _get(self, run: SubmittedRun | str) -> _LocalRun:
        with self._lock:
            found = self._runs.get(run_id(run))
        if found is None:
            raise ComputeRunNotFound(run_id(run))
        return found

    def state(self, run: SubmittedRun | str) -> RunState:
        found = self._get(run)
        with self._lock:
            return RunState(state=found.state, message=found.message)

    def cancel(self, run: SubmittedRun | str) -> None:
        found = self._get(run)
        with self._lock:
            if not found.done.is_set():
                found.cancelled.set()

    def result(self, run: SubmittedRun | str) -> object:
        """What the runner returned (a `JobReport` for `for_app`); None until it succeeded."""
        found = self._get(run)
        with self._lock:
            return found.result

    def close(self) -> None:
        """Ask every unfinished run to stop and wait a little for their threads."""
        with self._lock:
            runs = list(self._runs.values())
            for run in runs:
                if not run.done.is_set():
                    run.cancelled.set()
        for run in runs:
            if run.thread is not None:
                run.thread.join(timeout=5)
