"""Bronze → Silver → Gold for one batch, on any engine, with the ledger.

Tables are cleaned parents first, so foreign keys are checked against the parent's
Silver as it stands after this batch. Each table's Silver and quarantine rows for the
batch are replaced (never appended twice); Gold marts are recomputed from the current
Silver (the latest row per key over all batches). The run fails if any table's ledger
does not balance: ``bronze_in = silver_out + quarantined + duplicates_removed``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from udo.domain.ledger import Ledger, TableLedger
from udo.domain.manifest import BronzeManifest
from udo.domain.rules import RuleSet, TableRules, rules_from_manifest, rules_from_spec
from udo.domain.spec import DatasetSpec
from udo.errors import TerminalError
from udo.pipeline import delta
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.engines.base import (
    BATCH_ID,
    INGESTED_AT,
    RAW_ERROR,
    RAW_LINE,
    REASONS,
    SOURCE_FILE,
    SOURCE_ROW,
    Data,
    Engine,
    TableJob,
    silver_schema,
)
from udo.pipeline.raw import read_raw, stage_raw
from udo.ports.destination import Destination
from udo.ports.storage import StorageService

if TYPE_CHECKING:
    from udo.pipeline.load import LoadPlan

Progress = Callable[[str], None]


class LedgerImbalance(TerminalError):
    """Rows were lost or invented: the ledger of a table does not balance."""


@dataclass(frozen=True)
class Lake:
    """Where each layer's Delta tables live in the lake."""

    storage: StorageService

    def _uri(self, key: str) -> delta.DeltaUri:
        return delta.DeltaUri(self.storage.uri(key), self.storage.storage_options())

    def silver(self, dataset: str, table: str) -> delta.DeltaUri:
        """URI of a Silver table."""
        return self._uri(f"silver/{dataset}/{table}")

    def quarantine(self, dataset: str, table: str) -> delta.DeltaUri:
        """URI of a quarantine table."""
        return self._uri(f"quarantine/{dataset}/{table}")

    def gold(self, dataset: str, mart: str) -> delta.DeltaUri:
        """URI of a Gold mart."""
        return self._uri(f"gold/{dataset}/{mart}")


def rules_for(manifest: BronzeManifest) -> RuleSet:
    """Rules derived from the batch's spec, or from its inferred schema for ingests."""
    if manifest.spec is not None:
        return rules_from_spec(DatasetSpec.model_validate(manifest.spec), manifest.dataset)
    return rules_from_manifest(manifest)


