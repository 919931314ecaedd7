"""Defect injection ("dirt"): realistic mistakes at named rates, with ground truth.

Each row carries at most one defect, chosen from the defect kinds that apply to its
table (a table with no e-mail field gets no malformed e-mails). Which rows get which
defect is decided by counter-based randomness on the row number, so the clean rows of a
dirty batch are byte-for-byte the rows of the same spec generated without dirt, and the
ground truth (row, defect, column, clean value) says exactly what was changed.

Columns that receive type-breaking defects (timestamps in mixed formats, numbers with a
comma decimal) are landed as strings in every row, as a CSV export from a real source
system would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from udo.domain.spec import DatasetSpec, FieldSpec
from udo.errors import SpecError
from udo.generate.rng import I64, integers, stream_key, uniform
from udo.generate.sources import Compiler, KeySource

DefectKind = Literal[
    "duplicate",
    "null_required",
    "malformed_email",
    "bad_price",
    "case_whitespace",
    "mixed_timestamp_format",
    "comma_decimal",
    "out_of_range",
    "orphan_fk",
    "future_date",
]
DEFECT_KINDS: tuple[str, ...] = DefectKind.__args__  # type: ignore[attr-defined]

TIMESTAMP_FORMATS = [
    "%Y-%m-%dT%H:%M:%SZ",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
]
DATE_FORMATS = ["%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%b %d, %Y"]
CANONICAL_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
CANONICAL_DATE = "%Y-%m-%d"


class DirtProfile(BaseModel):
    """Per-row rates of each defect kind (0 to 1; their sum at most 0.5)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "custom"
    duplicate: float = Field(0.0, ge=0, le=0.5, description="exact duplicate rows")
    null_required: float = Field(0.0, ge=0, le=0.5, description="nulls in required fields")
    malformed_email: float = Field(0.0, ge=0, le=0.5)
    bad_price: float = Field(0.0, ge=0, le=0.5, description="zero or negative prices")
    case_whitespace: float = Field(0.0, ge=0, le=0.5, description="'  GERMANY', 'germany '")
    mixed_timestamp_format: float = Field(0.0, ge=0, le=0.5)
    comma_decimal: float = Field(0.0, ge=0, le=0.5, description="'12,50', '1.234,50'")
    out_of_range: float = Field(0.0, ge=0, le=0.5)
    orphan_fk: float = Field(0.0, ge=0, le=0.5, description="keys of parents that do not exist")
    future_date: float = Field(0.0, ge=0, le=0.5)

    def rates(self) -> dict[str, float]:
        """Non-zero rates by defect kind."""
        return {k: getattr(self, k) for k in DEFECT_KINDS if getattr(self, k) > 0}

    @property
    def is_clean(self) -> bool:
        """Whether no defect is injected."""
        return not self.rates()

    @classmethod
    def named(cls, name: str) -> DirtProfile:
        """A built-in profile (none, light, default, heavy) or a YAML/JSON file of rates."""
        if name in PROFILES:
            return PROFILES[name]
        path = Path(name)
        if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                profile = cls.model_validate({"name": path.stem, **data})
            except (yaml.YAMLError, ValidationError, TypeError) as exc:
                raise SpecError([(str(path), f"invalid dirt profile: {exc}")]) from exc
        else:
            raise SpecError(
                [
                    (
                        "dirt",
                        f"unknown dirt profile {name!r}; use {', '.join(PROFILES)} or a YAML file",
                    )
                ]
            )
        if sum(profile.rates().values()) > 0.5:
            raise SpecError([(str(path), "defect rates add up to more than 0.5")])
        return profile


_DEFAULT = {
    "duplicate": 0.01,
    "null_required": 0.01,
    "malformed_email": 0.02,
    "bad_price": 0.01,
    "case_whitespace": 0.03,
    "mixed_timestamp_format": 0.02,
    "comma_decimal": 0.02,
    "out_of_range": 0.01,
    "orphan_fk": 0.005,
    "future_date": 0.005,
}
PROFILES: dict[str, DirtProfile] = {
    "none": DirtProfile(name="none"),
    "light": DirtProfile(name="light", **{k: v / 4 for k, v in _DEFAULT.items()}),
    "default": DirtProfile(name="default", **_DEFAULT),
    "heavy": DirtProfile(name="heavy", **{k: v * 3 for k, v in _DEFAULT.items()}),
}

