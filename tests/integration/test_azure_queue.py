"""AzureStorageQueueAdapter beyond the QueueService contract.

Most tests run on Azurite (the real Storage emulator). The transient-error tests use a
stand-in: a small HTTP server on 127.0.0.1 that receives the real SDK's requests, checks
them (path, api-version, date and authorization headers) and answers as an overloaded
service does, since Azurite cannot be made to throttle.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

import pytest
from azure.storage.queue import (
    AccountSasPermissions,
    QueueServiceClient,
    ResourceTypes,
    generate_account_sas,
)

from udo.adapters.azure.queue import (
    MAX_SECONDS,
    AzureStorageQueueAdapter,
    QueueAccessDenied,
    QueueUnavailable,
    UnsupportedMessageText,
    _seconds,
)
from udo.config import Settings
from udo.errors import TerminalError, TransientError
from udo.ports.queue import InvalidQueueName, QueueError, ReceiptExpired, poison_name

if TYPE_CHECKING:
    from tests.conftest import Azurite

pytestmark = pytest.mark.services


@pytest.fixture
def name() -> str:
    return f"t{uuid.uuid4().hex[:20]}"


@pytest.fixture
def qs(azurite: Azurite) -> Iterator[AzureStorageQueueAdapter]:
    adapter = AzureStorageQueueAdapter.from_connection_string(
        azurite.connection_string, retry_total=0
    )
    yield adapter
    adapter.close()


def _sdk(azurite: Azurite) -> QueueServiceClient:
    """A plain SDK client, to look at the account behind the adapter's back."""
    return QueueServiceClient.from_connection_string(azurite.connection_string)


def _queue_exists(azurite: Azurite, queue: str) -> bool:
    with _sdk(azurite) as service:
        return any(q.name == queue for q in service.list_queues(name_starts_with=queue))


def _full_text(exc: BaseException) -> str:
    """The error as a log would show it: message, chained causes and traceback."""
    return "".join(traceback.format_exception(exc))


# -- encoding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "",
        " ",
        "\n",
        "  padded \n",
        "tab\there",
        "crlf\r\nline\rcr",
        "<QueueMessage><MessageText>&amp;</MessageText></QueueMessage>",
        "]]> \"quotes\" 'apos'",
        "ünïcode ✓ 😀 \x7f \x85 \ufffd",
        '{"batch_id": "b1", "records": 42, "note": "a\\u0001b"}',
    ],
)
def test_bodies_round_trip_exactly(qs: AzureStorageQueueAdapter, name: str, body: str) -> None:
    message_id = qs.send(name, body)
    (peeked,) = qs.peek(name)
    (got,) = qs.receive(name)
    assert (peeked.body, got.body, got.id) == (body, body, message_id)


def test_bodies_are_plain_text_on_the_queue(
    qs: AzureStorageQueueAdapter, azurite: Azurite, name: str
) -> None:
    """No Base64: other readers (Storage Explorer, a Functions trigger) see the text."""
    qs.send(name, '{"a": "<b>"}')
    with _sdk(azurite) as service:
        (raw,) = service.get_queue_client(name).peek_messages()
    assert raw.content == '{"a": "<b>"}'


