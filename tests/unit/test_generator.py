"""The generator: determinism, integrity, distributions, types, streaming, atomic landing."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import math
import os
import re
import select
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.manifest import BronzeManifest
from udo.domain.spec import DatasetSpec
from udo.errors import BatchExists
from udo.generate.dirt import PROFILES
from udo.generate.engine import DatasetGenerator
from udo.generate.presets import load_preset
from udo.generate.rng import BLOCK, integers, permute, stream_key, uniform
from udo.generate.service import generate_batch
from udo.pipeline.bronze import BronzeStore

EXT = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}


def land(
    root: Path,
    spec: DatasetSpec,
    batch_id: str,
    *,
    fmt: str = "parquet",
    dirt: str = "none",
    chunk_rows: int = 262_144,
    row_group_rows: int = 131_072,
) -> tuple[BronzeManifest, Path]:
    """Generate `spec` into a local lake at `root`; the manifest and the batch folder."""
    bronze = BronzeStore(LocalStorageAdapter(root))
    manifest = generate_batch(
        bronze,
        spec,
        batch_id=batch_id,
        fmt=fmt,
        dirt=PROFILES[dirt],
        chunk_rows=chunk_rows,
        row_group_rows=row_group_rows,
    )
    return manifest, root / "bronze" / manifest.dataset / batch_id


def batch_files(folder: Path) -> dict[str, bytes]:
    """Every file of a landed batch except the manifest (which holds created_at)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "_manifest.json"
    }


@pytest.fixture(scope="module")
def small_spec() -> DatasetSpec:
    """The e-commerce preset at 2,000 orders (400 customers, 2,000 products)."""
    return load_preset("ecommerce").scaled(2000)


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize(
    ("fmt", "dirt"),
    [
        ("parquet", "none"),
        ("csv", "none"),
        ("jsonl", "none"),
        ("parquet", "default"),
        ("csv", "default"),
    ],
)
def test_same_spec_and_seed_give_identical_bytes_whatever_the_chunking(
    tmp_path: Path, small_spec: DatasetSpec, fmt: str, dirt: str
) -> None:
    landed = {
        chunk: land(
            tmp_path,
            small_spec,
            f"c{chunk}",
            fmt=fmt,
            dirt=dirt,
            chunk_rows=chunk,
            row_group_rows=1024,
        )
        for chunk in (1000, 777, 65536)
    }
    (m_ref, f_ref), *others = landed.values()
    ref_files = batch_files(f_ref)
    assert f"orders.{EXT[fmt]}" in ref_files
    if dirt != "none":
        assert "_defects/orders.parquet" in ref_files
    for m, folder in others:
        for name, table in m.tables.items():
            assert table.sha256 == m_ref.tables[name].sha256, name
            assert table.bytes == m_ref.tables[name].bytes, name
            assert table.records == m_ref.tables[name].records, name
            assert table.defects == m_ref.tables[name].defects, name
        assert batch_files(folder) == ref_files


def test_same_seed_in_another_lake_gives_identical_bytes(
    tmp_path: Path, small_spec: DatasetSpec
) -> None:
    _, a = land(tmp_path / "one", small_spec, "b1", dirt="default")
    _, b = land(tmp_path / "two", small_spec, "b2", dirt="default")
    assert batch_files(a) == batch_files(b)


def test_a_different_seed_gives_different_bytes(tmp_path: Path, small_spec: DatasetSpec) -> None:
    m1, _ = land(tmp_path, small_spec, "s42")
    m2, _ = land(tmp_path, small_spec.with_seed(43), "s43")
    for name in small_spec.tables:
        assert m1.tables[name].sha256 != m2.tables[name].sha256, name


