"""The Spark engine: the heavy path, row for row the answer of the polars reference.

Spark reads Parquet files (raw Bronze staged by the pipeline, parent keys, Silver for
marts) and writes Parquet files into a work folder; the pipeline commits them to Delta
with delta-rs, because Spark's Delta jars come from Maven, which is unreachable offline.
Cleaning rules compile to Spark SQL text evaluated in the JVM (one call per column and
stage, where the Column API costs a round trip per operator): no Python UDF, so no
Python worker processes.

Where Spark and polars disagree by default, this module follows polars:

- Regular expressions: polars runs Rust's regex crate, Spark runs java.util.regex.
  `java_regex` closes the gaps that change matches: Java's ``$`` also matches before a
  final line break (→ ``\\z``), Java's ``.`` stops at more line terminators (→ flag
  ``d``), Rust's ``\\d \\w \\s \\b`` are Unicode (→ flag ``U`` for rule patterns), Python's
  ``(?P<name>`` and Rust's POSIX classes are spelled the Java way. The shared number and
  date regexes use ASCII digits: polars' casts reject other digits after its regex
  accepted them, while Java's BigDecimal would read them.
- Casts run only on text a shared regex accepted (Spark's casts trim and accept more).
  Columns landed typed are cast by the Arrow type polars sees (the Parquet file's Arrow
  schema), not by Spark's reading of it: timestamps keep their unit (ms, ns) and zone,
  uint64 stays an integer, categories cast only to text, and the casts polars refuses
  fail the run once a value is there. Float and decimal to int casts that overflow give
  null (Spark would saturate or wrap); rescaling rounds half to even; floats become text
  in polars' digits (the shortest that read back, its exponent thresholds).
- Range bounds (rounded inward to the column's precision) and enum values are converted
  to the column type by polars, exactly as the reference does, then written as typed
  SQL literals.
- Dates and timestamps are built with make_date / make_timestamp_ntz from the shared
  format regexes after a calendar check; Spark's own datetime patterns are never used.
- Marts: division is IEEE (x/0 is ±inf, 0/0 NaN; Spark would give null), decimal
  products and means are exact (decimal precision loss is off), sums of no values are 0
  and float means of no values NaN (polars: 0.0 / 0; its decimal means give null).

Known differences, outside what the generator and the derived rules produce: case
mappings follow Java 17's Unicode 13 tables (letters added in Unicode 14-16, and a final
sigma after one, map as polars' Rust tables do not); Unicode classes in rule patterns
follow Java's Unicode version; float sums and means may differ in the last bits
(summation order).

The session is one per process (`spark_session`), local, offline, in UTC.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import uuid
from collections import deque
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from udo.domain.marts import MartSpec, Measure
from udo.domain.rules import Check, ColumnRule, TableRules
from udo.errors import TerminalError
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
    RAW_LINE,
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
from udo.pipeline.engines.polars import polars_dtype
from udo.pipeline.marts import Col, Node, Num, mart_schema, parse_measure

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType

SESSION_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # the JVM's default locale decides lower()/upper() of non-ASCII text
    "spark.driver.extraJavaOptions": "-Duser.language=en -Duser.country=US -Duser.timezone=UTC",
}
"""Static settings of the local session: offline, no UI, nothing written beside the data."""

SQL_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",  # failed casts give null, the semantics need it
    "spark.sql.caseSensitive": "true",  # column names are case-sensitive, as in polars
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",  # mart decimals stay exact
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.legacy.parquet.nanosAsLong": "true",  # ns timestamps: read the numbers
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
}
"""Runtime settings the semantics depend on; applied to whichever session the engine uses."""

_session: SparkSession | None = None
_session_lock = threading.Lock()
_INT64 = ("-9223372036854775808", "9223372036854775808")
"""[min, end) of 64-bit integers, as SQL text."""
_REFUSED = "udo-refused-cast:"
"""Brackets the message of a refused cast in a failed Spark job."""
_FRACTION = r"\.(\d+)$"
_WHOLE = r"^[+-]?0*(\d*)"
"""The fractional digits, and the integer digits without leading zeros, of a number."""


def spark_session(
    cores: int = 2, driver_memory: str = "1g", shuffle_partitions: int = 4, java_options: str = ""
) -> SparkSession:
    """The process's local Spark session, started on first use (about 20 s), offline.

    The arguments apply when this call starts the session. `java_options` are added to
    the driver JVM's (e.g. ``-XX:TieredStopAtLevel=1`` for short test sessions, which
    halves their time on two cores; long jobs want the default optimising compiler).
    """
    global _session
    with _session_lock:
        if _session is not None and _session.sparkContext._jsc is not None:
            return _session
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.master(f"local[{cores}]").appName("udo")
        conf = {
            **SESSION_CONF,
            **SQL_CONF,
            "spark.driver.memory": driver_memory,
            "spark.sql.shuffle.partitions": str(shuffle_partitions),
        }
        if java_options:
            key = "spark.driver.extraJavaOptions"
            conf[key] = f"{conf[key]} {java_options}"
        for key, value in conf.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _session = session
        return session


# ----------------------------------------------------------------- regexes
_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\x0B\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


@cache
def java_regex(pattern: str, *, unicode: bool = True) -> str:
    """A Rust-regex (polars) pattern as a Java (Spark) pattern with the same matches.

    `unicode` keeps Rust's Unicode ``\\d \\w \\s``; without it ``\\d`` is ``[0-9]`` (the
    shared number and date regexes, whose casts accept ASCII digits only).
    """
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    out: list[str] = []
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "d" and not unicode:
                out.append("0-9" if depth else "[0-9]")
            elif nxt == "v":  # Java's \v is every vertical space, Rust's only U+000B
                out.append("\\x0B")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if depth:
            posix = re.match(r"\[:(\^?)([a-z]+):\]", pattern[i:])
            if posix and posix.group(2) in _POSIX:
                body = _POSIX[posix.group(2)]
                out.append(f"[^{body}]" if posix.group(1) else body)
                i += posix.end()
                continue
            depth += ch == "["
            depth -= ch == "]"
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            depth = 1
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "$" and not multiline:
            out.append("\\z")  # Java's $ also matches before a final line break
        elif pattern.startswith("(?P<", i):
            out.append("(?<")
            i += 4
            continue
        else:
            out.append(ch)
        i += 1
    return ("(?dU)" if unicode else "") + "".join(out)


def _ascii(pattern: str) -> str:
    return java_regex(pattern, unicode=False)


# ------------------------------------------------------------------ types
def spark_type(type_name: str) -> DataType:
    """Spark type of a Silver column type."""
    from pyspark.sql import types as T

    if type_name.startswith("decimal("):
        p, s = (int(x) for x in type_name[8:-1].split(","))
        return T.DecimalType(p, s)
    return {
        "int": T.LongType(),
        "float": T.DoubleType(),
        "string": T.StringType(),
        "bool": T.BooleanType(),
        "date": T.DateType(),
        "timestamp": T.TimestampNTZType(),
    }[type_name]


def _sql_type(type_name: str) -> str:
    return spark_type(type_name).simpleString()


def _from_arrow(t: pa.DataType) -> DataType:
    from pyspark.sql import types as T

    if pa.types.is_decimal(t):
        return T.DecimalType(t.precision, t.scale)
    if pa.types.is_timestamp(t):
        return T.TimestampType() if t.tz else T.TimestampNTZType()
    if pa.types.is_integer(t):
        return T.LongType()
    if pa.types.is_floating(t):
        return T.DoubleType()
    if pa.types.is_boolean(t):
        return T.BooleanType()
    if pa.types.is_date(t):
        return T.DateType()
    return T.StringType()


def _q(name: str) -> str:
    """A column name quoted for SQL (dots, spaces and backticks included)."""
    return "`" + name.replace("`", "``") + "`"


def _s(text: str) -> str:
    """A SQL string literal: backslashes and quotes escaped, everything else verbatim."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _col(name: str) -> Column:
    """A column by its exact name."""
    from pyspark.sql import functions as F

    return F.col(_q(name))


