"""The pandas engine: the small path's alternative to polars, and the benchmark's baseline.

It gives the polars engine's answer row for row (`tests/unit/test_pandas_engine.py`), so
either can clean any batch. How it stays exact without polars' types:

- A typed column is numpy values plus a null mask, the layout of pandas' masked arrays.
  NaN is a value, as in Arrow and polars, never a null.
- A decimal is its scaled integer ("units", cents for scale 2): int64 while every value
  fits, Python ints beyond. It becomes an Arrow decimal byte for byte, with no float
  in between; a mart's decimal mean is rounded half away from zero in integers.
- Dates and timestamps are datetime64[D] / datetime64[us], built from the fields the
  shared format regexes extract, by integer calendar arithmetic (years 0 to 9999).
- Text goes through pandas' ``.str`` methods with Python's `re`. The shared number and date
  regexes match whole strings of ASCII digits: polars' Unicode ``\\d`` also admits other
  digits, but its casts reject them, so both engines give null. Lower and upper case are
  Python's full Unicode mappings, as Rust's, plus the pairs Unicode 15-16 added.
- Typed (non-text) Bronze columns, enum values and parent keys are cast with polars' own
  cast semantics (`_cast`), including where polars rounds or truncates.

Both engines follow `udo.domain.rules` / `udo.pipeline.marts` to the letter: a decimal
product keeps the sum of the scales, and a range bound with more digits than an int or
decimal column is rounded inward (min up, max down) before comparing.
"""

from __future__ import annotations

import operator
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from udo.domain.marts import MartSpec, Measure
from udo.domain.rules import Check, ColumnRule
from udo.errors import TerminalError
from udo.pipeline.engines.base import (
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
    SOURCE_ROW,
    TRUE_TEXT,
    US_GROUPED,
    WHITESPACE,
    Data,
    Engine,
    RuleFailed,
    TableCounts,
    TableJob,
    TableResult,
    compile_format,
    rule_order,
    silver_schema,
)
from udo.pipeline.marts import BinOp, Col, Node, Num, columns_of, mart_schema, parse_measure

if TYPE_CHECKING:
    import pandas as pd

Arr = npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_US_PER_DAY = 86_400_000_000
_US_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
_POLARS_FLOAT = r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)"

# Case pairs added in Unicode 15 and 16, as (first, last, offset) code point runs: Rust,
# so polars, maps them; Python 3.11 (Unicode 14) leaves them as they are.
_NEWER_LOWER = [(0x1C89, 0x1C89, 1), (0xA7CB, 0xA7CB, -42343), (0xA7CC, 0xA7CC, 1)]
_NEWER_LOWER += [(0xA7CE, 0xA7CE, 1), (0xA7D2, 0xA7D2, 1), (0xA7D4, 0xA7D4, 1)]
_NEWER_LOWER += [(0xA7DA, 0xA7DA, 1), (0xA7DC, 0xA7DC, -42561), (0x10D50, 0x10D65, 32)]
_NEWER_LOWER += [(0x16EA0, 0x16EB8, 27)]
_NEWER_UPPER = [(0x19B, 0x19B, 42561), (0x264, 0x264, 42343), (0x1C8A, 0x1C8A, -1)]
_NEWER_UPPER += [(0xA7CD, 0xA7CD, -1), (0xA7CF, 0xA7CF, -1), (0xA7D3, 0xA7D3, -1)]
_NEWER_UPPER += [(0xA7D5, 0xA7D5, -1), (0xA7DB, 0xA7DB, -1), (0x10D70, 0x10D85, -32)]
_NEWER_UPPER += [(0x16EBB, 0x16ED3, -27)]


class UnsupportedCast(TerminalError):
    """A value cannot be cast the way polars casts it (polars raises here too)."""


@dataclass
class _Col:
    """A typed column: numpy values (meaningless where null) and a null mask.

    Values by Silver type: int int64, float float64, bool bool, string object (str or
    None), date datetime64[D], timestamp datetime64[us], decimal(p,s) scaled integers
    (int64, or object Python ints when some value does not fit int64).
    """

    type: str
    values: Arr
    null: Mask

    def __len__(self) -> int:
        return len(self.null)

    def take(self, rows: npt.NDArray[np.int64]) -> _Col:
        """The rows at `rows`; -1 gives a null row (a left join's miss)."""
        if len(self) == 0:
            return _nulls(self.type, len(rows))
        miss = rows < 0
        safe = np.where(miss, 0, rows)
        return _Col(self.type, self.values[safe], self.null[safe] | miss)


def _scale(type_name: str) -> tuple[int, int]:
    p, s = (int(x) for x in type_name[8:-1].split(","))
    return p, s


def _is_decimal(type_name: str) -> bool:
    return type_name.startswith("decimal(")


def _blank(type_name: str, n: int) -> Arr:
    """Placeholder values for `n` null rows of a type."""
    if type_name == "string":
        return np.full(n, None, dtype=object)
    dtype = {
        "int": "int64",
        "float": "float64",
        "bool": "bool",
        "date": "datetime64[D]",
        "timestamp": "datetime64[us]",
    }.get(type_name, "int64")
    out: Arr = np.zeros(n, dtype=np.dtype(dtype))
    return out


def _nulls(type_name: str, n: int) -> _Col:
    return _Col(type_name, _blank(type_name, n), np.ones(n, dtype=bool))


def _fit_units(units: Arr) -> Arr:
    """Decimal units as int64 when all fit (the fast path), else Python ints."""
    if units.dtype != object:
        return units
    if len(units) == 0:
        return units.astype(np.int64)
    lo, hi = min(units), max(units)
    if lo >= _I64_MIN and hi <= _I64_MAX:
        return units.astype(np.int64)
    return units


def _as_object(units: Arr) -> Arr:
    """Decimal units as Python ints (exact under any arithmetic)."""
    return units if units.dtype == object else units.astype(object)


def _abs_max(units: Arr) -> int:
    if len(units) == 0:
        return 0
    return int(max(abs(int(units.min())), abs(int(units.max()))))


# ------------------------------------------------------------------ Arrow in and out
def _table(data: Data) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if not data:
        return pa.table({})
    import pyarrow.parquet as pq

    return pa.concat_tables(
        [pq.read_table(str(p)) for p in data], promote_options="default"
    ).combine_chunks()


def _silver_type(t: pa.DataType) -> str:
    """The Silver type name of an Arrow type."""
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "string"


def _to_arrow(col: _Col, t: pa.DataType) -> pa.Array:
    """The column as an Arrow array of type `t` (decimals built from their units)."""
    mask = col.null if col.null.any() else None
    if pa.types.is_decimal(t):
        return _decimal_array(col.values, col.null, t)
    if pa.types.is_date(t):
        days = col.values.astype("datetime64[D]").astype(np.int64).astype(np.int32)
        return pa.array(days, mask=mask, type=pa.int32()).cast(t)
    if pa.types.is_timestamp(t):
        us = col.values.astype("datetime64[us]").astype(np.int64)
        return pa.array(us, mask=mask, type=pa.int64()).cast(t)
    if pa.types.is_string(t):
        values = col.values.copy()
        values[col.null] = None
        return pa.array(values, type=t)
    return pa.array(col.values, mask=mask, type=t)


