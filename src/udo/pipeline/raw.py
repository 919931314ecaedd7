"""Reading Bronze: every landed file becomes one uniform "raw" Arrow shape.

Raw columns are the landed columns (typed for Parquet, text for CSV and JSON lines),
plus ``_source_row`` (0-based data row in the file) and ``_raw_error`` (why a row could
not be read as the others: ``invalid_utf8``, ``ragged_row``, ``invalid_json``,
``not_an_object``), plus ``_raw_line`` (the row as received, for those rows only).
Every engine starts from this shape, so they agree on what Bronze said; rows that could
not be read are never dropped: they are quarantined with their line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from udo.domain.manifest import TableManifest
from udo.errors import BatchError
from udo.ports.storage import StorageService

SOURCE_ROW = "_source_row"
RAW_ERROR = "_raw_error"
RAW_LINE = "_raw_line"
META_COLUMNS = (SOURCE_ROW, RAW_ERROR, RAW_LINE)
_EXCERPT = 2000


def read_raw(storage: StorageService, key: str, table: TableManifest) -> pa.Table:
    """The whole Bronze file as a raw Arrow table (the fast path: data fits in memory)."""
    tables = [pa.Table.from_batches([b]) for b in iter_raw(storage, key, table)]
    if not tables:
        return _empty(table)
    # JSON lines may add keys batch after batch: missing columns become nulls
    return pa.concat_tables(tables, promote_options="default").combine_chunks()


def iter_raw(
    storage: StorageService, key: str, table: TableManifest, batch_rows: int = 500_000
) -> Iterator[pa.RecordBatch]:
    """The Bronze file as raw record batches, in bounded memory."""
    if table.format == "parquet":
        yield from _parquet(storage, key, batch_rows)
    elif table.format == "csv":
        yield from _csv(storage, key, table, batch_rows)
    elif table.format == "jsonl":
        yield from _jsonl(storage, key, batch_rows)
    else:  # pragma: no cover - the manifest model admits only these
        raise BatchError(f"unknown Bronze format {table.format!r}")


def stage_raw(storage: StorageService, key: str, table: TableManifest, folder: Path) -> list[Path]:
    """Write the raw shape as Parquet files under `folder` (for engines that read files)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    # one file per batch: JSON lines batches may differ in columns (read with merged schema)
    for i, batch in enumerate(iter_raw(storage, key, table)):
        path = folder / f"raw-{i:05d}.parquet"
        pq.write_table(pa.Table.from_batches([batch]), path, compression="zstd")
        paths.append(path)
    if not paths:
        path = folder / "raw-00000.parquet"
        pq.write_table(_empty(table), path)
        paths.append(path)
    return paths


def _with_meta(
    frame: pl.DataFrame,
    start: int,
    errors: list[str | None] | None = None,
    lines: list[str | None] | None = None,
) -> pa.RecordBatch:
    n = len(frame)
    frame = frame.with_columns(
        pl.Series(SOURCE_ROW, range(start, start + n), dtype=pl.Int64),
        pl.Series(RAW_ERROR, errors if errors is not None else [None] * n, dtype=pl.String),
        pl.Series(RAW_LINE, lines if lines is not None else [None] * n, dtype=pl.String),
    )
    table = _large_to_small(frame.to_arrow()).combine_chunks()
    batches = table.to_batches()
    if batches:
        return batches[0]
    return pa.RecordBatch.from_arrays(
        [pa.array([], type=f.type) for f in table.schema], schema=table.schema
    )


