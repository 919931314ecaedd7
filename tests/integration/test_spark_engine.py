"""The Spark engine gives the polars engine's answer: Silver, quarantine, counts and Gold.

Parity is checked end to end through the pipeline (Delta tables and ledgers), on dirty
text through a rule set that uses every rule kind, type and action (hypothesis), on
every Arrow type a Parquet file may land, and on Gold edge cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.ledger import Ledger
from udo.domain.marts import GroupKey, Join, MartSpec, Measure
from udo.domain.rules import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_TIMESTAMP_FORMATS,
    Action,
    Check,
    ColumnRule,
    Dedupe,
    ForeignKeyRule,
    RuleSet,
    TableRules,
)
from udo.generate.dirt import PROFILES
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline import delta
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import Pipeline
from udo.pipeline.engines.base import (
    RAW_ERROR,
    RAW_LINE,
    REJECTS_SCHEMA,
    SOURCE_ROW,
    Data,
    RuleFailed,
    TableJob,
    TableResult,
    silver_schema,
)
from udo.pipeline.engines.polars import PolarsEngine
from udo.pipeline.engines.spark import SparkEngine, UnsupportedCast, java_regex
from udo.pipeline.marts import mart_schema

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

INGESTED_AT = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkEngine]:
    """A Spark engine on the shared session (small inputs: one sorted file per output)."""
    eng = SparkEngine(tmp_path_factory.mktemp("spark-work"), session=spark)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def large_engine(spark: SparkSession) -> Iterator[SparkEngine]:
    """An engine that treats every input as large: range sorts and a counting job."""
    eng = SparkEngine(session=spark, single_file_rows=-1)
    yield eng
    eng.close()


# ------------------------------------------------------------------ helpers
def _comparable(table: pa.Table) -> list[tuple[Any, ...]]:
    """Rows with exact, comparable values: floats by repr (-0.0, nan), dates as numbers."""
    columns = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_date(col.type):
            columns.append(col.cast(pa.int32()).to_pylist())
        elif pa.types.is_timestamp(col.type):
            columns.append(col.cast(pa.int64()).to_pylist())
        elif pa.types.is_floating(col.type):
            columns.append([None if v is None else repr(v) for v in col.to_pylist()])
        else:
            columns.append(col.to_pylist())
    return list(zip(*columns, strict=True)) if columns else []


def assert_same(expected: pa.Table, actual: pa.Table, what: str) -> None:
    """Same schema and same rows in the same order, with a readable difference."""
    assert actual.schema.equals(expected.schema), (
        f"{what}: schema\n{actual.schema}\n!=\n{expected.schema}"
    )
    want, got = _comparable(expected), _comparable(actual)
    if want != got:
        extra = [r for r in got if r not in want][:5]
        missing = [r for r in want if r not in got][:5]
        pytest.fail(
            f"{what}: {len(got)} rows vs {len(want)} expected\n"
            f"  only in spark:  {extra}\n  only in polars: {missing}\n"
            f"  columns: {expected.column_names}"
        )


def read_output(data: Data, schema: pa.Schema) -> pa.Table:
    """Spark's Parquet files read as the pipeline reads them, checking they need no lossy cast."""
    assert isinstance(data, list) and data, "the Spark engine returns Parquet files"
    table = ds.dataset([str(p) for p in data], format="parquet").to_table()
    for f in schema:
        got = table.schema.field(f.name).type
        if pa.types.is_list(f.type):
            assert pa.types.is_list(got) and got.value_type == f.type.value_type, (f.name, got)
        else:
            assert got == f.type, f"{f.name}: Spark wrote {got}, Silver is {f.type}"
    return table.select(schema.names).cast(schema)


