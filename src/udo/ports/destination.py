"""Destination: a database that loaded tables land in (a warehouse or an operational DB).

Adapters: DuckDB (warehouse default), SQLite (operational default), MySQL (Azure Database
for MySQL, MariaDB), PostgreSQL, Azure Synapse dedicated SQL pool.

Tables are described by Arrow schemas. The supported column types, and how every adapter
must store them so values round-trip exactly:

=====================  ==========================================================
Arrow                  stored as
=====================  ==========================================================
int64                  a 64-bit integer
float64                a double
decimal128(p, s)       an exact decimal of that precision and scale
string                 text (keys: a bounded, indexable text where needed)
bool                   a boolean
date32                 a date
timestamp(us)          a timestamp to the microsecond
timestamp(us, UTC)     a timestamp with time zone, or the UTC wall time where the
                       destination has none (``stores_timezone`` is then False)
=====================  ==========================================================

Adapters widen narrower types: int8..int32 and uint8..uint32 to int64, float32 to
float64, large and view strings to string, date64 to date32, other timestamp units and
zones to microseconds and UTC (a value that is not a whole microsecond is refused, never
rounded), and a decimal with at most as many integer and fractional digits as its column.
Any other type is a `SchemaMismatch`.

Identifiers (table and column names) must match ``[A-Za-z_][A-Za-z0-9_]*`` and fit the
destination's ``max_identifier_length``; anything else raises `InvalidIdentifier` before
any SQL is sent. Adapters quote every identifier as well; values always travel as
parameters or through a bulk format, never spliced into SQL text.

Errors: `DestinationUnavailable` (transient: connection refused or lost, lock timeouts,
deadlocks), `SchemaMismatch`, `InvalidIdentifier`, `TableNotFound` (terminal), and
`DestinationError` for anything else the database rejects. No driver exception crosses an
adapter.

An adapter holds one connection, opened on first use and reopened after `close`; it is
not safe to share between threads.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import ClassVar, Literal, TypeAlias

import pyarrow as pa

from udo.errors import TerminalError, TransientError, UdoError

TableData: TypeAlias = "pa.Table | pa.RecordBatchReader"
"""Rows to load: a table in memory, or a stream of record batches (read once)."""

Scalar: TypeAlias = "str | int | float | bool | Decimal | date | datetime | None"
"""A value compared with ``=`` in a `where` mapping (None matches NULL)."""

LoadMethod = Literal["bulk", "rows"]
"""How the last write moved its rows: the bulk path, or batched parameterised inserts."""

BATCH_COLUMN = "_batch_id"
"""The column `replace_batch` deletes by."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DestinationError(UdoError):
    """The destination rejected an operation (base of every Destination error)."""


class DestinationUnavailable(DestinationError, TransientError):
    """The destination could not be reached, or asked us to retry (lock, deadlock)."""


class TableNotFound(DestinationError, TerminalError):
    """A write or a query named a table that does not exist: call `ensure_table` first."""

    def __init__(self, table: str) -> None:
        self.table = table
        super().__init__(f"table {table!r} does not exist: call ensure_table before loading it")


class InvalidIdentifier(DestinationError, TerminalError):
    """A table or column name is not a plain identifier (no SQL is sent)."""


class SchemaMismatch(DestinationError, TerminalError):
    """A table's existing definition cannot take the requested schema or data.

    `table` and `column` name the conflict (`column` is None when the conflict is about
    the table as a whole, e.g. its key).
    """

    def __init__(self, table: str, column: str | None, detail: str) -> None:
        self.table = table
        self.column = column
        where = f"table {table!r}" + (f" column {column!r}" if column else "")
        super().__init__(f"schema mismatch in {where}: {detail}")