TRUTH_SCHEMA = {
    "row": pl.Int64,
    "source_index": pl.Int64,
    "defect": pl.String,
    "column": pl.String,
    "clean_value": pl.String,
}
"""Ground truth: output row (0-based, in the landed file), the clean row it came from, the
defect, the column changed (null for duplicates) and that column's clean value."""


def eligible_columns(spec: DatasetSpec, table: str) -> dict[str, list[str]]:
    """For each defect kind, the emitted columns of `table` it can apply to."""
    t = spec.tables[table]
    fields = {n: f for n, f in t.fields.items() if f.emit}

    def numeric(f: FieldSpec) -> bool:
        return f.type in ("int", "float") or f.decimal is not None

    out: dict[str, list[str]] = {
        "duplicate": ["*"],
        "null_required": [n for n, f in fields.items() if f.null_rate == 0],
        "malformed_email": [n for n, f in fields.items() if f.format == "email"],
        "bad_price": [
            n
            for n, f in fields.items()
            if f.decimal is not None and isinstance(f.min, int | float) and f.min >= 0
        ],
        "case_whitespace": [
            n
            for n, f in fields.items()
            if (f.type == "category" or f.format == "country") and f.source in ("choices", "lookup")
        ],
        "mixed_timestamp_format": [n for n, f in fields.items() if f.type in ("date", "timestamp")],
        "comma_decimal": [
            n
            for n, f in fields.items()
            if (f.decimal is not None or f.type == "float") and f.fk is None
        ],
        "out_of_range": [
            n
            for n, f in fields.items()
            if f.type in ("int", "float")
            and f.fk is None
            and n != t.key
            and (isinstance(f.max, int | float) or isinstance(f.min, int | float))
        ],
        "orphan_fk": [
            n for n, f in fields.items() if f.fk is not None and _has_spare_keys(spec, f.fk.table)
        ],
        "future_date": [
            n for n, f in fields.items() if f.type in ("date", "timestamp") and f.max is not None
        ],
    }
    return {k: v for k, v in out.items() if v}


def _has_spare_keys(spec: DatasetSpec, parent: str) -> bool:
    """Whether the parent's key space leaves room for keys no parent has."""
    from udo.domain.spec import pattern_space

    t = spec.tables[parent]
    key = t.fields.get(t.key or "")
    if key is None or key.source != "pattern" or key.pattern is None:
        return True
    return pattern_space(key.pattern) > spec.max_rows(parent) + 1


@dataclass
class DirtyChunk:
    """A chunk as landed (defects applied) and the ground truth of what was changed."""

    frame: pl.DataFrame
    truth: pl.DataFrame


