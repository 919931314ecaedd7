"""The OpenAPI document stays true: schemathesis against the live API (waitress, a thread).

The schema is loaded from the running server's /api/openapi.json; every operation but the
event stream and "drain now" is called with generated requests and checked: no 5xx, only
documented status codes and content types, and bodies that match their schemas. Three
kinds of requests: positive (valid by the schema), negative (invalid by the schema, bad
tokens included) and "known" (valid requests naming the live dataset, batch and run, so
the success bodies — manifests, pages of every layer, runs with their ledger — are checked
too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from udo.api.options import ApiOptions
from udo.bootstrap import App

pytestmark = pytest.mark.slow
TOKEN = "schemathesis-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SMALL_SPEC = "name: t\ntables: {t: {rows: 2, fields: {a: {type: int, sequence: {}}}}}\n"
LEFT_OUT = {"GET /api/events", "POST /api/queues/{route}/drain"}
"""The endless stream, and a drain that would race the live app's own work."""


def _operations() -> list[str]:
    """Labels of the operations checked (the document is static: read without a server)."""
    from udo.api.openapi import openapi_document

    doc = openapi_document()
    labels = [f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item]
    # schemathesis itself leaves out the URL it loaded the schema from
    return [label for label in labels if label not in LEFT_OUT | {"GET /api/openapi.json"}]


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, make_udo: Callable[..., App]
) -> Iterator[dict[str, str]]:
    """The API on 127.0.0.1:<free port> with one e-commerce batch, cleaned: url, ids."""
    from waitress.server import create_server

    from udo.api.app import create_app, shutdown

    udo = make_udo(tmp_path_factory.mktemp("live"))
    flask_app: Flask = create_app(
        udo, options=ApiOptions(token=SecretStr(TOKEN), max_generate_rows=5_000)
    )
    client = flask_app.test_client()
    body = {"preset": "ecommerce", "rows": 60, "dirt": "default", "format": "csv"}
    made = client.post("/api/datasets/generate", json=body, headers=AUTH)
    assert made.status_code == 201, made.get_json()
    batch_id = made.get_json()["batch_id"]
    run = client.post("/api/clean", json={"dataset": "ecommerce"}, headers=AUTH).get_json()
    assert client.post("/api/queues/small/drain", headers=AUTH).status_code == 202
    assert flask_app.extensions["udo"].drains.wait_idle(60)
    done = client.get(f"/api/runs/{run['run_id']}", headers=AUTH).get_json()
    assert done["status"] == "SUCCEEDED", done["error"]
    server: Any = create_server(
        flask_app, host="127.0.0.1", port=0, threads=4, channel_request_lookahead=1
    )
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield {
            "url": f"http://127.0.0.1:{server.effective_port}",
            "batch_id": batch_id,
            "run_id": run["run_id"],
        }
    finally:
        server.close()
        thread.join(5)
        shutdown(flask_app, wait=True)


@pytest.fixture(scope="module")
def api_schema(live: dict[str, str]) -> Any:
    """The live document, without the endless event stream and the background drain."""
    schema = schemathesis.openapi.from_url(f"{live['url']}/api/openapi.json", headers=AUTH)
    return schema.exclude(path="/api/events").exclude(path_regex=r"/drain$")


def _run(operation: Any, url: str, **strategy: Any) -> None:
    """Call `operation` with up to MAX_EXAMPLES generated requests and run the checks."""

    # Driven with @given rather than schemathesis' pytest plugin, whose lazy loader
    # (schemathesis.pytest.from_fixture) does not run under pytest 9.
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(**strategy))
    def check(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=AUTH, checks=CHECKS, timeout=60)

    check()


def test_the_live_document_is_served(live: dict[str, str], api_schema: Any) -> None:
    import requests
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    doc = requests.get(f"{live['url']}/api/openapi.json", headers=AUTH, timeout=10).json()
    assert doc["openapi"] == "3.1.0"
    assert [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(doc)] == []  # a valid OAS 3.1
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(_operations())


@pytest.mark.parametrize(
    ("label", "mode"),
    [
        (label, mode)
        for label in _operations()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        # health has no parameters, no body and needs no token: nothing to make invalid
        if not (mode == GenerationMode.NEGATIVE and label == "GET /api/health")
    ],
)
def test_generated_requests(
    label: str, mode: GenerationMode, api_schema: Any, live: dict[str, str]
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    _run(operation, live["url"], generation_mode=mode)


KNOWN: dict[str, tuple[str, Callable[[dict[str, str]], dict[str, Any]]]] = {
    "manifest": (
        "GET /api/datasets/{dataset}/batches/{batch_id}/manifest",
        lambda ids: {"path_parameters": {"dataset": "ecommerce", "batch_id": ids["batch_id"]}},
    ),
    "rows": (
        "GET /api/datasets/{dataset}/rows",
        lambda ids: {"path_parameters": {"dataset": "ecommerce"}, "query": {"table": "orders"}},
    ),
    "rows-gold": (
        "GET /api/datasets/{dataset}/rows",
        lambda ids: {
            "path_parameters": {"dataset": "ecommerce"},
            "query": {"layer": "gold", "table": "daily_sales"},
        },
    ),
    "run": ("GET /api/runs/{run_id}", lambda ids: {"path_parameters": {"run_id": ids["run_id"]}}),
    "runs": ("GET /api/runs", lambda ids: {"query": {"dataset": "ecommerce"}}),
    "preset": ("GET /api/presets/{name}", lambda ids: {"path_parameters": {"name": "ecommerce"}}),
    "clean": (
        "POST /api/clean",
        lambda ids: {"body": {"dataset": "ecommerce", "batch_id": ids["batch_id"]}},
    ),
    "validate": (
        "POST /api/specs/validate",
        lambda ids: {
            "body": {
                "yaml": "name: t\ntables: {t: {rows: 2, fields: {a: {type: int, sequence: {}}}}}"
            }
        },
    ),
    "generate": (
        "POST /api/datasets/generate",
        lambda ids: {"body": {"preset": "ecommerce", "rows": 0, "format": "jsonl"}},
    ),
}


@pytest.mark.parametrize("known", list(KNOWN))
def test_requests_naming_live_data(known: str, api_schema: Any, live: dict[str, str]) -> None:
    label, strategy = KNOWN[known]
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    _run(operation, live["url"], **strategy(live))


def test_the_api_answers_401_without_the_token(live: dict[str, str]) -> None:
    import requests

    response = requests.get(f"{live['url']}/api/datasets", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert requests.get(f"{live['url']}/api/health", timeout=10).status_code == 200


def test_sse_over_a_real_socket(live: dict[str, str]) -> None:
    import requests

    url = f"{live['url']}/api/events?last_event_id=0"
    with requests.get(url, headers=AUTH, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        lines = response.iter_lines(decode_unicode=True)
        assert next(lines) == "retry: 3000"
        assert next(lines) == ": connected"
        assert next(lines) == ""
        assert next(lines) == "id: 1"  # replayed over the socket: the live run's events
        assert next(lines) == "event: run.queued"
