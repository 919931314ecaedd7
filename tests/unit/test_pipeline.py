"""The medallion pipeline on the reference engine: ledger, idempotence, quarantine, bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from udo.adapters.local.storage import LocalStorageAdapter
from udo.config import IngestSettings
from udo.domain.rules import Check, ColumnRule, Dedupe, RuleSet, TableRules, rules_from_spec
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline import delta
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.clean import Pipeline, rules_for
from udo.pipeline.engines.base import RuleFailed, TableJob
from udo.pipeline.engines.polars import PolarsEngine
from udo.pipeline.ingest import ingest_files

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def lake(tmp_path: Path) -> tuple[LocalStorageAdapter, BronzeStore]:
    storage = LocalStorageAdapter(tmp_path / "lake")
    return storage, BronzeStore(storage)


def _frame(uri: str) -> pl.DataFrame:
    frame = pl.from_arrow(delta.read(uri))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _raw(columns: dict[str, list[str | None]], errors: list[str | None] | None = None) -> pa.Table:
    n = len(next(iter(columns.values())))
    data: dict[str, object] = {k: pa.array(v, pa.string()) for k, v in columns.items()}
    data["_source_row"] = pa.array(range(n), pa.int64())
    data["_raw_error"] = pa.array(errors or [None] * n, pa.string())
    data["_raw_line"] = pa.array([None] * n, pa.string())
    return pa.table(data)


def _clean(
    rules: TableRules, raw: pa.Table, parents: dict[str, pa.Table] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, object]:
    result = PolarsEngine().clean(TableJob("t", rules, raw, "t.csv", "b1", AT, parents or {}))
    silver = pl.from_arrow(result.silver)
    rejects = pl.from_arrow(result.rejects)
    assert isinstance(silver, pl.DataFrame) and isinstance(rejects, pl.DataFrame)
    return silver, rejects, result.counts


# ------------------------------------------------------------------ end to end
def test_preset_batch_balances_and_lands_every_layer(
    lake: tuple[LocalStorageAdapter, BronzeStore],
) -> None:
    storage, bronze = lake
    generate_batch(
        bronze,
        load_preset("ecommerce").scaled(3000),
        batch_id="b1",
        dirt=DirtProfile.named("default"),
    )
    ledger = Pipeline(storage, bronze, PolarsEngine()).clean("ecommerce", "b1", ingested_at=AT)
    assert ledger.balanced
    manifest = bronze.manifest("ecommerce", "b1")
    for name, t in ledger.tables.items():
        assert t.bronze_in == manifest.tables[name].records
        silver = _frame(storage.uri(f"silver/ecommerce/{name}"))
        quarantine = _frame(storage.uri(f"quarantine/ecommerce/{name}"))
        assert len(silver) == t.silver_out and len(quarantine) == t.quarantined
        # every Bronze row is in exactly one place
        assert not set(silver["_source_row"]) & set(quarantine["_source_row"])
        assert silver["_batch_id"].unique().to_list() == ["b1"]
    assert set(ledger.marts) == {"daily_sales", "customer_lifetime_value", "product_performance"}
    assert ledger.quality is not None
    totals = ledger.quality.totals()
    assert totals["duplicate"].recall == 1.0 and totals["orphan_fk"].recall == 1.0
    assert totals["mixed_timestamp_format"].repaired > 0 and totals["comma_decimal"].repaired > 0


def test_rerun_replaces_the_batch_in_every_layer(
    lake: tuple[LocalStorageAdapter, BronzeStore],
) -> None:
    storage, bronze = lake
    generate_batch(
        bronze,
        load_preset("ecommerce").scaled(800),
        batch_id="b1",
        dirt=DirtProfile.named("default"),
    )
    pipeline = Pipeline(storage, bronze, PolarsEngine())
    first = pipeline.clean("ecommerce", "b1", ingested_at=AT)
    layers = [
        "silver/ecommerce/orders",
        "quarantine/ecommerce/orders",
        "gold/ecommerce/daily_sales",
    ]
    before = {k: _frame(storage.uri(k)) for k in layers}
    second = pipeline.clean("ecommerce", "b1", ingested_at=AT)
    assert first.tables == second.tables
    for k in layers:
        assert (
            _frame(storage.uri(k))
            .sort(_frame(storage.uri(k)).columns)
            .equals(before[k].sort(before[k].columns))
        ), k


def test_two_batches_keep_their_own_rows_and_gold_counts_current_rows(
    lake: tuple[LocalStorageAdapter, BronzeStore],
) -> None:
    storage, bronze = lake
    spec = load_preset("ecommerce").scaled(500)
    generate_batch(bronze, spec, batch_id="b1")
    generate_batch(bronze, spec, batch_id="b2")  # the same rows again: same keys
    pipeline = Pipeline(storage, bronze, PolarsEngine())
    pipeline.clean("ecommerce", "b1", ingested_at=AT)
    one = _frame(storage.uri("gold/ecommerce/daily_sales"))
    pipeline.clean("ecommerce", "b2", ingested_at=AT)
    silver = _frame(storage.uri("silver/ecommerce/orders"))
    assert sorted(silver["_batch_id"].unique()) == ["b1", "b2"]
    # Gold reads the latest row per key: the same data twice is not counted twice
    two = _frame(storage.uri("gold/ecommerce/daily_sales"))
    assert two.sort(two.columns).equals(one.sort(one.columns))


def test_gold_revenue_reconciles_with_silver(lake: tuple[LocalStorageAdapter, BronzeStore]) -> None:
    storage, bronze = lake
    generate_batch(bronze, load_preset("ecommerce").scaled(1000), batch_id="b1")
    Pipeline(storage, bronze, PolarsEngine()).clean("ecommerce", "b1", ingested_at=AT)
    items = _frame(storage.uri("silver/ecommerce/order_items"))
    orders = _frame(storage.uri("silver/ecommerce/orders"))
    daily = _frame(storage.uri("gold/ecommerce/daily_sales"))
    clv = _frame(storage.uri("gold/ecommerce/customer_lifetime_value"))
    revenue = sum(
        (q * p for q, p in zip(items["quantity"], items["unit_price"], strict=True)), Decimal(0)
    )
    assert daily["revenue"].sum() == revenue
    assert daily["units"].sum() == items["quantity"].sum()
    assert clv["revenue"].sum() == orders["total"].sum()
    assert clv["orders"].sum() == len(orders)
    row = clv.row(0, named=True)
    mine = orders.filter(pl.col("customer_id") == row["customer_id"])
    expected = (mine["total"].sum() / len(mine)).quantize(Decimal("0.01"))
    assert abs(row["average_order_value"] - expected) <= Decimal("0.01")


# ------------------------------------------------------------------- bad Bronze
def _ingest(tmp_path: Path, bronze: BronzeStore, name: str, content: bytes, batch: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    ingest_files(bronze, [path], "shop", batch_id=batch, settings=IngestSettings())


def test_bad_bronze_input_is_quarantined_or_reported_never_lost(
    tmp_path: Path, lake: tuple[LocalStorageAdapter, BronzeStore]
) -> None:
    storage, bronze = lake
    good = b"id,amount,when\n1,12.50,2024-01-02\n2,3,2024-02-03\n"
    _ingest(tmp_path, bronze, "orders.csv", good, "b1")
    rules = rules_for(bronze.manifest("shop", "b1"))
    assert [c.type for c in rules.tables["orders"].columns] == ["int", "float", "date"]
    Pipeline(storage, bronze, PolarsEngine()).clean("shop", "b1", ingested_at=AT)
    # wrong types everywhere, a ragged row, bad UTF-8, an extra column, a missing one
    bad = b'id,amount,extra\nx,12.5.0,1\n3,4\n\xff\xfe,1,2\n4,"1,234.50",9\n'
    _ingest(tmp_path, bronze, "orders.csv", bad, "b2")
    ledger = Pipeline(storage, bronze, PolarsEngine()).clean(
        "shop", "b2", rules=rules, ingested_at=AT
    )
    t = ledger.tables["orders"]
    assert t.balanced and t.bronze_in == 4
    assert t.missing_columns == ["when"] and t.extra_columns == ["extra"]
    q = (
        _frame(storage.uri("quarantine/shop/orders"))
        .filter(pl.col("_batch_id") == "b2")
        .sort("_source_row")
    )
    reasons = dict(zip(q["_source_row"], q["_reject_reasons"].to_list(), strict=True))
    assert reasons[0] == ["orders.amount.type", "orders.id.type"]
    assert reasons[1] == ["orders._row.malformed"]  # ragged
    assert reasons[2] == ["orders._row.malformed"]  # invalid UTF-8
    assert q.filter(pl.col("_source_row") == 1)["_raw_line"][0] == "3,4"
    assert q["extra"].to_list()[0] == "1"  # original columns are kept, extra ones too
    # "1,234.50" is US grouping: a valid number
    assert 3 not in reasons
    silver = _frame(storage.uri("silver/shop/orders")).filter(pl.col("_batch_id") == "b2")
    assert silver.select("id", "amount", "when").rows() == [(4, 1234.5, None)]


def test_empty_and_header_only_files(
    tmp_path: Path, lake: tuple[LocalStorageAdapter, BronzeStore]
) -> None:
    storage, bronze = lake
    _ingest(tmp_path, bronze, "orders.csv", b"id,amount\n", "b1")
    ledger = Pipeline(storage, bronze, PolarsEngine()).clean("shop", "b1", ingested_at=AT)
    assert ledger.tables["orders"].bronze_in == 0 and ledger.balanced


def test_jsonl_with_invalid_lines(
    tmp_path: Path, lake: tuple[LocalStorageAdapter, BronzeStore]
) -> None:
    storage, bronze = lake
    lines = [
        json.dumps({"id": 1, "name": "a"}),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"id": 2, "name": None}),
    ]
    _ingest(tmp_path, bronze, "people.jsonl", ("\n".join(lines) + "\n").encode(), "b1")
    ledger = Pipeline(storage, bronze, PolarsEngine()).clean("shop", "b1", ingested_at=AT)
    t = ledger.tables["people"]
    assert (t.bronze_in, t.silver_out, t.quarantined) == (4, 2, 2)
    assert t.violations["people._row.malformed"] == 2


# ----------------------------------------------------------------------- rules
@pytest.mark.parametrize(
    ("text", "ctype", "expected"),
    [
        ("12,50", "decimal(10,2)", Decimal("12.50")),
        ("1.234,50", "decimal(10,2)", Decimal("1234.50")),
        ("1,234.50", "decimal(10,2)", Decimal("1234.50")),
        ("  -7 ", "int", -7),
        ("1,234", "decimal(10,3)", Decimal("1.234")),  # a single comma is a decimal comma
        ("12.345", "decimal(10,2)", None),  # more decimals than the scale: never rounded
        ("123456789.1", "decimal(10,2)", None),  # too many integer digits
        ("1e3", "float", 1000.0),
        ("YES", "bool", True),
        ("n", "bool", False),
        ("maybe", "bool", None),
        ("", "int", None),
        ("29/02/2024", "date", date(2024, 2, 29)),
        ("29/02/2023", "date", None),  # not a real day
        ("Mar 05, 2024", "date", date(2024, 3, 5)),
        ("2024-03-05T10:11:12Z", "timestamp", datetime(2024, 3, 5, 10, 11, 12)),
        ("1709633472", "timestamp", datetime(2024, 3, 5, 10, 11, 12)),
        ("05.03.2024 10:11", "timestamp", datetime(2024, 3, 5, 10, 11)),
    ],
)
def test_casts(text: str, ctype: str, expected: object) -> None:
    from udo.domain.rules import DEFAULT_DATE_FORMATS, DEFAULT_TIMESTAMP_FORMATS

    formats = DEFAULT_DATE_FORMATS if ctype == "date" else DEFAULT_TIMESTAMP_FORMATS
    rules = TableRules(columns=[ColumnRule(name="v", type=ctype, formats=formats)])
    silver, rejects, _ = _clean(rules, _raw({"v": [text]}))
    if expected is None and text.strip():
        assert rejects["_reject_reasons"].to_list() == [["t.v.type"]]
    else:
        assert silver["v"].to_list() == [expected]


def test_standardisation_order_and_checks() -> None:
    rules = RuleSet(
        dataset="d",
        tables={
            "t": TableRules(
                columns=[
                    ColumnRule(
                        name="country",
                        type="string",
                        mapping={"de": "Germany", "germany": "Germany"},
                        checks=[
                            Check(kind="enum", values=["Germany", "France"]),
                            Check(kind="not_null"),
                        ],
                    ),
                    ColumnRule(
                        name="email",
                        type="string",
                        case="lower",
                        checks=[Check(kind="regex", pattern=r"^[^@]+@[^@]+$", action="warn")],
                    ),
                ]
            )
        },
    ).tables["t"]
    raw = _raw(
        {
            "country": ["  DE ", "germany", "Spain", "   ", "France"],
            "email": ["A@B", "x", "a@b", "a@b", "a@c"],
        }
    )
    silver, rejects, counts = _clean(rules, raw)
    assert silver["country"].to_list() == ["Germany", "Germany", "France"]
    assert silver["email"].to_list() == ["a@b", "x", "a@c"]  # warn keeps the row
    assert counts.violations["t.email.regex"] == 1  # type: ignore[attr-defined]
    assert rejects["_reject_reasons"].to_list() == [["t.country.enum"], ["t.country.not_null"]]


def test_fail_action_stops_the_run() -> None:
    rules = TableRules(
        columns=[
            ColumnRule(name="n", type="int", checks=[Check(kind="range", min=0, action="fail")])
        ]
    )
    with pytest.raises(RuleFailed, match=r"t\.n\.range"):
        _clean(rules, _raw({"n": ["1", "-1"]}))


def test_dedupe_keeps_the_latest_by_ingestion_or_by_column() -> None:
    cols = [ColumnRule(name="k", type="int"), ColumnRule(name="v", type="int")]
    raw = _raw({"k": ["1", "1", "2", "1"], "v": ["5", "9", "1", "7"]})
    silver, _, counts = _clean(TableRules(columns=cols, dedupe=Dedupe(key=["k"])), raw)
    assert silver.select("k", "v").rows() == [(2, 1), (1, 7)]
    assert counts.duplicates_removed == 2  # type: ignore[attr-defined]
    silver, _, _ = _clean(TableRules(columns=cols, dedupe=Dedupe(key=["k"], order_by="v")), raw)
    assert silver.select("k", "v").rows() == [(1, 9), (2, 1)]


def test_foreign_keys_check_the_parent_silver() -> None:
    rules = RuleSet(
        dataset="d",
        tables={
            "p": TableRules(columns=[ColumnRule(name="id", type="int")]),
            "t": TableRules(
                columns=[ColumnRule(name="pid", type="int")],
                foreign_keys=[{"column": "pid", "parent": "p", "parent_column": "id"}],  # type: ignore[list-item]
            ),
        },
    ).tables["t"]
    parents = {"t.pid.fk": pa.table({"id": pa.array([1, 2], pa.int64())})}
    silver, rejects, _ = _clean(rules, _raw({"pid": ["1", "3", None]}), parents)
    assert silver["pid"].to_list() == [1, None]
    assert rejects["_reject_reasons"].to_list() == [["t.pid.fk"]]


def test_rules_round_trip_and_override(lake: tuple[LocalStorageAdapter, BronzeStore]) -> None:
    rules = rules_from_spec(load_preset("ecommerce"))
    text = rules.to_yaml().replace(
        "kind: not_null\n        action: quarantine", "kind: not_null\n        action: warn", 1
    )
    edited = RuleSet.from_yaml(text)
    first = edited.tables["customers"].columns[0].checks[0]
    assert first.kind == "not_null" and first.action == "warn"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=" 0123456789,.-+abcxyzABC/:TZ", max_size=12),
            st.sampled_from(["12,50", "1.234,50", "2024-02-30", "29/02/2024", " DE ", "true", ""]),
        ),
        max_size=40,
    )
)
def test_ledger_balances_for_any_input(values: list[str | None]) -> None:
    rules = TableRules(
        columns=[
            ColumnRule(name="a", type="decimal(8,2)", checks=[Check(kind="range", min=0)]),
            ColumnRule(name="b", type="int", source="a", checks=[Check(kind="not_null")]),
            ColumnRule(name="c", type="date", source="a", formats=["%Y-%m-%d", "%d/%m/%Y"]),
        ],
        dedupe=Dedupe(key=["a"]),
    )
    silver, rejects, counts = _clean(rules, _raw({"a": values}))
    c = counts
    assert c.bronze_in == len(values)  # type: ignore[attr-defined]
    assert c.bronze_in == c.silver_out + c.quarantined + c.duplicates_removed  # type: ignore[attr-defined]
    assert len(silver) == c.silver_out and len(rejects) == c.quarantined  # type: ignore[attr-defined]
    assert not set(silver["_source_row"]) & set(rejects["_source_row"])


def test_a_format_without_year_or_month_reads_nothing_and_others_still_apply() -> None:
    rules = TableRules(
        columns=[ColumnRule(name="v", type="timestamp", formats=["%H:%M", "%Y-%m-%d"])]
    )
    silver, rejects, _ = _clean(rules, _raw({"v": ["2024-01-02", "10:30", None]}))
    assert silver["v"].to_list() == [datetime(2024, 1, 2), None]
    assert rejects["_reject_reasons"].to_list() == [["t.v.type"]]


def test_a_typed_float_too_wide_for_its_decimal_is_a_cast_failure_not_a_crash() -> None:
    rules = TableRules(columns=[ColumnRule(name="v", type="decimal(10,2)")], dedupe=None)
    raw = pa.table(
        {
            "v": pa.array([1.25, 99999999.995, -99999999.996, 922337205.0], pa.float64()),
            "_source_row": pa.array(range(4), pa.int64()),
            "_raw_error": pa.array([None] * 4, pa.string()),
            "_raw_line": pa.array([None] * 4, pa.string()),
        }
    )
    silver, rejects, _ = _clean(rules, raw)
    assert silver["v"].to_list() == [Decimal("1.25")]
    assert rejects["_reject_reasons"].to_list() == [["t.v.type"]] * 3
