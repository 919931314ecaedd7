"""LocalStorageAdapter: the lake as a folder on this machine."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, ClassVar

from udo.errors import ObjectExists, ObjectNotFound, StorageError
from udo.ports.storage import ObjectInfo, StorageService, check_key

_TMP_PREFIX = ".udo-tmp-"
_UMASK = os.umask(0)
os.umask(_UMASK)


class LocalStorageAdapter(StorageService):
    """Objects are files under `root`; writes go to a temp file then `rename` (atomic)."""

    supports_atomic_rename: ClassVar[bool] = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str, *, prefix: bool = False) -> Path:
        check_key(key, prefix=prefix)
        return self.root / key if key else self.root

    @contextlib.contextmanager
    def open_write(self, key: str, *, overwrite: bool = True) -> Iterator[BinaryIO]:
        path = self._path(key)
        if path.is_dir():
            raise ObjectExists(key)
        if not overwrite and path.exists():
            raise ObjectExists(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:  # a parent segment is an object
            raise ObjectExists(key) from exc
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; objects get the usual mode
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                # link() fails if the target exists: a no-overwrite commit without a race.
                try:
                    os.link(tmp, path)
                except FileExistsError as exc:
                    raise ObjectExists(key) from exc
                os.unlink(tmp)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def put_bytes(self, key: str, data: bytes, *, overwrite: bool = True) -> ObjectInfo:
        with self.open_write(key, overwrite=overwrite) as fh:
            fh.write(data)
        return self.stat(key)

    @contextlib.contextmanager
    def open_read(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        try:
            fh = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        with fh:
            yield fh

    def read_bytes(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if start < 0 or (end is not None and end < start):
            raise StorageError(f"invalid byte range [{start}, {end}) for {key}")
        with self.open_read(key) as fh:
            fh.seek(start)
            return fh.read() if end is None else fh.read(end - start)

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        return self._info(key, path)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        st = path.stat()
        # A cheap etag that changes with the content's identity on disk: inode, size and
        # mtime in nanoseconds (every write is a new inode, by rename).
        tag = hashlib.blake2b(
            f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}".encode(), digest_size=12
        ).hexdigest()
        modified = datetime.fromtimestamp(st.st_mtime, tz=UTC)
        return ObjectInfo(key=key, size=st.st_size, etag=tag, modified=modified)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self._path(prefix, prefix=True)
        clean = prefix.rstrip("/")
        if base.is_file():
            if not prefix.endswith("/"):  # 'a/' names a folder, never the object 'a'
                yield self._info(clean, base)
            return
        if not base.is_dir():
            return
        found: list[tuple[str, Path]] = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(_TMP_PREFIX):
                    continue  # a write in flight (or abandoned by a crash) is not an object
                full = Path(dirpath) / name
                found.append((full.relative_to(self.root).as_posix(), full))
        for key, full in sorted(found):
            with contextlib.suppress(FileNotFoundError):
                yield self._info(key, full)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        self._prune(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix, prefix=True)
        if base.is_file():
            if prefix.endswith("/"):
                return 0
            base.unlink()
            self._prune(base.parent)
            return 1
        if not base.is_dir():
            return 0
        count = sum(1 for _ in self.list(prefix))
        shutil.rmtree(base)
        self._prune(base.parent)
        return count

    def rename_prefix(self, src: str, dst: str) -> None:
        src_path = self._path(src.rstrip("/"))
        dst_path = self._path(dst.rstrip("/"))
        if not src_path.is_file() and not any(True for _ in self.list(src)):
            raise ObjectNotFound(src)
        if dst_path.exists() and (dst_path.is_file() or any(dst_path.iterdir())):
            raise ObjectExists(dst)
        try:
            dst_path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ObjectExists(dst) from exc
        try:
            os.rename(src_path, dst_path)
        except OSError as exc:  # ENOTEMPTY / EEXIST: someone landed dst meanwhile
            if dst_path.exists():
                raise ObjectExists(dst) from exc
            raise StorageError(f"cannot rename {src} to {dst}: {exc}") from exc
        self._prune(src_path.parent)

    def uri(self, key: str) -> str:
        return str(self._path(key, prefix=True))

    def _prune(self, folder: Path) -> None:
        """Remove folders left empty up to the root, so listings stay meaningful."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent
