"""ingest_files: a user's CSV / JSON lines / Parquet files landed as one Bronze batch."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from udo.adapters.local.storage import LocalStorageAdapter
from udo.config import IngestSettings
from udo.domain.manifest import BronzeManifest, TableManifest
from udo.errors import BatchExists, IngestError
from udo.pipeline import ingest
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.ingest import ingest_files

DS = "shop"
BATCH = "b1"


@pytest.fixture
def lake(tmp_path: Path) -> LocalStorageAdapter:
    return LocalStorageAdapter(tmp_path / "lake")


@pytest.fixture
def bronze(lake: LocalStorageAdapter) -> BronzeStore:
    return BronzeStore(lake)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def put(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def run(bronze: BronzeStore, *paths: Path, batch_id: str = BATCH, **limits: int) -> BronzeManifest:
    return ingest_files(
        bronze, list(paths), DS, batch_id=batch_id, settings=IngestSettings(**limits)
    )


def one(bronze: BronzeStore, path: Path, *, batch_id: str = BATCH, **limits: int) -> TableManifest:
    manifest = run(bronze, path, batch_id=batch_id, **limits)
    (table,) = manifest.tables.values()
    return table


def types(table: TableManifest) -> dict[str, str]:
    return {c.name: c.type for c in table.columns}


def nullables(table: TableManifest) -> dict[str, bool]:
    return {c.name: c.nullable for c in table.columns}


def lake_keys(lake: LocalStorageAdapter) -> list[str]:
    return [info.key for info in lake.list()]


# -- well-formed files ----------------------------------------------------------------


def test_csv_is_landed_byte_for_byte_with_its_manifest(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    data = b"id,name,price\n1,ann,9.99\n2,bob,10.50\n3,cy,0.10\n"
    manifest = run(bronze, put(files, "orders.csv", data))

    table = manifest.tables["orders"]
    assert manifest.origin == "ingested"
    assert (manifest.dataset, manifest.batch_id) == (DS, BATCH)
    assert table.file == "orders.csv"
    assert table.format == "csv"
    assert table.records == 3
    assert table.bytes == len(data)
    assert table.sha256 == hashlib.sha256(data).hexdigest()
    assert table.source_name == "orders.csv"
    assert table.encoding == "utf-8"
    assert table.malformed is not None
    assert table.malformed.count == 0
    assert types(table) == {"id": "int", "name": "string", "price": "decimal(4,2)"}
    assert lake.read_bytes(bronze.file_key(DS, BATCH, "orders.csv")) == data
    assert bronze.manifest(DS, BATCH) == manifest
    assert bronze.batches(DS) == [BATCH]


def test_jsonl_is_landed_byte_for_byte_with_its_manifest(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    rows = [
        {"id": 1, "name": "ann", "score": 1.5, "vip": True, "tags": ["a"]},
        {"id": 2, "name": "bob", "score": 2, "vip": False, "extra": "x"},
    ]
    data = ("\n".join(json.dumps(r) for r in rows) + "\n\n  \n").encode()
    table = one(bronze, put(files, "customers.jsonl", data))

    assert table.file == "customers.jsonl"
    assert table.format == "jsonl"
    assert table.records == 2  # blank lines are not records
    assert table.sha256 == hashlib.sha256(data).hexdigest()
    assert table.bytes == len(data)
    assert lake.read_bytes(bronze.file_key(DS, BATCH, "customers.jsonl")) == data
    assert types(table) == {
        "id": "int",
        "name": "string",
        "score": "float",
        "vip": "bool",
        "tags": "string",
        "extra": "string",
    }
    assert nullables(table) == {
        "id": False,
        "name": False,
        "score": False,
        "vip": False,
        "tags": True,
        "extra": True,
    }


def test_parquet_is_described_from_its_footer(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("price", pa.decimal128(10, 2)),
            pa.field("ratio", pa.float32()),
            pa.field("name", pa.string()),
            pa.field("ok", pa.bool_()),
            pa.field("day", pa.date32()),
            pa.field("at", pa.timestamp("us", tz="UTC")),
            pa.field("kind", pa.dictionary(pa.int8(), pa.string())),
        ]
    )
    rows = {
        "id": [1, 2, 3],
        "price": [decimal.Decimal("1.50"), None, decimal.Decimal("2.00")],
        "ratio": [0.5, 1.0, None],
        "name": ["a", "b", None],
        "ok": [True, False, None],
        "day": [dt.date(2024, 1, 1)] * 3,
        "at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 3,
        "kind": ["x", "y", "x"],
    }
    path = files / "items.pq"
    pq.write_table(pa.table(rows, schema=schema), path)
    data = path.read_bytes()

    table = one(bronze, path)

    assert table.file == "items.parquet"
    assert table.format == "parquet"
    assert table.records == 3
    assert table.sha256 == hashlib.sha256(data).hexdigest()
    assert lake.read_bytes(bronze.file_key(DS, BATCH, "items.parquet")) == data
    assert types(table) == {
        "id": "int",
        "price": "decimal(10,2)",
        "ratio": "float",
        "name": "string",
        "ok": "bool",
        "day": "date",
        "at": "timestamp",
        "kind": "string",
    }
    assert nullables(table)["id"] is False
    assert nullables(table)["name"] is True
    assert table.malformed is None
    assert table.encoding is None


def test_several_files_land_as_one_batch(bronze: BronzeStore, files: Path) -> None:
    a = put(files, "a.csv", "x\n1\n")
    b = put(files, "b.ndjson", '{"y": 1}\n')
    manifest = run(bronze, a, b)
    assert {t: m.file for t, m in manifest.tables.items()} == {"a": "a.csv", "b": "b.jsonl"}
    assert manifest.records == 2
    assert bronze.batches(DS) == [BATCH]


def test_extensions_are_case_insensitive(bronze: BronzeStore, files: Path) -> None:
    table = one(bronze, put(files, "Orders.CSV", "x\n1\n"))
    assert table.file == "Orders.csv"
    assert table.records == 1


def test_a_batch_id_is_made_when_none_is_given(bronze: BronzeStore, files: Path) -> None:
    manifest = ingest_files(bronze, [put(files, "a.csv", "x\n1\n")], DS, settings=IngestSettings())
    assert bronze.batches(DS) == [manifest.batch_id]


def test_progress_reports_bytes_copied_over_all_files(
    bronze: BronzeStore, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 4)
    a = put(files, "a.csv", "x\n1\n2\n")
    b = put(files, "b.jsonl", '{"y": 1}\n')
    seen: list[int] = []
    ingest_files(
        bronze, [a, b], DS, batch_id=BATCH, settings=IngestSettings(), progress=seen.append
    )
    total = a.stat().st_size + b.stat().st_size
    assert seen == sorted(seen)
    assert len(seen) > 2
    assert seen[-1] == total


# -- schema inference -----------------------------------------------------------------


def test_csv_types_are_inferred_on_every_row(bronze: BronzeStore, files: Path) -> None:
    data = (
        "i,f,d,b,day,ts,s,mixed_scale,empty,padded\n"
        "1,1.5,10.25,true,2024-01-31,2024-01-31T10:00:00Z,x,1.5,, 7 \n"
        "-2,2e3,-3.10,FALSE,2024-02-29,2024-02-29 23:59:59.123,007,1.25,,8\n"
        ",,,,,2024-03-01,,,,\n"
    )
    table = one(bronze, put(files, "t.csv", data))
    assert types(table) == {
        "i": "int",
        "f": "float",
        "d": "decimal(4,2)",
        "b": "bool",
        "day": "date",
        "ts": "timestamp",
        "s": "string",
        "mixed_scale": "float",
        "empty": "string",
        "padded": "int",
    }
    assert nullables(table) == {
        "i": True,
        "f": True,
        "d": True,
        "b": True,
        "day": True,
        "ts": False,
        "s": True,
        "mixed_scale": True,
        "empty": True,
        "padded": True,
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-02-30"], "string"),  # not a real day
        (["2024-1-01"], "string"),
        (["2024-01-01", "2024-01-01 10:00"], "timestamp"),
        (["2024-01-01T25:00:00"], "string"),
        (["1", "2.5"], "float"),
        (["1", "x"], "string"),
        (["99999999999999999999"], "decimal(20,0)"),
        (["99999999999999999999", "1.5"], "float"),
        (["1.50", "2"], "float"),
        (["-1", "99999999999999999999"], "decimal(20,0)"),
        (["1_000"], "string"),
        (["0", "1"], "int"),
        (["yes", "no"], "string"),
    ],
)
def test_csv_type_edges(bronze: BronzeStore, files: Path, values: list[str], expected: str) -> None:
    table = one(bronze, put(files, "t.csv", "v\n" + "\n".join(values) + "\n"))
    assert types(table) == {"v": expected}


def test_inference_spans_batches(
    bronze: BronzeStore, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "INFER_BATCH_ROWS", 2)
    data = "a,b,c,d\n1,1.50,1,1\n2,2.25,2,-2\n3,3.5,x,123456789012345678901\n"
    csv_table = one(bronze, put(files, "t.csv", data))
    assert types(csv_table) == {"a": "int", "b": "float", "c": "string", "d": "decimal(21,0)"}

    rows = [{"a": 1, "s": "x"}, {"a": 2}, {"b": 1.5}, {"a": 3, "late": "2024-01-01"}]
    data = "".join(json.dumps(r) + "\n" for r in rows)
    json_table = one(bronze, put(files, "j.jsonl", data), batch_id="b2")
    assert types(json_table) == {"a": "int", "s": "string", "b": "float", "late": "date"}
    assert nullables(json_table) == {"a": True, "s": True, "b": True, "late": True}


def test_json_types(bronze: BronzeStore, files: Path) -> None:
    rows = [
        {"big": 2**70, "n": None, "d": "2024-01-01", "t": "2024-01-01T00:00:00", "o": {}},
        {"big": 1, "n": None, "d": "2024-01-02", "t": "2024-01-01", "o": 1, "huge": 10**38},
        {"big": -(2**63), "i": -(2**63), "mixed": 1},
        {"i": 2**63 - 1, "mixed": "1", "huge": 1},
    ]
    data = "".join(json.dumps(r) + "\n" for r in rows)
    table = one(bronze, put(files, "j.jsonl", data))
    assert types(table) == {
        "big": "decimal(38,0)",
        "n": "string",
        "d": "date",
        "t": "timestamp",
        "o": "string",
        "huge": "string",
        "i": "int",
        "mixed": "string",
    }
    assert nullables(table)["n"] is True


# -- malformed rows: kept, counted, sampled ---------------------------------------------


def test_invalid_utf8_lines_are_counted_and_shown_escaped(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    data = b"id,name\n1,ann\n2,b\xffob\n3,cy\n4,d\xe9\n"
    table = one(bronze, put(files, "p.csv", data))

    assert table.records == 4
    assert table.encoding == "utf-8 with 2 invalid lines"
    assert table.malformed is not None
    assert table.malformed.count == 2
    assert table.malformed.by_reason == {"invalid_utf8": 2}
    assert [(s["line"], s["reason"], s["excerpt"]) for s in table.malformed.samples] == [
        (3, "invalid_utf8", "2,b\\xffob"),
        (5, "invalid_utf8", "4,d\\xe9"),
    ]
    assert types(table) == {"id": "int", "name": "string"}
    assert lake.read_bytes(bronze.file_key(DS, BATCH, "p.csv")) == data


def test_one_invalid_line_is_singular(bronze: BronzeStore, files: Path) -> None:
    table = one(bronze, put(files, "p.jsonl", b'{"a": 1}\n{"a": "\xff"}\n'))
    assert table.encoding == "utf-8 with 1 invalid line"
    assert table.records == 2
    assert table.malformed is not None
    assert table.malformed.by_reason == {"invalid_utf8": 1}
    assert table.malformed.samples[0]["line"] == 2


def test_ragged_rows_are_kept_as_records(bronze: BronzeStore, files: Path) -> None:
    data = "a,b,c\n1,2,3\n1,2\n4,5,6\n1,2,3,4\n7,8,9\n"
    table = one(bronze, put(files, "r.csv", data))

    assert table.records == 5
    assert table.malformed is not None
    assert table.malformed.count == 2
    assert table.malformed.by_reason == {"ragged_row": 2}
    samples = table.malformed.samples
    assert [(s["line"], s["excerpt"]) for s in samples] == [(3, "1,2"), (5, "1,2,3,4")]
    assert samples[0]["detail"] == "2 fields, the header has 3"
    assert types(table) == {"a": "int", "b": "int", "c": "int"}


def test_samples_are_capped_and_excerpts_short(bronze: BronzeStore, files: Path) -> None:
    long_row = "x" * 1000
    data = "a,b\n" + "".join(f"{long_row}\n" for _ in range(5))
    table = one(bronze, put(files, "r.csv", data), malformed_samples=2)
    assert table.malformed is not None
    assert table.malformed.count == 5
    assert len(table.malformed.samples) == 2
    assert all(len(s["excerpt"]) == 200 for s in table.malformed.samples)

    none = one(bronze, put(files, "s.csv", data), malformed_samples=0, batch_id="b2")
    assert none.malformed is not None
    assert none.malformed.count == 5
    assert none.malformed.samples == []


def test_invalid_and_non_object_json_lines(bronze: BronzeStore, files: Path) -> None:
    data = '{"a": 1}\n\n{"a": 2,\n[1, 2]\n"text"\n\n{"a": 3}\nnull\n'
    table = one(bronze, put(files, "j.jsonl", data))

    assert table.records == 6
    assert table.malformed is not None
    assert table.malformed.count == 4
    assert table.malformed.by_reason == {"invalid_json": 1, "not_object": 3}
    assert [(s["line"], s["reason"], s["excerpt"]) for s in table.malformed.samples] == [
        (3, "invalid_json", '{"a": 2,'),
        (4, "not_object", "[1, 2]"),
        (5, "not_object", '"text"'),
        (8, "not_object", "null"),
    ]
    assert types(table) == {"a": "int"}


def test_quoted_multiline_field_is_one_record(bronze: BronzeStore, files: Path) -> None:
    data = 'id,note\n1,"first\nsecond\nthird"\n2,plain\n3\n4,"a ""quoted"", b"\n'
    table = one(bronze, put(files, "q.csv", data))

    assert table.records == 4
    assert table.malformed is not None
    assert table.malformed.count == 1
    # Physical line numbers: the ragged row "3" is on line 6 of the file.
    assert [(s["line"], s["excerpt"]) for s in table.malformed.samples] == [(6, "3")]
    assert types(table) == {"id": "int", "note": "string"}


def test_a_multiline_record_that_is_malformed_is_reported_at_its_first_line(
    bronze: BronzeStore, files: Path
) -> None:
    data = 'a,b\n1,2\n"x\ny",2,3\n4,5\n'
    table = one(bronze, put(files, "q.csv", data))
    assert table.records == 3
    assert table.malformed is not None
    assert [(s["line"], s["excerpt"]) for s in table.malformed.samples] == [(3, '"x')]


def test_a_csv_parse_error_is_a_malformed_record(bronze: BronzeStore, files: Path) -> None:
    data = b"a,b\n1,2\r3\n4,5\n"  # a bare CR inside an unquoted field
    table = one(bronze, put(files, "e.csv", data))
    assert table.records == 2
    assert table.malformed is not None
    assert table.malformed.by_reason == {"csv_error": 1}
    assert table.malformed.samples[0]["line"] == 2


def test_crlf_and_bom_are_read_like_lf(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    data = b"\xef\xbb\xbfid,when\r\n1,2024-01-01\r\n2,2024-01-02\r\n"
    table = one(bronze, put(files, "c.csv", data))
    assert types(table) == {"id": "int", "when": "date"}
    assert table.records == 2
    assert table.encoding == "utf-8"
    assert lake.read_bytes(bronze.file_key(DS, BATCH, "c.csv")) == data

    jdata = b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}\r\n'
    jtable = one(bronze, put(files, "c.jsonl", jdata), batch_id="b2")
    assert jtable.records == 2
    assert jtable.malformed is not None
    assert jtable.malformed.count == 0


@pytest.mark.parametrize(("name", "data"), [("e.csv", b""), ("e.jsonl", b""), ("n.csv", b"\n\n")])
def test_an_empty_file_has_no_records(
    bronze: BronzeStore, files: Path, name: str, data: bytes
) -> None:
    table = one(bronze, put(files, name, data))
    assert table.records == 0
    assert table.columns == []
    assert table.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("data", ["a,b,c\n", "a,b,c"])
def test_a_header_only_csv_has_columns_and_no_records(
    bronze: BronzeStore, files: Path, data: str
) -> None:
    table = one(bronze, put(files, "h.csv", data))
    assert table.records == 0
    assert types(table) == {"a": "string", "b": "string", "c": "string"}
    assert all(nullables(table).values())


def test_a_last_line_without_newline_is_a_record(bronze: BronzeStore, files: Path) -> None:
    table = one(bronze, put(files, "t.csv", "a,b\n1,2\n3"))
    assert table.records == 2
    assert table.malformed is not None
    assert table.malformed.samples == [
        {"line": 3, "reason": "ragged_row", "excerpt": "3", "detail": "1 fields, the header has 2"}
    ]


# -- chunking must not change anything ------------------------------------------------


MESSY_CSV = (
    b"\xef\xbb\xbfid,note,price\n"
    b'1,"multi\nline\nnote",1.25\n'
    b"2,b\xffad,2.50\n"
    b"\n"
    b"3,short\n"
    b"4,ok,3.75\n"
    b'5,"x\r\ny",4.00\r\n'
    b"6,\xe9\xe9,5.00\n"
    b'8,"ragged\nover\nlines"\n'
    b"7,end,6.25"
)
MESSY_JSONL = b'{"a": 1}\n\n{"a": "\xff"}\n{bad\n[1]\n{"a": 2, "b": "2024-01-01"}\n{"a": 3}'


@pytest.mark.parametrize(("name", "data"), [("m.csv", MESSY_CSV), ("m.jsonl", MESSY_JSONL)])
def test_tiny_chunks_and_batches_give_the_same_manifest(
    tmp_path: Path, files: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes
) -> None:
    path = put(files, name, data)
    reference = one(BronzeStore(LocalStorageAdapter(tmp_path / "ref")), path)
    assert reference.malformed is not None
    assert reference.malformed.count >= 3
    for chunk in (1, 2, 3, 7, 16):
        monkeypatch.setattr(ingest, "CHUNK_BYTES", chunk)
        monkeypatch.setattr(ingest, "INFER_BATCH_ROWS", 1)
        lake = LocalStorageAdapter(tmp_path / f"lake{chunk}")
        assert one(BronzeStore(lake), path) == reference, f"chunk size {chunk}"


def test_messy_csv_facts(bronze: BronzeStore, files: Path) -> None:
    table = one(bronze, put(files, "m.csv", MESSY_CSV))
    assert table.records == 8
    assert table.encoding == "utf-8 with 2 invalid lines"
    assert table.malformed is not None
    assert table.malformed.by_reason == {"invalid_utf8": 2, "ragged_row": 2}
    assert [(s["line"], s["excerpt"]) for s in table.malformed.samples] == [
        (5, "2,b\\xffad,2.50"),
        (7, "3,short"),
        (11, "6,\\xe9\\xe9,5.00"),
        (12, '8,"ragged'),
    ]
    assert types(table) == {"id": "int", "note": "string", "price": "decimal(3,2)"}


# -- files that cannot be ingested at all ---------------------------------------------


def assert_nothing_landed(bronze: BronzeStore, lake: LocalStorageAdapter) -> None:
    assert bronze.batches(DS) == []
    assert not bronze.exists(DS, BATCH)
    assert lake_keys(lake) == []


def test_a_corrupt_parquet_file_is_refused_and_nothing_lands(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    good = put(files, "good.csv", "a\n1\n")
    bad = files / "bad.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), bad)
    bad.write_bytes(bad.read_bytes()[:-12])  # cut into the footer
    with pytest.raises(IngestError, match=r"bad\.parquet.*not a readable Parquet file"):
        run(bronze, good, bad)
    assert_nothing_landed(bronze, lake)


def test_a_failure_while_landing_removes_the_files_already_copied(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    good = put(files, "good.csv", "a\n1\n")
    bad_header = put(files, "bad.csv", b"\xff\xfe,b\n1,2\n")
    with pytest.raises(IngestError, match=r"bad\.csv.*header.*UTF-8"):
        run(bronze, good, bad_header)
    assert_nothing_landed(bronze, lake)


@pytest.mark.parametrize("name", ["bin.csv", "bin.jsonl"])
def test_a_binary_text_file_is_refused(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path, name: str
) -> None:
    path = put(files, name, bytes(range(256)) * 64)
    with pytest.raises(IngestError, match="NUL bytes"):
        run(bronze, path)
    assert_nothing_landed(bronze, lake)


def test_utf16_is_refused_with_a_hint(bronze: BronzeStore, files: Path) -> None:
    path = put(files, "u.csv", "a,b\n1,2\n".encode("utf-16"))
    with pytest.raises(IngestError, match="UTF-16"):
        run(bronze, path)


def test_bare_cr_line_endings_are_refused(bronze: BronzeStore, files: Path) -> None:
    with pytest.raises(IngestError, match="carriage return"):
        run(bronze, put(files, "mac.csv", "a,b\r1,2\r3,4\r"))


def test_missing_file(bronze: BronzeStore, files: Path) -> None:
    with pytest.raises(IngestError, match=r"nope\.csv: no such file"):
        run(bronze, files / "nope.csv")


def test_a_folder_is_not_a_file(bronze: BronzeStore, files: Path) -> None:
    folder = files / "dir.csv"
    folder.mkdir()
    with pytest.raises(IngestError, match="is a folder"):
        run(bronze, folder)


def test_a_fifo_is_not_a_regular_file(bronze: BronzeStore, files: Path) -> None:
    fifo = files / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="not a regular file"):
        run(bronze, fifo)


def test_no_files(bronze: BronzeStore) -> None:
    with pytest.raises(IngestError, match="no files"):
        ingest_files(bronze, [], DS, settings=IngestSettings())


@pytest.mark.parametrize("name", ["data.xlsx", "data.json", "data", "data.csv.gz"])
def test_unknown_extension_names_the_file_and_the_accepted_ones(
    bronze: BronzeStore, files: Path, name: str
) -> None:
    with pytest.raises(IngestError) as info:
        run(bronze, put(files, name, "a\n1\n"))
    message = str(info.value)
    assert name in message
    for ext in (".csv", ".jsonl", ".ndjson", ".parquet", ".pq"):
        assert ext in message


def test_two_files_for_one_table_are_refused(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    a = put(files, "orders.csv", "a\n1\n")
    b = put(files, "orders.jsonl", '{"a": 1}\n')
    with pytest.raises(IngestError, match=r"orders\.csv and orders\.jsonl.*'orders'"):
        run(bronze, a, b)
    other = files / "other"
    other.mkdir()
    c = put(other, "Orders.csv", "a\n1\n")
    with pytest.raises(IngestError, match="rename one of them"):
        run(bronze, a, c)
    assert_nothing_landed(bronze, lake)


@pytest.mark.parametrize("name", ["my orders.csv", "..csv", "2024.csv", "a.b.csv", "é.csv"])
def test_a_file_name_that_is_not_a_table_name_is_refused(
    bronze: BronzeStore, files: Path, name: str
) -> None:
    with pytest.raises(IngestError, match="rename the file"):
        run(bronze, put(files, name, "a\n1\n"))


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "x" * 64])
def test_unsafe_dataset_and_batch_names_are_refused(
    tmp_path: Path, bronze: BronzeStore, lake: LocalStorageAdapter, files: Path, bad: str
) -> None:
    path = put(files, "a.csv", "a\n1\n")
    with pytest.raises(IngestError, match="invalid dataset name"):
        ingest_files(bronze, [path], bad, batch_id=BATCH, settings=IngestSettings())
    if bad:  # an empty batch id means "make one"
        with pytest.raises(IngestError, match="invalid batch name"):
            ingest_files(bronze, [path], DS, batch_id=bad, settings=IngestSettings())
    assert lake_keys(lake) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "lake"]


def test_a_file_over_the_size_limit_is_refused(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path
) -> None:
    path = put(files, "big.csv", "a\n12345678\n")  # 11 bytes
    assert one(bronze, path, max_file_bytes=11).records == 1
    with pytest.raises(IngestError, match=r"big\.csv is larger than the ingest limit of 10"):
        run(bronze, path, batch_id="b2", max_file_bytes=10)
    assert bronze.batches(DS) == [BATCH]


def test_a_file_that_grows_past_the_limit_while_copied_is_refused(
    bronze: BronzeStore, lake: LocalStorageAdapter, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = put(files, "grow.csv", "a\n1\n")
    real_plan = ingest._plan

    def plan_then_grow(paths: list[Path], settings: IngestSettings) -> list[ingest._Source]:
        sources = real_plan(paths, settings)
        path.write_text("a\n" + "1\n" * 100)
        return sources

    monkeypatch.setattr(ingest, "_plan", plan_then_grow)
    with pytest.raises(IngestError, match="larger than the ingest limit"):
        run(bronze, path, max_file_bytes=50)
    assert_nothing_landed(bronze, lake)


def test_a_line_longer_than_the_cap_is_refused(
    bronze: BronzeStore, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 8)
    monkeypatch.setattr(ingest, "MAX_LINE_BYTES", 16)
    with pytest.raises(IngestError, match="line 2 is longer than"):
        run(bronze, put(files, "l.jsonl", '{"a": 1}\n' + '"' + "x" * 40 + '"\n'))


@pytest.mark.parametrize(
    ("header", "message"),
    [("a,,b", "column 2 of the header has no name"), ("a,b,a", "'a' appears twice")],
)
def test_a_csv_header_needs_unique_names(
    bronze: BronzeStore, files: Path, header: str, message: str
) -> None:
    with pytest.raises(IngestError, match=message):
        run(bronze, put(files, "h.csv", header + "\n1,2,3\n"))


def test_a_landed_batch_id_is_not_reused(bronze: BronzeStore, files: Path) -> None:
    path = put(files, "a.csv", "a\n1\n")
    first = run(bronze, path)
    with pytest.raises(BatchExists):
        run(bronze, path)
    assert bronze.manifest(DS, BATCH) == first