def assert_same_result(
    expected: TableResult, actual: TableResult, rules: TableRules, what: str
) -> None:
    """Silver, rejects and counts of two engines agree exactly."""
    assert isinstance(expected.silver, pa.Table) and isinstance(expected.rejects, pa.Table)
    want, got = asdict(expected.counts), asdict(actual.counts)
    want_v, got_v = want.pop("violations"), got.pop("violations")
    assert got == want, what
    assert got_v == want_v, {
        k: (got_v.get(k), want_v.get(k)) for k in want_v | got_v if got_v.get(k) != want_v.get(k)
    }
    assert_same(expected.rejects, read_output(actual.rejects, REJECTS_SCHEMA), f"{what} rejects")
    schema = silver_schema(rules)
    assert_same(expected.silver, read_output(actual.silver, schema), f"{what} silver")


def raw_table(columns: dict[str, pa.Array], errors: list[str | None]) -> pa.Table:
    """A raw Bronze table: landed columns plus `_source_row`, `_raw_error`, `_raw_line`."""
    n = len(errors)
    return pa.table(
        {
            **columns,
            SOURCE_ROW: pa.array(range(n), pa.int64()),
            RAW_ERROR: pa.array(errors, pa.string()),
            RAW_LINE: pa.array(["a,b,c" if e else None for e in errors], pa.string()),
        }
    )


def run_both(
    engine: SparkEngine, job: TableJob
) -> tuple[TableResult | RuleFailed, TableResult | RuleFailed]:
    """(polars, Spark) answers for one job; a `RuleFailed` is an answer too."""
    answers: list[TableResult | RuleFailed] = []
    for eng in (PolarsEngine(), engine):
        try:
            answers.append(eng.clean(job))
        except RuleFailed as exc:
            answers.append(exc)
    return answers[0], answers[1]


# ------------------------------------------------------------ end to end
@dataclass
class Lake:
    """One lake cleaned by one engine."""

    pipeline: Pipeline
    dataset: str
    batch_id: str
    ledger: Ledger

    def silver(self, table: str) -> pa.Table:
        return delta.read(self.pipeline.lake.silver(self.dataset, table)).sort_by(SOURCE_ROW)

    def quarantine(self, table: str) -> pa.Table:
        return delta.read(self.pipeline.lake.quarantine(self.dataset, table)).sort_by(SOURCE_ROW)

    def gold(self, mart: str) -> pa.Table:
        table = delta.read(self.pipeline.lake.gold(self.dataset, mart))
        return table.sort_by([(c, "ascending") for c in table.column_names])


def clean_lake(root: Path, engine: PolarsEngine | SparkEngine, fmt: str) -> Lake:
    """Generate the dirty e-commerce batch into a new lake and clean it."""
    storage = LocalStorageAdapter(root)
    bronze = BronzeStore(storage)
    spec = load_preset("ecommerce").scaled(2_000)
    manifest = generate_batch(bronze, spec, batch_id="b1", fmt=fmt, dirt=PROFILES["default"])
    pipeline = Pipeline(storage, bronze, engine)
    ledger = pipeline.clean(manifest.dataset, manifest.batch_id, ingested_at=INGESTED_AT)
    return Lake(pipeline, manifest.dataset, manifest.batch_id, ledger)


def _ledger(ledger: Ledger) -> dict[str, Any]:
    return ledger.model_dump(exclude={"engine", "stage_seconds"})


@pytest.fixture(scope="module", params=["parquet", "csv"])
def lakes(
    request: pytest.FixtureRequest, engine: SparkEngine, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Lake, Lake]:
    """The same dirty batch cleaned by polars and by Spark, in two lakes."""
    root = tmp_path_factory.mktemp(f"lakes-{request.param}")
    return clean_lake(root / "polars", PolarsEngine(), request.param), clean_lake(
        root / "spark", engine, request.param
    )


