"""Value sources: one class per kind, each turning a chunk of rows into a column.

A source sees a `Chunk` (the rows being made, the fields made so far) and returns a
polars Series. Randomness comes only from `rng.uniform(stream, start, stop)`, keyed by
row numbers, so the output never depends on chunking. Key sources (sequence, uuid,
pattern) can also compute the value of any row on its own (`at`), which is how foreign
keys point at parents without holding the parent table in memory.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from udo.domain.spec import (
    PATTERN_ALPHABETS,
    ByCategory,
    DatasetSpec,
    FieldSpec,
    LogNormal,
    Normal,
    Param,
    Poisson,
    Uniform,
    Zipf,
    pattern_parts,
)
from udo.errors import SpecError
from udo.generate import distributions as dist
from udo.generate.expr import compile_expr
from udo.generate.rng import I64, integers, permute, stream_key, uniform
from udo.generate.strings import fixed_width, uuids


def polars_dtype(type_name: str) -> pl.DataType:
    """The polars dtype of a udo field type."""
    if type_name.startswith("decimal("):
        p, s = (int(x) for x in type_name[8:-1].split(","))
        return pl.Decimal(p, s)
    return {
        "int": pl.Int64(),
        "float": pl.Float64(),
        "string": pl.String(),
        "category": pl.String(),
        "uuid": pl.String(),
        "bool": pl.Boolean(),
        "date": pl.Date(),
        "timestamp": pl.Datetime("us"),
    }[type_name]


@dataclass
class Chunk:
    """Rows [start, stop) of one table being generated."""

    table: str
    start: int
    stop: int
    columns: dict[str, pl.Series] = field(default_factory=dict)
    parent_rows: dict[str, I64] = field(default_factory=dict)
    """For each fk field: the parent row number each row points at."""
    link: str | None = None
    """For a per_parent table: the fk field that points at the parent chunk."""
    parent: Chunk | None = None

    @property
    def size(self) -> int:
        """Rows in the chunk."""
        return self.stop - self.start

    def frame(self) -> pl.DataFrame:
        """The fields made so far as a DataFrame."""
        return pl.DataFrame(list(self.columns.values()))


class Source(ABC):
    """Makes one field's values for a chunk of rows."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        self.ctx = ctx
        self.table = table
        self.name = name
        self.spec = spec
        self.dtype = polars_dtype(spec.type)
        self.key = stream_key(ctx.spec.seed, table, name)

    def u(self, chunk: Chunk, salt: str = "") -> npt.NDArray[np.float64]:
        """Uniforms for the chunk's rows from this field's stream (or a salted sub-stream)."""
        key = self.key if not salt else stream_key(self.key, salt)
        return uniform(key, chunk.start, chunk.stop)

    def deps(self) -> set[str]:
        """Fields of the same row this source reads."""
        return set()

    @abstractmethod
    def make(self, chunk: Chunk) -> pl.Series:
        """The field's values for the chunk."""

    def finish(self, values: npt.ArrayLike | pl.Series) -> pl.Series:
        """Cast raw values to the field's type, applying rounding for floats and decimals."""
        series = values if isinstance(values, pl.Series) else pl.Series(np.asarray(values))
        series = series.alias(self.name)
        if isinstance(self.dtype, pl.Decimal):
            scale = self.dtype.scale or 0
            return series.cast(pl.Float64).round(scale).cast(self.dtype)
        if self.spec.type == "float" and self.spec.round is not None:
            series = series.cast(pl.Float64).round(self.spec.round)
        if self.spec.type == "int" and series.dtype.is_float():
            series = series.round(0)
        return series.cast(self.dtype)


class KeySource(Source):
    """A source whose value for any row is a function of the row number alone."""

    capacity: int = 2**62
    """How many distinct rows the key can number (rows beyond it repeat keys)."""

    @abstractmethod
    def at(self, rows: I64) -> pl.Series:
        """Values of the given row numbers."""

    def make(self, chunk: Chunk) -> pl.Series:
        return self.at(np.arange(chunk.start, chunk.stop, dtype=np.int64))


