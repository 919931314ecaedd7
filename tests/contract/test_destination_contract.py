"""The Destination contract, run against every adapter of the port.

Each adapter runs once per load path it has: the bulk path and the row path (batched
``executemany``). ``mysql-no-infile`` connects without the client's ``local_infile``
flag, so the server refuses ``LOAD DATA LOCAL`` and the adapter must detect it and fall
back. MariaDB and PostgreSQL params skip when the server is unreachable (fail in CI).
To add an adapter, add a factory to `ADAPTERS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from udo.adapters.local.destination import DuckDBDestination, SQLiteDestination
from udo.adapters.sql.mysql import MySQLDestination
from udo.adapters.sql.postgres import PostgresDestination
from udo.ports.destination import (
    Destination,
    DestinationError,
    InvalidIdentifier,
    SchemaMismatch,
    TableNotFound,
)

Factory = Callable[[Path, str], Destination]


def _with(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


ADAPTERS: dict[str, tuple[Factory, str | None]] = {
    "duckdb": (lambda tmp, _: DuckDBDestination(tmp / "warehouse.duckdb"), None),
    "duckdb-rows": (lambda tmp, _: DuckDBDestination(tmp / "w.duckdb", bulk=False), None),
    "sqlite": (lambda tmp, _: SQLiteDestination(tmp / "operational.sqlite"), None),
    "mysql": (lambda tmp, url: MySQLDestination.from_url(url), "mysql"),
    "mysql-no-infile": (
        lambda tmp, url: MySQLDestination.from_url(_with(url, "local_infile=0")),
        "mysql",
    ),
    "postgres": (lambda tmp, url: PostgresDestination.from_url(url), "postgres"),
    "postgres-rows": (lambda tmp, url: PostgresDestination.from_url(url, bulk=False), "postgres"),
}


@dataclass
class Tables:
    """Unique table names for one test, dropped afterwards."""

    dest: Destination
    made: list[str] = field(default_factory=list)

    def new(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.made.append(name)
        return name


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.services] if service else [])
        for name, (_, service) in ADAPTERS.items()
    ]
)
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Destination]:
    factory, service = ADAPTERS[request.param]
    url = request.getfixturevalue(f"{service}_url") if service else ""
    destination = factory(tmp_path, url)
    yield destination
    destination.close()


@pytest.fixture
def tables(dest: Destination) -> Iterator[Tables]:
    made = Tables(dest)
    yield made
    for name in made.made:
        dest.drop_table(name)


SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("amount", pa.decimal128(12, 2)),
        ("big", pa.decimal128(38, 10)),
        ("s", pa.string()),
        ("flag", pa.bool_()),
        ("day", pa.date32()),
        ("ts", pa.timestamp("us")),
        ("ts_utc", pa.timestamp("us", "UTC")),
        ("_batch_id", pa.string()),
    ]
)
STRINGS = [
    "",
    "NULL",
    "O'Brien",
    'say "hi"',
    "a,b;c",
    "line1\nline2\r\nline3",
    "tab\there \\N back\\slash",
    "ünïcödé 😀 中文",
    "'; DROP TABLE canary; --",
    "x" * 5000,
]
TIMESTAMPS = [
    datetime(1970, 1, 1),
    datetime(2024, 2, 29, 23, 59, 59, 999999),
    datetime(1000, 1, 1, 0, 0, 0, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(2026, 1, 2, 3, 4, 5, 600007),
]


def every_type(n: int = 12, batch: str = "b1", start: int = 0) -> pa.Table:
    """`n` rows covering every type's edges, with a null in every column but the key."""
    rows = range(start, start + n)
    amounts = [Decimal("0.00"), Decimal("-9999999999.99"), Decimal("0.01"), Decimal("1234.50")]
    bigs = [
        Decimal("9999999999999999999999999999.9999999999"),
        Decimal("-9999999999999999999999999999.9999999999"),
        Decimal("0.0000000001"),
    ]
    days = [date(1000, 1, 1), date(2000, 2, 29), date(9999, 12, 31), date(2026, 1, 2)]
    ints = [-(2**63), 2**63 - 1, 0, -1, 42]
    floats = [0.1, -1.5e300, 5e-324, 1.7976931348623157e308, 3.0]

    def pick(values: Sequence[object], i: int) -> object:
        return None if i % 7 == 6 else values[i % len(values)]

    return pa.table(
        {
            "id": list(rows),
            "i": [pick(ints, i) for i in rows],
            "f": [pick(floats, i) for i in rows],
            "amount": [pick(amounts, i) for i in rows],
            "big": [pick(bigs, i) for i in rows],
            "s": [pick(STRINGS, i) for i in rows],
            "flag": [pick([True, False], i) for i in rows],
            "day": [pick(days, i) for i in rows],
            "ts": [pick(TIMESTAMPS, i) for i in rows],
            "ts_utc": [
                None if i % 7 == 6 else TIMESTAMPS[i % len(TIMESTAMPS)].replace(tzinfo=UTC)
                for i in rows
            ],
            "_batch_id": [batch] * n,
        },
        schema=SCHEMA,
    )


