"""ComputeService: where a cleaning job runs (in this process, or a Databricks job).

A *cleaning job* either drains a queue (small-queue / large-queue) through the worker,
or cleans the one batch of a run already requested ("Clean Data"). `submit` starts it and
returns at once with a `SubmittedRun` handle; `state` reads where it is; `wait` follows it
until it ends; `cancel` asks it to stop. The job's own effects (runs, ledger, Silver, Gold)
are recorded by the worker in the MetadataStore, not here: this port only says whether
the job as a whole ran, and why it did not.

States only move forward: PENDING -> RUNNING -> one terminal state (SUCCEEDED, FAILED,
CANCELLED or SKIPPED). A run may be seen going straight from PENDING to a terminal state.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from udo.errors import TerminalError, TransientError, UdoError


class ComputeError(UdoError):
    """Base of ComputeService errors."""


class InvalidComputeJob(ComputeError, TerminalError):
    """A `ComputeJob` asks for something that cannot be run (see `ComputeJob`)."""


class ComputeRunNotFound(ComputeError, TerminalError):
    """No run with that id (never submitted here, or deleted by the service)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no compute run {run_id}")


class ComputeUnavailable(ComputeError, TransientError):
    """The compute service could not be reached or throttled us; try again later."""


class ComputeTimeout(ComputeError, TransientError):
    """`wait` gave up before the run ended; the run itself goes on."""


class ComputeState(StrEnum):
    """Where a submitted job is."""

    PENDING = "PENDING"
    """Accepted, not started (queued, waiting for a cluster, waiting to retry)."""
    RUNNING = "RUNNING"
    """Running, or stopping after a cancel."""
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    """Ended with an error: the job's own, or the platform's (`RunState.message` says)."""
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"
    """Never ran (e.g. the job's concurrency limit was reached); submitting again may run."""


TERMINAL_STATES = frozenset(
    {ComputeState.SUCCEEDED, ComputeState.FAILED, ComputeState.CANCELLED, ComputeState.SKIPPED}
)


@dataclass(frozen=True)
class ComputeJob:
    """What a cleaning job runs.

    Drain mode (no `run_id`): process messages of `queue` until none is visible, or until
    `max_runs` messages were processed. Batch mode (`run_id`): clean the batch of that run
    (requested before with "Clean Data"); `dataset` and `batch_id`, when given, must be
    the run's, and `queue` says which route's engine to use. `engine` overrides the
    route's configured engine ("spark", "polars", "pandas").
    """

    queue: str
    dataset: str | None = None
    batch_id: str | None = None
    run_id: str | None = None
    max_runs: int | None = None
    engine: str | None = None

    def __post_init__(self) -> None:
        if not self.queue or not isinstance(self.queue, str):
            raise InvalidComputeJob("a compute job needs the queue of its route (large-queue)")
        if (self.dataset is not None or self.batch_id is not None) and self.run_id is None:
            raise InvalidComputeJob(
                "a compute job for one batch needs the run id: request the run first "
                "(udo clean / POST /api/runs) and pass its id"
            )
        if self.max_runs is not None and self.max_runs < 1:
            raise InvalidComputeJob(f"max_runs must be at least 1, not {self.max_runs}")
        if self.max_runs is not None and self.run_id is not None:
            raise InvalidComputeJob("max_runs limits a queue drain; a batch job runs one run")
        for name in ("dataset", "batch_id", "run_id", "engine"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidComputeJob(f"compute job {name} must be a non-empty text")

    @property
    def mode(self) -> str:
        """ "drain" (a queue) or "batch" (one run)."""
        return "drain" if self.run_id is None else "batch"


@dataclass(frozen=True)
class SubmittedRun:
    """The handle `submit` returns: enough to ask about the run later, in any process."""

    id: str
    """The service's run id (a Databricks run id, a local uuid)."""
    job: ComputeJob
    url: str | None = None
    """Where a person can look at the run, when the service has a page for it."""


@dataclass(frozen=True)
class RunState:
    """A run's state as last seen, with the service's reason when it did not succeed."""

    state: ComputeState
    message: str | None = None
    """Why it failed, was cancelled or skipped (the job's error text when known)."""
    details: dict[str, str] = field(default_factory=dict)
    """The service's own words (e.g. life_cycle_state, result_state), for diagnosis."""

    @property
    def terminal(self) -> bool:
        """Whether the run has ended (it will not change any more)."""
        return self.state in TERMINAL_STATES


class ComputeService(ABC):
    """Runs cleaning jobs somewhere and reports on them."""

    poll_seconds: float = 5.0
    """Pause between two `state` calls while `wait` follows a run."""
    remote: ClassVar[bool] = False
    """True when the job runs outside this process (it must reach the same lake, queue and
    metadata store through its own configuration)."""

    @abstractmethod
    def submit(self, job: ComputeJob, *, idempotency_key: str | None = None) -> SubmittedRun:
        """Start `job` and return its handle at once, without waiting for it to run.

        With `idempotency_key` (at most 64 characters), submitting again with the same key
        returns the same run instead of starting a second one. Raises `ComputeUnavailable`
        when the service cannot be reached (nothing was started, or the key makes a retry
        safe), a `TerminalError` when it refuses the job (e.g. it is not deployed).
        """

    @abstractmethod
    def state(self, run: SubmittedRun | str) -> RunState:
        """The run's current state (a run or its id). `ComputeRunNotFound` if unknown."""

    @abstractmethod
    def cancel(self, run: SubmittedRun | str) -> None:
        """Ask the run to stop; returns without waiting for it to stop.

        The run then ends CANCELLED, unless it had ended already: cancelling an ended run
        changes nothing, and cancelling twice is the same as once. `ComputeRunNotFound` if
        unknown. A cancelled drain stops between two messages or mid-run; a message whose
        run was interrupted comes back after its visibility timeout (nothing is lost).
        """

    def wait(
        self,
        run: SubmittedRun | str,
        *,
        timeout: float | None = None,
        on_change: Callable[[RunState], None] | None = None,
    ) -> RunState:
        """Follow the run until it ends and return its terminal state.

        `on_change` is called with each state that differs from the previous one seen
        (the first one included), in order. Raises `ComputeTimeout` when `timeout` seconds
        pass first (the run goes on), and whatever `state` raises.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: RunState | None = None
        while True:
            current = self.state(run)
            if on_change is not None and (last is None or current != last):
                on_change(current)
            last = current
            if current.terminal:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise ComputeTimeout(
                    f"compute run {run_id(run)} still {current.state} after {timeout:g} s"
                )
            pause = self.poll_seconds
            if deadline is not None:
                pause = max(min(pause, deadline - time.monotonic()), 0.0)
            self._sleep(pause)

    def close(self) -> None:  # noqa: B027 - optional
        """Release clients and threads (runs already submitted go on where they run)."""

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def run_id(run: SubmittedRun | str) -> str:
    """The id of a run given as a handle or an id."""
    return run.id if isinstance(run, SubmittedRun) else str(run)