def test_the_limit_counts_the_text_not_its_xml_escaping(
    qs: AzureStorageQueueAdapter, name: str
) -> None:
    body = "<&>" * (qs.max_message_bytes // 3)  # escapes to about 4x the bytes on the wire
    qs.send(name, body)
    assert qs.receive(name)[0].body == body


@pytest.mark.parametrize("body", ["nul\x00", "bell\x07", "esc\x1b[0m", "\ufffe", "\uffff"])
def test_bodies_xml_cannot_carry_are_refused_before_sending(
    qs: AzureStorageQueueAdapter, name: str, body: str
) -> None:
    with pytest.raises(UnsupportedMessageText, match=r"U\+") as info:
        qs.send(name, body)
    assert isinstance(info.value, TerminalError)
    assert not isinstance(info.value, TransientError)
    assert qs.depth(name) == 0


def test_text_that_is_not_utf8_is_a_queue_error(qs: AzureStorageQueueAdapter, name: str) -> None:
    with pytest.raises(QueueError, match="UTF-8"):
        qs.send(name, "lone \ud800 surrogate")


# -- whole seconds -------------------------------------------------------------------------


def test_seconds_round_up_and_stay_within_the_service_limits() -> None:
    assert _seconds("t", 0, minimum=0) == 0
    assert _seconds("t", 0.001, minimum=0) == 1
    assert _seconds("t", 0.2, minimum=1) == 1
    assert _seconds("t", 1.0, minimum=1) == 1
    assert _seconds("t", 1.01, minimum=1) == 2
    assert _seconds("t", MAX_SECONDS, minimum=1) == MAX_SECONDS
    for bad, minimum in [(0, 1), (-0.5, 0), (MAX_SECONDS + 0.5, 0), (float("nan"), 0)]:
        with pytest.raises(QueueError):
            _seconds("t", bad, minimum=minimum)


def _came_back_in_order(
    qs: AzureStorageQueueAdapter, first: tuple[str, str], then: tuple[str, str]
) -> bool:
    """Poll until both messages (id, queue) are delivered again; whether `first` came back
    no later than `then`.

    Each delivery hides the message for a minute, so a poll sees what became visible since
    the previous one. Each poll reads `then`'s queue before `first`'s: if `first` became
    visible no later than `then`, a poll that finds `then` finds `first` too, however slow
    the machine. The deadline only stops a test whose messages never come back.
    """
    seen: dict[str, int] = {}
    deadline = time.monotonic() + 60
    poll = 0
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"only {sorted(seen)} came back"
        for _, queue in dict.fromkeys([then, first]):
            for message in qs.receive(queue, max_messages=32, visibility_timeout=60):
                seen.setdefault(message.id, poll)
        poll += 1
        time.sleep(0.05)
    assert set(seen) == {first[0], then[0]}
    return seen[first[0]] <= seen[then[0]]


def test_a_fractional_visibility_timeout_is_rounded_up_never_down(
    qs: AzureStorageQueueAdapter, name: str
) -> None:
    """`exact` is hidden for 2 s, then `fractional` for 1.2 s (2 s on the service; 1 s if it
    were rounded down). Hidden after `exact`, `fractional` cannot come back before it
    unless it was hidden for less: a slow machine only delays both. Each is alone in its
    queue, so no stall can make a receive take the other one."""
    other = f"{name}-f"
    exact_id = qs.send(name, "exact")
    fractional_id = qs.send(other, "fractional")
    (exact,) = qs.receive(name, visibility_timeout=2)
    (fractional,) = qs.receive(other, visibility_timeout=1.2)
    assert (exact.id, fractional.id) == (exact_id, fractional_id)

    assert _came_back_in_order(qs, first=(exact_id, name), then=(fractional_id, other))
    assert fractional.visible_at >= exact.visible_at  # the service's own times agree


def test_a_fractional_delay_is_rounded_up(qs: AzureStorageQueueAdapter, name: str) -> None:
    """`exact` is sent with a 1 s delay, then `fractional` with 0.3 s (1 s on the service;
    none if it were rounded down). Sent after `exact`, `fractional` cannot be delivered
    before it unless its delay was shorter: a slow machine only delays both."""
    exact_id = qs.send(name, "exact", delay_seconds=1)
    fractional_id = qs.send(name, "fractional", delay_seconds=0.3)
    assert qs.depth(name) == 2  # delayed messages are in the queue, only not visible yet

    assert _came_back_in_order(qs, first=(exact_id, name), then=(fractional_id, name))


def test_extend_by_zero_makes_the_message_visible_now(
    qs: AzureStorageQueueAdapter, name: str
) -> None:
    qs.send(name, "job")
    (m,) = qs.receive(name, visibility_timeout=300)
    receipt = qs.extend(name, m.receipt, 0)
    (again,) = qs.receive(name)
    assert again.id == m.id
    with pytest.raises(ReceiptExpired):
        qs.delete(name, receipt)


def test_arguments_out_of_the_service_range_are_queue_errors(
    qs: AzureStorageQueueAdapter, name: str
) -> None:
    with pytest.raises(QueueError):
        qs.send(name, "x", delay_seconds=MAX_SECONDS + 1)
    with pytest.raises(QueueError):
        qs.receive(name, visibility_timeout=0)
    with pytest.raises(QueueError):
        qs.receive(name, visibility_timeout=float("inf"))
    with pytest.raises(QueueError):
        qs.peek(name, max_messages=33)
    with pytest.raises(QueueError):
        AzureStorageQueueAdapter("http://127.0.0.1:1/x", None, max_dequeue=0)
    with pytest.raises(QueueError, match="endpoint"):
        AzureStorageQueueAdapter("127.0.0.1:1", None)


# -- receipts --------------------------------------------------------------------------------


@pytest.mark.parametrize("receipt", ["", "=", "not base64 at all!", "YQ", "YQpiCmM"])
def test_malformed_receipts_are_expired(
    qs: AzureStorageQueueAdapter, name: str, receipt: str
) -> None:
    qs.send(name, "job")
    with pytest.raises(ReceiptExpired):
        qs.delete(name, receipt)
    with pytest.raises(ReceiptExpired):
        qs.extend(name, receipt, 5)
    with pytest.raises(ReceiptExpired):
        qs.release(name, receipt)
    assert qs.depth(name) == 1


# -- queues created on first use -------------------------------------------------------------


def test_only_send_creates_a_queue(
    qs: AzureStorageQueueAdapter, azurite: Azurite, name: str
) -> None:
    assert qs.receive(name, max_messages=32) == []
    assert qs.peek(name) == []
    assert qs.depth(name) == 0
    assert qs.purge(name) == 0
    assert not _queue_exists(azurite, name)
    qs.send(name, "first")
    assert _queue_exists(azurite, name)
    assert qs.depth(name) == 1


def test_messages_never_expire(qs: AzureStorageQueueAdapter, azurite: Azurite, name: str) -> None:
    """Azure's default time-to-live would drop a waiting message after 7 days."""
    qs.send(name, "job")
    with _sdk(azurite) as service:
        (raw,) = service.get_queue_client(name).peek_messages()
    assert raw.expires_on is not None
    assert raw.expires_on > datetime.now(UTC) + timedelta(days=365)


# -- poison ----------------------------------------------------------------------------------


def test_a_message_past_max_dequeue_goes_to_the_poison_queue_and_is_not_returned(
    qs: AzureStorageQueueAdapter, name: str
) -> None:
    """The contract's poison test without its order assumption (see KNOWN_DEVIATIONS).

    Releasing instead of waiting out the timeouts: a release is not a delivery either.
    """
    assert qs.max_dequeue == 5
    body = "poisoned ✗ " * 10
    qs.send(name, body)
    for attempt in range(1, 6):
        (m,) = qs.receive(name, visibility_timeout=300)
        assert (m.body, m.dequeue_count) == (body, attempt)
        if attempt < 5:
            qs.release(name, m.receipt)
    last = qs.extend(name, m.receipt, 0)  # visible again, with a receipt still current
    qs.send(name, "healthy")  # visible after the poisoned one: Azure hands that out first
    # The 6th delivery moves the message instead of returning it, and fills the batch on.
    assert [m.body for m in qs.receive(name, max_messages=1)] == ["healthy"]
    assert qs.depth(name) == 1
    poison = poison_name(name)
    assert qs.depth(poison) == 1
    (dead,) = qs.receive(poison)
    assert (dead.body, dead.dequeue_count) == (body, 1)
    with pytest.raises(ReceiptExpired):  # the last receipt of the original queue
        qs.delete(name, last)


def test_max_dequeue_comes_from_the_settings(azurite: Azurite, name: str) -> None:
    settings = Settings.model_validate(
        {
            "cloud": "azure",
            "queue": {"max_dequeue": 1},
            "azure": {"storage": {"connection_string": azurite.connection_string}},
        }
    )
    qs = AzureStorageQueueAdapter.from_settings(settings)
    try:
        assert qs.max_dequeue == 1
        assert qs.endpoint == azurite.queue_endpoint
        qs.send(name, "x")
        (m,) = qs.receive(name)
        qs.release(name, m.receipt)
        assert qs.receive(name) == []
        assert qs.depth(name) == 0
        assert [m.body for m in qs.peek(poison_name(name))] == ["x"]
    finally:
        qs.close()


def test_a_queue_whose_poison_name_would_be_too_long_is_refused_up_front(
    azurite: Azurite,
) -> None:
    queue = f"t{uuid.uuid4().hex}" + "x" * 30  # 63 characters: "-poison" would not fit
    qs = AzureStorageQueueAdapter.from_connection_string(azurite.connection_string)
    try:
        with pytest.raises(InvalidQueueName, match="3-56"):
            qs.send(queue, "x")
    finally:
        qs.close()


# -- secrets ---------------------------------------------------------------------------------


def test_repr_and_str_hold_no_key(qs: AzureStorageQueueAdapter, azurite: Azurite) -> None:
    for text in (repr(qs), str(qs)):
        assert azurite.key not in text
        assert azurite.queue_endpoint in text


def test_a_wrong_key_is_access_denied_without_either_key(azurite: Azurite, name: str) -> None:
    wrong = "d3Jvbmcta2V5LW5vdC1mb3ItbG9ncy13cm9uZy1rZXktbm90LWZvci1sb2dz"
    connection_string = azurite.connection_string.replace(azurite.key, wrong)
    qs = AzureStorageQueueAdapter.from_connection_string(connection_string, retry_total=0)
    try:
        with pytest.raises(QueueAccessDenied, match="403") as info:
            qs.send(name, "x")
    finally:
        qs.close()
    assert isinstance(info.value, TerminalError)
    text = _full_text(info.value)
    assert wrong not in text
    assert azurite.key not in text


def _account_sas(azurite: Azurite) -> str:
    return generate_account_sas(
        azurite.account,
        azurite.key,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, create=True, update=True,
            process=True,
        ),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip


def _sig(sas: str) -> str:
    return next(part for part in sas.split("&") if part.startswith("sig=")).removeprefix("sig=")


def test_a_sas_connection_string_works_and_stays_out_of_reprs(azurite: Azurite, name: str) -> None:
    sas = _account_sas(azurite)
    qs = AzureStorageQueueAdapter.from_connection_string(
        f"AccountName={azurite.account};QueueEndpoint={azurite.queue_endpoint};"
        f"SharedAccessSignature={sas}",
        retry_total=0,
    )
    try:
        qs.send(name, "via sas")
        (m,) = qs.receive(name)
        qs.delete(name, m.receipt)
        assert _sig(sas) not in repr(qs)
    finally:
        qs.close()


def test_an_unreachable_endpoint_is_transient_and_hides_the_sas(
    azurite: Azurite, name: str
) -> None:
    sas = _account_sas(azurite)
    with socket.socket() as probe:  # a free port, closed again: nobody listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/{azurite.account}"
    qs = AzureStorageQueueAdapter(endpoint, sas, retry_total=0, connection_timeout=2)
    try:
        with pytest.raises(QueueUnavailable, match="try again") as info:
            qs.send(name, "x")
    finally:
        qs.close()
    assert isinstance(info.value, TransientError)
    text = _full_text(info.value)
    assert _sig(sas) not in text
    assert azurite.key not in text


# -- a stand-in for an overloaded service ----------------------------------------------------


class _Overloaded(http.server.BaseHTTPRequestHandler):
    """Checks each request is a well-formed signed Queue request, then answers with an error.

    `status` and `code` are the answer; `seen` collects (method, path, problems).
    """

    status: ClassVar[int] = 503
    code: ClassVar[str] = "ServerBusy"
    seen: ClassVar[list[tuple[str, str, list[str]]]] = []

    def _answer(self) -> None:
        problems = []
        if not self.headers.get("x-ms-version", "").startswith("20"):
            problems.append("no x-ms-version")
        if not self.headers.get("x-ms-date"):
            problems.append("no x-ms-date")
        if not self.headers.get("Authorization", "").startswith("SharedKey devstoreaccount1:"):
            problems.append("not signed with the account key")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen.append((self.command, self.path, problems))
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{self.code}</Code>'
            "<Message>The server is busy.</Message></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("x-ms-error-code", self.code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def overloaded() -> Iterator[str]:
    """The queue endpoint of a stand-in answering every request with 503 ServerBusy."""
    _Overloaded.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/devstoreaccount1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(("status", "code"), [(503, "ServerBusy"), (500, "OperationTimedOut")])
def test_throttling_and_server_errors_are_transient(
    overloaded: str, azurite: Azurite, status: int, code: str
) -> None:
    """Stand-in: Azurite cannot be made to throttle, so a local server answers instead."""
    _Overloaded.status, _Overloaded.code = status, code
    credential = {"account_name": azurite.account, "account_key": azurite.key}
    qs = AzureStorageQueueAdapter(overloaded, credential, retry_total=0)
    try:
        calls = [
            lambda: qs.send("jobs", "x"),
            lambda: qs.receive("jobs"),
            lambda: qs.depth("jobs"),
            lambda: qs.peek("jobs"),
        ]
        for call in calls:
            with pytest.raises(QueueUnavailable, match=f"{status} {code}") as info:
                call()
            assert isinstance(info.value, TransientError)
            assert azurite.key not in _full_text(info.value)
    finally:
        qs.close()
    paths = [(method, path.split("?")[0]) for method, path, _ in _Overloaded.seen]
    assert paths == [
        ("POST", "/devstoreaccount1/jobs/messages"),
        ("GET", "/devstoreaccount1/jobs/messages"),
        ("GET", "/devstoreaccount1/jobs"),
        ("GET", "/devstoreaccount1/jobs/messages"),
    ]
    assert [problems for _, _, problems in _Overloaded.seen] == [[]] * 4
    queries = [path.split("?", 1)[1] for _, path, _ in _Overloaded.seen]
    assert "messagettl=-1" in queries[0]
    assert "visibilitytimeout=300" in queries[1] and "numofmessages=1" in queries[1]
    assert "comp=metadata" in queries[2]
    assert "peekonly=true" in queries[3]
