"""AzureSignalRNotifier: run events to browsers through Azure SignalR Service (serverless).

Serverless mode has no hub server: udo broadcasts with the data-plane REST API and hands
browsers a redirect to the service from its own ``/api/negotiate``.

- **Broadcast**: ``POST <endpoint>/api/hubs/<hub>/:send?api-version=2022-06-01`` with
  ``{"target": "runEvent", "arguments": [<RunEvent JSON>]}`` and
  ``Authorization: Bearer <JWT>``; the service answers 202. The JWT is HS256-signed with
  the connection string's AccessKey; its ``aud`` is the request URL without the query
  string (the service's rule) and it expires after `REST_TOKEN_SECONDS`.
- **Negotiate**: ``{"url": "<endpoint>/client/?hub=<hub>", "accessToken": <JWT>}`` whose
  ``aud`` is that URL and whose ``exp`` is ``token_ttl_seconds`` away; the SignalR client
  follows the redirect and connects to the service with that token.

Delivery is best effort and never fails a run (the port's contract): `publish` hands the
event to in-process subscribers (the API's SSE stream, ``udo clean --wait``) and queues it
for one background sender thread, which posts events in order. A connection error, a
timeout, 429 or a 5xx is retried `retries` times with a doubling back-off, then the event
is dropped with a warning; until a broadcast succeeds again, later events get one try
each (logged at debug), so an outage does not pile up minutes of retries. Any other
answer (401, 403, 404, ...) is a configuration problem, logged as an error per event,
without retry. Logs name the hub, the status and the event,
never the AccessKey or a token. A queue that is full (the service unreachable for long)
drops new events rather than growing without bound. Pending events are flushed for a few
seconds at interpreter exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

from udo.adapters.local.notifier import InProcessNotifier
from udo.errors import ConfigError, TerminalError
from udo.net import is_loopback
from udo.ports.notifier import Notifier, RunEvent

if TYPE_CHECKING:
    from udo.config import Settings

log = logging.getLogger(__name__)

REST_API_VERSION = "2022-06-01"
"""The data-plane REST API version (``/api/hubs/{hub}/:send``; GA, the ``v1`` paths' successor)."""
TARGET = "runEvent"
"""The client method every event is sent to: ``connection.on('runEvent', ...)``."""
REST_TOKEN_SECONDS = 300
"""Lifetime of the token of one REST call: short, with room for clock skew."""
HUB_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
MAX_USER_ID_CHARS = 128
SETTING = "UDO_AZURE__SIGNALR__CONNECTION_STRING"


@dataclass(frozen=True, repr=False)
class SignalRConnection:
    """The parts of a SignalR connection string udo uses; the key never shows in a repr."""

    endpoint: str
    """``scheme://host[:port]``, without a trailing slash."""
    access_key: SecretStr

    def __repr__(self) -> str:
        return f"SignalRConnection(endpoint={self.endpoint!r}, access_key=**********)"

    @property
    def is_loopback(self) -> bool:
        """Whether the endpoint is on this machine (a stand-in or an emulator)."""
        host = urlsplit(self.endpoint).hostname or ""
        return is_loopback(host)

    @classmethod
    def parse(cls, text: str) -> SignalRConnection:
        """Parse ``Endpoint=https://<name>.service.signalr.net;AccessKey=<key>;Version=1.0;``.

        ``Port=<n>`` (optional) replaces the endpoint's port. The endpoint must be https,
        or http on a loopback address. Raises `ConfigError` naming the missing or invalid
        part, never quoting the string.
        """
        parts: dict[str, str] = {}
        for item in text.strip().strip(";").split(";"):
            if not item.strip():
                continue
            name, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"{SETTING}: a part has no '=' (expected Key=Value;...)")
            parts[name.strip().lower()] = value.strip()
        endpoint = parts.get("endpoint")
        if not endpoint:
            raise ConfigError(f"{SETTING} has no Endpoint=https://<name>.service.signalr.net")
        key = parts.get("accesskey")
        if not key:
            auth = parts.get("authtype")
            how = f" (AuthType={auth} is not supported by udo)" if auth else ""
            raise ConfigError(
                f"{SETTING} has no AccessKey{how}: use a key-based connection string "
                "(Keys blade of the SignalR resource)"
            )
        for unsupported, name in (
            ("clientendpoint", "ClientEndpoint"),
            ("serverendpoint", "ServerEndpoint"),
        ):
            if unsupported in parts:  # browsers / the server would be sent to Endpoint
                raise ConfigError(
                    f"{SETTING}: {name} "
                    "(private endpoints, Application Gateway) is not supported by udo yet: "
                    "use a connection string with Endpoint and AccessKey only"
                )
        url = urlsplit(endpoint)
        host = url.hostname
        if url.scheme not in ("http", "https") or not host:
            raise ConfigError(f"{SETTING}: Endpoint must be an https:// URL, got {endpoint!r}")
        if url.scheme == "http" and not is_loopback(host):
            raise ConfigError(
                f"{SETTING}: Endpoint {endpoint!r} must use https (http is allowed only on "
                "loopback addresses, for local stand-ins)"
            )
        if url.path not in ("", "/") or url.query or url.fragment or url.username:
            raise ConfigError(f"{SETTING}: Endpoint must be scheme://host[:port] only")
        try:
            port = url.port
        except ValueError:
            raise ConfigError(f"{SETTING}: Endpoint has an invalid port") from None
        if "port" in parts:
            raw = parts["port"]
            if not raw.isdigit() or not 1 <= int(raw) <= 65535:
                raise ConfigError(f"{SETTING}: Port must be a number from 1 to 65535")
            port = int(raw)
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc = f"{netloc}:{port}"
        return cls(endpoint=f"{url.scheme}://{netloc}", access_key=SecretStr(key))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the bearer token must reach only the configured endpoint."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class AzureSignalRNotifier(Notifier):
    """Run events to in-process subscribers and, through Azure SignalR Service, to browsers.

    `subscribe` and `since` are those of the in-process notifier it wraps, so the API's
    event stream and the CLI keep working; `negotiate` gives browsers their redirect.
    """

    def __init__(
        self,
        connection: SignalRConnection,
        hub: str = "udo",
        token_ttl_seconds: int = 3600,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        max_pending: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not HUB_PATTERN.match(hub):
            raise ConfigError(
                f"SignalR hub {hub!r} is invalid: it must start with a letter and hold only "
                "letters, digits and underscores (UDO_AZURE__SIGNALR__HUB)"
            )
        if token_ttl_seconds < 1:
            raise ConfigError("UDO_AZURE__SIGNALR__TOKEN_TTL_SECONDS must be positive")
        if importlib.util.find_spec("jwt") is None:
            raise ConfigError(
                "the SignalR notifier signs its tokens with PyJWT: pip install 'udo[azure]'"
            )
        self.connection = connection
        self.hub = hub
        self.token_ttl_seconds = token_ttl_seconds
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._clock = clock
        self._local = InProcessNotifier()
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if connection.is_loopback:  # a proxy from the environment must not see local calls
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)
        self._lock = threading.Condition()
        self._pending: deque[RunEvent] = deque()
        self._max_pending = max_pending
        self._in_flight = 0
        self._sender: threading.Thread | None = None
        self._closing = threading.Event()
        self._down = False
        """The last broadcast failed for a transient reason (only the sender thread uses it)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AzureSignalRNotifier:
        """The notifier of ``settings.azure.signalr``; `ConfigError` when it is incomplete."""
        section = settings.azure.signalr
        if section.connection_string is None:
            raise ConfigError(
                f"the SignalR notifier needs {SETTING} "
                "(Endpoint=https://<name>.service.signalr.net;AccessKey=<key>;Version=1.0;), "
                "or UDO_NOTIFIER__TYPE=local"
            )
        connection = SignalRConnection.parse(section.connection_string.get_secret_value())
        return cls(connection, hub=section.hub, token_ttl_seconds=section.token_ttl_seconds)

    def __repr__(self) -> str:
        return f"AzureSignalRNotifier(endpoint={self.connection.endpoint!r}, hub={self.hub!r})"

    # ------------------------------------------------------------------ URLs and tokens
    @property
    def broadcast_url(self) -> str:
        """Where a broadcast is posted (with its api-version)."""
        return f"{self.broadcast_audience}?api-version={REST_API_VERSION}"

    @property
    def broadcast_audience(self) -> str:
        """The ``aud`` of a broadcast token: the request URL without its query string."""
        return f"{self.connection.endpoint}/api/hubs/{quote(self.hub)}/:send"

    @property
    def client_url(self) -> str:
        """Where SignalR clients connect, as the negotiate response gives it."""
        return f"{self.connection.endpoint}/client/?hub={quote(self.hub)}"

    def _token(self, audience: str, lifetime: int, claims: dict[str, Any] | None = None) -> str:
        import jwt

        now = int(self._clock())
        payload: dict[str, Any] = {"aud": audience, "iat": now, "exp": now + lifetime}
        payload.update(claims or {})
        key = self.connection.access_key.get_secret_value()
        return jwt.encode(payload, key, algorithm="HS256")

    def negotiate(self, user_id: str | None = None) -> dict[str, str]:
        """The redirect a SignalR client follows: the service's client URL and a token.

        The token's ``aud`` is the URL and it expires after ``token_ttl_seconds``; a
        `user_id` becomes its ``nameid`` claim (the service's user id). Raises
        `TerminalError` for an empty or over-long user id.
        """
        claims: dict[str, Any] = {}
        if user_id is not None:
            if not user_id.strip() or len(user_id) > MAX_USER_ID_CHARS:
                raise TerminalError(
                    f"a SignalR user id must be 1 to {MAX_USER_ID_CHARS} non-blank characters"
                )
            claims["nameid"] = user_id
        url = self.client_url
        return {"url": url, "accessToken": self._token(url, self.token_ttl_seconds, claims)}

    # ---------------------------------------------------------------------- the port
    def publish(self, event: RunEvent) -> None:
        """Deliver to in-process subscribers now and queue the broadcast; never raises."""
        self._local.publish(event)
        with self._lock:
            if self._closing.is_set():
                log.warning(
                    "SignalR notifier closed: %s of run %s not broadcast", event.type, event.run_id
                )
                return
            if len(self._pending) >= self._max_pending:
                log.warning(
                    "SignalR hub %s: %d events waiting, %s of run %s dropped",
                    self.hub,
                    len(self._pending),
                    event.type,
                    event.run_id,
                )
                return
            try:
                self._ensure_sender()
            except RuntimeError as exc:  # no new thread, e.g. at interpreter shutdown
                log.warning("SignalR hub %s: %s not broadcast (%s)", self.hub, event.type, exc)
                return
            self._pending.append(event)
            self._lock.notify_all()

    def subscribe(self, callback: Callable[[RunEvent], None]) -> Callable[[], None]:
        """In-process subscribers (the API's SSE stream, the CLI); see the port."""
        return self._local.subscribe(callback)

    def since(self, last_id: int) -> list[tuple[int, RunEvent]]:
        """Kept events after `last_id`, oldest first (the SSE stream's replay)."""
        return self._local.since(last_id)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was sent or given up on; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Flush for up to `timeout` seconds, then stop the sender; later events stay local."""
        self.flush(timeout)
        with self._lock:
            self._closing.set()
            self._lock.notify_all()
            sender = self._sender
        if sender is not None:
            sender.join(timeout)
        atexit.unregister(self.close)

    # -------------------------------------------------------------------- the sender
    def _ensure_sender(self) -> None:
        if self._sender is not None:
            return
        sender = threading.Thread(target=self._run_sender, name=f"signalr-{self.hub}", daemon=True)
        sender.start()
        self._sender = sender
        atexit.register(self.close)

    def _run_sender(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closing.is_set():
                    self._lock.wait()
                if not self._pending:
                    return
                event = self._pending.popleft()
                self._in_flight += 1
            try:
                self._broadcast(event)
            except Exception:  # a bug here must not stop later events
                log.exception("SignalR broadcast of %s failed unexpectedly", event.type)
            finally:
                with self._lock:
                    self._in_flight -= 1
                    self._lock.notify_all()

    def _broadcast(self, event: RunEvent) -> None:
        body = json.dumps(
            {"target": TARGET, "arguments": [event.model_dump(mode="json")]},
            separators=(",", ":"),
        ).encode("utf-8")
        # while the service is down, each event gets one try: a backlog drains quickly
        attempts = 1 if self._down else self._retries + 1
        reason = ""
        for attempt in range(1, attempts + 1):
            problem = self._post(body)
            if problem is None:
                if self._down:
                    log.info("SignalR hub %s reachable again", self.hub)
                    self._down = False
                return
            reason, transient = problem
            if not transient:
                log.error(
                    "SignalR hub %s refused %s of run %s (%s); check "
                    "UDO_AZURE__SIGNALR__CONNECTION_STRING and the hub",
                    self.hub,
                    event.type,
                    event.run_id,
                    reason,
                )
                return
            if attempt < attempts:  # on close, the remaining attempts go without waiting
                self._closing.wait(self._backoff * 2 ** (attempt - 1))
        log.log(
            logging.DEBUG if self._down else logging.WARNING,
            "SignalR hub %s unreachable: %s of run %s not broadcast after %d attempt(s) (%s)%s",
            self.hub,
            event.type,
            event.run_id,
            attempts,
            reason,
            "" if self._down else "; until it answers, events get one try each",
        )
        self._down = True

    def _post(self, body: bytes) -> tuple[str, bool] | None:
        """POST one broadcast: None when accepted, else (reason, transient)."""
        token = self._token(self.broadcast_audience, REST_TOKEN_SECONDS)
        request = urllib.request.Request(
            self.broadcast_url,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read()
                status: int = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except urllib.error.URLError as exc:  # refused, DNS, TLS
            cause = exc.reason if isinstance(exc.reason, BaseException) else exc
            return (type(cause).__name__, True)
        except OSError as exc:  # a timeout or a reset while reading the answer
            return (type(exc).__name__, True)
        if 200 <= status < 300:
            return None
        return (f"HTTP {status}", status == 429 or status >= 500)
