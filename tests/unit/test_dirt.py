"""Dirt: the ground truth says exactly what was changed, and every change is visible."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.manifest import BronzeManifest
from udo.domain.spec import DatasetSpec
from udo.errors import SpecError
from udo.generate.dirt import (
    CANONICAL_DATE,
    CANONICAL_TIMESTAMP,
    DATE_FORMATS,
    DEFECT_KINDS,
    PROFILES,
    TIMESTAMP_FORMATS,
    DirtProfile,
    eligible_columns,
)
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline.bronze import BronzeStore

EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
TABLES = ["customers", "products", "orders", "order_items"]


@dataclass
class Landed:
    """One table of the clean and the dirty batch, with the dirty batch's ground truth."""

    spec: DatasetSpec
    table: str
    clean: pl.DataFrame
    dirty: pl.DataFrame
    truth: pl.DataFrame
    manifest: BronzeManifest
    clean_rows_of: dict[str, pl.DataFrame]

    def clean_as_landed(self) -> pl.DataFrame:
        """The clean rows with each column in the dirty batch's landed type."""
        out = []
        for name in self.clean.columns:
            col = self.clean[name]
            if self.dirty.schema[name] == pl.String and col.dtype != pl.String:
                col = canonical(col)
            out.append(col)
        return pl.DataFrame(out)

    def source_index(self) -> pl.DataFrame:
        """For every landed row: its output row number and the clean row it came from."""
        dup_rows = self.truth.filter(pl.col("defect") == "duplicate")["row"]
        rows = pl.DataFrame({"row": range(len(self.dirty))}, schema={"row": pl.Int64})
        firsts = rows.filter(~pl.col("row").is_in(dup_rows.implode()))
        firsts = firsts.with_columns(source_index=pl.int_range(pl.len(), dtype=pl.Int64))
        dups = self.truth.filter(pl.col("defect") == "duplicate").select("row", "source_index")
        return pl.concat([firsts, dups]).sort("row")


def canonical(col: pl.Series) -> pl.Series:
    if col.dtype == pl.Datetime:
        return col.dt.strftime(CANONICAL_TIMESTAMP)
    if col.dtype == pl.Date:
        return col.dt.strftime(CANONICAL_DATE)
    return col.cast(pl.String)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Landed]:
    """20,000 orders landed clean and with the default dirt (in small chunks)."""
    spec = load_preset("ecommerce").scaled(20_000)
    root = tmp_path_factory.mktemp("dirt")
    bronze = BronzeStore(LocalStorageAdapter(root))
    clean_m = generate_batch(bronze, spec, batch_id="clean", dirt=PROFILES["none"])
    dirty_m = generate_batch(
        bronze, spec, batch_id="dirty", dirt=PROFILES["default"], chunk_rows=3000
    )
    folder = root / "bronze" / "ecommerce"
    clean = {t: pl.read_parquet(folder / "clean" / f"{t}.parquet") for t in TABLES}
    out = {}
    for t in TABLES:
        defects = dirty_m.tables[t].defects
        assert defects is not None and defects.file == f"_defects/{t}.parquet"
        assert clean_m.tables[t].defects is None
        out[t] = Landed(
            spec=spec,
            table=t,
            clean=clean[t],
            dirty=pl.read_parquet(folder / "dirty" / f"{t}.parquet"),
            truth=pl.read_parquet(folder / "dirty" / defects.file),
            manifest=dirty_m,
            clean_rows_of=clean,
        )
    return out


