"""The generation engine: streams a DatasetSpec as chunks of clean rows.

Tables are generated parents first. A table with ``per_parent`` is generated in step
with its parent's chunks (items with their orders), so that parents can aggregate over
their children (an order's total is the sum of its items). Every other table is
generated chunk by chunk on its own. Memory is bounded by the chunk size, plus the
columns that lookups need from other tables (a product's price, kept in memory).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from udo.domain.spec import DatasetSpec, LogNormal, Normal, Poisson, Uniform, Zipf
from udo.errors import SpecError
from udo.generate import distributions as dist
from udo.generate.rng import I64, stream_key, uniform
from udo.generate.sources import AggregateValues, Chunk, Compiler, Source


@dataclass(frozen=True)
class TableChunk:
    """Clean rows [start, start + len(frame)) of one table, emitted fields only."""

    table: str
    start: int
    frame: pl.DataFrame


class DatasetGenerator:
    """Compiles a spec once, then streams its tables as `TableChunk`s."""

    def __init__(self, spec: DatasetSpec, chunk_rows: int = 65_536) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be positive")
        self.spec = spec
        self.chunk_rows = chunk_rows
        self.compiler = Compiler(spec)
        self.children: dict[str, list[str]] = {name: [] for name in spec.tables}
        for name, table in spec.tables.items():
            if table.per_parent is not None:
                self.children[table.per_parent.table].append(name)
        self._check_structure()
        self.order = {name: self._field_order(name) for name in spec.tables}
        self._offsets: dict[str, int] = {}

    # ------------------------------------------------------------- planning
    def _check_structure(self) -> None:
        problems: list[tuple[str, str]] = []
        for tname, table in self.spec.tables.items():
            for fname, f in table.fields.items():
                if f.fk is None:
                    continue
                is_link = table.per_parent is not None and table.per_parent.table == f.fk.table
                parent = self.spec.tables[f.fk.table]
                if parent.per_parent is not None and not is_link:
                    problems.append(
                        (
                            f"tables.{tname}.fields.{fname}.fk",
                            f"cannot point at {f.fk.table}: its size is known only as it is made",
                        )
                    )
            if table.per_parent is not None:
                for pname in ("low", "high", "mean", "std", "sigma", "lam"):
                    if not isinstance(
                        getattr(table.per_parent.count, pname, 0.0), float | int | None
                    ):
                        problems.append(
                            (f"tables.{tname}.per_parent.count.{pname}", "must be a number")
                        )
        if problems:
            raise SpecError(problems)

    def _field_order(self, table: str) -> list[str]:
        """Fields in dependency order; aggregates last (they need the children)."""
        sources = self.compiler.sources[table]
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*path[path.index(name) :], name])
                raise SpecError(
                    [
                        (
                            f"tables.{table}.fields.{name}",
                            f"fields depend on each other in a cycle: {cycle}",
                        )
                    ]
                )
            state[name] = 1
            for dep in sorted(sources[name].deps()):
                if isinstance(sources[dep], AggregateValues):
                    raise SpecError(
                        [(f"tables.{table}.fields.{name}", f"cannot use aggregate field {dep!r}")]
                    )
                visit(dep, [*path, name])
            state[name] = 2
            order.append(name)

        for name, src in sources.items():
            if not isinstance(src, AggregateValues):
                visit(name, [])
        order += [n for n, s in sources.items() if isinstance(s, AggregateValues)]
        return order

    def roots(self) -> list[str]:
        """Tables generated on their own, in dependency order."""
        return [t for t in self.spec.table_order() if self.spec.tables[t].per_parent is None]

    # ------------------------------------------------------------ streaming
    def run(self) -> Iterator[TableChunk]:
        """Every table's rows, chunk by chunk; children right after their parents' chunk."""
        self._offsets = dict.fromkeys(self.spec.tables, 0)
        for root in self.roots():
            rows = self.spec.tables[root].rows or 0
            for start in range(0, rows, self.chunk_rows):
                stop = min(rows, start + self.chunk_rows)
                _chunk, out = self._make(root, start, stop, None, None)
                yield from out

    def _make(
        self, table: str, start: int, stop: int, parent: Chunk | None, parent_rows: I64 | None
    ) -> tuple[Chunk, list[TableChunk]]:
        chunk = Chunk(table=table, start=start, stop=stop, parent=parent)
        if parent_rows is not None:
            chunk.parent_rows["__parent__"] = parent_rows
            link = next(
                n
                for n, f in self.spec.tables[table].fields.items()
                if f.fk is not None and f.fk.table == parent.table  # type: ignore[union-attr]
            )
            chunk.parent_rows[link] = parent_rows
        sources = self.compiler.sources[table]
        for name in self.order[table]:
            if not isinstance(sources[name], AggregateValues):
                chunk.columns[name] = sources[name].make(chunk)
        for name in self.order[table]:
            # nulls before the children: a lookup through the link sees what lands
            if not isinstance(sources[name], AggregateValues):
                chunk.columns[name] = self._nulls(sources[name], chunk, chunk.columns[name])
        emitted: list[TableChunk] = []
        for child in self.children[table]:
            counts = self._child_counts(child, start, stop)
            c_start = self._offsets[child]
            c_stop = c_start + int(counts.sum())
            self._offsets[child] = c_stop
            rows = np.repeat(np.arange(start, stop, dtype=np.int64), counts)
            child_chunk, child_out = self._make(child, c_start, c_stop, chunk, rows)
            emitted += child_out
            for name in self.order[table]:
                src = sources[name]
                if isinstance(src, AggregateValues) and src.child == child:
                    chunk.columns[name] = src.aggregate(chunk, child_chunk)
        for name in self.order[table]:
            if isinstance(sources[name], AggregateValues):
                chunk.columns[name] = self._nulls(sources[name], chunk, chunk.columns[name])
        self.compiler.keep(table, chunk)
        fields = self.spec.tables[table].fields
        frame = pl.DataFrame([chunk.columns[n] for n in fields if fields[n].emit])
        return chunk, [TableChunk(table, start, frame), *emitted]

    def _child_counts(self, child: str, start: int, stop: int) -> I64:
        pp = self.spec.tables[child].per_parent
        assert pp is not None
        key = stream_key(self.spec.seed, child, "__per_parent__")
        u = uniform(key, start, stop)
        d = pp.count
        values: np.ndarray
        if isinstance(d, Poisson):
            values = dist.poisson(u, float(d.lam))  # type: ignore[arg-type]
        elif isinstance(d, Zipf):
            values = dist.zipf(u, d.s, d.n)
        elif isinstance(d, Uniform):
            lo = float(d.low if d.low is not None else pp.min)  # type: ignore[arg-type]
            hi = float(d.high if d.high is not None else pp.max)  # type: ignore[arg-type]
            values = np.floor(lo + u * (hi - lo + 1))
        elif isinstance(d, Normal | LogNormal):
            u2 = uniform(stream_key(key, "2"), start, stop)
            if isinstance(d, Normal):
                values = np.rint(dist.normal(u, u2, float(d.mean), float(d.std)))  # type: ignore[arg-type]
            else:
                values = np.rint(dist.lognormal(u, u2, float(d.mean), float(d.sigma)))  # type: ignore[arg-type]
        return np.clip(values, pp.min, pp.max).astype(np.int64)

    def _nulls(self, src: Source, chunk: Chunk, values: pl.Series) -> pl.Series:
        rate = src.spec.null_rate
        if rate <= 0:
            return values
        mask = uniform(stream_key(src.key, "null"), chunk.start, chunk.stop) < rate
        return values.zip_with(
            pl.Series(~mask),
            pl.Series(values.name, [None], dtype=values.dtype).extend_constant(
                None, chunk.size - 1
            ),
        )

    def expected_rows(self, table: str) -> int | None:
        """Rows of a fixed-size table (per_parent tables are known only after generation)."""
        return self.spec.tables[table].rows
