"""PostgresDestination: PostgreSQL (a warehouse or an operational database) via psycopg 3.

Bulk path: ``COPY ... FROM STDIN (FORMAT csv)`` fed with CSV that Arrow writes (text is
always quoted, nulls are unquoted empty fields, so the two never mix). Upserts stage the
rows in a temporary table (dropped at commit), check their keys, then
``INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE``. The session time zone is UTC, so
``timestamptz`` values come back in UTC.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa

from udo.adapters.sql.base import ErrorKind, SQLDestination, TableInfo
from udo.adapters.sql.dialect import Dialect, decimal_type
from udo.adapters.sql.values import ValuePolicy, rechunk, write_csv
from udo.ports.destination import DestinationError

TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")
"""Connection exception, transaction rollback (deadlock, serialization), insufficient
resources, operator intervention (shutdown, cannot connect now)."""
TRANSIENT_SQLSTATES = frozenset({"55P03"})
"""Lock not available."""


class PostgresDialect(Dialect):
    """PostgreSQL SQL: NUMERIC, TIMESTAMPTZ, ON CONFLICT upserts."""

    name: ClassVar[str] = "postgres"
    param: ClassVar[str] = "%s"
    max_identifier_length: ClassVar[int] = 63

    def column_type(self, t: pa.DataType, *, key: bool) -> str:
        """See `Dialect.column_type`."""
        if pa.types.is_decimal(t):
            return f"NUMERIC({t.precision},{t.scale})"
        if pa.types.is_timestamp(t):
            return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
        return {
            pa.int64(): "BIGINT",
            pa.float64(): "DOUBLE PRECISION",
            pa.string(): "TEXT",
            pa.bool_(): "BOOLEAN",
            pa.date32(): "DATE",
        }[t]

    def arrow_type(self, declared: str) -> pa.DataType | None:
        """See `Dialect.arrow_type` (reads ``format_type``, e.g. ``numeric(12,2)``)."""
        d = declared.lower().strip()
        if d.startswith("numeric"):
            return decimal_type(d)
        if d in ("timestamp without time zone", "timestamp(6) without time zone"):
            return pa.timestamp("us")
        if d in ("timestamp with time zone", "timestamp(6) with time zone"):
            return pa.timestamp("us", "UTC")
        if d.startswith("character varying") or d == "text":
            return pa.string()
        return {
            "bigint": pa.int64(),
            "double precision": pa.float64(),
            "boolean": pa.bool_(),
            "date": pa.date32(),
        }.get(d)

    def create_stage(self, stage: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """See `Dialect.create_stage` (dropped at commit)."""
        return super().create_stage(stage, schema, key) + " ON COMMIT DROP"

    def upsert(self, name: str, stage: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """See `Dialect.upsert`."""
        insert = self.insert_select(self.table(name), self.stage(stage), columns)
        rest = [c for c in columns if c not in key]
        if not rest:
            return f"{insert} ON CONFLICT ({self.columns(key)}) DO NOTHING"
        sets = ", ".join(f"{self.quote(c)} = EXCLUDED.{self.quote(c)}" for c in rest)
        return f"{insert} ON CONFLICT ({self.columns(key)}) DO UPDATE SET {sets}"

    def copy_from_stdin(self, target: str, columns: Sequence[str]) -> str:
        """COPY for `write_csv` output."""
        return f"COPY {target} ({self.columns(columns)}) FROM STDIN (FORMAT csv)"


class PostgresDestination(SQLDestination):
    """PostgreSQL; see the module docstring. Tables live in `schema` (default public)."""

    dialect: ClassVar[str] = "postgres"
    supports_bulk: ClassVar[bool] = True
    max_identifier_length: ClassVar[int] = PostgresDialect.max_identifier_length
    sql: PostgresDialect

    def __init__(
        self,
        conninfo: str = "postgresql://postgres@127.0.0.1:5432/test",
        *,
        schema: str = "public",
        bulk: bool = True,
        connect_timeout: int = 10,
    ) -> None:
        super().__init__(PostgresDialect(schema), bulk=bulk)
        self.conninfo = conninfo
        self.connect_timeout = connect_timeout

    @classmethod
    def from_url(cls, url: str, *, bulk: bool = True) -> PostgresDestination:
        """A libpq URL (``postgresql://user:pw@host:5432/db?sslmode=require``); an extra
        ``schema=`` query parameter picks the schema (default public)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError(f"expected a postgresql:// URL, got scheme {parts.scheme!r}")
        query = parse_qsl(parts.query)
        schema = next((v for k, v in query if k == "schema"), "public")
        rest = urlencode([(k, v) for k, v in query if k != "schema"])
        conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, rest, ""))
        return cls(conninfo, schema=schema, bulk=bulk)

    def _connect(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise DestinationError(
                "postgres: the PostgreSQL adapter needs psycopg (pip install 'udo[postgres]')"
            ) from exc
        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=self.connect_timeout)
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        import psycopg

        if isinstance(exc, psycopg.Error):
            state = exc.sqlstate or ""
            if isinstance(exc, psycopg.OperationalError) and not state:
                return "unavailable"  # no server answer: refused, dropped, timed out
            if state.startswith(TRANSIENT_SQLSTATE_CLASSES) or state in TRANSIENT_SQLSTATES:
                return "unavailable"
            return "error"
        if isinstance(exc, OSError):
            return "unavailable"
        return None

    def _describe(self, name: str) -> TableInfo | None:
        rows = self._query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [self.sql.schema, name],
        )
        if not rows:
            return None
        keys = self._query(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary ORDER BY k.ord",
            [self.sql.schema, name],
        )
        return TableInfo(
            columns={c: self.sql.arrow_type(t) for c, t in rows},
            declared=dict(rows),
            key=[k for (k,) in keys],
        )

    def _bulk_load(self, target: str, columns: list[str], reader: pa.RecordBatchReader) -> int:
        self.last_load_method = "bulk"
        rows = 0
        policy = ValuePolicy()
        with self._cursor() as cur, cur.copy(self.sql.copy_from_stdin(target, columns)) as copy:
            for chunk in rechunk(reader, 65_536):
                buf = io.BytesIO()
                rows += write_csv(iter([chunk]), buf, reader.schema, policy=policy)
                copy.write(buf.getbuffer())
        return rows
