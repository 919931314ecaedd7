"""AzureDataLakeAdapter on Azurite (the real Blob emulator), beyond the port's contract.

Delta tables through delta-rs with the adapter's `uri` and `storage_options`, Bronze
landing through staging + rename, block staging, reads pinned to an ETag, secret
hygiene, and `from_settings`. The ADLS Gen2 (hierarchical namespace) runs use the dfs
STAND-IN of `tests/standins/adls.py`, a local server checking the datalake SDK's requests
and applying them to Azurite, because Azurite has no dfs endpoint.
"""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from pydantic import SecretStr

from standins.adls import AdlsStandIn
from udo.adapters.azure.credentials import storage_account
from udo.adapters.azure.storage import AzureDataLakeAdapter, HierarchicalDataLakeAdapter
from udo.bootstrap import storage_from
from udo.config import AzureStorageSettings, Settings
from udo.domain.manifest import BronzeManifest, ColumnSchema, TableManifest
from udo.errors import (
    BatchExists,
    ConfigError,
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    UdoError,
)
from udo.pipeline.bronze import STAGING, BronzeStore
from udo.pipeline.engines.base import BATCH_ID
from udo.ports.storage import ObjectInfo

pytestmark = pytest.mark.services

Factory = Callable[..., AzureDataLakeAdapter]


@pytest.fixture
def standin(azurite: object) -> Iterator[AdlsStandIn]:
    """The ADLS Gen2 dfs stand-in over this process's Azurite; no request may break a check."""
    with AdlsStandIn(azurite.blob_endpoint, azurite.account, azurite.key) as dfs:  # type: ignore[attr-defined]
        yield dfs
    assert dfs.problems == []


@pytest.fixture
def make_store(azurite: object, request: pytest.FixtureRequest) -> Factory:
    """Build adapters on fresh containers of Azurite (`hns=True` adds the dfs stand-in)."""

    def make(*, hns: bool = False, **kwargs: object) -> AzureDataLakeAdapter:
        dfs = request.getfixturevalue("standin").endpoint if hns else None
        settings = AzureStorageSettings(
            connection_string=SecretStr(azurite.connection_string),  # type: ignore[attr-defined]
            dfs_endpoint=dfs,
        )
        container = f"it-{uuid.uuid4().hex[:16]}"
        return AzureDataLakeAdapter(
            storage_account(settings), container, hierarchical_namespace=hns, **kwargs
        )

    return make


# -- Delta Lake through delta-rs ------------------------------------------------------------


def _batch(batch_id: str, ids: list[int]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "amount": pa.array([i * 1.5 for i in ids], pa.float64()),
            BATCH_ID: pa.array([batch_id] * len(ids), pa.string()),
        }
    )


def test_a_delta_table_is_written_replaced_by_batch_and_read_on_azurite(
    make_store: Factory,
) -> None:
    store = make_store()
    uri, options = store.uri("silver/shop/orders"), store.storage_options()
    assert uri.startswith("az://") and options["allow_http"] == "true"

    write_deltalake(uri, _batch("b1", [1, 2, 3]), mode="append", storage_options=options)
    write_deltalake(uri, _batch("b2", [10, 11]), mode="append", storage_options=options)
    # Re-running batch b1 replaces its rows, as udo.pipeline.delta.replace_batch does.
    write_deltalake(
        uri,
        _batch("b1", [1, 2]),
        mode="overwrite",
        predicate=f"{BATCH_ID} = 'b1'",
        schema_mode="merge",
        storage_options=options,
    )

    table = DeltaTable(uri, storage_options=options)
    rows = sorted(table.to_pyarrow_table().to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r[BATCH_ID]) for r in rows] == [(1, "b1"), (2, "b1"), (10, "b2"), (11, "b2")]
    assert table.version() == 2
    # The adapter sees the very objects delta-rs wrote, under the key it was given.
    keys = [info.key for info in store.list("silver/shop/orders")]
    assert "silver/shop/orders/_delta_log/00000000000000000002.json" in keys
    assert any(k.endswith(".parquet") for k in keys)
    assert [i.key for i in store.list("silver/shop/order")] == []