class DirtInjector:
    """Applies a profile to one table's chunks, in order, tracking output row numbers."""

    def __init__(
        self, spec: DatasetSpec, compiler: Compiler, table: str, profile: DirtProfile
    ) -> None:
        self.spec = spec
        self.compiler = compiler
        self.table = table
        eligible = eligible_columns(spec, table)
        rates = profile.rates()
        self.kinds = [k for k in DEFECT_KINDS if k in rates and k in eligible]
        self.rates = np.array([rates[k] for k in self.kinds])
        self.columns = {k: eligible[k] for k in self.kinds}
        self.key = stream_key(spec.seed, table, "__dirt__")
        fields = spec.tables[table].fields
        self.as_string = {
            c
            for k in ("mixed_timestamp_format", "comma_decimal")
            if k in self.columns
            for c in self.columns[k]
        }
        self.fields = fields
        self.out_rows = 0

    def landed_type(self, column: str) -> str:
        """The type a column is landed with (string where type-breaking defects go)."""
        return "string" if column in self.as_string else self.fields[column].type

    def apply(self, start: int, frame: pl.DataFrame) -> DirtyChunk:
        """Defects for clean rows [start, start + len(frame))."""
        n = len(frame)
        stop = start + n
        if not self.kinds:
            out = frame
            self.out_rows += n
            return DirtyChunk(out, pl.DataFrame(schema=TRUTH_SCHEMA))
        u = uniform(self.key, start, stop)
        which = np.searchsorted(np.cumsum(self.rates), u, side="right")
        pick = uniform(stream_key(self.key, "column"), start, stop)
        variant = integers(stream_key(self.key, "variant"), start, stop, 1 << 20)
        columns = dict(zip(frame.columns, frame.get_columns(), strict=True))
        typed = dict(columns)
        truth: list[pl.DataFrame] = []
        later: list[tuple[str, str, I64]] = []
        for k_idx, kind in enumerate(self.kinds):
            rows = np.flatnonzero(which == k_idx)
            if not len(rows):
                continue
            if kind == "duplicate":
                truth.append(_truth(rows, kind, None, None))
                continue
            cols = self.columns[kind]
            col_of = np.minimum((pick[rows] * len(cols)).astype(np.int64), len(cols) - 1)
            for c_idx, col in enumerate(cols):
                r = rows[col_of == c_idx]
                if kind not in ("null_required", "orphan_fk"):
                    # a null stays null whatever the defect: such rows carry none
                    r = r[typed[col].gather(r).is_not_null().to_numpy()]
                if not len(r):
                    continue
                truth.append(_truth(r, kind, col, typed[col].gather(r)))
                if kind in ("mixed_timestamp_format", "comma_decimal"):
                    later.append((kind, col, r))
                else:
                    columns[col] = self._typed_defect(kind, col, columns[col], r, variant[r], stop)
        for col in self.as_string:
            columns[col] = _canonical_string(columns[col])
        for kind, col, r in later:
            columns[col] = columns[col].scatter(
                r, _string_defect(kind, typed[col].gather(r), variant[r])
            )
        dirty = pl.DataFrame(list(columns.values()))
        dup = (
            which == self.kinds.index("duplicate")
            if "duplicate" in self.kinds
            else np.zeros(n, bool)
        )
        repeat = 1 + dup.astype(np.int64)
        first_pos = np.cumsum(repeat) - repeat  # output position of each clean row
        if dup.any():
            dirty = dirty.gather(np.repeat(np.arange(n), repeat))
        truth_frame = pl.concat(truth) if truth else pl.DataFrame(schema=TRUTH_SCHEMA)
        src = truth_frame["source_index"].to_numpy()
        is_dup = (truth_frame["defect"] == "duplicate").to_numpy()
        out_pos = first_pos[src] + is_dup.astype(np.int64) + self.out_rows
        truth_frame = truth_frame.with_columns(
            row=pl.Series(out_pos, dtype=pl.Int64),
            source_index=pl.Series(src + start, dtype=pl.Int64),
        ).sort("row")
        self.out_rows += int(repeat.sum())
        return DirtyChunk(dirty, truth_frame)

    def _typed_defect(
        self, kind: str, col: str, series: pl.Series, rows: I64, variant: I64, stop: int
    ) -> pl.Series:
        f = self.fields[col]
        old = series.gather(rows)
        if kind == "null_required":
            return series.scatter(rows, pl.Series([None] * len(rows), dtype=series.dtype))
        if kind == "malformed_email":
            return series.scatter(rows, _malformed_email(old, variant))
        if kind == "bad_price":
            zero = pl.Series(np.zeros(len(rows))).cast(series.dtype)
            negative = (-old.cast(pl.Float64)).cast(series.dtype)
            return series.scatter(rows, negative.zip_with(pl.Series(variant % 3 != 0), zero))
        if kind == "case_whitespace":
            return series.scatter(rows, _case_noise(old, variant))
        if kind == "out_of_range":
            return series.scatter(rows, _out_of_range(f, old, variant).cast(series.dtype))
        if kind == "orphan_fk":
            assert f.fk is not None
            parent = self.spec.tables[f.fk.table]
            key_src = self.compiler.key_source(f.fk.table)
            used = self._parent_rows(f.fk.table, parent.rows)
            # row numbers past the parent's last row have keys no parent has: keys are
            # bijections of the row number, within the key space (`capacity`)
            spare = max(key_src.capacity - used, 1)
            beyond = used + (variant % min(spare, 1_000_000))
            return series.scatter(rows, _orphans(key_src, beyond).cast(series.dtype))
        if kind == "future_date":
            days = (variant % 730 + 1).astype(np.int64)
            limit = pl.Series([f.max]).cast(series.dtype)[0]
            bumped = pl.select(
                pl.lit(limit, dtype=series.dtype) + pl.duration(days=pl.lit(pl.Series(days)))
            ).to_series()
            return series.scatter(rows, bumped.cast(series.dtype))
        raise AssertionError(kind)

    def _parent_rows(self, table: str, rows: int | None) -> int:
        if rows is not None:
            return rows
        # a per_parent parent: its size grows as it is generated; jump far past any row
        return 1 << 40


