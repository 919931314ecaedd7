"""The Azure Functions app (cloud/azure/functions/function_app.py), called in-process.

Each test loads function_app.py by its path (``cloud/`` is a deployable folder, not a
package) with the embedded defaults in a temporary data_dir as its app settings, takes the
user functions from ``app.get_functions()`` as the Functions host indexes them, and calls
them with real ``func.HttpRequest`` / ``func.QueueMessage`` objects. Where the Functions
runtime would delete a queue-triggered message after a normal return, the test does it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage

import udo
from function_host import FUNCTIONS, load_function_app
from udo.bootstrap import App
from udo.domain.run import CleanMessage, RunStatus
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline import delta
from udo.pipeline.clean import Lake
from udo.pipeline.engines.base import TableJob, TableResult
from udo.pipeline.engines.polars import PolarsEngine
from udo.ports.queue import poison_name

THRESHOLD = 2500  # a 40-row ecommerce batch has ~2,100 records (small), a 300-row ~2,900


class Functions:
    """A loaded function app, its functions by name, and its udo App."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.indexed = {f.get_function_name(): f for f in module.app.get_functions()}

    def user(self, name: str) -> Callable[..., Any]:
        """The Python function the host calls for `name`."""
        fn: Callable[..., Any] = self.indexed[name].get_user_function()
        return fn

    @property
    def udo(self) -> App:
        """The process's udo App (built on first use)."""
        built: App = self.module.udo_app()
        return built

    def post(self, name: str, route: str, body: bytes | Any = b"") -> func.HttpResponse:
        """POST to an HTTP function; `body` is sent as JSON unless it is bytes."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = func.HttpRequest(
            "POST",
            f"http://localhost/api/{route}",
            headers={"Content-Type": "application/json"},
            body=raw,
        )
        response: func.HttpResponse = self.user(name)(request)
        return response

    def clean(self, body: bytes | Any) -> tuple[int, dict[str, Any]]:
        """POST /api/clean."""
        response = self.post("clean", "clean", body)
        assert response.mimetype == "application/json"
        return response.status_code, json.loads(response.get_body())

    def drain(self, body: bytes | Any = b"") -> tuple[int, dict[str, Any]]:
        """POST /api/drain/small."""
        response = self.post("drain_small", "drain/small", body)
        return response.status_code, json.loads(response.get_body())

    def deliver(self) -> tuple[str, str]:
        """Take the next small-queue message as the runtime does; return (body, receipt)."""
        got = self.udo.queue.receive("small-queue", max_messages=1, visibility_timeout=600)
        assert len(got) == 1
        return got[0].body, got[0].receipt

    def push(self, body: str, receipt: str, dequeue_count: int) -> None:
        """Call the queue trigger with one delivery; delete it after a normal return."""
        msg = QueueMessage(
            id="m-1",
            body=body.encode(),
            dequeue_count=dequeue_count,
            pop_receipt=receipt,
            insertion_time=datetime.now(UTC),
            time_next_visible=datetime.now(UTC),
        )
        self.user("clean_small_message")(msg)
        self.udo.queue.delete("small-queue", receipt)  # the runtime's delete on success


@pytest.fixture
def fa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    """The function app on local settings: tmp data_dir, a low routing threshold."""
    monkeypatch.setenv("UDO_DATA_DIR", str(tmp_path / "udo"))
    monkeypatch.setenv("UDO_ROUTING__SMALL_MAX_RECORDS", str(THRESHOLD))
    monkeypatch.setenv("UDO_WORKER__RETRY_BACKOFF_SECONDS", "0")
    for name in ("UDO_CLOUD", "UDO_QUEUE__SMALL", "UDO_QUEUE__TYPE", "UDO_STORAGE__TYPE"):
        monkeypatch.delenv(name, raising=False)
    functions = Functions(load_function_app())
    yield functions
    if "app" in functions.module._state:
        functions.udo.worker.close()
    sys.modules.pop(functions.module.__name__, None)


def land(app: App, rows: int, batch_id: str) -> int:
    """Generate an ecommerce batch into Bronze; return its records."""
    generate_batch(
        app.bronze,
        load_preset("ecommerce").scaled(rows),
        batch_id=batch_id,
        dirt=DirtProfile.named("default"),
    )
    return app.bronze.manifest("ecommerce", batch_id).records


# ------------------------------------------------------------------ bindings
HTTP_OUT = {"direction": "OUT", "type": "http", "name": "$return"}
EXPECTED_BINDINGS = {
    "clean": [
        {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": ["POST"],
            "authLevel": "FUNCTION",
            "route": "clean",
        },
        HTTP_OUT,
    ],
    "drain_small": [
        {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": ["POST"],
            "authLevel": "FUNCTION",
            "route": "drain/small",
        },
        HTTP_OUT,
    ],
    "clean_small_message": [
        {
            "direction": "IN",
            "type": "queueTrigger",
            "name": "msg",
            "queueName": "small-queue",
            "connection": "AzureWebJobsStorage",
        }
    ],
    "health": [
        {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": ["GET"],
            "authLevel": "ANONYMOUS",
            "route": "health",
        },
        HTTP_OUT,
    ],
}


def test_the_bindings_the_host_derives(fa: Functions) -> None:
    assert set(fa.indexed) == set(EXPECTED_BINDINGS)
    for name, function in fa.indexed.items():
        derived = json.loads(function.get_function_json())
        assert derived == {"scriptFile": "function_app.py", "bindings": EXPECTED_BINDINGS[name]}
        # get_function_json is get_bindings_dict serialised (enums as their names)
        assert len(function.get_bindings_dict()["bindings"]) == len(EXPECTED_BINDINGS[name])
    assert fa.indexed["clean"].is_http_function()
    assert not fa.indexed["clean_small_message"].is_http_function()


def test_host_json_matches_udos_queue_rules(fa: Functions) -> None:
    host = json.loads((FUNCTIONS / "host.json").read_text(encoding="utf-8"))
    queues = host["extensions"]["queues"]
    # the runtime's poison rule is udo's: 5 deliveries, then <queue>-poison
    assert queues["maxDequeueCount"] == fa.udo.settings.queue.max_dequeue == 5
    assert queues["batchSize"] == 1 and queues["newBatchThreshold"] == 0
    assert host["extensions"]["http"]["routePrefix"] == "api"
    assert host["version"] == "2.0"


def test_requirements_install_this_udo_with_the_azure_extra() -> None:
    lines = [
        line.strip()
        for line in (FUNCTIONS / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    wheel = f"udo-{udo.__version__}-py3-none-any.whl"
    udo_lines = [line for line in lines if wheel in line]
    assert len(udo_lines) == 1, lines
    assert "azure" in udo_lines[0].split("[", 1)[1]
    assert "azure-functions==1.26.0" in lines


def test_local_settings_example_holds_no_secret() -> None:
    example = json.loads((FUNCTIONS / "local.settings.json.example").read_text(encoding="utf-8"))
    values: dict[str, str] = example["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["UDO_CLOUD"] == "azure"
    for key, value in values.items():
        assert "AccountKey=" not in value or "devstoreaccount1" in value, key
        assert "AccessKey=" not in value, key


# ------------------------------------------------------------------ "Clean Data"
def test_clean_routes_a_small_batch_to_small_queue(fa: Functions) -> None:
    records = land(fa.udo, 40, "s1")
    assert records <= THRESHOLD
    status, body = fa.clean({"dataset": "ecommerce", "batch": "s1"})
    assert status == 202, body
    assert body["route"] == "small" and body["queue"] == "small-queue"
    assert body["records"] == records and body["threshold"] == THRESHOLD
    assert body["status"] == "QUEUED" and body["reused"] is False
    assert body["batch_id"] == "s1" and body["dataset"] == "ecommerce"
    run = fa.udo.metadata.get_run(body["run_id"])
    assert run.status == RunStatus.QUEUED and run.route == "small" and run.engine == "polars"
    assert fa.udo.queue.depth("small-queue") == 1 and fa.udo.queue.depth("large-queue") == 0
    message = CleanMessage.from_json(fa.udo.queue.peek("small-queue")[0].body)
    assert message.run_id == body["run_id"] and message.batch_id == "s1"


def test_clean_routes_a_large_batch_to_large_queue(fa: Functions) -> None:
    records = land(fa.udo, 300, "l1")
    assert records > THRESHOLD
    status, body = fa.clean({"dataset": "ecommerce", "batch_id": "l1"})
    assert status == 202, body
    assert body["route"] == "large" and body["queue"] == "large-queue"
    assert body["reason"] == f"{records:,} records > {THRESHOLD:,}: large-queue"
    assert fa.udo.queue.depth("large-queue") == 1 and fa.udo.queue.depth("small-queue") == 0
    assert fa.udo.metadata.get_run(body["run_id"]).engine == "spark"


def test_clean_without_batch_takes_the_latest_and_is_idempotent(fa: Functions) -> None:
    land(fa.udo, 40, "b1")
    land(fa.udo, 40, "b2")
    status, first = fa.clean({"dataset": "ecommerce"})
    assert status == 202 and first["batch_id"] == "b2"
    _, again = fa.clean({"dataset": "ecommerce", "batch": "b2"})
    assert again["reused"] is True and again["run_id"] == first["run_id"]
    assert fa.udo.queue.depth("small-queue") == 1
    _, forced = fa.clean({"dataset": "ecommerce", "batch": "b2", "force": True})
    assert forced["reused"] is False and forced["run_id"] != first["run_id"]
    assert fa.udo.queue.depth("small-queue") == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "loc"),
    [
        (b"this is not json", 400, "bad_request", None),
        (b"", 400, "bad_request", None),
        ([1, 2], 422, "validation_error", ""),
        ({}, 422, "validation_error", "dataset"),
        ({"dataset": "../etc"}, 422, "validation_error", "dataset"),
        ({"dataset": "ecommerce", "batch": "a/b"}, 422, "validation_error", "batch_id"),
        ({"dataset": "ecommerce", "force": "maybe"}, 422, "validation_error", "force"),
        ({"dataset": "ecommerce", "rules": []}, 422, "validation_error", "rules"),
        (
            {"dataset": "ecommerce", "batch": "b1", "batch_id": "b1"},
            422,
            "validation_error",
            "batch",
        ),
        ({"dataset": "ecommerce", "colour": "red"}, 422, "validation_error", "colour"),
        ({"dataset": "nothing"}, 404, "not_found", None),
        ({"dataset": "ecommerce", "batch": "missing"}, 404, "not_found", None),
    ],
)
def test_clean_errors_have_the_api_shape(
    fa: Functions, body: Any, status: int, code: str, loc: str | None
) -> None:
    land(fa.udo, 40, "b1")
    got, answer = fa.clean(body)
    assert got == status, answer
    assert set(answer) == {"error"} and answer["error"]["code"] == code
    assert answer["error"]["message"]
    if loc is not None:
        assert loc in [d["loc"] for d in answer["error"]["details"]], answer
    assert fa.udo.queue.depth("small-queue") == 0


def test_an_invalid_queue_name_setting_is_a_400(
    fa: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UDO_QUEUE__SMALL", "Small_Queue")  # not a valid Storage Queue name
    land(fa.udo, 40, "b1")  # the App is built now, with the bad name
    status, answer = fa.clean({"dataset": "ecommerce", "batch": "b1"})
    assert status == 400, answer
    assert answer["error"]["code"] == "bad_request" and "small-queue" in answer["error"]["message"]


def test_an_unexpected_error_is_a_generic_500(
    fa: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("password=hunter2 in a driver message")

    monkeypatch.setattr(fa.udo.runs, "request_clean", broken)
    status, answer = fa.clean({"dataset": "ecommerce", "batch": "b1"})
    assert status == 500 and answer["error"]["code"] == "internal_error"
    assert "hunter2" not in json.dumps(answer)


# ------------------------------------------------------------------ small path, pull
def _layers_written(app: App, batch_id: str, silver_out: int) -> None:
    lake = Lake(app.storage)
    orders = delta.read(lake.silver("ecommerce", "orders"))
    rows = [b for b in orders.column("_batch_id").to_pylist() if b == batch_id]
    assert len(rows) == silver_out > 0
    marts = sorted({info.key.split("/")[2] for info in app.storage.list("gold/ecommerce")})
    assert marts, "no Gold mart written"
    for mart in marts:
        assert delta.read(lake.gold("ecommerce", mart)).num_rows > 0, mart


def test_drain_small_runs_the_queued_batches_on_the_fast_engine(fa: Functions) -> None:
    land(fa.udo, 40, "s1")
    land(fa.udo, 300, "l1")
    _, small = fa.clean({"dataset": "ecommerce", "batch": "s1"})
    _, large = fa.clean({"dataset": "ecommerce", "batch": "l1"})
    status, body = fa.drain()
    assert status == 200, body
    assert body["route"] == "small" and body["queue"] == "small-queue"
    assert body["processed"] == 1 and body["poisoned_messages"] == 0 and body["depth"] == 0
    (run,) = body["runs"]
    assert run["id"] == small["run_id"] and run["status"] == "SUCCEEDED", run
    assert run["engine"] == "polars" and run["attempts"] == 1
    done = fa.udo.metadata.get_run(small["run_id"])
    assert done.ledger is not None
    _layers_written(fa.udo, "s1", done.ledger["tables"]["orders"]["silver_out"])
    # the large batch is not the small path's business
    assert fa.udo.metadata.get_run(large["run_id"]).status == RunStatus.QUEUED
    assert fa.udo.queue.depth("large-queue") == 1
    # nothing left: a second drain processes nothing
    assert fa.drain() == (200, {**body, "processed": 0, "runs": []})


@pytest.mark.parametrize(
    ("body", "echoed"),
    [
        # what Data Factory's udo-small posts (its parameters are empty on a schedule)
        (
            {"run_id": "", "dataset": "", "batch_id": "", "pipeline_run_id": "0f1e-2d3c"},
            "0f1e-2d3c",
        ),
        (b"", None),
        (b"not json", None),
        ({"pipeline_run_id": "x" * 101}, None),
        ({"pipeline_run_id": "a\nforged log line"}, None),
    ],
)
def test_drain_takes_any_body_and_echoes_the_pipeline_run(
    fa: Functions, body: Any, echoed: str | None
) -> None:
    status, answer = fa.drain(body)
    assert status == 200, answer
    assert answer["pipeline_run_id"] == echoed and answer["processed"] == 0


def test_drain_while_this_instance_is_cleaning_is_409(fa: Functions) -> None:
    fa.udo  # noqa: B018 -- build the App before taking the lock
    with fa.module._work_lock:
        status, body = fa.drain()
    assert status == 409 and body["error"]["code"] == "drain_in_progress"
    assert fa.drain()[0] == 200


def test_a_drain_takes_no_new_message_past_its_budget(
    fa: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure cuts an HTTP-triggered call at 230 s: the drain stops taking messages after
    its budget and leaves them for the next drain."""
    land(fa.udo, 40, "s1")
    fa.clean({"dataset": "ecommerce", "batch": "s1"})
    monkeypatch.setattr(fa.module, "DRAIN_BUDGET_SECONDS", 0.0)
    status, body = fa.drain()
    assert status == 200 and body["processed"] == 0 and body["depth"] == 1
    monkeypatch.setattr(fa.module, "DRAIN_BUDGET_SECONDS", 180.0)
    assert fa.drain()[1]["processed"] == 1