def _decimal_array(units: Arr, null: Mask, t: pa.DataType) -> pa.Array:
    """Arrow decimal128 from scaled integers: 16-byte little-endian two's complement."""
    n = len(units)
    if units.dtype == object:
        data = b"".join(
            (0 if is_null else int(u)).to_bytes(16, "little", signed=True)
            for u, is_null in zip(units, null, strict=True)
        )
        buffer = pa.py_buffer(data)
    else:
        lo = np.where(null, 0, units).astype("<i8")
        words = np.empty((n, 2), dtype="<i8")
        words[:, 0] = lo
        words[:, 1] = lo >> 63
        buffer = pa.py_buffer(words.tobytes())
    validity = pa.array(~null).buffers()[1] if null.any() else None
    return pa.Array.from_buffers(t, n, [validity, buffer])


def _decimal_units(arr: pa.Array) -> Arr:
    """The scaled integers of an Arrow decimal array (0 where null)."""
    if not pa.types.is_decimal128(arr.type):
        arr = arr.cast(pa.decimal128(min(arr.type.precision, 38), arr.type.scale))
    n = len(arr)
    if n == 0:
        return np.zeros(0, np.int64)
    words = np.frombuffer(arr.buffers()[1], dtype="<i8", count=2 * (arr.offset + n))
    words = words.reshape(-1, 2)[arr.offset :]
    null = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    lo = np.where(null, 0, words[:, 0])
    hi = np.where(null, 0, words[:, 1])
    if (hi == (lo >> 63)).all():
        return lo.astype(np.int64)
    return np.array(
        [(int(h) << 64) | (int(v) & 0xFFFF_FFFF_FFFF_FFFF) for v, h in zip(lo, hi, strict=True)],
        dtype=object,
    )


# ------------------------------------------------------------------ casts (polars semantics)
@dataclass
class _Source:
    """A typed column before a cast: its kind and raw numpy values."""

    kind: str  # null int uint float bool decimal date timestamp string
    values: Arr
    null: Mask
    scale: int = 0
    unit: str = "us"
    tz: str | None = None
    width: int = 64
    """Bits of a float (its text is the shortest one that reads back at this width)."""


