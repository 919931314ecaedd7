"""Engine parity: the pandas engine gives the polars reference's Silver, quarantine, counts
and Gold, whatever the input (preset batches, dirty text, typed columns, marts)."""

from __future__ import annotations

import dataclasses
import shutil
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.marts import GroupKey, Join, MartSpec, Measure
from udo.domain.rules import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_TIMESTAMP_FORMATS,
    EMAIL_REGEX,
    Check,
    ColumnRule,
    Dedupe,
    ForeignKeyRule,
    RuleSet,
    TableRules,
)
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline import delta
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import Pipeline
from udo.pipeline.engines.base import (
    FALSE_TEXT,
    TRUE_TEXT,
    RuleFailed,
    TableJob,
    TableResult,
    silver_schema,
)
from udo.pipeline.engines.pandas import PandasEngine
from udo.pipeline.engines.polars import PolarsEngine

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
POLARS = PolarsEngine()
PANDAS = PandasEngine()


def examples(n: int) -> settings:
    """Hypothesis settings: `n` examples, no per-example deadline (two engines run)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ------------------------------------------------------------------ comparing
def _plain(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with floats by repr, so NaN equals NaN and -0.0 differs from 0.0."""

    def norm(v: Any) -> Any:
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return [{k: norm(v) for k, v in row.items()} for row in table.to_pylist()]


def assert_same_table(got: pa.Table, ref: pa.Table) -> None:
    """Same schema and the same rows in the same order (NaN equal to NaN)."""
    assert got.schema == ref.schema
    if not got.equals(ref):  # Arrow's equals says NaN != NaN: compare the values
        assert _plain(got) == _plain(ref)


