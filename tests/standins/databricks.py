"""A stand-in for the Azure Databricks Jobs API 2.1/2.2 (there is no Databricks emulator).

It listens on 127.0.0.1 (a free port), receives databricks-sdk's real requests and checks
them the way the service does (``Authorization: Bearer <token>``, JSON bodies with the
right fields and types, known jobs and runs), then answers like it:

- ``POST /api/2.{1,2}/jobs/create`` / ``jobs/reset`` / ``GET jobs/list`` / ``jobs/get``:
  job settings are validated (a spark_python_task, its cluster, libraries, the job
  parameters every ``{{job.parameters.x}}`` reference names) and kept.
- ``POST jobs/run-now``: ``job_id`` (int), ``job_parameters`` (names the job defines,
  text values), ``idempotency_token``; the run's script is the next queued `Outcome`.
- ``GET jobs/runs/get``: each call shows the run's current step, then moves it one step:
  PENDING -> RUNNING -> TERMINATED (SUCCESS | FAILED | TIMEDOUT), INTERNAL_ERROR or
  SKIPPED; a held run stays RUNNING until cancelled.
- ``GET jobs/runs/get-output`` (a task run): the task's error and trace when it failed.
- ``POST jobs/runs/cancel``: the run ends TERMINATED / CANCELED (no-op once ended).

Unknown jobs and runs are answered 400 INVALID_PARAMETER_VALUE "Job 7 does not exist." as
the service does. `fail_next` makes the next requests fail (429, 500, 503...). Every
request is kept in `requests`, every problem found in `problems`.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "dapi0000standin0000token0000000000000"
"""A token shaped like a personal access token; never a real one."""

_PATH = re.compile(r"^/api/(2\.[12])/jobs/(.+)$")
_REFERENCE = re.compile(r"\{\{job\.parameters\.([A-Za-z0-9_.-]+)\}\}")


@dataclass(frozen=True)
class Outcome:
    """What the next run does: its steps before it ends, and how it ends.

    `final` is SUCCESS, FAILED, TIMEDOUT, INTERNAL_ERROR, SKIPPED or HOLD (stays
    RUNNING until cancelled); `error` is the failed task's error text.
    """

    final: str = "SUCCESS"
    error: str | None = None
    steps: tuple[str, ...] = ("PENDING", "RUNNING")


@dataclass(frozen=True)
class Request:
    """One request as received."""

    method: str
    path: str
    version: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class StandInRun:
    """A run and where its script is."""

    run_id: int
    task_run_id: int
    job_id: int
    number: int
    parameters: dict[str, str]
    outcome: Outcome
    step: int = 0
    cancelled: bool = False
    gets: int = 0

    @property
    def ended(self) -> bool:
        """Whether the run shows a terminal state now."""
        return self.cancelled or (
            self.step >= len(self.outcome.steps) and self.outcome.final != "HOLD"
        )


class ApiError(Exception):
    """An error answer of the service."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _missing(kind: str, ident: object) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", f"{kind} {ident} does not exist.")