def stored(dest: Destination, name: str, schema: pa.Schema = SCHEMA) -> pa.Table:
    """The table's rows as `schema`, sorted by id (naive UTC read back as UTC)."""
    return dest.read(name, schema.names).cast(schema).sort_by("id")


def made(dest: Destination, tables: Tables, key: list[str] | None = None) -> str:
    name = tables.new()
    dest.ensure_table(name, SCHEMA, ["id"] if key is None else key)
    return name


# -- schema ---------------------------------------------------------------------------------


def test_ensure_table_creates_the_table_from_the_arrow_schema(
    dest: Destination, tables: Tables
) -> None:
    name = tables.new()
    assert dest.table_schema(name) is None
    dest.ensure_table(name, SCHEMA, ["id"])
    schema = dest.table_schema(name)
    assert schema is not None
    assert schema.names == SCHEMA.names
    for f in SCHEMA:
        want = (
            f.type if dest.stores_timezone else pa.timestamp("us") if f.name == "ts_utc" else f.type
        )
        assert schema.field(f.name).type == want, f.name
    dest.ensure_table(name, SCHEMA, ["id"])  # idempotent
    assert dest.count(name) == 0


def test_every_type_round_trips_exactly_with_nulls(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables)
    data = every_type(14)
    assert dest.upsert(name, data, ["id"]) == 14
    assert stored(dest, name).equals(data)


def test_an_added_column_is_added_and_old_rows_read_null(dest: Destination, tables: Tables) -> None:
    name = tables.new()
    small = pa.schema([("id", pa.int64()), ("s", pa.string())])
    dest.ensure_table(name, small, ["id"])
    dest.upsert(name, pa.table({"id": [1], "s": ["a"]}, schema=small), ["id"])
    wider = small.append(pa.field("price", pa.decimal128(10, 3)))
    dest.ensure_table(name, wider, ["id"])
    schema = dest.table_schema(name)
    assert schema is not None and schema.names == ["id", "s", "price"]
    new_rows = pa.table({"id": [2], "s": ["b"], "price": [Decimal("1.125")]}, schema=wider)
    dest.upsert(name, new_rows, ["id"])
    assert stored(dest, name, wider).to_pylist() == [
        {"id": 1, "s": "a", "price": None},
        {"id": 2, "s": "b", "price": Decimal("1.125")},
    ]


def test_a_type_change_raises_schema_mismatch_naming_table_and_column(
    dest: Destination, tables: Tables
) -> None:
    name = made(dest, tables)
    changed = pa.schema(
        [f if f.name != "amount" else pa.field("amount", pa.string()) for f in SCHEMA]
    ).append(pa.field("extra", pa.int64()))
    with pytest.raises(SchemaMismatch) as info:
        dest.ensure_table(name, changed, ["id"])
    assert info.value.table == name and info.value.column == "amount"
    assert name in str(info.value) and "amount" in str(info.value)
    schema = dest.table_schema(name)
    assert schema is not None and "extra" not in schema.names  # nothing was altered
    with pytest.raises(SchemaMismatch) as key_info:
        dest.ensure_table(name, SCHEMA, ["s"])
    assert key_info.value.table == name


def test_data_that_does_not_fit_the_table_is_refused(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables)
    too_fine = pa.array([Decimal("0.001")], pa.decimal128(4, 3))
    with pytest.raises(SchemaMismatch) as info:
        dest.upsert(name, pa.table({"id": [1], "amount": too_fine}), ["id"])
    assert info.value.column == "amount"
    with pytest.raises(SchemaMismatch) as info:
        dest.upsert(name, pa.table({"id": [1], "nope": [1]}), ["id"])
    assert info.value.column == "nope"
    with pytest.raises(SchemaMismatch) as info:
        dest.upsert(name, pa.table({"id": [1], "amount": ["1.00"]}), ["id"])
    assert info.value.column == "amount"
    with pytest.raises(TableNotFound):
        dest.upsert(tables.new(), every_type(1), ["id"])
    with pytest.raises(TableNotFound):
        dest.count(tables.new())
    assert dest.count(name) == 0