def test_end_to_end_matches_polars(lakes: tuple[Lake, Lake]) -> None:
    reference, spark = lakes
    assert spark.ledger.engine == "spark"
    assert _ledger(spark.ledger) == _ledger(reference.ledger)
    tables = reference.ledger.tables
    # the comparison means something: every fate of a row occurs
    assert sum(t.quarantined for t in tables.values()) > 100
    assert sum(t.duplicates_removed for t in tables.values()) > 10
    for table in tables:
        assert_same(reference.silver(table), spark.silver(table), f"silver {table}")
        assert_same(reference.quarantine(table), spark.quarantine(table), f"quarantine {table}")
    assert set(reference.ledger.marts) == {
        "daily_sales",
        "customer_lifetime_value",
        "product_performance",
    }
    for mart in reference.ledger.marts:
        assert reference.ledger.marts[mart] > 0
        assert_same(reference.gold(mart), spark.gold(mart), f"gold {mart}")


@pytest.mark.parametrize("lakes", ["parquet"], indirect=True)
def test_rerun_of_a_batch_leaves_silver_unchanged(lakes: tuple[Lake, Lake]) -> None:
    _, spark = lakes
    tables = list(spark.ledger.tables)
    before = {t: (spark.silver(t), spark.quarantine(t)) for t in tables}
    gold = {m: spark.gold(m) for m in spark.ledger.marts}
    again = spark.pipeline.clean(spark.dataset, spark.batch_id, ingested_at=INGESTED_AT)
    assert _ledger(again) == _ledger(spark.ledger)
    for t in tables:
        assert_same(before[t][0], spark.silver(t), f"silver {t} after a re-run")
        assert_same(before[t][1], spark.quarantine(t), f"quarantine {t} after a re-run")
    for m, table in gold.items():
        assert_same(table, spark.gold(m), f"gold {m} after a re-run")


