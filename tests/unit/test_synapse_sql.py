"""Synapse: the T-SQL it emits, checked offline (there is no Synapse pool here).

Every statement must parse with sqlglot's T-SQL dialect as a real statement (not sqlglot's
"Command" fallback). The adapter itself runs against `RecordingConnection`, a DB-API
connection that records statements and answers INFORMATION_SCHEMA queries from the
CREATE/ALTER statements it saw (read with sqlglot), so the adapter's whole flow is
exercised without pyodbc.
"""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from udo.adapters.sql.synapse import SynapseDestination, sqlalchemy_url
from udo.adapters.sql.tsql import TSQLDialect
from udo.ports.destination import (
    DestinationError,
    DestinationUnavailable,
    InvalidIdentifier,
    SchemaMismatch,
)

SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("line", pa.string()),
        ("price", pa.decimal128(12, 2)),
        ("ratio", pa.float64()),
        ("paid", pa.bool_()),
        ("day", pa.date32()),
        ("at", pa.timestamp("us")),
        ("at_utc", pa.timestamp("us", "UTC")),
        ("_batch_id", pa.string()),
    ]
)
T = TSQLDialect()


def parse(sql: str) -> exp.Expr:
    """One T-SQL statement, parsed strictly; fails on sqlglot's Command fallback."""
    statements = [s for s in sqlglot.parse(sql, read="tsql") if s is not None]
    assert len(statements) == 1, sql
    statement = statements[0]
    assert not isinstance(statement, exp.Command), f"unparsed T-SQL: {sql}"
    return statement


# -- the dialect ----------------------------------------------------------------------------


def test_every_statement_parses_as_tsql() -> None:
    where = [("_batch_id", False), ("line", True)]
    statements = {
        "create keyed": T.create_table("orders", SCHEMA, ["order_id", "line"]),
        "create keyless": T.create_table("marts", SCHEMA, []),
        "stage": T.create_stage("_udo_stage_1", SCHEMA, ["order_id"]),
        "add column": T.add_column("orders", pa.field("note", pa.string())),
        "drop": T.drop_table("orders"),
        "drop stage": T.drop_stage("_udo_stage_1"),
        "delete": T.delete("orders", where),
        "delete all": T.delete("orders"),
        "insert": T.insert_values(T.table("orders"), SCHEMA.names),
        "insert select": T.insert_select(T.table("orders"), T.stage("s"), SCHEMA.names),
        "merge": T.upsert("orders", "_udo_stage_1", SCHEMA.names, ["order_id", "line"]),
        "key problems": T.key_problems("_udo_stage_1", ["order_id", "line"]),
        "count": T.count("orders", where),
        "sum": T.sum("orders", "price", where),
        "select": T.select("orders", SCHEMA.names),
        "describe": T.describe(),
        "begin": T.begin_sql,
        "commit": T.commit_sql,
        "rollback": T.rollback_sql,
    }
    for label, sql in statements.items():
        assert parse(sql) is not None, label


def test_merge_joins_on_the_key_updates_the_rest_and_inserts_the_new() -> None:
    sql = T.upsert("orders", "_udo_stage_1", SCHEMA.names, ["order_id", "line"])
    merge = parse(sql)
    assert isinstance(merge, exp.Merge)
    assert merge.this.name == "orders" and merge.this.args["db"].name == "dbo"
    on_columns = {c.name for c in merge.args["on"].find_all(exp.Column)}
    assert on_columns == {"order_id", "line"}
    assert "MERGE INTO [dbo].[orders]" in sql and "WHEN NOT MATCHED BY TARGET" in sql
    update = sql[sql.index("UPDATE SET") : sql.index("WHEN NOT MATCHED")]
    assert "[order_id] =" not in update and "[price] = [source].[price]" in update
    assert sql.endswith(";")


def test_merge_of_a_table_that_is_all_key_only_inserts() -> None:
    sql = T.upsert("links", "_udo_stage_1", ["a", "b"], ["a", "b"])
    assert isinstance(parse(sql), exp.Merge)
    assert "WHEN MATCHED" not in sql


def test_keyed_tables_are_hash_distributed_without_an_enforced_key() -> None:
    keyed = T.create_table("orders", SCHEMA, ["order_id"])
    assert "DISTRIBUTION = HASH([order_id])" in keyed and "PRIMARY KEY" not in keyed
    assert "[order_id] BIGINT NOT NULL" in keyed
    assert "DISTRIBUTION = ROUND_ROBIN" in T.create_table("marts", SCHEMA, [])
    stage = T.create_stage("_udo_stage_1", SCHEMA, ["order_id"])
    assert stage.startswith("CREATE TABLE [#_udo_stage_1]") and "HEAP" in stage


