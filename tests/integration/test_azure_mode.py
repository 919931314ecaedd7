"""`UDO_CLOUD=azure` end to end on Azurite: the lake on Blob, the queues on Storage Queue.

The same code paths as local: generate lands Bronze through the Azure StorageService,
"Clean Data" routes and enqueues to the Azure queues, the worker drains them on polars,
Silver/quarantine/Gold are Delta tables on the emulated account read back through
delta-rs, and the ledger balances. Only the notifier and orchestrator stay local here
(SignalR and Data Factory have their own stand-in tests), and loading goes to the local
DuckDB/SQLite files (Synapse and Azure MySQL are covered by the destination tests).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from udo.bootstrap import App, bootstrap
from udo.config import Settings
from udo.domain.run import RunStatus
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline import delta
from udo.pipeline.clean import Lake

if TYPE_CHECKING:
    from tests.conftest import Azurite


def _azure_app(azurite: Azurite, tmp_path: Path, **overrides: object) -> App:
    container = f"lake{uuid.uuid4().hex[:12]}"
    settings = Settings.model_validate(
        {
            "cloud": "azure",
            "data_dir": tmp_path,
            "notifier": {"type": "local"},
            "orchestrator": {"type": "local"},
            "warehouse": {"type": "duckdb"},
            "operational": {"type": "sqlite"},
            "engines": {"large": "polars"},
            "queue": {
                "visibility_timeout": 30,
                "small": f"small-{container}",
                "large": f"large-{container}",
            },
            "worker": {"retry_backoff_seconds": 0},
            "azure": {
                "storage": {
                    "connection_string": azurite.connection_string,
                    "container": container,
                    "hierarchical_namespace": False,
                }
            },
            **overrides,
        }
    )
    return bootstrap(settings)


def test_azure_profile_builds_the_azure_adapters(azurite: Azurite, tmp_path: Path) -> None:
    from udo.adapters.azure.queue import AzureStorageQueueAdapter
    from udo.adapters.azure.storage import AzureDataLakeAdapter

    app = _azure_app(azurite, tmp_path)
    assert isinstance(app.storage, AzureDataLakeAdapter)
    assert isinstance(app.queue, AzureStorageQueueAdapter)
    assert azurite.key not in repr(app.storage) + repr(app.queue)


def test_clean_data_on_azurite_end_to_end(azurite: Azurite, tmp_path: Path) -> None:
    app = _azure_app(azurite, tmp_path, routing={"small_max_records": 10_000})
    spec = load_preset("ecommerce").scaled(200)
    generate_batch(app.bronze, spec, batch_id="b1", dirt=DirtProfile.named("default"))
    assert app.storage.exists("bronze/ecommerce/b1/_manifest.json")

    request = app.runs.request_clean("ecommerce", "b1")
    assert request.decision.route == "small"
    assert app.queue.depth(app.settings.queue.small) == 1

    assert app.worker.drain("small") == [request.run.id]
    run = app.metadata.get_run(request.run.id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.ledger is not None

    lake = Lake(app.storage)
    orders = lake.silver("ecommerce", "orders")
    assert orders.startswith("az://") or orders.startswith("abfs")
    silver = delta.read(orders)
    ledger_orders = run.ledger["tables"]["orders"]
    assert silver.num_rows == ledger_orders["silver_out"] > 0
    quarantined = delta.read(lake.quarantine("ecommerce", "orders")).num_rows
    assert ledger_orders["bronze_in"] == (
        ledger_orders["silver_out"] + quarantined + ledger_orders["duplicates_removed"]
    )
    assert delta.read(lake.gold("ecommerce", "daily_sales")).num_rows > 0
    # nothing of the lake was written on the local disk
    assert not (tmp_path / "lake").exists()
    assert app.queue.depth(app.settings.queue.small) == 0


@pytest.mark.parametrize("route", ["small"])
def test_a_rerun_replaces_the_batch_on_azure(azurite: Azurite, tmp_path: Path, route: str) -> None:
    app = _azure_app(azurite, tmp_path)
    generate_batch(app.bronze, load_preset("ecommerce").scaled(100), batch_id="b1")
    first = app.runs.request_clean("ecommerce", "b1")
    app.worker.drain(route)
    again = app.runs.request_clean("ecommerce", "b1", force=True)
    app.worker.drain(route)
    assert app.metadata.get_run(again.run.id).status == RunStatus.SUCCEEDED
    assert first.run.id != again.run.id
    silver = delta.read(Lake(app.storage).silver("ecommerce", "orders"))
    ledger = app.metadata.get_run(again.run.id).ledger
    assert ledger is not None
    assert silver.num_rows == ledger["tables"]["orders"]["silver_out"]
