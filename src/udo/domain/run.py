"""A cleaning run and its state machine.

    REQUESTED -> QUEUED(route) -> RUNNING(stage) -> SUCCEEDED | FAILED | DEAD_LETTERED

A run goes back to QUEUED when its message is delivered again (a worker died, or the
run failed and the queue will retry it); it ends DEAD_LETTERED when its message is moved
to the poison queue. Every transition is timestamped.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from udo.errors import TerminalError, UdoError

MESSAGE_VERSION = 1
Route = Literal["small", "large"]


class RunStatus(StrEnum):
    """Where a run is."""

    REQUESTED = "REQUESTED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    DEAD_LETTERED = "DEAD_LETTERED"


TERMINAL = {RunStatus.SUCCEEDED, RunStatus.DEAD_LETTERED}
ALLOWED: dict[RunStatus, set[RunStatus]] = {
    RunStatus.REQUESTED: {RunStatus.QUEUED, RunStatus.FAILED},
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.DEAD_LETTERED, RunStatus.QUEUED},
    RunStatus.RUNNING: {
        RunStatus.RUNNING,  # a new stage, or a redelivery after a crash
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.QUEUED,
        RunStatus.DEAD_LETTERED,
    },
    RunStatus.FAILED: {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.DEAD_LETTERED},
    RunStatus.SUCCEEDED: set(),
    RunStatus.DEAD_LETTERED: set(),
}


class InvalidTransition(TerminalError):
    """A run was asked to move where its state machine does not go."""


class StaleRun(UdoError):
    """A conditional transition found the run no longer where the caller saw it (another
    process moved it in between): read it again and decide anew."""


def check_transition(current: RunStatus, new: RunStatus) -> None:
    """Raise `InvalidTransition` unless `current` may move to `new`."""
    if new not in ALLOWED[current]:
        raise InvalidTransition(f"a run cannot go from {current} to {new}")


class Transition(BaseModel):
    """One timestamped step of a run."""

    status: RunStatus
    at: datetime
    stage: str | None = None
    detail: str | None = None


class Run(BaseModel):
    """A request to clean one batch, and everything that happened to it."""

    id: str
    dataset: str
    batch_id: str
    records: int
    route: Route
    engine: str
    status: RunStatus
    stage: str | None = None
    idempotency_key: str
    destinations: list[str] = Field(default_factory=list)
    requested_at: datetime
    updated_at: datetime
    attempts: int = 0
    error: str | None = None
    ledger: dict[str, Any] | None = None
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    transitions: list[Transition] = Field(default_factory=list)


def idempotency_key(dataset: str, batch_id: str, rules_version: str) -> str:
    """Same dataset, batch and rules: the same effective run."""
    raw = f"{dataset}\x00{batch_id}\x00{rules_version}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


class CleanMessage(BaseModel):
    """The versioned message on small-queue / large-queue."""

    v: Literal[1] = 1
    run_id: str
    dataset: str
    batch_id: str
    records: int
    route: Route
    destinations: list[str] = Field(default_factory=list)
    requested_at: datetime
    idempotency_key: str

    def to_json(self) -> str:
        """Compact JSON for the queue."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, body: str) -> CleanMessage:
        """Parse a message body (a `TerminalError` if it is not one of ours)."""
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise TerminalError(f"not a clean message: {exc}") from exc
        if not isinstance(data, dict) or data.get("v") != MESSAGE_VERSION:
            raise TerminalError(f"unsupported clean message version: {data!r:.200}")
        return cls.model_validate(data)


def now() -> datetime:
    """The current UTC time (one place, so tests can reason about it)."""
    return datetime.now(UTC)
