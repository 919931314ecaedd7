"""Shared fixtures."""

from __future__ import annotations

# --- destinations: real MariaDB / PostgreSQL for the Destination contract and integration
# tests. A service that cannot be reached SKIPS its tests with the reason, except under
# CI=true, where it FAILS them: a skipped integration test in CI hides a broken feature.
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from hypothesis import settings as hypothesis_settings

from skipping import unavailable

# CI explores the same examples on every run (a fixed seed per test), so a landing is
# decided by the code, not by the draw; developers' runs keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

MYSQL_URL = os.environ.get("UDO_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
POSTGRES_URL = os.environ.get("UDO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_service_problems: dict[str, str | None] = {}


def require_service(name: str, url: str, probe: Callable[[], None]) -> None:
    """Skip (or fail under CI=true) unless `probe` reaches the service; probed once."""
    if name not in _service_problems:
        try:
            probe()
            _service_problems[name] = None
        except Exception as exc:
            _service_problems[name] = f"{type(exc).__name__}: {exc}"
    problem = _service_problems[name]
    if problem is None:
        return
    env = f"UDO_TEST_{name.upper()}_URL"
    message = f"{name} is not reachable at {url} ({problem}); start it or set {env}"
    unavailable(message)


def _probe_destination(factory: Callable[[], object]) -> Callable[[], None]:
    def probe() -> None:
        dest = factory()
        try:
            dest.table_schema("udo_probe_table")  # type: ignore[attr-defined]
        finally:
            dest.close()  # type: ignore[attr-defined]

    return probe


@pytest.fixture
def mysql_url() -> str:
    """URL of a reachable MySQL/MariaDB (skips, or fails in CI, if there is none)."""
    from udo.adapters.sql.mysql import MySQLDestination

    probe = _probe_destination(lambda: MySQLDestination.from_url(_quick(MYSQL_URL)))
    require_service("mysql", MYSQL_URL, probe)
    return MYSQL_URL


@pytest.fixture
def postgres_url() -> str:
    """URL of a reachable PostgreSQL (skips, or fails in CI, if there is none)."""
    from udo.adapters.sql.postgres import PostgresDestination

    probe = _probe_destination(lambda: PostgresDestination(POSTGRES_URL, connect_timeout=3))
    require_service("postgres", POSTGRES_URL, probe)
    return POSTGRES_URL


def _quick(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "connect_timeout=3"


# --- Azurite: the Azure Storage emulator (blob + queue) from tools/azurite (npm, pinned).
# One per pytest process (each xdist worker starts its own on free loopback ports), in
# memory, with --skipApiVersionCheck (Azurite rejects the SDK's newest API version).
# It has no ADLS Gen2 (dfs) endpoint: directory operations are tested on a stand-in.

AZURITE_BIN = Path(__file__).resolve().parent.parent / "tools/azurite/node_modules/.bin/azurite"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class Azurite:
    """A running Azurite: its endpoints and the well-known development account."""

    blob_endpoint: str
    queue_endpoint: str
    account: str = AZURITE_ACCOUNT
    key: str = AZURITE_KEY

    @property
    def connection_string(self) -> str:
        """The connection string the SDKs take (the development account's key)."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until_listening(
    log_path: Path, ports: list[int], proc: subprocess.Popen[bytes], timeout: float = 60.0
) -> None:
    """Until this Azurite says it listens on each of `ports` (a bare connect could reach
    another process's server on a port taken in between)."""
    wanted = [f"successfully listening at http://127.0.0.1:{port}" for port in ports]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite exited with {proc.returncode}")
        text = log_path.read_text(errors="replace")
        if all(line in text for line in wanted):
            return
        time.sleep(0.1)
    raise RuntimeError(f"azurite did not listen on 127.0.0.1:{ports} within {timeout:.0f} s")


def _start_azurite(
    workdir: Path,
) -> tuple[subprocess.Popen[bytes], BinaryIO, int, int] | None:
    blob, queue, table = _free_port(), _free_port(), _free_port()
    log_path = workdir / "azurite.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            str(AZURITE_BIN),
            "--silent",
            "--inMemoryPersistence",
            "--extentMemoryLimit", "1024",
            "--skipApiVersionCheck",
            "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", str(blob),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue),
            "--tableHost", "127.0.0.1", "--tablePort", str(table),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )  # fmt: skip
    try:
        _wait_until_listening(log_path, [blob, queue], proc)
    except RuntimeError as exc:
        proc.kill()
        proc.wait()
        log.close()
        _azurite_problem.append(f"{exc}; log: {log_path}")
        return None
    return proc, log, blob, queue


_azurite_problem: list[str] = []


@pytest.fixture(scope="session")
def azurite_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite | None]:
    """Start Azurite once per pytest process; None (with the reason kept) if it cannot run."""
    if not AZURITE_BIN.exists():
        _azurite_problem.append(f"{AZURITE_BIN} is missing: run `make azurite`")
        yield None
        return
    started = None
    for _ in range(3):  # a port taken between choosing and binding: choose again
        started = _start_azurite(tmp_path_factory.mktemp("azurite"))
        if started is not None:
            break
    if started is None:
        yield None
        return
    proc, log, blob, queue = started
    try:
        yield Azurite(
            blob_endpoint=f"http://127.0.0.1:{blob}/{AZURITE_ACCOUNT}",
            queue_endpoint=f"http://127.0.0.1:{queue}/{AZURITE_ACCOUNT}",
        )
    finally:
        proc.kill()  # in memory, nothing to flush; it ignores SIGTERM anyway
        proc.wait()
        log.close()


@pytest.fixture
def azurite(azurite_process: Azurite | None) -> Azurite:
    """A running Azurite (skips, or fails under CI=true, when it cannot start)."""
    if azurite_process is None:
        unavailable(f"Azurite is not available ({'; '.join(_azurite_problem)})")
    return azurite_process


# --- the API: Flask apps built in a test are shut down after it ----------------------------


@pytest.fixture
def build_api() -> Iterator[Callable[..., Any]]:
    """`create_app` that shuts every app it built down at the end of the test."""
    from udo.api.app import create_app, shutdown

    built: list[Any] = []

    def build(udo: Any, **kwargs: Any) -> Any:
        flask_app = create_app(udo, **kwargs)
        built.append(flask_app)
        return flask_app

    yield build
    for flask_app in built:
        shutdown(flask_app, wait=True)