@dataclass
class DatabricksStandIn:
    """The stand-in server; use as a context manager (``with DatabricksStandIn() as s``)."""

    token: str = TOKEN
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    runs: dict[int, StandInRun] = field(default_factory=dict)
    outcomes: deque[Outcome] = field(default_factory=deque)
    faults: deque[tuple[int, str, str, str | None]] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _tokens: dict[str, int] = field(default_factory=dict)
    _next_id: int = 1000
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -------------------------------------------------------------- control
    @property
    def host(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None, "the stand-in is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(
        self,
        status: int,
        code: str,
        message: str,
        *,
        times: int = 1,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next `times` API requests with this error."""
        for _ in range(times):
            self.faults.append((status, code, message, retry_after))

    def add_job(self, name: str = "udo-large", parameters: dict[str, str] | None = None) -> int:
        """A job made outside the adapter (as if deployed before); returns its id."""
        params = parameters if parameters is not None else {
            "queue": "large-queue", "dataset": "", "batch": "", "run_id": "",
            "max_runs": "", "engine": "",
        }  # fmt: skip
        with self._lock:
            job_id = self._new_id()
            self.jobs[job_id] = {
                "name": name,
                "parameters": [{"name": k, "default": v} for k, v in params.items()],
                "tasks": [],
            }
        return job_id

    def calls(self, suffix: str) -> list[Request]:
        """The requests whose path ends with `suffix` (``run-now``, ``runs/get``...)."""
        return [r for r in self.requests if r.path.endswith("/jobs/" + suffix)]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -------------------------------------------------------------- server
    def __enter__(self) -> DatabricksStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening (later requests are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, http: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(http.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        body: Any = None
        match = _PATH.match(parts.path)
        try:
            if raw:
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ApiError(400, "MALFORMED_REQUEST", f"not JSON: {exc}") from exc
            with self._lock:
                self.requests.append(
                    Request(
                        method=method,
                        path=parts.path,
                        version=match.group(1) if match else None,
                        query=query,
                        headers={k.lower(): v for k, v in http.headers.items()},
                        body=body,
                    )
                )
            if match is None:
                # e.g. /.well-known/databricks-config, probed by the SDK: not served here
                raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{parts.path}'")
            auth = http.headers.get("Authorization")
            if auth != f"Bearer {self.token}":
                if auth is None or not auth.startswith("Bearer "):
                    self.problems.append(f"{parts.path}: no bearer token")
                raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
            with self._lock:
                fault = self.faults.popleft() if self.faults else None
            if fault is not None:
                status, code, message, retry_after = fault
                self._send(http, status, {"error_code": code, "message": message}, retry_after)
                return
            if method == "POST" and "application/json" not in (
                http.headers.get("Content-Type") or ""
            ):
                self.problems.append(f"{parts.path}: POST without a JSON content type")
            answer = self._route(method, match.group(2), query, body)
        except ApiError as err:
            if err.status == 400 and "does not exist" not in err.message:
                self.problems.append(f"{parts.path}: {err.message}")
            self._send(http, err.status, {"error_code": err.code, "message": err.message})
            return
        self._send(http, 200, answer)

    @staticmethod
    def _send(
        http: BaseHTTPRequestHandler, status: int, payload: Any, retry_after: str | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            http.send_header("Retry-After", retry_after)
        http.end_headers()
        http.wfile.write(data)

    # ------------------------------------------------------------- the API
    def _route(self, method: str, op: str, query: dict[str, str], body: Any) -> Any:
        routes = {
            ("POST", "create"): self._create,
            ("POST", "reset"): self._reset,
            ("GET", "list"): self._list,
            ("GET", "get"): self._get_job,
            ("POST", "run-now"): self._run_now,
            ("GET", "runs/get"): self._get_run,
            ("GET", "runs/get-output"): self._get_output,
            ("POST", "runs/cancel"): self._cancel,
        }
        handler = routes.get((method, op))
        if handler is None:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {op}'")
        with self._lock:
            return handler(query if method == "GET" else _object(body, "body"))

    def _create(self, body: dict[str, Any]) -> Any:
        _check_settings(body)
        job_id = self._new_id()
        self.jobs[job_id] = body
        return {"job_id": job_id}

    def _reset(self, body: dict[str, Any]) -> Any:
        _only(body, {"job_id", "new_settings"}, "reset")
        job_id = _int(body.get("job_id"), "job_id")
        settings = _object(body.get("new_settings"), "new_settings")
        _check_settings(settings)
        if job_id not in self.jobs:
            raise _missing("Job", job_id)
        self.jobs[job_id] = settings
        return {}

    def _list(self, query: dict[str, str]) -> Any:
        name = query.get("name")
        found = [
            {"job_id": job_id, "settings": {"name": s.get("name")}, "created_time": 1_700_000_000}
            for job_id, s in sorted(self.jobs.items())
            if name is None or str(s.get("name", "")).lower() == name.lower()
        ]
        return {"jobs": found, "has_more": False} if found else {"has_more": False}

    def _get_job(self, query: dict[str, str]) -> Any:
        job_id = _int(query.get("job_id"), "job_id")
        if job_id not in self.jobs:
            raise _missing("Job", job_id)
        return {"job_id": job_id, "settings": self.jobs[job_id], "created_time": 1_700_000_000}

    def _run_now(self, body: dict[str, Any]) -> Any:
        _only(body, {"job_id", "job_parameters", "idempotency_token"}, "run-now")
        job_id = _int(body.get("job_id"), "job_id")
        params = body.get("job_parameters", {})
        if not isinstance(params, dict):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "job_parameters must be an object")
        token = body.get("idempotency_token")
        if token is not None and (not isinstance(token, str) or not 0 < len(token) <= 64):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "idempotency_token: 1-64 characters")
        if job_id not in self.jobs:
            raise _missing("Job", job_id)
        defined = {p["name"]: p.get("default", "") for p in self.jobs[job_id].get("parameters", [])}
        for key, value in params.items():
            if key not in defined:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"job parameter {key!r} unknown")
            if not isinstance(value, str):
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"job parameter {key!r}: text")
        if token is not None and token in self._tokens:
            existing = self.runs[self._tokens[token]]
            return {"run_id": existing.run_id, "number_in_job": existing.number}
        run = StandInRun(
            run_id=self._new_id(),
            task_run_id=self._new_id(),
            job_id=job_id,
            number=sum(1 for r in self.runs.values() if r.job_id == job_id) + 1,
            parameters={**defined, **params},
            outcome=self.outcomes.popleft() if self.outcomes else Outcome(),
        )
        self.runs[run.run_id] = run
        if token is not None:
            self._tokens[token] = run.run_id
        return {"run_id": run.run_id, "number_in_job": run.number}

    def _find(self, ident: Any) -> StandInRun:
        number = _int(ident, "run_id")
        if number not in self.runs:
            raise _missing("Run", number)
        return self.runs[number]

    def _get_run(self, query: dict[str, str]) -> Any:
        run = self._find(query.get("run_id"))
        run.gets += 1
        shown = _run_json(run)
        if not run.ended and run.step < len(run.outcome.steps):
            run.step += 1
        return shown

    def _get_output(self, query: dict[str, str]) -> Any:
        number = _int(query.get("run_id"), "run_id")
        run = next((r for r in self.runs.values() if r.task_run_id == number), None)
        if run is None:
            if number in self.runs:
                raise ApiError(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "Retrieving the output of runs with multiple tasks is not supported.",
                )
            raise _missing("Run", number)
        answer: dict[str, Any] = {"metadata": _task_json(run)}
        if run.ended and not run.cancelled and run.outcome.final in ("FAILED", "TIMEDOUT"):
            answer["error"] = run.outcome.error or "udo job failed"
            answer["error_trace"] = f"Traceback (most recent call last):\n  ...\n{answer['error']}"
        return answer

    def _cancel(self, body: dict[str, Any]) -> Any:
        _only(body, {"run_id"}, "runs/cancel")
        run = self._find(body.get("run_id"))
        if not run.ended:
            run.cancelled = True
        return {}


# ------------------------------------------------------------------ run JSON
def _states(run: StandInRun) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, status) of the run as runs/get shows them now."""
    if run.cancelled:
        return (
            {
                "life_cycle_state": "TERMINATED",
                "result_state": "CANCELED",
                "state_message": "Run cancelled.",
                "user_cancelled_or_timedout": True,
            },
            {
                "state": "TERMINATED",
                "termination_details": {
                    "code": "CANCELED",
                    "type": "SUCCESS",
                    "message": "Run cancelled by the user.",
                },
            },
        )
    if run.step < len(run.outcome.steps) or run.outcome.final == "HOLD":
        step = run.outcome.steps[run.step] if run.step < len(run.outcome.steps) else "RUNNING"
        message = "Waiting for cluster" if step == "PENDING" else "In run"
        return (
            {"life_cycle_state": step, "state_message": message},
            {"state": step},
        )
    final = run.outcome.final
    if final == "SUCCESS":
        return (
            {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""},
            {
                "state": "TERMINATED",
                "termination_details": {"code": "SUCCESS", "type": "SUCCESS", "message": ""},
            },
        )
    if final in ("FAILED", "TIMEDOUT"):
        return (
            {
                "life_cycle_state": "TERMINATED",
                "result_state": final,
                "state_message": "Workload failed, see run output for details",
            },
            {
                "state": "TERMINATED",
                "termination_details": {
                    "code": "RUN_EXECUTION_ERROR",
                    "type": "CLIENT_ERROR",
                    "message": "Task clean failed with message: Workload failed, see run output "
                    "for details.",
                },
            },
        )
    if final == "INTERNAL_ERROR":
        message = "Cluster 0101-000000-standin was terminated: CLOUD_PROVIDER_LAUNCH_FAILURE"
        return (
            {
                "life_cycle_state": "INTERNAL_ERROR",
                "result_state": "FAILED",
                "state_message": message,
            },
            {
                "state": "TERMINATED",
                "termination_details": {
                    "code": "CLOUD_FAILURE",
                    "type": "CLOUD_FAILURE",
                    "message": message,
                },
            },
        )
    if final == "SKIPPED":
        message = (
            "Skipping this run because the limit of 1 maximum concurrent runs has been reached."
        )
        return (
            {"life_cycle_state": "SKIPPED", "state_message": message},
            {
                "state": "TERMINATED",
                "termination_details": {
                    "code": "MAX_CONCURRENT_RUNS_EXCEEDED",
                    "type": "CLIENT_ERROR",
                    "message": message,
                },
            },
        )
    raise AssertionError(f"unknown outcome {final}")


def _task_json(run: StandInRun) -> dict[str, Any]:
    state, status = _states(run)
    return {
        "run_id": run.task_run_id,
        "task_key": "clean",
        "state": state,
        "status": status,
        "attempt_number": 0,
    }


def _run_json(run: StandInRun) -> dict[str, Any]:
    state, status = _states(run)
    return {
        "job_id": run.job_id,
        "run_id": run.run_id,
        "number_in_job": run.number,
        "run_name": "udo-large",
        "run_type": "JOB_RUN",
        "format": "MULTI_TASK",
        "job_parameters": [
            {"name": k, "value": v, "default": ""} for k, v in sorted(run.parameters.items())
        ],
        "state": state,
        "status": status,
        "tasks": [_task_json(run)],
        "run_page_url": f"https://adb-0.0.azuredatabricks.net/#job/{run.job_id}/run/{run.run_id}",
        "start_time": 1_700_000_000_000,
    }


# --------------------------------------------------------------- validation
def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(400, "MALFORMED_REQUEST", f"{name} must be a JSON object")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():  # query strings
        return int(value)
    raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{name} must be an integer, not {value!r}")


def _only(body: dict[str, Any], allowed: set[str], op: str) -> None:
    extra = set(body) - allowed
    if extra:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{op}: unexpected fields {sorted(extra)}")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{name} must be a non-empty string")
    return value