def test_a_delta_table_written_by_the_hierarchical_adapter(make_store: Factory) -> None:
    store = make_store(hns=True)
    uri, options = store.uri("gold/shop/daily"), store.storage_options()
    write_deltalake(uri, _batch("b1", [7]), storage_options=options)
    assert DeltaTable(uri, storage_options=options).to_pyarrow_table()["id"].to_pylist() == [7]


# -- Bronze: staging + rename ---------------------------------------------------------------


def _land(bronze: BronzeStore, batch_id: str, data: bytes) -> BronzeManifest:
    with bronze.land("shop", batch_id) as draft:
        with draft.open_file("orders.csv") as fh:
            fh.write(data)
        size, sha = draft.file_stats("orders.csv")
        manifest = BronzeManifest(
            dataset="shop",
            batch_id=batch_id,
            origin="generated",
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
            tables={
                "orders": TableManifest(
                    file="orders.csv",
                    format="csv",
                    records=data.count(b"\n") - 1,
                    bytes=size,
                    sha256=sha,
                    columns=[ColumnSchema(name="a", type="int")],
                )
            },
        )
        draft.commit(manifest)
    return manifest


def test_bronze_lands_a_batch_through_staging_and_an_adls_rename(
    make_store: Factory, standin: AdlsStandIn
) -> None:
    store = make_store(hns=True)
    assert isinstance(store, HierarchicalDataLakeAdapter) and store.supports_atomic_rename
    bronze = BronzeStore(store)
    data = b"a\n1\n2\n"
    manifest = _land(bronze, "b1", data)

    assert bronze.manifest("shop", "b1") == manifest
    assert bronze.batches("shop") == ["b1"]
    assert store.read_bytes("bronze/shop/b1/orders.csv") == data
    assert manifest.tables["orders"].sha256 == hashlib.sha256(data).hexdigest()
    assert [i.key for i in store.list("bronze")] == [
        "bronze/shop/b1/_manifest.json",
        "bronze/shop/b1/orders.csv",
    ]
    # The batch moved by one dfs rename of its staging folder, as the SDK sent it.
    (rename,) = [r for r in standin.requests if "x-ms-rename-source" in r.headers]
    assert rename.method == "PUT" and rename.path == "bronze/shop/b1"
    assert rename.query["mode"] == "legacy"
    source = rename.headers["x-ms-rename-source"]
    assert source.startswith(f"/{store.container}/bronze/shop/{STAGING}/b1-")
    assert rename.headers["if-none-match"] == "*"
    assert rename.headers["authorization"].startswith("SharedKey devstoreaccount1:")

    with pytest.raises(UdoError):  # Bronze is append-only, whatever the store
        _land(bronze, "b1", b"a\n9\n")
    assert store.read_bytes("bronze/shop/b1/orders.csv") == data


def test_bronze_on_a_flat_account_writes_in_place_and_the_manifest_last(
    make_store: Factory,
) -> None:
    store = make_store(hns=False)
    assert not store.supports_atomic_rename
    bronze = BronzeStore(store)
    _land(bronze, "b1", b"a\n1\n")
    assert bronze.batches("shop") == ["b1"]
    assert [i.key for i in store.list("bronze/shop")] == [
        "bronze/shop/b1/_manifest.json",
        "bronze/shop/b1/orders.csv",
    ]