# ------------------------------------------------------ rules, property based
POOL = [
    "12",
    "+12",
    "-0",
    "007",
    "1.234,50",
    "12,50",
    "1,234.50",
    "1,2,3",
    "1.5e3",
    ".5",
    "1.",
    "0.285",
    "99999999999999999999",
    "١٢",
    "1_000",
    "nan",
    "inf",
    "2024-02-29",
    "2023-02-29",
    "29/02/2024",
    "31.04.2024",
    "Feb 29, 2024",
    "fEB 01, 2024",
    "Foo 01, 2024",
    "20240131",
    "0000-02-29",
    "2024-01-31T10:11:12Z",
    "2024-01-31 24:00:00",
    "2024-13-01 10:00",
    "31.12.2024 23:59",
    "2024/01/31 10:11:12",
    "1700000000",
    "-5",
    "253402300799",
    "253402300800",
    "Yes",
    "N",
    "TRUE",
    "t",
    "0",
    "YES",
    "nein",
    "N/A",
    "x",
    "abc",
    "a b",
    "İstanbul",
    "STRASSE ß",
    "ΣΑΣ",
    "a@b.co",
    "a\n",
    "\u2028",
    "12\u00a0",
    "31 Jan 2024 10%",
]
PADS = ["", " ", "\t", "\n ", "\r\n", "\x0b", "\x0c", "\u00a0", "\u2028"]
ALPHABET = "0123456789+-.,eE :/TZ abNFt\t\n\x0b\u00a0İßΣ١"
TEXT = st.one_of(
    st.none(),
    st.sampled_from(POOL),
    st.text(ALPHABET, max_size=10),
    st.builds(
        lambda a, v, b: a + v + b,
        st.sampled_from(PADS),
        st.sampled_from(POOL),
        st.sampled_from(PADS),
    ),
)
KEY = st.one_of(st.none(), st.sampled_from(["1", "2", " 3", "4", "5", "x", "2.0", "+1"]))
ACTION: st.SearchStrategy[Action] = st.sampled_from(
    ["quarantine", "quarantine", "warn", "warn", "fail"]
)
TIMESTAMP_FORMATS = [*DEFAULT_TIMESTAMP_FORMATS, "%d %b %Y %H%%", "%Y-%m", "%H:%M"]


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    """Rules over three dirty text columns read as every type, with drawn actions."""

    def check(kind: str, **params: Any) -> Check:
        return Check(kind=kind, action=draw(ACTION), **params)

    columns = [
        ColumnRule(name="k", type="int", type_action=draw(ACTION), checks=[check("not_null")]),
        ColumnRule(
            name="s",
            type="string",
            source="a",
            mapping={"YES": "yes", "Nein": "no", "n/a": "", "İstanbul": "ist"},
            case="lower",
            checks=[check("enum", values=["yes", "no", "x", ""]), check("regex", pattern=r"^\w+$")],
        ),
        ColumnRule(
            name="raw",
            type="string",
            source="b",
            trim=False,
            case="upper",
            checks=[check("regex", pattern=r"^\d+(\.\d+)?$"), check("not_null")],
        ),
        ColumnRule(
            name="i",
            type="int",
            source="b",
            type_action=draw(ACTION),
            checks=[check("range", min=0.5, max=1000.7)],
        ),
        ColumnRule(
            name="f",
            type="float",
            source="a",
            type_action=draw(ACTION),
            checks=[check("range", min=-1.5, max=1e6)],
        ),
        ColumnRule(
            name="d",
            type="decimal(6,2)",
            source="b",
            type_action=draw(ACTION),
            checks=[
                check("range", min=0.285, max="9999"),
                check("enum", values=["1.50", "12", "abc"]),
            ],
        ),
        ColumnRule(
            name="flag",
            type="bool",
            source="a",
            type_action=draw(ACTION),
            checks=[check("not_null")],
        ),
        ColumnRule(
            name="day",
            type="date",
            source="a",
            formats=[*DEFAULT_DATE_FORMATS, "%Y-%m", "%d"],
            type_action=draw(ACTION),
            checks=[check("range", min="2000-01-01", max=date(2030, 1, 1))],
        ),
        ColumnRule(
            name="ts",
            type="timestamp",
            source="b",
            formats=TIMESTAMP_FORMATS,
            type_action=draw(ACTION),
            checks=[check("range", min=date(2020, 1, 1), max=datetime(2099, 1, 1, 12))],
        ),
        ColumnRule(
            name="email",
            type="string",
            source="a",
            checks=[check("regex", pattern=r"^[a-z]+@[a-z]+\.co$")],
        ),
        ColumnRule(name="gone", type="int", source="missing", checks=[check("not_null")]),
    ]
    dedupe = draw(
        st.sampled_from(
            [
                Dedupe(key=["k"]),
                Dedupe(key=["k"], order_by="ts"),
                Dedupe(key=["s", "k"], order_by="d"),
                Dedupe(),
                None,
            ]
        )
    )
    fk = ForeignKeyRule(column="k", parent="p", parent_column="id", action=draw(ACTION))
    table = TableRules(columns=columns, dedupe=dedupe, foreign_keys=[fk])
    parent = TableRules(columns=[ColumnRule(name="id", type="int")])
    return RuleSet(dataset="t", tables={"p": parent, "t": table})


@st.composite
def raw_rows(draw: st.DrawFn) -> pa.Table:
    """Up to 30 raw rows of dirty text; some could not be read (malformed)."""
    n = draw(st.integers(0, 30))
    keys = draw(st.lists(KEY, min_size=n, max_size=n))
    a = draw(st.lists(TEXT, min_size=n, max_size=n))
    b = draw(st.lists(TEXT, min_size=n, max_size=n))
    errors = draw(st.lists(st.sampled_from([None] * 8 + ["ragged_row"]), min_size=n, max_size=n))
    columns = {
        "k": pa.array(keys, pa.string()),
        "a": pa.array(a, pa.string()),
        "b": pa.array(b, pa.string()),
        "extra": pa.array(a, pa.string()),
    }
    return raw_table(columns, errors)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rules=rule_sets(), raw=raw_rows(), large=st.booleans())
