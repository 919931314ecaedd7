"""The QueueService contract, run against every adapter of the port.

To add an adapter, add a factory to `ADAPTERS` (and its cost marks to `MARKS`). A factory
gets a temporary folder and a `FakeClock` or None. Given the same folder it must reach the
same queues, because the multi-process test builds one service per process. An adapter
that can take the fake clock is listed in `FAKE_CLOCK`: its tests move time instantly; for
the others `advance_time` sleeps, so keep the waits in these tests to a few seconds.

Each test uses a fresh queue name (the `name` fixture), so a shared service such as
Azurite needs no cleanup between tests.

The Azure adapter runs on Azurite, in real time: Azure Storage Queue takes visibility
timeouts in whole seconds, so the waits here are 1-3 s, with at least 0.5 s of margin
either side of each deadline. Its factory finds Azurite through a file in the test's
folder (`AZURITE_FILE`), written by the `queues` fixture, so the worker processes of the
competing-consumers test reach the same Azurite.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from udo.adapters.azure.queue import AzureStorageQueueAdapter
from udo.adapters.local.queue import SQLiteQueueAdapter
from udo.errors import TerminalError, TransientError
from udo.ports.queue import Message, QueueError, QueueService, ReceiptExpired, poison_name


class FakeClock:
    """Seconds since the epoch that only move when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Factory = Callable[[Path, FakeClock | None], QueueService]
AdvanceTime = Callable[[float], None]

AZURITE_FILE = "azurite-connection-string.txt"
"""Where the `queues` fixture leaves Azurite's connection string for the Azure factory."""


def _azure(tmp: Path, clock: FakeClock | None) -> QueueService:
    """The Azure adapter on the Azurite whose connection string is in `tmp`."""
    connection_string = (tmp / AZURITE_FILE).read_text()
    return AzureStorageQueueAdapter.from_connection_string(connection_string, retry_total=1)


ADAPTERS: dict[str, Factory] = {
    "sqlite": lambda tmp, clock: SQLiteQueueAdapter(
        tmp / "queues.db", clock=clock if clock is not None else time.time
    ),
    "azure": _azure,
}
FAKE_CLOCK: set[str] = {"sqlite"}
"""Adapters whose factory honours the fake clock."""
MARKS: dict[str, list[pytest.MarkDecorator]] = {"azure": [pytest.mark.services]}
"""Marks per adapter."""


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, [])) for name in ADAPTERS])
def adapter_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def queues(
    adapter_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[QueueService, AdvanceTime]]:
    """A queue service and a function that moves its time forward."""
    if adapter_name == "azure":  # skips (or fails under CI=true) without Azurite
        azurite = request.getfixturevalue("azurite")
        (tmp_path / AZURITE_FILE).write_text(azurite.connection_string)
    clock = FakeClock() if adapter_name in FAKE_CLOCK else None
    service = ADAPTERS[adapter_name](tmp_path, clock)
    yield service, (clock.advance if clock is not None else time.sleep)
    close = getattr(service, "close", None)
    if close is not None:
        close()


@pytest.fixture
def qs(queues: tuple[QueueService, AdvanceTime]) -> QueueService:
    return queues[0]


@pytest.fixture
def advance(queues: tuple[QueueService, AdvanceTime]) -> AdvanceTime:
    return queues[1]


@pytest.fixture
def name() -> str:
    """A queue name no other test uses (its poison name is valid too)."""
    return f"t{uuid.uuid4().hex[:20]}"


def bodies(messages: list[Message]) -> list[str]:
    return [m.body for m in messages]


def receive_one(qs: QueueService, name: str, visibility_timeout: float = 2) -> Message:
    got = qs.receive(name, visibility_timeout=visibility_timeout)
    assert len(got) == 1, got
    return got[0]


# -- send and receive ------------------------------------------------------------------------


