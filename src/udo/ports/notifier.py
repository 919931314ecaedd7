"""Notifier: run events pushed to whoever listens (in-process, SSE, Azure SignalR)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

EventType = Literal[
    "run.requested",
    "run.queued",
    "run.started",
    "run.stage",
    "run.succeeded",
    "run.failed",
    "run.dead_lettered",
    "pipeline.completed",
]


class RunEvent(BaseModel):
    """One event of a run. `run.succeeded` carries the message "Cleaning complete".

    `pipeline.completed`: a Data Factory pipeline (udo-small / udo-large) finished loading
    Gold into the warehouse and operational DB; `run_id` is empty for a scheduled drain.
    """

    type: EventType
    run_id: str
    dataset: str
    batch_id: str
    at: datetime
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class Notifier(ABC):
    """Publishes run events; delivery is best effort and must never fail a run."""

    @abstractmethod
    def publish(self, event: RunEvent) -> None:
        """Send `event` to subscribers; errors are logged, not raised."""

    @abstractmethod
    def subscribe(self, callback: Callable[[RunEvent], None]) -> Callable[[], None]:
        """Call `callback` for every event from now on; returns an unsubscribe function."""