def test_dirty_text_gives_the_same_silver_rejects_and_counts(
    engine: SparkEngine, large_engine: SparkEngine, rules: RuleSet, raw: pa.Table, large: bool
) -> None:
    fk_id = rules.tables["t"].foreign_keys[0].id
    parents = pa.table({"id": pa.array([1, 2, 3, 5, None], pa.int64())})
    job = TableJob(
        table="t",
        rules=rules.tables["t"],
        raw=raw,
        source_file="t.csv",
        batch_id="b1",
        ingested_at=datetime(2025, 1, 2, 3, 4, 5),  # naive: read as UTC by both engines
        parent_keys={fk_id: parents},
    )
    expected, actual = run_both(large_engine if large else engine, job)
    if isinstance(expected, RuleFailed) or isinstance(actual, RuleFailed):
        assert str(actual) == str(expected)
        return
    assert_same_result(expected, actual, rules.tables["t"], "dirty text")


def test_a_failing_rule_stops_both_engines_with_the_same_message(engine: SparkEngine) -> None:
    rules = RuleSet(
        dataset="t",
        tables={
            "t": TableRules(
                columns=[
                    ColumnRule(
                        name="n", type="int", checks=[Check(kind="range", max=5, action="fail")]
                    )
                ]
            )
        },
    )
    raw = raw_table({"n": pa.array(["1", "7", "9", "x"])}, [None] * 4)
    job = TableJob("t", rules.tables["t"], raw, "t.csv", "b1", INGESTED_AT)
    expected, actual = run_both(engine, job)
    assert isinstance(expected, RuleFailed) and isinstance(actual, RuleFailed)
    assert str(actual) == str(expected) == "rule t.n.range (action fail) is violated by 2 rows"


# ----------------------------------------------------------- typed columns
NAN, INF = float("nan"), float("inf")
TYPED: dict[str, pa.Array] = {
    "int64": pa.array([1, -2, None, 2**40, 0, -(2**63)], pa.int64()),
    "int8": pa.array([1, -2, None, 127], pa.int8()),
    "uint64": pa.array([1, 2**63, None, 2**64 - 1], pa.uint64()),
    "float64": pa.array(
        [
            1.5,
            -2.5,
            None,
            NAN,
            1e300,
            -0.0,
            0.125,
            2.675,
            1e-7,
            INF,
            -1e16,
            123.456,
            5e-324,
            0.1 + 0.2,
            1e16 - 2,
            2.5e-5,
            1.255,
            922337205.0,
        ],
        pa.float64(),
    ),
    "float32": pa.array([1.5, None, 0.1, -3.25, 1e13, 1.5e-7], pa.float32()),
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
        [datetime(2024, 1, 2, 23, 4, 5, 6, tzinfo=UTC), None, datetime(2024, 7, 1, tzinfo=UTC)],
        pa.timestamp("us", tz="Europe/Paris"),
    ),
    "timestamp_utc": pa.array(
        [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)], pa.timestamp("ms", tz="UTC")
    ),
    "large_string": pa.array([" 12 ", None, "x", "1.234,5"], pa.large_string()),
    "null": pa.array([None, None], pa.null()),
}
TARGETS = [
    "int",
    "float",
    "bool",
    "decimal(10,2)",
    "decimal(38,4)",
    "decimal(3,0)",
    "decimal(30,10)",
]
TARGETS += ["date", "timestamp", "string"]


def _cast_rule(source: str, target: str) -> ColumnRule:
    name = f"{source}__{target}".replace("(", "_").replace(",", "_").replace(")", "")
    return ColumnRule(name=name, type=target, source=source, type_action="warn")


def _typed_raw() -> pa.Table:
    n = max(len(a) for a in TYPED.values())
    padded = {k: pa.concat_arrays([a, pa.nulls(n - len(a), a.type)]) for k, a in TYPED.items()}
    return raw_table(padded, [None] * n)


