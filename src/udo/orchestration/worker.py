"""The queue worker: takes "Clean Data" messages and runs the pipeline on the route's engine.

Delivery is at least once and the pipeline is idempotent, so the effect is exactly once:
a run that already SUCCEEDED is acknowledged without work; a run whose worker died comes
back after the visibility timeout and runs again, replacing its batch in every layer.
While a run works, a heartbeat extends its message's visibility. A transient failure is
retried with exponential backoff; a terminal one (bad data, a violated `fail` rule), or
a message delivered `max_dequeue` times, goes to ``<queue>-poison`` and the run ends
DEAD_LETTERED with its error kept.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from udo.domain.ledger import Ledger
from udo.domain.run import TERMINAL, CleanMessage, Route, Run, RunStatus
from udo.errors import RunNotFound, TerminalError
from udo.orchestration.runs import event
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import Pipeline
from udo.ports.metadata import MetadataStore
from udo.ports.notifier import Notifier
from udo.ports.queue import Message, QueueService, ReceiptExpired, poison_name
from udo.ports.storage import StorageService

log = logging.getLogger(__name__)
EngineFactory = Callable[[str], Any]


class Heartbeat(threading.Thread):
    """Extends a message's visibility every third of the timeout while work goes on."""

    def __init__(self, queue: QueueService, name: str, receipt: str, timeout: float) -> None:
        super().__init__(name="udo-heartbeat", daemon=True)
        self.queue = queue
        self.queue_name = name
        self.receipt = receipt
        self.timeout = timeout
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._stop_event.wait(self.timeout / 3):
            with self._lock:
                try:
                    self.receipt = self.queue.extend(self.queue_name, self.receipt, self.timeout)
                except ReceiptExpired:
                    log.warning(
                        "lost the message on %s: it will be delivered again", self.queue_name
                    )
                    return
                except Exception:  # keep trying: a blip must not stop the heartbeat
                    log.exception("could not extend visibility on %s", self.queue_name)

    def stop(self) -> str:
        """Stop extending; return the current receipt."""
        self._stop_event.set()
        if self.is_alive():
            self.join()
        with self._lock:
            return self.receipt