def block_spec() -> DatasetSpec:
    """A cheap table of ~70,000 rows (more than one rng BLOCK) with a per_parent child."""
    return DatasetSpec.from_dict(
        {
            "name": "blocks",
            "seed": 5,
            "tables": {
                "events": {
                    "rows": 70_000,
                    "key": "event_id",
                    "fields": {
                        "event_id": {"type": "int", "sequence": {}},
                        "u": {
                            "type": "float",
                            "min": 0,
                            "max": 1,
                            "distribution": {"kind": "uniform"},
                        },
                        "k": {
                            "type": "int",
                            "min": 0,
                            "max": 999,
                            "distribution": {"kind": "uniform"},
                        },
                        "c": {"type": "category", "choices": {"a": 1, "b": 2, "c": 3}},
                        "ref": {"type": "string", "pattern": "R-######", "unique": True},
                    },
                },
                "parts": {
                    "per_parent": {
                        "table": "events",
                        "count": {"kind": "poisson", "lam": 1.0},
                        "min": 0,
                        "max": 3,
                    },
                    "fields": {
                        "event_id": {"type": "int", "fk": {"table": "events"}},
                        "v": {"type": "float", "round": 3, "distribution": {"kind": "normal"}},
                    },
                },
            },
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_chunks_crossing_the_rng_block_boundary_give_identical_bytes(
    tmp_path: Path, fmt: str
) -> None:
    spec = block_spec()
    assert spec.tables["events"].rows == 70_000 > BLOCK
    files = []
    # 40,000 puts the chunk [40,000, 80,000) across row 65,536; 70,000 is one chunk.
    for chunk in (40_000, 65_536, 70_000, 9_999):
        _, folder = land(tmp_path, spec, f"c{chunk}", fmt=fmt, chunk_rows=chunk)
        files.append(batch_files(folder))
    assert all(f == files[0] for f in files[1:])


def faker_spec(locales: list[str]) -> DatasetSpec:
    return DatasetSpec.from_dict(
        {
            "name": "people",
            "seed": 9,
            "locales": locales,
            "tables": {
                "people": {
                    "rows": 10,
                    "fields": {
                        "first": {"type": "string", "faker": {"method": "first_name", "pool": 200}},
                        "city": {"type": "string", "faker": {"method": "city", "pool": 200}},
                    },
                }
            },
        }
    )


def faker_pools(spec: DatasetSpec, shared_seed: int) -> dict[str, list[Any]]:
    """The Faker pools of a spec, compiled after setting Faker's shared random state."""
    import faker.generator

    faker.generator.random.seed(shared_seed)
    compiler = DatasetGenerator(spec, 1000).compiler
    return {
        name: src.pool.to_list()  # type: ignore[attr-defined]
        for name, src in compiler.sources["people"].items()
    }


def test_faker_pools_are_deterministic_with_one_locale() -> None:
    spec = faker_spec(["en_US"])
    assert faker_pools(spec, 0) == faker_pools(spec, 1)
    assert faker_pools(spec, 0) != faker_pools(spec.with_seed(10), 0)


def test_faker_pools_do_not_depend_on_fakers_shared_random_state() -> None:
    spec = faker_spec(["en_US", "ja_JP"])
    assert faker_pools(spec, 0) == faker_pools(spec, 1) == faker_pools(spec, 2)


def test_faker_pool_mixes_the_locales() -> None:
    pool = faker_pools(faker_spec(["en_US", "ja_JP"]), 0)["first"]
    ascii_names = sum(name.isascii() for name in pool)
    assert 0 < ascii_names < len(pool)


# -------------------------------------------------------------------------- rng
KEYS = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=60, deadline=None)
@given(
    key=KEYS,
    start=st.integers(min_value=0, max_value=3 * BLOCK),
    length=st.integers(min_value=0, max_value=3000),
)
def test_uniform_of_a_range_is_the_slice_of_the_whole_stream(
    key: int, start: int, length: int
) -> None:
    stop = start + length
    whole = uniform(key, 0, stop + 17)
    np.testing.assert_array_equal(uniform(key, start, stop), whole[start:stop])


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        (0, 1),
        (BLOCK - 1, BLOCK),
        (BLOCK, BLOCK + 1),
        (BLOCK - 5, BLOCK + 5),
        (0, 2 * BLOCK + 3),
        (BLOCK - 10, 3 * BLOCK + 10),
        (2 * BLOCK + 1, 2 * BLOCK + 100),
    ],
)
def test_uniform_slices_crossing_blocks(start: int, stop: int) -> None:
    key = stream_key(42, "orders", "status")
    whole = uniform(key, 0, 3 * BLOCK + 20)
    part = uniform(key, start, stop)
    assert len(part) == stop - start
    np.testing.assert_array_equal(part, whole[start:stop])
    assert ((part >= 0) & (part < 1)).all()