def _polars_accepts(source: str, target: str) -> bool:
    """Whether polars casts the source's values to the target."""
    rules = TableRules(columns=[_cast_rule(source, target)], dedupe=None)
    column = TYPED[source]
    job = TableJob(
        "t",
        rules,
        raw_table({source: column}, [None] * len(column)),
        "t.parquet",
        "b1",
        INGESTED_AT,
    )
    try:
        PolarsEngine().clean(job)
    except RuleFailed:
        raise
    except Exception:
        return False
    return True


POLARS_RAISES_ON_VALUES = {("float64", "decimal(10,2)")}
"""Pairs where polars used to raise on some values instead of giving null (now guarded)."""


def test_typed_parquet_columns_cast_as_polars_casts_them(engine: SparkEngine) -> None:
    """Every Arrow type a Parquet file may land, to every column type polars casts it to."""
    pairs = [
        (s, t)
        for s in TYPED
        for t in TARGETS
        if _polars_accepts(s, t) and (s, t) not in POLARS_RAISES_ON_VALUES
    ]
    assert len(pairs) > 120
    rules = TableRules(columns=[_cast_rule(s, t) for s, t in pairs], dedupe=None)
    job = TableJob("typed", rules, _typed_raw(), "typed.parquet", "b1", INGESTED_AT)
    expected, actual = run_both(engine, job)
    assert isinstance(expected, TableResult) and isinstance(actual, TableResult)
    assert_same_result(expected, actual, rules, "typed columns")


def test_casts_polars_refuses_fail_once_a_value_is_there(engine: SparkEngine) -> None:
    refused = [
        (s, t)
        for s in TYPED
        for t in TARGETS
        if (s, t) not in POLARS_RAISES_ON_VALUES and not _polars_accepts(s, t)
    ]
    assert ("bool", "decimal(10,2)") in refused and ("dictionary", "int") in refused
    # without a value there is nothing to refuse: nulls, as in polars
    rules = TableRules(columns=[_cast_rule(s, t) for s, t in refused], dedupe=None)
    empty = raw_table({s: pa.nulls(2, TYPED[s].type) for s, _ in refused}, [None, None])
    job = TableJob("t", rules, empty, "t.parquet", "b1", INGESTED_AT)
    expected, actual = run_both(engine, job)
    assert isinstance(expected, TableResult) and isinstance(actual, TableResult)
    assert_same_result(expected, actual, rules, "refused casts of nulls")
    for source, target in [
        ("bool", "decimal(10,2)"),
        ("dictionary", "int"),
        ("timestamp_tz", "bool"),
    ]:
        rules = TableRules(columns=[_cast_rule(source, target)], dedupe=None)
        raw = raw_table({source: TYPED[source]}, [None] * len(TYPED[source]))
        job = TableJob("t", rules, raw, "t.parquet", "b1", INGESTED_AT)
        with pytest.raises(Exception, match=r"not supported|cannot cast"):
            PolarsEngine().clean(job)
        with pytest.raises(UnsupportedCast, match=f"to {re.escape(target)}"):
            engine.clean(job)


def test_a_float_one_digit_too_wide_for_its_decimal_is_null(engine: SparkEngine) -> None:
    rules = TableRules(columns=[_cast_rule("x", "decimal(10,2)")], dedupe=None)
    raw = raw_table({"x": pa.array([922337205.0, 1e11, 1.5])}, [None] * 3)
    job = TableJob("t", rules, raw, "t.parquet", "b1", INGESTED_AT)
    actual = engine.clean(job)
    silver = read_output(actual.silver, silver_schema(rules))
    assert silver.column(0).to_pylist() == [None, None, Decimal("1.50")]
    expected = PolarsEngine().clean(job)
    assert_same_result(expected, actual, rules, "a float one digit too wide")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.none() | st.floats(width=64), max_size=12))
