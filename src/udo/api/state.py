"""What one API instance holds besides the udo App: options, triggers, the drain thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from udo.api.drains import DrainExecutor
from udo.api.errors import ApiError
from udo.api.options import ApiOptions
from udo.bootstrap import App
from udo.domain.run import Route

EXTENSION = "udo"


@dataclass
class ApiState:
    """Shared by every request of one Flask app (see `create_app`)."""

    udo: App
    options: ApiOptions
    triggers: Any
    """`udo.orchestration.triggers.Triggers`; started only with ``start_background``."""
    drains: DrainExecutor
    background: bool = False
    closing: threading.Event = field(default_factory=threading.Event)
    """Set on shutdown: event streams end, no drain is started."""

    def start_drain(self, route: Route) -> None:
        """Drain `route` on the drain thread; 409 if a drain of it is waiting or running."""
        if self.closing.is_set():
            raise ApiError(503, "unavailable", "the server is shutting down")
        if not self.drains.submit(route):
            raise ApiError(409, "drain_in_progress", f"{route}-queue is already being drained")

    def shutdown(self, wait: bool = False) -> None:
        """Stop the triggers, the event streams, the drain thread and the orchestrator's
        followers; safe to call again.

        With `wait`, the run in progress finishes first (queued drains do not start);
        without, it is abandoned with the process and its message is delivered again
        after the visibility timeout.
        """
        first = not self.closing.is_set()
        self.closing.set()
        if first and self.background:
            self.triggers.shutdown(wait=False)
        if wait:
            self.udo.worker.stop()
        self.drains.close(wait=wait)
        if first and "orchestrator" in vars(self.udo):  # built: stop following runs
            self.udo.orchestrator.close()


def state() -> ApiState:
    """The state of the Flask app handling this request."""
    found: ApiState = current_app.extensions[EXTENSION]
    return found
