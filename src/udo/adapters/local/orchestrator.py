"""LocalOrchestrator: udo's own triggers and worker drain the queues."""

from __future__ import annotations

from collections.abc import Sequence

from udo.domain.run import Run
from udo.ports.orchestrator import ExternalRun, Orchestrator


class LocalOrchestrator(Orchestrator):
    """Starting a run is its message being on the queue: the triggers (or "drain now")
    hand it to the worker, which moves the run and publishes its events itself."""

    follows_runs = False

    def start(self, run: Run, *, marts: Sequence[str] = ()) -> Run:
        """Nothing to do: the queued message is the start."""
        return run

    def status(self, run: Run) -> ExternalRun | None:
        """None: no external service executes local runs."""
        return None

    def follow(self, run: Run) -> Run:
        """Returns `run` at once: the worker moves local runs itself."""
        return run
