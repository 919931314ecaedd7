"""A stand-in for Azure Resource Manager's Data Factory API (api-version 2018-06-01).

There is no Data Factory emulator, so this small HTTPS server on 127.0.0.1 receives the
REAL azure-mgmt-datafactory SDK's requests and checks them as ARM does: the resource path
(subscription, resource group, factory), the ``api-version`` query, the bearer token,
JSON bodies (a resource's ``properties.type``, ADF's naming rules, every
LinkedService/Dataset/Pipeline reference pointing at a deployed resource, no update of a
started trigger, pipeline run parameters declared by the pipeline). It answers like ARM:
resources with id/name/type/etag, ``createRun`` -> ``{"runId"}``, ``pipelineruns/<id>``
walking through a scripted list of statuses (``InProgress`` then ``Succeeded``, or
``Failed`` with a message). Anything it refuses is also kept in `problems`.

It serves TLS with a self-signed certificate made at start (azure-core's bearer token
policy refuses plain http); pass ``connection_verify=stand_in.ca_file`` to the SDK.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2018-06-01"
KIND_PATHS = {
    "linkedservices": "linkedService",
    "datasets": "dataset",
    "pipelines": "pipeline",
    "triggers": "trigger",
}
REFERENCE_KINDS = {
    "LinkedServiceReference": "linkedService",
    "DatasetReference": "dataset",
    "PipelineReference": "pipeline",
}


@dataclass
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class PipelineRunState:
    """A pipeline run and the statuses it still has to go through."""

    run_id: str
    pipeline: str
    parameters: dict[str, Any]
    script: list[tuple[str, str]]
    polls: int = 0

    def current(self) -> tuple[str, str]:
        return self.script[min(self.polls, len(self.script) - 1)]


class ArmError(Exception):
    """An ARM error answer; `problem` False for an ordinary "not found" a client may ask."""

    def __init__(self, status: int, code: str, message: str, *, problem: bool = True) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.problem = status, code, message, problem


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost: (cert = CA file, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arm-stand-in")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "arm-cert.pem", folder / "arm-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _references(value: Any) -> Iterator[tuple[str, str]]:
    """Every (kind, name) a resource body refers to."""
    if isinstance(value, dict):
        kind = REFERENCE_KINDS.get(str(value.get("type")))
        if kind is not None and "referenceName" in value:
            yield kind, str(value["referenceName"])
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


class ArmStandIn:
    """The ARM stand-in: `start()`, point the SDK at `url`, `stop()`."""

    def __init__(
        self,
        folder: Path,
        *,
        subscription: str = "00000000-0000-0000-0000-000000000001",
        resource_group: str = "udo-rg",
        factory: str = "udo-adf",
        token: str = "stand-in-token",
    ) -> None:
        self.folder = folder
        self.subscription = subscription
        self.resource_group = resource_group
        self.factory = factory
        self.token = token
        self.factories: dict[str, dict[str, Any]] = {}
        self.resources: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KIND_PATHS.values()}
        self.trigger_states: dict[str, str] = {}
        self.runs: dict[str, PipelineRunState] = {}
        self.scripts: dict[str, list[tuple[str, str]]] = {}
        self.gates: dict[str, threading.Event] = {}
        self.inject: list[tuple[int, str]] = []
        """(status, ARM error code) answered to the next requests instead of serving them."""
        self.requests: list[Recorded] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.ca_file, self._key_file = make_certificate(folder)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> ArmStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                stand_in._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = _serve

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, self._key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, name="arm-stand-in", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def factory_path(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DataFactory/factories/{self.factory}"
        )

    def hold(self, pipeline: str) -> threading.Event:
        """Runs of `pipeline` report InProgress until the returned event is set: an activity
        that is still working (the Function's drain, the Databricks job)."""
        gate = self.gates[pipeline] = threading.Event()
        return gate

    def script(self, pipeline: str, statuses: list[tuple[str, str]]) -> None:
        """Statuses the next runs of `pipeline` report, one per poll (the last one stays)."""
        self.scripts[pipeline] = list(statuses)

    # --------------------------------------------------------------- serving
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(
            handler.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(record)
            try:
                status, answer = self._route(record)
            except ArmError as exc:
                if exc.problem:
                    self.problems.append(f"{record.method} {record.path}: {exc.code} {exc.message}")
                status, answer = exc.status, {"error": {"code": exc.code, "message": exc.message}}
        data = b"" if answer is None else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("x-ms-request-id", str(uuid.uuid4()))
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, r: Recorded) -> tuple[int, Any]:
        if self.inject:
            status, code = self.inject.pop(0)
            raise ArmError(status, code, f"injected {code}")
        if r.query.get("api-version") != [API_VERSION]:
            raise ArmError(400, "InvalidApiVersionParameter", f"api-version {r.query!r}")
        if r.headers.get("authorization") != f"Bearer {self.token}":
            raise ArmError(401, "AuthenticationFailed", "missing or wrong bearer token")
        prefix = (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            "/providers/Microsoft.DataFactory/factories/"
        )
        if not r.path.startswith(prefix):
            raise ArmError(404, "ResourceGroupNotFound", f"unknown path {r.path}")
        rest = r.path.removeprefix(prefix).split("/")
        factory = rest[0]
        if len(rest) == 1:
            return self._factory(r, factory)
        if factory not in self.factories:
            raise ArmError(404, "ResourceNotFound", f"factory {factory} not found")
        if rest[1] == "pipelineruns" and len(rest) == 3 and r.method == "GET":
            return self._pipeline_run(rest[2])
        kind = KIND_PATHS.get(rest[1])
        if kind is None or len(rest) < 3:
            raise ArmError(404, "NotFound", f"unknown path {r.path}")
        name = rest[2]
        if len(rest) == 4:
            return self._action(r, kind, name, rest[3])
        if r.method == "GET":
            return 200, self._resource(kind, name)
        if r.method == "PUT":
            return 200, self._put(kind, name, r.body)
        raise ArmError(405, "MethodNotAllowed", r.method)

    def _factory(self, r: Recorded, name: str) -> tuple[int, Any]:
        if name != self.factory:
            raise ArmError(404, "ResourceNotFound", f"factory {name} not found")
        if r.method == "PUT":
            if not isinstance(r.body, dict) or not r.body.get("location"):
                raise ArmError(400, "BadRequest", "a factory needs a location")
            self.factories[name] = {
                "id": self.factory_path,
                "name": name,
                "type": "Microsoft.DataFactory/factories",
                "location": r.body["location"],
                "identity": {
                    **(r.body.get("identity") or {}),
                    "principalId": str(uuid.uuid4()),
                    "tenantId": str(uuid.uuid4()),
                },
                "properties": {"provisioningState": "Succeeded", "version": API_VERSION},
            }
        if name not in self.factories:
            raise ArmError(404, "ResourceNotFound", f"factory {name} not found", problem=False)
        return 200, self.factories[name]

    def _resource(self, kind: str, name: str) -> dict[str, Any]:
        body = self.resources[kind].get(name)
        if body is None:
            raise ArmError(404, "NotFound", f"{kind} {name} not found", problem=False)
        properties = dict(body["properties"])
        if kind == "trigger":
            properties["runtimeState"] = self.trigger_states[name]
        path = next(p for p, k in KIND_PATHS.items() if k == kind)
        return {
            "id": f"{self.factory_path}/{path}/{name}",
            "name": name,
            "type": f"Microsoft.DataFactory/factories/{path}",
            "etag": uuid.uuid4().hex,
            "properties": properties,
        }

    def _put(self, kind: str, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise ArmError(400, "BadRequest", "the body needs 'properties'")
        properties = body["properties"]
        if kind != "pipeline" and not properties.get("type"):
            raise ArmError(400, "BadRequest", f"{kind} {name} has no properties.type")
        if kind in ("linkedService", "dataset") and not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ArmError(400, "InvalidResourceName", f"{kind} name {name!r}: no '-' allowed")
        for ref_kind, ref in _references(properties):
            if ref not in self.resources[ref_kind] and not (ref_kind == kind and ref == name):
                raise ArmError(
                    400,
                    "BadRequest",
                    f"The document creation or update failed because of invalid reference '{ref}'.",
                )
        if kind == "trigger":
            if self.trigger_states.get(name) == "Started":
                raise ArmError(
                    400,
                    "TriggerEnabledCannotUpdate",
                    f"Cannot update enabled Trigger {name}; it needs to be stopped first.",
                )
            self.trigger_states.setdefault(name, "Stopped")
        self.resources[kind][name] = {"name": name, "properties": properties}
        return self._resource(kind, name)

    def _action(self, r: Recorded, kind: str, name: str, action: str) -> tuple[int, Any]:
        if r.method != "POST":
            raise ArmError(405, "MethodNotAllowed", r.method)
        self._resource(kind, name)  # 404 unless it exists
        if kind == "trigger" and action in ("start", "stop"):
            self.trigger_states[name] = "Started" if action == "start" else "Stopped"
            return 200, None
        if kind == "pipeline" and action == "createRun":
            declared = self.resources["pipeline"][name]["properties"].get("parameters") or {}
            given = r.body if isinstance(r.body, dict) else {}
            for param, value in given.items():
                spec = declared.get(param)
                if spec is None:
                    raise ArmError(400, "BadRequest", f"parameter {param!r} is not declared")
                if spec.get("type") == "Array" and not isinstance(value, list):
                    raise ArmError(400, "BadRequest", f"parameter {param!r} must be an array")
            run_id = str(uuid.uuid4())
            script = self.scripts.get(name, [("InProgress", ""), ("Succeeded", "")])
            self.runs[run_id] = PipelineRunState(run_id, name, given, list(script))
            return 200, {"runId": run_id}
        raise ArmError(404, "NotFound", f"unknown action {action}")

    def _pipeline_run(self, run_id: str) -> tuple[int, Any]:
        state = self.runs.get(run_id)
        if state is None:
            raise ArmError(
                404, "PipelineRunNotFound", f"pipeline run {run_id} not found", problem=False
            )
        gate = self.gates.get(state.pipeline)
        if gate is not None and not gate.is_set():
            status, message = "InProgress", ""
        else:
            status, message = state.current()
            state.polls += 1
        return 200, {
            "runId": run_id,
            "pipelineName": state.pipeline,
            "parameters": {k: json.dumps(v) for k, v in state.parameters.items()},
            "invokedBy": {"name": "Manual", "invokedByType": "Manual"},
            "runStart": "2024-01-01T00:00:00Z",
            "lastUpdated": "2024-01-01T00:00:01Z",
            "status": status,
            "message": message,
        }

    # --------------------------------------------------------------- queries
    def bodies(self, method: str, fragment: str) -> list[Any]:
        """Bodies of the requests `method` whose path contains `fragment`."""
        with self._lock:
            return [r.body for r in self.requests if r.method == method and fragment in r.path]


@dataclass
class StaticToken:
    """A TokenCredential that always gives the same bearer token (tests only)."""

    token: str
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(dt.datetime.now(dt.UTC).timestamp()) + 3600)
