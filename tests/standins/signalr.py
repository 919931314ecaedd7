"""A stand-in for Azure SignalR Service's data plane (there is no emulator for serverless REST).

It listens on 127.0.0.1 (a free port), receives the notifier's real HTTP requests and
checks them the way the service does, then answers like it:

- ``POST /api/hubs/<hub>/:send?api-version=2022-06-01`` (broadcast): a bearer JWT signed
  HS256 with the AccessKey, whose ``aud`` is the request URL without its query string and
  whose ``exp`` is in the future and at most `max_token_seconds` away; a JSON body
  ``{"target": <str>, "arguments": [<one RunEvent>]}``. Answers 202 with an empty body (or
  `status`, when a test makes it fail), 401 for a bad token, 400 for a bad body.
- ``POST /client/negotiate?hub=<hub>`` (a browser following the redirect): a bearer JWT
  whose ``aud`` is ``<endpoint>/client/?hub=<hub>``. Answers the negotiate body of the
  service (connection id and transports).

Every problem found is kept in `problems`, every accepted broadcast in `broadcasts`, so a
test can assert both.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from udo.ports.notifier import RunEvent

API_VERSION = "2022-06-01"
ACCESS_KEY = "c3RhbmQtaW4tc2lnbmFsci1hY2Nlc3Mta2V5LTAwMDAwMDAwMA=="
"""A key as long as the service's (44 characters); never a real one."""


@dataclass
class Broadcast:
    """One accepted broadcast."""

    hub: str
    target: str
    event: RunEvent
    claims: dict[str, Any]


@dataclass
class SignalRStandIn:
    """The stand-in server; use as a context manager (``with SignalRStandIn() as s``)."""

    access_key: str = ACCESS_KEY
    max_token_seconds: int = 3600
    status: int = 202
    """What accepted broadcasts are answered with (500 to simulate an outage)."""
    broadcasts: list[Broadcast] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None, "the stand-in is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def connection_string(self, *, port_part: bool = False) -> str:
        """A connection string for this stand-in (optionally with a separate Port=)."""
        if port_part:
            port = self._server.server_address[1] if self._server else 0
            return f"Endpoint=http://127.0.0.1;AccessKey={self.access_key};Port={port};Version=1.0;"
        return f"Endpoint={self.endpoint};AccessKey={self.access_key};Version=1.0;"

    def __enter__(self) -> SignalRStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                standin._handle(self)

            def do_GET(self) -> None:
                standin._reply(self, 405, {"error": "method not allowed"})

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # ------------------------------------------------------------------- handling
    def _problem(self, handler: BaseHTTPRequestHandler, status: int, text: str) -> None:
        with self._lock:
            self.problems.append(text)
        self._reply(handler, status, {"code": status, "message": text})

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _claims(self, handler: BaseHTTPRequestHandler, audience: str) -> dict[str, Any] | None:
        """The token's claims if the service would accept it, else None (answered 401)."""
        scheme, _, token = handler.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            self._problem(handler, 401, "no bearer token")
            return None
        try:
            header = jwt.get_unverified_header(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                self.access_key,
                algorithms=["HS256"],
                audience=audience,
                options={"require": ["aud", "exp"]},
            )
        except jwt.PyJWTError as exc:
            self._problem(handler, 401, f"token rejected: {type(exc).__name__}: {exc}")
            return None
        if header.get("alg") != "HS256":
            self._problem(handler, 401, f"token alg {header.get('alg')!r}, not HS256")
            return None
        if claims["aud"] != audience:  # exactly, not one of a list
            self._problem(handler, 401, f"aud {claims['aud']!r} != {audience!r}")
            return None
        ahead = claims["exp"] - time.time()
        if not 0 < ahead <= self.max_token_seconds + 5:  # 5 s of rounding and clock
            self._problem(handler, 401, f"exp {ahead:.0f} s away (max {self.max_token_seconds})")
            return None
        return claims

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
        url = urlsplit(handler.path)
        query = parse_qs(url.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = url.path.split("/")
        # /client/negotiate?hub=<hub>: a SignalR client following the negotiate redirect
        if url.path == "/client/negotiate":
            hub = (query.get("hub") or [""])[0]
            if self._claims(handler, f"{self.endpoint}/client/?hub={hub}") is None:
                return
            self._reply(
                handler,
                200,
                {
                    "negotiateVersion": 1,
                    "connectionId": "standin-connection",
                    "connectionToken": "standin-token",
                    "availableTransports": [
                        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
                    ],
                },
            )
            return
        # /api/hubs/<hub>/:send?api-version=...: a broadcast
        if len(parts) != 5 or parts[1:3] != ["api", "hubs"] or parts[4] != ":send":
            self._problem(handler, 404, f"unknown path {url.path}")
            return
        hub = parts[3]
        if query.get("api-version") != [API_VERSION]:
            self._problem(handler, 400, f"api-version {query.get('api-version')} unsupported")
            return
        claims = self._claims(handler, f"{self.endpoint}{url.path}")
        if claims is None:
            return
        if not handler.headers.get("Content-Type", "").startswith("application/json"):
            self._problem(handler, 400, f"content type {handler.headers.get('Content-Type')}")
            return
        try:
            body = json.loads(raw)
            assert isinstance(body, dict) and set(body) == {"target", "arguments"}, body
            assert isinstance(body["target"], str) and body["target"], body
            arguments = body["arguments"]
            assert isinstance(arguments, list) and len(arguments) == 1, arguments
            event = RunEvent.model_validate(arguments[0])
        except Exception as exc:
            self._problem(handler, 400, f"bad body: {type(exc).__name__}: {exc}")
            return
        if self.status != 202:
            self._reply(handler, self.status, {"code": self.status, "message": "stand-in outage"})
            return
        with self._lock:
            self.broadcasts.append(Broadcast(hub, body["target"], event, claims))
        self._reply(handler, 202, None)