def _run(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # an engine's error is part of its answer
        return exc


def assert_same_clean(job: TableJob) -> TableResult | None:
    """Both engines clean `job` alike (or both refuse it); the pandas result."""
    ref, got = _run(POLARS.clean, job), _run(PANDAS.clean, job)
    if isinstance(ref, RuleFailed) or isinstance(got, RuleFailed):
        assert (type(got), str(got)) == (type(ref), str(ref))
        return None
    if isinstance(ref, Exception):
        assert isinstance(got, Exception), f"polars refused ({ref!r}), pandas did not"
        return None
    assert not isinstance(got, Exception), f"pandas raised {got!r}"
    assert dataclasses.asdict(got.counts) == dataclasses.asdict(ref.counts)
    assert_same_table(got.silver, ref.silver)
    assert_same_table(got.rejects, ref.rejects)
    assert isinstance(got, TableResult)
    return got


def assert_same_mart(mart: MartSpec, silver: dict[str, pa.Table]) -> pa.Table:
    schemas = {name: t.schema for name, t in silver.items()}
    ref = POLARS.mart(mart, dict(silver), schemas)
    got = PANDAS.mart(mart, dict(silver), schemas)
    assert isinstance(ref, pa.Table) and isinstance(got, pa.Table)
    assert_same_table(got, ref)
    return got


def _raw(columns: dict[str, pa.Array], errors: list[str | None] | None = None) -> pa.Table:
    n = len(next(iter(columns.values()))) if columns else len(errors or [])
    data: dict[str, pa.Array] = dict(columns)
    errors = errors or [None] * n
    data["_source_row"] = pa.array(range(n), pa.int64())
    data["_raw_error"] = pa.array(errors, pa.string())
    data["_raw_line"] = pa.array([f"line {i}" if e else None for i, e in enumerate(errors)])
    return pa.table(data)


def _job(rules: TableRules, raw: pa.Table, parents: dict[str, pa.Table] | None = None) -> TableJob:
    return TableJob("t", rules, raw, "t.csv", "b1", AT, dict(parents or {}))


def _table_rules(*columns: ColumnRule, **kwargs: Any) -> TableRules:
    """A table "t" (with its rule ids filled in) next to a parent "p"."""
    parent = TableRules(columns=[ColumnRule(name="id", type="int")])
    rules = RuleSet(
        dataset="d", tables={"p": parent, "t": TableRules(columns=list(columns), **kwargs)}
    )
    return rules.tables["t"]


# ------------------------------------------------------------------ 1. preset, end to end
@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_ecommerce_lakes_are_identical(tmp_path: Path, fmt: str) -> None:
    """Silver, quarantine and Gold of a dirty preset batch, cleaned by each engine."""
    ref_root, got_root = tmp_path / "polars", tmp_path / "pandas"
    ref_store = LocalStorageAdapter(ref_root)
    spec = load_preset("ecommerce").scaled(3000)
    generate_batch(
        BronzeStore(ref_store), spec, batch_id="b1", fmt=fmt, dirt=DirtProfile.named("default")
    )
    shutil.copytree(ref_root, got_root)
    got_store = LocalStorageAdapter(got_root)
    ref = Pipeline(ref_store, BronzeStore(ref_store), PolarsEngine()).clean(
        "ecommerce", "b1", ingested_at=AT
    )
    got = Pipeline(got_store, BronzeStore(got_store), PandasEngine()).clean(
        "ecommerce", "b1", ingested_at=AT
    )

    assert (ref.engine, got.engine) == ("polars", "pandas")
    skip = {"engine", "stage_seconds"}
    assert got.model_dump(exclude=skip) == ref.model_dump(exclude=skip)
    assert sum(t.quarantined for t in ref.tables.values()) > 0  # the batch is dirty
    assert sum(t.duplicates_removed for t in ref.tables.values()) > 0
    layers = [f"silver/ecommerce/{t}" for t in ref.tables]
    layers += [f"quarantine/ecommerce/{t}" for t in ref.tables]
    layers += [f"gold/ecommerce/{m}" for m in ref.marts]
    for layer in layers:
        ref_table, got_table = delta.read(ref_store.uri(layer)), delta.read(got_store.uri(layer))
        # Delta gives a table's rows in no particular order
        keys = (
            ["_source_row"] if "_source_row" in ref_table.column_names else ref_table.column_names
        )
        ref_table = ref_table.sort_by([(k, "ascending") for k in keys])
        got_table = got_table.sort_by([(k, "ascending") for k in keys])
        assert ref_table.num_rows > 0, layer
        assert_same_table(got_table, ref_table)


# ------------------------------------------------------------------ 2. dirty text
WHITESPACE = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\u00a0"])


def _noisy(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Whitespace around (NBSP is not trimmed) and case noise."""
    cases = st.sampled_from([str, str.upper, str.lower, str.title, str.swapcase])
    return st.builds(lambda a, v, b, c: a + c(v) + b, WHITESPACE, base, WHITESPACE, cases)


_units = st.integers(-(10**13), 10**13)
_places = st.integers(0, 5)


def _decimal_text(units: int, places: int, style: str) -> str:
    d = Decimal(units).scaleb(-places)
    plain = format(d, "f")
    grouped = format(d, ",f")
    return {
        "plain": plain,
        "comma": plain.replace(".", ","),
        "us": grouped,
        "euro": grouped.replace(",", "_").replace(".", ",").replace("_", "."),
        "signed": ("+" + plain) if units >= 0 else plain,
        "zeros": plain.replace("-", "-000") if units < 0 else "000" + plain,
    }[style]


NUMBERS = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.builds(
        _decimal_text,
        _units,
        _places,
        st.sampled_from(["plain", "comma", "us", "euro", "signed", "zeros"]),
    ),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["1e3", "1E-2", ".5", "5.", "1e999", "0x10", "1_000", "١٢٣", "１２", "--1"]),
)


def _format_date(d: date, fmt: str) -> str:
    month = date(2000, d.month, 1).strftime("%b")
    return (
        fmt.replace("%Y", f"{d.year:04d}")
        .replace("%m", f"{d.month:02d}")
        .replace("%d", f"{d.day:02d}")
        .replace("%b", month)
    )


# polars spends time growing about with the square of a timestamp column's formats on
# every clean (ten: 0.3 s), so the big test takes five; the default ten have their own
AT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%d.%m.%Y %H:%M", "%b %d, %Y %H:%M", "%s"]


def _format_stamp(t: datetime, fmt: str) -> str:
    if fmt == "%s":
        return str(int((t.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()))
    text = _format_date(t.date(), fmt)
    return (
        text.replace("%H", f"{t.hour:02d}")
        .replace("%M", f"{t.minute:02d}")
        .replace("%S", f"{t.second:02d}")
    )


DATES = st.one_of(
    st.builds(_format_date, st.dates(), st.sampled_from(DEFAULT_DATE_FORMATS)),
    st.sampled_from(
        [
            "2023-02-29",
            "2024-02-29",
            "0000-02-29",
            "2024-13-01",
            "31/04/2024",
            "2024-1-5",
            "5/1/2024",
        ]
    ),
    st.sampled_from(["Feb 30, 2024", "jan 05, 2024", "Sept 5, 2024", "20240230", "2024-01-01x"]),
)
STAMPS = st.one_of(
    st.builds(
        _format_stamp, st.datetimes(), st.sampled_from(DEFAULT_TIMESTAMP_FORMATS + AT_FORMATS)
    ),
    st.integers(-5, 253_402_300_805).map(str),
    st.sampled_from(["2024-01-01 24:00:00", "2024-01-01 23:60", "2024-01-01T10:00:00+01:00"]),
    st.sampled_from(["31.12.9999 23:59:59", "29.02.2023 10:00", "2024/02/29 23:59:59", "-1"]),
)
BOOLS = st.sampled_from([*TRUE_TEXT, *FALSE_TEXT, "2", "yes!", "TRUE", "Nope", "ja"])
WORDS = st.sampled_from(
    ["open", "closed", "pending", "OPN", "opn", "Pending", "ÉTÉ", "straße", "ΑΣ", "İ", "x"]
)
EMAILS = st.one_of(
    st.emails().map(str), st.sampled_from(["a@b", "a@b.c", "x@y.org\n", "@x.org", "ab.de"])
)
GARBAGE = st.text(max_size=6)


def _cell(*kinds: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.just(""), GARBAGE, *[_noisy(k) for k in kinds])


CELLS: dict[str, st.SearchStrategy[str | None]] = {
    "id": _cell(st.integers(0, 6).map(str), NUMBERS),
    "qty": _cell(NUMBERS),
    "price": _cell(NUMBERS),
    "big": _cell(NUMBERS),
    "ratio": _cell(NUMBERS),
    "flag": _cell(BOOLS),
    "day": _cell(DATES, STAMPS),
    "at": _cell(STAMPS, DATES),
    "status": _cell(WORDS),
    "email": _cell(EMAILS),
    "code": _cell(st.sampled_from(["ab", "AB12", "ab12\n", "a1", "Zz9"]), GARBAGE),
    "parent_id": _cell(st.integers(0, 9).map(str), NUMBERS),
    "extra": _cell(GARBAGE),
}


def _dirty_rules(dedupe: Dedupe | None, *, fail: bool) -> TableRules:
    """Every rule kind, every action and every type (`fail`: a null code stops the run)."""
    guard = Check(kind="not_null", action="fail" if fail else "quarantine")
    return _table_rules(
        ColumnRule(
            name="id",
            type="int",
            checks=[Check(kind="not_null"), Check(kind="range", min=0, action="warn")],
        ),
        ColumnRule(
            name="qty",
            type="int",
            type_action="warn",
            checks=[Check(kind="range", min=1, max=1000)],
        ),
        ColumnRule(
            name="price",
            type="decimal(10,2)",
            checks=[
                Check(kind="range", min=0, max=100_000.5),
                Check(kind="not_null", action="warn"),
                Check(kind="regex", pattern=r"\.\d0$", action="warn"),
            ],
        ),
        ColumnRule(
            name="big",
            type="decimal(38,6)",
            type_action="warn",
            checks=[Check(kind="range", min=-(10**20), max="99999999999999999999.5")],
        ),
        ColumnRule(
            name="ratio",
            type="float",
            checks=[Check(kind="range", min=-1e6, max=1e6, action="warn")],
        ),
        ColumnRule(name="flag", type="bool", checks=[Check(kind="enum", values=[True])]),
        ColumnRule(
            name="day",
            type="date",
            formats=DEFAULT_DATE_FORMATS,
            checks=[
                Check(kind="range", min=date(1900, 1, 1), max="2030-12-31"),
                Check(kind="regex", pattern="-01$", action="warn"),
            ],
        ),
        ColumnRule(
            name="at",
            type="timestamp",
            formats=AT_FORMATS,
            checks=[
                Check(kind="range", max=datetime(2100, 1, 1), action="warn"),
                Check(kind="range", id="t.at.window", min="1950-01-01T00:00:00"),
            ],
        ),
        ColumnRule(
            name="status",
            type="string",
            mapping={"OPN": "open", "Pending": "pending", "straße": "closed"},
            case="lower",
            checks=[Check(kind="enum", values=["open", "closed", "pending"])],
        ),
        ColumnRule(name="email", type="string", checks=[Check(kind="regex", pattern=EMAIL_REGEX)]),
        ColumnRule(
            name="code",
            type="string",
            trim=False,
            case="upper",
            type_action="fail",
            checks=[Check(kind="regex", pattern=r"^[A-Z]{2}\d*$", action="warn"), guard],
        ),
        ColumnRule(name="parent", type="int", source="parent_id"),
        ColumnRule(name="qty_text", type="string", source="qty"),
        ColumnRule(name="absent", type="decimal(5,1)", checks=[Check(kind="not_null")]),
        dedupe=dedupe,
        foreign_keys=[ForeignKeyRule(column="parent", parent="p", parent_column="id")],
    )


DEDUPES = st.sampled_from(
    [
        Dedupe(key=["id"]),
        Dedupe(key=["id"], order_by="at"),
        Dedupe(),
        Dedupe(key=["status", "day"], order_by="price"),
        None,
    ]
)


@st.composite
def dirty_tables(draw: st.DrawFn) -> tuple[pa.Table, list[int] | None]:
    n = draw(st.integers(0, 80))
    columns = {
        name: pa.array(draw(st.lists(cell, min_size=n, max_size=n)), pa.string())
        for name, cell in CELLS.items()
    }
    errors = draw(
        st.lists(st.sampled_from([None, None, None, None, "ragged_row"]), min_size=n, max_size=n)
    )
    parents = draw(st.none() | st.lists(st.integers(0, 9), max_size=8))
    return _raw(columns, errors), parents


@examples(45)
@given(data=dirty_tables(), dedupe=DEDUPES, fail=st.booleans())
def test_dirty_text_cleans_alike(
    data: tuple[pa.Table, list[int] | None], dedupe: Dedupe | None, fail: bool
) -> None:
    raw, parent_ids = data
    rules = _dirty_rules(dedupe, fail=fail)
    parents = {}
    if parent_ids is not None:
        parents["t.parent.fk"] = pa.table({"id": pa.array(parent_ids, pa.int64())})
    assert_same_clean(_job(rules, raw, parents))


@examples(10)
@given(stamps=st.lists(st.none() | _noisy(STAMPS) | _noisy(DATES), min_size=100, max_size=300))
def test_default_time_formats_parse_alike(stamps: list[str | None]) -> None:
    rules = _table_rules(
        ColumnRule(name="at", type="timestamp", formats=DEFAULT_TIMESTAMP_FORMATS),
        ColumnRule(name="day", type="date", source="at", formats=DEFAULT_DATE_FORMATS),
        dedupe=None,
    )
    assert_same_clean(_job(rules, _raw({"at": pa.array(stamps, pa.string())})))


@pytest.mark.parametrize("case", ["lower", "upper", None])
def test_case_changes_agree_on_every_code_point(case: str | None) -> None:
    """Python's case mappings, plus the pairs Unicode 15-16 added, are Rust's.

    Every character Python knows, and the new pairs; not other letters newer than
    Python's Unicode 14, which can also decide whether a capital sigma ends a word.
    """
    newer = [0x19B, 0x264, *range(0x1C89, 0x1C8B), *range(0xA7CB, 0xA7DD)]
    newer += [*range(0x10D50, 0x10D86), *range(0x16EA0, 0x16EB9), *range(0x16EBB, 0x16ED4)]
    known = (c for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs"))
    chars = [chr(c) for c in sorted({*known, *newer})]
    words = ["".join(chars[i : i + 9]) + "Σ" for i in range(0, len(chars), 9)]
    mapping = None if case else {w.lower(): "mapped" for w in words[::2]}
    rules = _table_rules(ColumnRule(name="s", type="string", case=case, mapping=mapping))
    assert_same_clean(_job(rules, _raw({"s": pa.array([w.upper() for w in words])})))


def test_fail_rules_stop_both_engines_alike() -> None:
    rules = _table_rules(
        ColumnRule(name="n", type="int", type_action="fail"),
        ColumnRule(
            name="s", type="string", checks=[Check(kind="enum", values=["a"], action="fail")]
        ),
    )
    ok = _raw({"n": pa.array(["1", None, " 2 "]), "s": pa.array(["a", None, "a"])})
    assert assert_same_clean(_job(rules, ok)) is not None
    for bad in (
        {"n": pa.array(["1", "x", "y"]), "s": pa.array(["a", "a", "a"])},
        {"n": pa.array(["1", "2", "3"]), "s": pa.array(["a", "b", "A"])},
    ):
        job = _job(rules, _raw(bad))
        with pytest.raises(RuleFailed, match="violated by 2 rows"):
            PANDAS.clean(job)
        assert_same_clean(job)
    # an unreadable row breaks no rule but malformed, whatever it holds
    unreadable = _raw({"n": pa.array(["x"]), "s": pa.array(["b"])}, errors=["invalid_json"])
    result = assert_same_clean(_job(rules, unreadable))
    assert result is not None
    assert result.rejects.to_pylist() == [
        {"_source_row": 0, "_reject_reasons": ["t._row.malformed"]}
    ]


# ------------------------------------------------------------------ typed Bronze columns
NAN, INF = float("nan"), float("inf")
TYPED: dict[str, pa.Array] = {
    "int64": pa.array([1, -2, None, 2**40, 0, -(2**63)], pa.int64()),
    "int8": pa.array([1, -2, None, 127], pa.int8()),
    "uint64": pa.array([1, 2**63, None, 2**64 - 1], pa.uint64()),
    "float64": pa.array(
        [1.5, -2.5, None, NAN, 1e300, -0.0, 0.125, 2.675, 1e-7, INF, -1e16, 123.456], pa.float64()
    ),
    "float32": pa.array([1.5, None, 0.1, -3.25], pa.float32()),
    "bool": pa.array([True, False, None]),
    "decimal": pa.array(
        [Decimal("1.255"), Decimal("-2.565"), None, Decimal("99.995"), Decimal("-0.005")],
        pa.decimal128(5, 3),
    ),
    "decimal38": pa.array(
        [Decimal("1" + "0" * 30 + ".5"), Decimal("-12.2500"), None, Decimal("0.0001")],
        pa.decimal128(38, 4),
    ),
    "date32": pa.array([date(2024, 1, 2), None, date(1960, 5, 1), date(1, 1, 1)], pa.date32()),
    "timestamp_us": pa.array(
        [datetime(2024, 1, 2, 3, 4, 5, 6), None, datetime(1960, 1, 1, 0, 0, 0, 1)],
        pa.timestamp("us"),
    ),
    "timestamp_ns": pa.array([-1, 1999, None, 1_704_164_645_000_006_789], pa.timestamp("ns")),
    "timestamp_ms": pa.array([-1, 1999, None], pa.timestamp("ms")),
    "timestamp_s": pa.array([-1, 1999, None, 253_402_300_799], pa.timestamp("s")),
    "date64": pa.array([86_400_000 * 3, None], pa.date64()),
    "dictionary": pa.array([" 1", "2", None, "2"]).dictionary_encode(),
    "timestamp_tz": pa.array(
        [datetime(2024, 1, 2, 23, 4, 5, 6, tzinfo=UTC), None], pa.timestamp("us", tz="Europe/Paris")
    ),
    "large_string": pa.array([" 12 ", None, "x", "1.234,5"], pa.large_string()),
    "null": pa.array([None, None], pa.null()),
}
TARGETS = ["int", "float", "bool", "decimal(10,2)", "decimal(38,4)", "decimal(3,0)"]
TARGETS += ["date", "timestamp", "string"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", list(TYPED))
def test_typed_bronze_columns_cast_alike(source: str, target: str) -> None:
    rules = _table_rules(
        ColumnRule(name="x", type=target, checks=[Check(kind="not_null", action="warn")])
    )
    assert_same_clean(_job(rules, _raw({"x": TYPED[source]})))


@examples(60)
@given(
    values=st.lists(st.none() | st.floats(width=64), max_size=12),
    target=st.sampled_from(["int", "decimal(12,3)", "decimal(30,10)", "string", "date"]),
)
def test_float_columns_cast_alike(values: list[float | None], target: str) -> None:
    """Float → text writes polars' digits; float → decimal rounds its shortest repr."""
    rules = _table_rules(ColumnRule(name="x", type=target))
    assert_same_clean(_job(rules, _raw({"x": pa.array(values, pa.float64())})))


def test_checks_on_typed_values_alike() -> None:
    """Bounds, enum values and patterns meet typed columns as polars casts them."""
    raw = _raw(
        {
            "i": pa.array([1, 5, None, 7, -3], pa.int64()),
            "f": pa.array([0.5, NAN, None, -0.0, INF], pa.float64()),
            "d": pa.array(
                [Decimal("1.50"), Decimal("0.01"), None, Decimal("-2.00"), Decimal("9.99")],
                pa.decimal128(6, 2),
            ),
            "s": pa.array(["b", "a", None, "5", "zz"]),
            "ts": pa.array([0, 10**15, None, -(10**12), 1], pa.timestamp("us")),
        }
    )
    rules = _table_rules(
        ColumnRule(
            name="i",
            type="int",
            checks=[
                Check(kind="range", min=-2, max="6"),
                Check(kind="enum", values=[1, 7], action="warn"),
                Check(kind="regex", pattern="^[0-5]$", action="warn"),
            ],
        ),
        ColumnRule(
            name="f",
            type="float",
            checks=[
                Check(kind="range", max=1.0),
                Check(kind="enum", values=[0.0, NAN], action="warn"),
                Check(kind="regex", pattern="^-?0", action="warn"),
            ],
        ),
        ColumnRule(
            name="d",
            type="decimal(6,2)",
            checks=[
                Check(kind="range", min=0.01, max=9),
                Check(kind="enum", values=["1.5", "9.99"]),
            ],
        ),
        ColumnRule(name="s", type="string", checks=[Check(kind="range", min="a", max=5)]),
        ColumnRule(
            name="ts",
            type="timestamp",
            checks=[
                Check(
                    kind="range",
                    min=date(1969, 12, 31),
                    max=datetime(2001, 1, 1, tzinfo=timezone(timedelta(hours=2))),
                ),
                Check(kind="regex", pattern=r"\.000001$", action="warn"),
            ],
        ),
        dedupe=Dedupe(key=["f"]),
    )
    result = assert_same_clean(_job(rules, raw))
    assert result is not None and result.counts.violations["t.f.range"] == 2  # NaN and inf


def test_parquet_files_clean_alike(tmp_path: Path) -> None:
    """Data may come as Parquet files (the heavy path's form) instead of a table."""
    raw = _raw({"n": pa.array([" 1", "2", None, "x", "2"]), "d": TYPED["decimal"]})
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    pq.write_table(raw.slice(0, 2), paths[0])
    pq.write_table(raw.slice(2), paths[1])
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), tmp_path / "keys.parquet")
    rules = _table_rules(
        ColumnRule(name="n", type="int"),
        ColumnRule(name="d", type="decimal(6,2)"),
        foreign_keys=[ForeignKeyRule(column="n", parent="p", parent_column="id")],
    )
    job = TableJob(
        "t", rules, list(paths), "t.csv", "b1", AT, {"t.n.fk": [tmp_path / "keys.parquet"]}
    )
    result = assert_same_clean(job)
    assert result is not None and result.counts.quarantined == 1  # "x" is no int