def _null(type_name: str) -> str:
    return f"CAST(NULL AS {_sql_type(type_name)})"


def _float_text(value: str, width: int = 64) -> str:
    """A float as polars writes it: the shortest digits that read back at its width, with
    an exponent below 1e-5 or from 1e16 (float32: below 1e-6 or from 1e13)."""
    low, high = (-5, 16) if width == 64 else (-6, 13)
    kind = "DOUBLE" if width == 64 else "FLOAT"
    # the fewest significant digits that read back (Java's own toString is not always
    # the shortest before JDK 19)
    tries = [f"format_string('%.{p}e', CAST({value} AS DOUBLE))" for p in range(17)]
    shortest = (
        "CASE "
        + " ".join(f"WHEN CAST({t} AS {kind}) = {value} THEN {t}" for t in tries[:-1])
        + f" ELSE {tries[-1]} END"
    )
    parts = (
        "named_struct('neg', fc LIKE '-%', 'd', TRIM(TRAILING '0' FROM"
        " translate(regexp_extract(fc, '^-?([0-9.]+)e', 1), '.', '')),"
        " 'e', CAST(regexp_extract(fc, 'e([+-][0-9]+)$', 1) AS INT))"
    )
    sign = "IF(fp.neg, '-', '')"
    layout = (
        f"CASE WHEN fp.e < {low} OR fp.e >= {high} THEN concat({sign}, substr(fp.d, 1, 1),"
        " IF(length(fp.d) > 1, concat('.', substr(fp.d, 2)), ''), 'e',"
        " IF(fp.e >= 0, '+', '-'), CAST(abs(fp.e) AS STRING))"
        f" WHEN fp.e < 0 THEN concat({sign}, '0.', repeat('0', -fp.e - 1), fp.d)"
        f" ELSE concat({sign}, rpad(substr(fp.d, 1, fp.e + 1), fp.e + 1, '0'), '.',"
        " IF(length(fp.d) > fp.e + 1, substr(fp.d, fp.e + 2), '0')) END"
    )
    digits = (
        f"element_at(transform(array({shortest}), fc ->"
        f" element_at(transform(array({parts}), fp -> {layout}), 1)), 1)"
    )
    return (
        f"CASE WHEN isnan({value}) THEN 'NaN'"
        f" WHEN {value} = CAST('Infinity' AS {kind}) THEN 'inf'"
        f" WHEN {value} = CAST('-Infinity' AS {kind}) THEN '-inf'"
        f" WHEN {value} = 0 THEN IF(CAST({value} AS STRING) LIKE '-%', '-0.0', '0.0')"
        f" ELSE {digits} END"
    )


def _as_text(value: str, type_name: str) -> str:
    """A Silver value as polars writes it as text."""
    if type_name == "string":
        return value
    if type_name == "float":
        return _float_text(value)
    if type_name == "timestamp":
        return f"date_format({value}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')"
    return f"CAST({value} AS STRING)"


# -------------------------------------------------------------- constants
def _literals(series: pl.Series, type_name: str) -> list[str]:
    """SQL literals of the column type for the non-null values of a polars series."""
    series = series.drop_nulls()
    if type_name == "date":
        return [f"date_from_unix_date({d})" for d in series.cast(pl.Int32).to_list()]
    if type_name == "timestamp":
        micros = series.cast(pl.Int64).to_numpy().astype("datetime64[us]")
        return [f"CAST({_s(str(m).replace('T', ' '))} AS TIMESTAMP_NTZ)" for m in micros]
    values = series.to_list()
    if type_name.startswith("decimal("):
        return [f"CAST({_s(str(v))} AS {_sql_type(type_name)})" for v in values]
    if type_name == "float":
        return [f"CAST({_s(repr(float(v)))} AS DOUBLE)" for v in values]
    if type_name == "int":
        return [f"CAST({_s(str(int(v)))} AS BIGINT)" for v in values]
    if type_name == "bool":
        return ["true" if v else "false" for v in values]
    return [_s(str(v)) for v in values]


