"""Delta Lake tables (delta-rs): Silver, quarantine and Gold.

Engines hand over Arrow tables (fast path) or Parquet files (heavy path); both are
committed here by streaming record batches, so memory stays bounded. A batch's rows are
replaced, never appended twice: `replace_batch` overwrites with a predicate on
``_batch_id`` (Delta's replaceWhere).

A table is named by its URI. On a cloud lake the URI alone cannot open it: `DeltaUri`
is that URI carrying the store's delta-rs ``storage_options`` (account, endpoint,
credential), made by `udo.pipeline.clean.Lake`, so the options travel with the name
through every layer without being logged (its repr shows the URI only).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from udo.pipeline.engines.base import BATCH_ID, Data


class DeltaUri(str):
    """A table URI with the delta-rs storage options needed to open it."""

    options: dict[str, str]

    def __new__(cls, uri: str, options: Mapping[str, str] | None = None) -> DeltaUri:
        """`uri` with `options` (empty for a local path)."""
        self = super().__new__(cls, uri)
        self.options = dict(options or {})
        return self

    def __repr__(self) -> str:
        return f"DeltaUri({str.__repr__(self)})"  # never the options: they hold secrets


def _options(uri: str) -> dict[str, str] | None:
    return (uri.options or None) if isinstance(uri, DeltaUri) else None


def _table(uri: str) -> DeltaTable:
    return DeltaTable(str(uri), storage_options=_options(uri))


def _reader(data: Data, schema: pa.Schema) -> pa.RecordBatchReader:
    if isinstance(data, pa.Table):
        return data.cast(schema).to_reader()
    paths = [str(p) for p in data]

    def batches() -> Iterator[pa.RecordBatch]:
        if not paths:
            return
        dataset = ds.dataset(paths, format="parquet")
        for batch in dataset.to_batches(columns=schema.names, batch_size=262_144):
            if batch.num_rows:
                yield batch.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def exists(uri: str) -> bool:
    """Whether a Delta table exists at `uri`."""
    try:
        _table(uri)
    except TableNotFoundError:
        return False
    return True


def replace_batch(uri: str, data: Data, schema: pa.Schema, batch_id: str) -> None:
    """Replace every row of `batch_id` in the table at `uri` with `data` (creating it)."""
    reader = _reader(data, schema)
    if not exists(uri):
        write_deltalake(
            str(uri), reader, mode="append", schema_mode="merge", storage_options=_options(uri)
        )
        return
    safe = batch_id.replace("'", "''")
    write_deltalake(
        str(uri),
        reader,
        mode="overwrite",
        predicate=f"{BATCH_ID} = '{safe}'",
        schema_mode="merge",
        storage_options=_options(uri),
    )


def overwrite(uri: str, data: Data, schema: pa.Schema) -> None:
    """Replace the whole table (Gold marts are recomputed from Silver)."""
    write_deltalake(
        str(uri),
        _reader(data, schema),
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=_options(uri),
    )


def read(uri: str, columns: list[str] | None = None) -> pa.Table:
    """The current version as Arrow (empty if the table does not exist)."""
    if not exists(uri):
        return pa.table({})
    return _table(uri).to_pyarrow_table(columns=columns)


def files(uri: str) -> list[Path]:
    """Parquet files of the current version (for engines that read files)."""
    if not exists(uri):
        return []
    return [Path(u.removeprefix("file://")) for u in _table(uri).file_uris()]


def dataset(uri: str) -> ds.Dataset:
    """The current version as a pyarrow dataset (for streamed, filtered scans)."""
    return _table(uri).to_pyarrow_dataset()