# ------------------------------------------------------------------ 3. marts
def _silver(rules: TableRules, rows: dict[str, list[Any]]) -> pa.Table:
    schema = silver_schema(rules)
    n = len(next(iter(rows.values())))
    data = dict(rows)
    data |= {"_source_file": ["f"] * n, "_source_row": list(range(n))}
    data |= {"_batch_id": ["b"] * n, "_ingested_at": [AT] * n}
    return pa.table({f.name: pa.array(data[f.name], f.type) for f in schema}, schema=schema)


SALES = TableRules(
    columns=[
        ColumnRule(name="g", type="string"),
        ColumnRule(name="k", type="int"),
        ColumnRule(name="ts", type="timestamp"),
        ColumnRule(name="d", type="date"),
        ColumnRule(name="qty", type="int"),
        ColumnRule(name="amount", type="decimal(10,2)"),
        ColumnRule(name="rate", type="decimal(8,3)"),
        ColumnRule(name="f", type="float"),
    ]
)
KINDS = TableRules(
    columns=[ColumnRule(name="k", type="int"), ColumnRule(name="cat", type="string")]
)


def _d(*values: str | None) -> list[Decimal | None]:
    return [None if v is None else Decimal(v) for v in values]


def test_mart_decimal_means_round_half_away_from_zero() -> None:
    ts = datetime(2024, 3, 5, 23, 59, 59, 999999)
    silver = {
        "sales": _silver(
            SALES,
            {
                "g": ["up", "up", "down", "down", "third", "third", "third", "none", "none", None],
                "k": [1, 2, 1, 3, None, 2, 9, 1, 1, 2],
                "ts": [ts] * 8 + [None, ts + timedelta(microseconds=1)],
                "d": [date(2024, 1, 31), date(2024, 2, 1), None, date(1969, 12, 31)] + [None] * 6,
                "qty": [1, 2, 3, None, 5, 6, 7, 8, 9, 10],
                "amount": _d(
                    "1.00", "1.01", "-1.00", "-1.01", "0.01", "0.02", "0.02", None, None, "5"
                ),
                "rate": _d(
                    "0.125", "0.375", "-0.001", "1.999", "0.500", "0.250", "0.125", None, "1", "2"
                ),
                "f": [0.5, 0.25, -0.75, None, 1.5, 2.0, 0.125, 1.0, None, 3.0],
            },
        ),
        # duplicate key 1 (the last row wins), a null key, a key no sale has
        "kinds": _silver(
            KINDS, {"k": [1, 2, 1, None, 4], "cat": ["old", "b", "a", "nullkey", "unused"]}
        ),
    }
    mart = MartSpec(
        name="m",
        source="sales",
        joins=[Join(table="kinds", key="k", columns=["cat", "g"])],
        group_by=[GroupKey(column="g"), GroupKey(column="ts", name="day", grain="day")],
        measures={
            "rows": Measure(fn="count"),
            "amounts": Measure(fn="count", expr="amount"),
            "cats": Measure(fn="count_distinct", expr="cat"),
            "revenue": Measure(fn="sum", expr="qty * amount"),
            "total": Measure(fn="sum", expr="amount + rate"),
            "avg": Measure(fn="mean", expr="amount"),
            "avg_rate": Measure(fn="mean", expr="rate - 1"),
            "avg_qty": Measure(fn="mean", expr="qty"),
            "ratio": Measure(fn="mean", expr="amount / qty"),
            "f_sum": Measure(fn="sum", expr="f * 2"),
            "f_avg": Measure(fn="mean", expr="f"),
            "lo": Measure(fn="min", expr="amount"),
            "hi": Measure(fn="max", expr="rate * 2"),
            "first": Measure(fn="min", expr="ts"),
            "last_day": Measure(fn="max", expr="d"),
            "top_cat": Measure(fn="max", expr="cat"),
            "units": Measure(fn="sum", expr="qty * 2 - 1"),
        },
    )
    got = assert_same_mart(mart, silver)
    avg = {(row["g"], row["day"]): row["avg"] for row in got.to_pylist()}
    # 1.005 -> 1.01, -1.005 -> -1.01, 0.01666 -> 0.02, no values -> null
    day = date(2024, 3, 5)
    assert avg == {
        (None, date(2024, 3, 6)): Decimal("5.00"),
        ("down", day): Decimal("-1.01"),
        ("none", day): None,
        ("none", None): None,
        ("third", day): Decimal("0.02"),
        ("up", day): Decimal("1.01"),
    }
    by_month = mart.model_copy(
        update={
            "group_by": [GroupKey(column="d", name="month", grain="month"), GroupKey(column="cat")]
        }
    )
    assert_same_mart(by_month, silver)
    empty = {name: t.slice(0, 0) for name, t in silver.items()}
    assert assert_same_mart(mart, empty).num_rows == 0