def test_a_rename_that_loses_the_race_is_refused_by_the_service(
    make_store: Factory, standin: AdlsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(hns=True)
    store.put_bytes("staging/x", b"1")
    store.put_bytes("final/other", b"2")
    with pytest.raises(ObjectExists):
        store.rename_prefix("staging", "final")  # the adapter's own check
    # Someone lands `final` between the check and the rename: If-None-Match refuses it.
    store.delete_prefix("final")
    real_move = HierarchicalDataLakeAdapter._move

    def racing(self: HierarchicalDataLakeAdapter, src: str, dst: str, moving: list[str]) -> None:
        self.put_bytes("final/theirs", b"3")
        real_move(self, src, dst, moving)

    monkeypatch.setattr(HierarchicalDataLakeAdapter, "_move", racing)
    with pytest.raises(ObjectExists):
        store.rename_prefix("staging", "final")
    assert store.read_bytes("staging/x") == b"1"
    assert store.read_bytes("final/theirs") == b"3"


def _between_check_and_move(
    monkeypatch: pytest.MonkeyPatch,
    store: AzureDataLakeAdapter,
    dst: str,
    act: Callable[[], object],
) -> list[str]:
    """Run `act` right after `store.rename_prefix` has listed `dst` and found it empty.

    That is where another process landing objects under `dst` hurts: between the
    adapter's emptiness check and its move. Returns a list that holds ``"fired"`` once
    `act` ran, so a test can tell the hook was reached.
    """
    real_list, real_rename = store.list, store.rename_prefix
    renaming, fired = [False], []

    def rename(src: str, target: str) -> None:
        renaming[0] = True
        try:
            real_rename(src, target)
        finally:
            renaming[0] = False

    def listing(prefix: str = "") -> Iterator[ObjectInfo]:
        found = False
        for info in real_list(prefix):
            found = True
            yield info
        if renaming[0] and prefix == dst and not found and not fired:
            fired.append("fired")
            act()

    monkeypatch.setattr(store, "rename_prefix", rename)
    monkeypatch.setattr(store, "list", listing)
    return fired


def _other_process(store: AzureDataLakeAdapter) -> AzureDataLakeAdapter:
    """A second adapter on the same container, standing for another process."""
    return AzureDataLakeAdapter(
        store._account, store.container, hierarchical_namespace=store.hierarchical_namespace
    )


def _is_folder_blob(store: AzureDataLakeAdapter, key: str) -> bool:
    metadata = store._blob(key).get_blob_properties().metadata
    return metadata.get("hdi_isfolder") == "true"


@pytest.mark.parametrize("hns", [False, True], ids=["blob", "adls"])
def test_objects_landed_under_dst_during_a_rename_survive_and_the_rename_is_refused(
    make_store: Factory, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, hns: bool
) -> None:
    """Another process lands `final/theirs` after the rename saw `final` empty.

    ADLS runs use the dfs stand-in; there `final` is first an empty folder (what ADLS Gen2
    leaves once a folder's objects are deleted), which the rename removes before renaming
    onto it: non-recursively, so the service refuses once `final/theirs` is in it.
    """
    store = make_store(hns=hns)
    other = _other_process(store)
    if hns:
        store.put_bytes("old/y", b"0")
        store.rename_prefix("old", "final")
        store.delete("final/y")
        assert _is_folder_blob(store, "final") and list(store.list("final")) == []
    store.put_bytes("staging/x", b"mine")
    fired = _between_check_and_move(
        monkeypatch, store, "final", lambda: other.put_bytes("final/theirs", b"theirs")
    )

    with pytest.raises(ObjectExists):
        store.rename_prefix("staging", "final")

    assert fired == ["fired"]
    assert [i.key for i in store.list()] == ["final/theirs", "staging/x"]
    assert store.read_bytes("final/theirs") == b"theirs"
    assert store.read_bytes("staging/x") == b"mine"
    if hns:
        standin: AdlsStandIn = request.getfixturevalue("standin")
        (delete,) = [a for a in standin.answers if a.request.method == "DELETE"]
        assert delete.request.path == "final" and delete.request.query["recursive"] == "false"
        assert delete.request.headers["if-match"].strip('"') == (
            store._blob("final").get_blob_properties().etag.strip('"')
        )
        assert (delete.status, delete.code) == (409, "DirectoryNotEmpty")
        assert standin.answers[-1] == delete  # and no rename was tried after it


def test_two_landers_of_one_batch_on_adls_one_gets_batch_exists_and_the_other_batch_stays(
    make_store: Factory, standin: AdlsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bronze over ADLS (dfs stand-in): a second process lands the same batch id while the
    first is between its rename's check and its move, over an emptied batch folder."""
    store = make_store(hns=True)
    first, second = BronzeStore(store), BronzeStore(_other_process(store))
    _land(first, "b1", b"a\n0\n")
    store.delete_prefix("bronze/shop/b1")  # leaves the batch's empty folder
    assert first.batches("shop") == [] and _is_folder_blob(store, "bronze/shop/b1")
    theirs: list[BronzeManifest] = []
    fired = _between_check_and_move(
        monkeypatch, store, "bronze/shop/b1", lambda: theirs.append(_land(second, "b1", b"a\n2\n"))
    )

    with pytest.raises(BatchExists):
        _land(first, "b1", b"a\n1\n")

    assert fired == ["fired"]
    assert first.manifest("shop", "b1") == theirs[0]
    assert store.read_bytes("bronze/shop/b1/orders.csv") == b"a\n2\n"
    assert [i.key for i in store.list("bronze")] == [
        "bronze/shop/b1/_manifest.json",
        "bronze/shop/b1/orders.csv",
    ]


def test_a_rename_whose_new_parent_folder_vanishes_creates_it_again(
    make_store: Factory, standin: AdlsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dfs stand-in: another process removes the (empty) parent folder the rename just made."""
    store = make_store(hns=True)
    store.put_bytes("a/x", b"1")
    remover = _other_process(store)._datalake().get_file_system_client(store.container)
    real_folder_etag = store._folder_etag
    removed: list[str] = []

    def folder_etag(key: str) -> str | None:
        if not removed:
            remover.get_directory_client("p").delete_directory()
            removed.append("p")
        return real_folder_etag(key)

    monkeypatch.setattr(store, "_folder_etag", folder_etag)
    store.rename_prefix("a", "p/q")

    assert removed == ["p"]
    assert [i.key for i in store.list()] == ["p/q/x"]
    renames = [a for a in standin.answers if "x-ms-rename-source" in a.request.headers]
    assert [(a.status, a.code) for a in renames] == [
        (404, "RenameDestinationParentPathNotFound"),
        (201, None),
    ]


def test_an_adls_delete_spares_a_folder_that_replaced_the_object_meanwhile(
    make_store: Factory, standin: AdlsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dfs stand-in: between the delete's check (an object, not a folder) and the delete,
    another process replaces the object `k` by an empty folder `k`."""
    store = make_store(hns=True)
    other = _other_process(store)
    store.put_bytes("k", b"1")
    real_properties = store._properties
    replaced: list[str] = []

    def properties(key: str) -> object:
        props = real_properties(key)
        if not replaced:
            other.delete("k")
            other.put_bytes("tmp/x", b"2")
            other.rename_prefix("tmp", "k")
            other.delete("k/x")  # `k` is now an empty folder
            replaced.append(key)
        return props

    monkeypatch.setattr(store, "_properties", properties)
    with pytest.raises(ObjectNotFound):
        store.delete("k")
    assert replaced == ["k"]
    assert _is_folder_blob(store, "k")


def test_an_adls_delete_of_an_object_rewritten_meanwhile_deletes_the_new_version(
    make_store: Factory, standin: AdlsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(hns=True)
    store.put_bytes("k", b"old")
    real_properties = store._properties
    calls: list[str] = []

    def properties(key: str) -> object:
        props = real_properties(key)
        if not calls:
            _other_process(store).put_bytes("k", b"new")
        calls.append(key)
        return props

    monkeypatch.setattr(store, "_properties", properties)
    store.delete("k")
    assert calls == ["k", "k"]  # refused once (412), then read again and deleted
    assert not store.exists("k")


# -- writes and reads ------------------------------------------------------------------------


def test_staged_blocks_stay_invisible_and_a_failed_write_leaves_nothing(
    make_store: Factory,
) -> None:
    store = make_store(block_size=64 * 1024)
    data = bytes(range(256)) * 1024  # 256 KiB: four staged blocks
    with pytest.raises(RuntimeError), store.open_write("big.bin") as fh:
        fh.write(data)
        fh.flush()
        assert not store.exists("big.bin")
        assert list(store.list()) == []
        raise RuntimeError("abandon")
    assert not store.exists("big.bin")
    with store.open_write("big.bin", overwrite=False) as fh:
        fh.write(data)
        fh.write(b"tail")
    assert store.read_bytes("big.bin") == data + b"tail"
    assert store.read_bytes("big.bin", 65530, 65540) == (data + b"tail")[65530:65540]


def test_a_read_sees_one_version_or_fails(make_store: Factory) -> None:
    store = make_store(block_size=64 * 1024)
    store.put_bytes("k", b"a" * 200_000)
    with store.open_read("k") as fh:
        first = fh.read(10)
        store.put_bytes("k", b"b" * 200_000)  # replaced while being read
        with pytest.raises(StorageUnavailable, match="replaced or deleted while being read"):
            fh.seek(150_000)
            fh.read(10)
    assert first == b"a" * 10
    with store.open_read("k") as fh:
        fh.seek(-5, 2)
        assert fh.read() == b"b" * 5


# -- secrets ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_no_error_and_no_repr_holds_the_account_key(make_store: Factory, azurite: object) -> None:
    key: str = azurite.key  # type: ignore[attr-defined]
    store = make_store()
    store.put_bytes("k", b"1")
    errors: list[BaseException] = []

    def collect(call: Callable[[], object]) -> None:
        try:
            call()
        except UdoError as exc:
            errors.append(exc)
        else:
            raise AssertionError(f"{call} did not raise")

    collect(lambda: store.read_bytes("missing"))
    collect(lambda: store.put_bytes("k", b"2", overwrite=False))
    collect(lambda: store.read_bytes("k", 5, 1))
    collect(lambda: store.stat("../x"))
    collect(lambda: store.rename_prefix("nothing", "dst"))
    wrong_key = AzureStorageSettings(
        connection_string=SecretStr(
            azurite.connection_string.replace(key, "d3Jvbmcga2V5IG9mIGEgc2FtZSBsZW5ndGg="),  # type: ignore[attr-defined]
        )
    )
    refused = AzureDataLakeAdapter(storage_account(wrong_key), store.container, retries=0)
    collect(lambda: refused.read_bytes("k"))
    unreachable = AzureStorageSettings(
        connection_string=SecretStr(
            azurite.connection_string.replace(  # type: ignore[attr-defined]
                azurite.blob_endpoint,  # type: ignore[attr-defined]
                f"http://127.0.0.1:{_closed_port()}/devstoreaccount1",
            )
        )
    )
    offline = AzureDataLakeAdapter(storage_account(unreachable), "udo", retries=0)
    collect(lambda: offline.read_bytes("k"))
    collect(lambda: AzureDataLakeAdapter(storage_account(unreachable), "Bad_Name"))

    kinds = [type(e) for e in errors]
    assert kinds == [
        ObjectNotFound,
        ObjectExists,
        StorageError,
        InvalidKey,
        ObjectNotFound,
        StorageError,
        StorageUnavailable,
        ConfigError,
    ]
    assert "credential" in str(errors[5]) and "403" in str(errors[5])
    assert "try again later" in str(errors[6])
    for text in [repr(store), str(store), repr(refused), repr(offline)] + [
        t for e in errors for t in (str(e), repr(e), *map(str, e.args))
    ]:
        assert key not in text and "d3Jvbmcga2V5" not in text
        assert "AccountKey" not in text


# -- configuration -----------------------------------------------------------------------------


def test_from_settings_with_a_connection_string(
    azurite: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no udo.toml or .env of the developer's
    monkeypatch.setenv("UDO_CLOUD", "azure")
    monkeypatch.setenv("UDO_STORAGE__TYPE", "azure")
    monkeypatch.setenv("UDO_AZURE__STORAGE__CONNECTION_STRING", azurite.connection_string)  # type: ignore[attr-defined]
    monkeypatch.setenv("UDO_AZURE__STORAGE__CONTAINER", f"settings-{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("UDO_AZURE__STORAGE__HIERARCHICAL_NAMESPACE", "false")
    settings = Settings()

    store = storage_from(settings)  # the composition root's registry → from_settings

    assert type(store) is AzureDataLakeAdapter
    assert not store.supports_atomic_rename
    assert store.container == settings.azure.storage.container  # type: ignore[attr-defined]
    store.put_bytes("hello/world.txt", b"hi")
    assert store.read_bytes("hello/world.txt") == b"hi"
    assert store.uri("hello/world.txt") == (
        f"az://{settings.azure.storage.container}/hello/world.txt"
    )


def test_cloud_endpoints_give_abfss_uris_and_delta_rs_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No request leaves the machine: the container check delta-rs needs is recorded."""
    ensured: list[str] = []
    monkeypatch.setattr(
        AzureDataLakeAdapter, "_containers", lambda self: ensured.append(self.container)
    )
    settings = AzureStorageSettings(
        connection_string=SecretStr(
            "DefaultEndpointsProtocol=https;AccountName=udolake;"
            "AccountKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=;EndpointSuffix=core.windows.net"
        ),
        container="lake",
    )
    store = AzureDataLakeAdapter(storage_account(settings), "lake")
    assert store.supports_atomic_rename
    assert store.uri("silver/shop/orders") == (
        "abfss://lake@udolake.dfs.core.windows.net/silver/shop/orders"
    )
    assert store.uri("") == "abfss://lake@udolake.dfs.core.windows.net"
    assert store.storage_options() == {
        "azure_storage_account_name": "udolake",
        "azure_storage_account_key": "c2VjcmV0LWtleS1mb3ItdGVzdHM=",
    }
    assert "c2VjcmV0" not in repr(store)
    sas = AzureStorageSettings(
        connection_string=SecretStr(
            "BlobEndpoint=https://udolake.blob.core.chinacloudapi.cn;AccountName=udolake;"
            "SharedAccessSignature=sv=2024-01-01&sig=abc"
        )
    )
    flat = AzureDataLakeAdapter(storage_account(sas), "lake", hierarchical_namespace=False)
    assert flat.uri("a/b") == "abfss://lake@udolake.dfs.core.chinacloudapi.cn/a/b"
    assert flat.storage_options()["azure_storage_sas_key"] == "sv=2024-01-01&sig=abc"
    assert "sig=abc" not in repr(flat)
    assert ensured == ["lake", "lake"]  # storage_options makes sure the container exists


def test_adls_folders_are_not_objects_and_an_emptied_folder_can_be_renamed_onto(
    make_store: Factory, standin: AdlsStandIn
) -> None:
    store = make_store(hns=True)
    store.put_bytes("a/x", b"1")
    store.rename_prefix("a", "b/c")  # creates the parent folder 'b' first
    assert [r.method for r in standin.requests] == ["PUT", "PUT"]
    assert standin.requests[0].query == {"resource": "directory"}
    assert standin.requests[0].path == "b"
    store.rename_prefix("b/c", "d")  # leaves 'b' an empty folder
    assert [i.key for i in store.list()] == ["d/x"]  # folders are not objects
    for call in (store.stat, store.read_bytes, store.delete):
        with pytest.raises(ObjectNotFound):
            call("b")
    assert not store.exists("b")
    assert store.delete_prefix("b") == 0

    store.rename_prefix("d", "b")  # onto the empty folder: it is removed, then renamed onto
    assert standin.requests[-2].method == "DELETE" and standin.requests[-2].path == "b"
    assert standin.requests[-2].query["recursive"] == "false"  # never what is under it
    assert [i.key for i in store.list()] == ["b/x"]
    assert store.read_bytes("b/x") == b"1"


@pytest.mark.parametrize("hns", [False, True], ids=["blob", "adls"])
def test_a_prefix_cannot_move_into_itself(make_store: Factory, hns: bool) -> None:
    store = make_store(hns=hns)
    store.put_bytes("a/x", b"1")
    with pytest.raises(StorageError, match="into itself"):
        store.rename_prefix("a", "a/inner")
    assert [i.key for i in store.list()] == ["a/x"]


def test_a_sas_connection_string_works_for_the_adapter_and_delta_rs(azurite: object) -> None:
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    sas = generate_account_sas(
        azurite.account,  # type: ignore[attr-defined]
        azurite.key,  # type: ignore[attr-defined]
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, create=True
        ),
        expiry=datetime(2100, 1, 1, tzinfo=UTC),
    )
    settings = AzureStorageSettings(
        connection_string=SecretStr(
            f"BlobEndpoint={azurite.blob_endpoint};AccountName={azurite.account};"  # type: ignore[attr-defined]
            f"SharedAccessSignature={sas}"
        )
    )
    store = AzureDataLakeAdapter(
        storage_account(settings), f"sas-{uuid.uuid4().hex[:12]}", hierarchical_namespace=False
    )
    store.put_bytes("k", b"v")
    assert store.read_bytes("k") == b"v"
    options = store.storage_options()
    assert options["azure_storage_sas_key"] == sas
    assert "azure_storage_account_key" not in options
    uri = store.uri("silver/t")
    write_deltalake(uri, _batch("b1", [1, 2]), storage_options=options)
    assert DeltaTable(uri, storage_options=options).to_pyarrow_table().num_rows == 2
    store.rename_prefix("silver", "archive")  # server-side copies authorised by the SAS
    assert DeltaTable(store.uri("archive/t"), storage_options=options).version() == 0
    assert [i.key for i in store.list("silver")] == []
    assert sas not in repr(store) and "sig=" not in repr(store)