@pytest.mark.parametrize(
    ("arrow", "key", "tsql"),
    [
        (pa.int64(), False, "BIGINT"),
        (pa.float64(), False, "FLOAT(53)"),
        (pa.decimal128(38, 10), False, "DECIMAL(38, 10)"),
        (pa.string(), False, "NVARCHAR(4000)"),
        (pa.string(), True, "NVARCHAR(450)"),
        (pa.bool_(), False, "BIT"),
        (pa.date32(), False, "DATE"),
        (pa.timestamp("us"), False, "DATETIME2(6)"),
        (pa.timestamp("us", "UTC"), False, "DATETIME2(6)"),
    ],
)
def test_types_map_exactly_and_back(arrow: pa.DataType, key: bool, tsql: str) -> None:
    assert T.column_type(arrow, key=key) == tsql
    back = T.arrow_type(tsql)
    assert back == T.canonical(arrow)


def test_identifiers_cannot_escape_their_brackets() -> None:
    for bad in ["a]b", "x]; DROP TABLE y; --", "#temp", "a b", ""]:
        with pytest.raises(InvalidIdentifier):
            T.table(bad)
        with pytest.raises(InvalidIdentifier):
            T.upsert("orders", "s", [bad], [bad])
    with pytest.raises(InvalidIdentifier):
        TSQLDialect(schema="dbo]; DROP")


def test_connection_strings_become_sqlalchemy_urls() -> None:
    odbc = "Driver={ODBC Driver 18 for SQL Server};Server=tcp:ws.sql.azuresynapse.net,1433;"
    url = sqlalchemy_url(odbc)
    assert url.startswith("mssql+pyodbc:///?odbc_connect=Driver%3D%7BODBC")
    assert sqlalchemy_url("mssql+pyodbc://u:p@dsn") == "mssql+pyodbc://u:p@dsn"
    with pytest.raises(ValueError):
        sqlalchemy_url("postgresql://x")


# -- the adapter over a recording connection ------------------------------------------------


class RecordingCursor:
    def __init__(self, conn: RecordingConnection) -> None:
        self.conn = conn
        self.rows: list[tuple[Any, ...]] = []
        self.fast_executemany = False

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.conn.log.append((sql, params))
        self.rows = self.conn.answer(sql, params)

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        assert self.fast_executemany
        self.conn.log.append((sql, ("executemany", len(rows))))
        self.conn.inserted += rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        pass


class RecordingConnection:
    """Records statements; INFORMATION_SCHEMA answers come from the DDL it saw."""

    def __init__(self) -> None:
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.columns: dict[str, list[tuple[Any, ...]]] = {}
        self.inserted: list[tuple[Any, ...]] = []
        self.fail_next: Exception | None = None

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self)

    def close(self) -> None:
        pass

    def statements(self) -> list[str]:
        return [sql for sql, _ in self.log]

    def answer(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        tree = parse(sql)
        if "INFORMATION_SCHEMA.COLUMNS" in sql:
            return self.columns.get(params[1], [])
        if sql.startswith("SELECT COALESCE(SUM(CASE WHEN n > 1"):
            return [(0, 0)]
        if isinstance(tree, exp.Select):
            return [(7,)]
        if isinstance(tree, exp.Create) and not tree.this.this.name.startswith("#"):
            table = tree.this.this.name
            self.columns[table] = [info_row(c) for c in tree.this.expressions]
        if isinstance(tree, exp.Alter):
            for action in tree.args["actions"]:
                self.columns[tree.this.name].append(info_row(action))
        return []


def info_row(column: exp.ColumnDef) -> tuple[Any, ...]:
    """An INFORMATION_SCHEMA.COLUMNS row for a column definition (as Synapse reports it)."""
    rendered = column.args["kind"].sql(dialect="tsql").lower()  # e.g. numeric(12, 2)
    base = rendered.split("(")[0]
    args = [int(a) for a in re.findall(r"\d+", rendered.partition("(")[2])]
    if base in ("decimal", "numeric"):
        return (column.name, "decimal", None, args[0], args[1], None)
    if base == "nvarchar":
        return (column.name, "nvarchar", args[0], None, None, None)
    if base == "datetime2":
        return (column.name, "datetime2", None, None, None, args[0])
    if base == "float":
        return (column.name, "float", None, args[0] if args else 53, None, None)
    return (column.name, base, None, None, None, None)


@pytest.fixture
def conn() -> RecordingConnection:
    return RecordingConnection()


@pytest.fixture
def synapse(conn: RecordingConnection) -> SynapseDestination:
    return SynapseDestination(connect=lambda: conn)


def data(n: int = 3, batch: str = "b1") -> pa.Table:
    return pa.table(
        {
            "order_id": list(range(n)),
            "line": [f"l{i}" for i in range(n)],
            "price": [Decimal("12.34")] * n,
            "ratio": [0.5] * n,
            "paid": [True] * n,
            "day": [date(2026, 1, 2)] * n,
            "at": [datetime(2026, 1, 2, 3, 4, 5, 6)] * n,
            "at_utc": [datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)] * n,
            "_batch_id": [batch] * n,
        },
        schema=SCHEMA,
    )