WIDE = TableRules(
    columns=[ColumnRule(name="g", type="int"), ColumnRule(name="x", type="decimal(38,4)")]
)


def _wide_mart(*values: str | None, **measures: Measure) -> tuple[MartSpec, dict[str, pa.Table]]:
    g = [i % 2 for i in range(len(values))]
    silver = {"w": _silver(WIDE, {"g": g, "x": _d(*values)})}
    return MartSpec(
        name="m", source="w", group_by=[GroupKey(column="g")], measures=measures
    ), silver


def test_marts_of_wide_decimals_alike() -> None:
    """Units beyond int64 (decimal(38,4)) sum and compare exactly."""
    big = "1" + "0" * 30 + ".5"
    mart, silver = _wide_mart(
        big,
        "-999999999999999999999.9999",
        "0.0001",
        None,
        "-0.0001",
        "900000000000000.0001",
        sum=Measure(fn="sum", expr="x * 2 + 1"),
        lo=Measure(fn="min", expr="x"),
        hi=Measure(fn="max", expr="x - g"),
        distinct=Measure(fn="count_distinct", expr="x"),
        third=Measure(fn="mean", expr="x / 3"),
    )
    got = assert_same_mart(mart, silver)
    assert got.column("lo").to_pylist() == _d("-0.0001", "-999999999999999999999.9999")
    # means of units whose double still fits int64, where the reference is right
    mart, silver = _wide_mart(
        "400000000000000.0001", "-0.0003", "-1.0005", "-0.0001", mean=Measure(fn="mean", expr="x")
    )
    assert assert_same_mart(mart, silver).column("mean").to_pylist() == _d(
        "199999999999999.4998", "-0.0002"
    )