def _source(arr: pa.Array | pa.ChunkedArray) -> _Source:
    """Read an Arrow column for `_cast`."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], arr.type)
    t = arr.type
    if pa.types.is_dictionary(t):  # polars' Categorical: it casts only to text
        values = arr.dictionary_decode().cast(pa.string()).to_numpy(zero_copy_only=False)
        return _Source(
            "category", values.astype(object), np.array([x is None for x in values], dtype=bool)
        )
    null = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    n = len(arr)
    if pa.types.is_null(t):
        return _Source("null", np.zeros(n, np.int64), np.ones(n, bool))
    if pa.types.is_boolean(t):
        return _Source("bool", arr.fill_null(False).to_numpy(zero_copy_only=False), null)
    if pa.types.is_integer(t):
        values = arr.fill_null(0).to_numpy(zero_copy_only=False)
        if pa.types.is_unsigned_integer(t) and t.bit_width == 64:
            return _Source("uint", values.astype(np.uint64), null)
        return _Source("int", values.astype(np.int64), null)
    if pa.types.is_floating(t):
        values = arr.fill_null(0).to_numpy(zero_copy_only=False)
        return _Source("float", values.astype(np.float64), null, width=t.bit_width)
    if pa.types.is_decimal(t):
        return _Source("decimal", _decimal_units(arr), null, scale=t.scale)
    if pa.types.is_date32(t):
        days = arr.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        return _Source("date", days.astype(np.int64), null)
    if pa.types.is_timestamp(t) or pa.types.is_date64(t):
        # polars reads date64 and timestamp[s] as datetime[ms]
        raw = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        unit = "ms" if pa.types.is_date64(t) else t.unit
        if unit == "s":
            raw, unit = raw * 1000, "ms"
        return _Source("timestamp", raw, null, unit=unit, tz=getattr(t, "tz", None))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _Source("string", arr.to_numpy(zero_copy_only=False).astype(object), null)
    raise UnsupportedCast(f"cannot clean a column of Arrow type {t}")


def _col_source(col: _Col) -> _Source:
    """A typed column as the source of another cast."""
    t = col.type
    if _is_decimal(t):
        return _Source("decimal", col.values, col.null, scale=_scale(t)[1])
    if t == "date":
        return _Source("date", col.values.astype(np.int64), col.null)
    if t == "timestamp":
        return _Source("timestamp", col.values.astype(np.int64), col.null)
    return _Source(t, col.values, col.null)


def _cast(src: _Source, target: str) -> _Col:
    """polars' non-strict cast: a value that cannot be cast becomes null.

    Raises `UnsupportedCast` for the type pairs polars refuses (bool to decimal, dates
    to decimal, text to dates).
    """
    n = len(src.null)
    k = src.kind
    null = src.null.copy()
    v = src.values
    if k == "null":
        return _nulls(target, n)
    with np.errstate(all="ignore"):
        if k == "timestamp" and target != "string":
            v, k = _timestamp_values(src, target), "timestamp_us"
        if target == "string":
            return _Col("string", _text_of(src), null)
        if k == "string":
            return _cast_text(v, null, target)
        if _is_decimal(target):
            return _cast_to_decimal(src, target)
        if k == "uint":
            big = v > np.uint64(_I64_MAX)
            if target == "float":
                return _Col("float", v.astype(np.float64), null)
            if target == "bool":
                return _Col("bool", v != 0, null)
            null |= big
            v, k = np.where(big, 0, v).astype(np.int64), "int"
        if target == "bool":
            if k in ("int", "float", "bool"):
                return _Col("bool", v != 0, null)
            if k == "decimal":
                return _Col("bool", np.asarray(v != 0, dtype=bool), null)
        elif target == "int":
            if k in ("int", "bool", "date", "timestamp_us"):
                return _Col("int", v.astype(np.int64), null)
            if k == "float":
                ok = np.isfinite(v) & (v >= -(2.0**63)) & (v < 2.0**63)
                return _Col("int", np.where(ok, np.trunc(v), 0).astype(np.int64), null | ~ok)
            if k == "decimal":
                q = _trunc_div(v, 10**src.scale)
                ok = _within(q, _I64_MAX + 1) | (q == _I64_MIN)
                return _Col("int", np.where(ok, q, 0).astype(np.int64), null | ~ok)
        elif target == "float":
            if k in ("int", "bool", "float", "date", "timestamp_us"):
                return _Col("float", v.astype(np.float64), null)
            if k == "decimal":
                return _Col("float", _units_to_float(v, src.scale), null)
        elif target == "date":
            if k in ("int", "bool", "float"):
                days = np.trunc(v.astype(np.float64)) if k == "float" else v.astype(np.int64)
                ok = (days >= -(2.0**31)) & (days < 2.0**31) & ~np.isnan(days)
                days = np.where(ok, days, 0).astype(np.int64)
                return _Col("date", days.astype("datetime64[D]"), null | ~ok)
            if k == "date":
                return _Col("date", v.astype("datetime64[D]"), null)
            if k == "timestamp_us":
                return _Col("date", v, null)
        elif target == "timestamp":
            if k in ("int", "bool"):
                return _Col("timestamp", v.astype(np.int64).astype("datetime64[us]"), null)
            if k == "float":
                ok = np.isfinite(v) & (v >= -(2.0**63)) & (v < 2.0**63)
                us = np.where(ok, np.trunc(v), 0).astype(np.int64)
                return _Col("timestamp", us.astype("datetime64[us]"), null | ~ok)
            if k == "date":
                return _Col("timestamp", (v * _US_PER_DAY).astype("datetime64[us]"), null)
            if k == "timestamp_us":
                return _Col("timestamp", v, null)
    raise UnsupportedCast(f"cannot cast {src.kind} to {target}")


def _timestamp_values(src: _Source, target: str) -> Arr:
    """Timestamps for a cast: raw for numbers, else UTC microseconds (or UTC dates)."""
    v = src.values
    if target in ("int", "float"):
        return v
    us = v // 1000 if src.unit == "ns" else v * _US_PER_UNIT[src.unit]
    stamps = us.astype("datetime64[us]")
    return stamps.astype("datetime64[D]") if target == "date" else stamps


def _trunc_div(units: Arr, factor: int) -> Arr:
    """Integer division rounding toward zero."""
    if factor == 1:
        return units
    if units.dtype != object:
        q = np.abs(units) // factor
        return np.where(units < 0, -q, q)
    return np.array([(-(-u // factor) if u < 0 else u // factor) for u in units], dtype=object)


def _round_half_even(units: Arr, factor: int) -> Arr:
    """units / factor rounded half to even (how polars lowers a decimal's scale)."""
    if factor == 1:
        return units
    obj = _as_object(units)
    return _fit_units(np.array([_div_half_even(int(u), factor) for u in obj], dtype=object))


def _div_half_even(u: int, factor: int) -> int:
    q, r = divmod(abs(u), factor)
    if 2 * r > factor or (2 * r == factor and q % 2 == 1):
        q += 1
    return -q if u < 0 else q


def _units_to_float(units: Arr, scale: int) -> Arr:
    """Decimal units as correctly rounded floats (as polars casts them)."""
    if units.dtype != object and (len(units) == 0 or _abs_max(units) < 2**53):
        return units.astype(np.float64) / float(10**scale)
    factor = 10**scale
    return np.array([int(u) / factor for u in units], dtype=np.float64)


def _cast_to_decimal(src: _Source, target: str) -> _Col:
    p, s = _scale(target)
    k, v = src.kind, src.values
    null = src.null.copy()
    if k in ("int", "uint"):
        units = _shift(v, s)
    elif k == "decimal" and s >= src.scale:
        units = _shift(v, s - src.scale)
    elif k == "decimal":
        units = _round_half_even(v, 10 ** (src.scale - s))
    elif k == "float":
        units, ok = _float_units(v, s)
        null |= ~ok
    else:
        raise UnsupportedCast(f"cannot cast {k} to {target}")
    null |= ~_within(units, 10**p)
    return _Col(target, _fit_units(np.where(null, 0, units)), null)


def _shift(units: Arr, digits: int) -> Arr:
    """units * 10**digits, exactly (int64 while it fits)."""
    factor = 10**digits
    out: Arr
    if units.dtype != object and _abs_max(units) * factor <= _I64_MAX:
        out = units.astype(np.int64) * factor
    else:
        out = _as_object(units) * factor
    return out


def _within(units: Arr, limit: int) -> Mask:
    """|units| < limit."""
    if units.dtype != object and limit > _I64_MAX:
        return np.ones(len(units), dtype=bool)
    if units.dtype != object:
        return np.asarray((units > -limit) & (units < limit), dtype=bool)
    return np.array([-limit < int(u) < limit for u in units], dtype=bool)


def _float_units(values: Arr, scale: int) -> tuple[Arr, Mask]:
    """Floats as decimal units, as polars makes them: x * 10**scale in float64, rounded
    half to even (so 2.675 gives 2.68, and 922337205.0 at scale 10 shows float noise)."""
    with np.errstate(all="ignore"):
        scaled = np.round(values.astype(np.float64) * 10.0**scale)
    ok = np.isfinite(scaled)
    scaled = np.where(ok, scaled, 0.0)
    if len(scaled) == 0 or np.abs(scaled).max() < 2.0**63:
        return scaled.astype(np.int64), ok
    return np.array([int(x) for x in scaled], dtype=object), ok


def _cast_text(values: Arr, null: Mask, target: str) -> _Col:
    """polars' plain cast of text (no trimming, no number formats): bounds, enum values."""
    n = len(values)
    ok = ~null
    text = [str(x) if o else "" for x, o in zip(values, ok, strict=True)]
    if target == "int":
        out = np.zeros(n, np.int64)
        for i, t in enumerate(text):
            if ok[i] and re.fullmatch(INT_TEXT, t, re.ASCII) and _I64_MIN <= int(t) <= _I64_MAX:
                out[i] = int(t)
            else:
                ok[i] = False
        return _Col("int", out, ~ok)
    if target == "float":
        fl = np.zeros(n, np.float64)
        for i, t in enumerate(text):
            if ok[i] and re.fullmatch(_POLARS_FLOAT, t, re.ASCII | re.IGNORECASE):
                fl[i] = float(t)
            else:
                ok[i] = False
        return _Col("float", fl, ~ok)
    if _is_decimal(target):
        p, s = _scale(target)
        units = np.zeros(n, dtype=object)
        for i, t in enumerate(text):
            u = _text_units(t, s) if ok[i] else None
            if u is None or not -(10**p) < u < 10**p:
                ok[i] = False
            else:
                units[i] = u
        return _Col(target, _fit_units(units), ~ok)
    raise UnsupportedCast(f"cannot cast text to {target} (polars refuses it)")


def _text_units(text: str, scale: int) -> int | None:
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text, re.ASCII):
        return None
    return _units_of(Decimal(text), scale)


