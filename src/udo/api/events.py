"""GET /api/events: run events as Server-Sent Events; POST /api/negotiate: SignalR.

Each event is ``id: <n>`` / ``event: <type>`` / ``data: <RunEvent JSON>``, with the
notifier's ids. A client that reconnects with ``Last-Event-ID: n`` (or
``?last_event_id=n``) first gets every kept event after ``n``; a new client gets only
events from now on. Data always comes from ``notifier.since(last_sent_id)``; the
subscription only wakes the stream up, so no event is sent twice or skipped even when
events arrive while the stream is writing. An idle stream sends ``: keep-alive``.

With a notifier that negotiates (Azure SignalR Service), ``POST /api/negotiate`` answers
the SignalR client's first call (``withUrl('/api')`` posts to
``/api/negotiate?negotiateVersion=1``) with a redirect to the service:
``{"url", "accessToken"}``. It sits behind the API's bearer token like every /api route;
with any other notifier it answers 404 and browsers use the event stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from flask import Blueprint, Response, request

from udo.api.errors import ApiError, detail
from udo.api.state import state
from udo.ports.notifier import RunEvent

bp = Blueprint("events", __name__)
RETRY_MS = 3000
POLL_SECONDS = 1.0
"""How soon a stream notices shutdown or (under waitress) a client that left."""


@runtime_checkable
class ReplayableNotifier(Protocol):
    """A notifier that keeps recent events with increasing ids (InProcessNotifier)."""

    def subscribe(self, callback: Callable[[RunEvent], None]) -> Callable[[], None]:
        """Call `callback` for each new event; returns an unsubscribe function."""

    def since(self, last_id: int) -> list[tuple[int, RunEvent]]:
        """Kept events after `last_id`, oldest first."""


@runtime_checkable
class NegotiatingNotifier(Protocol):
    """A notifier browsers reach through a SignalR negotiation (AzureSignalRNotifier)."""

    def negotiate(self, user_id: str | None = None) -> dict[str, str]:
        """``{"url": <client URL>, "accessToken": <token for it>}``."""


def events_kind(notifier: object) -> str:
    """How browsers get run events from `notifier`: "signalr" or "sse"."""
    return "signalr" if isinstance(notifier, NegotiatingNotifier) else "sse"


def frame(event_id: int, event: RunEvent) -> str:
    """One event in the text/event-stream format."""
    return f"id: {event_id}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n"


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw is None or raw == "":
        return None
    if not raw.strip().isdigit():
        raise ApiError(
            400,
            "bad_request",
            "Last-Event-ID must be a non-negative integer",
            [detail("last_event_id", "not a non-negative integer")],
        )
    return int(raw.strip())


def stream(
    notifier: ReplayableNotifier,
    last_id: int | None,
    *,
    keepalive: float,
    closing: threading.Event,
    disconnected: Callable[[], bool] | None = None,
) -> Iterator[str]:
    """The event stream: replay after `last_id` (None: from now on), then live events."""
    wake = threading.Event()
    unsubscribe = notifier.subscribe(lambda _event: wake.set())
    try:
        kept = notifier.since(0)
        newest = kept[-1][0] if kept else 0
        if last_id is None:
            last_id = newest
        elif last_id > newest:  # ids from before a restart of the server: send all kept
            last_id = 0
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        idle_since = time.monotonic()
        while not closing.is_set():
            sent = False
            for event_id, event in notifier.since(last_id):
                yield frame(event_id, event)
                last_id = event_id
                sent = True
            if sent:
                idle_since = time.monotonic()
            remaining = keepalive - (time.monotonic() - idle_since)
            if remaining <= 0:
                yield ": keep-alive\n\n"
                idle_since = time.monotonic()
                continue
            if wake.wait(min(remaining, POLL_SECONDS)):
                wake.clear()
            if disconnected is not None and disconnected():
                return
    finally:
        unsubscribe()


@bp.get("/api/events")
def events() -> Response:
    """Server-Sent Events of every run."""
    st = state()
    notifier = st.udo.notifier
    if not isinstance(notifier, ReplayableNotifier):
        raise ApiError(404, "not_found", "this notifier does not offer an event stream")
    last_id = _last_event_id()
    disconnected = request.environ.get("waitress.client_disconnected")
    body = stream(
        notifier,
        last_id,
        keepalive=st.options.sse_keepalive_seconds,
        closing=st.closing,
        disconnected=disconnected if callable(disconnected) else None,
    )
    return Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@bp.post("/api/negotiate")
def negotiate() -> dict[str, str]:
    """The SignalR client's negotiation: a redirect to Azure SignalR Service with a token."""
    notifier = state().udo.notifier
    if not isinstance(notifier, NegotiatingNotifier):
        raise ApiError(
            404,
            "not_found",
            "run events are not served through SignalR here: use GET /api/events",
        )
    version = request.args.get("negotiateVersion")
    if version is not None and not (version.isascii() and version.isdigit()):
        raise ApiError(
            400,
            "bad_request",
            "negotiateVersion must be a non-negative integer",
            [detail("negotiateVersion", "not a non-negative integer")],
        )
    # one token guards the whole API: there are no per-user identities to pass on
    return notifier.negotiate(None)