class SequenceValues(KeySource):
    """start + row * step."""

    def at(self, rows: I64) -> pl.Series:
        seq = self.spec.sequence
        assert seq is not None
        return self.finish(seq.start + rows * seq.step)


class UuidValues(KeySource):
    """A UUID that is a bijection of the row number."""

    def at(self, rows: I64) -> pl.Series:
        return uuids(rows, self.key).alias(self.name).cast(self.dtype)


class PatternValues(KeySource):
    """Strings shaped by a pattern; unique (a bijection of the row number) when required."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        assert spec.pattern is not None
        self.parts = pattern_parts(spec.pattern)
        self.width = sum(len(p) - 1 if p.startswith("=") else 1 for p in self.parts)
        self.radices = [len(PATTERN_ALPHABETS[p]) for p in self.parts if not p.startswith("=")]
        self.space = math.prod(self.radices)
        self.unique = spec.unique or ctx.spec.tables[table].key == name
        self.capacity = min(self.space, 2**31 - 1)

    def _render(self, digits: list[I64], n: int) -> pl.Series:
        out = np.empty((n, self.width), dtype=np.uint8)
        pos = 0
        slot = 0
        for part in self.parts:
            if part.startswith("="):
                lit = np.frombuffer(part[1:].encode("ascii", "replace"), dtype=np.uint8)
                out[:, pos : pos + len(lit)] = lit
                pos += len(lit)
            else:
                alphabet = np.frombuffer(PATTERN_ALPHABETS[part].encode(), dtype=np.uint8)
                out[:, pos] = alphabet[digits[slot]]
                pos += 1
                slot += 1
        return fixed_width(out).alias(self.name).cast(self.dtype)

    def at(self, rows: I64) -> pl.Series:
        if not self.unique:
            raise SpecError([(f"tables.{self.table}.fields.{self.name}", "not a key pattern")])
        # Mixed-radix digits of a shuffled row number: distinct rows, distinct strings.
        space = min(self.space, 2**31 - 1)
        code = permute(rows, space, self.key)
        digits: list[I64] = []
        for radix in reversed(self.radices):
            digits.append(code % radix)
            code = code // radix
        return self._render(list(reversed(digits)), len(rows))

    def make(self, chunk: Chunk) -> pl.Series:
        if self.unique:
            return super().make(chunk)
        digits = [
            integers(stream_key(self.key, str(i)), chunk.start, chunk.stop, r)
            for i, r in enumerate(self.radices)
        ]
        return self._render(digits, chunk.size)


class FakerValues(Source):
    """A pool of values drawn once from Faker; rows pick from the pool."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        src = spec.faker_source()
        values = ctx.faker_pool(table, name, src.method, src.args, src.pool, src.locales)
        self.pool = _to_series(values, self.dtype, f"tables.{table}.fields.{name}.faker")

    def make(self, chunk: Chunk) -> pl.Series:
        idx = integers(self.key, chunk.start, chunk.stop, len(self.pool))
        return self.pool.gather(idx).alias(self.name)


