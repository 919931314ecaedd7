"""DeltaUri: a table's name with the store options delta-rs needs, never shown."""

from __future__ import annotations

import pickle
from pathlib import Path

import pyarrow as pa

from udo.adapters.local.storage import LocalStorageAdapter
from udo.pipeline import delta
from udo.pipeline.clean import Lake
from udo.ports.storage import StorageService


class _OptionsStore(LocalStorageAdapter):
    """A local lake that also reports (fake) cloud options, to see them travel."""

    def storage_options(self) -> dict[str, str]:
        return {"account_key": "s3cr3t-key"}


def test_the_lake_names_tables_with_the_store_options(tmp_path: Path) -> None:
    lake = Lake(_OptionsStore(tmp_path))
    uri = lake.silver("shop", "orders")
    assert isinstance(uri, delta.DeltaUri)
    assert uri == str(tmp_path / "silver/shop/orders")
    assert uri.options == {"account_key": "s3cr3t-key"}
    assert "s3cr3t" not in repr(uri)
    assert "s3cr3t" not in f"{uri}"
    copy = pickle.loads(pickle.dumps(uri))
    assert copy == uri and copy.options == uri.options


def test_a_local_lake_has_no_options_and_tables_round_trip(tmp_path: Path) -> None:
    storage: StorageService = LocalStorageAdapter(tmp_path)
    uri = Lake(storage).gold("shop", "daily_sales")
    assert uri.options == {}
    schema = pa.schema([("_batch_id", pa.string()), ("n", pa.int64())])
    delta.replace_batch(uri, pa.table({"_batch_id": ["b1"], "n": [1]}), schema, "b1")
    delta.replace_batch(uri, pa.table({"_batch_id": ["b1", "b1"], "n": [2, 3]}), schema, "b1")
    assert sorted(delta.read(uri)["n"].to_pylist()) == [2, 3]
    assert delta.dataset(uri).count_rows() == 2
