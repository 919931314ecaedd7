"""The web UI end to end: `udo up` serves the built UI and the API, and web/e2e/run.mjs
drives the system's Chromium through Generate → Clean Data → Drain now → "Cleaning
complete" → Silver rows, saving a screenshot of every page.

This test builds nothing: `make web` (npm ci + npm run build) and `apt-get install
chromium` come first. Without them it skips with the reason, except under CI=true,
where it fails: a skipped browser test in CI hides a broken UI.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipping import unavailable

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = Path(os.environ.get("UDO_E2E_CHROMIUM", "/usr/bin/chromium"))
SERVER_START_S = 120
E2E_TIMEOUT_S = 900
# one screenshot per page the flow visits (web/e2e/run.mjs numbers them in order)
SCREENSHOTS = [
    "datasets",
    "generate",
    "generate-result",
    "dataset",
    "queues-cleaning-complete",
    "dataset-silver",
    "dataset-quarantine",
    "dataset-gold",
    "runs",
    "run-detail",
    "generate-spec-errors",
    "settings",
    "dataset-uploaded",
]


def _require(ok: bool, reason: str) -> None:
    if ok:
        return
    unavailable(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"`udo up` exited with {proc.returncode} before it was healthy:\n{_tail(log)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    pytest.fail(f"`udo up` not healthy after {SERVER_START_S} s ({last}):\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by its PID; SIGKILL it if it has not stopped in 20 s."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture
def udo_server(tmp_path: Path) -> Iterator[str]:
    """`udo up` on a free port with its data in a temp folder; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UDO_")}
    env.update(
        {
            "UDO_DATA_DIR": str(tmp_path / "udo-data"),
            "UDO_ENGINES__LARGE": "polars",  # no Spark start-up in a UI test
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = tmp_path / "udo-up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "udo.cli", "up", "--port", str(port), "--no-browser"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        _stop(proc)


def test_ui_end_to_end(udo_server: str, tmp_path: Path) -> None:
    """Generate, clean, drain and browse through the real server in Chromium."""
    shots = Path(os.environ.get("UDO_E2E_SCREENSHOTS") or tmp_path / "screenshots")
    env = {
        **os.environ,
        "UDO_E2E_URL": udo_server,
        "UDO_E2E_SCREENSHOTS": str(shots),
        "UDO_E2E_CHROMIUM": str(CHROMIUM),
    }
    try:
        result = subprocess.run(
            ["node", str(WEB / "e2e" / "run.mjs")],
            cwd=WEB,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=E2E_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        said = "\n".join(_text(x) for x in (exc.stdout, exc.stderr))
        pytest.fail(f"web/e2e/run.mjs did not finish in {E2E_TIMEOUT_S} s:\n{said}")
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"web/e2e/run.mjs failed (screenshots in {shots}):\n{output}"
    missing = [
        name
        for name in SCREENSHOTS
        if not any(p.stat().st_size > 0 for p in shots.glob(f"[0-9][0-9]-{name}.png"))
    ]
    assert not missing, f"screenshots missing in {shots}: {missing}\n{output}"


@pytest.fixture(autouse=True)
def _prerequisites() -> None:
    """Skip (or fail under CI=true) when the UI is not built or there is no browser."""
    _require((WEB / "dist" / "index.html").is_file(), "web/dist is not built: run `make web`")
    _require(
        (WEB / "node_modules" / "playwright-core").is_dir(),
        "web/node_modules is missing: run `cd web && npm ci`",
    )
    _require(shutil.which("node") is not None, "node is not on PATH (Node.js 20 is needed)")
    _require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