def test_uniform_streams_differ_by_key_and_empty_ranges_are_empty() -> None:
    a = uniform(stream_key(1, "t", "a"), 0, 100)
    b = uniform(stream_key(1, "t", "b"), 0, 100)
    c = uniform(stream_key(2, "t", "a"), 0, 100)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(uniform(1, 10, 10)) == 0
    assert len(uniform(1, 10, 5)) == 0


@settings(max_examples=40, deadline=None)
@given(key=KEYS, start=st.integers(0, 2 * BLOCK), n=st.integers(1, 50))
def test_integers_are_in_range(key: int, start: int, n: int) -> None:
    values = integers(key, start, start + 500, n)
    assert values.min() >= 0
    assert values.max() < n


@settings(max_examples=80, deadline=None)
@given(n=st.integers(min_value=1, max_value=5000), key=KEYS)
def test_permute_is_a_bijection(n: int, key: int) -> None:
    out = permute(np.arange(n, dtype=np.int64), n, key)
    np.testing.assert_array_equal(np.sort(out), np.arange(n))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 17, 1000, BLOCK, BLOCK + 1, 100_000, 131_073])
def test_permute_is_a_bijection_for_boundary_sizes(n: int) -> None:
    out = permute(np.arange(n, dtype=np.int64), n, stream_key(7, "k"))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(np.sort(out), np.arange(n))
    if n > 16:
        assert not np.array_equal(out, np.arange(n))  # it does shuffle


# ------------------------------------------------------------ integrity (clean)
@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """The e-commerce preset with 50,000 orders and 50,000 customers, no dirt, as landed."""
    data = load_preset("ecommerce").scaled(50_000).model_dump()
    data["tables"]["customers"]["rows"] = 50_000
    spec = DatasetSpec.from_dict(data)
    root = tmp_path_factory.mktemp("shop")
    manifest, folder = land(root, spec, "clean", chunk_rows=8192)
    assert manifest.dirt is None
    assert all(t.defects is None for t in manifest.tables.values())
    return {name: pl.read_parquet(folder / t.file) for name, t in manifest.tables.items()}


def test_foreign_keys_point_at_existing_parents(shop: dict[str, pl.DataFrame]) -> None:
    orders, items = shop["orders"], shop["order_items"]
    assert orders["customer_id"].null_count() == 0
    assert orders["customer_id"].is_in(shop["customers"]["customer_id"].implode()).all()
    assert items["order_id"].is_in(orders["order_id"].implode()).all()
    assert items["product_id"].is_in(shop["products"]["product_id"].implode()).all()
    assert orders["order_id"].is_in(items["order_id"].implode()).all()  # min 1 item


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("customers", "customer_id"),
        ("customers", "email"),
        ("products", "product_id"),
        ("orders", "order_id"),
        ("order_items", "order_item_id"),
    ],
)
def test_keys_and_unique_fields_are_unique(
    shop: dict[str, pl.DataFrame], table: str, column: str
) -> None:
    values = shop[table][column]
    assert values.null_count() == 0
    assert values.n_unique() == len(values)


def test_sequence_key_follows_its_start(shop: dict[str, pl.DataFrame]) -> None:
    ids = shop["orders"]["order_id"].to_list()
    assert ids == list(range(1_000_001, 1_000_001 + 50_000))


def test_order_total_is_exactly_the_sum_of_its_items(shop: dict[str, pl.DataFrame]) -> None:
    items = shop["order_items"]
    sums: dict[int, Decimal] = {}
    for order_id, quantity, price in items.select("order_id", "quantity", "unit_price").iter_rows():
        sums[order_id] = sums.get(order_id, Decimal(0)) + quantity * price
    totals = dict(shop["orders"].select("order_id", "total").iter_rows())
    assert totals.keys() == sums.keys()
    wrong = {k: (totals[k], sums[k]) for k in totals if totals[k] != sums[k]}
    assert not wrong, list(wrong.items())[:5]


def test_unit_price_is_the_products_price(shop: dict[str, pl.DataFrame]) -> None:
    joined = shop["order_items"].join(
        shop["products"].select("product_id", "price"), on="product_id", how="left"
    )
    assert len(joined) == len(shop["order_items"])
    assert joined["price"].null_count() == 0
    assert (joined["unit_price"] == joined["price"]).all()