class Worker:
    """Drains small-queue and large-queue."""

    def __init__(
        self,
        *,
        storage: StorageService,
        bronze: BronzeStore,
        queue: QueueService,
        metadata: MetadataStore,
        notifier: Notifier,
        queues: dict[Route, str],
        engines: dict[Route, str],
        engine_factory: EngineFactory,
        pipeline_factory: Callable[[Any], Pipeline] | None = None,
        visibility_timeout: float = 300.0,
        max_dequeue: int = 5,
        retry_backoff: float = 5.0,
        stage_pause: float = 0.0,
        work_dir: Path | None = None,
    ) -> None:
        self.storage = storage
        self.bronze = bronze
        self.queue = queue
        self.metadata = metadata
        self.notifier = notifier
        self.queues = queues
        self.engines = engines
        self.engine_factory = engine_factory
        self.pipeline_factory = pipeline_factory
        self.visibility_timeout = visibility_timeout
        self.max_dequeue = max_dequeue
        self.retry_backoff = retry_backoff
        self.stage_pause = stage_pause
        self.work_dir = work_dir
        self._engines: dict[str, Any] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one run at a time per worker

    # ----------------------------------------------------------------- loop
    def stop(self) -> None:
        """Finish the current run, then take no more messages."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stopping.is_set()

    def drain(self, route: Route, *, budget_seconds: float | None = None) -> list[str]:
        """Process messages of `route` until none is visible; return the run ids.

        With `budget_seconds`, no new message is taken once that much time has passed (the
        run in progress finishes): a caller with a deadline, such as an HTTP-triggered
        Function cut at 230 s, leaves the rest to the next drain.
        """
        done: list[str] = []
        name = self.queues[route]
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        with self._lock:
            self.sweep_poison(route)
            while not self.stopping and (deadline is None or time.monotonic() < deadline):
                messages = self.queue.receive(
                    name, max_messages=1, visibility_timeout=self.visibility_timeout
                )
                if not messages:
                    break
                done.append(self.process(route, messages[0]))
            self.sweep_poison(route)
        return done

    def run_forever(self, routes: list[Route]) -> None:
        """Poll the queues until `stop` is called."""
        while not self.stopping:
            worked = False
            for route in routes:
                worked = bool(self.drain(route)) or worked
            if not worked:
                self._stopping.wait(self._poll_seconds)

    _poll_seconds = 2.0

    def close(self) -> None:
        """Release engines."""
        for engine in self._engines.values():
            engine.close()

    # -------------------------------------------------------------- one run
    def process(self, route: Route, message: Message) -> str:
        """Run one delivered message to its end (success, retry later, or poison)."""
        name = self.queues[route]
        try:
            msg = CleanMessage.from_json(message.body)
            run = self.metadata.get_run(msg.run_id)
        except (TerminalError, RunNotFound) as exc:
            log.error("unreadable message on %s moved to poison: %s", name, exc)
            self.queue.send(poison_name(name), message.body)
            self.queue.delete(name, message.receipt)
            return ""
        if run.status in TERMINAL:
            self.queue.delete(name, message.receipt)  # a duplicate delivery: already done
            return run.id
        engine_name = self.engines[route]
        run = self.begin(run, engine_name, f"delivery {message.dequeue_count} on {name}")
        heartbeat = Heartbeat(self.queue, name, message.receipt, self.visibility_timeout)
        heartbeat.start()
        try:
            ledger = self._pipeline(engine_name).clean(
                run.dataset, run.batch_id, progress=lambda stage: self.stage(run, stage)
            )
        except BaseException as exc:
            receipt = heartbeat.stop()
            if not isinstance(exc, Exception):  # interrupted: let another worker take it
                self.queue.release(name, receipt)
                raise
            self._failed(run, name, message, receipt, exc)
            return run.id
        receipt = heartbeat.stop()
        done = self._record_success(run, ledger)
        try:
            self.queue.delete(name, receipt)
        except ReceiptExpired:
            log.warning(
                "run %s finished after its message came back; the rerun will be a no-op", run.id
            )
        self._announce_success(done, ledger)
        return run.id

    def begin(self, run: Run, engine_name: str, detail: str) -> Run:
        """Move `run` to RUNNING (stage "starting", one more attempt) and say so."""
        started = self.metadata.transition(
            run.id,
            RunStatus.RUNNING,
            stage="starting",
            attempts=run.attempts + 1,
            engine=engine_name,
            detail=detail,
        )
        self.notifier.publish(
            event(started, "run.started", f"cleaning on {engine_name}", attempt=started.attempts)
        )
        return started

    def succeed(self, run: Run, ledger: Ledger) -> Run:
        """Record `run` SUCCEEDED with its ledger and publish "Cleaning complete"."""
        done = self._record_success(run, ledger)
        self._announce_success(done, ledger)
        return done

    def _record_success(self, run: Run, ledger: Ledger) -> Run:
        return self.metadata.transition(
            run.id,
            RunStatus.SUCCEEDED,
            stage="done",
            ledger=ledger.model_dump(mode="json"),
            stage_seconds=ledger.stage_seconds,
            error=None,
        )

    def _announce_success(self, done: Run, ledger: Ledger) -> None:
        summary = _summary(ledger.model_dump(mode="json"))
        self.notifier.publish(event(done, "run.succeeded", "Cleaning complete", ledger=summary))

    def _pipeline(self, engine_name: str) -> Pipeline:
        if engine_name not in self._engines:
            self._engines[engine_name] = self.engine_factory(engine_name)
        engine = self._engines[engine_name]
        if self.pipeline_factory is not None:
            return self.pipeline_factory(engine)
        return Pipeline(self.storage, self.bronze, engine, work_dir=self.work_dir)

    def stage(self, run: Run, stage: str) -> None:
        """Record and announce that `run` reached `stage`."""
        updated = self.metadata.transition(run.id, RunStatus.RUNNING, stage=stage)
        self.notifier.publish(event(updated, "run.stage", stage, stage=stage))
        if self.stage_pause:
            time.sleep(self.stage_pause)

    def _failed(self, run: Run, name: str, message: Message, receipt: str, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TerminalError) or message.dequeue_count >= self.max_dequeue:
            self._dead_letter(run, name, message, receipt, error)
            return
        failed = self.metadata.transition(
            run.id, RunStatus.FAILED, error=error, detail="will retry"
        )
        self.notifier.publish(event(failed, "run.failed", error, retrying=True))
        delay = min(self.retry_backoff * 2 ** max(message.dequeue_count - 1, 0), 3600.0)
        with contextlib.suppress(ReceiptExpired):
            self.queue.extend(name, receipt, delay)  # comes back after the backoff

    def _dead_letter(self, run: Run, name: str, message: Message, receipt: str, error: str) -> None:
        self.queue.send(poison_name(name), message.body)
        with contextlib.suppress(ReceiptExpired):
            self.queue.delete(name, receipt)
        dead = self.metadata.transition(
            run.id, RunStatus.DEAD_LETTERED, error=error, detail=poison_name(name)
        )
        self.notifier.publish(event(dead, "run.dead_lettered", error, queue=poison_name(name)))

    def sweep_poison(self, route: Route) -> None:
        """Mark runs whose message the queue itself moved to poison (a worker that kept
        dying mid-run) DEAD_LETTERED."""
        name = poison_name(self.queues[route])
        for message in self.queue.peek(name, max_messages=32):
            try:
                msg = CleanMessage.from_json(message.body)
                run = self.metadata.get_run(msg.run_id)
            except (TerminalError, RunNotFound):
                continue
            if run.status not in TERMINAL:
                dead = self.metadata.transition(
                    run.id,
                    RunStatus.DEAD_LETTERED,
                    error=run.error or f"delivered {self.max_dequeue} times without completing",
                    detail=name,
                )
                self.notifier.publish(
                    event(dead, "run.dead_lettered", dead.error or "", queue=name)
                )


def _summary(ledger: dict[str, Any]) -> dict[str, Any]:
    tables = ledger.get("tables", {})
    return {
        name: {k: t[k] for k in ("bronze_in", "silver_out", "quarantined", "duplicates_removed")}
        for name, t in tables.items()
    }