@pytest.mark.parametrize("table", TABLES)
def test_truth_schema_and_row_accounting(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    assert b.truth.schema == pl.Schema(
        {
            "row": pl.Int64,
            "source_index": pl.Int64,
            "defect": pl.String,
            "column": pl.String,
            "clean_value": pl.String,
        }
    )
    assert b.truth["row"].is_sorted()
    assert b.truth["row"].n_unique() == len(b.truth)  # at most one defect per landed row
    non_dup = b.truth.filter(pl.col("defect") != "duplicate")
    assert non_dup["source_index"].n_unique() == len(non_dup)  # one defect per clean row
    dups = (b.truth["defect"] == "duplicate").sum()
    assert len(b.dirty) == len(b.clean) + dups
    assert b.manifest.tables[table].records == len(b.dirty)
    # the truth's source_index agrees with the order of the landed rows
    index = b.source_index()
    joined = b.truth.join(index, on="row", suffix="_landed")
    assert (joined["source_index"] == joined["source_index_landed"]).all()
    assert set(b.truth["defect"].unique()) <= set(DEFECT_KINDS)


@pytest.mark.parametrize("table", TABLES)
def test_rows_without_defects_are_the_clean_rows(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    index = b.source_index()
    clean = b.clean_as_landed()
    untouched = index.filter(~pl.col("row").is_in(b.truth["row"].implode()))
    assert len(untouched) > 0.8 * len(b.clean)
    landed = b.dirty[untouched["row"]]
    expected = clean[untouched["source_index"]]
    assert landed.schema == expected.schema
    assert landed.equals(expected)


@pytest.mark.parametrize("table", TABLES)
def test_defective_rows_differ_only_in_their_column(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    clean = b.clean_as_landed()
    for row in b.truth.filter(pl.col("defect") != "duplicate").iter_rows(named=True):
        landed = b.dirty.row(row["row"], named=True)
        source = clean.row(row["source_index"], named=True)
        for name in b.dirty.columns:
            if name != row["column"]:
                assert landed[name] == source[name], (row, name)


@pytest.mark.parametrize("table", TABLES)
def test_truth_clean_value_is_the_clean_value(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    listed = b.truth.filter(pl.col("defect") != "duplicate")
    for name in listed["column"].unique().to_list():
        part = listed.filter(pl.col("column") == name)
        clean = b.clean[name].gather(part["source_index"]).cast(pl.String)
        assert clean.equals(part["clean_value"], check_names=False), name


def _landed(b: Landed, row: dict[str, Any]) -> Any:
    return b.dirty[row["row"], row["column"]]


def _clean(b: Landed, row: dict[str, Any]) -> Any:
    return b.clean[row["source_index"], row["column"]]


def _number(value: Any) -> float:
    return float(value)  # decimals, ints, or (for columns landed as strings) their text


def _parses_to(text: str, clean: datetime | date) -> bool:
    """Whether `text` is `clean` written in one of the dirt formats (or epoch seconds)."""
    if isinstance(clean, datetime):
        if text.isdigit() and datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None) == clean:
            return True
        for fmt in TIMESTAMP_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            want = clean if "%S" in fmt else clean.replace(second=0, microsecond=0)
            if parsed == want:
                return True
        return False
    for fmt in DATE_FORMATS:
        try:
            if datetime.strptime(text, fmt).date() == clean:
                return True
        except ValueError:
            continue
    return False


def _field_max(b: Landed, column: str) -> datetime:
    value = b.spec.tables[b.table].fields[column].max
    if isinstance(value, datetime):
        return value
    assert isinstance(value, date | str)
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return datetime(day.year, day.month, day.day) + timedelta(days=1) - timedelta(microseconds=1)


def _parent_keys(b: Landed, column: str) -> set[Any]:
    fk = b.spec.tables[b.table].fields[column].fk
    assert fk is not None
    key = b.spec.tables[fk.table].key
    assert key is not None
    return set(b.clean_rows_of[fk.table][key].to_list())


def check_visible(b: Landed, kind: str, row: dict[str, Any]) -> None:
    """Assert the defect `kind` listed in `row` of the truth is visible in the landed row."""
    if kind == "duplicate":
        assert row["column"] is None
        assert row["row"] > 0
        assert b.dirty.row(row["row"]) == b.dirty.row(row["row"] - 1)
        return
    value, clean = _landed(b, row), _clean(b, row)
    field = b.spec.tables[b.table].fields[row["column"]]
    if kind == "null_required":
        assert value is None
        assert clean is not None
    elif kind == "malformed_email":
        assert EMAIL.match(clean)
        assert value is None or not EMAIL.match(value)
    elif kind == "bad_price":
        assert _number(value) <= 0
        assert _number(clean) > 0
    elif kind == "case_whitespace":
        assert isinstance(value, str)
        assert value.strip().lower() == clean.lower()
    elif kind == "mixed_timestamp_format":
        assert isinstance(value, str)
        assert value != canonical(pl.Series([clean]))[0]
        assert _parses_to(value, clean), (value, clean)
    elif kind == "comma_decimal":
        assert isinstance(value, str)
        assert "," in value
        assert value.replace(".", "").replace(",", ".") == str(clean)
    elif kind == "out_of_range":
        lo = field.min if isinstance(field.min, int | float) else -math.inf
        hi = field.max if isinstance(field.max, int | float) else math.inf
        assert not lo <= _number(value) <= hi
    elif kind == "orphan_fk":
        assert value is not None
        assert value not in _parent_keys(b, row["column"])
    elif kind == "future_date":
        assert isinstance(value, str)  # the column also gets mixed formats: landed as string
        fmt = CANONICAL_TIMESTAMP if isinstance(clean, datetime) else CANONICAL_DATE
        assert datetime.strptime(value, fmt) > _field_max(b, row["column"])
    else:
        raise AssertionError(f"unexpected defect {kind}")


@pytest.mark.parametrize("table", TABLES)
def test_every_listed_defect_is_visible(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    seen: set[str] = set()
    for row in b.truth.iter_rows(named=True):
        check_visible(b, row["defect"], row)
        seen.add(row["defect"])
    assert seen, "no defects in the table"


def test_case_whitespace_is_visible(batches: dict[str, Landed]) -> None:
    invisible = []
    for table in TABLES:
        b = batches[table]
        for row in b.truth.filter(pl.col("defect") == "case_whitespace").iter_rows(named=True):
            if _landed(b, row) == _clean(b, row):
                invisible.append((table, row["column"], row["clean_value"]))
    assert invisible == []


def test_orphan_fk_on_a_pattern_key_is_not_a_parent_key(batches: dict[str, Landed]) -> None:
    b = batches["order_items"]
    orphans = b.truth.filter((pl.col("defect") == "orphan_fk") & (pl.col("column") == "product_id"))
    assert len(orphans) > 20
    keys = _parent_keys(b, "product_id")
    existing = [r["row"] for r in orphans.iter_rows(named=True) if _landed(b, r) in keys]
    assert existing == []


@pytest.mark.parametrize("table", TABLES)
def test_manifest_counts_equal_the_truth_file(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    defects = b.manifest.tables[table].defects
    assert defects is not None
    counts = dict(b.truth["defect"].value_counts().iter_rows())
    assert defects.counts == counts


@pytest.mark.parametrize("table", TABLES)
def test_defect_rates_follow_the_profile(batches: dict[str, Landed], table: str) -> None:
    b = batches[table]
    rates = PROFILES["default"].rates()
    eligible = eligible_columns(b.spec, table)
    expected_kinds = {k for k in rates if k in eligible}
    counts = dict(b.truth["defect"].value_counts().iter_rows())
    assert set(counts) == expected_kinds
    n = len(b.clean)
    for kind, count in counts.items():
        rate = rates[kind]
        tolerance = 5 * math.sqrt(rate * (1 - rate) / n) + 0.001
        assert abs(count / n - rate) <= tolerance, (kind, count / n, rate)
    for kind in expected_kinds - {"duplicate"}:
        columns = set(b.truth.filter(pl.col("defect") == kind)["column"].unique())
        assert columns <= set(eligible[kind]), kind


def test_orders_duplicate_rate(batches: dict[str, Landed]) -> None:
    b = batches["orders"]
    assert len(b.clean) == 20_000
    duplicates = int((b.truth["defect"] == "duplicate").sum())
    assert abs(duplicates / 20_000 - 0.01) <= 0.004


def test_type_breaking_defects_land_their_columns_as_strings(
    batches: dict[str, Landed],
) -> None:
    orders = batches["orders"]
    columns = {c.name: c.type for c in orders.manifest.tables["orders"].columns}
    assert columns["order_ts"] == "string"  # mixed timestamp formats
    assert columns["total"] == "string"  # comma decimals
    assert columns["order_id"] == "int"
    assert orders.dirty.schema["order_ts"] == pl.String
    assert orders.clean.schema["order_ts"] == pl.Datetime("us")
    assert batches["customers"].dirty.schema["signup_date"] == pl.String
    assert batches["products"].dirty.schema["price"] == pl.String


# --------------------------------------------------------------------- profiles
def test_named_profiles() -> None:
    assert set(PROFILES) == {"none", "light", "default", "heavy"}
    assert DirtProfile.named("none").is_clean
    default = DirtProfile.named("default").rates()
    assert set(default) == set(DEFECT_KINDS)
    assert DirtProfile.named("light").rates() == pytest.approx(
        {k: v / 4 for k, v in default.items()}
    )
    assert DirtProfile.named("heavy").rates() == pytest.approx(
        {k: v * 3 for k, v in default.items()}
    )
    assert sum(DirtProfile.named("heavy").rates().values()) <= 0.5


def test_yaml_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("duplicate: 0.2\norphan_fk: 0.05\n", encoding="utf-8")
    profile = DirtProfile.named(str(path))
    assert profile.name == "mine"
    assert profile.rates() == {"duplicate": 0.2, "orphan_fk": 0.05}

    spec = load_preset("ecommerce").scaled(3000)
    bronze = BronzeStore(LocalStorageAdapter(tmp_path / "lake"))
    manifest = generate_batch(bronze, spec, batch_id="b1", dirt=profile)
    assert manifest.dirt == {"duplicate": 0.2, "orphan_fk": 0.05}
    orders = manifest.tables["orders"]
    assert orders.defects is not None
    assert set(orders.defects.counts) == {"duplicate", "orphan_fk"}
    assert abs(orders.defects.counts["duplicate"] / 3000 - 0.2) <= 0.04
    products = manifest.tables["products"]  # no foreign key: duplicates only
    assert products.defects is not None
    assert set(products.defects.counts) == {"duplicate"}
    assert products.records == 2000 + products.defects.counts["duplicate"]


def test_unknown_profile_name_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="unknown dirt profile 'filthy'") as info:
        DirtProfile.named("filthy")
    assert info.value.problems[0][0] == "dirt"


def test_profile_rates_over_half_are_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "too_much.yaml"
    path.write_text("duplicate: 0.3\nnull_required: 0.3\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"more than 0\.5"):
        DirtProfile.named(str(path))


@pytest.mark.parametrize(
    "body", ["sparkle: 0.1\n", "duplicate: 0.9\n", "duplicate: [1, 2\n", "duplicate: lots\n"]
)
def test_invalid_profile_file_is_a_spec_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SpecError, match="invalid dirt profile"):
        DirtProfile.named(str(path))


def _tiny_parent_spec(parents: int) -> DatasetSpec:
    return DatasetSpec.from_dict(
        {
            "name": "tiny",
            "seed": 4,
            "tables": {
                "parents": {
                    "rows": parents,
                    "scales": False,
                    "key": "code",
                    "fields": {"code": {"type": "string", "pattern": "P##"}},
                },
                "kids": {
                    "rows": 2000,
                    "fields": {"code": {"type": "string", "fk": {"table": "parents"}}},
                },
            },
        }
    )


def test_orphans_of_a_small_pattern_key_space_are_not_parent_keys(tmp_path: Path) -> None:
    spec = _tiny_parent_spec(90)  # 100 possible keys, 10 spare
    profile = DirtProfile(name="orphans", orphan_fk=0.5)
    bronze = BronzeStore(LocalStorageAdapter(tmp_path))
    manifest = generate_batch(bronze, spec, batch_id="b1", dirt=profile)
    folder = tmp_path / "bronze" / "tiny" / "b1"
    keys = set(pl.read_parquet(folder / "parents.parquet")["code"].to_list())
    assert len(keys) == 90
    kids = pl.read_parquet(folder / "kids.parquet")
    truth = pl.read_parquet(folder / "_defects" / "kids.parquet")
    assert manifest.tables["kids"].defects is not None
    assert abs(len(truth) / 2000 - 0.5) < 0.05
    orphans = kids["code"].gather(truth["row"]).to_list()
    assert all(re.fullmatch(r"P[0-9]{2}", v) for v in orphans)
    assert not set(orphans) & keys
    untouched = kids["code"].gather(
        [i for i in range(len(kids)) if i not in set(truth["row"].to_list())]
    )
    assert set(untouched.to_list()) <= keys


def test_no_orphans_when_the_pattern_key_space_is_full() -> None:
    assert "orphan_fk" in eligible_columns(_tiny_parent_spec(90), "kids")
    assert "orphan_fk" not in eligible_columns(_tiny_parent_spec(100), "kids")
