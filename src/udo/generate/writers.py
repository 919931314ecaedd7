"""Table writers for Bronze: Parquet, CSV and JSON lines, streamed chunk by chunk.

Output bytes never depend on the chunk size: Parquet row groups have a fixed size
(chunks are re-cut to it), and CSV / JSON lines are written row by row.
"""

from __future__ import annotations

import contextlib
import io
from abc import ABC, abstractmethod
from typing import BinaryIO

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type a udo type is landed as."""
    if type_name.startswith("decimal("):
        p, s = (int(x) for x in type_name[8:-1].split(","))
        return pa.decimal128(p, s)
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "string": pa.string(),
        "category": pa.string(),
        "uuid": pa.string(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }[type_name]


class TableWriter(ABC):
    """Writes one table's chunks to a binary sink."""

    extension: str = ""

    def __init__(self, sink: BinaryIO, schema: pa.Schema) -> None:
        self.sink = sink
        self.schema = schema
        self.records = 0

    @abstractmethod
    def write(self, frame: pl.DataFrame) -> None:
        """Append rows."""

    @abstractmethod
    def close(self) -> None:
        """Flush everything; the sink stays open (its owner commits it)."""

    def abandon(self) -> None:  # noqa: B027 - text writers hold nothing to release
        """Stop writing after a failure; nothing needs to be flushed."""


class ParquetTableWriter(TableWriter):
    """zstd-compressed Parquet with fixed-size row groups."""

    extension = "parquet"

    def __init__(self, sink: BinaryIO, schema: pa.Schema, row_group_rows: int = 131_072) -> None:
        super().__init__(sink, schema)
        self.row_group_rows = row_group_rows
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writer = pq.ParquetWriter(
            pa.PythonFile(sink, mode="w"), schema, compression="zstd", write_statistics=True
        )

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow().cast(self.schema)
        self.records += table.num_rows
        self.pending.append(table)
        self.pending_rows += table.num_rows
        while self.pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, rows: int) -> None:
        merged = pa.concat_tables(self.pending)
        self.writer.write_table(merged.slice(0, rows), row_group_size=rows)
        rest = merged.slice(rows)
        self.pending = [rest] if rest.num_rows else []
        self.pending_rows = rest.num_rows

    def close(self) -> None:
        if self.pending_rows:
            self._flush(self.pending_rows)
        self.writer.close()

    def abandon(self) -> None:
        """Close without flushing (the batch failed; its files are discarded)."""
        self.pending = []
        self.pending_rows = 0
        if self.writer.is_open:
            with contextlib.suppress(OSError, ValueError):
                self.writer.close()


class CsvTableWriter(TableWriter):
    """RFC 4180 CSV with a header row, UTF-8, '\\n' line ends."""

    extension = "csv"

    def __init__(self, sink: BinaryIO, schema: pa.Schema) -> None:
        super().__init__(sink, schema)
        header = pl.DataFrame(schema=dict.fromkeys(schema.names, pl.String))
        buf = io.BytesIO()
        header.write_csv(buf, include_header=True)
        sink.write(buf.getvalue())

    def write(self, frame: pl.DataFrame) -> None:
        buf = io.BytesIO()
        frame.write_csv(buf, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f")
        self.sink.write(buf.getvalue())
        self.records += len(frame)

    def close(self) -> None:
        self.sink.flush()


class JsonLinesTableWriter(TableWriter):
    """One JSON object per line."""

    extension = "jsonl"

    def write(self, frame: pl.DataFrame) -> None:
        buf = io.BytesIO()
        decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
        # JSON has no decimal type: decimals become numbers (shortest round-trip text).
        out = (
            frame.with_columns(pl.col(c).cast(pl.Float64) for c in decimals) if decimals else frame
        )
        out.write_ndjson(buf)
        self.sink.write(buf.getvalue())
        self.records += len(frame)

    def close(self) -> None:
        self.sink.flush()


WRITERS: dict[str, type[TableWriter]] = {
    "parquet": ParquetTableWriter,
    "csv": CsvTableWriter,
    "jsonl": JsonLinesTableWriter,
}
