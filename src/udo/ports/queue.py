"""QueueService: small-queue and large-queue (SQLite locally, Azure Storage Queue, MNS).

Delivery is at least once. A received message is invisible for its visibility timeout;
the receiver deletes it when done, or it becomes visible again and is delivered again.
Each delivery increments its dequeue count; a message about to be delivered for the
`max_dequeue + 1`-th time is moved to ``<queue>-poison`` instead (the Azure Functions
convention, `max_dequeue` = 5). Sinks are idempotent, so the effect is exactly once.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from udo.errors import TerminalError, TransientError, UdoError


class QueueError(UdoError):
    """Base of QueueService errors."""


class ReceiptExpired(QueueError, TerminalError):
    """The receipt is no longer valid: the message was delivered again or deleted."""


_NAME = re.compile(r"[a-z0-9](?:-?[a-z0-9])*")


class QueueBusy(QueueError, TransientError):
    """The queue file stayed locked by another process past the busy timeout; retry."""


class InvalidQueueName(QueueError, TerminalError):
    """A queue name breaks the naming rules (see `check_queue_name`)."""


class MessageTooLarge(QueueError, TerminalError):
    """A message body is larger than `max_message_bytes` once encoded as UTF-8."""


POISON_SUFFIX = "-poison"


def check_queue_name(queue: str) -> None:
    """Raise `InvalidQueueName` unless `queue` is a valid Azure Storage Queue name.

    3-63 characters: lowercase letters, digits and hyphens; it starts and ends with a
    letter or digit and has no two hyphens in a row. A queue that is not itself a poison
    queue has at most 56, so that its ``<queue>-poison`` is a valid name too.
    """
    if not isinstance(queue, str):
        raise InvalidQueueName(f"invalid queue name {queue!r}: not text")
    longest = 63 if queue.endswith(POISON_SUFFIX) else 63 - len(POISON_SUFFIX)
    if not 3 <= len(queue) <= longest or not _NAME.fullmatch(queue):
        raise InvalidQueueName(
            f"invalid queue name {queue!r}: use 3-{longest} lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit, no '--' (e.g. 'small-queue')"
        )


def check_message(queue: str, body: str, max_bytes: int) -> int:
    """The UTF-8 size of `body`; `QueueError` if it is not text, `MessageTooLarge` past
    `max_bytes`."""
    if not isinstance(body, str):
        raise QueueError(f"message body must be text (str), got {type(body).__name__}")
    try:
        size = len(body.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise QueueError(f"message body is not valid UTF-8 text: {exc}") from exc
    if size > max_bytes:
        raise MessageTooLarge(
            f"message of {size} bytes is over the {max_bytes}-byte limit of "
            f"queue {queue!r}; store the payload elsewhere and send a reference to it"
        )
    return size


@dataclass(frozen=True)
class Message:
    """A delivered message."""

    id: str
    body: str
    receipt: str
    """Proof of this delivery; needed to delete, extend or release it."""
    dequeue_count: int
    enqueued_at: datetime
    visible_at: datetime


class QueueService(ABC):
    """A set of named queues with visibility timeouts and poison queues."""

    max_message_bytes: ClassVar[int] = 64 * 1024
    max_dequeue: int = 5
    keeps_redelivery_order: ClassVar[bool] = False
    """Capability: a message that comes back after its visibility timeout keeps its first
    place in line (SQLite). Without it (Azure Storage Queue), messages are handed out in
    the order they became visible, so a redelivered one goes behind those already visible."""

    @abstractmethod
    def send(self, queue: str, body: str, *, delay_seconds: float = 0) -> str:
        """Enqueue `body` (at most `max_message_bytes` UTF-8 bytes); return the message id."""

    @abstractmethod
    def receive(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: float = 300
    ) -> list[Message]:
        """Up to `max_messages` visible messages, each now invisible.

        Oldest first: in the order they were sent, or (see `keeps_redelivery_order`) in
        the order they became visible again.

        Messages past `max_dequeue` deliveries are moved to ``<queue>-poison`` instead of
        being returned. Safe when several processes receive from the same queue: a
        message is never delivered to two receivers within its visibility timeout.
        """

    @abstractmethod
    def delete(self, queue: str, receipt: str) -> None:
        """Delete a delivered message; `ReceiptExpired` if the receipt is stale."""

    @abstractmethod
    def extend(self, queue: str, receipt: str, visibility_timeout: float) -> str:
        """Keep a message invisible for `visibility_timeout` more seconds from now.

        Returns the new receipt (the old one is no longer valid); `ReceiptExpired` if stale.
        """

    @abstractmethod
    def release(self, queue: str, receipt: str) -> None:
        """Make a delivered message visible again now (a worker shutting down)."""

    @abstractmethod
    def depth(self, queue: str) -> int:
        """Messages in the queue, visible or not."""

    @abstractmethod
    def peek(self, queue: str, *, max_messages: int = 32) -> list[Message]:
        """Messages without receiving them (receipt empty), oldest first."""

    @abstractmethod
    def purge(self, queue: str) -> int:
        """Delete every message of the queue; return how many."""


def poison_name(queue: str) -> str:
    """The poison queue of `queue`."""
    return f"{queue}{POISON_SUFFIX}"