def test_float_columns_cast_as_polars_casts_them(
    engine: SparkEngine, values: list[float | None]
) -> None:
    """Float → text writes polars' digits; float → decimal rounds x * 10^scale as polars."""
    targets = ["int", "decimal(12,3)", "decimal(30,10)", "string", "date", "timestamp"]
    rules = TableRules(columns=[_cast_rule("x", t) for t in targets], dedupe=None)
    raw = raw_table({"x": pa.array(values, pa.float64())}, [None] * len(values))
    job = TableJob("t", rules, raw, "t.parquet", "b1", INGESTED_AT)
    try:
        PolarsEngine().clean(job)
    except pl.exceptions.ComputeError as exc:  # a polars cast error on an extreme value
        assume("can't fit values" not in str(exc))
        raise
    expected, actual = run_both(engine, job)
    assert isinstance(expected, TableResult) and isinstance(actual, TableResult)
    assert_same_result(expected, actual, rules, "float casts")


# --------------------------------------------------------------- regexes
REGEX_CASES = [
    (r"^a$", ["a", "a\n", "a\u2028", "ba"]),
    (r"^a.b$", ["a\u2028b", "a\nb", "a\rb", "axb"]),
    (r"^\d+$", ["12", "١٢", "12\n"]),
    (r"\w+\s\w+", ["é ü", "a\u00a0b", "a b"]),
    (r"^[[:alpha:]]+$", ["abc", "ab1", "äb"]),
    (r"(?P<x>ab)c", ["abc", "ab"]),
    (r"[$]\d", ["$1", "1"]),
    (r"(?i)straße", ["STRAßE", "strasse"]),
    (r"^a\vb$", ["a\x0bb", "a\nb"]),
]


