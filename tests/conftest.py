"""Shared fixtures."""

from __future__ import annotations

# --- destinations: real MariaDB / PostgreSQL for the Destination contract and integration
# tests. A service that cannot be reached SKIPS its tests with the reason, except under
# CI=true, where it FAILS them: a skipped integration test in CI hides a broken feature.
import os
from collections.abc import Callable

import pytest
from hypothesis import settings as hypothesis_settings

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
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}. CI=true: a skipped integration test hides a broken feature")
    pytest.skip(message)


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