def test_ensure_table_creates_then_adds_columns_then_refuses_type_changes(
    synapse: SynapseDestination, conn: RecordingConnection
) -> None:
    synapse.ensure_table("orders", SCHEMA, ["order_id"])
    synapse.ensure_table("orders", SCHEMA, ["order_id"])
    creates = [s for s in conn.statements() if s.startswith("CREATE TABLE")]
    assert len(creates) == 1 and "HASH([order_id])" in creates[0]
    synapse.ensure_table("orders", SCHEMA.append(pa.field("note", pa.string())), ["order_id"])
    assert conn.statements()[-2] == "ALTER TABLE [dbo].[orders] ADD [note] NVARCHAR(4000)"
    changed = pa.schema([pa.field("price", pa.string())])
    with pytest.raises(SchemaMismatch) as info:
        synapse.ensure_table("orders", changed, [])
    assert info.value.column == "price" and "orders" in str(info.value)
    for sql in conn.statements():
        parse(sql)


def test_upsert_stages_outside_the_transaction_then_merges_inside_it(
    synapse: SynapseDestination, conn: RecordingConnection
) -> None:
    synapse.ensure_table("orders", SCHEMA, ["order_id"])
    conn.log.clear()
    assert synapse.upsert("orders", data(3), ["order_id"]) == 3
    kinds = [
        sql.split()[0] + (" " + sql.split()[1] if sql.startswith("CREATE") else "")
        for sql in conn.statements()
    ]
    assert kinds == ["CREATE TABLE", "INSERT", "SELECT", "BEGIN", "MERGE", "COMMIT", "DROP"]
    stage = conn.statements()[0].split()[2]
    assert stage.startswith("[#_udo_stage_")
    merge = parse(conn.statements()[4])
    assert isinstance(merge, exp.Merge)
    assert {c.name for c in merge.args["on"].find_all(exp.Column)} == {"order_id"}
    assert conn.statements()[1].startswith(f"INSERT INTO {stage}")
    # values travel as parameters, UTC timestamps as naive UTC wall time, decimals exact
    first = conn.inserted[0]
    assert first[2] == Decimal("12.34") and first[7] == datetime(2026, 1, 2, 3, 4, 5, 6)
    for sql in conn.statements():
        parse(sql)


def test_replace_batch_deletes_the_batch_and_inserts_in_one_transaction(
    synapse: SynapseDestination, conn: RecordingConnection
) -> None:
    synapse.ensure_table("facts", SCHEMA, [])
    conn.log.clear()
    synapse.replace_batch("facts", data(4, "b7"), "b7")
    assert [sql.split()[0] for sql in conn.statements()] == ["BEGIN", "DELETE", "INSERT", "COMMIT"]
    assert conn.log[1] == ("DELETE FROM [dbo].[facts] WHERE [_batch_id] = ?", ("b7",))
    assert synapse.last_load_method == "rows"
    with pytest.raises(DestinationError):
        synapse.replace_batch("facts", data(2, "other"), "b7")
    assert conn.statements()[-1] == "ROLLBACK TRANSACTION"


def test_driver_errors_are_translated(
    synapse: SynapseDestination, conn: RecordingConnection
) -> None:
    synapse.ensure_table("facts", SCHEMA, [])

    class OperationalError(Exception):
        """Stands for pyodbc.OperationalError (a dropped connection)."""

    class ProgrammingError(Exception):
        """Stands for pyodbc.ProgrammingError (a bad statement)."""

    OperationalError.__module__ = ProgrammingError.__module__ = "pyodbc"
    conn.fail_next = ProgrammingError("42000", "[42000] Incorrect syntax")
    with pytest.raises(DestinationError) as info:
        synapse.count("facts")
    assert not isinstance(info.value, DestinationUnavailable)
    conn.fail_next = OperationalError("08S01", "[08S01] Communication link failure")
    with pytest.raises(DestinationUnavailable):
        synapse.count("facts")


@pytest.mark.skipif(importlib.util.find_spec("pyodbc") is not None, reason="pyodbc installed")
def test_without_pyodbc_the_adapter_says_what_to_install() -> None:
    dest = SynapseDestination("Driver={ODBC Driver 18 for SQL Server};Server=tcp:x,1433;")
    with pytest.raises(DestinationError, match="pyodbc"):
        dest.count("facts")
