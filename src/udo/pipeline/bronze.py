"""Bronze: append-only landing of batches, through the StorageService port.

Layout: ``bronze/<dataset>/<batch_id>/<table>.<ext>`` plus ``_manifest.json`` (and, for
generated batches, ``_defects/<table>.parquet`` with the injected-defect ground truth).

A batch is landed atomically: files are written under ``bronze/<dataset>/_staging/`` and
the finished folder is renamed into place where the store can rename atomically;
elsewhere the manifest is written last and a batch without a manifest does not exist.
An existing batch is never overwritten (`BatchExists`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import BinaryIO

from udo.domain.manifest import NAME_RE, BronzeManifest
from udo.errors import BatchError, BatchExists, ObjectExists, ObjectNotFound
from udo.ports.storage import StorageService

MANIFEST = "_manifest.json"
STAGING = "_staging"


def check_name(kind: str, name: str) -> str:
    """Dataset, batch and table names are path segments and SQL identifiers: keep them safe."""
    if not NAME_RE.fullmatch(name):
        raise BatchError(
            f"invalid {kind} name {name!r}: use 1-63 letters, digits, '_' or '-', "
            "starting with a letter"
        )
    return name


def new_batch_id(now: datetime | None = None) -> str:
    """A sortable, unique batch id: ``b<UTC timestamp>-<random>``."""
    now = now or datetime.now(UTC)
    return f"b{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class HashingWriter:
    """Wraps a binary stream, counting bytes and hashing them as they pass."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.bytes = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sha.update(data)
        n = self.raw.write(data)
        self.bytes += len(data)
        return n if n is not None else len(data)

    def flush(self) -> None:
        self.raw.flush()

    def tell(self) -> int:
        return self.bytes

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:  # the owning context manager closes the raw stream
        self.closed = True


class BatchDraft:
    """A batch being landed: write its files, then `commit` it with its manifest."""

    def __init__(self, storage: StorageService, dataset: str, batch_id: str, prefix: str) -> None:
        self.storage = storage
        self.dataset = dataset
        self.batch_id = batch_id
        self.prefix = prefix
        self.files: dict[str, tuple[int, str]] = {}
        self.manifest: BronzeManifest | None = None
        self.written: list[str] = []
        """Keys this draft wrote: all a failed landing may delete where the files go
        straight to the batch's final folder (another lander may own the rest)."""

    @contextmanager
    def open_file(self, name: str) -> Iterator[HashingWriter]:
        """Write file `name` (relative to the batch) once; its size and sha256 are recorded."""
        if name in self.files:
            raise BatchError(f"file {name} written twice in batch {self.batch_id}")
        key = f"{self.prefix}/{name}"
        with self.storage.open_write(key, overwrite=False) as raw:
            writer = HashingWriter(raw)
            yield writer
        self.written.append(key)
        self.files[name] = (writer.bytes, writer.sha.hexdigest())

    def commit(self, manifest: BronzeManifest) -> None:
        """Mark the batch complete; the manifest is written when the `land` block exits."""
        if manifest.dataset != self.dataset or manifest.batch_id != self.batch_id:
            raise BatchError("manifest names another batch than the one being landed")
        missing = [t.file for t in manifest.tables.values() if t.file not in self.files]
        if missing:
            raise BatchError(f"manifest lists files that were not written: {missing}")
        self.manifest = manifest

    def file_stats(self, name: str) -> tuple[int, str]:
        """(bytes, sha256) of a file already written."""
        return self.files[name]


class BronzeStore:
    """Lands and reads Bronze batches."""

    def __init__(self, storage: StorageService) -> None:
        self.storage = storage

    @staticmethod
    def batch_prefix(dataset: str, batch_id: str) -> str:
        """The key prefix of a landed batch."""
        return f"bronze/{check_name('dataset', dataset)}/{check_name('batch', batch_id)}"

    def exists(self, dataset: str, batch_id: str) -> bool:
        """Whether the batch is landed (its manifest exists)."""
        return self.storage.exists(f"{self.batch_prefix(dataset, batch_id)}/{MANIFEST}")

    @contextmanager
    def land(self, dataset: str, batch_id: str) -> Iterator[BatchDraft]:
        """Land a batch; the block writes files and must call `commit` before leaving.

        If the block raises (or never commits), nothing of the batch stays in the lake.
        """
        final = self.batch_prefix(dataset, batch_id)
        if self.exists(dataset, batch_id) or any(True for _ in self.storage.list(final)):
            raise BatchExists(
                f"batch {dataset}/{batch_id} is already landed; Bronze is append-only"
            )
        atomic = self.storage.supports_atomic_rename
        staging = f"bronze/{dataset}/{STAGING}/{batch_id}-{secrets.token_hex(4)}"
        draft = BatchDraft(self.storage, dataset, batch_id, staging if atomic else final)
        landed_meanwhile = BatchExists(
            f"batch {dataset}/{batch_id} is already landed; Bronze is append-only"
        )
        try:
            try:
                yield draft
                if draft.manifest is None:
                    raise BatchError(f"batch {dataset}/{batch_id} was not committed")
                body = draft.manifest.model_dump_json(indent=2).encode()
                manifest_key = f"{draft.prefix}/{MANIFEST}"
                self.storage.put_bytes(manifest_key, body, overwrite=False)
                draft.written.append(manifest_key)
                if atomic:
                    self.storage.rename_prefix(staging, final)
            except ObjectExists as exc:  # another process landed the same id meanwhile
                raise landed_meanwhile from exc
        except BaseException:
            if atomic:  # the staging folder is this landing's own
                self.storage.delete_prefix(draft.prefix)
            else:  # the final folder: delete only what this landing wrote
                for key in draft.written:
                    with suppress(ObjectNotFound):
                        self.storage.delete(key)
            raise

    def manifest(self, dataset: str, batch_id: str) -> BronzeManifest:
        """The manifest of a landed batch; `BatchError` if there is no such batch."""
        key = f"{self.batch_prefix(dataset, batch_id)}/{MANIFEST}"
        try:
            raw = self.storage.read_bytes(key)
        except ObjectNotFound as exc:
            raise BatchError(f"no batch {dataset}/{batch_id} in the lake") from exc
        return BronzeManifest.model_validate(json.loads(raw))

    def batches(self, dataset: str) -> list[str]:
        """Landed batch ids of `dataset`, oldest id first."""
        prefix = f"bronze/{check_name('dataset', dataset)}"
        out = []
        for info in self.storage.list(prefix):
            parts = info.key.split("/")
            if len(parts) == 4 and parts[3] == MANIFEST and parts[2] != STAGING:
                out.append(parts[2])
        return sorted(out)

    def datasets(self) -> list[str]:
        """Datasets with at least one landed batch."""
        names = set()
        for info in self.storage.list("bronze"):
            parts = info.key.split("/")
            if len(parts) == 4 and parts[3] == MANIFEST and parts[2] != STAGING:
                names.add(parts[1])
        return sorted(names)

    def file_key(self, dataset: str, batch_id: str, name: str) -> str:
        """Key of a file of a landed batch."""
        return f"{self.batch_prefix(dataset, batch_id)}/{name}"