def _check_settings(s: dict[str, Any]) -> None:
    """The checks jobs/create and jobs/reset make on job settings (the ones udo uses)."""
    _text(s.get("name"), "name")
    tasks = s.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "a job needs at least one task")
    params = s.get("parameters", [])
    if not isinstance(params, list):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "parameters must be a list")
    names = set()
    for p in params:
        _text(_object(p, "parameter").get("name"), "parameter name")
        if not isinstance(p.get("default"), str):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "a job parameter needs a default")
        names.add(p["name"])
    clusters = {}
    for c in s.get("job_clusters", []):
        key = _text(_object(c, "job cluster").get("job_cluster_key"), "job_cluster_key")
        new = _object(c.get("new_cluster"), "new_cluster")
        _text(new.get("spark_version"), "spark_version")
        _text(new.get("node_type_id"), "node_type_id")
        _int(new.get("num_workers"), "num_workers")
        for k, v in new.get("spark_env_vars", {}).items():
            if not isinstance(v, str):
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"spark_env_vars.{k}: text")
        clusters[key] = new
    for t in tasks:
        _text(_object(t, "task").get("task_key"), "task_key")
        py = _object(t.get("spark_python_task"), "spark_python_task")
        # the Jobs API takes a workspace path or a cloud file URI (dbfs:/, abfss://)
        python_file = _text(py.get("python_file"), "python_file")
        if not python_file.startswith(("/", "dbfs:/", "abfss://")):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "python_file must be absolute")
        args = py.get("parameters", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "task parameters must be strings")
        for arg in args:
            for ref in _REFERENCE.findall(arg):
                if ref not in names:
                    raise ApiError(
                        400, "INVALID_PARAMETER_VALUE", f"job parameter {ref!r} is not defined"
                    )
        has_existing = isinstance(t.get("existing_cluster_id"), str)
        key = t.get("job_cluster_key")
        if has_existing == (key is not None):
            raise ApiError(
                400, "INVALID_PARAMETER_VALUE", "a task needs one of existing_cluster_id, "
                "job_cluster_key"
            )  # fmt: skip
        if key is not None and key not in clusters:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"job cluster {key!r} not defined")
        for lib in t.get("libraries", []):
            kinds = set(_object(lib, "library")) & {"whl", "pypi", "jar", "maven", "requirements"}
            if len(kinds) != 1:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"bad library {lib!r}")
            if "pypi" in lib:
                _text(_object(lib["pypi"], "pypi").get("package"), "pypi.package")
    runs = s.get("max_concurrent_runs", 1)
    if _int(runs, "max_concurrent_runs") < 1:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "max_concurrent_runs must be >= 1")


# -------------------------------------------------------------- loopback
@contextmanager
def loopback_only() -> Iterator[list[object]]:
    """Refuse (and record) any connection leaving 127.0.0.1 / ::1 while active.

    The SDK probes the host's metadata and could look for OIDC or Azure endpoints; this
    makes a test fail loudly if it tries anything but the stand-in.
    """
    attempts: list[object] = []
    original = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1"):
            attempts.append(address)
            raise ConnectionRefusedError(f"stand-in tests stay on loopback, not {address!r}")
        return original(sock, address)

    socket.socket.connect = guarded  # type: ignore[method-assign, assignment]
    try:
        yield attempts
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]