class ChoiceValues(Source):
    """Values with weights."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        choice = spec.choice_source()
        self.values = _to_series(choice.values, self.dtype, f"tables.{table}.fields.{name}.choices")
        self.weights = choice.weights or [1.0] * len(choice.values)
        self.unique = spec.unique

    def make(self, chunk: Chunk) -> pl.Series:
        if self.unique:
            rows = np.arange(chunk.start, chunk.stop, dtype=np.int64)
            idx = permute(rows, len(self.values), self.key)
        else:
            idx = dist.weighted_index(self.u(chunk), self.weights)
        return self.values.gather(idx).alias(self.name)


class DistributionValues(Source):
    """Numbers from a distribution, clipped to the field's [min, max]."""

    def deps(self) -> set[str]:
        d = self.spec.distribution
        return {
            p.by
            for p in (getattr(d, n, None) for n in ("low", "high", "mean", "std", "sigma", "lam"))
            if isinstance(p, ByCategory)
        }

    def _param(
        self, chunk: Chunk, value: Param | None, default: float
    ) -> npt.NDArray[np.float64] | float:
        if value is None:
            return default
        if isinstance(value, ByCategory):
            cat = chunk.columns[value.by].cast(pl.String)
            mapped = cat.replace_strict(
                value.values, default=value.default, return_dtype=pl.Float64
            )
            if mapped.null_count():
                missing = sorted(set(cat.filter(mapped.is_null()).drop_nulls().unique().to_list()))
                if missing or value.default is None:
                    raise SpecError(
                        [
                            (
                                f"tables.{self.table}.fields.{self.name}",
                                f"no parameter for {value.by} {missing[:5]}; add them or a default",
                            )
                        ]
                    )
            return mapped.to_numpy()
        return float(value)

    def make(self, chunk: Chunk) -> pl.Series:
        d = self.spec.distribution
        u = self.u(chunk)
        lo_b = _num(self.spec.min)
        hi_b = _num(self.spec.max)
        values: npt.NDArray[Any]
        if isinstance(d, Uniform):
            lo = self._param(chunk, d.low, lo_b if lo_b is not None else 0.0)
            hi = self._param(chunk, d.high, hi_b if hi_b is not None else 1.0)
            if self.spec.type == "int":
                lo_i, hi_i = np.ceil(lo), np.floor(hi)
                if self.spec.unique:
                    rows = np.arange(chunk.start, chunk.stop, dtype=np.int64)
                    values = permute(rows, int(float(hi_i) - float(lo_i) + 1), self.key) + lo_i
                else:
                    values = np.floor(lo_i + u * (hi_i - lo_i + 1))
            else:
                values = lo + u * (np.asarray(hi) - lo)
        elif isinstance(d, Normal):
            values = dist.normal(
                u, self.u(chunk, "2"), self._param(chunk, d.mean, 0), self._param(chunk, d.std, 1)
            )
        elif isinstance(d, LogNormal):
            values = dist.lognormal(
                u, self.u(chunk, "2"), self._param(chunk, d.mean, 0), self._param(chunk, d.sigma, 1)
            )
        elif isinstance(d, Poisson):
            values = dist.poisson(u, self._param(chunk, d.lam, 1))
        else:
            assert isinstance(d, Zipf)
            values = dist.zipf(u, d.s, d.n)
        if lo_b is not None or hi_b is not None:
            values = np.clip(values, lo_b, hi_b)
        return self.finish(values)