def quarantine_schema(columns: list[str]) -> pa.Schema:
    """Quarantine keeps every original column as text, the reasons and the lineage."""
    fields = [pa.field(c, pa.string()) for c in columns]
    fields += [
        pa.field(REASONS, pa.list_(pa.string())),
        pa.field(RAW_ERROR, pa.string()),
        pa.field(RAW_LINE, pa.string()),
        pa.field(SOURCE_FILE, pa.string()),
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field(BATCH_ID, pa.string()),
        pa.field(INGESTED_AT, pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields)


def current_view(uri: str, key: list[str], columns: list[str] | None = None) -> pl.DataFrame:
    """The latest row per key over all batches of a Silver table.

    With `columns`, only those (plus the key and the ordering columns) are read.
    """
    wanted = None
    if columns is not None and delta.exists(uri):
        wanted = list(dict.fromkeys([*columns, *key, INGESTED_AT, BATCH_ID, SOURCE_ROW]))
    table = delta.read(uri, columns=wanted)
    if table.num_columns == 0:
        return pl.DataFrame()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.sort([INGESTED_AT, BATCH_ID, SOURCE_ROW])
    if key:
        frame = frame.unique(subset=key, keep="last", maintain_order=True)
    return frame


class Pipeline:
    """Cleans batches of the lake with one engine."""

    def __init__(
        self,
        storage: StorageService,
        bronze: BronzeStore,
        engine: Engine,
        work_dir: Path | None = None,
        *,
        destinations: Mapping[str, Destination] | None = None,
        load_plan: Callable[[RuleSet], LoadPlan] | None = None,
    ) -> None:
        self.storage = storage
        self.bronze = bronze
        self.engine = engine
        self.lake = Lake(storage)
        self.work_dir = work_dir
        self.destinations = dict(destinations or {})
        self.load_plan = load_plan

    def _as_data(self, frame: pl.DataFrame, folder: Path, name: str) -> Data:
        table = frame.to_arrow()
        if not self.engine.reads_files:
            return table
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.parquet"
        frame.write_parquet(path)
        return [path]

    def clean(
        self,
        dataset: str,
        batch_id: str,
        *,
        rules: RuleSet | None = None,
        ingested_at: datetime | None = None,
        progress: Progress | None = None,
    ) -> Ledger:
        """Run the whole medallion for one batch and return its ledger."""
        manifest = self.bronze.manifest(dataset, batch_id)
        rules = rules or rules_for(manifest)
        ingested_at = ingested_at or datetime.now(UTC)
        ledger = Ledger(
            dataset=dataset,
            batch_id=batch_id,
            engine=self.engine.name,
            rules_version=rules.version_hash(),
        )
        tmp = tempfile.TemporaryDirectory(prefix="udo-clean-", dir=self.work_dir)
        with tmp as work:
            work_path = Path(work)
            started = time.perf_counter()
            for table, table_rules in rules.tables.items():
                if table not in manifest.tables:
                    continue
                if progress:
                    progress(f"silver {table}")
                ledger.tables[table] = self._clean_table(
                    manifest, table, table_rules, rules, ingested_at, work_path / table
                )
            ledger.stage_seconds["silver"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            ledger.marts = self._gold(rules, dataset, work_path / "_gold", progress)
            ledger.stage_seconds["gold"] = round(time.perf_counter() - started, 3)
        from udo.pipeline.quality import quality_report

        ledger.quality = quality_report(
            self.bronze,
            manifest,
            {t: self.lake.silver(dataset, t) for t in ledger.tables},
            {t: self.lake.quarantine(dataset, t) for t in ledger.tables},
        )
        bad = [t for t in ledger.tables.values() if not t.balanced]
        if bad:
            t = bad[0]
            raise LedgerImbalance(
                f"ledger of {t.table} does not balance: bronze_in {t.bronze_in} != "
                f"silver_out {t.silver_out} + quarantined {t.quarantined} "
                f"+ duplicates_removed {t.duplicates_removed}"
            )
        if self.destinations:
            from udo.pipeline.load import LoadPlan, load_batch

            if progress:
                progress("load")
            started = time.perf_counter()
            plan = self.load_plan(rules) if self.load_plan else LoadPlan.default(rules)
            # a ReconciliationError (terminal) fails the run
            ledger.load = load_batch(
                self.lake, rules, dataset, batch_id, self.destinations, plan, progress=progress
            )
            ledger.stage_seconds["load"] = round(time.perf_counter() - started, 3)
        return ledger

    def _clean_table(
        self,
        manifest: BronzeManifest,
        table: str,
        table_rules: TableRules,
        rules: RuleSet,
        ingested_at: datetime,
        work: Path,
    ) -> TableLedger:
        tm = manifest.tables[table]
        key = self.bronze.file_key(manifest.dataset, manifest.batch_id, tm.file)
        raw_table = read_raw(self.storage, key, tm)
        raw: Data = raw_table
        if self.engine.reads_files:
            raw = stage_raw(self.storage, key, tm, work / "raw")
        parent_keys: dict[str, Data] = {}
        for fk in table_rules.foreign_keys:
            parent_rules = rules.tables[fk.parent]
            view = current_view(
                self.lake.silver(manifest.dataset, fk.parent),
                parent_rules.dedupe.key if parent_rules.dedupe else [],
                columns=[fk.parent_column],  # only the key: no need to read the parent whole
            )
            keys = (
                view.select(fk.parent_column)
                if fk.parent_column in view.columns
                else pl.DataFrame({fk.parent_column: []})
            )
            parent_keys[fk.id] = self._as_data(keys, work / "parents", fk.id)
        job = TableJob(
            table=table,
            rules=table_rules,
            raw=raw,
            source_file=tm.file,
            batch_id=manifest.batch_id,
            ingested_at=ingested_at,
            parent_keys=parent_keys,
        )
        result = self.engine.clean(job)
        schema = silver_schema(table_rules)
        delta.replace_batch(
            self.lake.silver(manifest.dataset, table), result.silver, schema, manifest.batch_id
        )
        rejects = (
            result.rejects
            if isinstance(result.rejects, pa.Table)
            else delta_free_read(result.rejects)
        )
        quarantine = self._quarantine_rows(
            raw_table, rejects, tm.file, manifest.batch_id, ingested_at
        )
        delta.replace_batch(
            self.lake.quarantine(manifest.dataset, table),
            quarantine,
            quarantine.schema,
            manifest.batch_id,
        )
        c = result.counts
        actions = {chk.id: chk.action for col in table_rules.columns for chk in col.checks}
        actions.update({col.type_rule_id(table): col.type_action for col in table_rules.columns})
        actions.update({fk.id: fk.action for fk in table_rules.foreign_keys})
        actions[f"{table}._row.malformed"] = "quarantine"
        return TableLedger(
            table=table,
            bronze_in=c.bronze_in,
            silver_out=c.silver_out,
            quarantined=c.quarantined,
            duplicates_removed=c.duplicates_removed,
            violations={k: v for k, v in sorted(c.violations.items()) if v},
            actions=actions,
            missing_columns=c.missing_columns,
            extra_columns=c.extra_columns,
        )

    def _quarantine_rows(
        self,
        raw: pa.Table,
        rejects: pa.Table,
        source_file: str,
        batch_id: str,
        ingested_at: datetime,
    ) -> pa.Table:
        """The original values of rejected rows, as text, with reasons and lineage."""
        frame = pl.from_arrow(raw)
        assert isinstance(frame, pl.DataFrame)
        originals = [c for c in frame.columns if c not in (SOURCE_ROW, RAW_ERROR, RAW_LINE)]
        picked = pl.from_arrow(rejects)
        assert isinstance(picked, pl.DataFrame)
        rows = frame.join(picked, on=SOURCE_ROW, how="inner").sort(SOURCE_ROW)
        rows = rows.select(
            *[_as_text(pl.col(c)).alias(c) for c in originals],
            pl.col(REASONS),
            pl.col(RAW_ERROR),
            pl.col(RAW_LINE),
            pl.lit(source_file).alias(SOURCE_FILE),
            pl.col(SOURCE_ROW),
            pl.lit(batch_id).alias(BATCH_ID),
            pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias(INGESTED_AT),
        )
        schema = quarantine_schema(originals)
        return rows.to_arrow().cast(schema)

    def _gold(
        self, rules: RuleSet, dataset: str, work: Path, progress: Progress | None
    ) -> dict[str, int]:
        if not rules.marts:
            return {}
        needed = {m.source for m in rules.marts} | {j.table for m in rules.marts for j in m.joins}
        silver: dict[str, Data] = {}
        schemas: dict[str, pa.Schema] = {}
        for table in needed:
            if table not in rules.tables:
                continue
            tr = rules.tables[table]
            view = current_view(
                self.lake.silver(dataset, table), tr.dedupe.key if tr.dedupe else []
            )
            if view.width == 0:
                view = pl.from_arrow(silver_schema(tr).empty_table())  # type: ignore[assignment]
            silver[table] = self._as_data(view, work, table)
            schemas[table] = silver_schema(tr)
        out: dict[str, int] = {}
        for mart in rules.marts:
            if progress:
                progress(f"gold {mart.name}")
            from udo.pipeline.marts import mart_schema

            schema = mart_schema(mart, schemas)
            data = self.engine.mart(mart, silver, schemas)
            delta.overwrite(self.lake.gold(dataset, mart.name), data, schema)
            out[mart.name] = data.num_rows if isinstance(data, pa.Table) else _rows(data)
        return out


def _as_text(col: pl.Expr) -> pl.Expr:
    return col.cast(pl.String)


def _rows(paths: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def delta_free_read(paths: list[Path]) -> pa.Table:
    """Parquet files (an engine's output) as one Arrow table."""
    import pyarrow.dataset as ds

    if not paths:
        from udo.pipeline.engines.base import REJECTS_SCHEMA

        return REJECTS_SCHEMA.empty_table()
    return ds.dataset([str(p) for p in paths], format="parquet").to_table()