# ---------------------------------------------------------------- distributions
def numbers(series: pl.Series) -> list[float]:
    """A numeric column as Python numbers (no nulls expected)."""
    return [float(v) for v in series.to_list()]


def test_choice_frequencies_follow_the_weights(shop: dict[str, pl.DataFrame]) -> None:
    status = load_preset("ecommerce").tables["orders"].fields["status"].choice_source()
    assert status.weights is not None
    expected = {
        v: w / sum(status.weights) for v, w in zip(status.values, status.weights, strict=True)
    }
    counts = dict(shop["orders"]["status"].value_counts().iter_rows())
    assert set(counts) == set(expected)
    n = len(shop["orders"])
    for value, share in expected.items():
        assert abs(counts[value] / n - share) <= 0.015, value


def test_null_rate(shop: dict[str, pl.DataFrame]) -> None:
    phone = shop["customers"]["phone"]
    assert len(phone) == 50_000
    assert abs(phone.null_count() / len(phone) - 0.15) <= 0.01
    for required in ("customer_id", "email", "country", "signup_date"):
        assert shop["customers"][required].null_count() == 0


def test_items_per_order_follow_the_clipped_poisson(shop: dict[str, pl.DataFrame]) -> None:
    lam, lo, hi = 1.6, 1, 12
    pmf = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(60)]
    expected = sum(min(max(k, lo), hi) * p for k, p in enumerate(pmf))
    counts = numbers(shop["order_items"].group_by("order_id").len()["len"])
    assert min(counts) >= lo
    assert max(counts) <= hi
    assert abs(sum(counts) / len(counts) - expected) <= 0.03
    # P(count == 1) = P(X <= 1) after clipping up to 1
    assert abs(counts.count(1) / len(counts) - (pmf[0] + pmf[1])) <= 0.01


def test_zipf_quantity_rank_one_is_most_frequent(shop: dict[str, pl.DataFrame]) -> None:
    q = shop["order_items"]["quantity"]
    counts = dict(q.value_counts().iter_rows())
    assert min(numbers(q)) >= 1
    assert max(numbers(q)) <= 20
    assert counts[1] > counts[2] > counts[3] > counts[4]
    harmonic = sum(k**-2.2 for k in range(1, 21))
    assert abs(counts[1] / len(q) - 1 / harmonic) <= 0.01


def test_lognormal_price_median_by_category(shop: dict[str, pl.DataFrame]) -> None:
    prices = shop["products"].with_columns(pl.col("price").cast(pl.Float64))
    median = dict(prices.group_by("category").agg(pl.col("price").median()).iter_rows())
    assert median["Electronics"] > median["Home & Kitchen"] > median["Books"] > median["Grocery"]
    for category, mu in (("Electronics", 5.0), ("Books", 2.8), ("Clothing", 3.5)):
        assert abs(median[category] / math.exp(mu) - 1) <= 0.15, category
    assert min(numbers(prices["price"])) >= 0.5
    assert max(numbers(prices["price"])) <= 5000


def test_time_weights_shape_the_calendar(shop: dict[str, pl.DataFrame]) -> None:
    ts = shop["orders"]["order_ts"]
    assert all(datetime(2024, 1, 1) <= t <= datetime(2025, 12, 31, 23, 59, 59) for t in ts)
    spec_time = load_preset("ecommerce").tables["orders"].fields["order_ts"].time
    assert spec_time is not None and spec_time.month_weights and spec_time.weekday_weights
    # the expected per-day volume of December and February from the spec's weights and trend
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(731)]
    weight = {
        d: spec_time.weekday_weights[d.weekday()]
        * spec_time.month_weights[d.month - 1]
        * (1 + spec_time.trend * i / (len(days) - 1))
        for i, d in enumerate(days)
    }
    dec_days = [d for d in days if d.month == 12]
    feb_days = [d for d in days if d.month == 2]
    expected = (sum(weight[d] for d in dec_days) / len(dec_days)) / (
        sum(weight[d] for d in feb_days) / len(feb_days)
    )
    month = ts.dt.month()
    ratio = (int((month == 12).sum()) / len(dec_days)) / (int((month == 2).sum()) / len(feb_days))
    assert ratio > 1.5
    assert abs(ratio / expected - 1) <= 0.08
    hours = dict(ts.dt.hour().value_counts().iter_rows())
    assert hours[20] > 10 * hours[3]  # hour weights 1.9 vs 0.1


