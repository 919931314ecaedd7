"""The StorageService contract, run against every adapter of the port.

To add an adapter, add a factory to `ADAPTERS` (and its cost marks to `MARKS`): a factory
gets the test's request (for fixtures such as `azurite`) and a fresh temporary folder and
returns an empty store, e.g. a new container on Azurite.

Azure runs twice on Azurite: as a flat Blob account (rename = server-side copy + delete)
and as an ADLS Gen2 account (hierarchical namespace: rename = one dfs rename). Azurite has
no dfs endpoint, so in the second mode the directory calls go to the ADLS stand-in
(`tests/standins/adls.py`), which checks the SDK's requests and applies them to Azurite.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from standins.adls import AdlsStandIn
from udo.adapters.azure.credentials import storage_account
from udo.adapters.azure.storage import AzureDataLakeAdapter
from udo.adapters.local.storage import LocalStorageAdapter
from udo.config import AzureStorageSettings
from udo.errors import InvalidKey, ObjectExists, ObjectNotFound, StorageError
from udo.ports.storage import StorageService

AZURE_BLOCK_SIZE = 256 * 1024
"""Small blocks, so the 1 MiB write below stages several blocks before its commit."""


def _azure(request: pytest.FixtureRequest, hns: bool) -> StorageService:
    azurite = request.getfixturevalue("azurite")
    dfs_endpoint = None
    if hns:
        standin = AdlsStandIn(azurite.blob_endpoint, azurite.account, azurite.key)

        def check_standin() -> None:
            standin.close()
            assert standin.problems == [], standin.problems

        request.addfinalizer(check_standin)
        dfs_endpoint = standin.endpoint
    settings = AzureStorageSettings(
        connection_string=SecretStr(azurite.connection_string), dfs_endpoint=dfs_endpoint
    )
    return AzureDataLakeAdapter(
        storage_account(settings),
        f"contract-{uuid.uuid4().hex[:16]}",
        hierarchical_namespace=hns,
        block_size=AZURE_BLOCK_SIZE,
    )


ADAPTERS: dict[str, Callable[[pytest.FixtureRequest, Path], StorageService]] = {
    "local": lambda request, tmp: LocalStorageAdapter(tmp / "lake"),
    "azure-blob": lambda request, tmp: _azure(request, hns=False),
    "azure-adls": lambda request, tmp: _azure(request, hns=True),
}
MARKS: dict[str, list[pytest.MarkDecorator]] = {
    "azure-blob": [pytest.mark.services],
    "azure-adls": [pytest.mark.services],
}
"""Marks per adapter, e.g. ``{"azure": [pytest.mark.services]}``."""


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, [])) for name in ADAPTERS])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageService:
    factory = ADAPTERS[request.param]
    return factory(request, tmp_path)


class Boom(Exception):
    """Raised inside a write block to abandon it."""


def keys(storage: StorageService, prefix: str = "") -> list[str]:
    return [info.key for info in storage.list(prefix)]


# -- writes -------------------------------------------------------------------------------


def test_open_write_then_read_back(storage: StorageService) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, every byte value
    with storage.open_write("a/b/c.bin") as fh:
        for i in range(0, len(data), 65536):
            fh.write(data[i : i + 65536])
    assert storage.read_bytes("a/b/c.bin") == data
    assert storage.exists("a/b/c.bin")
    assert storage.stat("a/b/c.bin").size == len(data)
    with storage.open_read("a/b/c.bin") as fh:
        fh.seek(1000)
        assert fh.read(10) == data[1000:1010]


def test_a_write_is_invisible_until_the_block_exits(storage: StorageService) -> None:
    storage.put_bytes("k", b"old")
    with storage.open_write("k") as fh:
        fh.write(b"new content")
        fh.flush()
        assert storage.read_bytes("k") == b"old"
        assert keys(storage) == ["k"]
    with storage.open_write("fresh") as fh:
        fh.write(b"x")
        fh.flush()
        assert not storage.exists("fresh")
        assert keys(storage) == ["k"]
    assert storage.read_bytes("k") == b"new content"
    assert storage.read_bytes("fresh") == b"x"


def test_a_block_that_raises_writes_nothing(storage: StorageService) -> None:
    storage.put_bytes("k", b"previous")
    with pytest.raises(Boom), storage.open_write("k") as fh:
        fh.write(b"half")
        raise Boom
    with pytest.raises(Boom), storage.open_write("new/key") as fh:
        fh.write(b"half")
        raise Boom
    assert storage.read_bytes("k") == b"previous"
    assert not storage.exists("new/key")
    assert keys(storage) == ["k"]


def test_overwrite_replaces_by_default(storage: StorageService) -> None:
    storage.put_bytes("k", b"one")
    storage.put_bytes("k", b"two")
    assert storage.read_bytes("k") == b"two"
    with storage.open_write("k") as fh:
        fh.write(b"three")
    assert storage.read_bytes("k") == b"three"


def test_no_overwrite_refuses_an_existing_key(storage: StorageService) -> None:
    storage.put_bytes("k", b"kept")
    with pytest.raises(ObjectExists):
        storage.put_bytes("k", b"lost", overwrite=False)
    with pytest.raises(ObjectExists), storage.open_write("k", overwrite=False) as fh:
        fh.write(b"lost")
    assert storage.read_bytes("k") == b"kept"
    info = storage.put_bytes("other", b"new", overwrite=False)
    assert (info.key, info.size) == ("other", 3)


def test_no_overwrite_checks_again_when_the_write_commits(storage: StorageService) -> None:
    with pytest.raises(ObjectExists), storage.open_write("k", overwrite=False) as fh:
        fh.write(b"mine")
        storage.put_bytes("k", b"theirs")  # someone else wins the race
    assert storage.read_bytes("k") == b"theirs"
    assert keys(storage) == ["k"]


def test_put_bytes_returns_the_object_info(storage: StorageService) -> None:
    info = storage.put_bytes("d/k", b"hello")
    assert info == storage.stat("d/k")
    assert (info.key, info.size) == ("d/k", 5)


# -- reads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, b"0123456789"),
        (3, None, b"3456789"),
        (2, 5, b"234"),
        (4, 4, b""),
        (8, 100, b"89"),  # past the end: truncated
        (10, None, b""),
        (50, 60, b""),
    ],
)
def test_ranged_reads(
    storage: StorageService, start: int, end: int | None, expected: bytes
) -> None:
    storage.put_bytes("r", b"0123456789")
    assert storage.read_bytes("r", start, end) == expected


def test_reading_a_missing_object(storage: StorageService) -> None:
    storage.put_bytes("dir/x", b"1")
    for key in ("missing", "dir"):
        with pytest.raises(ObjectNotFound):
            storage.read_bytes(key)
        with pytest.raises(ObjectNotFound), storage.open_read(key):
            pass
        with pytest.raises(ObjectNotFound):
            storage.stat(key)


def test_an_empty_object(storage: StorageService) -> None:
    storage.put_bytes("empty", b"")
    assert storage.read_bytes("empty") == b""
    assert storage.stat("empty").size == 0
    assert keys(storage) == ["empty"]


# -- stat, exists ---------------------------------------------------------------------------


def test_stat_and_etag(storage: StorageService) -> None:
    storage.put_bytes("k", b"abc")
    first = storage.stat("k")
    assert first.size == 3
    assert isinstance(first.modified, datetime)
    assert first.modified.tzinfo is not None
    assert storage.stat("k").etag == first.etag  # unchanged content, unchanged etag
    storage.put_bytes("k", b"abd")  # same size, new content
    second = storage.stat("k")
    assert second.etag != first.etag
    storage.put_bytes("k", b"abde")
    assert storage.stat("k").etag not in (first.etag, second.etag)
    (listed,) = storage.list("k")
    assert listed == storage.stat("k")


def test_exists_is_true_only_for_objects(storage: StorageService) -> None:
    storage.put_bytes("a/b", b"1")
    assert storage.exists("a/b")
    assert not storage.exists("a")  # a prefix is not an object
    assert not storage.exists("a/b/c")
    assert not storage.exists("nope")


# -- list -----------------------------------------------------------------------------------

TREE = ["bronze/a/1", "bronze/a/x/2", "bronze/ab/3", "bronze/b", "silver/t/4", "z"]


@pytest.fixture
def tree(storage: StorageService) -> StorageService:
    for key in reversed(TREE):
        storage.put_bytes(key, key.encode())
    return storage


def test_list_everything_in_key_order(tree: StorageService) -> None:
    assert keys(tree) == TREE
    assert [info.size for info in tree.list()] == [len(k) for k in TREE]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("bronze", TREE[:4]),
        ("bronze/", TREE[:4]),
        ("bronze/a", ["bronze/a/1", "bronze/a/x/2"]),  # not bronze/ab
        ("bronze/a/", ["bronze/a/1", "bronze/a/x/2"]),
        ("bronze/a/x", ["bronze/a/x/2"]),
        ("bronze/b", ["bronze/b"]),  # an object is listed by its own key
        ("z", ["z"]),
        ("bronze/c", []),
        ("bronz", []),
        ("nothing/here", []),
    ],
)
def test_list_matches_whole_segments(
    tree: StorageService, prefix: str, expected: list[str]
) -> None:
    assert keys(tree, prefix) == expected


def test_list_with_a_slash_does_not_match_the_object_itself(
    tree: StorageService, request: pytest.FixtureRequest
) -> None:
    assert keys(tree, "bronze/b/") == []


# -- delete ---------------------------------------------------------------------------------


def test_delete(tree: StorageService) -> None:
    tree.delete("bronze/a/x/2")
    assert not tree.exists("bronze/a/x/2")
    assert keys(tree) == [k for k in TREE if k != "bronze/a/x/2"]
    with pytest.raises(ObjectNotFound):
        tree.delete("bronze/a/x/2")
    with pytest.raises(ObjectNotFound):
        tree.delete("bronze/a")  # a prefix is not an object
    assert keys(tree, "bronze/a") == ["bronze/a/1"]


@pytest.mark.parametrize(
    ("prefix", "count"),
    [("bronze/a", 2), ("bronze/a/", 2), ("bronze", 4), ("bronze/b", 1), ("missing", 0)],
)
def test_delete_prefix_counts_whole_segments(tree: StorageService, prefix: str, count: int) -> None:
    before = keys(tree)
    gone = keys(tree, prefix)
    assert tree.delete_prefix(prefix) == count
    assert keys(tree, prefix) == []
    assert keys(tree) == [k for k in before if k not in gone]


def test_delete_prefix_with_a_slash_spares_the_object_itself(
    tree: StorageService, request: pytest.FixtureRequest
) -> None:
    assert tree.delete_prefix("bronze/b/") == 0
    assert tree.exists("bronze/b")


def test_delete_prefix_everything(tree: StorageService) -> None:
    assert tree.delete_prefix("") == len(TREE)
    assert keys(tree) == []
    tree.put_bytes("again", b"1")  # the store is still usable
    assert keys(tree) == ["again"]


# -- rename_prefix ----------------------------------------------------------------------------


def test_rename_prefix_moves_every_object(tree: StorageService) -> None:
    tree.rename_prefix("bronze/a", "bronze/moved/here")
    assert keys(tree, "bronze/a") == []
    assert keys(tree, "bronze/moved") == ["bronze/moved/here/1", "bronze/moved/here/x/2"]
    assert tree.read_bytes("bronze/moved/here/x/2") == b"bronze/a/x/2"
    assert keys(tree, "bronze/ab") == ["bronze/ab/3"]  # whole segments only


def test_rename_prefix_refuses_a_dst_with_objects(tree: StorageService) -> None:
    with pytest.raises(ObjectExists):
        tree.rename_prefix("bronze/a", "bronze/ab")
    with pytest.raises(ObjectExists):
        tree.rename_prefix("bronze/a", "bronze/b")
    assert keys(tree) == TREE


def test_rename_prefix_refuses_an_empty_src(tree: StorageService) -> None:
    with pytest.raises(ObjectNotFound):
        tree.rename_prefix("bronze/nothing", "bronze/new")
    assert keys(tree) == TREE


def test_rename_prefix_into_a_prefix_emptied_before(tree: StorageService) -> None:
    tree.delete_prefix("bronze/ab")
    tree.rename_prefix("bronze/a", "bronze/ab")
    assert keys(tree, "bronze") == ["bronze/ab/1", "bronze/ab/x/2", "bronze/b"]


def test_a_key_under_an_object_works_or_fails_as_a_storage_error(
    storage: StorageService, request: pytest.FixtureRequest
) -> None:
    # Flat stores (Blob) allow both 'a' and 'a/b'; hierarchical ones (a folder, ADLS Gen2)
    # cannot, but must say so with a udo error, never a raw OSError or SDK error.
    storage.put_bytes("a", b"object")
    storage.put_bytes("src/x", b"1")
    calls: list[Callable[[], object]] = [
        lambda: storage.put_bytes("a/b", b"under"),
        lambda: storage.rename_prefix("src", "a/moved"),
    ]
    for call in calls:
        with contextlib.suppress(StorageError):
            call()
    assert storage.read_bytes("a") == b"object"


def test_renames_racing_onto_one_dst_move_at_most_one_source(storage: StorageService) -> None:
    """Renames of several sources onto one free `dst` at once (threads standing in for
    processes): whatever the interleaving, at most one succeeds (exactly one where the
    rename is atomic), `dst` then holds exactly its objects, and every other rename
    raises `ObjectExists` with its source untouched. Two sources share a key, as two
    landings of one batch do; the others share none, so no single key collides."""
    names = {
        "staging/s0": ["common", "s0-part"],
        "staging/s1": ["common", "s1-part"],
        "staging/s2": ["s2-part-a", "s2-part-b"],
        "staging/s3": ["s3-part"],
    }
    for src, rel in names.items():
        for name in rel:
            storage.put_bytes(f"{src}/{name}", src.encode())
    start = threading.Barrier(len(names))

    def rename(src: str) -> ObjectExists | None:
        start.wait(timeout=30)
        try:
            storage.rename_prefix(src, "final")
        except ObjectExists as exc:
            return exc
        return None

    with ThreadPoolExecutor(len(names)) as pool:
        outcomes = dict(zip(names, pool.map(rename, names), strict=True))

    winners = [src for src, failure in outcomes.items() if failure is None]
    assert len(winners) == 1 if type(storage).supports_atomic_rename else len(winners) <= 1
    expected_final: list[str] = []
    for src, rel in names.items():
        if src in winners:
            expected_final = [f"final/{name}" for name in rel]
            assert keys(storage, src) == []
            assert {storage.read_bytes(k) for k in expected_final} == {src.encode()}
        else:
            assert keys(storage, src) == [f"{src}/{name}" for name in rel]
    assert keys(storage, "final") == expected_final


def test_supports_atomic_rename_is_a_flag(storage: StorageService) -> None:
    assert isinstance(type(storage).supports_atomic_rename, bool)


# -- uri ----------------------------------------------------------------------------------


def test_uri_names_the_key(storage: StorageService) -> None:
    storage.put_bytes("silver/t/part-0", b"x")
    uris = {storage.uri(k) for k in ("silver/t/part-0", "silver/t", "silver/u")}
    assert len(uris) == 3
    assert storage.uri("silver/t/part-0").endswith("silver/t/part-0")
    assert storage.uri("silver/t").endswith("silver/t")


# -- invalid keys -------------------------------------------------------------------------

BAD_KEYS = ["/abs", "a/../b", "..", "a/./b", "a//b", "a\\b", "a/b\x00", "line\nbreak", "a/ b/\t"]
BAD_OBJECT_KEYS = [*BAD_KEYS, "", "/"]
"""'' is a valid prefix (the whole store) but never an object key."""

OBJECT_CALLS: dict[str, Callable[[StorageService, str], object]] = {
    "open_write": lambda s, k: s.open_write(k).__enter__(),
    "open_write_no_overwrite": lambda s, k: s.open_write(k, overwrite=False).__enter__(),
    "put_bytes": lambda s, k: s.put_bytes(k, b"x"),
    "open_read": lambda s, k: s.open_read(k).__enter__(),
    "read_bytes": lambda s, k: s.read_bytes(k),
    "stat": lambda s, k: s.stat(k),
    "exists": lambda s, k: s.exists(k),
    "delete": lambda s, k: s.delete(k),
    "rename_prefix_src": lambda s, k: s.rename_prefix(k, "dst"),
    "rename_prefix_dst": lambda s, k: s.rename_prefix("src", k),
}
PREFIX_CALLS: dict[str, Callable[[StorageService, str], object]] = {
    "list": lambda s, k: list(s.list(k)),
    "delete_prefix": lambda s, k: s.delete_prefix(k),
    "uri": lambda s, k: s.uri(k),
}


@pytest.mark.parametrize(
    ("call", "key"), list(itertools.product(OBJECT_CALLS, BAD_OBJECT_KEYS)), ids=repr
)
def test_invalid_object_keys_are_refused(storage: StorageService, call: str, key: str) -> None:
    storage.put_bytes("src/x", b"1")
    with pytest.raises(InvalidKey):
        OBJECT_CALLS[call](storage, key)
    assert keys(storage) == ["src/x"]


@pytest.mark.parametrize(("call", "key"), list(itertools.product(PREFIX_CALLS, BAD_KEYS)), ids=repr)
def test_invalid_prefixes_are_refused(storage: StorageService, call: str, key: str) -> None:
    storage.put_bytes("src/x", b"1")
    with pytest.raises(InvalidKey):
        PREFIX_CALLS[call](storage, key)
    assert keys(storage) == ["src/x"]
