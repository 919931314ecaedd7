"""A stand-in for the ADLS Gen2 (dfs) endpoint of one storage account, backed by Azurite.

Azurite emulates the Blob service but has no dfs endpoint, so the directory calls of
`azure-storage-file-datalake` (create directory, rename, delete) come here. The
stand-in checks each request the SDK sends (method, ``/<account>/<filesystem>/<path>``,
query, ``x-ms-version``, ``x-ms-date``, a SharedKey ``Authorization`` for the account,
``x-ms-rename-source``) and applies it to the blobs in Azurite the way an account with a
hierarchical namespace would, so what a test reads back through the Blob API really moved:

- a directory is a 0-byte blob with the metadata ``hdi_isfolder=true`` (as ADLS Gen2 shows
  directories to Blob API listings); a blob under ``<dir>/`` makes ``<dir>`` exist implicitly;
- rename (``PUT <dst>?mode=legacy`` + ``x-ms-rename-source``) needs the source, the
  destination's parent directory, and, with ``If-None-Match: *``, a free destination; a
  renamed directory is an explicit one at its new path, so it stays, as on the service,
  when the objects under it are deleted;
- delete (``DELETE <path>?recursive=true|false``) of a directory needs ``recursive``;
  with ``recursive=false`` it refuses a directory with anything under it (409
  DirectoryNotEmpty), as the service does; ``If-Match`` is checked against the path's ETag
  (412 ConditionNotMet);
- errors are answered as the service does: status, ``x-ms-error-code`` and a JSON body.

Unlike the real service the rename is not atomic (it copies then deletes blobs in Azurite);
the stand-in checks the request, not the service's atomicity. Every request is recorded
in `requests` and, with the stand-in's answer, in `answers`; every request that breaks a
check is recorded in `problems` and refused.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class DfsRequest:
    """One request the stand-in received (path decoded, without the account segment)."""

    method: str
    filesystem: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class DfsAnswer:
    """How the stand-in answered one request: HTTP status and error code (None if it worked)."""

    request: DfsRequest
    status: int
    code: str | None


class DfsError(Exception):
    """An error answer: HTTP status and the service's error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class AdlsStandIn:
    """The dfs endpoint of `account` on 127.0.0.1 (a free port), applying calls to Azurite."""

    blob_endpoint: str
    account: str
    account_key: str
    requests: list[DfsRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answers: list[DfsAnswer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._blobs = BlobServiceClient(
            self.blob_endpoint,
            credential={"account_name": self.account, "account_key": self.account_key},
        )
        self._lock = threading.Lock()  # one directory operation at a time, as one service
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The dfs endpoint URL to configure (path-style, like Azurite's blob endpoint)."""
        return f"http://127.0.0.1:{self._server.server_port}/{self.account}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> AdlsStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a request does, on Azurite's blobs -------------------------------------------

    def _container(self, filesystem: str) -> ContainerClient:
        return self._blobs.get_container_client(filesystem)

    def _kind(self, container: ContainerClient, path: str) -> str | None:
        """'file', 'directory' or None for `path` as a hierarchical namespace sees it."""
        try:
            props = container.get_blob_client(path).get_blob_properties()
        except ResourceNotFoundError:
            props = None
        if props is not None:
            folder = (props.metadata or {}).get("hdi_isfolder") == "true"
            return "directory" if folder else "file"
        if any(True for _ in container.list_blobs(name_starts_with=path + "/")):
            return "directory"  # implied by the blobs under it
        return None

    def _under(self, container: ContainerClient, path: str) -> list[str]:
        """The blob at `path` (file or folder) and every blob under ``path/``."""
        names = [b.name for b in container.list_blobs(name_starts_with=path + "/")]
        try:
            container.get_blob_client(path).get_blob_properties()
        except ResourceNotFoundError:
            return names
        return [path, *names]

    def _check_ancestors(self, container: ContainerClient, path: str) -> None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if self._kind(container, "/".join(parts[:i])) == "file":
                raise DfsError(
                    409,
                    "PathConflict",
                    "The specified path, or an element of the path, exists and its resource "
                    "type is invalid for this operation.",
                )

    def create_directory(self, req: DfsRequest) -> None:
        """``PUT <path>?resource=directory``: a folder blob, refusing files in the way."""
        container = self._container(req.filesystem)
        self._check_ancestors(container, req.path)
        kind = self._kind(container, req.path)
        if kind is not None and req.headers.get("if-none-match") == "*":
            raise DfsError(409, "PathAlreadyExists", "The specified path already exists.")
        if kind == "file":
            raise DfsError(409, "PathConflict", "The specified path exists and is a file.")
        if kind is None:
            container.upload_blob(req.path, b"", metadata={"hdi_isfolder": "true"})

    def rename(self, req: DfsRequest, source: str) -> None:
        """``PUT <dst>?mode=legacy`` with ``x-ms-rename-source: /<filesystem>/<src>``."""
        filesystem, _, src = unquote(source.split("?", 1)[0]).lstrip("/").partition("/")
        if filesystem != req.filesystem:
            raise DfsError(400, "InvalidRenameSourcePath", "the source is in another file system")
        container = self._container(req.filesystem)
        dst = req.path
        if not src or self._kind(container, src) is None:
            raise DfsError(
                404, "SourcePathNotFound", "The source path for a rename does not exist."
            )
        if dst == src or dst.startswith(src + "/"):
            raise DfsError(400, "InvalidDestinationPath", "cannot rename a path into itself")
        parent = dst.rpartition("/")[0]
        if parent:
            kind = self._kind(container, parent)
            if kind is None:
                raise DfsError(
                    404,
                    "RenameDestinationParentPathNotFound",
                    "The parent directory of the destination path does not exist.",
                )
            if kind == "file":
                raise DfsError(409, "PathConflict", "The destination's parent is a file.")
        if self._kind(container, dst) is not None and req.headers.get("if-none-match") == "*":
            raise DfsError(409, "PathAlreadyExists", "The specified path already exists.")
        names = self._under(container, src)
        if names[0] != src:  # a directory implied by its blobs: explicit at its new path
            container.upload_blob(dst, b"", overwrite=True, metadata={"hdi_isfolder": "true"})
        for name in names:
            target = dst + name[len(src) :]
            source_blob = container.get_blob_client(name)
            metadata = source_blob.get_blob_properties().metadata
            data = source_blob.download_blob().readall()
            container.upload_blob(target, data, overwrite=True, metadata=metadata)
            source_blob.delete_blob()

    def delete(self, req: DfsRequest) -> None:
        """``DELETE <path>?recursive=true|false``: a file, or a directory (and what is under it).

        ``recursive`` is required for a directory; ``false`` refuses a directory with
        anything under it, so nothing landed there meanwhile is lost. ``If-Match``
        refuses a path whose ETag changed (an implicit directory has none).
        """
        container = self._container(req.filesystem)
        kind = self._kind(container, req.path)
        if kind is None:
            raise DfsError(404, "PathNotFound", "The specified path does not exist.")
        if_match = req.headers.get("if-match")
        if if_match is not None and if_match != "*":
            try:
                etag = container.get_blob_client(req.path).get_blob_properties().etag
            except ResourceNotFoundError:
                etag = None
            if etag is None or etag.strip('"') != if_match.strip('"'):
                raise DfsError(
                    412,
                    "ConditionNotMet",
                    "The condition specified using HTTP conditional header(s) is not met.",
                )
        if kind == "file":
            container.delete_blob(req.path)
            return
        recursive = req.query.get("recursive")
        if recursive not in ("true", "false"):
            self.problems.append(f"DELETE of directory {req.path!r} without recursive=true|false")
            raise DfsError(
                400, "InvalidQueryParameterValue", "recursive is required for a directory."
            )
        children = [b.name for b in container.list_blobs(name_starts_with=req.path + "/")]
        if recursive == "false" and children:
            raise DfsError(
                409,
                "DirectoryNotEmpty",
                "The recursive query parameter value must be true to delete a non-empty directory.",
            )
        for name in children:
            container.delete_blob(name)
        with contextlib.suppress(ResourceNotFoundError):  # an implicit directory has no blob
            container.delete_blob(req.path)

    # -- request checks -------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, Any]:
        """Check and apply one request; (status, error body or None)."""
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        account, _, rest = unquote(parts.path).lstrip("/").partition("/")
        filesystem, _, path = rest.partition("/")
        req = DfsRequest(method, filesystem, path, query, headers)
        self.requests.append(req)
        problems = []
        if account != self.account:
            problems.append(f"path {parts.path!r} does not start with /{self.account}/")
        if not filesystem or not path:
            problems.append(f"path {parts.path!r} names no /<filesystem>/<path>")
        if not _VERSION.match(headers.get("x-ms-version", "")):
            problems.append(f"x-ms-version missing or malformed: {headers.get('x-ms-version')!r}")
        if "x-ms-date" not in headers:
            problems.append("x-ms-date missing")
        if not re.match(rf"^SharedKey {re.escape(self.account)}:[A-Za-z0-9+/=]{{40,}}$",
                        headers.get("authorization", "")):  # fmt: skip
            problems.append("Authorization is not a SharedKey signature for the account")
        operation = None
        if method == "PUT" and query.get("resource") == "directory":
            operation = lambda: self.create_directory(req)  # noqa: E731
        elif method == "PUT" and "x-ms-rename-source" in headers:
            if query.get("mode") != "legacy":
                problems.append(f"rename without mode=legacy: {query}")
            source = headers["x-ms-rename-source"]
            if not source.startswith(f"/{filesystem}/"):
                problems.append(f"x-ms-rename-source {source!r} is not /<filesystem>/<path>")
            operation = lambda: self.rename(req, source)  # noqa: E731
        elif method == "DELETE":
            if query.get("recursive", "false") not in ("true", "false"):
                problems.append(f"DELETE with recursive={query['recursive']!r}")
            operation = lambda: self.delete(req)  # noqa: E731
        else:
            problems.append(f"unexpected request {method} {raw_path}")
        if problems:
            self.problems.extend(f"{method} {raw_path}: {p}" for p in problems)
            self.answers.append(DfsAnswer(req, 400, "InvalidInput"))
            return 400, {"code": "InvalidInput", "message": "; ".join(problems)}
        assert operation is not None
        try:
            with self._lock:
                operation()
        except DfsError as exc:
            self.answers.append(DfsAnswer(req, exc.status, exc.code))
            return exc.status, {"code": exc.code, "message": exc.message}
        status = 200 if method == "DELETE" else 201
        self.answers.append(DfsAnswer(req, status, None))
        return status, None


class _Handler(BaseHTTPRequestHandler):
    standin: AdlsStandIn
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, error = self.standin.handle(self.command, self.path, headers)
        except Exception as exc:  # a bug in the stand-in: say so, loudly
            self.standin.problems.append(f"stand-in failed on {self.command} {self.path}: {exc!r}")
            status, error = 500, {"code": "InternalError", "message": repr(exc)}
        body = b"" if error is None else json.dumps({"error": error}).encode()
        self.send_response(status)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-version", headers.get("x-ms-version", ""))
        self.send_header("Date", formatdate(usegmt=True))
        if error is not None:
            self.send_header("x-ms-error-code", error["code"])
            self.send_header("Content-Type", "application/json;charset=utf-8")
        else:
            self.send_header("ETag", f'"0x{uuid.uuid4().hex[:15].upper()}"')
            self.send_header("Last-Modified", formatdate(usegmt=True))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_DELETE = do_GET = do_HEAD = do_PATCH = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `requests` and `problems` instead."""