def test_means_of_wide_decimals_match_reference() -> None:
    mart, silver = _wide_mart(
        "1000000000000000.0000", "0", "1.0000", "0", mean=Measure(fn="mean", expr="x")
    )
    assert_same_mart(mart, silver)


@examples(60)
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.sampled_from(["a", "b", "c"]),
            st.none() | st.integers(0, 4),
            st.none() | st.integers(-(10**6), 10**6),
            st.none() | st.integers(-50, 50),
            st.none() | st.integers(-8, 8).map(lambda i: i / 4),
        ),
        max_size=40,
    ),
    kinds=st.lists(st.tuples(st.none() | st.integers(0, 4), st.sampled_from("xyz")), max_size=8),
)
def test_random_marts_alike(
    rows: list[tuple[str | None, int | None, int | None, int | None, float | None]],
    kinds: list[tuple[int | None, str]],
) -> None:
    """Means of decimals at every rounding boundary, with joins and null keys."""
    n = len(rows)
    col = list(zip(*rows, strict=True)) if rows else [()] * 5
    silver = {
        "sales": _silver(
            SALES,
            {
                "g": list(col[0]),
                "k": list(col[1]),
                "ts": [AT.replace(tzinfo=None) + timedelta(hours=7 * (i % 9)) for i in range(n)],
                "d": [date(2024, 1 + i % 12, 28) for i in range(n)],
                "qty": list(col[3]),
                "amount": [None if u is None else Decimal(u).scaleb(-2) for u in col[2]],
                "rate": [None if u is None else Decimal(u * 37).scaleb(-3) for u in col[2]],
                "f": list(col[4]),
            },
        ),
        "kinds": _silver(KINDS, {"k": [k for k, _ in kinds], "cat": [c for _, c in kinds]}),
    }
    mart = MartSpec(
        name="m",
        source="sales",
        joins=[Join(table="kinds", key="k", columns=["cat"])],
        group_by=[GroupKey(column="cat"), GroupKey(column="ts", grain="day")],
        measures={
            "n": Measure(fn="count"),
            "distinct": Measure(fn="count_distinct", expr="amount"),
            "avg": Measure(fn="mean", expr="amount"),
            "avg_rate": Measure(fn="mean", expr="rate + amount"),
            "avg_qty": Measure(fn="mean", expr="qty"),
            "sum": Measure(fn="sum", expr="qty * amount"),
            "f": Measure(fn="sum", expr="f"),
            "f_avg": Measure(fn="mean", expr="f + qty"),
            "lo": Measure(fn="min", expr="f"),
            "hi": Measure(fn="max", expr="amount - qty"),
        },
    )
    assert_same_mart(mart, silver)
    for keys in (
        [GroupKey(column="g")],
        [GroupKey(column="ts"), GroupKey(column="d", name="month", grain="month")],
    ):
        assert_same_mart(mart.model_copy(update={"group_by": keys}), silver)


