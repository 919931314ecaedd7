"""Pages of rows from each layer of the lake, as JSON-safe values.

Bronze is read as the engines read it (`udo.pipeline.raw.iter_raw`: the landed columns
plus ``_source_row``, ``_raw_error`` and ``_raw_line``), streamed in bounded memory, in
file order. Silver, quarantine and Gold are Delta tables read with
`udo.pipeline.delta.read` and sorted before paging, so pages are stable: Silver and
quarantine by ``_batch_id`` then ``_source_row``, a Gold mart by its group-by columns.
Only tables the dataset's manifests (or their rules' marts) name can be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from udo.api.errors import ApiError
from udo.api.values import json_safe
from udo.bootstrap import App
from udo.domain.manifest import BronzeManifest
from udo.pipeline import delta
from udo.pipeline.clean import Lake, rules_for
from udo.pipeline.engines.base import BATCH_ID, SOURCE_ROW
from udo.pipeline.raw import iter_raw


@dataclass(frozen=True)
class Page:
    """One page of a table."""

    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    def to_json(self) -> dict[str, Any]:
        """The response body."""
        return {
            "columns": self.columns,
            "rows": self.rows,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
        }


def columns_of(schema: pa.Schema) -> list[dict[str, str]]:
    """Column names with their Arrow type names."""
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of an Arrow table as JSON-safe dicts."""
    return [{k: json_safe(v) for k, v in row.items()} for row in table.to_pylist()]


class LayerReader:
    """Reads pages of a dataset's tables in one layer."""

    def __init__(self, udo: App) -> None:
        self.udo = udo
        self.lake = Lake(udo.storage)

    def _manifests(self, dataset: str) -> list[BronzeManifest]:
        batches = self.udo.bronze.batches(dataset)
        if not batches:
            raise ApiError(404, "not_found", f"no dataset {dataset!r} in the lake")
        return [self.udo.bronze.manifest(dataset, b) for b in batches]

    def page(
        self,
        dataset: str,
        layer: str,
        table: str,
        batch_id: str | None,
        offset: int,
        limit: int,
    ) -> Page:
        """A page of `table` in `layer` (404 if the dataset, batch or table is unknown)."""
        manifests = self._manifests(dataset)
        if batch_id is not None and batch_id not in {m.batch_id for m in manifests}:
            raise ApiError(404, "not_found", f"no batch {dataset}/{batch_id} in the lake")
        if layer == "bronze":
            manifest = next(
                (m for m in manifests if m.batch_id == batch_id), manifests[-1]
            )  # newest when no batch is given
            return self._bronze(manifest, table, offset, limit)
        if layer == "gold":
            return self._gold(manifests, dataset, table, offset, limit)
        known = {t for m in manifests for t in m.tables}
        if table not in known:
            raise ApiError(404, "not_found", f"dataset {dataset!r} has no table {table!r}")
        if layer == "silver":
            uri = self.lake.silver(dataset, table)
        else:
            uri = self.lake.quarantine(dataset, table)
        data = delta.read(uri)
        if batch_id is not None and BATCH_ID in data.column_names:
            data = data.filter(pc.equal(data[BATCH_ID], batch_id))
        keys = [c for c in (BATCH_ID, SOURCE_ROW) if c in data.column_names]
        return _sorted_page(data, keys, offset, limit)

    def _bronze(self, manifest: BronzeManifest, table: str, offset: int, limit: int) -> Page:
        tm = manifest.tables.get(table)
        if tm is None:
            raise ApiError(
                404,
                "not_found",
                f"batch {manifest.dataset}/{manifest.batch_id} has no table {table!r}",
            )
        key = self.udo.bronze.file_key(manifest.dataset, manifest.batch_id, tm.file)
        total = 0
        picked: list[pa.Table] = []
        schema: pa.Schema | None = None
        end = offset + limit
        for batch in iter_raw(self.udo.storage, key, tm, batch_rows=65_536):
            schema = schema or batch.schema
            start, stop = max(offset - total, 0), min(end - total, batch.num_rows)
            if start < stop:
                picked.append(pa.Table.from_batches([batch.slice(start, stop - start)]))
            total += batch.num_rows
        if picked:
            data = pa.concat_tables(picked, promote_options="default")
            return Page(columns_of(data.schema), rows_of(data), total, offset, limit)
        columns = columns_of(schema) if schema is not None else []
        return Page(columns, [], total, offset, limit)

    def _gold(
        self, manifests: list[BronzeManifest], dataset: str, mart: str, offset: int, limit: int
    ) -> Page:
        keys: list[str] | None = None
        for manifest in reversed(manifests):  # the newest definition of the mart wins
            for spec in rules_for(manifest).marts:
                if spec.name == mart:
                    keys = [k.output for k in spec.group_by]
                    break
            if keys is not None:
                break
        if keys is None:
            raise ApiError(404, "not_found", f"dataset {dataset!r} has no Gold mart {mart!r}")
        data = delta.read(self.lake.gold(dataset, mart))
        return _sorted_page(data, [k for k in keys if k in data.column_names], offset, limit)


def _sorted_page(data: pa.Table, keys: list[str], offset: int, limit: int) -> Page:
    total = data.num_rows
    if keys and total:
        data = data.sort_by([(k, "ascending") for k in keys])
    chunk = data.slice(offset, limit) if offset < total else data.slice(0, 0)
    return Page(columns_of(data.schema), rows_of(chunk), total, offset, limit)