def test_narrow_arrow_types_are_widened(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables)
    narrow = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "f": pa.array([0.5, None], pa.float32()),
            "s": pa.array(["a", None], pa.large_string()),
            "ts": pa.array([1_000, None], pa.timestamp("ms")),
        }
    )
    dest.upsert(name, narrow, ["id"])
    back = stored(dest, name)
    assert back.column("s").to_pylist() == ["a", None]
    assert back.column("ts").to_pylist() == [datetime(1970, 1, 1, 0, 0, 1), None]


# -- upsert ---------------------------------------------------------------------------------


def test_upsert_twice_leaves_the_same_rows_and_updates_by_key(
    dest: Destination, tables: Tables
) -> None:
    name = made(dest, tables)
    data = every_type(10)
    dest.upsert(name, data, ["id"])
    dest.upsert(name, data, ["id"])
    assert stored(dest, name).equals(data)
    changed = every_type(3, batch="b2", start=8)  # ids 8, 9 exist, 10 is new
    dest.upsert(name, changed, ["id"])
    back = stored(dest, name)
    assert back.num_rows == 11
    assert back.slice(0, 8).equals(data.slice(0, 8))
    assert back.slice(8).equals(changed)


def test_upsert_of_some_columns_keeps_the_others(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables)
    dest.upsert(name, every_type(3), ["id"])
    dest.upsert(name, pa.table({"id": [1, 5], "s": ["new", "fresh"]}), ["id"])
    back = stored(dest, name)
    assert back.column("id").to_pylist() == [0, 1, 2, 5]
    assert back.column("s").to_pylist() == ["", "new", "O'Brien", "fresh"]
    assert back.column("amount").to_pylist()[:3] == every_type(3).column("amount").to_pylist()
    assert back.column("amount").to_pylist()[3] is None


def test_upsert_refuses_duplicated_or_null_keys_and_writes_nothing(
    dest: Destination, tables: Tables
) -> None:
    name = made(dest, tables)
    dest.upsert(name, every_type(2), ["id"])
    with pytest.raises(DestinationError, match="duplicated"):
        dest.upsert(name, pa.table({"id": [7, 7], "s": ["a", "b"]}), ["id"])
    with pytest.raises(DestinationError):
        dest.upsert(name, pa.table({"id": [8, None], "s": ["a", "b"]}), ["id"])
    assert stored(dest, name).equals(every_type(2))


def test_upsert_by_a_composite_key(dest: Destination, tables: Tables) -> None:
    name = tables.new()
    schema = pa.schema([("a", pa.string()), ("b", pa.int64()), ("v", pa.decimal128(9, 2))])
    dest.ensure_table(name, schema, ["a", "b"])
    rows = pa.table({"a": ["x", "x", "y"], "b": [1, 2, 1], "v": [Decimal("1.00")] * 3}, schema)
    dest.upsert(name, rows, ["a", "b"])
    update = pa.table({"a": ["x"], "b": [2], "v": [Decimal("9.99")]}, schema)
    dest.upsert(name, update, ["a", "b"])
    assert dest.count(name) == 3
    assert dest.sum(name, "v") == Decimal("11.99")


def test_a_stream_of_record_batches_loads_like_a_table(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables)
    data = every_type(4_321)
    reader = pa.RecordBatchReader.from_batches(SCHEMA, data.to_batches(max_chunksize=1_000))
    assert dest.upsert(name, reader, ["id"]) == 4_321
    assert dest.count(name) == 4_321
    assert dest.sum(name, "amount") == sum(
        (v for v in data.column("amount").to_pylist() if v is not None), Decimal(0)
    )
    if dest.supports_bulk and dest.bulk and not isinstance(dest, MySQLDestination):
        assert dest.last_load_method == "bulk"


# -- replace_batch / replace_all ------------------------------------------------------------


def test_replace_batch_is_idempotent_and_keeps_other_batches(
    dest: Destination, tables: Tables
) -> None:
    name = made(dest, tables, key=[])
    b1, b2 = every_type(5, "b1"), every_type(4, "b2", start=5)
    assert dest.replace_batch(name, b1, "b1") == 5
    dest.replace_batch(name, b2, "b2")
    dest.replace_batch(name, b1, "b1")
    assert dest.count(name) == 9
    redone = every_type(2, "b1", start=100)
    dest.replace_batch(name, redone, "b1")
    dest.replace_batch(name, redone, "b1")
    assert dest.count(name, {"_batch_id": "b1"}) == 2
    assert stored(dest, name).equals(pa.concat_tables([b2, redone]))
    dest.replace_batch(name, SCHEMA.empty_table(), "b1")
    assert dest.count(name) == 4


