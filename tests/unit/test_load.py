"""Loading cleaned batches into the embedded destinations: plan, reconciliation, idempotence.

The pipeline runs for real (generate_batch + Pipeline.clean on the e-commerce preset)
into a lake shared by the module; each test loads it into fresh DuckDB (warehouse) and
SQLite (operational) files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from pydantic import ValidationError

from udo.adapters.local.destination import DUCKDB_CONFIG, DuckDBDestination, SQLiteDestination
from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.ledger import Ledger
from udo.domain.rules import RuleSet
from udo.errors import ConfigError
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import Lake, Pipeline, current_view, rules_for
from udo.pipeline.engines.polars import PolarsEngine
from udo.pipeline.load import (
    LoadPlan,
    LoadReport,
    ReconciliationError,
    TableLoad,
    load_batch,
    reconcile,
)
from udo.ports.destination import Destination

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class Cleaned:
    lake: Lake
    rules: RuleSet
    ledgers: dict[str, Ledger]


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> Cleaned:
    """Two cleaned batches of the e-commerce preset (b2 updates some of b1's entities)."""
    storage = LocalStorageAdapter(tmp_path_factory.mktemp("lake"))
    bronze = BronzeStore(storage)
    pipeline = Pipeline(storage, bronze, PolarsEngine())
    ledgers = {}
    for batch, seed in (("b1", 1), ("b2", 2)):
        generate_batch(
            bronze,
            load_preset("ecommerce").scaled(300).with_seed(seed),
            batch_id=batch,
            dirt=DirtProfile.named("default"),
        )
        at = AT if batch == "b1" else AT.replace(day=3)
        ledgers[batch] = pipeline.clean("ecommerce", batch, ingested_at=at)
    rules = rules_for(bronze.manifest("ecommerce", "b1"))
    return Cleaned(Lake(storage), rules, ledgers)


@pytest.fixture
def destinations(tmp_path: Path) -> Iterator[dict[str, Destination]]:
    dests: dict[str, Destination] = {
        "warehouse": DuckDBDestination(tmp_path / "warehouse.duckdb"),
        "operational": SQLiteDestination(tmp_path / "operational.sqlite"),
    }
    yield dests
    for d in dests.values():
        d.close()


def load(cleaned: Cleaned, dests: dict[str, Destination], batch: str = "b1") -> LoadReport:
    return load_batch(cleaned.lake, cleaned.rules, "ecommerce", batch, dests)


def snapshot(dests: dict[str, Destination], plan: LoadPlan) -> dict[str, list[dict[str, object]]]:
    out = {}
    for item in plan.loads:
        table = dests[item.destination].read(item.target)
        out[f"{item.destination}.{item.target}"] = table.sort_by(
            [(c, "ascending") for c in table.column_names]
        ).to_pylist()
    return out


# -- the plan -------------------------------------------------------------------------------


def test_default_plan_sends_facts_and_marts_to_the_warehouse_and_entities_to_operational(
    cleaned: Cleaned,
) -> None:
    plan = LoadPlan.default(cleaned.rules)
    by = {(x.destination, x.target): (x.layer, x.source, x.mode) for x in plan.loads}
    assert by == {
        ("warehouse", "silver_ecommerce_orders"): ("silver", "orders", "batch"),
        ("warehouse", "silver_ecommerce_order_items"): ("silver", "order_items", "batch"),
        ("warehouse", "gold_ecommerce_daily_sales"): ("gold", "daily_sales", "full"),
        ("warehouse", "gold_ecommerce_customer_lifetime_value"): (
            "gold",
            "customer_lifetime_value",
            "full",
        ),
        ("warehouse", "gold_ecommerce_product_performance"): (
            "gold",
            "product_performance",
            "full",
        ),
        ("operational", "ecommerce_customers"): ("silver", "customers", "current"),
        ("operational", "ecommerce_products"): ("silver", "products", "current"),
        ("operational", "ecommerce_orders"): ("silver", "orders", "current"),
        ("operational", "ecommerce_order_items"): ("silver", "order_items", "current"),
    }
    assert plan.destinations() == ["warehouse", "operational"]
    assert LoadPlan.model_validate_json(plan.model_dump_json()) == plan


def test_the_plan_is_configurable_and_checked(cleaned: Cleaned) -> None:
    plan = LoadPlan.default(
        cleaned.rules, facts=["orders"], marts=["daily_sales"], entities=[], operational=None
    )
    assert [x.target for x in plan.loads] == [
        "silver_ecommerce_orders",
        "gold_ecommerce_daily_sales",
    ]
    with pytest.raises(ConfigError, match="unknown fact"):
        LoadPlan.default(cleaned.rules, facts=["nope"])
    with pytest.raises(ConfigError, match="unknown mart"):
        LoadPlan.default(cleaned.rules, marts=["orders"])
    twice = TableLoad(
        destination="warehouse", layer="silver", source="orders", target="t", mode="batch"
    )
    with pytest.raises(ValidationError, match="two loads"):
        LoadPlan(loads=[twice, twice])
    with pytest.raises(ValidationError, match="whole"):
        TableLoad(destination="w", layer="gold", source="daily_sales", target="t", mode="batch")
    written = LoadPlan.from_yaml(
        "loads:\n"
        "  - {destination: warehouse, layer: gold, source: daily_sales,\n"
        "     target: sales, mode: full}\n"
    )
    assert written.loads[0].target == "sales"
    with pytest.raises(ConfigError, match="mode"):
        LoadPlan.from_yaml("loads: [{destination: w, layer: silver, source: t, target: t}]")


def test_a_plan_naming_an_unconfigured_destination_fails_before_loading(
    cleaned: Cleaned, destinations: dict[str, Destination]
) -> None:
    with pytest.raises(ConfigError, match="operational"):
        load_batch(
            cleaned.lake, cleaned.rules, "ecommerce", "b1", {"warehouse": destinations["warehouse"]}
        )
    assert destinations["warehouse"].table_schema("gold_ecommerce_daily_sales") is None


# -- loading and reconciliation -------------------------------------------------------------


def test_a_batch_loads_into_duckdb_and_sqlite_and_reconciles(
    cleaned: Cleaned, destinations: dict[str, Destination]
) -> None:
    report = load(cleaned, destinations)
    assert report.reconciled
    ledger = cleaned.ledgers["b1"]
    warehouse, operational = report.rows["warehouse"], report.rows["operational"]
    assert warehouse["silver_ecommerce_orders"] == ledger.tables["orders"].silver_out
    assert warehouse["silver_ecommerce_order_items"] == ledger.tables["order_items"].silver_out
    for table, key in (("customers", "customer_id"), ("orders", "order_id")):
        current = current_view(cleaned.lake.silver("ecommerce", table), [key])
        assert operational[f"ecommerce_{table}"] == len(current)
    assert {t.method for t in report.tables if t.destination == "warehouse"} == {"bulk"}
    checks = {(c.target, c.check) for c in report.checks}
    assert ("gold_ecommerce_daily_sales", "sum(revenue)") in checks
    assert ("gold_ecommerce_customer_lifetime_value", "sum(average_order_value)") in checks
    assert ("silver_ecommerce_orders", "sum(total)") in checks
    assert all(("gold_ecommerce_" + m, "count") in checks for m in ledger.marts)
    revenue = destinations["warehouse"].sum("gold_ecommerce_daily_sales", "revenue")
    assert isinstance(revenue, Decimal) and revenue > 0
    # the report is what the ledger will keep: it must survive JSON
    assert LoadReport.model_validate_json(report.model_dump_json()) == report


def test_loading_a_batch_twice_leaves_the_same_rows(
    cleaned: Cleaned, destinations: dict[str, Destination]
) -> None:
    plan = LoadPlan.default(cleaned.rules)
    first = load(cleaned, destinations)
    before = snapshot(destinations, plan)
    second = load(cleaned, destinations)
    assert second.rows == first.rows
    assert snapshot(destinations, plan) == before


def test_batches_accumulate_in_the_warehouse_and_update_the_operational_state(
    cleaned: Cleaned, destinations: dict[str, Destination]
) -> None:
    load(cleaned, destinations, "b1")
    load(cleaned, destinations, "b2")
    load(cleaned, destinations, "b1")  # an old batch re-run keeps b2's rows
    warehouse = destinations["warehouse"]
    for batch in ("b1", "b2"):
        want = cleaned.ledgers[batch].tables["orders"].silver_out
        assert warehouse.count("silver_ecommerce_orders", {"_batch_id": batch}) == want
    orders = current_view(cleaned.lake.silver("ecommerce", "orders"), ["order_id"])
    stored = pl.from_arrow(destinations["operational"].read("ecommerce_orders"))
    assert isinstance(stored, pl.DataFrame)
    assert len(stored) == len(orders)
    latest = orders.select("order_id", "_batch_id").sort("order_id")
    assert stored.select("order_id", "_batch_id").sort("order_id").equals(latest)
    reconcile(cleaned.lake, cleaned.rules, "ecommerce", "b2", destinations)


def test_a_tampered_warehouse_fails_reconciliation(
    cleaned: Cleaned, destinations: dict[str, Destination], tmp_path: Path
) -> None:
    load(cleaned, destinations)
    destinations["warehouse"].close()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), config=dict(DUCKDB_CONFIG)) as con:
        con.execute(
            "UPDATE gold_ecommerce_daily_sales SET revenue = revenue + 0.01 "
            "WHERE rowid = (SELECT min(rowid) FROM gold_ecommerce_daily_sales)"
        )
    with pytest.raises(ReconciliationError) as info:
        reconcile(cleaned.lake, cleaned.rules, "ecommerce", "b1", destinations)
    bad = info.value.report.mismatches()
    assert [(c.target, c.check) for c in bad] == [("gold_ecommerce_daily_sales", "sum(revenue)")]
    assert bad[0].actual == bad[0].expected + Decimal("0.01")
    assert "gold_ecommerce_daily_sales sum(revenue)" in str(info.value)
    assert load(cleaned, destinations).reconciled  # reloading Gold repairs it


def test_a_row_the_lake_does_not_have_fails_the_load(
    cleaned: Cleaned, destinations: dict[str, Destination], tmp_path: Path
) -> None:
    load(cleaned, destinations)
    destinations["operational"].close()
    with sqlite3.connect(tmp_path / "operational.sqlite") as con:
        con.execute("INSERT INTO ecommerce_customers (customer_id) VALUES (-1)")
    with pytest.raises(ReconciliationError) as info:
        load(cleaned, destinations)  # upserts never delete: the stray row stays
    bad = info.value.report.mismatches()
    assert [(c.destination, c.target, c.check) for c in bad] == [
        ("operational", "ecommerce_customers", "count")
    ]
    assert bad[0].actual == bad[0].expected + 1


def test_an_empty_batch_table_loads_nothing_and_reconciles(
    cleaned: Cleaned, destinations: dict[str, Destination]
) -> None:
    report = load_batch(cleaned.lake, cleaned.rules, "ecommerce", "missing", destinations)
    assert report.rows["warehouse"]["silver_ecommerce_orders"] == 0
    assert report.reconciled
    schema = destinations["warehouse"].table_schema("silver_ecommerce_orders")
    assert schema is not None and schema.field("total").type == pa.decimal128(12, 2)