def test_uniform_int_stays_in_range_and_covers_it() -> None:
    spec = DatasetSpec.from_dict(
        {
            "name": "dice",
            "tables": {
                "rolls": {
                    "rows": 50_000,
                    "fields": {
                        "die": {
                            "type": "int",
                            "min": 3,
                            "max": 12,
                            "distribution": {"kind": "uniform"},
                        },
                        "wide": {
                            "type": "int",
                            "distribution": {"kind": "uniform", "low": -5, "high": 5},
                        },
                    },
                }
            },
        }
    )
    frame = pl.concat([c.frame for c in DatasetGenerator(spec, 4096).run()])
    counts = dict(frame["die"].value_counts().iter_rows())
    assert set(counts) == set(range(3, 13))
    for value, n in counts.items():
        assert abs(n / 5000 - 1) <= 0.06, value
    assert set(frame["wide"].unique().to_list()) == set(range(-5, 6))


# -------------------------------------------------------------------- all types
TYPES_SPEC: dict[str, Any] = {
    "name": "types",
    "seed": 11,
    "tables": {
        "things": {
            "rows": 3000,
            "key": "id",
            "fields": {
                "id": {"type": "int", "sequence": {"start": 10, "step": 5}},
                "ratio": {
                    "type": "float",
                    "round": 2,
                    "distribution": {"kind": "normal", "mean": 10, "std": 3},
                },
                "amount": {
                    "type": "decimal(8,3)",
                    "min": 0,
                    "max": 1000,
                    "distribution": {"kind": "uniform"},
                },
                "code": {"type": "string", "pattern": r"AB-##?@*\#"},
                "ref": {"type": "string", "pattern": "K-####", "unique": True},
                "flag": {"type": "bool", "choices": {True: 1, False: 1}},
                "day": {"type": "date", "min": "2024-01-01", "max": "2024-12-31", "time": {}},
                "at": {
                    "type": "timestamp",
                    "min": date(2024, 1, 1),
                    "max": date(2024, 3, 31),
                    "time": {},
                },
                "ident": {"type": "uuid"},
                "kind": {"type": "category", "choices": ["x", "y", "z"]},
                "label": {"type": "string", "expr": "upper(kind) + '-' + str(id)"},
            },
        }
    },
}


def test_every_type_lands_with_its_arrow_type(tmp_path: Path) -> None:
    spec = DatasetSpec.from_dict(TYPES_SPEC)
    manifest, folder = land(tmp_path, spec, "t1", chunk_rows=1000)
    path = folder / "things.parquet"
    schema = pq.read_schema(path)
    expected = {
        "id": pa.int64(),
        "ratio": pa.float64(),
        "amount": pa.decimal128(8, 3),
        "code": pa.string(),
        "ref": pa.string(),
        "flag": pa.bool_(),
        "day": pa.date32(),
        "at": pa.timestamp("us"),
        "ident": pa.string(),
        "kind": pa.string(),
        "label": pa.string(),
    }
    assert {f.name: f.type for f in schema} == expected
    landed = {c.name: c.type for c in manifest.tables["things"].columns}
    assert landed["amount"] == "decimal(8,3)"
    assert landed["ident"] == "uuid"
    assert landed["kind"] == "category"

    rows = pq.read_table(path).to_pylist()
    assert len(rows) == 3000
    assert [r["id"] for r in rows] == list(range(10, 10 + 5 * 3000, 5))
    code = re.compile(r"^AB-[0-9]{2}[A-Z][a-z][0-9A-Z]#$")
    ref = re.compile(r"^K-[0-9]{4}$")
    for r in rows:
        assert round(r["ratio"], 2) == r["ratio"]
        assert isinstance(r["amount"], Decimal)
        assert r["amount"].as_tuple().exponent == -3
        assert Decimal(0) <= r["amount"] <= Decimal(1000)
        assert code.match(r["code"]), r["code"]
        assert ref.match(r["ref"]), r["ref"]
        assert isinstance(r["flag"], bool)
        assert date(2024, 1, 1) <= r["day"] <= date(2024, 12, 31)
        assert datetime(2024, 1, 1) <= r["at"] < datetime(2024, 4, 1)
        parsed = uuid.UUID(r["ident"])
        assert str(parsed) == r["ident"]
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert r["kind"] in {"x", "y", "z"}
        assert r["label"] == f"{r['kind'].upper()}-{r['id']}"
    assert len({r["ref"] for r in rows}) == 3000
    assert len({r["ident"] for r in rows}) == 3000
    assert {r["flag"] for r in rows} == {True, False}
    assert len({r["day"] for r in rows}) > 300
    assert abs(sum(r["ratio"] for r in rows) / 3000 - 10) < 0.3


