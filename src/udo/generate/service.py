"""Generate a dataset into Bronze: spec → chunks → dirt → writers → one landed batch."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime

import pyarrow as pa

from udo.domain.manifest import BronzeManifest, ColumnSchema, DefectSummary, TableManifest
from udo.domain.spec import DatasetSpec
from udo.generate.dirt import PROFILES, TRUTH_SCHEMA, DirtInjector, DirtProfile
from udo.generate.engine import DatasetGenerator
from udo.generate.writers import WRITERS, ParquetTableWriter, TableWriter, arrow_type
from udo.pipeline.bronze import BronzeStore, check_name, new_batch_id

Progress = Callable[[int, int], None]
"""Called with (root rows done, root rows in all)."""


def generate_batch(
    bronze: BronzeStore,
    spec: DatasetSpec,
    *,
    dataset: str | None = None,
    batch_id: str | None = None,
    fmt: str = "parquet",
    dirt: DirtProfile | None = None,
    chunk_rows: int = 65_536,
    row_group_rows: int = 131_072,
    progress: Progress | None = None,
) -> BronzeManifest:
    """Generate `spec` as one Bronze batch and return its manifest.

    Atomic: if anything fails, no part of the batch stays in the lake. Deterministic:
    the same spec, seed, dirt and format give byte-identical table files whatever
    `chunk_rows` is.
    """
    dataset = check_name("dataset", dataset or spec.name.replace(" ", "_"))
    batch_id = check_name("batch", batch_id or new_batch_id())
    dirt = dirt or PROFILES["none"]
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}")
    gen = DatasetGenerator(spec, chunk_rows)
    tables = list(spec.tables)
    injectors = {t: DirtInjector(spec, gen.compiler, t, dirt) for t in tables}
    total = sum(spec.tables[t].rows or 0 for t in gen.roots())
    ext = WRITERS[fmt].extension
    with bronze.land(dataset, batch_id) as draft:
        columns: dict[str, list[ColumnSchema]] = {}
        records: dict[str, int] = {}
        defect_counts: dict[str, dict[str, int]] = {t: {} for t in tables}
        errors: list[BaseException] = []
        with ExitStack() as stack:
            writers: dict[str, TableWriter] = {}
            truths: dict[str, ParquetTableWriter] = {}
            for t in tables:
                inj = injectors[t]
                fields = [(n, f) for n, f in spec.tables[t].fields.items() if f.emit]
                columns[t] = [
                    ColumnSchema(
                        name=n,
                        type=inj.landed_type(n),
                        nullable=f.null_rate > 0 or bool(inj.kinds),
                    )
                    for n, f in fields
                ]
                schema = pa.schema(
                    [pa.field(c.name, arrow_type(c.type), nullable=True) for c in columns[t]]
                )
                sink = stack.enter_context(draft.open_file(f"{t}.{ext}"))
                if fmt == "parquet":
                    writers[t] = ParquetTableWriter(sink, schema, row_group_rows)  # type: ignore[arg-type]
                else:
                    writers[t] = WRITERS[fmt](sink, schema)  # type: ignore[arg-type]
                stack.callback(_abandon_on_error, writers[t], errors)
                if inj.kinds:
                    truth_schema = pa.schema(
                        [
                            pa.field(n, pa.int64() if d.is_integer() else pa.string())
                            for n, d in TRUTH_SCHEMA.items()
                        ]
                    )
                    tsink = stack.enter_context(draft.open_file(f"_defects/{t}.parquet"))
                    truths[t] = ParquetTableWriter(tsink, truth_schema, row_group_rows)  # type: ignore[arg-type]
                    stack.callback(_abandon_on_error, truths[t], errors)
            try:
                _write_all(gen, injectors, writers, truths, defect_counts, progress, total)
                for t in tables:
                    writers[t].close()
                    records[t] = writers[t].records
                    if t in truths:
                        truths[t].close()
            except BaseException as exc:
                errors.append(exc)  # the writers are abandoned as the stack unwinds
                raise
        manifest_tables = {}
        for t in tables:
            size, sha = draft.file_stats(f"{t}.{ext}")
            defects = None
            if t in truths:
                defects = DefectSummary(
                    counts=dict(sorted(defect_counts[t].items())), file=f"_defects/{t}.parquet"
                )
            manifest_tables[t] = TableManifest(
                file=f"{t}.{ext}",
                format=fmt,
                records=records[t],
                bytes=size,
                sha256=sha,
                columns=columns[t],
                defects=defects,
                encoding="utf-8" if fmt != "parquet" else None,
            )
        manifest = BronzeManifest(
            dataset=dataset,
            batch_id=batch_id,
            origin="generated",
            created_at=datetime.now(UTC),
            tables=manifest_tables,
            spec_name=spec.name,
            spec_hash=spec.spec_hash(),
            seed=spec.seed,
            dirt=dirt.rates() if not dirt.is_clean else None,
            spec=spec.model_dump(mode="json", exclude_none=True),
        )
        draft.commit(manifest)
    return manifest


def _write_all(
    gen: DatasetGenerator,
    injectors: dict[str, DirtInjector],
    writers: dict[str, TableWriter],
    truths: dict[str, ParquetTableWriter],
    defect_counts: dict[str, dict[str, int]],
    progress: Progress | None,
    total: int,
) -> None:
    """Stream every chunk through its table's dirt injector to its writers."""
    done = 0
    for chunk in gen.run():
        dirty = injectors[chunk.table].apply(chunk.start, chunk.frame)
        writers[chunk.table].write(dirty.frame)
        if chunk.table in truths and len(dirty.truth):
            truths[chunk.table].write(dirty.truth)
            counts = defect_counts[chunk.table]
            for kind, n in dirty.truth["defect"].value_counts().iter_rows():
                counts[kind] = counts.get(kind, 0) + n
        if gen.spec.tables[chunk.table].per_parent is None:
            done += len(chunk.frame)
            if progress:
                progress(done, total)


def _abandon_on_error(writer: TableWriter, errors: list[BaseException]) -> None:
    if errors:
        writer.abandon()
