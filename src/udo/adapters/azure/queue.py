"""AzureStorageQueueAdapter: small-queue and large-queue on Azure Storage Queue.

How the port's contract maps onto the service:

- **Encoding.** Bodies travel as plain UTF-8 text inside the XML request (XML-escaped by
  the SDK, no Base64), so the port's limit holds exactly: Azure counts the 64 KiB on the
  message text, and a body of up to `max_message_bytes` UTF-8 bytes fits. Base64 would
  have cut that to 48 KiB. The price: XML 1.0 cannot carry control characters other than
  tab, newline and carriage return (nor U+FFFE/U+FFFF), so such bodies are refused with
  `UnsupportedMessageText` before anything is sent (JSON, which udo sends, escapes them).
  Other consumers (Storage Explorer, an Azure Functions queue trigger with
  ``"messageEncoding": "none"``) read the bodies as they were sent.
- **Timeouts.** Azure takes whole seconds: visibility timeouts and delays are rounded up,
  never shorter than asked (at least 1 s for `receive`, as the service requires).
- **Receipts** are opaque strings holding the queue name, the message id and the pop
  receipt. Azure issues a new pop receipt on every delivery and update, so a stale receipt
  is refused by the service (``PopReceiptMismatch`` / ``MessageNotFound``) and raised as
  `ReceiptExpired`.
- **Poison.** Azure counts deliveries itself (``DequeueCount``). A message received for the
  ``max_dequeue + 1``-th time is copied to ``<queue>-poison`` (body only, as the Azure
  Functions runtime does; it gets a new id there) and then deleted from `queue`; it is not
  returned, and the receive goes on to fill the batch. If the process dies between the two
  steps the message comes back and is moved again: a duplicate in the poison queue, never
  a loss.
- **Times** come from the service in whole seconds: `enqueued_at` and a received message's
  `visible_at` may be up to a second earlier than the instants they stand for.
- **Messages never expire** (time-to-live -1; Azure's default would drop them after 7 days).
- **Queues are created on first send.** Receiving from, peeking at, counting or purging a
  queue that does not exist is an empty queue.
- **Order.** Azure hands out messages in the order they became visible, best effort (it
  is not a strict FIFO): a message sent earlier but redelivered, released or delayed
  queues up behind messages that were already visible, where the SQLite adapter keeps it
  in its first place. Azurite does the same (ordering by next-visible time).
- **depth** is Azure's ``ApproximateMessageCount``: visible and invisible messages, possibly
  a little behind recent sends and deletes on the real service. **purge** returns that count
  read just before clearing, so it is approximate too when others send meanwhile.

Errors: network failures, throttling and server errors are `QueueUnavailable` (transient);
refused credentials are `QueueAccessDenied`. No account key, SAS or token ever appears in a
repr or in an error: error messages are built from the status and error code, and a
transport error's own text is scrubbed of query strings and key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn
from urllib.parse import urlsplit

from udo.adapters.azure.credentials import storage_account
from udo.errors import TerminalError, TransientError
from udo.ports.queue import (
    Message,
    QueueError,
    QueueService,
    ReceiptExpired,
    check_message,
    check_queue_name,
    poison_name,
)

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueMessage, QueueServiceClient

    from udo.config import AzureStorageSettings, Settings

MAX_BATCH = 32
"""Most messages one Get Messages or Peek Messages call returns (the service's limit)."""
MAX_SECONDS = 7 * 24 * 3600
"""Longest visibility timeout or send delay the service accepts."""
NEVER_EXPIRE = -1
"""Time-to-live meaning "never expires" (API version 2017-07-29 and later)."""

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_STALE_CODES = frozenset({"PopReceiptMismatch", "MessageNotFound", "QueueNotFound"})
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SECRET_PARTS = re.compile(
    r"(?i)(sig|signature|accountkey|sharedaccesssignature|access_token|token)=[^&;\s'\"]*"
)
_QUERY = re.compile(r"\?[^\s'\"]*")


class QueueUnavailable(QueueError, TransientError):
    """Azure Storage Queue could not be reached, throttled us or failed; try again later."""


class QueueAccessDenied(QueueError, TerminalError):
    """The storage account refused the credentials (or they lack a queue data role)."""


class UnsupportedMessageText(QueueError, TerminalError):
    """A body holds characters that XML 1.0, hence Azure Storage Queue, cannot carry."""


def _code(exc: Exception) -> str:
    """The service's error code of an SDK exception ('' if it has none)."""
    code = getattr(exc, "error_code", None)
    if code is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        code = headers.get("x-ms-error-code") if headers is not None else None
    return str(getattr(code, "value", code) or "")


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _scrub(text: str) -> str:
    """`text` without query strings or anything shaped like a key, SAS or token."""
    return _QUERY.sub("?…", _SECRET_PARTS.sub(r"\1=…", text))


def _seconds(what: str, value: float, *, minimum: int) -> int:
    """`value` rounded up to whole seconds, checked against the service's limits."""
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise QueueError(f"{what} must be a number >= 0, got {value!r}")
    if minimum > 0 and value <= 0:
        raise QueueError(f"{what} must be > 0, got {value!r}")
    whole = max(minimum, math.ceil(value))
    if whole > MAX_SECONDS:
        raise QueueError(f"{what} must be at most {MAX_SECONDS} s, got {value!r}")
    return whole


def _check_batch(max_messages: int) -> None:
    if not isinstance(max_messages, int) or not 1 <= max_messages <= MAX_BATCH:
        raise QueueError(f"max_messages must be between 1 and {MAX_BATCH}, got {max_messages!r}")


def _encode_receipt(queue: str, message_id: str, pop_receipt: str) -> str:
    raw = f"{queue}\n{message_id}\n{pop_receipt}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_receipt(queue: str, receipt: str) -> tuple[str, str]:
    """(message id, pop receipt) of a receipt of `queue`; `ReceiptExpired` if it is not one."""
    try:
        padded = receipt + "=" * (-len(receipt) % 4)
        owner, message_id, pop_receipt = (
            base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8").split("\n")
        )
    except (ValueError, TypeError, UnicodeError, binascii.Error, AttributeError):
        raise _expired(queue, receipt) from None
    if owner != queue or not message_id or not pop_receipt:
        raise _expired(queue, receipt)
    return message_id, pop_receipt


def _expired(queue: str, receipt: object) -> ReceiptExpired:
    shown = receipt[:8] if isinstance(receipt, str) else type(receipt).__name__
    return ReceiptExpired(
        f"receipt {shown}… of queue {queue!r} is stale: the message was deleted, released "
        "or delivered again; receive it again before acting on it"
    )


def _when(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AzureStorageQueueAdapter(QueueService):
    """Queues of one Azure storage account (or Azurite), through azure-storage-queue.

    Build it with `from_settings` (udo's configuration), `from_connection_string`, or
    directly with the account's queue endpoint and a credential the SDK accepts (an
    account-key dict, a SAS string, a TokenCredential). `max_dequeue` is how many
    deliveries a message gets before the next receive moves it to ``<queue>-poison``.
    `retry_total` is how often the SDK retries a failed request before udo sees
    `QueueUnavailable`; the timeouts are the SDK's connect and read timeouts in seconds.
    """

    max_message_bytes: ClassVar[int] = 64 * 1024

    def __init__(
        self,
        queue_endpoint: str,
        credential: Any,
        *,
        max_dequeue: int = 5,
        retry_total: int = 3,
        connection_timeout: float = 20.0,
        read_timeout: float = 60.0,
    ) -> None:
        if not isinstance(max_dequeue, int) or max_dequeue < 1:
            raise QueueError(f"max_dequeue must be at least 1, got {max_dequeue!r}")
        if retry_total < 0:
            raise QueueError(f"retry_total must be >= 0, got {retry_total!r}")
        from azure.storage.queue import QueueServiceClient

        parts = urlsplit(queue_endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise QueueError(
                f"Azure queue endpoint must be an http(s) URL, got {_scrub(queue_endpoint)!r}"
            )
        self.max_dequeue = max_dequeue
        self.endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
        """The queue endpoint (without any query string), for messages and repr."""
        self._service: QueueServiceClient = QueueServiceClient(
            account_url=queue_endpoint,
            credential=credential,
            retry_total=retry_total,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
        )
        self._clients: dict[str, QueueClient] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AzureStorageQueueAdapter:
        """The adapter for ``settings.azure.storage`` and ``settings.queue.max_dequeue``."""
        account = storage_account(settings.azure.storage)
        return cls(
            account.queue_endpoint, account.credential, max_dequeue=settings.queue.max_dequeue
        )

    @classmethod
    def from_connection_string(
        cls, connection_string: str, *, max_dequeue: int = 5, retry_total: int = 3
    ) -> AzureStorageQueueAdapter:
        """The adapter for a storage account connection string (key or SAS)."""
        from pydantic import SecretStr

        from udo.config import AzureStorageSettings

        settings: AzureStorageSettings = AzureStorageSettings(
            connection_string=SecretStr(connection_string)
        )
        account = storage_account(settings)
        return cls(
            account.queue_endpoint,
            account.credential,
            max_dequeue=max_dequeue,
            retry_total=retry_total,
        )

    def __repr__(self) -> str:
        return (
            f"AzureStorageQueueAdapter(endpoint={self.endpoint!r}, max_dequeue={self.max_dequeue})"
        )

    __str__ = __repr__

    def close(self) -> None:
        """Close the HTTP connections; the adapter must not be used afterwards."""
        self._clients.clear()
        self._service.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _queue(self, queue: str) -> QueueClient:
        client = self._clients.get(queue)
        if client is None:
            client = self._service.get_queue_client(queue)
            self._clients[queue] = client
        return client

    def _fail(self, exc: Exception, queue: str, action: str) -> NoReturn:
        """Raise the udo error for an SDK exception met while doing `action` on `queue`."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = f"Azure Storage Queue {queue!r} at {self.endpoint}"
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            # The transport's text may hold the request URL, with a SAS in its query.
            detail = _scrub(str(exc).splitlines()[0] if str(exc) else "")
            raise QueueUnavailable(
                f"cannot {action} {where}: {type(exc).__name__}: {detail}; try again later"
            ) from None
        status = _status(exc)
        code = _code(exc)
        said = f"HTTP {status} {code}".strip() if status is not None else type(exc).__name__
        if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            raise QueueAccessDenied(
                f"cannot {action} {where}: {said}: the account refused the credentials; check "
                "UDO_AZURE__STORAGE__CONNECTION_STRING (key or SAS), or that the identity has "
                "the 'Storage Queue Data Contributor' role"
            ) from (exc if isinstance(exc, HttpResponseError) else None)
        if status in _TRANSIENT_STATUS or code in ("ServerBusy", "OperationTimedOut"):
            raise QueueUnavailable(f"cannot {action} {where}: {said}; try again later") from exc
        if isinstance(exc, HttpResponseError):
            raise QueueError(f"cannot {action} {where}: {said}") from exc
        raise QueueError(
            f"cannot {action} {where}: {type(exc).__name__}: {_scrub(str(exc))}"
        ) from None

    @contextlib.contextmanager
    def _translate(self, queue: str, action: str) -> Iterator[None]:
        """Turn any SDK exception raised inside into a udo `QueueError`."""
        from azure.core.exceptions import AzureError

        try:
            yield
        except AzureError as exc:
            self._fail(exc, queue, action)

    def _put(self, queue: str, body: str, visibility_timeout: int) -> str:
        """Put a message, creating the queue on first use; its id."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        client = self._queue(queue)
        with self._translate(queue, "send to"):
            try:
                sent = client.send_message(
                    body, visibility_timeout=visibility_timeout, time_to_live=NEVER_EXPIRE
                )
            except ResourceNotFoundError as exc:
                if _code(exc) != "QueueNotFound":
                    raise
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                sent = client.send_message(
                    body, visibility_timeout=visibility_timeout, time_to_live=NEVER_EXPIRE
                )
        return str(sent.id)

    def _stale_or_fail(self, exc: Exception, queue: str, receipt: str, action: str) -> NoReturn:
        """`ReceiptExpired` if the service refused the pop receipt, else the usual error."""
        if _code(exc) in _STALE_CODES:
            raise _expired(queue, receipt) from None
        self._fail(exc, queue, action)

    # -- the port -----------------------------------------------------------------------------

    def send(self, queue: str, body: str, *, delay_seconds: float = 0) -> str:
        check_queue_name(queue)
        delay = _seconds("delay_seconds", delay_seconds, minimum=0)
        check_message(queue, body, self.max_message_bytes)
        bad = _XML_ILLEGAL.search(body)
        if bad is not None:
            raise UnsupportedMessageText(
                f"message body has character U+{ord(bad.group()):04X} at offset {bad.start()}, "
                "which Azure Storage Queue cannot carry (XML 1.0 text); escape it, e.g. send "
                "JSON"
            )
        return self._put(queue, body, delay)

    def receive(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: float = 300
    ) -> list[Message]:
        check_queue_name(queue)
        _check_batch(max_messages)
        timeout = _seconds("visibility_timeout", visibility_timeout, minimum=1)
        delivered: list[Message] = []
        while len(delivered) < max_messages:
            page = self._get(queue, max_messages - len(delivered), timeout)
            poisoned = 0
            for item in page:
                if (item.dequeue_count or 0) > self.max_dequeue:
                    self._move_to_poison(queue, item)
                    poisoned += 1
                    continue
                delivered.append(
                    Message(
                        id=str(item.id),
                        body=str(item.content if item.content is not None else ""),
                        receipt=_encode_receipt(queue, str(item.id), str(item.pop_receipt)),
                        dequeue_count=int(item.dequeue_count or 0),
                        enqueued_at=_when(item.inserted_on),
                        visible_at=_when(item.next_visible_on),
                    )
                )
            if not poisoned:  # all claimed, or the queue has no more visible messages
                break
        return delivered

    def _get(self, queue: str, n: int, visibility_timeout: int) -> list[QueueMessage]:
        """One Get Messages call: up to `n` messages, now invisible; [] if no queue."""
        from azure.core.exceptions import ResourceNotFoundError

        client = self._queue(queue)
        with self._translate(queue, "receive from"):
            try:
                pages = client.receive_messages(
                    messages_per_page=n, max_messages=n, visibility_timeout=visibility_timeout
                ).by_page()
                return list(next(pages, []))
            except ResourceNotFoundError as exc:
                if _code(exc) == "QueueNotFound":
                    return []
                raise

    def _move_to_poison(self, queue: str, item: QueueMessage) -> None:
        """Copy a message over its delivery limit to the poison queue, then delete it here."""
        from azure.core.exceptions import AzureError, HttpResponseError

        poison = poison_name(queue)  # a valid name: check_queue_name keeps room for it
        body = str(item.content if item.content is not None else "")
        self._put(poison, body, 0)
        try:
            self._queue(queue).delete_message(str(item.id), str(item.pop_receipt))
        except HttpResponseError as exc:
            if _code(exc) in _STALE_CODES:
                return  # gone or redelivered meanwhile: its next receiver moves it again
            self._fail(exc, queue, "delete a poison message from")
        except AzureError as exc:
            self._fail(exc, queue, "delete a poison message from")

    def delete(self, queue: str, receipt: str) -> None:
        from azure.core.exceptions import AzureError, HttpResponseError

        check_queue_name(queue)
        message_id, pop_receipt = _decode_receipt(queue, receipt)
        try:
            self._queue(queue).delete_message(message_id, pop_receipt)
        except HttpResponseError as exc:
            self._stale_or_fail(exc, queue, receipt, "delete a message from")
        except AzureError as exc:
            self._fail(exc, queue, "delete a message from")

    def extend(self, queue: str, receipt: str, visibility_timeout: float) -> str:
        check_queue_name(queue)
        timeout = _seconds("visibility_timeout", visibility_timeout, minimum=0)
        return self._update(queue, receipt, timeout, "extend a message of")

    def release(self, queue: str, receipt: str) -> None:
        check_queue_name(queue)
        self._update(queue, receipt, 0, "release a message of")

    def _update(self, queue: str, receipt: str, visibility_timeout: int, action: str) -> str:
        """Set a delivered message's visibility timeout; the new receipt."""
        from azure.core.exceptions import AzureError, HttpResponseError

        message_id, pop_receipt = _decode_receipt(queue, receipt)
        try:
            updated = self._queue(queue).update_message(
                message_id, pop_receipt, visibility_timeout=visibility_timeout
            )
        except HttpResponseError as exc:
            self._stale_or_fail(exc, queue, receipt, action)
        except AzureError as exc:
            self._fail(exc, queue, action)
        return _encode_receipt(queue, message_id, str(updated.pop_receipt))

    def depth(self, queue: str) -> int:
        """Azure's approximate message count: visible and invisible messages.

        On the real service it may lag recent sends and deletes by a little; 0 for a queue
        that does not exist.
        """
        check_queue_name(queue)
        return self._count(queue)

    def _count(self, queue: str) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        with self._translate(queue, "count the messages of"):
            try:
                properties = self._queue(queue).get_queue_properties()
            except ResourceNotFoundError as exc:
                if _code(exc) == "QueueNotFound":
                    return 0
                raise
        return int(properties.approximate_message_count or 0)

    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        """The oldest visible messages, without receiving them (receipt empty).

        Invisible messages (being processed, or delayed) are left out. Azure does not say
        since when a peeked message has been visible: `visible_at` is the time of the peek.
        """
        check_queue_name(queue)
        _check_batch(max_messages)
        from azure.core.exceptions import ResourceNotFoundError

        with self._translate(queue, "peek at"):
            try:
                items = self._queue(queue).peek_messages(max_messages=max_messages)
            except ResourceNotFoundError as exc:
                if _code(exc) == "QueueNotFound":
                    return []
                raise
        now = datetime.now(UTC)
        return [
            Message(
                id=str(item.id),
                body=str(item.content if item.content is not None else ""),
                receipt="",
                dequeue_count=int(item.dequeue_count or 0),
                enqueued_at=_when(item.inserted_on),
                visible_at=now,
            )
            for item in items
        ]

    def purge(self, queue: str) -> int:
        """Clear the queue; the approximate message count read just before."""
        check_queue_name(queue)
        from azure.core.exceptions import ResourceNotFoundError

        count = self._count(queue)
        with self._translate(queue, "purge"):
            try:
                self._queue(queue).clear_messages()
            except ResourceNotFoundError as exc:
                if _code(exc) == "QueueNotFound":
                    return 0
                raise
        return count