# -------------------------------------------------------------------- streaming
def test_root_tables_stream_in_chunks_of_at_most_chunk_rows(small_spec: DatasetSpec) -> None:
    gen = DatasetGenerator(small_spec, 1000)
    roots = set(gen.roots())
    assert roots == {"customers", "products", "orders"}
    next_start: dict[str, int] = {}
    previous = ""
    seen_items = 0
    for chunk in gen.run():
        if chunk.table in roots:
            assert 0 < len(chunk.frame) <= 1000
            assert chunk.start == next_start.get(chunk.table, 0)
            next_start[chunk.table] = chunk.start + len(chunk.frame)
        else:
            assert chunk.table == "order_items"
            assert previous == "orders"  # children come right after their parents' chunk
            assert chunk.start == seen_items
            seen_items += len(chunk.frame)
        previous = chunk.table
    assert next_start == {t: small_spec.tables[t].rows for t in roots}


def test_chunk_rows_must_be_positive(small_spec: DatasetSpec) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        DatasetGenerator(small_spec, 0)


def test_lookup_through_parent_link_sees_the_parents_nulls() -> None:
    lookup = {"type": "category", "lookup": {"fk": "pid", "column": "color"}}
    spec = DatasetSpec.from_dict(
        {
            "name": "nulls",
            "seed": 3,
            "tables": {
                "parents": {
                    "rows": 2000,
                    "key": "pid",
                    "fields": {
                        "pid": {"type": "int", "sequence": {}},
                        "color": {
                            "type": "category",
                            "null_rate": 0.3,
                            "choices": ["red", "blue"],
                        },
                    },
                },
                "kids": {
                    "per_parent": {"table": "parents", "count": {"kind": "poisson", "lam": 1}},
                    "fields": {"pid": {"type": "int", "fk": {"table": "parents"}}, "color": lookup},
                },
            },
        }
    )
    frames: dict[str, list[pl.DataFrame]] = {}
    for chunk in DatasetGenerator(spec, 500).run():
        frames.setdefault(chunk.table, []).append(chunk.frame)
    parents, kids = pl.concat(frames["parents"]), pl.concat(frames["kids"])
    joined = kids.join(parents, on="pid", suffix="_parent")
    assert joined["color"].eq_missing(joined["color_parent"]).all()


# ------------------------------------------------------------ landing and manifest
class FailingWrite:
    """A file handle that raises OSError once the storage's byte budget is spent."""

    def __init__(self, raw: BinaryIO, storage: FailingStorage) -> None:
        self.raw = raw
        self.storage = storage

    def write(self, data: bytes) -> int:
        self.storage.written += len(data)
        if self.storage.written > self.storage.fail_after:
            raise OSError(28, "No space left on device")
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


class FailingStorage(LocalStorageAdapter):
    """A local lake whose disk fills up after `fail_after` bytes."""

    def __init__(self, root: Path, fail_after: int) -> None:
        super().__init__(root)
        self.fail_after = fail_after
        self.written = 0

    @contextlib.contextmanager
    def open_write(self, key: str, *, overwrite: bool = True) -> Iterator[BinaryIO]:
        with super().open_write(key, overwrite=overwrite) as raw:
            yield FailingWrite(raw, self)  # type: ignore[misc]