def _inward(value: object, type_name: str, *, up: bool) -> object:
    """A numeric bound with more digits than an int or decimal column, rounded inward
    (min up, max down), so comparing in the column's type decides as the exact values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    exact = Decimal(str(value))
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    if type_name == "int":
        return int(exact.to_integral_value(rounding=rounding))
    if type_name.startswith("decimal("):
        scale = int(type_name[8:-1].split(",")[1])
        return exact.quantize(Decimal(1).scaleb(-scale), rounding=rounding)
    return value


def _bound(value: object, type_name: str, *, up: bool) -> str:
    """A range bound as the column type, converted exactly as the polars engine does."""
    value = _inward(value, type_name, up=up)
    dtype = polars_dtype(type_name)
    if isinstance(value, datetime | date) or dtype in (pl.Date, pl.Datetime("us")):
        v = value
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        if dtype == pl.Date and isinstance(v, datetime):
            v = v.date()
        expr = pl.lit(v).cast(dtype)
    else:
        expr = pl.lit(value).cast(dtype)
    literals = _literals(pl.select(expr.alias("v")).to_series(), type_name)
    return literals[0] if literals else _null(type_name)


def _allowed(values: list[Any], type_name: str) -> list[str]:
    """Enum values as the column type (values that do not cast are dropped, as in polars)."""
    series = pl.Series(list(values)).cast(polars_dtype(type_name), strict=False)
    return _literals(series, type_name)


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is UTC (as polars casts it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


# --------------------------------------------------------------- cleaning
def _standardise(c: ColumnRule) -> str:
    """Trim, empty → null, value mapping, case: step 2 of the semantics."""
    text = _q(c.bronze_name)
    if c.trim:
        text = f"btrim({text}, {_s(WHITESPACE)})"
    text = f"nullif({text}, '')"
    if c.mapping:
        lowered = {k.lower(): v for k, v in c.mapping.items()}
        pairs = ", ".join(f"{_s(k)}, {_s(v)}" for k, v in lowered.items())
        text = f"coalesce(try_element_at(map({pairs}), lower({text})), {text})"
    if c.case == "lower":
        text = f"lower({text})"
    elif c.case == "upper":
        text = f"upper({text})"
    return text


def _matches(text: str, pattern: str) -> str:
    """`text` RLIKE a shared (ASCII-digit) regex."""
    return f"{text} RLIKE {_s(java_regex(pattern, unicode=False))}"


def _normalise_number(text: str) -> str:
    """European and US grouping, decimal comma → plain text the casts understand."""
    return (
        f"CASE WHEN {_matches(text, EURO_GROUPED)}"
        f" THEN translate(translate({text}, '.', ''), ',', '.')"
        f" WHEN {_matches(text, DECIMAL_COMMA)} THEN translate({text}, ',', '.')"
        f" WHEN {_matches(text, US_GROUPED)} THEN translate({text}, ',', '')"
        f" ELSE {text} END"
    )


def _time_formats(formats: list[str], kind: str) -> list[tuple[int, DateFormat]]:
    """The formats a date or timestamp column can be read with, by position."""
    out = []
    for k, fmt in enumerate(formats):
        f = compile_format(fmt)
        if kind == "date" and any(g in "HMSs" for g in f.groups):
            continue
        fields = {"m" if g == "b" else g for g in f.groups}
        if "s" in fields or {"Y", "m"} <= fields:
            out.append((k, f))
    return out


def _prepare(c: ColumnRule, i: int) -> dict[str, str]:
    """Intermediate columns the cast of column `i` reads, each computed once per row."""
    t, text = c.type, f"__t{i}"
    if t in ("int", "float") or t.startswith("decimal("):
        return {f"__p{i}": _normalise_number(text)}
    if t not in ("date", "timestamp"):
        return {}
    months = "map(" + ", ".join(f"'{m}', {n + 1}" for n, m in enumerate(MONTHS)) + ")"
    out: dict[str, str] = {}
    for k, f in _time_formats(c.formats or [], t):
        regex = _s(java_regex(f.regex, unicode=False))
        for n, g in enumerate(f.groups):
            piece = f"regexp_extract({text}, {regex}, {n + 1})"  # '' when it does not match
            if g == "b":
                piece = f"try_element_at({months}, lower({piece}))"
            out[f"__p{i}_{k}_{n}"] = f"CAST({piece} AS BIGINT)"
    return out


def _parse(c: ColumnRule, i: int) -> str:
    """Standardised text `__t<i>` (and its prepared pieces) → the column type, or null."""
    t, text, num = c.type, f"__t{i}", f"__p{i}"
    if t == "string":
        return text
    if t == "bool":
        true, false = (", ".join(_s(v) for v in values) for values in (TRUE_TEXT, FALSE_TEXT))
        return (
            f"CASE WHEN lower({text}) IN ({true}) THEN true"
            f" WHEN lower({text}) IN ({false}) THEN false END"
        )
    if t == "int":
        return f"CASE WHEN {_matches(num, INT_TEXT)} THEN CAST({num} AS BIGINT) END"
    if t == "float":
        return f"CASE WHEN {_matches(num, FLOAT_TEXT)} THEN CAST({num} AS DOUBLE) END"
    if t.startswith("decimal("):
        p, s = (int(x) for x in t[8:-1].split(","))
        frac = f"length(regexp_extract({num}, {_s(java_regex(_FRACTION, unicode=False))}, 1))"
        whole = f"length(regexp_extract({num}, {_s(java_regex(_WHOLE, unicode=False))}, 1))"
        ok = f"{_matches(num, DECIMAL_TEXT)} AND {frac} <= {s} AND {whole} <= {p - s}"
        return f"CASE WHEN {ok} THEN CAST({num} AS {_sql_type(t)}) END"
    if t in ("date", "timestamp"):
        return _parse_time(c.formats or [], t, i)
    raise AssertionError(t)


def _parse_time(formats: list[str], kind: str, i: int) -> str:
    """First format whose regex matched and whose fields form a real date wins."""
    candidates: list[str] = []
    for k, f in _time_formats(formats, kind):
        fields: dict[str, str] = {}
        for n, g in enumerate(f.groups):
            fields["m" if g == "b" else g] = f"__p{i}_{k}_{n}"
        if "s" in fields:
            secs = fields["s"]
            ok = f"coalesce({secs} BETWEEN 0 AND {MAX_EPOCH_SECONDS}, false)"
            # timestamp_seconds is an instant: its wall clock in the session's UTC
            value = f"CAST(timestamp_seconds({secs}) AS TIMESTAMP_NTZ)"
            candidates.append(f"CASE WHEN {ok} THEN {value} END")
            continue
        y, m = fields["Y"], fields["m"]
        d = fields.get("d", "1")
        hh, mm, ss = (fields.get(key, "0") for key in "HMS")
        leap = f"(({y} % 4 = 0 AND {y} % 100 != 0) OR {y} % 400 = 0)"
        dim = (
            f"CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END"
            f" WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
        )
        valid = (
            f"{y} IS NOT NULL AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND 31"
            f" AND {d} <= {dim} AND {hh} BETWEEN 0 AND 23 AND {mm} BETWEEN 0 AND 59"
            f" AND {ss} BETWEEN 0 AND 59"
        )
        ymd = f"CAST({y} AS INT), CAST({m} AS INT), CAST({d} AS INT)"
        if kind == "date":
            built = f"make_date({ymd})"
        else:
            hms = f"CAST({hh} AS INT), CAST({mm} AS INT), CAST({ss} AS DECIMAL(16, 6))"
            built = f"make_timestamp_ntz({ymd}, {hms})"
        candidates.append(f"CASE WHEN coalesce({valid}, false) THEN {built} END")
    if not candidates:
        return _null(kind)
    return f"coalesce({', '.join(candidates)})"


class UnsupportedCast(TerminalError):
    """A landed column cannot be cast to its rule's type (polars refuses the cast too)."""