class TimeValues(Source):
    """Dates or timestamps in [min, max], weighted by weekday, month and hour of day."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        ts = spec.time
        assert ts is not None
        lo, hi = _as_datetime(spec.min), _as_datetime(spec.max)
        if not isinstance(spec.max, datetime):  # a date as max includes that whole day
            hi += timedelta(days=1) - timedelta(microseconds=1)
        first = np.datetime64(lo.date(), "D")
        last = np.datetime64(hi.date(), "D")
        self.days = np.arange(first, last + 1, dtype="datetime64[D]")
        dow = (self.days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        month = self.days.astype("datetime64[M]").astype(np.int64) % 12
        w = np.ones(len(self.days))
        if ts.weekday_weights:
            w *= np.asarray(ts.weekday_weights)[dow]
        if ts.month_weights:
            w *= np.asarray(ts.month_weights)[month]
        if ts.trend:
            w *= 1.0 + ts.trend * np.linspace(0.0, 1.0, len(self.days))
        self.day_weights = w
        self.hour_weights = ts.hour_weights
        self.lo = np.datetime64(lo, "us")
        self.hi = np.datetime64(hi, "us")

    def make(self, chunk: Chunk) -> pl.Series:
        day = self.days[dist.weighted_index(self.u(chunk), self.day_weights)]
        if self.spec.type == "date":
            return self.finish(pl.Series(self.name, day))
        if self.hour_weights:
            hour = dist.weighted_index(self.u(chunk, "hour"), self.hour_weights)
        else:
            hour = integers(stream_key(self.key, "hour"), chunk.start, chunk.stop, 24)
        second = integers(stream_key(self.key, "second"), chunk.start, chunk.stop, 3600)
        micros = (hour * 3600 + second).astype(np.int64) * 1_000_000
        ts = day.astype("datetime64[us]") + micros.astype("timedelta64[us]")
        ts = np.clip(ts, self.lo, self.hi)
        return self.finish(pl.Series(self.name, ts))


class ExprValues(Source):
    """An expression over other fields of the row."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        assert spec.expr is not None
        fields = set(ctx.spec.tables[table].fields)
        self.expr = compile_expr(spec.expr, fields)
        from udo.domain.spec import expr_names

        self.names = expr_names(spec.expr)

    def deps(self) -> set[str]:
        return set(self.names)

    def make(self, chunk: Chunk) -> pl.Series:
        frame = pl.DataFrame([chunk.columns[n] for n in sorted(self.names)]) if self.names else None
        if frame is None:
            frame = pl.DataFrame({"_": np.zeros(chunk.size)})
        try:
            values = frame.select(self.expr.alias(self.name)).to_series()
        except pl.exceptions.PolarsError as exc:
            raise SpecError(
                [(f"tables.{self.table}.fields.{self.name}.expr", str(exc).splitlines()[0])]
            ) from exc
        if len(values) == 1 and chunk.size != 1:
            values = values.extend_constant(values[0], chunk.size - 1)
        return self.finish(values)


class ForeignKeyValues(Source):
    """A parent's key, parents chosen uniformly, by zipf rank, or by lognormal activity."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        fk = spec.fk
        assert fk is not None
        self.parent = fk.table
        self.is_link = ctx.spec.tables[table].per_parent is not None and (
            ctx.spec.tables[table].per_parent.table == fk.table  # type: ignore[union-attr]
        )
        self.parent_rows = ctx.spec.tables[fk.table].rows or 0
        self._weights: dist.GuideTable | None = None

    def parent_key(self) -> KeySource:
        """The parent table's key source."""
        return self.ctx.key_source(self.parent)

    def choose(self, chunk: Chunk) -> I64:
        """Parent row numbers for the chunk's rows."""
        fk = self.spec.fk
        assert fk is not None
        n = self.parent_rows
        u = self.u(chunk)
        if fk.distribution == "zipf":
            rank = dist.zipf(u, fk.s, n) - 1
            return permute(rank, n, self.key)
        if fk.distribution == "lognormal":
            if self._weights is None:
                pk = stream_key(self.key, "weights")
                w = dist.lognormal(
                    uniform(pk, 0, n), uniform(stream_key(pk, "2"), 0, n), 0.0, fk.sigma
                )
                self._weights = dist.GuideTable(w)
            return self._weights.index(u)
        return integers(self.key, chunk.start, chunk.stop, n)

    def make(self, chunk: Chunk) -> pl.Series:
        if self.is_link:
            assert chunk.parent is not None
            rows = chunk.parent_rows[self.name]
            key_name = self.ctx.spec.tables[self.parent].key
            assert key_name is not None
            return chunk.parent.columns[key_name].gather(rows - chunk.parent.start).alias(self.name)
        if self.parent_rows == 0:
            return pl.Series(self.name, [None] * chunk.size, dtype=self.dtype)
        rows = self.choose(chunk)
        chunk.parent_rows[self.name] = rows
        return self.parent_key().at(rows).alias(self.name).cast(self.dtype)


