"""BronzeStore: append-only, atomic landing of batches."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.manifest import BronzeManifest, ColumnSchema, TableManifest
from udo.errors import BatchError, BatchExists
from udo.pipeline.bronze import (
    MANIFEST,
    STAGING,
    BatchDraft,
    BronzeStore,
    check_name,
    new_batch_id,
)

DS = "shop"


class NonAtomicLocalStorage(LocalStorageAdapter):
    """The local store, claiming no atomic rename: Bronze must rely on the manifest."""

    supports_atomic_rename: ClassVar[bool] = False


@pytest.fixture(params=["atomic", "non-atomic"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStorageAdapter:
    cls = LocalStorageAdapter if request.param == "atomic" else NonAtomicLocalStorage
    return cls(tmp_path / "lake")


@pytest.fixture
def bronze(lake: LocalStorageAdapter) -> BronzeStore:
    return BronzeStore(lake)


def keys(lake: LocalStorageAdapter, prefix: str = "") -> list[str]:
    return [info.key for info in lake.list(prefix)]


def manifest_for(draft: BatchDraft, **tables: bytes) -> BronzeManifest:
    return BronzeManifest(
        dataset=draft.dataset,
        batch_id=draft.batch_id,
        origin="generated",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        tables={
            name: TableManifest(
                file=f"{name}.csv",
                format="csv",
                records=data.count(b"\n") - 1,
                bytes=draft.file_stats(f"{name}.csv")[0],
                sha256=draft.file_stats(f"{name}.csv")[1],
                columns=[ColumnSchema(name="a", type="int")],
            )
            for name, data in tables.items()
        },
    )


def land(bronze: BronzeStore, batch_id: str, dataset: str = DS, **tables: bytes) -> BronzeManifest:
    with bronze.land(dataset, batch_id) as draft:
        for name, data in tables.items():
            with draft.open_file(f"{name}.csv") as fh:
                fh.write(data)
        manifest = manifest_for(draft, **tables)
        draft.commit(manifest)
    return manifest


def test_land_commit_then_read_back(bronze: BronzeStore, lake: LocalStorageAdapter) -> None:
    data = b"a\n1\n2\n"
    manifest = land(bronze, "b1", orders=data, items=b"a\n3\n")

    assert bronze.exists(DS, "b1")
    assert bronze.manifest(DS, "b1") == manifest
    assert bronze.batches(DS) == ["b1"]
    assert bronze.datasets() == [DS]
    assert lake.read_bytes(bronze.file_key(DS, "b1", "orders.csv")) == data
    assert manifest.tables["orders"].sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.tables["orders"].bytes == len(data)
    assert manifest.records == 3
    assert keys(lake) == [
        "bronze/shop/b1/_manifest.json",
        "bronze/shop/b1/items.csv",
        "bronze/shop/b1/orders.csv",
    ]


def test_batches_and_datasets_are_sorted(bronze: BronzeStore) -> None:
    land(bronze, "b2", t=b"a\n")
    land(bronze, "b1", t=b"a\n")
    land(bronze, "b1", dataset="alpha", t=b"a\n")
    assert bronze.batches(DS) == ["b1", "b2"]
    assert bronze.batches("alpha") == ["b1"]
    assert bronze.batches("nobody") == []
    assert bronze.datasets() == ["alpha", DS]


def test_a_landed_batch_is_never_overwritten(
    bronze: BronzeStore, lake: LocalStorageAdapter
) -> None:
    first = land(bronze, "b1", t=b"a\n1\n")
    with pytest.raises(BatchExists), bronze.land(DS, "b1"):
        pytest.fail("the block must not run")
    with pytest.raises(BatchExists):
        land(bronze, "b1", t=b"a\n2\n")
    assert bronze.manifest(DS, "b1") == first
    assert lake.read_bytes(bronze.file_key(DS, "b1", "t.csv")) == b"a\n1\n"


def test_the_loser_of_a_landing_race_leaves_the_winners_batch_whole(
    lake: LocalStorageAdapter,
) -> None:
    """Two landers of one batch id both pass the up-front check; the second to write loses
    with BatchExists, and its clean-up removes only what it wrote (on a store without
    atomic rename the files go straight to the final folder the winner owns)."""
    first, second = BronzeStore(lake), BronzeStore(type(lake)(lake.root))
    with pytest.raises(BatchExists), first.land(DS, "b1") as loser:
        with second.land(DS, "b1") as winner:  # both passed the up-front check
            with loser.open_file("customers.csv") as fh:  # a file only the loser writes
                fh.write(b"a\n1\n")
            with winner.open_file("orders.csv") as fh:
                fh.write(b"a\nwinner\n")
            winner.commit(manifest_for(winner, orders=b"a\nwinner\n"))
        with loser.open_file("orders.csv") as fh:
            fh.write(b"a\nloser\n")
        loser.commit(manifest_for(loser, customers=b"a\n1\n", orders=b"a\nloser\n"))
    assert second.manifest(DS, "b1").tables.keys() == {"orders"}
    assert lake.read_bytes(f"bronze/{DS}/b1/orders.csv") == b"a\nwinner\n"
    assert keys(lake, f"bronze/{DS}/b1") == [
        f"bronze/{DS}/b1/_manifest.json",
        f"bronze/{DS}/b1/orders.csv",
    ]


def test_a_block_that_raises_leaves_nothing(bronze: BronzeStore, lake: LocalStorageAdapter) -> None:
    land(bronze, "b0", t=b"a\n")
    before = keys(lake)
    with pytest.raises(RuntimeError, match="midway"), bronze.land(DS, "b1") as draft:
        with draft.open_file("t.csv") as fh:
            fh.write(b"a\n1\n")
        with draft.open_file("u.csv") as fh:
            fh.write(b"half")
            raise RuntimeError("midway")
    assert not bronze.exists(DS, "b1")
    assert bronze.batches(DS) == ["b0"]
    assert keys(lake) == before  # no batch folder, no staging leftovers
    assert not (lake.root / "bronze" / DS / STAGING).exists()
    assert not (lake.root / "bronze" / DS / "b1").exists()
    land(bronze, "b1", t=b"a\n")  # the id is still free
    assert bronze.batches(DS) == ["b0", "b1"]


def test_a_block_that_never_commits_leaves_nothing(
    bronze: BronzeStore, lake: LocalStorageAdapter
) -> None:
    with (
        pytest.raises(BatchError, match="not committed"),
        bronze.land(DS, "b1") as draft,
        draft.open_file("t.csv") as fh,
    ):
        fh.write(b"a\n1\n")
    assert keys(lake) == []
    assert bronze.batches(DS) == []
    assert bronze.datasets() == []


def test_commit_checks_the_manifest(bronze: BronzeStore, lake: LocalStorageAdapter) -> None:
    with pytest.raises(BatchError, match="another batch"), bronze.land(DS, "b1") as draft:
        with draft.open_file("t.csv") as fh:
            fh.write(b"a\n")
        other = manifest_for(draft, t=b"a\n").model_copy(update={"batch_id": "b2"})
        draft.commit(other)
    with pytest.raises(BatchError, match="not written"), bronze.land(DS, "b1") as draft:
        with draft.open_file("t.csv") as fh:
            fh.write(b"a\n")
        manifest = manifest_for(draft, t=b"a\n")
        extra = manifest.tables["t"].model_copy(update={"file": "missing.csv"})
        draft.commit(manifest.model_copy(update={"tables": {"t": extra}}))
    assert keys(lake) == []


def test_a_file_is_written_once(bronze: BronzeStore, lake: LocalStorageAdapter) -> None:
    with pytest.raises(BatchError, match="written twice"), bronze.land(DS, "b1") as draft:
        for _ in range(2):
            with draft.open_file("t.csv") as fh:
                fh.write(b"a\n")
    assert keys(lake) == []


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "_staging", STAGING, "1abc", "a b", "x" * 64, "é", ".."]
)
def test_unsafe_names_are_refused(bronze: BronzeStore, lake: LocalStorageAdapter, bad: str) -> None:
    with pytest.raises(BatchError, match="invalid dataset name"), bronze.land(bad, "b1"):
        pytest.fail("the block must not run")
    with pytest.raises(BatchError, match="invalid batch name"), bronze.land(DS, bad):
        pytest.fail("the block must not run")
    with pytest.raises(BatchError):
        bronze.batches(bad)
    assert keys(lake) == []


def test_manifest_of_a_missing_batch(bronze: BronzeStore) -> None:
    with pytest.raises(BatchError, match="no batch shop/b9"):
        bronze.manifest(DS, "b9")
    assert not bronze.exists(DS, "b9")


def test_staging_leftovers_are_not_batches(bronze: BronzeStore, lake: LocalStorageAdapter) -> None:
    # What a crash between writing the manifest and the rename leaves behind.
    lake.put_bytes(f"bronze/{DS}/{STAGING}/b1-0a1b2c3d/{MANIFEST}", b"{}")
    lake.put_bytes(f"bronze/{DS}/{STAGING}/b1-0a1b2c3d/t.csv", b"a\n")
    assert bronze.batches(DS) == []
    assert bronze.datasets() == []
    assert not bronze.exists(DS, "b1")
    land(bronze, "b1", t=b"a\n")
    assert bronze.batches(DS) == ["b1"]


def test_new_batch_ids_sort_by_time_and_are_valid_names() -> None:
    early = new_batch_id(datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC))
    late = new_batch_id(datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert early.startswith("b20240101T000000-")
    assert early < late
    assert check_name("batch", early) == early
    assert len({new_batch_id() for _ in range(50)}) == 50


KILLED_WRITER = """
import sys, time
from pathlib import Path
from udo.adapters.local.storage import LocalStorageAdapter
from udo.pipeline.bronze import BronzeStore

store = BronzeStore(LocalStorageAdapter(Path(sys.argv[1])))
with store.land("shop", "b1") as draft:
    with draft.open_file("done.csv") as fh:
        fh.write(b"a\\n1\\n")
    with draft.open_file("half.csv") as fh:
        fh.write(b"x" * 100_000)
        fh.flush()
        print("writing", flush=True)
        time.sleep(120)
"""


def test_a_process_killed_while_landing_leaves_no_batch(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "writing\n", proc.stderr.read() if proc.stderr else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    lake = LocalStorageAdapter(root)
    bronze = BronzeStore(lake)
    assert not bronze.exists(DS, "b1")
    assert bronze.batches(DS) == []
    assert bronze.datasets() == []
    leftovers = keys(lake)
    assert leftovers, "the killed writer should have left its staging files"
    assert all(k.startswith(f"bronze/{DS}/{STAGING}/") for k in leftovers)
    land(bronze, "b1", t=b"a\n")  # the batch id is still free
    assert bronze.batches(DS) == ["b1"]
