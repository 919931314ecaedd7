"""Arrow types and values on their way into SQL: normalisation, driver rows, bulk CSV.

Every conversion is exact: decimals travel as `Decimal` or as their text, timestamps keep
their microseconds, and text is never re-encoded lossily. What a driver cannot take (a
time zone, a boolean, a decimal) is converted as its dialect's `ValuePolicy` says.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from udo.ports.destination import Scalar, SchemaMismatch, TableData

SUPPORTED_TYPES = (
    "int64, float64, decimal128(p, s), string, bool, date32, timestamp[us], timestamp[us, UTC]"
)
EXACT = decimal.Context(prec=200)
"""Decimal arithmetic for sums: wide enough that adding never rounds."""


def normalize_type(t: pa.DataType, table: str, column: str) -> pa.DataType:
    """The supported type `t` is widened to, or `SchemaMismatch` if there is none.

    ``pa.null()`` (a column of nulls only) is returned as is: it fits any column.
    """
    types = pa.types
    if types.is_null(t):
        return t
    if types.is_boolean(t):
        return pa.bool_()
    if types.is_integer(t) and t != pa.uint64():
        return pa.int64()
    if types.is_floating(t):
        return pa.float64()
    if types.is_decimal(t) and t.precision <= 38:
        return pa.decimal128(t.precision, t.scale)
    if types.is_string(t) or types.is_large_string(t) or types.is_string_view(t):
        return pa.string()
    if types.is_date(t):
        return pa.date32()
    if types.is_timestamp(t):
        return pa.timestamp("us", "UTC" if t.tz else None)
    raise SchemaMismatch(
        table, column, f"type {t} cannot be stored exactly (supported: {SUPPORTED_TYPES})"
    )


def normalize_schema(schema: pa.Schema, table: str) -> pa.Schema:
    """`schema` with every field widened to a supported type (nullability kept)."""
    fields = []
    for f in schema:
        t = normalize_type(f.type, table, f.name)
        if pa.types.is_null(t):
            raise SchemaMismatch(table, f.name, "type null: give the column a real type")
        fields.append(pa.field(f.name, t, f.nullable))
    return pa.schema(fields)


def as_reader(data: TableData) -> pa.RecordBatchReader:
    """A table or a reader, as a reader."""
    if isinstance(data, pa.Table):
        return data.to_reader()
    return data


def rechunk(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.RecordBatch]:
    """The reader's rows in batches of at most `rows` (empty batches dropped)."""
    for batch in reader:
        for start in range(0, batch.num_rows, rows):
            yield batch.slice(start, rows)


@dataclass(frozen=True)
class ValuePolicy:
    """How a driver wants values that Python's defaults do not fit."""

    decimal_as_text: bool = False
    """Decimals as their exact text (SQLite, which has no exact decimal)."""
    temporal_as_text: bool = False
    """Dates and timestamps as ISO text (``2026-01-02 03:04:05.000006``, ``...Z`` in UTC)."""
    naive_utc: bool = False
    """Zoned timestamps as their UTC wall time without a zone (MySQL, Synapse)."""
    bool_as_int: bool = False
    """Booleans as 0 and 1."""

    def arrow(self, arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """The column converted at the Arrow level (fast, exact)."""
        t = arr.type
        if pa.types.is_decimal(t) and self.decimal_as_text:
            return arr.cast(pa.string())
        if pa.types.is_timestamp(t):
            if self.temporal_as_text:
                return arr.cast(pa.string())
            if self.naive_utc and t.tz:
                return arr.cast(pa.timestamp("us"))
        if pa.types.is_date(t) and self.temporal_as_text:
            return arr.cast(pa.string())
        if pa.types.is_boolean(t) and self.bool_as_int:
            return arr.cast(pa.int8())
        return arr

    def rows(self, batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
        """The batch as a list of row tuples for ``executemany``."""
        columns = [self.arrow(batch.column(i)).to_pylist() for i in range(batch.num_columns)]
        return list(zip(*columns, strict=True))

    def param(self, value: Scalar) -> Any:
        """One `where` value as the driver wants it, matching how `rows` stores values."""
        if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
            return value
        if isinstance(value, bool):
            return int(value) if self.bool_as_int else value
        if isinstance(value, Decimal):
            return str(value) if self.decimal_as_text else value
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC)
                arrow_type = pa.timestamp("us", "UTC")
            else:
                arrow_type = pa.timestamp("us")
            return self.arrow(pa.array([value], arrow_type)).to_pylist()[0]
        if isinstance(value, date):
            return value.isoformat() if self.temporal_as_text else value
        raise TypeError(f"unsupported value {value!r}")


def write_csv(
    batches: Iterator[pa.RecordBatch],
    sink: IO[bytes],
    schema: pa.Schema,
    *,
    policy: ValuePolicy,
    null_string: str = "",
) -> int:
    """Write batches as headerless CSV for a bulk loader; returns the rows written.

    Text is always quoted (quotes doubled) and nulls are `null_string` unquoted, so an
    empty string, the text ``NULL`` and a null stay three different values.
    """
    converted = pa.schema(
        [pa.field(f.name, policy.arrow(pa.array([], f.type)).type) for f in schema]
    )
    options = pacsv.WriteOptions(include_header=False, null_string=null_string)
    rows = 0
    with pacsv.CSVWriter(sink, converted, write_options=options) as writer:
        for batch in batches:
            arrays = [policy.arrow(batch.column(i)) for i in range(batch.num_columns)]
            writer.write_batch(pa.record_batch(arrays, schema=converted))
            rows += batch.num_rows
    return rows


def exact_sum(values: Iterator[Any]) -> Decimal | None:
    """The exact sum of decimal-like values (text, ints, Decimals); None if all null."""
    total: Decimal | None = None
    for v in values:
        if v is None:
            continue
        total = EXACT.add(total if total is not None else Decimal(0), Decimal(v))
    return total
