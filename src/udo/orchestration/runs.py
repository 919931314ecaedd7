"""Use cases around runs: request cleaning ("Clean Data"), inspect runs and queues."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from udo.domain.run import (
    CleanMessage,
    Route,
    Run,
    RunStatus,
    StaleRun,
    idempotency_key,
    now,
)
from udo.orchestration.router import RoutingDecision, route_batch
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import rules_for
from udo.ports.metadata import MetadataStore
from udo.ports.notifier import Notifier, RunEvent
from udo.ports.orchestrator import Orchestrator, OrchestratorError
from udo.ports.queue import QueueService, poison_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanRequest:
    """The answer to "Clean Data": the run and where it was routed."""

    run: Run
    decision: RoutingDecision
    reused: bool
    """True when the same request had already made this run (idempotency)."""


def event(run: Run, type_: str, message: str = "", **data: object) -> RunEvent:
    """A run event for the notifier."""
    return RunEvent(
        type=type_,
        run_id=run.id,
        dataset=run.dataset,
        batch_id=run.batch_id,
        at=now(),
        message=message,
        data=dict(data),
    )


class RunService:
    """Requests cleaning runs and routes them to small-queue or large-queue.

    Once a run is queued, the `orchestrator` starts it: locally nothing happens (the
    triggers and the worker drain the queue); on Data Factory the route's pipeline runs
    now. When the orchestrator cannot be reached or refuses, the run stays queued, with
    the reason in its history, and the next scheduled drain takes it.
    """

    def __init__(
        self,
        bronze: BronzeStore,
        queue: QueueService,
        metadata: MetadataStore,
        notifier: Notifier,
        *,
        queues: dict[Route, str],
        engines: dict[Route, str],
        threshold: int,
        orchestrator: Orchestrator | None = None,
    ) -> None:
        self.bronze = bronze
        self.queue = queue
        self.metadata = metadata
        self.notifier = notifier
        self.queues = queues
        self.engines = engines
        self.threshold = threshold
        if orchestrator is None:
            from udo.adapters.local.orchestrator import LocalOrchestrator

            orchestrator = LocalOrchestrator()
        self.orchestrator = orchestrator

    def request_clean(
        self,
        dataset: str,
        batch_id: str | None = None,
        *,
        force: bool = False,
        destinations: list[str] | None = None,
    ) -> CleanRequest:
        """Route a batch and enqueue it; the same request twice is one run unless `force`."""
        if batch_id is None:
            batches = self.bronze.batches(dataset)
            if not batches:
                from udo.errors import BatchError

                raise BatchError(f"dataset {dataset!r} has no landed batch")
            batch_id = batches[-1]
        manifest = self.bronze.manifest(dataset, batch_id)
        decision = route_batch(manifest, self.threshold)
        rules = rules_for(manifest)
        key = idempotency_key(dataset, batch_id, rules.version_hash())
        if not force:
            existing = self.metadata.find_by_key(key)
            if existing is not None and existing.status not in (
                RunStatus.FAILED,
                RunStatus.DEAD_LETTERED,
            ):
                return CleanRequest(existing, decision, reused=True)
        run_id = f"r{now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
        at = now()
        run = Run(
            id=run_id,
            dataset=dataset,
            batch_id=batch_id,
            records=decision.records,
            route=decision.route,
            engine=self.engines[decision.route],
            status=RunStatus.REQUESTED,
            idempotency_key=key if not force else f"{key}/{run_id}",
            destinations=destinations or [],
            requested_at=at,
            updated_at=at,
        )
        created = self.metadata.create_run(run)
        if created.id != run.id:  # another request made it first
            return CleanRequest(created, decision, reused=True)
        message = CleanMessage(
            run_id=run.id,
            dataset=dataset,
            batch_id=batch_id,
            records=decision.records,
            route=decision.route,
            destinations=run.destinations,
            requested_at=at,
            idempotency_key=run.idempotency_key,
        )
        queue_name = self.queues[decision.route]
        self.queue.send(queue_name, message.to_json())
        queued = self.metadata.transition(run.id, RunStatus.QUEUED, detail=decision.reason)
        self.notifier.publish(
            event(queued, "run.queued", decision.reason, route=decision.route, queue=queue_name)
        )
        try:
            queued = self.orchestrator.start(queued, marts=[m.name for m in rules.marts])
        except OrchestratorError as exc:
            # the run is queued either way: answering an error would make the caller retry
            # into the same (reused) run; the reason is in its history and the log
            log.warning("run %s stays queued for the next trigger: %s", run.id, exc)
            queued = self.metadata.get_run(run.id)
            try:  # only while it is still queued: a drain may have taken it meanwhile
                queued = self.metadata.transition(
                    run.id,
                    RunStatus.QUEUED,
                    stage=queued.stage,
                    detail=f"not started now ({exc}); the next trigger drains {queue_name}",
                    only_from=(RunStatus.QUEUED, queued.stage),
                )
            except StaleRun:
                queued = self.metadata.get_run(run.id)
        return CleanRequest(queued, decision, reused=False)

    def queue_status(self) -> dict[str, dict[str, int]]:
        """Depth of each queue and of its poison queue."""
        return {
            name: {"depth": self.queue.depth(name), "poison": self.queue.depth(poison_name(name))}
            for name in self.queues.values()
        }
