"""udo on Azure Functions (Python v2 programming model): "Clean Data" and the small path.

Functions (routes under the default ``/api`` prefix, HTTP triggers with auth level FUNCTION):

- ``POST /api/clean`` ("Clean Data"): reads the batch's Bronze manifest, routes it by size
  to small-queue or large-queue (the roadmap's Data Routing Logic, threshold
  ``UDO_ROUTING__SMALL_MAX_RECORDS``) and enqueues it; 202 with the run id, route and queue.
  This is `udo.orchestration.runs.RunService.request_clean`, as behind the Flask API.
- ``POST /api/drain/small``: drains small-queue on the fast engine with udo's own worker
  (`Worker.drain`) and answers with the runs it processed. Data Factory's ``udo-small``
  pipeline calls it every 10 minutes (pull).
- ``clean_small_message``: a queue trigger on small-queue that runs one delivered message
  through the same `Worker.process` (push). The Functions runtime owns that delivery: it
  deletes the message when the function returns, makes it visible again when it raises, and
  moves it to ``small-queue-poison`` after 5 dequeues (host.json), udo's own poison rule.
- ``GET /api/health``: liveness (anonymous, like the API's; it reveals only the version).

The udo App is built once per worker process, on first use, by `udo.bootstrap.bootstrap`
from the app settings (``UDO_...`` environment variables; ``UDO_CLOUD=azure`` in Azure).
Errors are answered in the API's JSON shape ``{"error": {"code", "message", "details"}}``
with the API's status mapping (`udo.api.errors`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func  # noqa: TID253 -- the v2 model registers functions at import
from flask import Flask  # noqa: TID253 -- only to answer errors with the API's own handlers
from pydantic import ValidationError

import udo
from udo.api.errors import ApiError, detail, install_error_handlers
from udo.api.inputs import validation_details
from udo.api.models import CleanRequest
from udo.api.runs import run_json
from udo.bootstrap import App, bootstrap
from udo.config import Settings
from udo.domain.run import Route
from udo.errors import ConfigError, TransientError
from udo.orchestration.worker import Worker
from udo.ports.queue import Message, QueueService

log = logging.getLogger("udo.functions")

SMALL_QUEUE = "small-queue"
HOST_MAX_DEQUEUE: int = json.loads((Path(__file__).parent / "host.json").read_text())["extensions"][
    "queues"
]["maxDequeueCount"]
"""The runtime's poison rule (host.json), which must be udo's (UDO_QUEUE__MAX_DEQUEUE)."""
DRAIN_BUDGET_SECONDS = 180.0
"""No new message is taken after this long: Azure's front end cuts an HTTP-triggered call
at 230 s whatever functionTimeout says; what is left waits for the next drain."""
"""The queue the queue trigger listens to; must equal ``UDO_QUEUE__SMALL``."""
QUEUE_CONNECTION = "AzureWebJobsStorage"
"""App setting (prefix) of the storage account holding udo's queues."""
SMALL: Route = "small"

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


# ------------------------------------------------------------------ the udo App, once
_build_lock = threading.Lock()
_work_lock = threading.Lock()
"""One cleaning at a time per worker process, whichever trigger asked for it: the
pipeline's destination connections are shared by the process."""
_state: dict[str, Any] = {}


def udo_app() -> App:
    """The process's udo App, built on first use from the app settings."""
    with _build_lock:
        if "app" not in _state:
            settings = Settings()
            # Data Factory drains the queues on its triggers and follows its own runs from
            # the udo API; a Function (which may scale to zero mid-poll) never follows a
            # pipeline run: its "Clean Data" only routes and enqueues.
            settings.orchestrator.type = "local"
            built_now = bootstrap(settings)
            # build the shared services here, under the lock, not racing in invocations
            for service in ("metadata", "queue", "notifier", "runs", "worker"):
                getattr(built_now, service)
            _state["app"] = built_now
        built: App = _state["app"]
        return built


def _flush_events(udo_: App) -> None:
    """Send the run events this invocation published before it returns: the host may
    freeze or recycle the process right after, and a queued broadcast would be lost."""
    flush = getattr(udo_.notifier, "flush", None)
    if callable(flush):
        try:
            flush(timeout=5.0)
        except Exception:  # delivery is best effort: never fail the invocation over it
            log.warning("run events not flushed", exc_info=True)


