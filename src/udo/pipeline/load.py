"""Load a cleaned batch into its destinations, then prove it arrived (reconciliation).

What goes where is a `LoadPlan`. The default for a RuleSet (`LoadPlan.default`):

- warehouse: every Gold mart (``gold_<dataset>_<mart>``, replaced whole, as Gold is
  recomputed each run) and the Silver fact tables, i.e. tables with foreign keys
  (``silver_<dataset>_<table>``, this batch's rows replaced by ``_batch_id``);
- operational DB: every Silver table's current state (``<dataset>_<table>``): the latest
  row per key over all batches, upserted by key (replaced whole when a table has no key).

Each table is loaded in its own transaction, so a failure leaves earlier tables loaded;
every load is idempotent, so running the batch again repairs it. Then each table is
reconciled against the lake: row counts, and exact sums of every decimal column (and of
every integer measure of a mart). A mismatch raises `ReconciliationError`, which fails
the run. The operational DB is only ever upserted, so a key that left Silver (a batch
re-cleaned with stricter rules) stays there and fails the count: delete it, or reload.
"""

from __future__ import annotations

import decimal
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field, ValidationError, model_validator

from udo.domain.ledger import Layer, LoadedTable, LoadMode, LoadReport, ReconciliationCheck
from udo.domain.rules import RuleSet
from udo.errors import ConfigError, TerminalError
from udo.pipeline import delta
from udo.pipeline.engines.base import BATCH_ID, silver_schema
from udo.ports.destination import Destination, Scalar

WAREHOUSE = "warehouse"
OPERATIONAL = "operational"

_EXACT = decimal.Context(prec=200)


class ReconciliationError(TerminalError):
    """A destination does not hold what the lake holds: the run fails."""

    def __init__(self, report: LoadReport) -> None:
        self.report = report
        bad = report.mismatches()
        lines = [
            f"  {c.destination}.{c.target} {c.check}: lake {c.expected}, destination {c.actual}"
            for c in bad[:10]
        ]
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        super().__init__(
            f"reconciliation of {report.dataset} batch {report.batch_id} failed "
            f"({len(bad)} check{'s' if len(bad) != 1 else ''}):\n" + "\n".join(lines) + more
        )


class LakeLayout(Protocol):
    """Where Silver tables and Gold marts are (`udo.pipeline.clean.Lake` is one)."""

    def silver(self, dataset: str, table: str) -> str:
        """URI of a Silver table."""
        ...

    def gold(self, dataset: str, mart: str) -> str:
        """URI of a Gold mart."""
        ...


# ----------------------------------------------------------------------------- the plan
class TableLoad(BaseModel):
    """One table to load: from a Silver table or a Gold mart into a destination."""

    destination: str = Field(description="name of the destination (warehouse, operational)")
    layer: Layer
    source: str = Field(description="Silver table or Gold mart name")
    target: str = Field(description="table name in the destination")
    mode: LoadMode

    @model_validator(mode="after")
    def _mode_fits_layer(self) -> TableLoad:
        if self.layer == "gold" and self.mode != "full":
            raise ValueError(f"a Gold mart is loaded whole (mode 'full'), not {self.mode!r}")
        return self