# generate_batch leaves its Parquet writers unclosed when a write fails; their __del__
# then writes a footer into the failed sink (an "unraisable" OSError at garbage collection).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9, 0.999])
def test_interrupted_write_leaves_no_partial_batch(
    tmp_path: Path, small_spec: DatasetSpec, fraction: float
) -> None:
    counting = FailingStorage(tmp_path / "count", fail_after=10**12)
    generate_batch(BronzeStore(counting), small_spec, batch_id="b1", dirt=PROFILES["default"])
    total = counting.written  # every byte through open_write, the manifest included
    assert total > 0

    root = tmp_path / "lake"
    storage = FailingStorage(root, fail_after=int(total * fraction))
    bronze = BronzeStore(storage)
    with pytest.raises(OSError, match="No space left"):
        generate_batch(bronze, small_spec, batch_id="b1", dirt=PROFILES["default"])
    gc.collect()
    assert not bronze.exists("ecommerce", "b1")
    assert bronze.batches("ecommerce") == []
    assert list(storage.list("bronze")) == []
    leftovers = [p for p in (root / "bronze").rglob("*") if p.is_file()] if root.exists() else []
    assert leftovers == []

    # the same batch id can then be landed for real
    ok = BronzeStore(LocalStorageAdapter(root))
    generate_batch(ok, small_spec, batch_id="b1", dirt=PROFILES["default"])
    assert ok.batches("ecommerce") == ["b1"]


KILLED_CHILD = """
import sys
from pathlib import Path
from udo.adapters.local.storage import LocalStorageAdapter
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.pipeline.bronze import BronzeStore

def progress(done, total):
    print("progress", done, total, flush=True)

bronze = BronzeStore(LocalStorageAdapter(Path(sys.argv[1])))
generate_batch(bronze, load_preset("ecommerce").scaled(2_000_000), batch_id="big",
               chunk_rows=1000, progress=progress)
print("finished", flush=True)
"""


def test_killed_generation_leaves_no_visible_batch(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        chunks = 0
        while chunks < 20:
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready, "the generator printed no progress"
            line = proc.stdout.readline()
            assert line.startswith("progress"), f"unexpected output {line!r}"
            chunks += 1
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # the kill happened mid-way: files of the batch were being written in staging
    staged = [p for p in (root / "bronze" / "ecommerce" / "_staging").rglob("*") if p.is_file()]
    assert staged
    bronze = BronzeStore(LocalStorageAdapter(root))
    assert bronze.batches("ecommerce") == []
    assert bronze.datasets() == []
    assert not bronze.exists("ecommerce", "big")
    assert not (root / "bronze" / "ecommerce" / "big").exists()


def count_records(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        return int(pq.read_metadata(path).num_rows)
    if fmt == "csv":
        return pl.read_csv(path, infer_schema=False).height
    return pl.read_ndjson(path, infer_schema_length=None).height


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_manifest_checksums_sizes_and_records_match_the_files(
    tmp_path: Path, small_spec: DatasetSpec, fmt: str
) -> None:
    manifest, folder = land(tmp_path, small_spec, "b1", fmt=fmt, dirt="default")
    stored = BronzeStore(LocalStorageAdapter(tmp_path)).manifest("ecommerce", "b1")
    assert stored.tables == manifest.tables
    assert stored.spec_hash == small_spec.spec_hash()
    assert stored.seed == small_spec.seed
    assert stored.dirt == PROFILES["default"].rates()
    for name, table in manifest.tables.items():
        path = folder / table.file
        assert table.file == f"{name}.{EXT[fmt]}"
        data = path.read_bytes()
        assert table.sha256 == hashlib.sha256(data).hexdigest(), name
        assert table.bytes == len(data), name
        assert table.records == count_records(path, fmt), name
        assert [c.name for c in table.columns] == [
            n for n, f in small_spec.tables[name].fields.items() if f.emit
        ]
        assert table.defects is not None and table.defects.file is not None
        truth = pl.read_parquet(folder / table.defects.file)
        assert sum(table.defects.counts.values()) == len(truth)
    assert manifest.records == sum(t.records for t in manifest.tables.values())


def test_landing_the_same_batch_twice_raises_batch_exists(
    tmp_path: Path, small_spec: DatasetSpec
) -> None:
    manifest, folder = land(tmp_path, small_spec, "b1")
    before = batch_files(folder)
    with pytest.raises(BatchExists, match="already landed"):
        land(tmp_path, small_spec.with_seed(1), "b1")
    with pytest.raises(BatchExists):
        land(tmp_path, small_spec, "b1", fmt="csv")
    assert batch_files(folder) == before
    bronze = BronzeStore(LocalStorageAdapter(tmp_path))
    assert bronze.batches("ecommerce") == ["b1"]
    assert bronze.manifest("ecommerce", "b1").tables == manifest.tables