def _units_of(d: Decimal, scale: int, rounding: str = "half_even") -> int:
    """d * 10**scale as an integer, exactly, rounded half to even, or to ceiling or floor.

    Beyond 40 digits the value only needs to be too large: it is then ±10**40.
    """
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    n = int("".join(str(x) for x in digits) or "0") * (-1 if sign else 1)
    e = exp + scale
    if n == 0:
        return 0
    if len(digits) + e > 40:
        return 10**40 if n > 0 else -(10**40)
    if e >= 0:
        return n * int(10**e)
    if -e > len(digits) + 2:  # far below one unit: any tiny value rounds alike
        n, e = (1 if n > 0 else -1), -2
    factor = int(10**-e)
    if rounding == "ceiling":
        return -(-n // factor)
    if rounding == "floor":
        return n // factor
    return _div_half_even(n, factor)


def _text_of(src: _Source) -> Arr:
    """Values as polars writes them when casting to text (None where null)."""
    k, v, n = src.kind, src.values, len(src.null)
    out = np.full(n, None, dtype=object)
    keep = ~src.null
    if k == "null" or not keep.any():
        return out
    if k in ("string", "category"):
        out[keep] = v[keep]
    elif k in ("int", "uint"):
        out[keep] = [str(int(x)) for x in v[keep]]
    elif k == "bool":
        out[keep] = np.where(v[keep], "true", "false")
    elif k == "float":
        out[keep] = [_float_text(float(x), src.width) for x in v[keep]]
    elif k == "decimal":
        out[keep] = [_decimal_text(int(u), src.scale) for u in v[keep]]
    elif k == "date":
        out[keep] = np.datetime_as_string(v[keep].astype("datetime64[D]"), unit="D")
    elif k == "timestamp":
        out[keep] = _timestamp_text(src, keep)
    return out


def _float_text(x: float, width: int = 64) -> str:
    """A float as polars writes it: the shortest digits that read back at its width, with
    an exponent below 1e-5 or from 1e16 (float32: below 1e-6 or from 1e13)."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    shortest = repr(x) if width == 64 else str(np.float32(x))
    sign, digits, exp = Decimal(shortest).as_tuple()
    low, high = (-5, 16) if width == 64 else (-6, 13)
    text = "".join(str(d) for d in digits).rstrip("0") or "0"
    assert isinstance(exp, int)
    e10 = exp + len(digits) - 1  # exponent of the first digit
    head = "-" if sign else ""
    if x != 0 and (e10 < low or e10 >= high):
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{head}{mantissa}e{'+' if e10 >= 0 else '-'}{abs(e10)}"
    if x == 0:
        return f"{head}0.0"
    if e10 < 0:
        return f"{head}0.{'0' * (-e10 - 1)}{text}"
    whole, frac = text[: e10 + 1].ljust(e10 + 1, "0"), text[e10 + 1 :]
    return f"{head}{whole}.{frac or '0'}"


def _decimal_text(units: int, scale: int) -> str:
    digits = str(abs(units)).rjust(scale + 1, "0")
    head = "-" if units < 0 else ""
    if scale == 0:
        return head + digits
    return f"{head}{digits[:-scale]}.{digits[-scale:]}"


def _timestamp_text(src: _Source, keep: Mask) -> list[str]:
    raw = src.values[keep].astype(f"datetime64[{src.unit}]")
    offsets = [""] * len(raw)
    if src.tz:
        import pandas as pd

        local = pd.DatetimeIndex(raw.astype("datetime64[ns]")).tz_localize("UTC")
        local = local.tz_convert(src.tz)
        offsets = [o[:3] + ":" + o[3:] for o in local.strftime("%z")]
        raw = np.asarray(local.tz_localize(None).values).astype(f"datetime64[{src.unit}]")
    text: list[str] = np.datetime_as_string(raw, unit=cast(Any, src.unit)).tolist()
    return [t.replace("T", " ") + o for t, o in zip(text, offsets, strict=True)]


# ------------------------------------------------------------------ text standardisation
def _standardise(arr: pa.Array | pa.ChunkedArray, c: ColumnRule) -> tuple[Arr, pd.Series]:
    """Trim, empty to null, mapping, case: (row positions of non-null text, the text)."""
    import pandas as pd

    values = _source(arr).values
    rows = np.flatnonzero(pd.notna(values))
    text = pd.Series(values[rows], dtype=object)
    if len(text) == 0:
        return rows, text
    if c.trim:
        text = text.str.strip(WHITESPACE)
    filled = (text.str.len() > 0).to_numpy(dtype=bool)
    rows, text = rows[filled], text[filled].reset_index(drop=True)
    if len(text) and c.mapping:
        lowered = {k.lower(): v for k, v in c.mapping.items()}
        mapped = _recase(text, "lower").map(lowered)
        text = mapped.where(mapped.notna(), text)
    if len(text) and c.case:
        text = _recase(text, c.case)
    return rows, text


def _recase(text: pd.Series, case: str) -> pd.Series:
    """Python's lower/upper (full Unicode mappings, as Rust's), plus Unicode 15-16 pairs."""
    out = text.str.lower() if case == "lower" else text.str.upper()
    runs = _NEWER_LOWER if case == "lower" else _NEWER_UPPER
    table = {cp: cp + d for first, last, d in runs for cp in range(first, last + 1)}
    newer = out.str.contains("[" + "".join(map(chr, table)) + "]", regex=True).to_numpy(bool)
    if newer.any():
        out[newer] = out[newer].str.translate(table)
    return out


def _matches(text: pd.Series, pattern: str) -> Mask:
    """Whole-string match of a shared regex, ASCII digits only."""
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    return text.str.fullmatch(pattern, flags=re.ASCII, na=False).to_numpy(dtype=bool)


def _normalise_number(text: pd.Series) -> pd.Series:
    """European and US grouping, decimal comma → plain text (the first rule that matches).

    Each pattern needs a separator, so only text holding one is matched against it.
    """
    out = text.copy()
    if len(text) == 0:
        return out
    dot = text.str.contains(".", regex=False).to_numpy(dtype=bool)
    comma = text.str.contains(",", regex=False).to_numpy(dtype=bool)
    euro = _matches_where(text, EURO_GROUPED, dot)
    if euro.any():
        out[euro] = (
            text[euro].str.replace(".", "", regex=False).str.replace(",", ".", n=1, regex=False)
        )
    decimal_comma = _matches_where(text, DECIMAL_COMMA, comma & ~euro)
    if decimal_comma.any():
        out[decimal_comma] = text[decimal_comma].str.replace(",", ".", n=1, regex=False)
    us = _matches_where(text, US_GROUPED, comma & ~euro & ~decimal_comma)
    if us.any():
        out[us] = text[us].str.replace(",", "", regex=False)
    return out


def _matches_where(text: pd.Series, pattern: str, where: Mask) -> Mask:
    """`_matches` on the rows of `where` (False elsewhere)."""
    out = np.zeros(len(text), dtype=bool)
    if where.any():
        out[where] = _matches(text[where], pattern)
    return out


def _parse(text: pd.Series, c: ColumnRule) -> tuple[Arr, Mask]:
    """Typed values of non-null standardised text, and which of them could be cast."""
    t, n = c.type, len(text)
    if t == "string":
        return text.to_numpy(dtype=object), np.ones(n, dtype=bool)
    if t == "bool":
        low = text.str.lower() if n else text
        yes = low.isin(TRUE_TEXT).to_numpy(dtype=bool)
        return yes, yes | low.isin(FALSE_TEXT).to_numpy(dtype=bool)
    if t in ("date", "timestamp"):
        return _parse_time(text, c.formats or [], t)
    num = _normalise_number(text)
    if t == "int":
        ok = _matches(num, INT_TEXT)
        values, fits = _parse_ints(num[ok].to_numpy(dtype=object))
        out = np.zeros(n, np.int64)
        out[ok] = np.where(fits, values, 0)
        ok[ok] = fits
        return out, ok
    if t == "float":
        ok = _matches(num, FLOAT_TEXT)
        out = np.zeros(n, np.float64)
        out[ok] = num[ok].to_numpy(dtype=object).astype(np.float64)
        return out, ok
    return _parse_decimal(num, t)


def _parse_ints(text: Arr) -> tuple[Arr, Mask]:
    """Text of ASCII digits (with a sign) as int64 and which fit; Python ints if some don't."""
    try:
        return text.astype(np.int64), np.ones(len(text), dtype=bool)
    except OverflowError:
        big = np.array([int(x) for x in text], dtype=object)
        return big, np.array([_I64_MIN <= x <= _I64_MAX for x in big], dtype=bool)