def test_java_regex_matches_as_rust_regex_does(spark: SparkSession, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    rows = [(p, t) for p, texts in REGEX_CASES for t in texts]
    path = tmp_path / "texts.parquet"
    pl.DataFrame({"t": [t for _, t in rows]}).write_parquet(path)
    frame = spark.read.parquet(str(path))
    got = frame.select(
        *[F.col("t").rlike(java_regex(p)).alias(f"m{i}") for i, (p, _) in enumerate(rows)]
    ).collect()
    for i, (pattern, text) in enumerate(rows):
        want = pl.Series([text]).str.contains(pattern)[0]
        assert got[i][f"m{i}"] == want, (pattern, text)


# ----------------------------------------------------------------- marts
def _silver_for_marts() -> tuple[dict[str, pa.Table], dict[str, pa.Schema]]:
    facts = TableRules(
        columns=[
            ColumnRule(name="id", type="int"),
            ColumnRule(name="shop", type="string"),
            ColumnRule(name="ts", type="timestamp"),
            ColumnRule(name="qty", type="int"),
            ColumnRule(name="price", type="decimal(10,2)"),
            ColumnRule(name="w", type="float"),
        ]
    )
    shops = TableRules(
        columns=[ColumnRule(name="shop", type="string"), ColumnRule(name="region", type="string")]
    )
    fs, ss = silver_schema(facts), silver_schema(shops)

    def lineage(n: int, ingested: list[datetime] | None = None) -> dict[str, Any]:
        return {
            "_source_file": ["f"] * n,
            "_source_row": list(range(n)),
            "_batch_id": ["b1"] * n,
            "_ingested_at": ingested or [INGESTED_AT] * n,
        }

    ts = [
        datetime(2024, 1, 31, 23, 59),
        datetime(2024, 2, 1),
        None,
        datetime(2024, 2, 1, 12),
        datetime(2024, 3, 5),
        datetime(2024, 3, 5, 1),
        datetime(2024, 1, 1),
    ]
    fact_rows = {
        "id": [1, 2, 3, 4, 5, 6, 7],
        "shop": ["a", "a", "b", None, "b", "c", "a"],
        "ts": ts,
        "qty": [3, 0, 2, 5, None, 1, -4],
        "price": [
            Decimal(x) if x else None
            for x in ("1.25", "0.01", "2.50", None, "0.05", "-0.05", "0.03")
        ],
        "w": [0.5, -0.0, 1.25, 2.0, 0.25, 0.75, None],
        **lineage(7),
    }
    shop_rows = {
        "shop": ["a", "b", "a", None],
        "region": ["north", "south", "east", "void"],  # 'a' twice: the later row wins
        **lineage(4, [INGESTED_AT, INGESTED_AT, datetime(2025, 2, 1, tzinfo=UTC), INGESTED_AT]),
    }
    tables = {"facts": pa.table(fact_rows).cast(fs), "shops": pa.table(shop_rows).cast(ss)}
    return tables, {"facts": fs, "shops": ss}


MARTS = [
    MartSpec(
        name="by_region_day",
        source="facts",
        joins=[Join(table="shops", key="shop", columns=["region"])],
        group_by=[GroupKey(column="ts", name="day", grain="day"), GroupKey(column="region")],
        measures={
            "rows": Measure(fn="count"),
            "qtys": Measure(fn="count", expr="qty"),
            "shops": Measure(fn="count_distinct", expr="shop"),
            "units": Measure(fn="sum", expr="qty"),
            "revenue": Measure(fn="sum", expr="qty * price"),
            "squares": Measure(fn="sum", expr="price * price"),
            "avg_price": Measure(fn="mean", expr="price"),
            "avg_line": Measure(fn="mean", expr="qty * price + 1"),
            "ratio": Measure(fn="sum", expr="w / qty"),
            "first": Measure(fn="min", expr="ts"),
            "last": Measure(fn="max", expr="ts"),
            "top_w": Measure(fn="max", expr="w * 2"),
            "low_price": Measure(fn="min", expr="price - 1"),
        },
    ),
    MartSpec(
        name="by_month",
        source="facts",
        group_by=[GroupKey(column="ts", name="month", grain="month"), GroupKey(column="shop")],
        measures={"w": Measure(fn="sum", expr="w"), "mean_w": Measure(fn="mean", expr="w")},
    ),
]


@pytest.mark.parametrize("large", [False, True], ids=["one-file", "range-sorted"])
@pytest.mark.parametrize("mart", MARTS, ids=lambda m: m.name)
def test_marts_match_polars(
    engine: SparkEngine, large_engine: SparkEngine, mart: MartSpec, large: bool, tmp_path: Path
) -> None:
    tables, schemas = _silver_for_marts()
    files: dict[str, Data] = {}
    for name, table in tables.items():
        path = tmp_path / f"{name}.parquet"
        pl.from_arrow(table).write_parquet(path)  # type: ignore[union-attr]
        files[name] = [path]
    expected = PolarsEngine().mart(mart, dict(tables), schemas)
    assert isinstance(expected, pa.Table)
    spark_engine = large_engine if large else engine
    actual = read_output(spark_engine.mart(mart, files, schemas), mart_schema(mart, schemas))
    assert_same(expected, actual, f"mart {mart.name}")


def test_means_of_no_values_match_polars(engine: SparkEngine, tmp_path: Path) -> None:
    schema = silver_schema(
        TableRules(columns=[ColumnRule(name="g", type="string"), ColumnRule(name="x", type="int")])
    )
    table = pa.table(
        {
            "g": ["a", "b"],
            "x": [None, 2],
            "_source_file": ["f"] * 2,
            "_source_row": [0, 1],
            "_batch_id": ["b"] * 2,
            "_ingested_at": [INGESTED_AT] * 2,
        }
    ).cast(schema)
    path = tmp_path / "t.parquet"
    pl.from_arrow(table).write_parquet(path)  # type: ignore[union-attr]
    mart = MartSpec(
        name="m",
        source="t",
        group_by=[GroupKey(column="g")],
        measures={"m": Measure(fn="mean", expr="x"), "r": Measure(fn="mean", expr="x / 2")},
    )
    expected = PolarsEngine().mart(mart, {"t": table}, {"t": schema})
    actual = read_output(
        engine.mart(mart, {"t": [path]}, {"t": schema}), mart_schema(mart, {"t": schema})
    )
    assert_same(expected, actual, "mean of no values")