def check_identifier(name: str, *, max_length: int, what: str = "identifier") -> str:
    """Return `name` if it is a plain identifier that fits `max_length`, else raise.

    Raises `InvalidIdentifier` naming what was wrong; nothing is quoted or escaped here,
    so a name either passes unchanged or is rejected.
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidIdentifier(
            f"invalid {what} {name!r}: use letters, digits and '_' only, not starting with a digit"
        )
    if len(name) > max_length:
        raise InvalidIdentifier(
            f"invalid {what} {name!r}: {len(name)} characters, this destination allows {max_length}"
        )
    return name


class Destination(ABC):
    """A database that udo loads tables into.

    Capabilities (class flags, asked instead of provider checks):

    - `dialect`: the SQL dialect's name (``duckdb``, ``sqlite``, ``mysql``,
      ``postgres``, ``tsql``).
    - `supports_bulk`: the adapter has a bulk path (Arrow scan, COPY, LOAD DATA); the
      instance attribute `bulk` says whether to use it (default True).
    - `supports_transactional_ddl`: `ensure_table` is atomic (MySQL commits each ALTER).
    - `stores_timezone`: timestamps with a zone keep it; where False, UTC timestamps are
      stored as their UTC wall time and `read` returns them without a zone.
    - `max_identifier_length`: longest table or column name.

    Every write is one transaction: readers see the table before or after it, never in
    between, and a write that raises leaves the table as it was.
    """

    dialect: ClassVar[str]
    supports_bulk: ClassVar[bool] = False
    supports_transactional_ddl: ClassVar[bool] = True
    stores_timezone: ClassVar[bool] = True
    max_identifier_length: ClassVar[int] = 63

    bulk: bool = True
    last_load_method: LoadMethod | None = None
    """How the last write moved its rows (for reports and tests)."""

    @abstractmethod
    def ensure_table(self, name: str, schema: pa.Schema, key: Sequence[str] = ()) -> None:
        """Make table `name` able to take rows of `schema`; idempotent.

        Creates the table if missing: one column per field, key columns NOT NULL and the
        primary key (where the destination has one), other columns nullable. If the table
        exists, columns of `schema` it lacks are added (nullable); columns it has that
        `schema` lacks are kept. Raises `SchemaMismatch` naming the table and column if an
        existing column has another type, or naming the table if `key` differs from the
        table's key; nothing is altered then. `InvalidIdentifier` for a bad name.
        """

    @abstractmethod
    def upsert(self, name: str, data: TableData, key: Sequence[str]) -> int:
        """Insert or update rows by `key`, in one transaction; returns the rows written.

        A row whose key exists replaces the stored row's columns present in `data`; other
        rows are inserted; rows of the table not in `data` are untouched. Loading the same
        data twice leaves the same rows. `key` must be the table's key. Raises
        `DestinationError` (and writes nothing) if two rows of `data` share a key or a key
        is null; `SchemaMismatch` if `data` has a column the table lacks or of another
        type; `TableNotFound` if the table does not exist.
        """

    @abstractmethod
    def replace_batch(self, name: str, data: TableData, batch_id: str) -> int:
        """Replace every row whose ``_batch_id`` is `batch_id` by `data`; returns rows written.

        One transaction: delete the batch's rows, then insert `data`; rows of other batches
        are untouched, so loading a batch twice leaves the same rows. Every row of `data`
        must carry ``_batch_id == batch_id``, else `DestinationError` and nothing changes.
        """

    @abstractmethod
    def replace_all(self, name: str, data: TableData) -> int:
        """Replace the whole content of the table by `data` in one transaction."""

    @abstractmethod
    def count(self, name: str, where: Mapping[str, Scalar] | None = None) -> int:
        """Rows of the table, optionally only those whose columns equal `where`'s values."""

    @abstractmethod
    def sum(
        self, name: str, column: str, where: Mapping[str, Scalar] | None = None
    ) -> Decimal | float | None:
        """Sum of a column (rows filtered like `count`), for reconciliation.

        Exact: a `Decimal` for integer and decimal columns, a float for float columns;
        None when no row has a value.
        """

    @abstractmethod
    def table_schema(self, name: str) -> pa.Schema | None:
        """The table's columns with their types mapped back to Arrow; None if missing."""

    @abstractmethod
    def read(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Every row of the table (in no particular order) with `table_schema` types."""

    @abstractmethod
    def drop_table(self, name: str) -> None:
        """Drop the table if it exists."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection; the next call opens a new one."""

    def __enter__(self) -> Destination:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