def _parse_decimal(num: pd.Series, type_name: str) -> tuple[Arr, Mask]:
    """DECIMAL_TEXT within the scale and the precision → units; more digits fail."""
    p, s = _scale(type_name)
    ok = _matches(num, DECIMAL_TEXT)
    units = np.zeros(len(num), np.int64)
    if not ok.any():
        return units, ok
    good = num[ok]
    point = good.str.find(".").to_numpy(dtype=np.int64)
    frac = np.where(point >= 0, good.str.len().to_numpy(dtype=np.int64) - point - 1, 0)
    magnitude, _ = _parse_ints(good.str.replace(".", "", regex=False).to_numpy(dtype=object))
    if magnitude.dtype != object and _abs_max(magnitude) * 10**s > _I64_MAX:
        magnitude = _as_object(magnitude)
    shift = np.maximum(s - frac, 0)
    factor = (
        10**shift
        if magnitude.dtype != object
        else np.array([10 ** int(k) for k in shift], dtype=object)
    )
    values = magnitude * factor
    fits = (frac <= s) & _within(values, 10**p)
    where = np.flatnonzero(ok)
    ok[where[~fits]] = False
    if values.dtype == object:
        out = np.zeros(len(num), dtype=object)
        out[where[fits]] = values[fits]
        return _fit_units(out), ok
    units[where[fits]] = values[fits]
    return units, ok


def _parse_time(text: pd.Series, formats: list[str], kind: str) -> tuple[Arr, Mask]:
    """The first format whose regex matches and whose fields form a real date wins."""
    n = len(text)
    us = np.zeros(n, np.int64)
    found = np.zeros(n, dtype=bool)
    for fmt in formats:
        f = compile_format(fmt)
        if kind == "date" and any(g in "HMSs" for g in f.groups):
            continue
        has = set(f.groups)
        if "s" not in has and ("Y" not in has or not has & {"m", "b"}):
            continue
        todo = np.flatnonzero(~found)
        if len(todo) == 0:
            break
        regex = f.regex[:-1] + r"\Z"  # end of text, not before a final newline
        parts = text.iloc[todo].str.extract(regex, flags=re.ASCII, expand=True)
        hit = parts[0].notna().to_numpy(dtype=bool)
        if not hit.any():
            continue
        rows, v = todo[hit], _time_fields(parts[hit], f.groups)
        if "s" in v:
            valid = (v["s"] >= 0) & (v["s"] <= MAX_EPOCH_SECONDS)
            value = v["s"] * 1_000_000
        else:
            y, m, d = v["Y"], np.clip(v["m"], 1, 12), v["d"]
            valid = (v["m"] >= 1) & (v["m"] <= 12) & (d >= 1) & (d <= _days_in_month(y, m))
            valid &= (v["H"] <= 23) & (v["M"] <= 59) & (v["S"] <= 59)
            value = _days_from_civil(y, m, d) * _US_PER_DAY
            value += ((v["H"] * 60 + v["M"]) * 60 + v["S"]) * 1_000_000
        us[rows[valid]] = value[valid]
        found[rows[valid]] = True
    stamps = us.astype("datetime64[us]")
    if kind == "date":
        return stamps.astype("datetime64[D]"), found
    return stamps, found


def _time_fields(parts: pd.DataFrame, groups: tuple[str, ...]) -> dict[str, Arr]:
    """Each directive's integers; a later group wins, %b is the month, d=1 H=M=S=0."""
    n = len(parts)
    out = {"d": np.ones(n, np.int64)} | {k: np.zeros(n, np.int64) for k in "HMS"}
    months = {m: i + 1 for i, m in enumerate(MONTHS)}
    for i, g in enumerate(groups):
        piece = parts[i]
        if g == "b":
            out["m"] = piece.str.lower().map(months).fillna(0).to_numpy().astype(np.int64)
        else:
            out[g] = piece.to_numpy(dtype=object).astype(np.int64)
    return out


def _days_in_month(y: Arr, m: Arr) -> Arr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return np.where(m == 2, np.where(leap, 29, 28), np.where(np.isin(m, (4, 6, 9, 11)), 30, 31))


def _days_from_civil(y: Arr, m: Arr, d: Arr) -> Arr:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    out: Arr = era * 146_097 + doe - 719_468
    return out


# ------------------------------------------------------------------ checks
def _rank(col: _Col, *, sort: bool = True) -> npt.NDArray[np.int64]:
    """Codes that group (and, sorted, order) values as polars does.

    -1 for null (nulls first), -0.0 equals 0.0, NaN equals NaN and sorts last.
    """
    import pandas as pd

    out = np.full(len(col), -1, dtype=np.int64)
    present = ~col.null
    values = col.values[present]
    if len(values) == 0:
        return out
    if col.type == "float":
        out[present] = np.unique(values, return_inverse=True)[1]
    elif col.type in ("date", "timestamp"):
        out[present] = pd.factorize(values.astype(np.int64), sort=sort)[0]
    else:
        out[present] = pd.factorize(values, sort=sort)[0]
    return out


def _isin(col: _Col, allowed: _Col) -> Mask:
    """Whether each value is among `allowed`'s non-null values (NaN matches NaN)."""
    import pandas as pd

    keys = allowed.values[~allowed.null]
    values = col.values
    if col.type in ("date", "timestamp"):
        keys, values = keys.astype(np.int64), values.astype(np.int64)
    elif object in (keys.dtype, values.dtype):  # decimal units beyond int64
        keys, values = keys.astype(object), values.astype(object)
    return pd.Series(values).isin(pd.Series(keys, dtype=values.dtype)).to_numpy(dtype=bool)


def _bound(value: object, type_name: str, side: str) -> Any:
    """A range bound in the column's representation.

    Numbers are exact: on an int or decimal column, a bound with more digits than the
    column has is rounded inward (min up, max down), so `x >= 0.5` keeps `x >= 1` (polars
    truncates the bound instead: see the tests). Other bounds are cast as polars casts a
    literal (strictly: a bound that cannot be cast is an error).
    """
    v = value
    if isinstance(v, datetime | date) or type_name in ("date", "timestamp"):
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        if type_name == "date" and isinstance(v, datetime):
            v = v.date()
    elif (type_name == "int" or _is_decimal(type_name)) and not isinstance(v, bool):
        exact = _exact_number(v)
        if exact is not None:
            scale = _scale(type_name)[1] if _is_decimal(type_name) else 0
            return _units_of(exact, scale, "ceiling" if side == "min" else "floor")
    out = _cast(_source(pa.array([v])), type_name)
    if out.null[0]:
        raise UnsupportedCast(f"bound {value!r} cannot be cast to {type_name}")
    return out.values[0]


