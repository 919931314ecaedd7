"""Delta Lake tables (delta-rs): Silver, quarantine and Gold.

Engines hand over Arrow tables (fast path) or Parquet files (heavy path); both are
committed here by streaming record batches, so memory stays bounded. A batch's rows are
replaced, never appended twice: `replace_batch` overwrites with a predicate on
``_batch_id`` (Delta's replaceWhere).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from udo.pipeline.engines.base import BATCH_ID, Data


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
        DeltaTable(uri)
    except TableNotFoundError:
        return False
    return True


def replace_batch(uri: str, data: Data, schema: pa.Schema, batch_id: str) -> None:
    """Replace every row of `batch_id` in the table at `uri` with `data` (creating it)."""
    reader = _reader(data, schema)
    if not exists(uri):
        write_deltalake(uri, reader, mode="append", schema_mode="merge")
        return
    safe = batch_id.replace("'", "''")
    write_deltalake(
        uri, reader, mode="overwrite", predicate=f"{BATCH_ID} = '{safe}'", schema_mode="merge"
    )


def overwrite(uri: str, data: Data, schema: pa.Schema) -> None:
    """Replace the whole table (Gold marts are recomputed from Silver)."""
    write_deltalake(uri, _reader(data, schema), mode="overwrite", schema_mode="overwrite")


def read(uri: str, columns: list[str] | None = None) -> pa.Table:
    """The current version as Arrow (empty if the table does not exist)."""
    if not exists(uri):
        return pa.table({})
    return DeltaTable(uri).to_pyarrow_table(columns=columns)


def files(uri: str) -> list[Path]:
    """Parquet files of the current version (for engines that read files)."""
    if not exists(uri):
        return []
    return [Path(u.removeprefix("file://")) for u in DeltaTable(uri).file_uris()]
