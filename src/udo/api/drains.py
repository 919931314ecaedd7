"""One thread runs every drain of an API process: "drain now" requests and the triggers.

The worker cleans one batch at a time anyway (its lock), so one thread costs nothing in
throughput, and it keeps every connection the pipeline opens (the destinations' SQLite
and DuckDB files) on the thread that opened it. A route waiting or draining is not
queued twice: the API answers 409, a trigger that fires meanwhile is skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from udo.domain.run import Route

log = logging.getLogger(__name__)


class DrainExecutor:
    """A queue of routes to drain and the one thread that drains them, in order."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self._queue: queue.Queue[Route | None] = queue.Queue()
        self._busy: set[Route] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, route: Route) -> bool:
        """Queue a drain of `route`; False if one is already waiting or running."""
        with self._lock:
            if self._closed or route in self._busy:
                return False
            self._busy.add(route)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="udo-drains", daemon=True)
                self._thread.start()
        self._queue.put(route)
        return True

    def scheduled(self, route: Route) -> None:
        """What a trigger runs: queue the drain unless one is already waiting or running."""
        if not self.submit(route):
            log.info("%s-queue is already being drained; trigger skipped", route)

    def busy(self, route: Route) -> bool:
        """Whether a drain of `route` is waiting or running."""
        with self._lock:
            return route in self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no drain is waiting or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def close(self, wait: bool = False) -> None:
        """Take no more drains; with `wait`, let the queued ones finish first. Idempotent."""
        with self._lock:
            first = not self._closed
            self._closed = True
            thread = self._thread
        if first:
            self._queue.put(None)
        if wait and thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            route = self._queue.get()
            if route is None:
                return
            try:
                runs = self.worker.drain(route)
                log.info("%s-queue drained: %d run(s)", route, len(runs))
            except Exception:  # a thread has no caller to raise to: log it
                log.exception("draining %s-queue failed", route)
            finally:
                with self._idle:
                    self._busy.discard(route)
                    self._idle.notify_all()