class LookupValues(Source):
    """A column of the parent row an fk field points at."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        lk = spec.lookup
        assert lk is not None
        self.via = lk.fk
        link_spec = ctx.spec.tables[table].fields[lk.fk]
        assert link_spec.fk is not None
        self.parent = link_spec.fk.table
        self.column = lk.column
        per_parent = ctx.spec.tables[table].per_parent
        self.through_link = per_parent is not None and per_parent.table == self.parent
        if not self.through_link:
            ctx.retain(self.parent, self.column)

    def deps(self) -> set[str]:
        return {self.via}

    def make(self, chunk: Chunk) -> pl.Series:
        rows = chunk.parent_rows.get(self.via)
        if self.through_link:
            assert chunk.parent is not None and rows is not None
            src = chunk.parent.columns[self.column]
            return self.finish(src.gather(rows - chunk.parent.start))
        if rows is None:  # the parent table is empty
            return pl.Series(self.name, [None] * chunk.size, dtype=self.dtype)
        return self.finish(self.ctx.retained(self.parent, self.column).gather(rows))


class AggregateValues(Source):
    """An aggregate over the row's children (filled in after the children are made)."""

    def __init__(self, ctx: Compiler, table: str, name: str, spec: FieldSpec) -> None:
        super().__init__(ctx, table, name, spec)
        agg = spec.aggregate
        assert agg is not None
        self.child = agg.table
        self.fn = agg.fn
        self.expr = compile_expr(agg.expr, set(ctx.spec.tables[agg.table].fields))

    def make(self, chunk: Chunk) -> pl.Series:
        raise AssertionError("aggregates are computed from the children, see `aggregate`")

    def aggregate(self, chunk: Chunk, children: Chunk) -> pl.Series:
        """The aggregate for each parent row of `chunk` over `children`."""
        parent_pos = children.parent_rows["__parent__"] - chunk.start
        value = children.frame().select(self.expr.alias("v")).to_series().cast(pl.Float64)
        if self.fn in ("sum", "count") and value.null_count() == 0:
            # children are dense and ordered by parent: a weighted bincount is the group-by
            weights = None if self.fn == "count" else value.to_numpy()
            sums = np.bincount(parent_pos, weights=weights, minlength=chunk.size)
            return self.finish(pl.Series(self.name, sums.astype(np.float64)))
        grouped = (
            pl.DataFrame({"p": parent_pos, "v": value})
            .group_by("p")
            .agg(getattr(pl.col("v"), self.fn)().alias("v"), pl.len().alias("n"))
        )
        out = np.full(chunk.size, 0.0 if self.fn in ("sum", "count") else np.nan)
        col = grouped["n"] if self.fn == "count" else grouped["v"]
        out[grouped["p"].to_numpy()] = col.cast(pl.Float64).to_numpy()
        series = pl.Series(self.name, out).fill_nan(None)
        return self.finish(series)


SOURCE_CLASSES: dict[str, type[Source]] = {
    "sequence": SequenceValues,
    "uuid": UuidValues,
    "pattern": PatternValues,
    "faker": FakerValues,
    "choices": ChoiceValues,
    "distribution": DistributionValues,
    "time": TimeValues,
    "expr": ExprValues,
    "fk": ForeignKeyValues,
    "lookup": LookupValues,
    "aggregate": AggregateValues,
}