def _large_to_small(table: pa.Table) -> pa.Table:
    """polars exports large/view strings; raw uses plain strings everywhere."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def _empty(table: TableManifest) -> pa.Table:
    fields = [pa.field(c.name, pa.string()) for c in table.columns]
    fields += [
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field(RAW_ERROR, pa.string()),
        pa.field(RAW_LINE, pa.string()),
    ]
    return pa.schema(fields).empty_table()


# ------------------------------------------------------------------ parquet
def _parquet(storage: StorageService, key: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with storage.open_read(key) as fh:
        try:
            pf = pq.ParquetFile(fh)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BatchError(f"cannot read Bronze Parquet {key}: {exc}") from exc
        start = 0
        for batch in pf.iter_batches(batch_size=batch_rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield _with_meta(frame, start)
            start += batch.num_rows
        if start == 0:
            yield _with_meta(pl.from_arrow(pf.schema_arrow.empty_table()), 0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- csv
def _csv(
    storage: StorageService, key: str, table: TableManifest, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    clean = table.malformed is None or table.malformed.count == 0
    if clean:
        data = storage.read_bytes(key)
        if not data.strip():
            yield _with_meta(pl.DataFrame(), 0)
            return
        try:
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False, encoding="utf8")
        except pl.exceptions.PolarsError:
            clean = False
        else:
            for start in range(0, max(len(frame), 1), batch_rows):
                yield _with_meta(frame.slice(start, batch_rows), start)
            return
    yield from _csv_careful(storage, key, batch_rows)


def _csv_careful(storage: StorageService, key: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Row by row: keeps ragged rows and rows with invalid UTF-8, flagged, with their text."""
    with storage.open_read(key) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            yield _with_meta(pl.DataFrame(), 0)
            return
        header = [_fix(h) for h in header]
        width = len(header)
        rows: list[list[str | None]] = []
        errors: list[str | None] = []
        lines: list[str | None] = []
        start = 0
        for record in reader:
            error = None
            if any(_has_surrogates(v) for v in record):
                error = "invalid_utf8"
            if len(record) != width:
                error = error or "ragged_row"
            values: list[str | None] = [_fix(v) for v in record[:width]]
            values += [None] * (width - len(values))
            rows.append(values)
            errors.append(error)
            lines.append(_excerpt(",".join(_fix(v) for v in record)) if error else None)
            if len(rows) >= batch_rows:
                yield _batch(header, rows, errors, lines, start)
                start += len(rows)
                rows, errors, lines = [], [], []
        if rows or start == 0:
            yield _batch(header, rows, errors, lines, start)


def _batch(
    header: list[str],
    rows: list[list[str | None]],
    errors: list[str | None],
    lines: list[str | None],
    start: int,
) -> pa.RecordBatch:
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String))
    return _with_meta(frame, start, errors, lines)


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _fix(value: str) -> str:
    """Invalid UTF-8 bytes become U+FFFD, as every engine's reader does."""
    return (
        value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if _has_surrogates(value)
        else value
    )


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


# -------------------------------------------------------------------- jsonl
def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _jsonl(storage: StorageService, key: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with storage.open_read(key) as fh:
        names: dict[str, None] = {}
        rows: list[dict[str, Any]] = []
        errors: list[str | None] = []
        lines: list[str | None] = []
        start = 0
        for raw in fh:
            if not raw.strip():
                continue  # blank lines are not records
            error = None
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("utf-8", "replace")
                error = "invalid_utf8"
            record: dict[str, Any] = {}
            if error is None:
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    error = "invalid_json"
                else:
                    if isinstance(value, dict):
                        record = value
                    else:
                        error = "not_an_object"
            for k in record:
                names.setdefault(str(k), None)
            rows.append(record)
            errors.append(error)
            lines.append(_excerpt(line.rstrip("\r\n")) if error else None)
            if len(rows) >= batch_rows:
                yield _json_batch(list(names), rows, errors, lines, start)
                start += len(rows)
                rows, errors, lines = [], [], []
        if rows or start == 0:
            yield _json_batch(list(names), rows, errors, lines, start)


def _json_batch(
    names: list[str],
    rows: list[dict[str, Any]],
    errors: list[str | None],
    lines: list[str | None],
    start: int,
) -> pa.RecordBatch:
    columns = {n: [_text(r.get(n)) for r in rows] for n in names}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String))
    return _with_meta(frame, start, errors, lines)