def test_receive_returns_the_oldest_messages_first(qs: QueueService, name: str) -> None:
    ids = [qs.send(name, f"m{i}") for i in range(5)]
    assert len(set(ids)) == 5
    first = qs.receive(name, max_messages=3)
    assert bodies(first) == ["m0", "m1", "m2"]
    assert [m.id for m in first] == ids[:3]
    assert bodies(qs.receive(name, max_messages=10)) == ["m3", "m4"]
    assert qs.receive(name) == []


def test_a_delivered_message_carries_its_metadata(qs: QueueService, name: str) -> None:
    body = "ünïcode ✓ " + "x" * 100
    message_id = qs.send(name, body)
    (m,) = qs.receive(name, visibility_timeout=60)
    assert (m.id, m.body, m.dequeue_count) == (message_id, body, 1)
    assert m.receipt
    assert m.enqueued_at.tzinfo is not None
    assert m.visible_at > m.enqueued_at


def test_receive_from_an_empty_or_unknown_queue_is_empty(qs: QueueService, name: str) -> None:
    assert qs.receive(name, max_messages=5) == []
    assert qs.depth(name) == 0
    assert qs.peek(name) == []


def test_queues_are_independent(qs: QueueService, name: str) -> None:
    other = name + "-b"
    qs.send(name, "a")
    qs.send(other, "b")
    assert bodies(qs.receive(other)) == ["b"]
    assert bodies(qs.receive(name)) == ["a"]
    assert qs.receive(other) == []


def test_send_with_a_delay_is_invisible_until_it_passes(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "later", delay_seconds=2)
    qs.send(name, "now")
    assert bodies(qs.receive(name, max_messages=5)) == ["now"]
    assert qs.depth(name) == 2
    advance(2.5)
    assert bodies(qs.receive(name)) == ["later"]


# -- visibility timeout ------------------------------------------------------------------------


def test_a_received_message_is_invisible_until_its_timeout_then_comes_back(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "job")
    first = receive_one(qs, name, visibility_timeout=3)
    assert first.dequeue_count == 1
    advance(1.5)
    assert qs.receive(name) == []
    assert qs.depth(name) == 1  # still there, only invisible
    advance(2)
    again = receive_one(qs, name)
    assert (again.id, again.body, again.dequeue_count) == (first.id, "job", 2)
    assert again.receipt != first.receipt


def test_every_delivery_increments_the_dequeue_count(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "job")
    counts = []
    for _ in range(3):
        counts.append(receive_one(qs, name, visibility_timeout=1).dequeue_count)
        advance(1.5)
    assert counts == [1, 2, 3]


def test_a_redelivered_message_keeps_its_place_or_goes_behind_as_the_adapter_says(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "first")
    receive_one(qs, name, visibility_timeout=1)
    qs.send(name, "second")  # visible before "first" is again
    advance(1.5)
    expected = ["first", "second"] if qs.keeps_redelivery_order else ["second", "first"]
    assert bodies(qs.receive(name, max_messages=2)) == expected


# -- delete, extend, release -----------------------------------------------------------------


def test_delete_with_the_current_receipt_removes_the_message(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "job")
    m = receive_one(qs, name, visibility_timeout=1)
    qs.delete(name, m.receipt)
    assert qs.depth(name) == 0
    advance(1.5)
    assert qs.receive(name) == []


def test_delete_with_a_stale_receipt_raises_receipt_expired(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "job")
    old = receive_one(qs, name, visibility_timeout=1)
    advance(1.5)
    new = receive_one(qs, name)  # delivered again: the first receipt is stale
    with pytest.raises(ReceiptExpired):
        qs.delete(name, old.receipt)
    assert qs.depth(name) == 1
    qs.delete(name, new.receipt)
    with pytest.raises(ReceiptExpired):  # already deleted
        qs.delete(name, new.receipt)
    assert qs.depth(name) == 0


def test_receipt_expired_is_a_terminal_queue_error() -> None:
    assert issubclass(ReceiptExpired, QueueError)
    assert issubclass(ReceiptExpired, TerminalError)