class Compiler:
    """Compiles a DatasetSpec's fields to sources; holds Faker pools and retained columns."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self._fakers: dict[str, Any] = {}
        self._retain: dict[str, set[str]] = {}
        self._retained: dict[tuple[str, str], list[pl.Series]] = {}
        self.sources: dict[str, dict[str, Source]] = {}
        problems: list[tuple[str, str]] = []
        for tname, table in spec.tables.items():
            self.sources[tname] = {}
            for fname, fspec in table.fields.items():
                try:
                    self.sources[tname][fname] = SOURCE_CLASSES[fspec.source](
                        self, tname, fname, fspec
                    )
                except SpecError as exc:
                    problems += [
                        (loc or f"tables.{tname}.fields.{fname}", msg) for loc, msg in exc.problems
                    ]
        if problems:
            raise SpecError(problems)

    # -------------------------------------------------------------- faker
    def _faker(self, locale: str) -> Any:
        if locale not in self._fakers:
            from faker import Faker

            self._fakers[locale] = Faker(locale)
        return self._fakers[locale]

    def faker_pool(
        self,
        table: str,
        name: str,
        method: str,
        args: dict[str, Any],
        size: int,
        locales: list[str] | dict[str, float] | None = None,
    ) -> list[Any]:
        """`size` values of a Faker method, deterministic for the spec's seed.

        Each value's locale is drawn (by the locales' weights) from udo's own counter-based
        stream, and each locale's Faker is seeded per field: Faker's multi-locale proxy
        picks locales from unseeded global state, so it is not used.
        """
        loc = f"tables.{table}.fields.{name}.faker"
        locales = locales or self.spec.locales
        names = list(locales) if isinstance(locales, list) else list(locales.keys())
        weights = [1.0] * len(names) if isinstance(locales, list) else list(locales.values())
        key = stream_key(self.spec.seed, table, name, "faker")
        which = dist.weighted_index(uniform(stream_key(key, "locale"), 0, size), weights)
        fns = []
        for i, locale in enumerate(names):
            try:
                fake = self._faker(locale)
            except AttributeError as exc:
                raise SpecError([(loc, f"unknown Faker locale {locale!r}")]) from exc
            fn = getattr(fake, method, None)
            if not callable(fn) or method.startswith("_"):
                raise SpecError([(loc, f"unknown Faker method {method!r}")])
            fake.seed_instance((key + i) % 2**32)
            fns.append(fn)
        try:
            return [fns[w](**args) for w in which.tolist()]
        except Exception as exc:  # Faker raises anything on bad arguments
            raise SpecError([(loc, f"Faker {method}({args}) failed: {exc}")]) from exc

    # ---------------------------------------------------------------- keys
    def key_source(self, table: str) -> KeySource:
        """The key source of a table (validated to exist and be a key kind)."""
        key = self.spec.tables[table].key
        assert key is not None
        src = self.sources[table][key]
        assert isinstance(src, KeySource)
        return src

    # ------------------------------------------------------ retained columns
    def retain(self, table: str, column: str) -> None:
        """Keep `column` of `table` in memory as it is generated, for lookups."""
        self._retain.setdefault(table, set()).add(column)

    def keep(self, table: str, chunk: Chunk) -> None:
        """Store the retained columns of a finished chunk."""
        for column in self._retain.get(table, ()):
            self._retained.setdefault((table, column), []).append(chunk.columns[column])

    def retained(self, table: str, column: str) -> pl.Series:
        """A retained column of a fully generated table."""
        parts = self._retained.get((table, column), [])
        if len(parts) != 1:
            merged = pl.concat(parts) if parts else pl.Series(column, [])
            self._retained[(table, column)] = [merged]
        return self._retained[(table, column)][0]


def faker_problems(spec: DatasetSpec) -> list[tuple[str, str]]:
    """A spec check: every faker field names an existing Faker method."""
    from faker import Faker

    out: list[tuple[str, str]] = []
    locales = list(spec.locales)
    try:
        fake = Faker(locales)
    except AttributeError:
        return [("locales", f"unknown Faker locale in {locales}")]
    for tname, table in spec.tables.items():
        for fname, f in table.fields.items():
            if f.faker is None:
                continue
            method = f.faker_source().method
            if method.startswith("_") or not callable(getattr(fake, method, None)):
                out.append(
                    (f"tables.{tname}.fields.{fname}.faker", f"unknown Faker method {method!r}")
                )
    return out


def _to_series(values: list[Any], dtype: pl.DataType, loc: str) -> pl.Series:
    try:
        if dtype == pl.String:
            return pl.Series([None if v is None else str(v) for v in values], dtype=pl.String)
        if isinstance(dtype, pl.Decimal):
            return pl.Series([None if v is None else float(v) for v in values]).cast(dtype)
        return pl.Series(values).cast(dtype)
    except (pl.exceptions.PolarsError, TypeError, ValueError) as exc:
        raise SpecError([(loc, f"values do not fit the field type: {exc}")]) from exc


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError as exc:
            raise SpecError([("", f"not a date or timestamp: {value!r}")]) from exc
    raise SpecError([("", f"not a date or timestamp: {value!r}")])