def _errors_app() -> Flask:
    """A bare Flask app carrying the API's error handlers (never serves a request)."""
    with _build_lock:
        if "errors" not in _state:
            flask_app = Flask("udo.functions")
            install_error_handlers(flask_app)
            _state["errors"] = flask_app
        errors: Flask = _state["errors"]
        return errors


# ------------------------------------------------------------------ HTTP answers
def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    """`body` as a JSON response."""
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False), status_code=status, mimetype="application/json"
    )


def error_response(exc: Exception) -> func.HttpResponse:
    """`exc` answered exactly as the Flask API answers it (status, code, message, details).

    Unexpected errors are logged with their traceback by the API's handler and answered
    with a generic 500 holding neither the traceback nor the exception's text.
    """
    flask_app = _errors_app()
    with flask_app.test_request_context():
        answer = flask_app.make_response(flask_app.handle_user_exception(exc))
    return func.HttpResponse(
        answer.get_data(), status_code=answer.status_code, mimetype="application/json"
    )


def _answer(handler: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    try:
        return handler()
    except Exception as exc:
        return error_response(exc)


def clean_request(req: func.HttpRequest) -> CleanRequest:
    """The "Clean Data" body: ``{dataset, batch_id | batch, force?}``.

    400 when the body is not JSON; 422 (with field paths) when it does not fit, as the API.
    ``batch`` is accepted for ``batch_id``. ``rules`` is refused: a run's rules are derived
    from its batch's spec (`udo.pipeline.clean.rules_for`), never sent with the request.
    """
    try:
        data = json.loads(req.get_body())
    except ValueError:
        raise ApiError(400, "bad_request", "the request body must be a JSON object") from None
    if isinstance(data, dict):
        if "rules" in data:
            raise ApiError(
                422,
                "validation_error",
                "invalid request body",
                [
                    detail(
                        "rules",
                        "rules come from the batch's dataset spec; per-request rules are "
                        "not supported",
                    )
                ],
            )
        if "batch" in data:
            if "batch_id" in data:
                raise ApiError(
                    422,
                    "validation_error",
                    "invalid request body",
                    [detail("batch", "give 'batch' or 'batch_id', not both")],
                )
            data = {("batch_id" if k == "batch" else k): v for k, v in data.items()}
    try:
        return CleanRequest.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            422, "validation_error", "invalid request body", validation_details(exc)
        ) from None


# ------------------------------------------------------------------ "Clean Data"
def _clean(req: func.HttpRequest) -> func.HttpResponse:
    body = clean_request(req)
    udo_ = udo_app()
    asked = udo_.runs.request_clean(body.dataset, body.batch_id, force=body.force)
    run = asked.run
    answer = {
        "run_id": run.id,
        "dataset": run.dataset,
        "batch_id": run.batch_id,
        "route": run.route,
        "queue": udo_.queue_names[run.route],
        "records": asked.decision.records,
        "threshold": asked.decision.threshold,
        "reason": asked.decision.reason,
        "reused": asked.reused,
        "status": run.status.value,
    }
    log.info("clean %s/%s: run %s on %s", run.dataset, run.batch_id, run.id, answer["queue"])
    return json_response(answer, 202)


@app.function_name("clean")
@app.route(route="clean", methods=["POST"])
def clean(req: func.HttpRequest) -> func.HttpResponse:
    """ "Clean Data": route a landed batch by its size and enqueue it (202).

    The same request twice is one run unless ``force``; 404 for an unknown dataset or
    batch, 400/422 for a bad body.
    """
    return _answer(lambda: _clean(req))


# ------------------------------------------------------------------ small path, pull
def pipeline_run_id(req: func.HttpRequest) -> str | None:
    """The Data Factory pipeline run named in a drain request's body, if any.

    udo-small posts ``{run_id, dataset, batch_id, pipeline_run_id}``; the drain takes
    whatever small-queue holds whatever the body says, so the body is only echoed for
    tracing and a missing or unreadable one is not an error.
    """
    try:
        data = json.loads(req.get_body() or b"{}")
    except ValueError:
        return None
    found = data.get("pipeline_run_id") if isinstance(data, dict) else None
    if isinstance(found, str) and 0 < len(found) <= 100 and found.isprintable():
        return found
    return None