def _landed_kind(t: pa.DataType) -> str:
    """What polars makes of a landed Arrow type, for casting."""
    if pa.types.is_dictionary(t):
        return "category"
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_unsigned_integer(t) and t.bit_width == 64:
        return "uint64"  # Spark reads it as decimal(20,0)
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return "other"


def _timestamp_parts(src: str, t: pa.TimestampType) -> tuple[str, str]:
    """(UTC microseconds, the value in its own unit) of a landed timestamp column.

    Spark reads ms and us as timestamps (tz-aware ones as instants), ns as raw numbers.
    """
    if t.unit == "ns":
        return f"(({src} - pmod({src}, 1000)) div 1000)", src  # floor, as polars
    micros = f"unix_micros({src})" if t.tz else f"unix_micros(CAST({src} AS TIMESTAMP))"
    return micros, (f"({micros} div 1000)" if t.unit in ("s", "ms") else micros)


def _timestamp_text(src: str, t: pa.TimestampType) -> str:
    """A landed timestamp as polars writes it: local time, its unit's digits, offset."""
    micros, raw = _timestamp_parts(src, t)
    instant = f"timestamp_micros({micros})"
    local = f"from_utc_timestamp({instant}, {_s(t.tz)})" if t.tz else instant
    fraction = {"s": ".SSS", "ms": ".SSS", "us": ".SSSSSS", "ns": ""}[t.unit]
    text = f"date_format({local}, 'yyyy-MM-dd HH:mm:ss{fraction}')"
    if t.unit == "ns":
        text = f"concat({text}, '.', lpad(CAST(pmod({raw}, 1000000000) AS STRING), 9, '0'))"
    if not t.tz:
        return text
    minutes = f"((unix_micros({local}) - {micros}) div 60000000)"
    offset = (
        f"concat(IF({minutes} < 0, '-', '+'), lpad(CAST(abs({minutes}) div 60 AS STRING), 2, '0'),"
        f" ':', lpad(CAST(pmod(abs({minutes}), 60) AS STRING), 2, '0'))"
    )
    return f"concat({text}, {offset})"


