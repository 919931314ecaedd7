"""The Azure Functions app on Azurite: the lake on Blob, small-queue on Storage Queue.

function_app.py is loaded by its path with ``UDO_CLOUD=azure`` app settings pointing at
Azurite (the real storage emulator). The HTTP functions are called as the host calls them,
with the body Data Factory's ``udo-small`` pipeline posts. For the queue trigger, the test
plays the Functions runtime's part with the real azure-storage-queue SDK, configured from
host.json (``messageEncoding``, ``maxDequeueCount``): it receives the message udo's own
queue adapter sent, hands it to the function as a ``QueueMessage``, deletes it after a
normal return, and after an exception makes it visible again or, at the dequeue limit,
moves it to ``small-queue-poison``. So a mismatch between udo's message encoding and
host.json, or a double poisoning, fails here.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

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

if TYPE_CHECKING:
    from tests.conftest import Azurite

pytestmark = pytest.mark.services

HOST = json.loads((FUNCTIONS / "host.json").read_text(encoding="utf-8"))
QUEUES = HOST["extensions"]["queues"]


class Host:
    """The loaded function app and the runtime's side of its queue trigger."""

    def __init__(self, module: ModuleType, azurite: Azurite) -> None:
        self.module = module
        self.functions = {f.get_function_name(): f for f in module.app.get_functions()}
        binding = json.loads(self.functions["clean_small_message"].get_function_json())
        trigger = binding["bindings"][0]
        self.queue_name: str = trigger["queueName"]
        assert trigger["connection"] == "AzureWebJobsStorage"
        decode = BinaryBase64DecodePolicy() if QUEUES["messageEncoding"] == "base64" else None
        self.client = QueueClient.from_connection_string(
            azurite.connection_string, self.queue_name, message_decode_policy=decode
        )
        self.poison = QueueClient.from_connection_string(
            azurite.connection_string, f"{self.queue_name}-poison"
        )

    def user(self, name: str) -> Callable[..., Any]:
        """The Python function the host calls for `name`."""
        fn: Callable[..., Any] = self.functions[name].get_user_function()
        return fn

    @property
    def udo(self) -> App:
        """The function app's udo App."""
        built: App = self.module.udo_app()
        return built

    def post(self, name: str, route: str, body: Any) -> tuple[int, dict[str, Any]]:
        """POST a JSON body to an HTTP function."""
        request = func.HttpRequest(
            "POST",
            f"http://localhost/api/{route}",
            headers={"Content-Type": "application/json"},
            body=json.dumps(body).encode(),
        )
        response = self.user(name)(request)
        return response.status_code, json.loads(response.get_body())

    def deliver_one(self) -> str | None:
        """What the runtime does with the next visible message; None if there is none."""
        item = next(iter(self.client.receive_messages(max_messages=1, visibility_timeout=60)), None)
        if item is None:
            return None
        content = item.content
        body = content if isinstance(content, bytes) else str(content).encode("utf-8")
        msg = QueueMessage(
            id=item.id,
            body=body,
            dequeue_count=item.dequeue_count,
            pop_receipt=item.pop_receipt,
            insertion_time=item.inserted_on,
            expiration_time=item.expires_on,
            time_next_visible=item.next_visible_on,
        )
        try:
            self.user("clean_small_message")(msg)
        except Exception:
            if (item.dequeue_count or 0) >= QUEUES["maxDequeueCount"]:
                self.poison.send_message(str(content))  # the runtime's own poison move
                self.client.delete_message(item)
                return "poisoned by the runtime"
            # visible again after host.json's visibilityTimeout; now, to keep the test short
            self.client.update_message(item, visibility_timeout=0)
            return "failed"
        self.client.delete_message(item)
        return "done"

    def poison_bodies(self) -> list[str]:
        """Bodies in small-queue-poison."""
        try:
            return [str(m.content) for m in self.poison.peek_messages(max_messages=32)]
        except Exception:  # no poison queue yet
            return []


