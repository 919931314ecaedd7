"""MetadataStore: runs and their transitions (SQLite, PostgreSQL, MySQL/MariaDB, Azure SQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from udo.domain.run import Run, RunStatus, Transition


class MetadataStore(ABC):
    """Where runs live. Every write is one transaction."""

    @abstractmethod
    def migrate(self) -> None:
        """Bring the schema to the latest version (idempotent)."""

    @abstractmethod
    def create_run(self, run: Run) -> Run:
        """Insert a new run with its first transition.

        If a run with the same idempotency key exists and is not FAILED or
        DEAD_LETTERED, return that run instead (the same request twice is one run).
        """

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """A run with its transitions; `RunNotFound` if none."""

    @abstractmethod
    def find_by_key(self, idempotency_key: str) -> Run | None:
        """The newest run with this idempotency key."""

    @abstractmethod
    def transition(
        self,
        run_id: str,
        status: RunStatus,
        *,
        stage: str | None = None,
        detail: str | None = None,
        only_from: tuple[RunStatus, str | None] | None = None,
        **fields: object,
    ) -> Run:
        """Move a run (checked against the state machine), record the transition, and
        update `fields` (error, ledger, stage_seconds, attempts, route, engine).

        With `only_from` ``(status, stage)``, the move is a compare-and-set: it happens only
        if the run is at that status and stage when the transaction reads it, else
        `StaleRun` and nothing is written (a follower must not overwrite what a worker in
        another process did since it looked).
        """

    @abstractmethod
    def list_runs(
        self, *, dataset: str | None = None, status: RunStatus | None = None, limit: int = 50
    ) -> list[Run]:
        """Newest first, without transitions."""

    @abstractmethod
    def transitions(self, run_id: str) -> list[Transition]:
        """A run's transitions, oldest first."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""