def _drain_small(req: func.HttpRequest) -> func.HttpResponse:
    udo_ = udo_app()
    pipeline_run = pipeline_run_id(req)
    queue = udo_.queue_names[SMALL]
    if not _work_lock.acquire(blocking=False):
        raise ApiError(
            409, "drain_in_progress", f"{queue} is already being processed by this instance"
        )
    try:
        processed: list[str] = udo_.worker.drain(SMALL, budget_seconds=DRAIN_BUDGET_SECONDS)
    finally:
        _work_lock.release()
        _flush_events(udo_)
    runs = [run_json(udo_.metadata.get_run(run_id)) for run_id in processed if run_id]
    answer = {
        "route": SMALL,
        "queue": queue,
        "processed": len(runs),
        "poisoned_messages": sum(1 for run_id in processed if not run_id),
        "runs": runs,
        "depth": udo_.queue.depth(queue),
        "pipeline_run_id": pipeline_run,
    }
    log.info("%s drained: %d run(s) (pipeline run %s)", queue, len(runs), pipeline_run)
    return json_response(answer, 200)


@app.function_name("drain_small")
@app.route(route="drain/small", methods=["POST"])
def drain_small(req: func.HttpRequest) -> func.HttpResponse:
    """Drain small-queue on the fast engine (what Data Factory's udo-small calls).

    200 with each run processed and its state; 409 when this instance is already cleaning.
    """
    return _answer(lambda: _drain_small(req))


# ------------------------------------------------------------------ small path, push
class RedeliveryRequested(TransientError):
    """The run failed transiently: the Functions runtime should deliver the message again."""


class _Delivery:
    """One delivery owned by the runtime, and whether the worker is done with it."""

    def __init__(self, receipt: str) -> None:
        self.receipt = receipt
        self.acknowledged = False


class RuntimeOwnedQueue(QueueService):
    """The QueueService the worker uses while the Functions runtime owns one delivery.

    The runtime deletes a queue-triggered message when the function returns and keeps it
    invisible while the function runs, so the worker's delete / extend / release of *that*
    delivery are recorded instead of sent; a delete is the worker's "done with it" (success,
    duplicate, or moved to poison). Everything else (the poison queue, peeks, other
    messages) goes to the configured queue adapter.
    """

    def __init__(self, inner: QueueService, queue: str) -> None:
        self.inner = inner
        self.queue = queue
        self.max_dequeue = inner.max_dequeue
        self._current: _Delivery | None = None

    @contextmanager
    def delivery(self, receipt: str) -> Iterator[_Delivery]:
        """Own the delivery proven by `receipt` for the duration of the block."""
        self._current = _Delivery(receipt)
        try:
            yield self._current
        finally:
            self._current = None

    def _owned(self, queue: str, receipt: str) -> _Delivery | None:
        current = self._current
        if current is not None and queue == self.queue and receipt == current.receipt:
            return current
        return None

    def send(self, queue: str, body: str, *, delay_seconds: float = 0) -> str:
        """Enqueue on the configured adapter."""
        return self.inner.send(queue, body, delay_seconds=delay_seconds)

    def receive(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: float = 300
    ) -> list[Message]:
        """Receive from the configured adapter."""
        return self.inner.receive(
            queue, max_messages=max_messages, visibility_timeout=visibility_timeout
        )

    def delete(self, queue: str, receipt: str) -> None:
        """The owned delivery is marked done (the runtime deletes it); others are deleted."""
        owned = self._owned(queue, receipt)
        if owned is not None:
            owned.acknowledged = True
            return
        self.inner.delete(queue, receipt)

    def extend(self, queue: str, receipt: str, visibility_timeout: float) -> str:
        """The runtime keeps the owned delivery invisible while the function runs."""
        if self._owned(queue, receipt) is not None:
            return receipt
        return self.inner.extend(queue, receipt, visibility_timeout)

    def release(self, queue: str, receipt: str) -> None:
        """The owned delivery comes back when the function raises; others are released."""
        if self._owned(queue, receipt) is not None:
            return
        self.inner.release(queue, receipt)

    def depth(self, queue: str) -> int:
        """Depth on the configured adapter."""
        return self.inner.depth(queue)

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        """Peek on the configured adapter."""
        return self.inner.peek(queue, max_messages=max_messages)

    def purge(self, queue: str) -> int:
        """Purge on the configured adapter."""
        return self.inner.purge(queue)


def push_worker(udo_: App) -> tuple[Worker, RuntimeOwnedQueue]:
    """The worker of pushed deliveries: `App.worker`'s wiring on a `RuntimeOwnedQueue`."""
    if "push" not in _state:
        base: Worker = udo_.worker
        queue = RuntimeOwnedQueue(base.queue, base.queues[SMALL])
        worker = Worker(
            storage=base.storage,
            bronze=base.bronze,
            queue=queue,
            metadata=base.metadata,
            notifier=base.notifier,
            queues=base.queues,
            engines=base.engines,
            engine_factory=base.engine_factory,
            pipeline_factory=base.pipeline_factory,
            visibility_timeout=base.visibility_timeout,
            max_dequeue=base.max_dequeue,
            retry_backoff=base.retry_backoff,
            stage_pause=base.stage_pause,
            work_dir=base.work_dir,
        )
        _state["push"] = (worker, queue)
    found: tuple[Worker, RuntimeOwnedQueue] = _state["push"]
    return found


def _as_utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def process_pushed(msg: func.QueueMessage) -> str:
    """Run one delivered small-queue message through `Worker.process`; return the run id.

    Returns normally when the worker is done with the message (the run succeeded, was
    already finished, or was moved to ``small-queue-poison``): the runtime deletes it.
    Raises `RedeliveryRequested` when the run failed transiently and the worker wants it
    delivered again: the runtime makes it visible again after host.json's
    ``visibilityTimeout``. Raises `ConfigError` when udo's small queue is not the one this
    trigger listens to.
    """
    udo_ = udo_app()
    if udo_.settings.queue.max_dequeue != HOST_MAX_DEQUEUE:
        raise ConfigError(
            f"host.json's maxDequeueCount is {HOST_MAX_DEQUEUE} but UDO_QUEUE__MAX_DEQUEUE is "
            f"{udo_.settings.queue.max_dequeue}: the runtime and udo must agree on when a "
            "message is poison"
        )
    if udo_.queue_names[SMALL] != SMALL_QUEUE:
        raise ConfigError(
            f"the queue trigger listens to {SMALL_QUEUE!r} but UDO_QUEUE__SMALL is "
            f"{udo_.queue_names[SMALL]!r}: use {SMALL_QUEUE!r} or disable clean_small_message"
        )
    raw = msg.get_body()
    body = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    receipt = msg.pop_receipt or f"functions:{msg.id}"
    message = Message(
        id=msg.id or "",
        body=body,
        receipt=receipt,
        dequeue_count=msg.dequeue_count or 1,
        enqueued_at=_as_utc(msg.insertion_time),
        visible_at=_as_utc(msg.time_next_visible),
    )
    with _work_lock:
        worker, queue = push_worker(udo_)
        try:
            with queue.delivery(receipt) as delivery:
                run_id = worker.process(SMALL, message)
            worker.sweep_poison(SMALL)  # runs whose message the runtime moved to poison
        finally:
            _flush_events(udo_)
    if not delivery.acknowledged:
        run = udo_.metadata.get_run(run_id)
        raise RedeliveryRequested(
            f"run {run_id} failed on delivery {message.dequeue_count} and will be retried: "
            f"{run.error}"
        )
    return run_id


@app.function_name("clean_small_message")
@app.queue_trigger(arg_name="msg", queue_name=SMALL_QUEUE, connection=QUEUE_CONNECTION)
def clean_small_message(msg: func.QueueMessage) -> None:
    """Clean the batch of one small-queue message as it arrives (push)."""
    run_id = process_pushed(msg)
    log.info("small-queue message %s: run %s done", msg.id, run_id or "(poison)")


# ------------------------------------------------------------------ health
@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness for probes (anonymous: it answers only the version, like the API's)."""
    return json_response({"status": "ok", "version": udo.__version__})
