"""AzureDataLakeAdapter: the lake in an Azure storage account (ADLS Gen2 or plain Blob).

Objects are block blobs in one container (the ADLS Gen2 "file system"):

- Writes stage blocks while the `open_write` stream is written and commit the block list
  when the block exits cleanly, so readers see the old object or the whole new one. A
  no-overwrite write commits with ``If-None-Match: *``. Small objects go up in one Put
  Blob, which is atomic too.
- Reads are ranged GETs pinned to the ETag seen when the stream opened.
- With a hierarchical namespace (ADLS Gen2), `rename_prefix` is one atomic directory
  rename on the dfs endpoint, refused if the destination exists (an empty folder left
  there is first removed, non-recursively, so nothing landed in it meanwhile is lost); on
  a flat account (and on Azurite, which has no dfs endpoint) it copies each blob
  server-side, each refused if its target exists, checks that nothing else landed under
  the destination meanwhile, then deletes the sources.
- Every step another process can invalidate between a check and the act is conditional
  (``If-None-Match: *``, ``If-Match: <etag>``, a non-recursive delete), so two processes
  renaming onto one destination never both succeed.
- ADLS Gen2 directories show up in blob listings as empty blobs with the metadata
  ``hdi_isfolder=true``; they are folders, not objects, and never listed as objects.

The account key, SAS or token never appears in a repr, an error or a log line.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import io
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, NoReturn, cast
from urllib.parse import urlsplit

from udo.adapters.azure.credentials import StorageAccount, storage_account
from udo.errors import (
    ConfigError,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    UdoError,
)
from udo.ports.storage import ObjectInfo, StorageService, check_key

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient
    from azure.storage.filedatalake import DataLakeServiceClient, FileSystemClient

    from udo.config import Settings

_CONTAINER_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_BATCH_LIMIT = 256
"""Sub-requests per Blob Batch call (the service's limit)."""
_COPY_POLL_LIMIT_S = 600.0
_CONDITIONAL_ATTEMPTS = 5
"""Tries of a step another process can invalidate between a check and the act."""
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
STORAGE_SCOPE = "https://storage.azure.com/.default"


def _is_folder(metadata: dict[str, str] | None) -> bool:
    """Whether blob metadata marks an ADLS Gen2 directory (not an object)."""
    return bool(metadata) and (metadata or {}).get("hdi_isfolder", "").lower() == "true"


def _etag(value: str | None) -> str:
    # Listings give the ETag bare, property reads and commits quoted: compare them equal.
    return (value or "").strip('"')


def _code(exc: Exception) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


class AzureDataLakeAdapter(StorageService):
    """StorageService over an Azure storage account's container.

    Build it with `from_settings` (udo's configuration) or directly with a
    `StorageAccount` (endpoints + credential) and a container name. With
    ``hierarchical_namespace=True`` the instance is an ADLS Gen2 store whose
    `rename_prefix` is atomic (`supports_atomic_rename` is then true).
    """

    supports_atomic_rename: ClassVar[bool] = False

    def __new__(
        cls,
        account: StorageAccount,
        container: str,
        *,
        hierarchical_namespace: bool = True,
        block_size: int = DEFAULT_BLOCK_SIZE,
        retries: int = 3,
    ) -> AzureDataLakeAdapter:
        # The capability is a class flag (asked as `type(store).supports_atomic_rename`
        # too), so an ADLS Gen2 store is an instance of the hierarchical subclass.
        target = cls
        if hierarchical_namespace and cls is AzureDataLakeAdapter:
            target = HierarchicalDataLakeAdapter
        return super().__new__(target)

    def __init__(
        self,
        account: StorageAccount,
        container: str,
        *,
        hierarchical_namespace: bool = True,
        block_size: int = DEFAULT_BLOCK_SIZE,
        retries: int = 3,
    ) -> None:
        if not _CONTAINER_RE.match(container):
            raise ConfigError(
                f"invalid Azure container name {container!r}: use 3-63 lowercase letters, "
                "digits and single hyphens, starting and ending with a letter or digit "
                "(UDO_AZURE__STORAGE__CONTAINER)"
            )
        if block_size < 1:
            raise ConfigError(f"block_size must be positive, got {block_size}")
        self.container = container
        self.account_name = account.account
        self.blob_endpoint = account.blob_endpoint
        self.dfs_endpoint = account.dfs_endpoint
        self.hierarchical_namespace = hierarchical_namespace
        self.block_size = block_size
        self._account = account
        self._retries = retries
        self._lock = threading.Lock()
        self._service: BlobServiceClient | None = None
        self._container: ContainerClient | None = None
        self._dfs: DataLakeServiceClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AzureDataLakeAdapter:
        """The lake of ``settings.azure.storage`` (connection string or DefaultAzureCredential)."""
        section = settings.azure.storage
        return cls(
            storage_account(section),
            section.container,
            hierarchical_namespace=section.hierarchical_namespace,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(account={self.account_name!r}, "
            f"container={self.container!r}, blob_endpoint={self._endpoint_for_humans()!r}, "
            f"hierarchical_namespace={self.hierarchical_namespace})"
        )

    __str__ = __repr__

    def _endpoint_for_humans(self) -> str:
        parts = urlsplit(self.blob_endpoint)  # never a query string: it could be a SAS
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    # -- clients ------------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        return {"retry_total": self._retries, "connection_timeout": 20}

    def _containers(self) -> ContainerClient:
        """The container client; the container is created on first use if missing."""
        if self._container is not None:
            return self._container
        with self._lock:
            if self._container is None:
                from azure.core.exceptions import ResourceExistsError
                from azure.storage.blob import BlobServiceClient

                service = BlobServiceClient(
                    self.blob_endpoint, credential=self._account.credential, **self._client_kwargs()
                )
                client = service.get_container_client(self.container)
                with (
                    self._errors("create container", self.container),
                    contextlib.suppress(ResourceExistsError),
                ):
                    client.create_container()
                self._service, self._container = service, client
        return self._container

    def _blob(self, key: str) -> BlobClient:
        return self._containers().get_blob_client(key)

    def _datalake(self) -> DataLakeServiceClient:
        if self._dfs is None:
            from azure.storage.filedatalake import DataLakeServiceClient

            self._dfs = DataLakeServiceClient(
                self.dfs_endpoint, credential=self._account.credential, **self._client_kwargs()
            )
        return self._dfs

    # -- error translation ----------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str, key: str, *, exists_key: str | None = None) -> Iterator[None]:
        """Translate SDK errors into udo errors; messages name the key, never a secret."""
        from azure.core.exceptions import AzureError

        try:
            yield
        except UdoError:
            raise
        except AzureError as exc:
            self._raise(exc, action, key, exists_key or key)

    def _where(self, action: str, key: str) -> str:
        if key == self.container:
            return f"{action} {key!r}"
        return f"{action} {key!r} in container {self.container!r}"

    def _raise(self, exc: Exception, action: str, key: str, exists_key: str) -> NoReturn:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )

        where = self._where(action, key)
        if isinstance(exc, ResourceNotFoundError):
            raise ObjectNotFound(key) from exc
        if isinstance(exc, ResourceExistsError | ResourceModifiedError):
            raise ObjectExists(exists_key) from exc
        status = getattr(exc, "status_code", None)
        if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            raise StorageError(
                f"Azure storage refused to {where} (HTTP {status} {_code(exc)}): check the "
                f"credential of account {self.account_name!r} and its permissions"
            ) from exc
        if isinstance(exc, HttpResponseError) and exc.status_code is not None:
            status = exc.status_code
            detail = f"HTTP {status} {_code(exc)}".strip()
            if status in _TRANSIENT_STATUS:
                raise StorageUnavailable(
                    f"Azure storage could not {where} ({detail}); try again later"
                ) from exc
            raise StorageError(f"Azure storage could not {where} ({detail})") from exc
        raise StorageUnavailable(
            f"cannot reach Azure storage at {self._endpoint_for_humans()} to {where} "
            f"({type(exc).__name__}); try again later"
        ) from exc

    # -- writes ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _upload(self, key: str, overwrite: bool) -> Iterator[_BlockUpload]:
        check_key(key)
        upload = _BlockUpload(self, key, overwrite)
        stream = io.BufferedWriter(upload, buffer_size=min(self.block_size, 1024 * 1024))
        upload.stream = stream
        try:
            yield upload
            stream.flush()
            upload.commit()
        finally:
            upload.abandoned = True  # nothing more is staged, whatever happened
            stream.close()

    @contextlib.contextmanager
    def open_write(self, key: str, *, overwrite: bool = True) -> Iterator[io.BufferedWriter]:
        with self._upload(key, overwrite) as upload:
            assert upload.stream is not None
            yield upload.stream

    def put_bytes(self, key: str, data: bytes, *, overwrite: bool = True) -> ObjectInfo:
        with self._upload(key, overwrite) as upload:
            assert upload.stream is not None
            upload.stream.write(data)
        assert upload.info is not None
        return upload.info

    # -- reads ----------------------------------------------------------------------------

    def _properties(self, key: str) -> Any:
        check_key(key)
        blob = self._blob(key)
        with self._errors("read", key):
            props = blob.get_blob_properties()
        if _is_folder(props.metadata):
            raise ObjectNotFound(key)
        return props

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        props = self._properties(key)
        raw = _BlobRangeReader(self, key, int(props.size), str(props.etag))
        buffer_size = min(self.block_size, 4 * 1024 * 1024)
        with io.BufferedReader(cast(Any, raw), buffer_size=buffer_size) as fh:
            yield fh

    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if start < 0 or (end is not None and end < start):
            raise StorageError(f"invalid byte range [{start}, {end}) for {key}")
        check_key(key)
        if end == start:
            self.stat(key)  # an empty range of a missing object is still missing
            return b""
        from azure.core.exceptions import HttpResponseError

        blob = self._blob(key)
        length = None if end is None else end - start
        offset = None if start == 0 and length is None else start  # the SDK's whole-blob read
        with self._errors("read", key):
            try:
                downloader = blob.download_blob(offset=offset, length=length)
            except HttpResponseError as exc:
                if exc.status_code != 416:
                    raise
                self._properties(key)  # the range starts past the end of an object, not a folder
                return b""
            if _is_folder(downloader.properties.metadata):
                raise ObjectNotFound(key)
            return downloader.readall()

    def stat(self, key: str) -> ObjectInfo:
        props = self._properties(key)
        return ObjectInfo(
            key=key, size=int(props.size), etag=_etag(props.etag), modified=props.last_modified
        )

    def exists(self, key: str) -> bool:
        try:
            self._properties(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        check_key(prefix, prefix=True)
        if prefix and not prefix.endswith("/"):
            # whole segments: the object `prefix` itself, then everything under `prefix/`
            with contextlib.suppress(ObjectNotFound):
                yield self.stat(prefix)
            prefix += "/"
        yield from self._listing(prefix)

    def _listing(self, starts_with: str) -> Iterator[ObjectInfo]:
        container = self._containers()
        with self._errors("list", starts_with or "/"):
            pages = container.list_blobs(name_starts_with=starts_with or None, include=["metadata"])
            for blob in pages:
                if _is_folder(blob.metadata):
                    continue
                yield ObjectInfo(
                    key=blob.name,
                    size=int(blob.size),
                    etag=_etag(blob.etag),
                    modified=blob.last_modified,
                )

    # -- deletes --------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        check_key(key)
        blob = self._blob(key)
        if not self.hierarchical_namespace:
            with self._errors("delete", key):
                blob.delete_blob(delete_snapshots="include")
            return
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError

        # With a hierarchical namespace, Delete Blob on a directory path deletes the folder.
        # The object is read first (a folder is not an object: ObjectNotFound), then deleted
        # only if it is still the version read: if another process replaced it meanwhile
        # (by a folder, say), the service refuses (412) and it is looked at again.
        for _ in range(_CONDITIONAL_ATTEMPTS):
            props = self._properties(key)
            with self._errors("delete", key):
                try:
                    blob.delete_blob(
                        delete_snapshots="include",
                        etag=props.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                    return
                except ResourceModifiedError:
                    continue
        raise StorageUnavailable(
            f"{self._where('delete', key)}: it kept changing while being deleted; try again later"
        )

    def delete_prefix(self, prefix: str) -> int:
        names = [info.key for info in self.list(prefix)]
        return self._delete_many(names)

    def _delete_many(self, names: builtins.list[str]) -> int:
        """Delete `names` (Blob Batch, 256 at a time); return how many this call deleted."""
        deleted = 0
        for i in range(0, len(names), _BATCH_LIMIT):
            chunk = names[i : i + _BATCH_LIMIT]
            deleted += self._delete_chunk(chunk)
        return deleted

    def _delete_chunk(self, names: builtins.list[str]) -> int:
        container = self._containers()
        statuses = self._batch_delete(names) if len(names) > 1 else None
        if statuses is None:  # one name, or no Blob Batch on this account: one by one
            deleted = 0
            for name in names:
                with contextlib.suppress(ObjectNotFound), self._errors("delete", name):
                    container.delete_blob(name, delete_snapshots="include")
                    deleted += 1
            return deleted
        deleted = 0
        for name, status in zip(names, statuses, strict=True):
            if status in (200, 202):
                deleted += 1
            elif status != 404:  # 404: someone else deleted it meanwhile
                raise self._status_error("delete", name, status)
        return deleted

    def _batch_delete(self, names: builtins.list[str]) -> builtins.list[int] | None:
        """Statuses of one Blob Batch delete of `names`; None if the batch call failed.

        The batch is tried once, without the SDK's retries: if it fails as a whole (no
        Blob Batch on an HNS account, Azurite with a SAS, a passing 5xx), the caller
        deletes one by one, each with the usual retries and error translation.
        """
        from azure.core.exceptions import AzureError

        container = self._containers()
        try:
            responses = container.delete_blobs(
                *names, delete_snapshots="include", raise_on_any_failure=False, retry_total=0
            )
            return [response.status_code for response in responses]
        except AzureError:
            return None

    def _status_error(self, action: str, key: str, status: int) -> StorageError:
        where = self._where(action, key)
        if status in _TRANSIENT_STATUS:
            return StorageUnavailable(f"Azure storage could not {where} (HTTP {status})")
        return StorageError(f"Azure storage could not {where} (HTTP {status})")

    # -- rename ---------------------------------------------------------------------------

    def rename_prefix(self, src: str, dst: str) -> None:
        src = check_key(src.rstrip("/"))
        dst = check_key(dst.rstrip("/"))
        moving = [info.key for info in self.list(src)]
        if not moving:
            raise ObjectNotFound(src)
        if any(True for _ in self.list(dst)):
            raise ObjectExists(dst)
        if dst.startswith(src + "/"):
            raise StorageError(f"cannot move {src} into itself ({dst})")
        self._move(src, dst, moving)

    def _move(self, src: str, dst: str, moving: builtins.list[str]) -> None:
        """Copy every blob server-side, check `dst` holds only the copies, then delete the
        sources (not atomic: a crash may leave both)."""
        from azure.core import MatchConditions

        created: builtins.list[str] = []
        try:
            for key in moving:
                target = dst + key[len(src) :]
                source = self._blob(key)
                copy = self._blob(target)
                with self._errors("copy", key, exists_key=dst):
                    result = copy.start_copy_from_url(
                        source.url, match_condition=MatchConditions.IfMissing
                    )
                    created.append(target)
                    if result.get("copy_status") != "success":
                        self._await_copy(copy, key)
            # rename_prefix saw `dst` empty, but another process may have landed objects
            # under it since (each copy only refuses a target key that exists). With every
            # copy in place, anything under `dst` this call did not create means `dst` was
            # not free: undo. Of two renames racing onto one `dst`, each copies before it
            # looks, so at most one of them can see only its own objects.
            ours = set(created)
            if any(info.key not in ours for info in self.list(dst)):
                raise ObjectExists(dst)
        except BaseException:
            # Undo the copies this call made; the sources are untouched.
            with contextlib.suppress(UdoError):
                self._delete_many(created)
            raise
        self._delete_many(moving)

    def _await_copy(self, copy: BlobClient, key: str) -> None:
        """Wait for an asynchronous server-side copy (large blobs) to finish."""
        deadline = time.monotonic() + _COPY_POLL_LIMIT_S
        pause = 0.05
        while True:
            status = copy.get_blob_properties().copy.status
            if status == "success":
                return
            if status != "pending":
                raise StorageError(f"Azure storage could not copy {key!r}: copy {status}")
            if time.monotonic() > deadline:
                raise StorageUnavailable(f"copying {key!r} did not finish; try again later")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    # -- uri, delta-rs ----------------------------------------------------------------------

    def _cloud_suffix(self) -> str | None:
        """The endpoint suffix when the blob endpoint is the account's own public one."""
        parts = urlsplit(self.blob_endpoint)
        head = f"{self.account_name}.blob."
        host = parts.hostname or ""
        if parts.scheme == "https" and host.startswith(head) and parts.path in ("", "/"):
            return host[len(head) :]
        return None

    def uri(self, key: str) -> str:
        check_key(key, prefix=True)
        path = f"/{key}" if key else ""
        suffix = self._cloud_suffix()
        if suffix is not None:
            return f"abfss://{self.container}@{self.account_name}.dfs.{suffix}{path}"
        # A custom endpoint (Azurite, a private link): delta-rs takes it from storage_options.
        return f"az://{self.container}{path}"

    def storage_options(self) -> dict[str, str]:
        """Account, endpoint and credential for delta-rs (object_store's Azure keys).

        A key or SAS is passed as is; a DefaultAzureCredential becomes a bearer token,
        valid for about an hour, fetched on each call. The container is created first if
        missing: delta-rs writes into it but does not create it.
        """
        self._containers()
        options = {"azure_storage_account_name": self.account_name}
        if self._cloud_suffix() is None:
            options["azure_storage_endpoint"] = self.blob_endpoint
            if urlsplit(self.blob_endpoint).scheme == "http":
                options["allow_http"] = "true"
        credential = self._account.credential
        if self._account.account_key is not None:
            options["azure_storage_account_key"] = self._account.account_key
        elif isinstance(credential, str):
            options["azure_storage_sas_key"] = credential
        else:
            with self._errors("get a token for", self.container):
                options["azure_storage_token"] = credential.get_token(STORAGE_SCOPE).token
        return options


class HierarchicalDataLakeAdapter(AzureDataLakeAdapter):
    """An ADLS Gen2 (hierarchical namespace) store: `rename_prefix` is one atomic rename.

    `AzureDataLakeAdapter(..., hierarchical_namespace=True)` returns one of these.
    """

    supports_atomic_rename: ClassVar[bool] = True

    def _move(self, src: str, dst: str, moving: builtins.list[str]) -> None:
        """One dfs rename of `src` onto `dst`, which must be free (``If-None-Match: *``).

        Each step is one conditional request, because another process can act between
        them: the destination's parent is created if missing, an empty folder left at
        `dst` is removed only while it is still empty, and the rename refuses any `dst`
        that exists. If the parent vanishes before the rename (someone removed it as an
        empty folder), the steps run again.
        """
        from azure.core.exceptions import ResourceNotFoundError

        files = self._datalake().get_file_system_client(self.container)
        parent = dst.rpartition("/")[0]
        for _ in range(_CONDITIONAL_ATTEMPTS):
            if parent:  # a rename needs the destination's parent directory to exist
                self._ensure_directory(files, parent, dst)
            folder_etag = self._folder_etag(dst)
            if folder_etag is not None:  # an empty folder left after its objects were deleted
                self._remove_empty_folder(files, dst, folder_etag)
            try:
                self._rename(files, src, dst)
                return
            except ResourceNotFoundError as exc:
                if _code(exc) != "RenameDestinationParentPathNotFound":
                    self._raise(exc, "rename", src, dst)
        raise StorageUnavailable(
            f"{self._where('rename', src)} to {dst!r}: its parent folder kept vanishing; "
            "try again later"
        )

    def _ensure_directory(self, files: FileSystemClient, path: str, dst: str) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError

        with (
            self._errors("create directory", path, exists_key=dst),
            contextlib.suppress(ResourceExistsError),
        ):
            files.get_directory_client(path).create_directory(
                match_condition=MatchConditions.IfMissing
            )

    def _remove_empty_folder(self, files: FileSystemClient, dst: str, etag: str) -> None:
        """Delete the folder `dst` if it is still empty and still the one seen (its ETag).

        `DataLakeDirectoryClient.delete_directory` always sends ``recursive=true``, which
        would also delete whatever another process landed under `dst` since it was seen
        empty. The Path - Delete call is the same for files and directories, so it goes
        through the path's file client with ``recursive=false``: the service then refuses
        a directory with anything in it (409 DirectoryNotEmpty), and ``If-Match`` refuses
        a path replaced meanwhile (412). Either way `dst` is taken: `ObjectExists`.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        with self._errors("delete directory", dst, exists_key=dst):
            try:
                files.get_file_client(dst).delete_file(
                    recursive=False, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except ResourceNotFoundError:
                return  # removed by someone else meanwhile: the rename's condition decides
            except HttpResponseError as exc:
                if exc.status_code in (409, 412):  # DirectoryNotEmpty, ConditionNotMet
                    raise ObjectExists(dst) from exc
                raise

    def _rename(self, files: FileSystemClient, src: str, dst: str) -> None:
        """Rename `src` onto a free `dst`; a parent that vanished raises ResourceNotFoundError."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            files.get_directory_client(src).rename_directory(
                f"{self.container}/{dst}", match_condition=MatchConditions.IfMissing
            )
        except ResourceNotFoundError:
            raise  # the caller tells a vanished parent from a vanished source
        except AzureError as exc:
            self._raise(exc, "rename", src, dst)

    def _folder_etag(self, key: str) -> str | None:
        """The ETag of the ADLS Gen2 folder at `key`; None if `key` is no folder."""
        from azure.core.exceptions import ResourceNotFoundError

        blob = self._blob(key)
        with self._errors("read", key):
            try:
                props = blob.get_blob_properties()
            except ResourceNotFoundError:
                return None
        return str(props.etag) if _is_folder(props.metadata) else None


class _BlockUpload(io.RawIOBase):
    """The sink under `open_write`'s buffer: stages full blocks, commits on `commit`."""

    def __init__(self, store: AzureDataLakeAdapter, key: str, overwrite: bool) -> None:
        super().__init__()
        self.store = store
        self.key = key
        self.overwrite = overwrite
        self.blob = store._blob(key)
        self.write_id = uuid.uuid4().hex
        self.blocks: builtins.list[str] = []
        self.pending = bytearray()
        self.size = 0
        self.abandoned = False
        self.stream: io.BufferedWriter | None = None
        self.info: ObjectInfo | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.abandoned:
            return view.nbytes
        self.pending += view
        self.size += view.nbytes
        while len(self.pending) >= self.store.block_size:
            self._stage(bytes(self.pending[: self.store.block_size]))
            del self.pending[: self.store.block_size]
        return view.nbytes

    def _stage(self, chunk: bytes) -> None:
        # Block ids must have one length per blob; the write id keeps concurrent writers apart.
        raw = f"{self.write_id}-{len(self.blocks):06d}".encode()
        block_id = base64.b64encode(raw).decode()
        with self.store._errors("write", self.key):
            self.blob.stage_block(block_id, chunk, length=len(chunk))
        self.blocks.append(block_id)

    def commit(self) -> None:
        """Make the object visible: one Put Blob if nothing was staged, else Put Block List."""
        from azure.core import MatchConditions
        from azure.storage.blob import BlobBlock

        if self.blocks and self.pending:
            self._stage(bytes(self.pending))
        body = b"" if self.blocks else bytes(self.pending)
        self.pending.clear()
        with self.store._errors("write", self.key):
            try:
                if not self.blocks:
                    result = self.blob.upload_blob(
                        body, length=len(body), overwrite=self.overwrite, max_concurrency=1
                    )
                else:
                    condition: dict[str, Any] = {}
                    if not self.overwrite:
                        condition["match_condition"] = MatchConditions.IfMissing
                    blocks = [BlobBlock(block_id) for block_id in self.blocks]
                    result = self.blob.commit_block_list(blocks, **condition)
            except Exception as exc:
                if _code(exc) == "InvalidBlockList":
                    raise StorageUnavailable(
                        f"a concurrent write to {self.key!r} discarded this write's staged "
                        "blocks; write it again"
                    ) from exc
                raise
        modified: datetime = result["last_modified"]
        self.info = ObjectInfo(
            key=self.key, size=self.size, etag=_etag(result["etag"]), modified=modified
        )


class _BlobRangeReader(io.RawIOBase):
    """Seekable reads of one blob by ranged GETs, pinned to the ETag seen at open."""

    def __init__(self, store: AzureDataLakeAdapter, key: str, size: int, etag: str) -> None:
        super().__init__()
        self.store = store
        self.key = key
        self.size = size
        self.etag = etag
        self.pos = 0
        self.blob = store._blob(key)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self.pos = base + offset
        return self.pos

    def _fetch(self, length: int) -> bytes:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError

        with self.store._errors("read", self.key):
            try:
                return self.blob.download_blob(
                    offset=self.pos,
                    length=length,
                    etag=self.etag,
                    match_condition=MatchConditions.IfNotModified,
                ).readall()
            except ResourceModifiedError as exc:
                raise StorageUnavailable(
                    f"{self.key!r} was replaced or deleted while being read; read it again"
                ) from exc

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        length = min(view.nbytes, self.size - self.pos)
        if length <= 0:
            return 0
        data = self._fetch(length)
        view[: len(data)] = data
        self.pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        if self.pos >= self.size:
            return b""
        data = self._fetch(self.size - self.pos)
        self.pos += len(data)
        return data
