"""SQLiteQueueAdapter: every queue in one SQLite file, safe for several worker processes.

One table holds the messages of all queues. A message is visible when its `visible_at` has
passed; receiving claims the oldest visible rows inside one ``BEGIN IMMEDIATE`` transaction
(SQLite's write lock), setting a new `visible_at`, a fresh receipt and the dequeue count
together, so two receivers can never claim the same message within its visibility timeout.
The file is in WAL mode: readers (`depth`, `peek`) never wait for writers. Each thread has
its own connection, since a worker extends visibility from a heartbeat thread.

Limits follow Azure Storage Queue, so code that runs here runs there too: queue names are
3-63 lowercase letters, digits and single inner hyphens; at most 32 messages per receive
or peek; visibility timeouts and delays of at most 7 days.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from udo.ports.queue import (
    Message,
    QueueBusy,
    QueueError,
    QueueService,
    ReceiptExpired,
    check_message,
    check_queue_name,
    poison_name,
)

MAX_BATCH = 32
"""Most messages one `receive` or `peek` returns (Azure Storage Queue's limit)."""
MAX_SECONDS = 7 * 24 * 3600.0
"""Longest visibility timeout or send delay (Azure Storage Queue's limit)."""

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,      -- ties in enqueued_at keep send order
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    enqueued_at REAL NOT NULL,                  -- seconds since the epoch, from the clock
    visible_at REAL NOT NULL,
    dequeue_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT UNIQUE,                        -- NULL until delivered, and after release
    origin_queue TEXT,                          -- set on poison moves: where it came from
    origin_dequeue_count INTEGER                -- and how often it had been delivered there
);
CREATE INDEX IF NOT EXISTS messages_order ON messages (queue, enqueued_at, seq);
"""


def _check_seconds(what: str, value: float, *, allow_zero: bool) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= MAX_SECONDS):
        bound = ">= 0" if allow_zero else "> 0"
        raise QueueError(f"{what} must be {bound} and at most {MAX_SECONDS:.0f} s, got {value}")


def _check_batch(max_messages: int) -> None:
    if not 1 <= max_messages <= MAX_BATCH:
        raise QueueError(f"max_messages must be between 1 and {MAX_BATCH}, got {max_messages}")


def _later(now: float, seconds: float) -> float:
    """`now + seconds`, strictly after `now` even when `seconds` is below float precision."""
    return max(now + seconds, math.nextafter(now, math.inf))


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class SQLiteQueueAdapter(QueueService):
    """Queues in the SQLite file at `path` (created if missing), shared by processes.

    `max_dequeue` is how many deliveries a message gets before the next receive moves it
    to ``<queue>-poison``. `clock` returns seconds since the epoch; tests inject a fake one
    to move time without sleeping. `busy_timeout` is how long a call waits for another
    process's write lock before raising `QueueBusy`.
    """

    max_message_bytes: ClassVar[int] = 64 * 1024
    keeps_redelivery_order: ClassVar[bool] = True

    def __init__(
        self,
        path: Path,
        *,
        max_dequeue: int = 5,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 30.0,
    ) -> None:
        if max_dequeue < 1:
            raise QueueError(f"max_dequeue must be at least 1, got {max_dequeue}")
        self.path = Path(path)
        self.max_dequeue = max_dequeue
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QueueError(f"cannot create the folder of queue file {self.path}: {exc}") from exc
        self._init_schema()

    # -- connections ---------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: SQLite handles don't survive it)."""
        pid = os.getpid()
        cached: tuple[int, sqlite3.Connection] | None = getattr(self._local, "db", None)
        if cached is not None and cached[0] == pid:
            return cached[1]
        with self._translate():
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,  # sets SQLite's busy timeout
                isolation_level=None,  # autocommit; transactions are explicit BEGINs
                check_same_thread=False,  # only so that close() may close it
            )
        self._local.db = (pid, conn)
        with self._lock:
            self._connections.append((pid, conn))
        return conn

    def close(self) -> None:
        """Close every connection this process opened; later calls open new ones."""
        pid = os.getpid()
        with self._lock:
            mine = [conn for owner, conn in self._connections if owner == pid]
            self._connections = []
        for conn in mine:
            conn.close()
        self._local = threading.local()

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn sqlite3 errors into QueueErrors: a lock held too long is `QueueBusy`."""
        try:
            yield
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise QueueBusy(
                    f"queue file {self.path} stayed locked for {self._busy_timeout} s: {exc}; "
                    "try again"
                ) from exc
            raise QueueError(f"queue file {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds SQLite's write lock from its first statement.

        ``BEGIN IMMEDIATE`` waits (up to the busy timeout) for the lock up front; a plain
        ``BEGIN`` would read first and could then fail to upgrade in WAL mode.
        """
        db = self._db()
        with self._translate():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()

    def _init_schema(self) -> None:
        db = self._db()
        with self._translate():
            (mode,) = db.execute("PRAGMA journal_mode=WAL").fetchone()
        if str(mode).lower() != "wal":
            raise QueueError(
                f"queue file {self.path} cannot use WAL mode (journal_mode={mode}); "
                "put it on a local disk"
            )
        with self._write() as tx:
            (version,) = tx.execute("PRAGMA user_version").fetchone()
            if version > _SCHEMA_VERSION:
                raise QueueError(
                    f"queue file {self.path} has schema version {version}, newer than this "
                    f"udo understands ({_SCHEMA_VERSION}); upgrade udo"
                )
            # executescript() would COMMIT first; run the statements one by one instead.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)
            tx.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    # -- the port --------------------------------------------------------------------------

    def send(self, queue: str, body: str, *, delay_seconds: float = 0) -> str:
        check_queue_name(queue)
        _check_seconds("delay_seconds", delay_seconds, allow_zero=True)
        check_message(queue, body, self.max_message_bytes)
        message_id = str(uuid.uuid4())
        with self._write() as tx:
            now = self._clock()
            tx.execute(
                "INSERT INTO messages (id, queue, body, enqueued_at, visible_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (message_id, queue, body, now, now + delay_seconds),
            )
        return message_id

    def receive(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: float = 300
    ) -> list[Message]:
        check_queue_name(queue)
        _check_batch(max_messages)
        _check_seconds("visibility_timeout", visibility_timeout, allow_zero=False)
        delivered: list[Message] = []
        with self._write() as tx:
            now = self._clock()
            until = _later(now, visibility_timeout)  # claimed rows are no longer selectable
            while len(delivered) < max_messages:
                rows = tx.execute(
                    "SELECT seq, id, body, enqueued_at, dequeue_count FROM messages"
                    " WHERE queue = ? AND visible_at <= ? ORDER BY enqueued_at, seq LIMIT ?",
                    (queue, now, max_messages - len(delivered)),
                ).fetchall()
                poisoned = 0
                for seq, message_id, body, enqueued_at, count in rows:
                    if count >= self.max_dequeue:
                        self._move_to_poison(tx, queue, seq, count, now)
                        poisoned += 1
                        continue
                    receipt = secrets.token_hex(16)
                    tx.execute(
                        "UPDATE messages SET visible_at = ?, receipt = ?,"
                        " dequeue_count = dequeue_count + 1 WHERE seq = ?",
                        (until, receipt, seq),
                    )
                    delivered.append(
                        Message(
                            id=message_id,
                            body=body,
                            receipt=receipt,
                            dequeue_count=count + 1,
                            enqueued_at=_when(enqueued_at),
                            visible_at=_when(until),
                        )
                    )
                if not poisoned:  # all claimed, or the queue has no more visible messages
                    break
        return delivered

    @staticmethod
    def _move_to_poison(
        tx: sqlite3.Connection, queue: str, seq: int, count: int, now: float
    ) -> None:
        """Move a message to ``<queue>-poison`` as a fresh, visible, undelivered message."""
        tx.execute(
            "UPDATE messages SET queue = ?, enqueued_at = ?, visible_at = ?, dequeue_count = 0,"
            " receipt = NULL, origin_queue = ?, origin_dequeue_count = ? WHERE seq = ?",
            (poison_name(queue), now, now, queue, count, seq),
        )

    def delete(self, queue: str, receipt: str) -> None:
        check_queue_name(queue)
        with self._write() as tx:
            cur = tx.execute(
                "DELETE FROM messages WHERE queue = ? AND receipt = ?", (queue, receipt)
            )
            if cur.rowcount == 0:
                raise self._expired(queue, receipt)

    def extend(self, queue: str, receipt: str, visibility_timeout: float) -> str:
        check_queue_name(queue)
        _check_seconds("visibility_timeout", visibility_timeout, allow_zero=True)
        new_receipt = secrets.token_hex(16)
        with self._write() as tx:
            now = self._clock()
            cur = tx.execute(
                "UPDATE messages SET visible_at = ?, receipt = ? WHERE queue = ? AND receipt = ?",
                (now + visibility_timeout, new_receipt, queue, receipt),
            )
            if cur.rowcount == 0:
                raise self._expired(queue, receipt)
        return new_receipt

    def release(self, queue: str, receipt: str) -> None:
        check_queue_name(queue)
        with self._write() as tx:
            now = self._clock()
            cur = tx.execute(
                "UPDATE messages SET visible_at = ?, receipt = NULL"
                " WHERE queue = ? AND receipt = ?",
                (now, queue, receipt),
            )
            if cur.rowcount == 0:
                raise self._expired(queue, receipt)

    def depth(self, queue: str) -> int:
        check_queue_name(queue)
        db = self._db()
        with self._translate():
            (count,) = db.execute(
                "SELECT COUNT(*) FROM messages WHERE queue = ?", (queue,)
            ).fetchone()
        return int(count)

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        """The oldest visible messages, without receiving them (receipt empty).

        Invisible messages (being processed, or delayed) are left out, as Azure does.
        """
        check_queue_name(queue)
        _check_batch(max_messages)
        db = self._db()
        with self._translate():
            rows = db.execute(
                "SELECT id, body, enqueued_at, visible_at, dequeue_count FROM messages"
                " WHERE queue = ? AND visible_at <= ? ORDER BY enqueued_at, seq LIMIT ?",
                (queue, self._clock(), max_messages),
            ).fetchall()
        return [
            Message(
                id=message_id,
                body=body,
                receipt="",
                dequeue_count=count,
                enqueued_at=_when(enqueued_at),
                visible_at=_when(visible_at),
            )
            for message_id, body, enqueued_at, visible_at, count in rows
        ]

    def purge(self, queue: str) -> int:
        check_queue_name(queue)
        with self._write() as tx:
            return tx.execute("DELETE FROM messages WHERE queue = ?", (queue,)).rowcount

    @staticmethod
    def _expired(queue: str, receipt: str) -> ReceiptExpired:
        return ReceiptExpired(
            f"receipt {receipt[:8]}… of queue {queue!r} is stale: the message was deleted, "
            "released or delivered again; receive it again before acting on it"
        )