class RecordingNotifier:
    """Counts flushes, as the SignalR notifier would be asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.flushes = 0

    def flush(self, timeout: float = 10.0) -> bool:
        self.flushes += 1
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_every_invocation_that_cleans_flushes_the_run_events(fa: Functions) -> None:
    land(fa.udo, 40, "s1")
    land(fa.udo, 40, "s2")
    recording = RecordingNotifier(fa.udo.notifier)
    fa.udo.__dict__["notifier"] = recording
    fa.clean({"dataset": "ecommerce", "batch": "s1"})
    assert fa.drain()[0] == 200
    assert recording.flushes == 1
    fa.clean({"dataset": "ecommerce", "batch": "s2"})
    body, receipt = fa.deliver()
    fa.push(body, receipt, dequeue_count=1)
    assert recording.flushes == 2


def test_the_queue_trigger_refuses_a_poison_rule_other_than_the_hosts(
    fa: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UDO_QUEUE__MAX_DEQUEUE", "7")
    from udo.errors import ConfigError

    with pytest.raises(ConfigError, match="maxDequeueCount is 5"):
        fa.user("clean_small_message")(QueueMessage(id="m", body=b"{}", dequeue_count=1))


# ------------------------------------------------------------------ small path, push
def test_queue_trigger_cleans_one_pushed_message(fa: Functions) -> None:
    land(fa.udo, 40, "s1")
    _, asked = fa.clean({"dataset": "ecommerce", "batch": "s1"})
    body, receipt = fa.deliver()
    fa.push(body, receipt, dequeue_count=1)
    run = fa.udo.metadata.get_run(asked["run_id"])
    assert run.status == RunStatus.SUCCEEDED and run.ledger is not None, run.error
    _layers_written(fa.udo, "s1", run.ledger["tables"]["orders"]["silver_out"])
    assert fa.udo.queue.depth("small-queue") == 0
    # a duplicate of the message (at-least-once) is acknowledged without work
    fa.udo.queue.send("small-queue", body)
    fa.push(*fa.deliver(), dequeue_count=1)
    again = fa.udo.metadata.get_run(asked["run_id"])
    assert again.attempts == 1 and again.status == RunStatus.SUCCEEDED
    assert fa.udo.queue.depth("small-queue") == 0


class FlakyEngine(PolarsEngine):
    """The real polars engine, failing with a transient error every time."""

    def clean(self, job: TableJob) -> TableResult:
        raise ConnectionError("warehouse connection reset")


def test_a_transient_failure_asks_the_runtime_to_redeliver_then_poisons(fa: Functions) -> None:
    fa.udo.worker.engine_factory = lambda name: FlakyEngine()
    land(fa.udo, 40, "s1")
    _, asked = fa.clean({"dataset": "ecommerce", "batch": "s1"})
    body, receipt = fa.deliver()
    with pytest.raises(fa.module.RedeliveryRequested, match="connection reset"):
        fa.user("clean_small_message")(
            QueueMessage(id="m", body=body.encode(), dequeue_count=1, pop_receipt=receipt)
        )
    run = fa.udo.metadata.get_run(asked["run_id"])
    assert run.status == RunStatus.FAILED and run.attempts == 1
    assert fa.udo.queue.depth("small-queue") == 1  # still there: the runtime redelivers
    # the 5th delivery fails too: udo's poison rule moves it, the runtime deletes it
    fa.push(body, receipt, dequeue_count=5)
    run = fa.udo.metadata.get_run(asked["run_id"])
    assert run.status == RunStatus.DEAD_LETTERED and run.attempts == 2
    assert run.error and "connection reset" in run.error
    assert fa.udo.queue.depth("small-queue") == 0
    assert fa.udo.queue.depth(poison_name("small-queue")) == 1


def test_an_unreadable_pushed_message_goes_to_poison(fa: Functions) -> None:
    fa.udo.queue.send("small-queue", "{not a clean message")
    body, receipt = fa.deliver()
    fa.push(body, receipt, dequeue_count=1)
    assert fa.udo.queue.depth("small-queue") == 0
    assert fa.udo.queue.peek(poison_name("small-queue"))[0].body == "{not a clean message"


def test_a_run_the_runtime_poisoned_is_dead_lettered_by_the_next_push(fa: Functions) -> None:
    land(fa.udo, 40, "s1")
    land(fa.udo, 40, "s2")
    _, lost = fa.clean({"dataset": "ecommerce", "batch": "s1"})
    body, receipt = fa.deliver()
    # the host died 5 times mid-run: the runtime moved the message to small-queue-poison
    fa.udo.queue.delete("small-queue", receipt)
    fa.udo.queue.send(poison_name("small-queue"), body)
    _, asked = fa.clean({"dataset": "ecommerce", "batch": "s2"})
    fa.push(*fa.deliver(), dequeue_count=1)
    assert fa.udo.metadata.get_run(asked["run_id"]).status == RunStatus.SUCCEEDED
    assert fa.udo.metadata.get_run(lost["run_id"]).status == RunStatus.DEAD_LETTERED


def test_the_queue_trigger_refuses_another_small_queue_name(
    fa: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UDO_QUEUE__SMALL", "fast-queue")
    from udo.errors import ConfigError

    with pytest.raises(ConfigError, match="UDO_QUEUE__SMALL"):
        fa.user("clean_small_message")(QueueMessage(id="m", body=b"{}", dequeue_count=1))


# ------------------------------------------------------------------ health
def test_health(fa: Functions) -> None:
    request = func.HttpRequest("GET", "http://localhost/api/health", body=b"")
    response = fa.user("health")(request)
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok", "version": udo.__version__}