class LoadPlan(BaseModel):
    """What goes where; serialisable, so a user can write one in YAML or JSON."""

    loads: list[TableLoad] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_targets(self) -> LoadPlan:
        seen: set[tuple[str, str]] = set()
        for load in self.loads:
            where = (load.destination, load.target.lower())
            if where in seen:
                raise ValueError(f"two loads write {load.destination}.{load.target}")
            seen.add(where)
        return self

    @classmethod
    def from_yaml(cls, text: str) -> LoadPlan:
        """A plan written by a user (YAML or JSON); `ConfigError` lists what is wrong."""
        import yaml

        try:
            return cls.model_validate(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise ConfigError(f"load plan is not valid YAML: {exc}") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"invalid load plan: {problems}") from exc

    def destinations(self) -> list[str]:
        """Destination names the plan writes to, in order of first use."""
        return list(dict.fromkeys(load.destination for load in self.loads))

    @classmethod
    def default(
        cls,
        rules: RuleSet,
        *,
        warehouse: str | None = WAREHOUSE,
        operational: str | None = OPERATIONAL,
        facts: Sequence[str] | None = None,
        marts: Sequence[str] | None = None,
        entities: Sequence[str] | None = None,
    ) -> LoadPlan:
        """The default plan (module docstring); each selection can be overridden.

        `facts`: Silver tables for the warehouse (default: tables with foreign keys);
        `marts`: Gold marts for the warehouse (default: all); `entities`: Silver tables
        whose current state goes to the operational DB (default: all). A destination
        name of None leaves that destination out.
        """
        slug = re.sub(r"[^A-Za-z0-9_]+", "_", rules.dataset).strip("_").lower() or "dataset"
        mart_names = [m.name for m in rules.marts]
        facts = _pick(facts, [t for t, r in rules.tables.items() if r.foreign_keys], rules, "fact")
        marts = _pick(marts, mart_names, rules, "mart", known=mart_names)
        entities = _pick(entities, list(rules.tables), rules, "entity")
        loads: list[TableLoad] = []
        if warehouse:
            loads += [
                TableLoad(
                    destination=warehouse,
                    layer="silver",
                    source=t,
                    target=f"silver_{slug}_{t}",
                    mode="batch",
                )
                for t in facts
            ]
            loads += [
                TableLoad(
                    destination=warehouse,
                    layer="gold",
                    source=m,
                    target=f"gold_{slug}_{m}",
                    mode="full",
                )
                for m in marts
            ]
        if operational:
            for t in entities:
                dedupe = rules.tables[t].dedupe
                loads.append(
                    TableLoad(
                        destination=operational,
                        layer="silver",
                        source=t,
                        target=f"{slug}_{t}",
                        mode="current" if dedupe and dedupe.key else "full",
                    )
                )
        return cls(loads=loads)


def _pick(
    chosen: Sequence[str] | None,
    default: list[str],
    rules: RuleSet,
    what: str,
    known: list[str] | None = None,
) -> list[str]:
    if chosen is None:
        return default
    names = known if known is not None else list(rules.tables)
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise ConfigError(f"load plan: unknown {what} {unknown} (known: {names})")
    return list(chosen)


# ----------------------------------------------------------------------------- sources
@dataclass
class _Source:
    """The lake side of one load: its schema, key, rows and what to reconcile."""

    schema: pa.Schema
    key: list[str]
    data: pa.RecordBatchReader
    where: dict[str, Scalar] | None = None
    sum_columns: list[str] = field(default_factory=list)