def _exact_number(v: object) -> Decimal | None:
    """A number bound as written (a float by its shortest repr), None if not a number."""
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float) and np.isfinite(v):
        return Decimal(repr(v))
    if isinstance(v, str) and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", v, re.ASCII):
        return Decimal(v)
    return None


def _compare(col: _Col, b: Any, op: str) -> Mask:
    """col < b or col > b, polars-style (NaN is above everything)."""
    values = col.values
    if col.type == "string":
        values = np.where(col.null, "", values)
    if col.type == "float":
        found = values < b if op == "<" else (values > b) | np.isnan(values)
        return np.asarray(found, dtype=bool)
    if isinstance(b, int) and not isinstance(b, bool) and values.dtype != object:
        if not _I64_MIN <= b <= _I64_MAX:
            return np.full(len(values), b > 0 if op == "<" else b < 0, dtype=bool)
        b = np.int64(b)
    if values.dtype == object and col.type != "string":
        return np.array([x < b if op == "<" else x > b for x in values], dtype=bool)
    result = (values < b) if op == "<" else (values > b)
    return np.asarray(result, dtype=bool)


def _enum_values(values: list[Any], type_name: str) -> _Col:
    """An enum's values cast to the column type (a Series of one type, as polars builds)."""
    kinds = {
        "datetime"
        if isinstance(x, datetime)
        else "date"
        if isinstance(x, date)
        else type(x).__name__
        for x in values
        if x is not None
    }
    if len(kinds) > 1:
        raise UnsupportedCast(f"enum values mix types: {sorted(kinds)}")
    return _cast(_source(pa.array(values)), type_name)


