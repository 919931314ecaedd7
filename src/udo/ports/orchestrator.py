"""Orchestrator: who drains small-queue and large-queue once "Clean Data" queued a run.

Locally, udo's own triggers and worker drain the queues: starting a run is nothing more
than its message being on the queue. On Azure, Data Factory runs the pipeline of the
run's route (``udo-small`` / ``udo-large``): `start` asks it to run now, and the
orchestrator follows that pipeline run, mirroring its state onto the udo run and
publishing run events the way the local worker does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from udo.domain.run import Run
from udo.errors import TerminalError, TransientError, UdoError

ExternalState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class OrchestratorError(UdoError):
    """Base of Orchestrator errors."""


class OrchestratorUnavailable(OrchestratorError, TransientError):
    """The orchestration service could not be reached or throttled us; try again later."""


class OrchestratorRejected(OrchestratorError, TerminalError):
    """The orchestration service refused the request (credentials, a missing factory or
    pipeline, a bad parameter): retrying the same call cannot help."""


@dataclass(frozen=True)
class ExternalRun:
    """A run of the external orchestrator executing a udo run."""

    pipeline: str
    """The pipeline (or job) that runs it, e.g. ``udo-small``."""
    run_id: str
    """The external run's id (a Data Factory pipeline run id)."""
    state: ExternalState
    message: str = ""
    """The service's status message; for a failed run, why it failed."""


class Orchestrator(ABC):
    """Drains the queues: locally by udo's worker, in the cloud by an orchestration service."""

    follows_runs: ClassVar[bool] = False
    """Capability: `start` hands the run to an external service whose progress this
    orchestrator mirrors onto the run (True), or the local worker moves the run itself
    (False)."""

    @abstractmethod
    def start(self, run: Run, *, marts: Sequence[str] = ()) -> Run:
        """Have `run` executed; called once, after it is QUEUED and its message is on the
        route's queue.

        `marts` are the Gold marts the run produces (what a cloud pipeline loads after
        cleaning). Returns the run as stored afterwards. It never waits for the run to
        finish and never moves it out of QUEUED itself; where it follows the run, it does
        so in the background (see `follow`). Raises `OrchestratorUnavailable` when the
        service cannot be reached (the run stays queued: the next trigger drains it) and
        `OrchestratorRejected` when the service refuses; no secret is in either message.
        """

    @abstractmethod
    def status(self, run: Run) -> ExternalRun | None:
        """The external execution of `run` as the service reports it now; None when this
        orchestrator executes nothing itself or did not start `run`."""

    @abstractmethod
    def follow(self, run: Run) -> Run:
        """Block until the external execution of `run` ends, mirroring each of its states
        onto the run (checked against the run's state machine, never undoing a state the
        worker already reached) and publishing the matching run events; return the run as
        stored at the end. Returns at once when there is nothing to follow."""

    def resume(self, *, watch: bool = False) -> int:
        """Follow, in the background, every unfinished run this orchestrator's service
        executes that nobody here follows (started by a process that is gone, or by the
        CLI); return how many. With `watch`, keep picking such runs up until `close`.
        Nothing to do locally."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional
        """Stop following runs in the background and release clients. Idempotent."""