def _fit(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with `schema`'s columns (missing ones null) and types."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _batch_rows(uri: str, schema: pa.Schema, batch_id: str) -> pa.RecordBatchReader:
    """This batch's rows of a Silver table, streamed from Delta."""
    if not delta.exists(uri):
        return schema.empty_table().to_reader()
    dataset = delta.dataset(uri)
    present = [n for n in schema.names if n in dataset.schema.names]
    scanner = dataset.scanner(columns=present, filter=pc.field(BATCH_ID) == batch_id)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield _fit(pa.Table.from_batches([batch]), schema).combine_chunks().to_batches()[0]

    return pa.RecordBatchReader.from_batches(schema, batches())


def _source(
    load: TableLoad, lake: LakeLayout, rules: RuleSet, dataset: str, batch_id: str
) -> _Source:
    if load.layer == "gold":
        from udo.pipeline.marts import mart_schema

        mart = next((m for m in rules.marts if m.name == load.source), None)
        if mart is None:
            raise ConfigError(f"load plan: unknown mart {load.source!r}")
        schemas = {t: silver_schema(r) for t, r in rules.tables.items()}
        schema = mart_schema(mart, schemas)
        data = _fit(delta.read(lake.gold(dataset, mart.name)), schema)
        ints = [
            n
            for n in mart.measures
            if n in schema.names and pa.types.is_integer(schema.field(n).type)
        ]
        return _Source(schema, [], data.to_reader(), None, _decimals(schema) + ints)
    if load.source not in rules.tables:
        raise ConfigError(f"load plan: unknown Silver table {load.source!r}")
    table_rules = rules.tables[load.source]
    schema = silver_schema(table_rules)
    uri = lake.silver(dataset, load.source)
    if load.mode == "batch":
        rows = _batch_rows(uri, schema, batch_id)
        return _Source(schema, [], rows, {BATCH_ID: batch_id}, _decimals(schema))
    # imported here, not at the top: clean.py calls load_batch, so a top-level import
    # would be circular
    from udo.pipeline.clean import current_view

    key = list(table_rules.dedupe.key) if table_rules.dedupe else []
    view = current_view(uri, key)
    current = _fit(view.to_arrow() if view.width else schema.empty_table(), schema)
    return _Source(
        schema, key if load.mode == "current" else [], current.to_reader(), None, _decimals(schema)
    )


def _decimals(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if pa.types.is_decimal(f.type)]


class _Tally:
    """Counts rows and sums columns of a stream as it passes through."""

    def __init__(self, columns: list[str]) -> None:
        self.rows = 0
        self.sums: dict[str, Decimal] = {c: Decimal(0) for c in columns}

    def wrap(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                self.rows += batch.num_rows
                for c in self.sums:
                    value = pc.sum(batch.column(c)).as_py()
                    if value is not None:
                        self.sums[c] = _EXACT.add(self.sums[c], Decimal(value))
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def drain(self, reader: pa.RecordBatchReader) -> None:
        for _ in self.wrap(reader):
            pass


# ----------------------------------------------------------------------------- load
Progress = Callable[[str], None]


def _destination(destinations: Mapping[str, Destination], name: str) -> Destination:
    if name not in destinations:
        raise ConfigError(
            f"load plan names destination {name!r}, but only {sorted(destinations)} are configured"
        )
    return destinations[name]


def _checks(
    load: TableLoad, dest: Destination, source: _Source, tally: _Tally
) -> list[ReconciliationCheck]:
    def check(name: str, expected: Decimal, actual: Decimal | float | None) -> ReconciliationCheck:
        got = None if actual is None else Decimal(actual)
        ok = (got if got is not None else Decimal(0)) == expected
        return ReconciliationCheck(
            destination=load.destination,
            target=load.target,
            check=name,
            expected=expected,
            actual=got,
            ok=ok,
        )

    out = [check("count", Decimal(tally.rows), dest.count(load.target, source.where))]
    for column, expected in tally.sums.items():
        out.append(check(f"sum({column})", expected, dest.sum(load.target, column, source.where)))
    return out


def load_batch(
    lake: LakeLayout,
    rules: RuleSet,
    dataset: str,
    batch_id: str,
    destinations: Mapping[str, Destination],
    plan: LoadPlan | None = None,
    *,
    progress: Progress | None = None,
) -> LoadReport:
    """Load one cleaned batch as `plan` says (default: `LoadPlan.default(rules)`).

    Creates or evolves each target table (`ensure_table`), loads it, then reconciles
    every table with the lake. Returns the report; raises `ReconciliationError` (with
    the report) if any check fails, `ConfigError` if the plan names an unknown
    destination or source, and the destination's errors as they are.
    """
    plan = plan if plan is not None else LoadPlan.default(rules)
    report = LoadReport(dataset=dataset, batch_id=batch_id)
    for load in plan.loads:
        _destination(destinations, load.destination)
    for load in plan.loads:
        dest = destinations[load.destination]
        if progress:
            progress(f"load {load.destination}.{load.target}")
        started = time.perf_counter()
        source = _source(load, lake, rules, dataset, batch_id)
        dest.ensure_table(load.target, source.schema, source.key)
        tally = _Tally(source.sum_columns)
        data = tally.wrap(source.data)
        if load.mode == "batch":
            rows = dest.replace_batch(load.target, data, batch_id)
        elif load.mode == "current":
            rows = dest.upsert(load.target, data, source.key)
        else:
            rows = dest.replace_all(load.target, data)
        report.tables.append(
            LoadedTable(
                destination=load.destination,
                target=load.target,
                layer=load.layer,
                source=load.source,
                mode=load.mode,
                rows=rows,
                method=dest.last_load_method,
                seconds=round(time.perf_counter() - started, 3),
            )
        )
        report.checks += _checks(load, dest, source, tally)
    if not report.reconciled:
        raise ReconciliationError(report)
    return report


def reconcile(
    lake: LakeLayout,
    rules: RuleSet,
    dataset: str,
    batch_id: str,
    destinations: Mapping[str, Destination],
    plan: LoadPlan | None = None,
) -> LoadReport:
    """Check, without loading, that the destinations hold what the lake holds.

    Same checks as `load_batch`; raises `ReconciliationError` on any mismatch.
    """
    plan = plan if plan is not None else LoadPlan.default(rules)
    report = LoadReport(dataset=dataset, batch_id=batch_id)
    for load in plan.loads:
        dest = _destination(destinations, load.destination)
        source = _source(load, lake, rules, dataset, batch_id)
        tally = _Tally(source.sum_columns)
        tally.drain(source.data)
        report.checks += _checks(load, dest, source, tally)
    if not report.reconciled:
        raise ReconciliationError(report)
    return report