def _from_typed(src: str, landed: pa.DataType, type_name: str) -> str:
    """A column landed typed (Parquet) cast to the column type as polars casts it.

    The pairs polars refuses (bool to decimal, dates and timestamps to bool or decimal,
    decimals to dates, categories to anything but text) fail the job if a value is
    there (`UnsupportedCast`), as polars does.
    """
    kind = _landed_kind(landed)
    target = _sql_type(type_name)
    # polars refuses a cast only when the column holds a value: fail the job on the first
    message = f"{_REFUSED}cannot cast a {landed} column to {type_name}{_REFUSED}"
    refused = f"CASE WHEN {src} IS NOT NULL THEN CAST(raise_error({_s(message)}) AS {target}) END"
    in_int64 = f"{src} >= CAST({_s(_INT64[0])} AS {{0}}) AND {src} < CAST({_s(_INT64[1])} AS {{0}})"
    if kind == "null":
        return _null(type_name)
    if kind == "category":
        if type_name != "string":
            return refused
        return src  # polars casts a category to its text: no trimming, mapping or case
    if kind == "timestamp":
        assert isinstance(landed, pa.TimestampType)
        micros, raw = _timestamp_parts(src, landed)
        if type_name in ("int", "float"):
            return f"CAST({raw} AS {target})"
        if type_name == "string":
            return _timestamp_text(src, landed)
        if type_name in ("date", "timestamp"):
            return f"CAST(CAST(timestamp_micros({micros}) AS TIMESTAMP_NTZ) AS {target})"
        return refused
    if kind == "date":
        if type_name in ("int", "float"):
            return f"CAST(unix_date({src}) AS {target})"
        if type_name in ("date", "timestamp", "string"):
            return f"CAST({src} AS {target})"
        return refused
    if kind not in ("bool", "int", "uint64", "float", "decimal"):
        raise UnsupportedCast(f"cannot clean a column of Arrow type {landed}")
    if type_name == "string":
        if kind == "float":
            return _float_text(src, landed.bit_width)
        return f"CAST({src} AS STRING)"
    if type_name in ("float", "bool"):
        return f"CAST({src} AS {target})"  # NaN is true, as in polars
    scale = int(type_name[8:-1].split(",")[1]) if type_name.startswith("decimal(") else 0
    if type_name.startswith("decimal("):
        if kind == "bool":
            return refused
        if kind == "float":  # polars rounds x * 10^scale half to even, in float64
            factor = f"CAST({_s(repr(10.0**scale))} AS DOUBLE)"
            units = _whole_float(f"rint(CAST({src} AS DOUBLE) * {factor})")
            return f"CAST({_rescale_sql(units, scale)} AS {target})"
        if kind == "decimal":  # polars lowers a scale half to even
            return f"CAST(bround({src}, {scale}) AS {target})"
        return f"CAST({src} AS {target})"
    # int, date and timestamp targets read a whole number: days or microseconds
    if kind == "decimal" and type_name in ("date", "timestamp"):
        return refused
    whole = src
    if kind == "float":  # truncated toward zero, NaN and out of range are null
        whole = f"CASE WHEN {in_int64.format('DOUBLE')} THEN CAST({src} AS BIGINT) END"
    elif kind in ("decimal", "uint64"):
        whole = f"CASE WHEN {in_int64.format('DECIMAL(20, 0)')} THEN CAST({src} AS BIGINT) END"
    elif kind == "bool":
        whole = f"CAST({src} AS BIGINT)"
    if type_name == "int":
        return f"CAST({whole} AS BIGINT)"
    if type_name == "date":  # days, in 32 bits
        days = f"CASE WHEN {whole} BETWEEN -2147483648 AND 2147483647 THEN CAST({whole} AS INT) END"
        return f"date_from_unix_date({days})"
    return f"CAST(timestamp_micros(CAST({whole} AS BIGINT)) AS TIMESTAMP_NTZ)"


def _whole_float(value: str) -> str:
    """A whole float64 as DECIMAL(38, 0), digit for digit (null beyond 38 digits, inf, NaN).

    Spark's own cast goes through the shortest decimal text and loses the low digits of
    large floats; here the float is split into 32-bit parts, each exact in a double.
    """
    two32, two64 = "4294967296", "18446744073709551616"
    size = f"abs({value})"
    high = f"floor({size} / CAST('{two64}' AS DOUBLE))"
    rest = f"({size} - {high} * CAST('{two64}' AS DOUBLE))"
    middle = f"floor({rest} / CAST('{two32}' AS DOUBLE))"
    low = f"CAST({rest} - {middle} * CAST('{two32}' AS DOUBLE) AS BIGINT)"
    exact = (
        f"(CAST({high} AS DECIMAL(38, 0)) * CAST('{two64}' AS DECIMAL(38, 0))"
        f" + CAST({middle} AS DECIMAL(38, 0)) * {two32} + {low})"
    )
    return (
        f"CASE WHEN {size} < CAST('1e38' AS DOUBLE)"
        f" THEN CAST(IF({value} < 0, -{exact}, {exact}) AS DECIMAL(38, 0)) END"
    )


def _rescale_sql(units: str, scale: int) -> str:
    """An integral decimal divided by 10**scale, exactly."""
    step = _s(str(Decimal(1).scaleb(-scale)))
    return f"({units} * CAST({step} AS DECIMAL({max(scale, 1)}, {scale})))"


def _check(chk: Check, c: ColumnRule, value: str, bad: str) -> str:
    """Whether a row violates one check (null counts as no violation later)."""
    if chk.kind == "not_null":
        return f"({value} IS NULL AND NOT {bad})"
    if chk.kind == "range":
        out = []
        if chk.min is not None:
            out.append(f"{value} < {_bound(chk.min, c.type, up=True)}")
        if chk.max is not None:
            out.append(f"{value} > {_bound(chk.max, c.type, up=False)}")
        return f"({value} IS NOT NULL AND ({' OR '.join(out)}))"
    if chk.kind == "enum":
        assert chk.values is not None
        allowed = _allowed(chk.values, c.type)
        if not allowed:
            return f"({value} IS NOT NULL)"
        return f"({value} IS NOT NULL AND NOT ({value} IN ({', '.join(allowed)})))"
    assert chk.pattern is not None
    text = _as_text(value, c.type)
    return f"({value} IS NOT NULL AND NOT ({text} RLIKE {_s(java_regex(chk.pattern))}))"


def _stages(raw: DataFrame, rules: TableRules, landed: dict[str, pa.DataType]) -> DataFrame:
    """Raw rows → typed values `__v<i>` and cast failures `__b<i>`, in stages.

    Text, then its prepared pieces (number text, date fields), then values: each stage
    reads the previous one's columns, so no expression is copied into many places.
    `landed` holds the Arrow types of the raw columns, which decide casts as in polars.
    """
    texts: list[str] = []
    pieces: list[str] = []
    values: list[str] = []
    for i, c in enumerate(rules.columns):
        kind = landed.get(c.bronze_name)
        if kind is None:
            texts.append(f"{_null(c.type)} AS __t{i}")
            values.append(f"__t{i} AS __v{i}")
        elif _landed_kind(kind) != "string":
            texts.append(f"{_q(c.bronze_name)} AS __t{i}")
            values.append(f"{_from_typed(f'__t{i}', kind, c.type)} AS __v{i}")
        else:
            texts.append(f"{_standardise(c)} AS __t{i}")
            pieces += [f"{expr} AS {name}" for name, expr in _prepare(c, i).items()]
            values.append(f"{_parse(c, i)} AS __v{i}")
    n = len(rules.columns)
    std = raw.selectExpr(
        f"CAST({_q(SOURCE_ROW)} AS BIGINT) AS {SOURCE_ROW}",
        f"{_q(RAW_ERROR)} IS NULL AS __r",
        *texts,
    )
    staged = std.selectExpr("*", *pieces) if pieces else std
    typed = staged.selectExpr(SOURCE_ROW, "__r", *values, *[f"__t{i}" for i in range(n)])
    bads = [
        f"__t{i} IS NOT NULL AND __v{i} IS NULL AS __b{i}"
        if c.bronze_name in landed
        else f"false AS __b{i}"
        for i, c in enumerate(rules.columns)
    ]
    return typed.selectExpr(SOURCE_ROW, "__r", *[f"__v{i}" for i in range(n)], *bads)