@pytest.fixture
def host(azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    """The function app with ``UDO_CLOUD=azure`` app settings on Azurite."""
    settings = {
        "UDO_CLOUD": "azure",
        "UDO_DATA_DIR": str(tmp_path / "udo"),
        "UDO_AZURE__STORAGE__CONNECTION_STRING": azurite.connection_string,
        "UDO_AZURE__STORAGE__CONTAINER": f"lake{uuid.uuid4().hex[:12]}",
        "UDO_AZURE__STORAGE__HIERARCHICAL_NAMESPACE": "false",
        "UDO_ROUTING__SMALL_MAX_RECORDS": "2500",
        "UDO_QUEUE__VISIBILITY_TIMEOUT": "60",
        "UDO_WORKER__RETRY_BACKOFF_SECONDS": "0",
        # SignalR, Synapse and Azure MySQL have their own tests; here they stay local.
        # The orchestrator is the azure profile's (adf): the Function app never uses it.
        "UDO_NOTIFIER__TYPE": "local",
        "UDO_WAREHOUSE__TYPE": "duckdb",
        "UDO_OPERATIONAL__TYPE": "sqlite",
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    for key in (
        "UDO_QUEUE__SMALL",
        "UDO_QUEUE__LARGE",
        "UDO_QUEUE__TYPE",
        "UDO_STORAGE__TYPE",
        "UDO_ORCHESTRATOR__TYPE",
    ):
        monkeypatch.delenv(key, raising=False)
    found = Host(load_function_app(), azurite)
    for queue in ("small-queue", "small-queue-poison", "large-queue"):
        found.udo.queue.purge(queue)  # one Azurite per test process: start empty
    yield found
    found.udo.worker.close()
    sys.modules.pop(found.module.__name__, None)


def land(app: App, rows: int, batch_id: str) -> None:
    """Generate an ecommerce batch into Bronze (on Azurite's blob service)."""
    spec = load_preset("ecommerce").scaled(rows)
    generate_batch(app.bronze, spec, batch_id=batch_id, dirt=DirtProfile.named("default"))


def test_the_app_runs_on_the_azure_adapters(host: Host) -> None:
    from udo.adapters.azure.queue import AzureStorageQueueAdapter
    from udo.adapters.azure.storage import AzureDataLakeAdapter

    assert isinstance(host.udo.storage, AzureDataLakeAdapter)
    assert isinstance(host.udo.queue, AzureStorageQueueAdapter)
    assert host.queue_name == host.udo.settings.queue.small


def test_clean_then_data_factorys_drain_on_azurite(host: Host) -> None:
    land(host.udo, 40, "s1")
    land(host.udo, 300, "l1")
    status, small = host.post("clean", "clean", {"dataset": "ecommerce", "batch": "s1"})
    assert status == 202 and small["route"] == "small" and small["queue"] == "small-queue"
    status, large = host.post("clean", "clean", {"dataset": "ecommerce", "batch": "l1"})
    assert status == 202 and large["route"] == "large" and large["queue"] == "large-queue"
    assert host.udo.queue.depth("small-queue") == 1 and host.udo.queue.depth("large-queue") == 1

    adf_body = {"run_id": "", "dataset": "", "batch_id": "", "pipeline_run_id": "adf-run-1"}
    status, drained = host.post("drain_small", "drain/small", adf_body)
    assert status == 200, drained
    assert drained["pipeline_run_id"] == "adf-run-1" and drained["depth"] == 0
    assert [(r["id"], r["status"]) for r in drained["runs"]] == [(small["run_id"], "SUCCEEDED")]
    run = host.udo.metadata.get_run(small["run_id"])
    assert run.ledger is not None
    orders = Lake(host.udo.storage).silver("ecommerce", "orders")
    assert not orders.startswith("/")  # on the emulated account, not the local disk
    assert delta.read(orders).num_rows == run.ledger["tables"]["orders"]["silver_out"] > 0
    assert delta.read(Lake(host.udo.storage).gold("ecommerce", "daily_sales")).num_rows > 0
    assert host.udo.metadata.get_run(large["run_id"]).status == RunStatus.QUEUED


def test_the_queue_trigger_reads_what_udo_sends(host: Host) -> None:
    land(host.udo, 40, "s1")
    status, asked = host.post("clean", "clean", {"dataset": "ecommerce", "batch_id": "s1"})
    assert status == 202
    assert host.deliver_one() == "done"
    assert host.deliver_one() is None
    run = host.udo.metadata.get_run(asked["run_id"])
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 1, run.error
    assert host.udo.queue.depth("small-queue") == 0 and host.poison_bodies() == []


class BrokenEngine(PolarsEngine):
    """The real polars engine, failing with a transient error every time."""

    def clean(self, job: TableJob) -> TableResult:
        raise ConnectionError("warehouse connection reset")


def test_a_failing_run_is_poisoned_once_by_udo_not_again_by_the_runtime(host: Host) -> None:
    host.udo.worker.engine_factory = lambda name: BrokenEngine()
    land(host.udo, 40, "s1")
    _, asked = host.post("clean", "clean", {"dataset": "ecommerce", "batch": "s1"})
    outcomes = []
    for _ in range(QUEUES["maxDequeueCount"] + 2):
        outcome = host.deliver_one()
        if outcome is None:
            break
        outcomes.append(outcome)
    limit = QUEUES["maxDequeueCount"]
    assert outcomes == ["failed"] * (limit - 1) + ["done"]
    run = host.udo.metadata.get_run(asked["run_id"])
    assert run.status == RunStatus.DEAD_LETTERED and run.attempts == limit
    assert run.error and "connection reset" in run.error
    (poisoned,) = host.poison_bodies()
    assert CleanMessage.from_json(poisoned).run_id == asked["run_id"]
    assert host.udo.queue.depth("small-queue") == 0