# ------------------------------------------------------------------ the reference's deviations
def _products() -> tuple[MartSpec, dict[str, pa.Table]]:
    rows: dict[str, list[Any]] = {c.name: [None, None] for c in SALES.columns}
    rows |= {"g": ["a", "b"], "amount": _d("1.25", "-2.50"), "rate": _d("1.007", "0.333")}
    mart = MartSpec(
        name="m",
        source="sales",
        group_by=[GroupKey(column="g")],
        measures={"x": Measure(fn="sum", expr="amount * rate")},
    )
    return mart, {"sales": _silver(SALES, rows)}


def test_decimal_products_match_reference() -> None:
    assert_same_mart(*_products())


def test_decimal_products_are_exact() -> None:
    mart, silver = _products()
    got = PANDAS.mart(mart, dict(silver), {"sales": silver["sales"].schema})
    assert isinstance(got, pa.Table)
    assert got.column("x").to_pylist() == [Decimal("1.25875"), Decimal("-0.83250")]


def test_bounds_with_more_digits_match_reference() -> None:
    rules = _table_rules(
        ColumnRule(name="i", type="int", checks=[Check(kind="range", min=0.5)]),
        ColumnRule(name="d", type="decimal(10,2)", checks=[Check(kind="range", min=0.005)]),
    )
    assert_same_clean(_job(rules, _raw({"i": pa.array(["0", "1"]), "d": pa.array(["0", "1"])})))


def test_bounds_with_more_digits_round_inward() -> None:
    rules = _table_rules(
        ColumnRule(name="i", type="int", checks=[Check(kind="range", min=0.5, max=2.5)]),
        ColumnRule(name="d", type="decimal(10,2)", checks=[Check(kind="range", min=0.005)]),
    )
    raw = _raw({"i": pa.array(["0", "1", "2", "3"]), "d": pa.array(["0", "0.01", "1", "2"])})
    result = PANDAS.clean(_job(rules, raw))
    assert isinstance(result.rejects, pa.Table)
    assert result.rejects.to_pylist() == [
        {"_source_row": 0, "_reject_reasons": ["t.d.range", "t.i.range"]},
        {"_source_row": 3, "_reject_reasons": ["t.i.range"]},
    ]


def test_name_and_registry() -> None:
    from udo.bootstrap import engine_from

    assert PandasEngine.name == "pandas"
    assert isinstance(engine_from("pandas"), PandasEngine)