# ------------------------------------------------------------------ marts
def _expr(node: Node) -> Column:
    from pyspark.sql import functions as F

    if isinstance(node, Col):
        return _col(node.name)
    if isinstance(node, Num):
        return F.lit(node.value)
    left, right = _expr(node.left), _expr(node.right)
    if node.op == "/":
        return _divide(left.cast("double"), right.cast("double"))
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    return left * right


def _divide(left: Column, right: Column) -> Column:
    """IEEE division, as polars divides floats (Spark's x/0 is null)."""
    from pyspark.sql import functions as F

    inf = F.lit(float("inf"))
    same_sign = (left > 0) == ~right.cast("string").startswith("-")
    return (
        F.when(left.isNull() | right.isNull(), F.lit(None).cast("double"))
        .when(right != 0, left / right)
        .when(F.isnan(left) | (left == 0), F.lit(float("nan")))
        .when(same_sign, inf)
        .otherwise(-inf)
    )


def _measure(n: int, m: Measure, out: pa.DataType) -> tuple[list[Column], Column]:
    """(aggregations, final value over their results) for one measure."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    a, u, c = f"__a{n}", f"__u{n}", f"__c{n}"
    node = parse_measure(m.expr)
    if m.fn == "count":
        counted = F.count(F.lit(1)) if node is None else F.count(_expr(node))
        return [counted.alias(a)], F.col(a)
    assert node is not None
    e = _expr(node)
    if m.fn == "count_distinct":
        return [F.count_distinct(e).alias(a)], F.col(a)
    if m.fn == "mean" and pa.types.is_decimal(out):
        # sum / count rounded half away from zero at the scale, in exact integers
        # (38 digits, as the reference sums 128-bit integers; the mean fits 64 bits)
        scale = out.scale
        units = (e * F.lit(10**scale)).cast(T.DecimalType(38, 0))
        q = f"((abs(`{u}`) * 2 + `{c}`) div (`{c}` * 2))"
        signed = f"CAST(CASE WHEN `{u}` < 0 THEN -{q} ELSE {q} END AS DECIMAL(19, 0))"
        value = F.expr(f"CASE WHEN `{c}` > 0 THEN {_rescale_sql(signed, scale)} END")
        return [F.sum(units).alias(u), F.count(e).alias(c)], value
    if m.fn == "mean":  # polars: sum / count, so no values give 0.0 / 0, NaN
        aggs = [F.sum(e.cast("double")).alias(u), F.count(e).alias(c)]
        return aggs, F.when(F.col(c) > 0, F.col(u) / F.col(c)).otherwise(F.lit(float("nan")))
    if m.fn == "sum":
        zero = F.lit(0).cast(_from_arrow(out))
        return [F.sum(e).alias(a)], F.coalesce(F.col(a), zero)
    fn = F.min if m.fn == "min" else F.max
    if pa.types.is_floating(out):  # polars' min/max skip NaN unless all are NaN
        return [fn(F.when(~F.isnan(e), e)).alias(a), fn(e).alias(u)], F.coalesce(F.col(a), F.col(u))
    return [fn(e).alias(a)], F.col(a)


def _as_polars_reads(table: pa.Table) -> pa.Table:
    """An Arrow table with the types polars gives it (date64 and seconds as milliseconds),
    so its Parquet file tells Spark what polars would see."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_date64(t):
            t = pa.timestamp("ms")
        elif pa.types.is_timestamp(t) and t.unit == "s":
            t = pa.timestamp("ms", tz=t.tz)
        fields.append(f.with_type(t))
    return table.cast(pa.schema(fields))


def _rows(data: Data) -> int:
    """Rows of an input, from Parquet footers (no Spark job)."""
    if isinstance(data, pa.Table):
        return int(data.num_rows)
    return sum(int(pq.ParquetFile(p).metadata.num_rows) for p in data)