def test_a_receipt_is_only_valid_in_its_own_queue(qs: QueueService, name: str) -> None:
    qs.send(name, "job")
    m = receive_one(qs, name)
    with pytest.raises(ReceiptExpired):
        qs.delete(name + "-b", m.receipt)
    with pytest.raises(ReceiptExpired):
        qs.delete(name, "not-a-receipt")
    qs.delete(name, m.receipt)


def test_extend_returns_a_new_receipt_and_retires_the_old_one(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    qs.send(name, "job")
    m = receive_one(qs, name, visibility_timeout=2)
    advance(1)
    receipt = qs.extend(name, m.receipt, 3)  # invisible until 1 + 3 = 4 s from the start
    assert receipt and receipt != m.receipt
    advance(2)  # past the first timeout, still within the extension
    assert qs.receive(name) == []
    with pytest.raises(ReceiptExpired):
        qs.extend(name, m.receipt, 3)
    with pytest.raises(ReceiptExpired):
        qs.delete(name, m.receipt)
    receipt2 = qs.extend(name, receipt, 1)
    assert receipt2 not in (receipt, m.receipt)
    advance(1.5)
    again = receive_one(qs, name)
    assert again.dequeue_count == 2  # extending is not a delivery
    with pytest.raises(ReceiptExpired):
        qs.extend(name, receipt2, 3)
    qs.delete(name, again.receipt)


def test_release_makes_the_message_visible_at_once(qs: QueueService, name: str) -> None:
    qs.send(name, "job")
    m = receive_one(qs, name, visibility_timeout=300)
    qs.release(name, m.receipt)
    again = receive_one(qs, name)
    assert (again.id, again.dequeue_count) == (m.id, 2)
    with pytest.raises(ReceiptExpired):
        qs.delete(name, m.receipt)
    with pytest.raises(ReceiptExpired):
        qs.release(name, m.receipt)


# -- poison ----------------------------------------------------------------------------------


def test_a_message_delivered_max_dequeue_times_moves_to_the_poison_queue(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    assert qs.max_dequeue == 5
    body = "poisoned ✗ " * 10
    qs.send(name, body)
    for attempt in range(1, 6):
        (m,) = qs.receive(name, visibility_timeout=1)
        assert (m.body, m.dequeue_count) == (body, attempt)
        advance(1.5)
    qs.send(name, "healthy")
    # The 6th receive moves the message instead of returning it, and hands on the other.
    assert bodies(qs.receive(name, max_messages=2)) == ["healthy"]
    assert qs.depth(name) == 1
    poison = poison_name(name)
    assert qs.depth(poison) == 1
    (dead,) = qs.receive(poison)
    assert dead.body == body
    with pytest.raises(ReceiptExpired):  # the last receipt of the original queue
        qs.delete(name, m.receipt)


def test_poison_moves_do_not_use_up_the_batch(
    qs: QueueService, advance: AdvanceTime, name: str
) -> None:
    for i in range(3):
        qs.send(name, f"bad{i}")
    for _ in range(5):
        assert len(qs.receive(name, max_messages=3, visibility_timeout=1)) == 3
        advance(1.5)
    for i in range(3):
        qs.send(name, f"good{i}")
    assert bodies(qs.receive(name, max_messages=2)) == ["good0", "good1"]
    assert bodies(qs.peek(poison_name(name))) == ["bad0", "bad1", "bad2"]


# -- depth, peek, purge ------------------------------------------------------------------------


def test_depth_counts_visible_and_invisible_messages(qs: QueueService, name: str) -> None:
    for i in range(4):
        qs.send(name, str(i))
    qs.receive(name, max_messages=2)
    assert qs.depth(name) == 4


def test_peek_shows_visible_messages_oldest_first_without_receiving(
    qs: QueueService, name: str
) -> None:
    for i in range(4):
        qs.send(name, f"m{i}")
    qs.receive(name)  # m0 is now invisible
    peeked = qs.peek(name)
    assert bodies(peeked) == ["m1", "m2", "m3"]
    assert all(m.receipt == "" for m in peeked)
    assert [m.dequeue_count for m in peeked] == [0, 0, 0]
    assert bodies(qs.peek(name, max_messages=2)) == ["m1", "m2"]
    # Peeking changed nothing.
    assert bodies(qs.receive(name, max_messages=3)) == ["m1", "m2", "m3"]
    assert all(m.dequeue_count == 1 for m in qs.peek(name) + qs.receive(name))


def test_purge_deletes_everything_and_says_how_many(qs: QueueService, name: str) -> None:
    other = name + "-b"
    for i in range(3):
        qs.send(name, str(i))
    qs.send(other, "kept")
    m = receive_one(qs, name)
    assert qs.purge(name) == 3
    assert qs.depth(name) == 0
    assert qs.receive(name) == []
    assert qs.depth(other) == 1
    with pytest.raises(ReceiptExpired):
        qs.delete(name, m.receipt)
    assert qs.purge(name) == 0


# -- limits and validation -------------------------------------------------------------------


def test_a_message_at_the_size_limit_is_accepted_one_byte_more_is_not(
    qs: QueueService, name: str
) -> None:
    limit = qs.max_message_bytes
    qs.send(name, "x" * limit)
    (m,) = qs.receive(name)
    assert m.body == "x" * limit
    qs.delete(name, m.receipt)
    with pytest.raises(QueueError, match="limit"):
        qs.send(name, "x" * (limit + 1))
    with pytest.raises(QueueError):  # counted in UTF-8 bytes, not characters
        qs.send(name, "é" * (limit // 2 + 1))
    assert qs.depth(name) == 0


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ab",
        "a" * 64,
        "a" * 57,  # its poison queue's name would be over 63
        "Upper",
        "under_score",
        "sp ace",
        "-lead",
        "trail-",
        "dou--ble",
        "dot.ted",
        "slash/es",
        "ünï",
    ],
)
def test_invalid_queue_names_are_refused(qs: QueueService, bad: str) -> None:
    with pytest.raises(QueueError, match="queue name"):
        qs.send(bad, "x")
    with pytest.raises(QueueError, match="queue name"):
        qs.receive(bad)
    with pytest.raises(QueueError, match="queue name"):
        qs.depth(bad)


@pytest.mark.parametrize(
    "good", ["abc", "a" * 56, "a" * 56 + "-poison", "small-queue", "q1-2-3", "123"]
)
def test_valid_queue_names_are_accepted(qs: QueueService, good: str) -> None:
    qs.purge(good)  # a shared service may hold messages from an earlier run
    qs.send(good, "x")
    assert qs.depth(good) == 1
    qs.purge(good)


def test_nonsense_arguments_are_queue_errors(qs: QueueService, name: str) -> None:
    with pytest.raises(QueueError):
        qs.send(name, "x", delay_seconds=-1)
    with pytest.raises(QueueError):
        qs.receive(name, max_messages=0)
    with pytest.raises(QueueError):
        qs.receive(name, max_messages=33)
    with pytest.raises(QueueError):
        qs.receive(name, visibility_timeout=-1)


# -- several processes -----------------------------------------------------------------------

N_MESSAGES = 200
N_WORKERS = 4


def _drain(
    adapter_name: str,
    tmp: Path,
    queue: str,
    start: Any,  # a multiprocessing Barrier
    results: Any,  # a multiprocessing Queue
    batch: int,
) -> None:
    """Worker process: receive and delete until the queue is empty; report what it got.

    Reports ``(bodies, None)``, or ``(bodies so far, error)`` when a call failed.
    """
    got: list[str] = []
    try:
        qs = ADAPTERS[adapter_name](tmp, None)
        start.wait(timeout=30)
        while messages := qs.receive(queue, max_messages=batch, visibility_timeout=120):
            for m in messages:
                got.append(m.body)
                time.sleep(0.002)  # "work", so that every process gets a share
                qs.delete(queue, m.receipt)  # a message claimed twice would fail here
    except Exception as exc:
        results.put((got, f"{type(exc).__name__}: {exc}"))
        raise
    results.put((got, None))


def test_competing_processes_process_each_message_exactly_once(
    adapter_name: str, qs: QueueService, tmp_path: Path, name: str
) -> None:
    expected = [f"m{i:03d}" for i in range(N_MESSAGES)]
    for body in expected:
        qs.send(name, body)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(N_WORKERS)  # all start receiving together, to compete
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_drain, args=(adapter_name, tmp_path, name, start, results, 1 + i % 3))
        for i in range(N_WORKERS)
    ]
    for w in workers:
        w.start()
    try:
        reports: list[tuple[list[str], str | None]] = [results.get(timeout=60) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
    assert [error for _, error in reports if error] == []
    assert [w.exitcode for w in workers] == [0] * N_WORKERS
    got = [part for part, _ in reports]
    delivered = [body for part in got for body in part]
    assert sorted(delivered) == expected  # every message once: none lost, none twice
    assert qs.depth(name) == 0
    assert sum(1 for part in got if part) >= 2  # the processes did compete
    for part in got:  # each receiver saw its share in queue order
        assert part == sorted(part)


# -- SQLite adapter specifics --------------------------------------------------------------------


def test_sqlite_poison_moves_record_where_the_message_came_from(tmp_path: Path) -> None:
    clock = FakeClock()
    qs = SQLiteQueueAdapter(tmp_path / "q.db", max_dequeue=2, clock=clock)
    message_id = qs.send("jobs", "body")
    for _ in range(2):
        qs.receive("jobs", visibility_timeout=1)
        clock.advance(2)
    assert qs.receive("jobs") == []
    assert qs.depth("jobs-poison") == 1
    qs.close()
    with sqlite3.connect(tmp_path / "q.db") as db:
        row = db.execute(
            "SELECT id, queue, body, origin_queue, origin_dequeue_count FROM messages"
        ).fetchone()
    assert row == (message_id, "jobs-poison", "body", "jobs", 2)


def test_sqlite_a_file_locked_too_long_is_a_transient_queue_error(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    qs = SQLiteQueueAdapter(path, busy_timeout=0.1)
    qs.send("jobs", "x")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(QueueError, match="locked") as info:
            qs.receive("jobs")
        assert isinstance(info.value, TransientError)
        assert qs.depth("jobs") == 1  # readers are not blocked in WAL mode
    finally:
        blocker.rollback()
        blocker.close()
    assert len(qs.receive("jobs")) == 1
    qs.close()


def test_sqlite_other_database_errors_are_queue_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(QueueError, match=str(path)):
        SQLiteQueueAdapter(path)


def test_sqlite_a_heartbeat_thread_can_extend_a_message(tmp_path: Path) -> None:
    import threading

    qs = SQLiteQueueAdapter(tmp_path / "q.db")
    qs.send("jobs", "x")
    (m,) = qs.receive("jobs")
    receipts: list[str] = []
    beat = threading.Thread(target=lambda: receipts.append(qs.extend("jobs", m.receipt, 60)))
    beat.start()
    beat.join()
    qs.delete("jobs", receipts[0])
    assert qs.depth("jobs") == 0
    qs.close()


def test_sqlite_max_dequeue_is_configurable(tmp_path: Path) -> None:
    clock = FakeClock()
    qs = SQLiteQueueAdapter(tmp_path / "q.db", max_dequeue=1, clock=clock)
    qs.send("jobs", "x")
    assert len(qs.receive("jobs", visibility_timeout=1)) == 1
    clock.advance(2)
    assert qs.receive("jobs") == []
    assert qs.depth("jobs-poison") == 1
    with pytest.raises(QueueError):
        SQLiteQueueAdapter(tmp_path / "q.db", max_dequeue=0)
    qs.close()