def _python_regex(pattern: str) -> str:
    """A Rust regex for Python's `re`: ``$`` outside classes means end of text."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]" or out[-1] in ("[", "[^")
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif ch == "$":
            ch = r"\Z"
        out.append(ch)
        i += 1
    return "".join(out)


def _check(chk: Check, col: _Col, bad: Mask) -> Mask:
    """Rows whose typed value violates a check (a null violates only not_null)."""
    import pandas as pd

    present = ~col.null
    if chk.kind == "not_null":
        return col.null & ~bad
    if chk.kind == "range":
        out = np.zeros(len(col), dtype=bool)
        if chk.min is not None:
            out |= _compare(col, _bound(chk.min, col.type, "min"), "<")
        if chk.max is not None:
            out |= _compare(col, _bound(chk.max, col.type, "max"), ">")
        return present & out
    if chk.kind == "enum":
        assert chk.values is not None
        return present & ~_isin(col, _enum_values(list(chk.values), col.type))
    assert chk.pattern is not None
    text = _cast(_col_source(col), "string").values
    hits = np.zeros(len(col), dtype=bool)
    if present.any():
        with warnings.catch_warnings():  # groups in a user's pattern are fine here
            warnings.simplefilter("ignore", UserWarning)
            found = pd.Series(text[present], dtype=object).str.contains(
                _python_regex(chk.pattern), regex=True
            )
        hits[present] = found.to_numpy(dtype=bool)
    return present & ~hits


# ------------------------------------------------------------------ the engine
class PandasEngine(Engine):
    """Rules run as pandas ``.str`` operations and numpy masks; marts as pandas group-bys."""

    name: ClassVar[str] = "pandas"

    def clean(self, job: TableJob) -> TableResult:
        """Standardise, cast, check and dedupe one table (see `Engine.clean`)."""
        raw = _table(job.raw)
        rules = job.rules
        n = raw.num_rows
        counts = TableCounts(bronze_in=n)
        names = raw.column_names
        landed = [c for c in names if c not in (SOURCE_ROW, RAW_ERROR, RAW_LINE)]
        wanted = {c.bronze_name for c in rules.columns}
        counts.missing_columns = sorted(wanted - set(landed))
        counts.extra_columns = sorted(set(landed) - wanted)
        readable = np.asarray(raw.column(RAW_ERROR).is_null(), dtype=bool)
        source_rows = _source(raw.column(SOURCE_ROW)).values.astype(np.int64)

        typed: dict[str, _Col] = {}
        bad: dict[str, Mask] = {}
        for c in rules.columns:
            typed[c.name], bad[c.name] = self._column(raw, c, n)

        masks: dict[str, Mask] = {}
        for c in rules.columns:
            masks[c.type_rule_id(job.table)] = bad[c.name]
            for chk in c.checks:
                masks[chk.id] = _check(chk, typed[c.name], bad[c.name])
        for fk in rules.foreign_keys:
            col = typed[fk.column]
            parent = job.parent_keys.get(fk.id)
            keys = (
                _cast(_source(_table(parent).column(0)), col.type)
                if parent is not None and _table(parent).num_columns
                else _nulls(col.type, 0)
            )
            masks[fk.id] = ~col.null & ~_isin(col, keys)

        order = rule_order(job.table, rules)
        flags = {rid: readable & masks[rid] for rid, _, _ in order}
        counts.violations = {rid: int(flags[rid].sum()) for rid, _, _ in order}
        for rid, action, _ in order:
            if action == "fail" and counts.violations[rid]:
                raise RuleFailed(
                    f"rule {rid} (action fail) is violated by {counts.violations[rid]:,} rows"
                )
        malformed_id = f"{job.table}._row.malformed"
        reasons = [rid for rid, action, _ in order if action == "quarantine"] + [malformed_id]
        hits = np.column_stack([flags[r] for r in reasons[:-1]] + [~readable])
        hits[~readable, :-1] = False
        rejected: Mask = np.asarray(hits.any(axis=1), dtype=bool)
        counts.violations[malformed_id] = int((~readable).sum())
        rejects = self._rejects(source_rows, hits, rejected, reasons)

        kept = np.flatnonzero(~rejected)
        deduped = self._dedupe(kept, typed, source_rows, job)
        counts.duplicates_removed = len(kept) - len(deduped)
        schema = silver_schema(rules)
        m = len(deduped)
        arrays = [
            _to_arrow(typed[c.name].take(deduped), schema.field(c.name).type) for c in rules.columns
        ]
        stamp = job.ingested_at if job.ingested_at.tzinfo else job.ingested_at.replace(tzinfo=UTC)
        micros = (stamp - _EPOCH) // timedelta(microseconds=1)
        arrays += [
            pa.array(np.full(m, job.source_file, dtype=object), type=pa.string()),
            pa.array(source_rows[deduped], type=pa.int64()),
            pa.array(np.full(m, job.batch_id, dtype=object), type=pa.string()),
            pa.array(np.full(m, micros, dtype=np.int64)).cast(schema.field(INGESTED_AT).type),
        ]
        silver = pa.Table.from_arrays(arrays, schema=schema)
        counts.silver_out = silver.num_rows
        counts.quarantined = rejects.num_rows
        return TableResult(silver=silver, rejects=rejects, counts=counts)

    def _column(self, raw: pa.Table, c: ColumnRule, n: int) -> tuple[_Col, Mask]:
        """(typed value, cast failed) for one column."""
        if c.bronze_name not in raw.column_names:
            return _nulls(c.type, n), np.zeros(n, dtype=bool)
        arr = raw.column(c.bronze_name)
        src = _source(arr)
        if src.kind != "string":
            col = _cast(src, c.type)
            return col, ~src.null & col.null
        rows, text = _standardise(arr, c)
        values, ok = _parse(text, c)
        col = _nulls(c.type, n)
        if c.type == "string" or (_is_decimal(c.type) and values.dtype == object):
            col.values = col.values.astype(object)
        col.values[rows[ok]] = values[ok]
        col.null[rows[ok]] = False
        if _is_decimal(c.type):
            col.values = _fit_units(col.values)
        failed = np.zeros(n, dtype=bool)
        failed[rows[~ok]] = True
        return col, failed

    def _rejects(
        self, source_rows: Arr, hits: Mask, rejected: Mask, reasons: list[str]
    ) -> pa.Table:
        """Rejected rows and their reasons (sorted ids; malformed rows only that)."""
        rows = np.flatnonzero(rejected)
        rows = rows[np.argsort(source_rows[rows], kind="stable")]
        picked = hits[rows]
        at_rule = np.nonzero(picked)[1]
        offsets = np.zeros(len(rows) + 1, dtype=np.int32)
        np.cumsum(picked.sum(axis=1), out=offsets[1:])
        ids = pa.array(np.asarray(reasons, dtype=object)[at_rule], type=pa.string())
        lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), ids)
        return pa.Table.from_arrays(
            [
                pa.array(source_rows[rows], type=pa.int64()),
                lists.cast(REJECTS_SCHEMA.field(REASONS).type),
            ],
            schema=REJECTS_SCHEMA,
        )

    def _dedupe(
        self, kept: npt.NDArray[np.int64], typed: dict[str, _Col], source_rows: Arr, job: TableJob
    ) -> npt.NDArray[np.int64]:
        """Kept rows after dropping duplicates (the last per key wins), by source row."""
        import pandas as pd

        dedupe = job.rules.dedupe
        by_source = kept[np.argsort(source_rows[kept], kind="stable")]
        if dedupe is None or len(kept) == 0:
            return by_source
        if dedupe.order_by:
            rank = _rank(typed[dedupe.order_by].take(kept))
            ordered = kept[np.lexsort((source_rows[kept], rank))]
        else:
            ordered = by_source
        key = dedupe.key or [c.name for c in job.rules.columns]
        codes = pd.DataFrame(
            {i: _rank(typed[k].take(ordered), sort=False) for i, k in enumerate(key)}
        )
        last = ordered[~codes.duplicated(keep="last").to_numpy(dtype=bool)]
        out: npt.NDArray[np.int64] = last[np.argsort(source_rows[last], kind="stable")]
        return out

    # --------------------------------------------------------------- marts
    def mart(self, mart: MartSpec, silver: dict[str, Data], schemas: dict[str, pa.Schema]) -> Data:
        """A Gold mart: left joins (each joined table's last row per key), groups, measures."""
        import pandas as pd

        out_schema = mart_schema(mart, schemas)
        needed = {g.column for g in mart.group_by} | {j.key for j in mart.joins}
        for m in mart.measures.values():
            needed |= columns_of(parse_measure(m.expr))
        source = _table(silver[mart.source])
        names = set(source.column_names)
        frame = {c: _column_of(source, c) for c in names & needed}
        for j in mart.joins:
            right = _table(silver[j.table])
            cols = [c for c in j.columns if c not in names]
            names |= set(cols)
            rkey, lkey = _column_of(right, j.key), frame[j.key]
            if _is_decimal(lkey.type) and _is_decimal(rkey.type):
                scale = max(_scale(lkey.type)[1], _scale(rkey.type)[1])
                lkey, rkey = _rescale(lkey, scale), _rescale(rkey, scale)
            # the right side keeps its last row per key; null keys match nothing
            last = ~pd.Series(_rank(rkey, sort=False)).duplicated(keep="last").to_numpy(bool)
            rrows = np.flatnonzero(last & ~rkey.null)
            lrows = np.flatnonzero(~lkey.null)
            left_df = pd.DataFrame({"k": _key_values(lkey)[lrows], "l": lrows})
            right_df = pd.DataFrame({"k": _key_values(rkey)[rrows], "r": rrows})
            merged = left_df.merge(right_df, on="k", how="left", validate="many_to_one")
            match = np.full(len(lkey), -1, dtype=np.int64)
            match[merged["l"].to_numpy()] = merged["r"].fillna(-1).to_numpy().astype(np.int64)
            for c in set(cols) & needed:
                frame[c] = _column_of(right, c).take(match)

        n = source.num_rows
        keys: list[_Col] = []
        for g in mart.group_by:
            col = frame[g.column]
            if g.grain:
                col = _cast(_col_source(col), "date")
                if g.grain == "month":
                    col = _Col(
                        "date", col.values.astype("datetime64[M]").astype("datetime64[D]"), col.null
                    )
            keys.append(col)
        ranks = pd.DataFrame({i: _rank(k) for i, k in enumerate(keys)}) if keys else None
        if ranks is not None and len(ranks.columns):
            gid = ranks.groupby(list(ranks.columns), sort=True).ngroup().to_numpy(dtype=np.int64)
        else:
            gid = np.zeros(n, dtype=np.int64)
        groups = int(gid.max()) + 1 if n else 0
        first = np.unique(gid, return_index=True)[1] if n else np.zeros(0, np.int64)

        arrays: list[pa.Array] = []
        for g, k in zip(mart.group_by, keys, strict=True):
            arrays.append(_to_arrow(k.take(first), out_schema.field(g.output).type))
        for name, measure in mart.measures.items():
            t = out_schema.field(name).type
            arrays.append(_to_arrow(_measure(measure, frame, gid, groups, n, t), t))
        return pa.Table.from_arrays(arrays, schema=out_schema)


def _column_of(table: pa.Table, name: str) -> _Col:
    arr = table.column(name)
    return _cast(_source(arr), _silver_type(arr.type))


def _rescale(col: _Col, scale: int) -> _Col:
    units = _as_object(col.values) * 10 ** (scale - _scale(col.type)[1])
    return _Col(f"decimal(38,{scale})", _fit_units(units), col.null)


def _key_values(col: _Col) -> Arr:
    if col.type in ("date", "timestamp"):
        return col.values.astype(np.int64)
    return col.values


# ------------------------------------------------------------------ measures
@dataclass
class _Num:
    """A measure's expression evaluated: int, float, decimal (units at `scale`) or other."""

    kind: str
    values: Arr
    null: Mask
    scale: int = 0
    type: str = ""


def _evaluate(node: Node, frame: dict[str, _Col], n: int) -> _Num:
    if isinstance(node, Col):
        col = frame[node.name]
        if col.type in ("int", "float"):
            return _Num(col.type, col.values, col.null, type=col.type)
        if _is_decimal(col.type):
            return _Num("decimal", col.values, col.null, _scale(col.type)[1], col.type)
        return _Num("other", col.values, col.null, type=col.type)
    if isinstance(node, Num):
        kind = "int" if isinstance(node.value, int) else "float"
        return _Num(kind, np.full(n, node.value), np.zeros(n, dtype=bool), type=kind)
    assert isinstance(node, BinOp)
    left, right = _evaluate(node.left, frame, n), _evaluate(node.right, frame, n)
    null = left.null | right.null
    with np.errstate(all="ignore"):
        if node.op == "/" or "float" in (left.kind, right.kind):
            values = _OPS[node.op](_float(left), _float(right))
            return _Num("float", values, null, type="float")
        if "decimal" in (left.kind, right.kind):
            return _decimal_op(node.op, left, right, null)
        values = _OPS[node.op](left.values.astype(np.int64), right.values.astype(np.int64))
        return _Num("int", values, null, type="int")  # int64 wraps, as in polars


def _float(x: _Num) -> Arr:
    if x.kind == "decimal":
        return _units_to_float(x.values, x.scale)
    if x.kind == "other":
        return _cast(_col_source(_Col(x.type, x.values, x.null)), "float").values
    return x.values.astype(np.float64)


def _decimal_op(op: str, left: _Num, right: _Num, null: Mask) -> _Num:
    """Exact decimal arithmetic: a product's scale is the sum of scales, a sum's the larger."""
    a = np.where(null, 0, left.values)
    b = np.where(null, 0, right.values)
    if op == "*":
        scale = left.scale + right.scale
        wide = _abs_max(a) * _abs_max(b) > _I64_MAX
        values = (
            (_as_object(a) * _as_object(b)) if wide else a.astype(np.int64) * b.astype(np.int64)
        )
        return _Num("decimal", _fit_units(values), null, scale, f"decimal(38,{scale})")
    scale = max(left.scale, right.scale)
    fa, fb = 10 ** (scale - left.scale), 10 ** (scale - right.scale)
    wide = (_abs_max(a) * fa + _abs_max(b) * fb) > _I64_MAX
    if wide:
        a, b = _as_object(a) * fa, _as_object(b) * fb
    else:
        a, b = a.astype(np.int64) * fa, b.astype(np.int64) * fb
    units = _fit_units(_OPS[op](a, b))
    return _Num("decimal", units, null, scale, f"decimal(38,{scale})")


def _measure(
    measure: Measure, frame: dict[str, _Col], gid: Arr, groups: int, n: int, t: pa.DataType
) -> _Col:
    """One measure per group (groups numbered in output order)."""
    import pandas as pd

    node = parse_measure(measure.expr)
    if measure.fn == "count" and node is None:
        return _Col(
            "int", np.bincount(gid, minlength=groups).astype(np.int64), np.zeros(groups, bool)
        )
    assert node is not None
    x = _evaluate(node, frame, n)
    present = ~x.null
    g = gid[present]
    values = x.values[present]
    none = np.zeros(groups, dtype=bool)
    if measure.fn == "count":
        return _Col("int", np.bincount(g, minlength=groups).astype(np.int64), none)
    if measure.fn == "count_distinct":
        codes = _rank(_Col(x.type, values, np.zeros(len(values), dtype=bool)))
        pairs = pd.DataFrame({"g": g, "v": codes}).drop_duplicates()
        distinct = np.bincount(pairs["g"].to_numpy(), minlength=groups)
        return _Col("int", distinct.astype(np.int64), none)
    out_type = _silver_type(t)
    if measure.fn == "sum" and x.kind == "float":
        # row order, one addition at a time: polars' float sums are themselves
        # order-dependent (its threads change the order), so only ulps can differ
        return _Col("float", np.bincount(g, weights=values, minlength=groups), none)
    if measure.fn == "sum" and x.kind == "int":  # int64 wraps, as in polars
        sums = pd.Series(values, dtype=np.int64).groupby(g).sum()
        out = np.zeros(groups, dtype=np.int64)
        out[sums.index.to_numpy()] = sums.to_numpy()
        return _Col("int", out, none)
    if measure.fn == "sum":
        return _Col(out_type, _group_sum(values, g, groups), none)
    if measure.fn == "mean":
        counts = np.bincount(g, minlength=groups)
        if x.kind == "decimal":
            return _decimal_mean(_group_sum(values, g, groups), counts, out_type)
        floats = _float(_Num(x.kind, values, np.zeros(len(values), dtype=bool), x.scale, x.type))
        with np.errstate(all="ignore"):  # no values: 0.0 / 0 = NaN, as in polars
            return _Col("float", np.bincount(g, weights=floats, minlength=groups) / counts, none)
    return _group_extreme(measure.fn, x, values, g, groups, out_type)


def _group_sum(values: Arr, g: Arr, groups: int) -> Arr:
    """Exact per-group sums of decimal units (int64 while no sum can overflow)."""
    import pandas as pd

    if values.dtype != object and _abs_max(values) * max(len(values), 1) <= _I64_MAX:
        sums = pd.Series(values.astype(np.int64)).groupby(g).sum()
        out = np.zeros(groups, dtype=np.int64)
    else:
        sums = pd.Series(_as_object(values)).groupby(g).sum()
        out = np.zeros(groups, dtype=object)
    out[sums.index.to_numpy()] = sums.to_numpy()
    return _fit_units(out)


def _decimal_mean(sums: Arr, counts: Arr, out_type: str) -> _Col:
    """sum / count rounded half away from zero at the input's scale (in integers)."""
    k = np.maximum(counts, 1).astype(np.int64)
    if sums.dtype != object and _abs_max(sums) < 2**61:
        q = (np.abs(sums) * 2 + k) // (k * 2)
        units: Arr = np.where(sums < 0, -q, q)
    else:
        q = (np.abs(_as_object(sums)) * 2 + k.astype(object)) // (k.astype(object) * 2)
        units = _fit_units(np.where(sums < 0, -q, q).astype(object))
    return _Col(out_type, np.where(counts == 0, 0, units), counts == 0)


def _group_extreme(fn: str, x: _Num, values: Arr, g: Arr, groups: int, out_type: str) -> _Col:
    """min or max per group, nulls ignored; NaN too unless a group holds nothing else."""
    import pandas as pd

    out = _nulls(out_type, groups)
    if out.values.dtype != values.dtype:
        out.values = out.values.astype(values.dtype)
    if x.kind == "float":
        nan = np.isnan(values)
        out.values[np.unique(g[nan])] = np.nan
        out.null[np.unique(g[nan])] = False
        values, g = values[~nan], g[~nan]
    as_int = x.type in ("date", "timestamp")
    series = pd.Series(values.astype(np.int64) if as_int else values)
    result = series.groupby(g).min() if fn == "min" else series.groupby(g).max()
    at = result.index.to_numpy()
    picked = result.to_numpy()
    if as_int:
        picked = picked.astype(values.dtype)
    out.values[at] = picked
    out.null[at] = False
    if _is_decimal(out_type):
        out.values = _fit_units(out.values)
    return out
