"""InProcessNotifier: run events delivered to callbacks in this process.

It also keeps the last events with increasing ids, so a stream that reconnects (the SSE
endpoint of the API) can replay what it missed.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from udo.ports.notifier import Notifier, RunEvent

log = logging.getLogger(__name__)


class InProcessNotifier(Notifier):
    """Synchronous fan-out to subscribers; a failing subscriber never fails a run."""

    def __init__(self, keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[RunEvent], None]] = []
        self._recent: deque[tuple[int, RunEvent]] = deque(maxlen=keep)
        self._next_id = 1

    def publish(self, event: RunEvent) -> None:
        with self._lock:
            event_id = self._next_id
            self._next_id += 1
            self._recent.append((event_id, event))
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a listener's bug must not fail the run
                log.exception("run event subscriber failed on %s", event.type)

    def subscribe(self, callback: Callable[[RunEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def since(self, last_id: int) -> list[tuple[int, RunEvent]]:
        """Events after `last_id` still kept, oldest first."""
        with self._lock:
            return [(i, e) for i, e in self._recent if i > last_id]