# ----------------------------------------------------------------- engine
class SparkEngine(Engine):
    """Rules compiled to Spark SQL; Parquet in, Parquet out (the heavy path).

    Outputs are written under `work_dir` (a temporary folder by default, removed by
    `close`); each call writes a new folder and the oldest beyond `keep_outputs` are
    removed, so a long-running worker's disk stays bounded while the files a call returns
    stay valid for the next `keep_outputs - 1` calls (the pipeline reads them at once).
    Inputs of at most `single_file_rows` rows give one sorted file per output (no
    sampling job for a global sort), and a table's counts are taken while its rejects
    are written; larger ones are range-sorted (files in order) and counted by a job.
    """

    name: ClassVar[str] = "spark"
    reads_files: ClassVar[bool] = True

    def __init__(
        self,
        work_dir: Path | None = None,
        session: SparkSession | None = None,
        single_file_rows: int = 1_000_000,
        keep_outputs: int = 32,
    ) -> None:
        self._owns_dir = work_dir is None
        self.work_dir = (
            Path(tempfile.mkdtemp(prefix="udo-spark-")) if work_dir is None else work_dir
        )
        self._session = session
        self._configured: SparkSession | None = None
        self.single_file_rows = single_file_rows
        self.keep_outputs = max(keep_outputs, 1)
        self._outputs: deque[Path] = deque()

    @property
    def spark(self) -> SparkSession:
        """The session this engine runs on, with the settings the semantics need."""
        session = self._session or spark_session()
        if self._configured is not session:
            for key, value in SQL_CONF.items():
                if session.conf.get(key) != value:
                    session.conf.set(key, value)
            self._configured = session
        return session

    def close(self) -> None:
        """Remove the engine's own work folder (the shared session keeps running)."""
        if self._owns_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # ------------------------------------------------------------ files
    def _folder(self, label: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label).lstrip("._") or "x"
        folder = self.work_dir / f"{safe}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        self._outputs.append(folder)
        while len(self._outputs) > self.keep_outputs:
            shutil.rmtree(self._outputs.popleft(), ignore_errors=True)
        return folder

    def _read(self, data: Data, folder: Path, *, merge: bool = False) -> DataFrame:
        return self._read_typed(data, folder, merge=merge)[0]

    def _read_typed(
        self, data: Data, folder: Path, *, merge: bool = False
    ) -> tuple[DataFrame, pa.Schema]:
        """The input as a Spark frame, and its Arrow schema (what polars would see)."""
        if isinstance(data, pa.Table):
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{uuid.uuid4().hex[:12]}.parquet"
            pq.write_table(_as_polars_reads(data), path)
            paths = [path]
        else:
            paths = list(data)
        if not paths:
            raise ValueError("the Spark engine needs at least one Parquet file per input")
        schemas = [pq.read_schema(p).remove_metadata() for p in paths]
        # merging schemas costs a Spark job: only when the files disagree (JSON lines)
        merge = merge and len(set(schemas)) > 1
        reader = self.spark.read.option("mergeSchema", "true" if merge else "false")
        frame = reader.parquet(*[str(p) for p in paths])
        schema = pa.unify_schemas(schemas, promote_options="permissive") if merge else schemas[0]
        return frame, schema

    @staticmethod
    def _sorted(frame: DataFrame, by: list[Column], small: bool) -> DataFrame:
        """`frame` ordered by `by`: one sorted partition when small, else a range sort."""
        return frame.coalesce(1).sortWithinPartitions(*by) if small else frame.orderBy(*by)

    @staticmethod
    def _write(frame: DataFrame, folder: Path, schema: pa.Schema) -> list[Path]:
        frame.write.mode("overwrite").parquet(str(folder))
        paths = sorted(folder.glob("part-*.parquet"))
        if not paths:  # Spark writes no file for an empty result on some plans
            paths = [folder / "part-00000-empty.parquet"]
            pq.write_table(schema.empty_table(), paths[0])
        return paths

    # ---------------------------------------------------------- cleaning
    def clean(self, job: TableJob) -> TableResult:
        from pyspark import StorageLevel
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        rules = job.rules
        folder = self._folder(job.table)
        raw, arrow = self._read_typed(job.raw, folder / "input", merge=True)
        landed_types = {f.name: f.type for f in arrow}
        landed = [c for c in raw.columns if c not in (SOURCE_ROW, RAW_ERROR, RAW_LINE)]
        wanted = {c.bronze_name for c in rules.columns}
        counts = TableCounts(
            missing_columns=sorted(wanted - set(landed)),
            extra_columns=sorted(set(landed) - wanted),
        )

        typed, masks = self._masks(job, _stages(raw, rules, landed_types), folder)
        order = rule_order(job.table, rules)
        values = [f"__v{i}" for i in range(len(rules.columns))]
        flags = [
            f"__r AND coalesce({masks[rid]}, false) AS __f{k}"
            for k, (rid, _, _) in enumerate(order)
        ]
        malformed_id = f"{job.table}._row.malformed"
        quarantine = [k for k, (_, action, _) in enumerate(order) if action == "quarantine"]
        broken = (
            "array_compact(array("
            + ", ".join(f"CASE WHEN __f{k} THEN {_s(order[k][0])} END" for k in quarantine)
            + "))"
            if quarantine
            else "CAST(array() AS ARRAY<STRING>)"
        )
        reasons = f"CASE WHEN NOT __r THEN array({_s(malformed_id)}) ELSE {broken} END"
        decided = (
            typed.selectExpr(SOURCE_ROW, "__r", *values, *flags)
            .selectExpr("*", f"{reasons} AS __reasons")
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        try:
            rejected = "size(__reasons) > 0"
            aggs = [
                F.expr("count(1)").alias("n"),
                F.expr("sum(CAST(NOT __r AS BIGINT))").alias("malformed"),
                F.expr(f"sum(CAST({rejected} AS BIGINT))").alias("rejected"),
                *[F.expr(f"sum(CAST(__f{k} AS BIGINT))").alias(f"c{k}") for k in range(len(order))],
            ]
            by_row = [F.col(SOURCE_ROW)]
            small = _rows(job.raw) <= self.single_file_rows
            if small:
                # one job writes the rejects and counts every row on the way; only without
                # a range sort, whose sampling job would count rows twice
                observed = Observation(f"counts-{folder.name}")
                source = decided.observe(observed, *aggs)
            else:
                source = decided
                totals: dict[str, Any] = decided.agg(*aggs).collect()[0].asDict()
            rejects = source.where(rejected).selectExpr(SOURCE_ROW, f"__reasons AS {REASONS}")
            reject_paths = self._write(
                self._sorted(rejects, by_row, small), folder / "rejects", REJECTS_SCHEMA
            )
            if small:
                totals = observed.get
            counts.bronze_in = int(totals["n"])
            counts.violations = {
                rid: int(totals[f"c{k}"] or 0) for k, (rid, _, _) in enumerate(order)
            }
            for rid, action, _ in order:
                if action == "fail" and counts.violations[rid]:
                    raise RuleFailed(
                        f"rule {rid} (action fail) is violated by {counts.violations[rid]:,} rows"
                    )
            counts.violations[malformed_id] = int(totals["malformed"] or 0)
            counts.quarantined = int(totals["rejected"] or 0)

            kept = self._dedupe(decided.where(f"NOT ({rejected})"), rules)
            silver = kept.selectExpr(
                *[
                    f"CAST(__v{i} AS {_sql_type(c.type)}) AS {_q(c.name)}"
                    for i, c in enumerate(rules.columns)
                ],
                f"{_s(job.source_file)} AS {SOURCE_FILE}",
                SOURCE_ROW,
                f"{_s(job.batch_id)} AS {BATCH_ID}",
                f"timestamp_micros({_micros(job.ingested_at)}) AS {INGESTED_AT}",
            )
            silver_paths = self._write(
                self._sorted(silver, by_row, small), folder / "silver", silver_schema(rules)
            )
        except Exception as exc:
            parts = str(exc).split(_REFUSED)
            if len(parts) >= 3:  # a refused cast met a value (see _from_typed)
                raise UnsupportedCast(parts[1]) from None
            raise
        finally:
            decided.unpersist()
        counts.silver_out = _rows(silver_paths)
        counts.duplicates_removed = counts.bronze_in - counts.quarantined - counts.silver_out
        return TableResult(silver=silver_paths, rejects=reject_paths, counts=counts)

    def _masks(
        self, job: TableJob, typed: DataFrame, folder: Path
    ) -> tuple[DataFrame, dict[str, str]]:
        """Violation masks (SQL) per rule id; foreign keys join the parent keys on."""
        rules = job.rules
        masks: dict[str, str] = {}
        index = {c.name: i for i, c in enumerate(rules.columns)}
        for i, c in enumerate(rules.columns):
            masks[c.type_rule_id(job.table)] = f"__b{i}"
            for chk in c.checks:
                masks[chk.id] = _check(chk, c, f"__v{i}", f"__b{i}")
        for j, fk in enumerate(rules.foreign_keys):
            i = index[fk.column]
            if fk.id not in job.parent_keys:
                masks[fk.id] = f"__v{i} IS NOT NULL"
                continue
            parents = self._read(job.parent_keys[fk.id], folder / f"parent-{j}")
            key_type = _sql_type(rules.columns[i].type)
            hits = (
                parents.selectExpr(f"CAST({_q(parents.columns[0])} AS {key_type}) AS __k{j}")
                .where(f"__k{j} IS NOT NULL")
                .distinct()
                .selectExpr("*", f"true AS __h{j}")
            )
            typed = typed.join(hits, typed[f"__v{i}"] == hits[f"__k{j}"], "left").drop(f"__k{j}")
            masks[fk.id] = f"(__v{i} IS NOT NULL AND __h{j} IS NULL)"
        return typed, masks

    @staticmethod
    def _dedupe(kept: DataFrame, rules: TableRules) -> DataFrame:
        """Keep the last row per key: by `order_by` (nulls first), then by source row."""
        dedupe = rules.dedupe
        if dedupe is None:
            return kept
        index = {c.name: i for i, c in enumerate(rules.columns)}
        key = dedupe.key or [c.name for c in rules.columns]
        order = [f"__v{index[dedupe.order_by]} DESC NULLS LAST"] if dedupe.order_by else []
        order.append(f"{SOURCE_ROW} DESC")
        partition = ", ".join(f"__v{index[k]}" for k in key)
        window = (
            (f"PARTITION BY {partition} " if partition else "") + "ORDER BY " + ", ".join(order)
        )
        ranked = kept.selectExpr("*", f"row_number() OVER ({window}) AS __n")
        return ranked.where("__n = 1").drop("__n")

    # ------------------------------------------------------------- marts
    def mart(self, mart: MartSpec, silver: dict[str, Data], schemas: dict[str, pa.Schema]) -> Data:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        out_schema = mart_schema(mart, schemas)
        folder = self._folder(f"gold-{mart.name}")
        frame = self._read(silver[mart.source], folder / "source")
        for n, j in enumerate(mart.joins):
            right = self._read(silver[j.table], folder / f"join-{n}")
            cols = [c for c in j.columns if c not in frame.columns]
            # the last row per key, in the order the pipeline's current view is sorted
            ordering = [c for c in (INGESTED_AT, BATCH_ID, SOURCE_ROW) if c in right.columns]
            by = [_col(c).desc() for c in ordering] or [F.monotonically_increasing_id().desc()]
            window = Window.partitionBy(_col(j.key)).orderBy(*by)
            right = (
                right.withColumn("__n", F.row_number().over(window))
                .where(F.col("__n") == 1)
                .select(_col(j.key).alias("__jk"), *[_col(c) for c in cols])
            )
            frame = frame.join(right, _col(j.key) == F.col("__jk"), "left").drop("__jk")
        keys: list[Column] = []
        for n, g in enumerate(mart.group_by):
            col = _col(g.column)
            if g.grain == "day":
                col = col.cast("date")
            elif g.grain == "month":
                col = F.trunc(col.cast("date"), "month")
            keys.append(col.alias(f"__g{n}"))
        aggs: list[Column] = []
        finals: list[Column] = []
        for n, (name, m) in enumerate(mart.measures.items()):
            out = out_schema.field(name).type
            more, final = _measure(n, m, out)
            aggs += more
            finals.append(final.cast(_from_arrow(out)).alias(name))
        grouped = frame.groupBy(*keys).agg(*aggs) if aggs else frame.select(*keys).distinct()
        small = _rows(silver[mart.source]) <= self.single_file_rows  # rows >= mart rows
        by = [F.col(f"__g{n}").asc_nulls_first() for n in range(len(keys))]
        result = self._sorted(grouped, by, small).select(
            *[
                F.col(f"__g{n}").cast(_from_arrow(out_schema.field(g.output).type)).alias(g.output)
                for n, g in enumerate(mart.group_by)
            ],
            *finals,
        )
        return self._write(result, folder / "gold", out_schema)
