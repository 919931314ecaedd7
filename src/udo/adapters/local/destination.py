"""Embedded destinations: DuckDB (the warehouse default) and SQLite (the operational default).

Both are a single file on this machine. DuckDB loads Arrow data by scanning it in place
(``INSERT ... SELECT`` from a registered Arrow stream); SQLite, in-process, inserts with
``executemany`` inside one transaction, which is already its fastest path.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from udo.adapters.sql.base import ErrorKind, SQLDestination, TableInfo
from udo.adapters.sql.dialect import Dialect, decimal_type
from udo.adapters.sql.values import ValuePolicy, exact_sum
from udo.ports.destination import Scalar, SchemaMismatch

DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
"""Never let DuckDB download or load extensions behind our back (offline first)."""


def _path_from_url(url: str, scheme: str) -> Path:
    """``<scheme>:///relative/path`` or ``<scheme>:////absolute/path`` (SQLAlchemy's
    form), or a plain path."""
    prefix = f"{scheme}:///"
    if url.startswith(prefix):
        return Path(url[len(prefix) :])
    if "://" in url:
        raise ValueError(f"expected {prefix}<path>, got {url!r}")
    return Path(url)


# -- DuckDB -------------------------------------------------------------------------------
class DuckDBDialect(Dialect):
    """DuckDB's SQL: exact decimals to 38 digits, TIMESTAMPTZ, ON CONFLICT upserts."""

    name: ClassVar[str] = "duckdb"
    max_identifier_length: ClassVar[int] = 128
    begin_sql: ClassVar[str] = "BEGIN TRANSACTION"

    def column_type(self, t: pa.DataType, *, key: bool) -> str:
        """See `Dialect.column_type`."""
        if pa.types.is_decimal(t):
            return f"DECIMAL({t.precision},{t.scale})"
        if pa.types.is_timestamp(t):
            return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
        return {
            pa.int64(): "BIGINT",
            pa.float64(): "DOUBLE",
            pa.string(): "VARCHAR",
            pa.bool_(): "BOOLEAN",
            pa.date32(): "DATE",
        }[t]

    def arrow_type(self, declared: str) -> pa.DataType | None:
        """See `Dialect.arrow_type`."""
        d = declared.upper()
        if d.startswith("DECIMAL"):
            return decimal_type(d)
        return {
            "BIGINT": pa.int64(),
            "DOUBLE": pa.float64(),
            "VARCHAR": pa.string(),
            "BOOLEAN": pa.bool_(),
            "DATE": pa.date32(),
            "TIMESTAMP": pa.timestamp("us"),
            "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", "UTC"),
        }.get(d)

    def upsert(self, name: str, stage: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """See `Dialect.upsert`."""
        insert = self.insert_select(self.table(name), self.stage(stage), columns)
        rest = [c for c in columns if c not in key]
        if not rest:
            return f"{insert} ON CONFLICT ({self.columns(key)}) DO NOTHING"
        sets = ", ".join(f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in rest)
        return f"{insert} ON CONFLICT ({self.columns(key)}) DO UPDATE SET {sets}"


class DuckDBDestination(SQLDestination):
    """The warehouse default: a DuckDB file.

    Bulk path: the Arrow stream is registered as a view and inserted with one
    ``INSERT ... SELECT`` (no row conversion). Row path (``bulk=False``): multi-row
    parameterised INSERTs. One process may hold the file for writing at a time; another
    process holding it is reported as `DestinationUnavailable`.
    """

    dialect: ClassVar[str] = "duckdb"
    supports_bulk: ClassVar[bool] = True
    max_identifier_length: ClassVar[int] = DuckDBDialect.max_identifier_length
    rows_per_statement: ClassVar[int] = 2_000
    """Parameters per multi-row INSERT on the row path (rows = this / columns)."""

    def __init__(self, path: str | Path, *, bulk: bool = True) -> None:
        super().__init__(DuckDBDialect(), bulk=bulk)
        self.path = Path(path)

    @classmethod
    def from_url(cls, url: str, *, bulk: bool = True) -> DuckDBDestination:
        """``duckdb:///relative/path.duckdb`` or ``duckdb:////absolute/path.duckdb``."""
        return cls(_path_from_url(url, "duckdb"), bulk=bulk)

    def _connect(self) -> Any:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(str(self.path), config=dict(DUCKDB_CONFIG))
        conn.execute("SET TimeZone = 'UTC'")
        return conn

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        # A DuckDB "cursor" is a second connection with its own transaction: use the one.
        yield self.connection

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        import duckdb

        if isinstance(exc, duckdb.IOException | duckdb.ConnectionException):
            return "unavailable"
        if isinstance(exc, duckdb.TransactionException):
            return "unavailable"
        if isinstance(exc, duckdb.Error):
            return "error"
        if isinstance(exc, OSError):
            return "unavailable"
        return None

    def _describe(self, name: str) -> TableInfo | None:
        rows = self._query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position",
            [name],
        )
        if not rows:
            return None
        keys = self._query(
            "SELECT constraint_column_names FROM duckdb_constraints() "
            "WHERE database_name = current_database() AND schema_name = 'main' "
            "AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
            [name],
        )
        return TableInfo(
            columns={c: self.sql.arrow_type(t) for c, t in rows},
            declared=dict(rows),
            key=list(keys[0][0]) if keys else [],
        )

    def _bulk_load(self, target: str, columns: list[str], reader: pa.RecordBatchReader) -> int:
        self.last_load_method = "bulk"
        view = f"_udo_src_{uuid.uuid4().hex[:12]}"
        conn = self.connection
        conn.register(view, reader)
        try:
            result = conn.execute(self.sql.insert_select(target, self.sql.stage(view), columns))
            row = result.fetchone()
        finally:
            conn.unregister(view)
        return int(row[0]) if row else 0

    def _insert_rows(self, target: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        # DuckDB's executemany runs one statement per row; a multi-row VALUES is ~10x faster.
        per = max(1, self.rows_per_statement // max(1, len(columns)))
        conn = self.connection
        full = self.sql.insert_values(target, columns, per)
        for start in range(0, len(rows), per):
            part = rows[start : start + per]
            sql = full if len(part) == per else self.sql.insert_values(target, columns, len(part))
            conn.execute(sql, [v for row in part for v in row])

    def _fetch_arrow(self, sql: str, schema: pa.Schema) -> pa.Table:
        table = self.connection.execute(sql).to_arrow_table()
        return table.cast(schema)


# -- SQLite -------------------------------------------------------------------------------
class SQLiteDialect(Dialect):
    """SQLite's SQL. Exact decimals are kept as text (a NUMERIC column would round them
    to 15 digits): the declared type ``DECIMAL_TEXT(p,s)`` has TEXT affinity and says
    what it holds. Dates and timestamps are ISO text (``...Z`` for UTC), booleans 0/1."""

    name: ClassVar[str] = "sqlite"
    max_identifier_length: ClassVar[int] = 128
    values: ClassVar[ValuePolicy] = ValuePolicy(
        decimal_as_text=True, temporal_as_text=True, bool_as_int=True
    )

    def column_type(self, t: pa.DataType, *, key: bool) -> str:
        """See `Dialect.column_type`."""
        if pa.types.is_decimal(t):
            return f"DECIMAL_TEXT({t.precision},{t.scale})"
        if pa.types.is_timestamp(t):
            return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
        return {
            pa.int64(): "BIGINT",
            pa.float64(): "DOUBLE",
            pa.string(): "TEXT",
            pa.bool_(): "BOOLEAN",
            pa.date32(): "DATE",
        }[t]

    def arrow_type(self, declared: str) -> pa.DataType | None:
        """See `Dialect.arrow_type`."""
        d = declared.upper().replace(" ", "")
        if d.startswith("DECIMAL_TEXT"):
            return decimal_type(d)
        return {
            "BIGINT": pa.int64(),
            "DOUBLE": pa.float64(),
            "TEXT": pa.string(),
            "BOOLEAN": pa.bool_(),
            "DATE": pa.date32(),
            "TIMESTAMP": pa.timestamp("us"),
            "TIMESTAMPTZ": pa.timestamp("us", "UTC"),
        }.get(d)

    def create_stage(self, stage: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """See `Dialect.create_stage`."""
        parts = [self.column_def(f, key=False) for f in schema]
        return f"CREATE TEMP TABLE {self.stage(stage)} ({', '.join(parts)})"

    def upsert(self, name: str, stage: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """See `Dialect.upsert` (``WHERE true`` keeps SQLite's parser from reading the
        ON CONFLICT as a join constraint)."""
        insert = self.insert_select(self.table(name), self.stage(stage), columns) + " WHERE true"
        rest = [c for c in columns if c not in key]
        if not rest:
            return f"{insert} ON CONFLICT ({self.columns(key)}) DO NOTHING"
        sets = ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in rest)
        return f"{insert} ON CONFLICT ({self.columns(key)}) DO UPDATE SET {sets}"


class SQLiteDestination(SQLDestination):
    """The operational default: a SQLite file (WAL journal, so readers are not blocked).

    No bulk path: ``executemany`` in one transaction is SQLite's fast path. Sums of
    decimal columns are computed exactly in Python from the stored text.
    """

    dialect: ClassVar[str] = "sqlite"
    supports_bulk: ClassVar[bool] = False
    max_identifier_length: ClassVar[int] = SQLiteDialect.max_identifier_length

    def __init__(self, path: str | Path, *, timeout: float = 30.0, bulk: bool = True) -> None:
        super().__init__(SQLiteDialect(), bulk=bulk)
        self.path = Path(path)
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str, *, bulk: bool = True) -> SQLiteDestination:
        """``sqlite:///relative/path.sqlite`` or ``sqlite:////absolute/path.sqlite``."""
        return cls(_path_from_url(url, "sqlite"), bulk=bulk)

    def _connect(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False
        )  # one run at a time per worker; the API drains on a thread of its own
        conn.execute("PRAGMA journal_mode = WAL")
        return conn

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc).lower()
            if "locked" in text or "busy" in text or "unable to open" in text:
                return "unavailable"
            return "error"
        if isinstance(exc, sqlite3.Error):
            return "error"
        if isinstance(exc, OSError):
            return "unavailable"
        return None

    def _describe(self, name: str) -> TableInfo | None:
        rows = self._query(
            "SELECT name, type, pk FROM pragma_table_info(?, 'main') ORDER BY cid", [name]
        )
        if not rows:
            return None
        key = [c for c, _, pk in sorted((r for r in rows if r[2]), key=lambda r: r[2])]
        return TableInfo(
            columns={c: self.sql.arrow_type(t) for c, t, _ in rows},
            declared={c: t for c, t, _ in rows},
            key=key,
        )

    def sum(
        self, name: str, column: str, where: Mapping[str, Scalar] | None = None
    ) -> Decimal | float | None:
        """See `Destination.sum`: decimals are summed exactly from their text."""
        with self._guard("sum", name):
            info = self._require(name)
            t = info.columns.get(self.sql.check(column, "column name"))
            if column not in info.columns:
                raise SchemaMismatch(name, column, "not a column of the table")
            if t is None or not pa.types.is_decimal(t):
                return super().sum(name, column, where)
            conditions, params = self._conditions(name, info, where)
            with self._cursor() as cur:
                cur.execute(self.sql.select(name, [column], conditions), tuple(params))
                return exact_sum(row[0] for row in cur)

    def _column(self, values: list[Any], t: pa.DataType) -> pa.Array:
        """Decimals, dates and timestamps are stored as text: parse them back exactly."""
        if pa.types.is_decimal(t) or pa.types.is_temporal(t):
            return pa.array(values, pa.string()).cast(t)
        return super()._column(values, t)