def test_replace_batch_refuses_rows_of_another_batch_and_changes_nothing(
    dest: Destination, tables: Tables
) -> None:
    name = made(dest, tables, key=[])
    dest.replace_batch(name, every_type(3, "b1"), "b1")
    mixed = pa.concat_tables([every_type(2, "b1", start=10), every_type(1, "b2", start=20)])
    with pytest.raises(DestinationError):
        dest.replace_batch(name, mixed, "b1")
    assert stored(dest, name).equals(every_type(3, "b1"))


def test_replace_all_replaces_everything(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables, key=[])
    dest.replace_all(name, every_type(6))
    dest.replace_all(name, every_type(2, start=50))
    assert stored(dest, name).equals(every_type(2, start=50))
    dest.replace_all(name, SCHEMA.empty_table())
    assert dest.count(name) == 0


# -- queries --------------------------------------------------------------------------------


def test_count_and_sum_are_exact_and_filter(dest: Destination, tables: Tables) -> None:
    name = made(dest, tables, key=[])
    n = 1_000
    cents = pa.table(
        {
            "id": list(range(n)),
            "i": [3] * n,
            "f": [0.5] * n,
            "amount": [Decimal("0.01")] * (n - 1) + [None],
            "big": [Decimal("0.1000000001")] * n,
            "s": ["a" if i % 2 else None for i in range(n)],
            "_batch_id": ["b1"] * n,
        }
    )
    dest.replace_batch(name, cents, "b1")
    assert dest.count(name) == n
    assert dest.sum(name, "amount") == Decimal("9.99")
    assert dest.sum(name, "big") == Decimal("100.0000001000")
    assert dest.sum(name, "i") == Decimal(3 * n)
    assert dest.sum(name, "f") == pytest.approx(0.5 * n)
    assert dest.count(name, {"s": "a"}) == n // 2
    assert dest.count(name, {"s": None}) == n // 2
    assert dest.count(name, {"_batch_id": "b1", "s": "a"}) == n // 2
    assert dest.count(name, {"_batch_id": "nope"}) == 0
    assert dest.sum(name, "amount", {"_batch_id": "nope"}) is None
    assert dest.sum(name, "amount", {"s": "a"}) == Decimal("4.99")  # the last one is null


# -- identifiers ----------------------------------------------------------------------------

BAD_NAMES = [
    "x; DROP TABLE canary",
    'a"b',
    "a`b",
    "a]b",
    "a'b",
    "a b",
    "a-b",
    "1abc",
    "",
    "t--",
    "ünï",
    "x" * 200,
]


def test_identifier_injection_is_rejected_before_any_sql(dest: Destination, tables: Tables) -> None:
    canary = made(dest, tables)
    dest.upsert(canary, every_type(2), ["id"])
    for bad in BAD_NAMES:
        assert_rejected(dest, tables, canary, bad)
    assert dest.count(canary) == 2
    assert dest.sum(canary, "id") == Decimal(1)


def assert_rejected(dest: Destination, tables: Tables, canary: str, bad: str) -> None:
    one = pa.schema([(bad, pa.int64())]) if bad else pa.schema([("id", pa.int64())])
    attempts: list[Callable[[], object]] = [
        lambda: dest.ensure_table(bad, SCHEMA, ["id"]),
        lambda: dest.ensure_table(canary, SCHEMA, [bad]),
        lambda: dest.upsert(bad, every_type(1), ["id"]),
        lambda: dest.replace_batch(bad, every_type(1), "b1"),
        lambda: dest.replace_all(bad, every_type(1)),
        lambda: dest.count(bad),
        lambda: dest.count(canary, {bad: 1}),
        lambda: dest.sum(canary, bad),
        lambda: dest.read(canary, [bad]),
        lambda: dest.drop_table(bad),
    ]
    if bad:
        attempts += [
            lambda: dest.ensure_table(tables.new(), one, []),
            lambda: dest.upsert(canary, pa.table({bad: [1]}, schema=one), ["id"]),
        ]
    for attempt in attempts:
        with pytest.raises(InvalidIdentifier):
            attempt()
