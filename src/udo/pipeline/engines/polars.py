"""The polars engine: the fast path's default, and the reference the others match."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR
from decimal import Decimal as DecimalValue
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pyarrow as pa

from udo.domain.marts import MartSpec, Measure
from udo.domain.rules import Check, ColumnRule
from udo.pipeline.engines.base import (
    BATCH_ID,
    DECIMAL_COMMA,
    DECIMAL_TEXT,
    EURO_GROUPED,
    FALSE_TEXT,
    FLOAT_TEXT,
    INGESTED_AT,
    INT_TEXT,
    MAX_EPOCH_SECONDS,
    MONTHS,
    RAW_ERROR,
    REASONS,
    REJECTS_SCHEMA,
    SOURCE_FILE,
    SOURCE_ROW,
    TRUE_TEXT,
    US_GROUPED,
    WHITESPACE,
    Data,
    DateFormat,
    Engine,
    RuleFailed,
    TableCounts,
    TableJob,
    TableResult,
    compile_format,
    rule_order,
    silver_schema,
)
from udo.pipeline.marts import (
    BinOp,
    Col,
    Node,
    Num,
    expr_type,
    joined_schema,
    mart_schema,
    parse_measure,
)

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


def _frame(data: Data) -> pl.DataFrame:
    if isinstance(data, list):
        return pl.read_parquet([str(p) for p in data]) if data else pl.DataFrame()
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def polars_dtype(type_name: str) -> pl.DataType:
    """polars dtype of a Silver column type."""
    if type_name.startswith("decimal("):
        p, s = (int(x) for x in type_name[8:-1].split(","))
        return pl.Decimal(p, s)
    return {
        "int": pl.Int64(),
        "float": pl.Float64(),
        "string": pl.String(),
        "bool": pl.Boolean(),
        "date": pl.Date(),
        "timestamp": pl.Datetime("us"),
    }[type_name]


class PolarsEngine(Engine):
    """Rules compiled to polars expressions, evaluated in one pass per stage."""

    name: ClassVar[str] = "polars"

    # ------------------------------------------------------------ cleaning
    def clean(self, job: TableJob) -> TableResult:
        raw = _frame(job.raw)
        rules = job.rules
        counts = TableCounts(bronze_in=len(raw))
        landed = [c for c in raw.columns if c not in (SOURCE_ROW, RAW_ERROR, "_raw_line")]
        wanted = {c.bronze_name for c in rules.columns}
        counts.missing_columns = sorted(wanted - set(landed))
        counts.extra_columns = sorted(set(landed) - wanted)

        readable = pl.col(RAW_ERROR).is_null()
        # Stage 1: standardised text, materialised once per column, so parsing it against
        # many formats does not repeat the trim/mapping work in every branch.
        texts = [
            self._text(c).alias(f"__t_{c.name}")
            for c in rules.columns
            if raw.schema.get(c.bronze_name) == pl.String
        ]
        staged = raw.with_columns(texts) if texts else raw
        # Stage 2: dates and timestamps, format by format, each format tried only on the
        # rows no earlier format could read (most rows are read by the first).
        times = [
            _parse_time_series(staged[f"__t_{c.name}"], c.formats or [], c.type).alias(
                f"__v_{c.name}"
            )
            for c in rules.columns
            if raw.schema.get(c.bronze_name) == pl.String and c.type in ("date", "timestamp")
        ]
        if times:
            staged = staged.with_columns(times)
        values: list[pl.Expr] = []
        failed: list[pl.Expr] = []
        for c in rules.columns:
            value, bad = self._column(c, raw.schema.get(c.bronze_name))
            values.append(value.alias(c.name))
            failed.append(bad.alias(f"__bad_{c.name}"))
        # lazy, so common subexpressions (each format's regex groups) are computed once
        typed = (
            staged.lazy().select(pl.col(SOURCE_ROW), pl.col(RAW_ERROR), *values, *failed).collect()
        )

        masks: dict[str, pl.Expr] = {}
        for c in rules.columns:
            masks[c.type_rule_id(job.table)] = pl.col(f"__bad_{c.name}")
            for chk in c.checks:
                masks[chk.id] = self._check(chk, c)
        for fk in rules.foreign_keys:
            keys = (
                _frame(job.parent_keys[fk.id]).to_series(0)
                if fk.id in job.parent_keys
                else pl.Series([])
            )
            col = pl.col(fk.column)
            masks[fk.id] = col.is_not_null() & ~col.is_in(
                keys.cast(typed.schema[fk.column]).implode()
            )
        order = rule_order(job.table, rules)
        flags = typed.select(
            pl.col(SOURCE_ROW),
            readable.alias("__readable"),
            *[(readable & masks[rid].fill_null(False)).alias(rid) for rid, _, _ in order],
        )
        counts.violations = {rid: int(flags[rid].sum()) for rid, _, _ in order}
        for rid, action, _ in order:
            if action == "fail" and counts.violations[rid]:
                raise RuleFailed(
                    f"rule {rid} (action fail) is violated by {counts.violations[rid]:,} rows"
                )

        malformed_id = f"{job.table}._row.malformed"
        quarantine_rules = [rid for rid, action, _ in order if action == "quarantine"]
        reasons = (
            pl.when(~pl.col("__readable"))
            .then(pl.lit([malformed_id]))
            .otherwise(
                pl.concat_list(
                    [pl.when(pl.col(r)).then(pl.lit(r)) for r in quarantine_rules]
                ).list.drop_nulls()
                if quarantine_rules
                else pl.lit([], dtype=pl.List(pl.String))
            )
        )
        # reasons are built for flagged rows only: most rows break nothing
        flagged = ~pl.col("__readable")
        if quarantine_rules:
            flagged = flagged | pl.any_horizontal([pl.col(r) for r in quarantine_rules])
        is_flagged = flags.select(flagged.alias("f")).to_series()
        rejected = flags.filter(is_flagged).select(pl.col(SOURCE_ROW), reasons.alias(REASONS))
        counts.violations[malformed_id] = int((~flags["__readable"]).sum())

        kept = typed.filter(~is_flagged).drop(RAW_ERROR)
        kept = kept.select([c.name for c in rules.columns] + [SOURCE_ROW])
        deduped = self._dedupe(kept, job)
        counts.duplicates_removed = len(kept) - len(deduped)
        silver = deduped.sort(SOURCE_ROW).with_columns(
            pl.lit(job.source_file).alias(SOURCE_FILE),
            pl.lit(job.batch_id).alias(BATCH_ID),
            pl.lit(job.ingested_at).cast(pl.Datetime("us", "UTC")).alias(INGESTED_AT),
        )
        schema = silver_schema(rules)
        silver_table = silver.select(schema.names).to_arrow().cast(schema)
        counts.silver_out = silver_table.num_rows
        counts.quarantined = len(rejected)
        rejects = rejected.sort(SOURCE_ROW).to_arrow().cast(REJECTS_SCHEMA)
        return TableResult(silver=silver_table, rejects=rejects, counts=counts)

    def _dedupe(self, kept: pl.DataFrame, job: TableJob) -> pl.DataFrame:
        dedupe = job.rules.dedupe
        if dedupe is None:
            return kept
        key = dedupe.key or [c.name for c in job.rules.columns]
        by = [dedupe.order_by, SOURCE_ROW] if dedupe.order_by else [SOURCE_ROW]
        ordered = kept.sort(by, nulls_last=False)
        return ordered.unique(subset=key, keep="last", maintain_order=True)

    def _column(self, c: ColumnRule, landed: pl.DataType | None) -> tuple[pl.Expr, pl.Expr]:
        """(typed value, cast failed) for one column."""
        target = polars_dtype(c.type)
        if landed is None:
            return pl.lit(None, dtype=target), pl.lit(False)
        src = pl.col(c.bronze_name)
        if landed != pl.String:
            value = self._from_typed(src, landed, target)
            return value, src.is_not_null() & value.is_null()
        text = pl.col(f"__t_{c.name}")
        value = self._parse(text, c)
        return value, text.is_not_null() & value.is_null()

    def _text(self, c: ColumnRule) -> pl.Expr:
        """Trim (ASCII whitespace), empty → null, mapping, case: the standardised text."""
        text = pl.col(c.bronze_name)
        if c.trim:
            text = text.str.strip_chars(WHITESPACE)
        text = pl.when(text.str.len_chars() == 0).then(None).otherwise(text)
        if c.mapping:
            lowered = {k.lower(): v for k, v in c.mapping.items()}
            text = text.str.to_lowercase().replace_strict(
                lowered, default=text, return_dtype=pl.String
            )
        if c.case == "lower":
            text = text.str.to_lowercase()
        elif c.case == "upper":
            text = text.str.to_uppercase()
        return text

    def _from_typed(self, src: pl.Expr, landed: pl.DataType, target: pl.DataType) -> pl.Expr:
        if target == pl.String:
            return src.cast(pl.String)
        if isinstance(target, pl.Decimal) and landed.is_float():
            # polars raises on some floats one digit too wide; out of range is a cast failure
            p, scale = target.precision or 38, target.scale or 0
            units = (src * 10.0**scale).round(0, mode="half_to_even")
            src = pl.when(units.abs() < 10.0**p).then(src)
        return src.cast(target, strict=False)

    def _parse(self, text: pl.Expr, c: ColumnRule) -> pl.Expr:
        t = c.type
        if t == "string":
            return text
        if t == "bool":
            low = text.str.to_lowercase()
            return (
                pl.when(low.is_in(list(TRUE_TEXT)))
                .then(True)
                .when(low.is_in(list(FALSE_TEXT)))
                .then(False)
            )
        if t in ("int", "float") or t.startswith("decimal("):
            num = _normalise_number(text)
            if t == "int":
                return pl.when(num.str.contains(INT_TEXT)).then(num.cast(pl.Int64, strict=False))
            if t == "float":
                return pl.when(num.str.contains(FLOAT_TEXT)).then(
                    num.cast(pl.Float64, strict=False)
                )
            p, s = (int(x) for x in t[8:-1].split(","))
            frac = num.str.extract(r"\.(\d+)$", 1).str.len_chars().fill_null(0)
            whole = num.str.extract(r"^[+-]?0*(\d*)", 1).str.len_chars()
            ok = num.str.contains(DECIMAL_TEXT) & (frac <= s) & (whole <= p - s)
            return pl.when(ok).then(num.cast(pl.Decimal(p, s), strict=False))
        if t in ("date", "timestamp"):
            return pl.col(f"__v_{c.name}")
        raise AssertionError(t)

    def _check(self, chk: Check, c: ColumnRule) -> pl.Expr:
        col = pl.col(c.name)
        if chk.kind == "not_null":
            return col.is_null() & ~pl.col(f"__bad_{c.name}")
        if chk.kind == "range":
            dtype = polars_dtype(c.type)
            out = pl.lit(False)
            if chk.min is not None:
                out = out | (col < _literal(_inward(chk.min, c.type, up=True), dtype))
            if chk.max is not None:
                out = out | (col > _literal(_inward(chk.max, c.type, up=False), dtype))
            return col.is_not_null() & out
        if chk.kind == "enum":
            assert chk.values is not None
            allowed = pl.Series(list(chk.values)).cast(polars_dtype(c.type), strict=False)
            return col.is_not_null() & ~col.is_in(allowed.implode())
        assert chk.pattern is not None
        return col.is_not_null() & ~col.cast(pl.String).str.contains(chk.pattern)

    # --------------------------------------------------------------- marts
    def mart(self, mart: MartSpec, silver: dict[str, Data], schemas: dict[str, pa.Schema]) -> Data:
        out_schema = mart_schema(mart, schemas)
        frame = _frame(silver[mart.source]).lazy()
        for j in mart.joins:
            right = _frame(silver[j.table]).lazy()
            cols = [c for c in j.columns if c not in frame.collect_schema().names()]
            right = right.select([j.key, *cols]).unique(
                subset=[j.key], keep="last", maintain_order=True
            )
            frame = frame.join(right, on=j.key, how="left", nulls_equal=False)
        keys = []
        for g in mart.group_by:
            col = pl.col(g.column)
            if g.grain == "day":
                col = col.cast(pl.Date)
            elif g.grain == "month":
                col = col.cast(pl.Date).dt.truncate("1mo")
            keys.append(col.alias(g.output))
        joined = joined_schema(mart, schemas)
        aggs = [
            self._measure(name, m, out_schema.field(name).type, joined)
            for name, m in mart.measures.items()
        ]
        result = (
            frame.group_by(keys).agg(aggs).sort([g.output for g in mart.group_by], nulls_last=False)
        )
        table = result.collect().select(out_schema.names).to_arrow()
        return table.cast(out_schema)

    def _measure(self, name: str, m: Measure, out_type: pa.DataType, joined: pa.Schema) -> pl.Expr:
        node = parse_measure(m.expr)
        if m.fn == "count":
            counted = pl.len() if node is None else _expr(node, joined).count()
            return counted.cast(pl.Int64).alias(name)
        assert node is not None
        e = _expr(node, joined)
        if m.fn == "count_distinct":
            return e.drop_nulls().n_unique().cast(pl.Int64).alias(name)
        if m.fn == "mean":
            if pa.types.is_decimal(out_type):
                return _decimal_mean(e, out_type.scale).alias(name)
            return (e.cast(pl.Float64).sum() / e.count()).alias(name)
        agg: pl.Expr = getattr(e, m.fn)()
        return agg.alias(name)


def _expr(node: Node, schema: pa.Schema) -> pl.Expr:
    if isinstance(node, Col):
        return pl.col(node.name)
    if isinstance(node, Num):
        return pl.lit(node.value)
    assert isinstance(node, BinOp)
    left, right = _expr(node.left, schema), _expr(node.right, schema)
    if node.op == "/":
        return left.cast(pl.Float64) / right.cast(pl.Float64)
    lt, rt = expr_type(node.left, schema), expr_type(node.right, schema)
    if node.op == "*" and pa.types.is_decimal(lt) and pa.types.is_decimal(rt):
        # polars multiplies at the larger scale; widen one side so the product is exact
        left = left.cast(pl.Decimal(38, lt.scale + rt.scale))
    out: pl.Expr = _OPS[node.op](left, right)
    return out


def _decimal_mean(e: pl.Expr, scale: int) -> pl.Expr:
    """sum / count rounded half away from zero at `scale`, in exact integer arithmetic."""
    units = (e * (10**scale)).cast(pl.Int128).sum()
    n = e.count().cast(pl.Int128)
    magnitude = pl.when(units < 0).then(pl.lit(0, dtype=pl.Int128) - units).otherwise(units)
    q = (magnitude * 2 + n) // (n * 2)
    signed = pl.when(units < 0).then(pl.lit(0, dtype=pl.Int128) - q).otherwise(q)
    as_decimal = signed.cast(pl.Decimal(38, scale)) / pl.lit(10**scale).cast(pl.Decimal(38, 0))
    out: pl.Expr = pl.when(n > 0).then(as_decimal.cast(pl.Decimal(38, scale)))
    return out


def _inward(value: object, type_name: str, *, up: bool) -> object:
    """A numeric bound with more digits than the column rounded inward (min up, max down),
    so comparing in the column's type decides exactly as comparing the exact values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    exact = DecimalValue(str(value))
    if type_name == "int":
        return int(exact.to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR))
    if type_name.startswith("decimal("):
        scale = int(type_name[8:-1].split(",")[1])
        step = DecimalValue(1).scaleb(-scale)
        return exact.quantize(step, rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return value


def _literal(value: object, dtype: pl.DataType) -> pl.Expr:
    if isinstance(value, datetime | date) or dtype in (pl.Date, pl.Datetime("us")):
        v = value
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        if dtype == pl.Date and isinstance(v, datetime):
            v = v.date()
        return pl.lit(v).cast(dtype)
    return pl.lit(value).cast(dtype)


def _normalise_number(text: pl.Expr) -> pl.Expr:
    """European and US grouping, decimal comma → plain text the casts understand."""
    return (
        pl.when(text.str.contains(EURO_GROUPED))
        .then(text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .when(text.str.contains(DECIMAL_COMMA))
        .then(text.str.replace(",", ".", literal=True))
        .when(text.str.contains(US_GROUPED))
        .then(text.str.replace_all(",", "", literal=True))
        .otherwise(text)
    )


def time_formats(formats: list[str], kind: str) -> list[DateFormat]:
    """The formats that apply to a date or timestamp column, compiled."""
    out = [compile_format(fmt) for fmt in formats]
    if kind == "date":
        out = [f for f in out if not any(g in "HMSs" for g in f.groups)]
    return out


def _parse_time_series(text: pl.Series, formats: list[str], kind: str) -> pl.Series:
    """`_parse_time` over a column, narrowing: each format sees only the unread rows."""
    dtype = pl.Date() if kind == "date" else pl.Datetime("us")
    out = pl.Series(text.name, [None] * len(text), dtype=dtype)
    todo = np.flatnonzero(text.is_not_null().to_numpy())
    for f in time_formats(formats, kind):
        if not len(todo):
            break
        frame = pl.DataFrame({"t": text.gather(todo)}).with_columns(
            pl.col("t").str.extract_groups(f.regex).alias(group_column("t", 0))
        )
        got = frame.select(_parse_time(pl.col("t"), [f.format], kind, "t")).to_series()
        if len(got) != len(todo):  # a format without year and month reads nothing
            continue
        ok = got.is_not_null().to_numpy()
        if ok.any():
            out = out.scatter(todo[ok], got.filter(pl.Series(ok)))
        todo = todo[~ok]
    return out


def group_column(name: str, k: int) -> str:
    """Where stage 1 puts the regex groups of format `k` of column `name`."""
    return f"__g{k}_{name}"


def _parse_time(text: pl.Expr, formats: list[str], kind: str, name: str | None = None) -> pl.Expr:
    """First format whose regex matches and whose fields form a real date wins.

    With `name`, each format's regex groups are read from the columns stage 1 made
    (`group_column`): the regex then runs once per format, not once per use.
    """
    candidates = []
    for k, f in enumerate(time_formats(formats, kind)):
        parts = pl.col(group_column(name, k)) if name else text.str.extract_groups(f.regex)
        fields: dict[str, pl.Expr] = {}
        for i, g in enumerate(f.groups):
            piece = parts.struct[i]
            if g == "b":
                fields["m"] = piece.str.to_lowercase().replace_strict(
                    {m: i + 1 for i, m in enumerate(MONTHS)}, default=None, return_dtype=pl.Int64
                )
            else:
                fields[g] = piece.cast(pl.Int64, strict=False)
        if "s" in fields:
            secs = fields["s"]
            ok = secs.is_between(0, MAX_EPOCH_SECONDS)
            value = pl.from_epoch(pl.when(ok).then(secs).otherwise(0), time_unit="s").cast(
                pl.Datetime("us")
            )
            candidates.append(pl.when(ok.fill_null(False)).then(value))
            continue
        y = fields.get("Y")
        m = fields.get("m")
        d = fields.get("d", pl.lit(1))
        hh = fields.get("H", pl.lit(0))
        mm = fields.get("M", pl.lit(0))
        ss = fields.get("S", pl.lit(0))
        if y is None or m is None:
            continue
        leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
        dim = (
            pl.when(m == 2)
            .then(pl.when(leap).then(29).otherwise(28))
            .when(m.is_in([4, 6, 9, 11]))
            .then(30)
            .otherwise(31)
        )
        valid = (
            y.is_not_null()
            & m.is_between(1, 12)
            & d.is_between(1, 31)
            & (d <= dim)
            & hh.is_between(0, 23)
            & mm.is_between(0, 59)
            & ss.is_between(0, 59)
        )
        fy = pl.when(valid).then(y).otherwise(2000)
        fm = pl.when(valid).then(m).otherwise(1)
        fd = pl.when(valid).then(d).otherwise(1)
        if kind == "date":
            built = pl.date(fy, fm, fd)
        else:
            built = pl.datetime(
                fy,
                fm,
                fd,
                pl.when(valid).then(hh).otherwise(0),
                pl.when(valid).then(mm).otherwise(0),
                pl.when(valid).then(ss).otherwise(0),
                time_unit="us",
            )
        candidates.append(pl.when(valid.fill_null(False)).then(built))
    if not candidates:
        return pl.lit(None, dtype=pl.Date if kind == "date" else pl.Datetime("us"))
    return pl.coalesce(candidates)