def _truth(rows: I64, kind: str, col: str | None, clean: pl.Series | None) -> pl.DataFrame:
    values = (
        clean.cast(pl.String)
        if clean is not None
        else pl.Series([None] * len(rows), dtype=pl.String)
    )
    return pl.DataFrame(
        {
            "row": pl.Series(rows, dtype=pl.Int64),
            "source_index": pl.Series(rows, dtype=pl.Int64),
            "defect": pl.Series([kind] * len(rows), dtype=pl.String),
            "column": pl.Series([col] * len(rows), dtype=pl.String),
            "clean_value": values,
        }
    )


def _canonical_string(series: pl.Series) -> pl.Series:
    if series.dtype == pl.Datetime:
        return series.dt.strftime(CANONICAL_TIMESTAMP)
    if series.dtype == pl.Date:
        return series.dt.strftime(CANONICAL_DATE)
    return series.cast(pl.String)


def _pick(variant: I64, options: list[pl.Series]) -> pl.Series:
    out = options[0]
    v = pl.Series(variant % len(options))
    for i, opt in enumerate(options[1:], start=1):
        out = opt.zip_with(v == i, out)
    return out


def _malformed_email(old: pl.Series, variant: I64) -> pl.Series:
    s = old.cast(pl.String)
    return _pick(
        variant,
        [
            s.str.replace("@", " at ", literal=True),
            s.str.replace("@", "", literal=True),
            s.str.replace("@", "@@", literal=True),
            s.str.replace(r"\.[a-z]+$", ""),
            s.str.replace("@", " @", literal=True),
        ],
    )


def _case_noise(old: pl.Series, variant: I64) -> pl.Series:
    s = old.cast(pl.String)
    noisy = _pick(
        variant,
        [
            s.str.to_uppercase(),
            s.str.to_lowercase(),
            "  " + s,
            s + " ",
            " " + s.str.to_lowercase() + "  ",
        ],
    )
    # a value already in that case would not change: pad it instead, so every listed
    # defect is visible
    return noisy.zip_with(noisy != s, " " + s + " ").cast(old.dtype)


def _out_of_range(f: FieldSpec, old: pl.Series, variant: I64) -> pl.Series:
    hi = f.max if isinstance(f.max, int | float) else None
    lo = f.min if isinstance(f.min, int | float) else None
    step = (variant % 50 + 1).astype(np.float64)
    above = (hi + step * max(abs(hi), 1)) if hi is not None else None
    below = (lo - step * max(abs(lo), 1)) if lo is not None else None
    if above is not None and below is not None:
        values = np.where(variant % 2 == 0, above, below)
    else:
        values = above if above is not None else below  # type: ignore[assignment]
    return pl.Series(values)


def _orphans(key_src: KeySource, beyond: I64) -> pl.Series:
    return key_src.at(beyond.astype(np.int64))


def _string_defect(kind: str, clean: pl.Series, variant: I64) -> pl.Series:
    if kind == "mixed_timestamp_format":
        formats = DATE_FORMATS if clean.dtype == pl.Date else TIMESTAMP_FORMATS
        options = [clean.dt.strftime(fmt) for fmt in formats]
        if clean.dtype != pl.Date:
            options.append(clean.dt.epoch("s").cast(pl.String))
        return _pick(variant, options)
    # comma_decimal: "12,50", or with a thousands separator "1.234,50"
    text = clean.cast(pl.String)
    comma = text.str.replace(".", ",", literal=True)
    # Defect rows are few: a Python pass for the grouped form is cheap and exact.
    thousands = pl.Series([_european(v) for v in text.to_list()], dtype=pl.String)
    return _pick(variant, [comma, thousands])


def _european(value: str | None) -> str | None:
    """'1234567.5' -> '1.234.567,5'."""
    if value is None:
        return None
    sign = "-" if value.startswith("-") else ""
    whole, _, frac = value.lstrip("-").partition(".")
    grouped = f"{int(whole):,}".replace(",", ".") if whole.isdigit() else whole
    return f"{sign}{grouped},{frac}" if frac else f"{sign}{grouped}"
