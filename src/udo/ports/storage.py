"""StorageService: the lake's object store (local folder, ADLS Gen2 / Blob, OSS).

Keys are relative, '/'-separated paths (``bronze/shop/b1/orders.parquet``): no leading
'/', no '..' or '.' segment, no empty segment, no backslash. Every method raises
`InvalidKey` for a malformed key before touching the store.

Errors: `ObjectNotFound`, `ObjectExists` (terminal), `StorageUnavailable` (transient);
no SDK exception crosses an adapter.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, ClassVar

from udo.errors import InvalidKey

_SEGMENT = re.compile(r"^[^\\\x00-\x1f]+$")


def check_key(key: str, *, prefix: bool = False) -> str:
    """Return `key` if it is a valid object key (or prefix, which may be empty), else raise."""
    if prefix and key == "":
        return key
    body = key[:-1] if prefix and key.endswith("/") else key
    if not body or body.startswith("/"):
        raise InvalidKey(f"invalid storage key {key!r}: must be a non-empty relative path")
    for segment in body.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise InvalidKey(
                f"invalid storage key {key!r}: segment {segment!r} is empty, '.', '..' "
                "or holds a backslash or control character"
            )
    return key


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing knows of one object, enough for incremental sync."""

    key: str
    size: int
    etag: str
    """Changes whenever the content changes (a content hash locally, the provider's ETag)."""
    modified: datetime


class StorageService(ABC):
    """An object store holding the lake.

    Capabilities (class flags, asked instead of provider checks):
    `supports_atomic_rename`: `rename_prefix` moves a whole prefix in one atomic step.
    """

    supports_atomic_rename: ClassVar[bool] = False

    @abstractmethod
    def open_write(self, key: str, *, overwrite: bool = True) -> AbstractContextManager[BinaryIO]:
        """A binary stream whose content becomes object `key` when the block exits cleanly.

        Atomic: readers see either the previous object (or none) or the whole new one,
        never a part. If the block raises, nothing is written. With ``overwrite=False``
        raises `ObjectExists` if `key` exists when the write commits.
        """

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, *, overwrite: bool = True) -> ObjectInfo:
        """Write `data` as object `key` atomically; same guarantees as `open_write`."""

    @abstractmethod
    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A seekable binary stream over object `key`; `ObjectNotFound` if missing."""

    @abstractmethod
    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of object `key` (to its end if `end` is None).

        A range past the end is truncated, as HTTP range reads are. `ObjectNotFound`
        if missing.
        """

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size, etag and modified time of `key`; `ObjectNotFound` if missing."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether object `key` exists (a prefix with objects under it is not an object)."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, recursively, in key order.

        A prefix that ends without '/' matches on whole segments only: ``bronze/a``
        lists ``bronze/a/...`` and the object ``bronze/a`` but not ``bronze/ab``.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete object `key`; `ObjectNotFound` if missing."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (whole segments); return how many."""

    @abstractmethod
    def rename_prefix(self, src: str, dst: str) -> None:
        """Move every object under `src` to the same relative key under `dst`.

        Raises `ObjectExists` if any object exists under `dst` and `ObjectNotFound` if
        nothing is under `src`. Atomic only where `supports_atomic_rename` is true;
        elsewhere objects are copied then deleted and a crash may leave both.
        """

    @abstractmethod
    def uri(self, key: str) -> str:
        """A URI other engines (delta-rs, DuckDB, Spark) can open `key` or a prefix with."""

    def storage_options(self) -> dict[str, str]:
        """What delta-rs (``storage_options``) needs to open `uri` results: none locally.

        Cloud adapters return the account, endpoint and credential; the values are
        secrets and are never logged.
        """
        return {}
