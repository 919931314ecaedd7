"""Destinations against real MariaDB and PostgreSQL: what the contract cannot see.

The MySQL bulk path (LOAD DATA LOCAL INFILE) and its fallback, silent truncation turned
into an error, exact keys, PostgreSQL COPY, refused connections, and a real pipeline
batch loaded into PostgreSQL (warehouse) and MariaDB (operational). Tests that need a
server skip when it is unreachable, and fail under CI=true (see tests/conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from udo.adapters.local.storage import LocalStorageAdapter
from udo.adapters.sql.mysql import MySQLDestination
from udo.adapters.sql.postgres import PostgresDestination
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import Lake, Pipeline, rules_for
from udo.pipeline.engines.polars import PolarsEngine
from udo.pipeline.load import LoadPlan, load_batch, reconcile
from udo.ports.destination import Destination, DestinationError, DestinationUnavailable

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("code", pa.string()),
        ("amount", pa.decimal128(14, 4)),
        ("at", pa.timestamp("us", "UTC")),
        ("ok", pa.bool_()),
    ]
)


def rows(n: int) -> pa.Table:
    return pa.table(
        {
            "id": list(range(n)),
            "code": [None if i % 11 == 0 else f"c{i}, \"q\"\n'{i}'" for i in range(n)],
            "amount": [Decimal(i) / Decimal(10_000) for i in range(n)],
            "at": [datetime(2026, 1, 1, 0, 0, i % 60, i, tzinfo=UTC) for i in range(n)],
            "ok": [None if i % 5 == 0 else i % 2 == 0 for i in range(n)],
        },
        schema=SCHEMA,
    )


def name() -> str:
    return f"it_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cleanup() -> Iterator[list[tuple[Destination, str]]]:
    made: list[tuple[Destination, str]] = []
    yield made
    for dest, table in made:
        dest.drop_table(table)
        dest.close()


# -- MySQL / MariaDB ------------------------------------------------------------------------


@pytest.mark.services
def test_mysql_bulk_path_and_its_fallback_load_the_same_rows(
    mysql_url: str, cleanup: list[tuple[Destination, str]]
) -> None:
    data = rows(20_000)
    bulk = MySQLDestination.from_url(mysql_url)
    fallback = MySQLDestination.from_url(mysql_url + "?local_infile=0")
    loaded = []
    for dest in (bulk, fallback):
        table = name()
        cleanup.append((dest, table))
        dest.ensure_table(table, SCHEMA, ["id"])
        assert dest.replace_all(table, data) == 20_000
        loaded.append(dest.read(table).cast(SCHEMA).sort_by("id"))
    assert bulk.last_load_method == "bulk" and bulk.bulk_unavailable is None
    assert fallback.last_load_method == "rows"
    assert fallback.bulk_unavailable is not None and "refused" in fallback.bulk_unavailable
    assert loaded[0].equals(data) and loaded[1].equals(data)


@pytest.mark.services
@pytest.mark.parametrize("infile", ["1", "0"])
def test_mysql_refuses_to_truncate_a_value(
    mysql_url: str, cleanup: list[tuple[Destination, str]], infile: str
) -> None:
    # LOAD DATA LOCAL turns errors into warnings; the adapter turns warnings into errors.
    dest = MySQLDestination.from_url(f"{mysql_url}?local_infile={infile}")
    table = name()
    cleanup.append((dest, table))
    schema = pa.schema([("code", pa.string()), ("_batch_id", pa.string())])
    dest.ensure_table(table, schema, ["code"])  # a key string is VARCHAR(255)
    too_long = pa.table({"code": ["k" * 300], "_batch_id": ["b1"]}, schema=schema)
    with pytest.raises(DestinationError):
        dest.replace_batch(table, too_long, "b1")
    assert dest.count(table) == 0


@pytest.mark.services
def test_mysql_keys_compare_exactly(mysql_url: str, cleanup: list[tuple[Destination, str]]) -> None:
    dest = MySQLDestination.from_url(mysql_url)
    table = name()
    cleanup.append((dest, table))
    schema = pa.schema([("code", pa.string()), ("n", pa.int64())])
    dest.ensure_table(table, schema, ["code"])
    dest.upsert(table, pa.table({"code": ["a", "A", "é", "e"], "n": [1, 2, 3, 4]}), ["code"])
    assert dest.count(table) == 4


@pytest.mark.services
def test_postgres_copy_and_row_paths_load_the_same_rows(
    postgres_url: str, cleanup: list[tuple[Destination, str]]
) -> None:
    data = rows(20_000)
    loaded = []
    for bulk in (True, False):
        dest = PostgresDestination.from_url(postgres_url, bulk=bulk)
        table = name()
        cleanup.append((dest, table))
        dest.ensure_table(table, SCHEMA, ["id"])
        dest.upsert(table, data, ["id"])
        assert dest.last_load_method == ("bulk" if bulk else "rows")
        loaded.append(dest.read(table).sort_by("id"))
    assert loaded[0].equals(data) and loaded[1].equals(data)


@pytest.mark.services
def test_postgres_tables_live_in_the_configured_schema(
    postgres_url: str, cleanup: list[tuple[Destination, str]]
) -> None:
    import psycopg

    schema_name = f"udo_it_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema_name}"')
        try:
            dest = PostgresDestination.from_url(f"{postgres_url}?schema={schema_name}")
            dest.ensure_table("facts", SCHEMA, ["id"])
            dest.upsert("facts", rows(3), ["id"])
            assert dest.count("facts") == 3
            with PostgresDestination.from_url(postgres_url) as public:
                assert public.table_schema("facts") is None
            dest.close()
        finally:
            admin.execute(f'DROP SCHEMA "{schema_name}" CASCADE')


# -- unreachable servers (no server needed) -------------------------------------------------


@pytest.mark.parametrize(
    "dest",
    [
        pytest.param(MySQLDestination(port=1, connect_timeout=2), id="mysql"),
        pytest.param(
            PostgresDestination("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2),
            id="postgres",
        ),
    ],
)
def test_a_refused_connection_is_transient(dest: Destination) -> None:
    with pytest.raises(DestinationUnavailable) as info:
        dest.count("anything")
    assert info.value.__cause__ is not None
    dest.close()


# -- a real batch into PostgreSQL (warehouse) and MariaDB (operational) ---------------------


@pytest.mark.services
@pytest.mark.slow
def test_a_pipeline_batch_loads_and_reconciles_in_postgres_and_mariadb(
    tmp_path: Path, mysql_url: str, postgres_url: str
) -> None:
    storage = LocalStorageAdapter(tmp_path / "lake")
    bronze = BronzeStore(storage)
    generate_batch(
        bronze,
        load_preset("ecommerce").scaled(200),
        batch_id="b1",
        dirt=DirtProfile.named("default"),
    )
    Pipeline(storage, bronze, PolarsEngine()).clean("ecommerce", "b1")
    rules = rules_for(bronze.manifest("ecommerce", "b1"))
    suffix = uuid.uuid4().hex[:8]
    plan = LoadPlan(
        loads=[
            load.model_copy(update={"target": f"{load.target}_{suffix}"})
            for load in LoadPlan.default(rules).loads
        ]
    )
    destinations: dict[str, Destination] = {
        "warehouse": PostgresDestination.from_url(postgres_url),
        "operational": MySQLDestination.from_url(mysql_url),
    }
    try:
        first = load_batch(Lake(storage), rules, "ecommerce", "b1", destinations, plan)
        again = load_batch(Lake(storage), rules, "ecommerce", "b1", destinations, plan)
        assert first.reconciled and again.reconciled
        assert first.rows == again.rows
        assert reconcile(Lake(storage), rules, "ecommerce", "b1", destinations, plan).reconciled
        methods = {t.destination: t.method for t in first.tables}
        assert methods == {"warehouse": "bulk", "operational": "bulk"}
    finally:
        for load in plan.loads:
            destinations[load.destination].drop_table(load.target)
        for dest in destinations.values():
            dest.close()
