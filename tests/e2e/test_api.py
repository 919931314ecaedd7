"""The HTTP API over a real App (lake, SQLite queues and runs, polars) with Flask's client."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import SecretStr

from udo.api.app import create_app
from udo.api.options import ApiOptions, is_loopback
from udo.bootstrap import App
from udo.errors import ConfigError

pytestmark = pytest.mark.slow
TOKEN = "test-token-0123456789abcdef"


def generate(client: FlaskClient, **body: Any) -> dict[str, Any]:
    """POST /api/datasets/generate, expecting 201."""
    response = client.post("/api/datasets/generate", json=body)
    assert response.status_code == 201, response.get_json()
    found: dict[str, Any] = response.get_json()
    return found


def wait_for_run(client: FlaskClient, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll GET /api/runs/{run_id} until the run ends."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get(f"/api/runs/{run_id}").get_json()
        if run["status"] in ("SUCCEEDED", "DEAD_LETTERED", "FAILED"):
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
        time.sleep(0.1)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the JSON error shape with this status (and code)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    assert "Traceback" not in response.get_data(as_text=True)
    found: dict[str, Any] = error
    return found


# ---------------------------------------------------------------- the main job, shared
@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, make_udo: Callable[..., App]
) -> Iterator[dict[str, Any]]:
    """An e-commerce batch with dirt, generated, cleaned and drained through the API."""
    udo = make_udo(tmp_path_factory.mktemp("shop"))
    flask_app = create_app(udo)
    client = flask_app.test_client()
    batch = generate(client, preset="ecommerce", rows=300, seed=7, dirt="default")
    clean = client.post("/api/clean", json={"dataset": batch["dataset"]})
    assert clean.status_code == 202, clean.get_json()
    drain = client.post("/api/queues/small/drain")
    assert drain.status_code == 202
    assert drain.get_json() == {"route": "small", "started": True}
    run = wait_for_run(client, clean.get_json()["run_id"])
    yield {"udo": udo, "client": client, "batch": batch, "clean": clean.get_json(), "run": run}
    from udo.api.app import shutdown

    shutdown(flask_app, wait=True)


def test_generate_clean_drain_succeeds_with_a_balanced_ledger(shop: dict[str, Any]) -> None:
    batch, clean, run = shop["batch"], shop["clean"], shop["run"]
    assert batch["dataset"] == "ecommerce"
    assert set(batch["tables"]) == {"customers", "products", "orders", "order_items"}
    orders = batch["tables"]["orders"]
    assert orders["records"] >= 300 and orders["format"] == "parquet" and orders["malformed"] == 0
    assert orders["defects"] and sum(orders["defects"].values()) > 0
    assert clean["route"] == "small" and clean["status"] == "QUEUED" and not clean["reused"]
    assert clean["records"] == batch["records"] and clean["threshold"] == 10_000
    assert "small-queue" in clean["reason"]
    assert run["status"] == "SUCCEEDED", run["error"]
    assert run["engine"] == "polars" and run["attempts"] == 1 and run["stage"] == "done"
    statuses = [t["status"] for t in run["transitions"]]
    assert statuses[:3] == ["REQUESTED", "QUEUED", "RUNNING"] and statuses[-1] == "SUCCEEDED"
    assert {"silver", "gold"} <= set(run["stage_seconds"])
    ledger = run["ledger"]
    for name, t in ledger["tables"].items():
        assert t["bronze_in"] == batch["tables"][name]["records"]
        assert t["bronze_in"] == t["silver_out"] + t["quarantined"] + t["duplicates_removed"]
    assert set(ledger["marts"]) == {"daily_sales", "customer_lifetime_value", "product_performance"}


def test_the_same_clean_request_is_one_run(shop: dict[str, Any]) -> None:
    client: FlaskClient = shop["client"]
    again = client.post("/api/clean", json={"dataset": "ecommerce", "batch_id": None})
    assert again.status_code == 202
    body = again.get_json()
    assert body["reused"] is True and body["run_id"] == shop["clean"]["run_id"]
    assert body["status"] == "SUCCEEDED"


def test_silver_quarantine_and_gold_pages(shop: dict[str, Any]) -> None:
    client: FlaskClient = shop["client"]
    ledger = shop["run"]["ledger"]
    url = "/api/datasets/ecommerce/rows"
    silver = client.get(url, query_string={"layer": "silver", "table": "orders", "limit": 7})
    assert silver.status_code == 200
    page = silver.get_json()
    assert page["total"] == ledger["tables"]["orders"]["silver_out"]
    assert (page["offset"], page["limit"], len(page["rows"])) == (0, 7, 7)
    types = {c["name"]: c["type"] for c in page["columns"]}
    assert types["total"].startswith("decimal") and types["order_ts"].startswith("timestamp")
    row = page["rows"][0]
    assert isinstance(row["total"], str) and "." in row["total"]  # exact decimal as text
    assert "T" in row["order_ts"] and row["_batch_id"] == shop["batch"]["batch_id"]
    # paging is stable: two pages of 7 are the first 14 rows in _source_row order
    first14 = client.get(url, query_string={"layer": "silver", "table": "orders", "limit": 14})
    second = client.get(
        url, query_string={"layer": "silver", "table": "orders", "offset": 7, "limit": 7}
    )
    assert page["rows"] + second.get_json()["rows"] == first14.get_json()["rows"]
    sources = [r["_source_row"] for r in first14.get_json()["rows"]]
    assert sources == sorted(sources)

    quarantine = client.get(
        url,
        query_string={
            "layer": "quarantine",
            "table": "orders",
            "batch_id": shop["batch"]["batch_id"],
            "limit": 500,
        },
    ).get_json()
    assert quarantine["total"] == ledger["tables"]["orders"]["quarantined"] > 0
    assert len(quarantine["rows"]) == quarantine["total"]
    for r in quarantine["rows"]:
        assert isinstance(r["_reject_reasons"], list) and r["_reject_reasons"]
        assert r["_source_file"] == "orders.parquet"

    gold = client.get(
        url, query_string={"layer": "gold", "table": "daily_sales", "limit": 500}
    ).get_json()
    assert gold["total"] == ledger["marts"]["daily_sales"]
    keys = [(r["date"], r["country"], r["category"]) for r in gold["rows"]]
    assert keys == sorted(keys)
    assert isinstance(gold["rows"][0]["revenue"], str)
    past = client.get(
        url, query_string={"layer": "gold", "table": "daily_sales", "offset": 10**9}
    ).get_json()
    assert past["rows"] == [] and past["total"] == gold["total"]


def test_bronze_pages_and_manifest(shop: dict[str, Any]) -> None:
    client: FlaskClient = shop["client"]
    batch_id = shop["batch"]["batch_id"]
    page = client.get(
        "/api/datasets/ecommerce/rows",
        query_string={"layer": "bronze", "table": "customers", "offset": 60, "limit": 50},
    ).get_json()
    total = shop["batch"]["tables"]["customers"]["records"]
    assert page["total"] == total and len(page["rows"]) == total - 60
    assert [r["_source_row"] for r in page["rows"]] == list(range(60, total))
    manifest = client.get(f"/api/datasets/ecommerce/batches/{batch_id}/manifest")
    assert manifest.status_code == 200
    body = manifest.get_json()
    assert body["batch_id"] == batch_id and body["origin"] == "generated"
    assert body["tables"]["orders"]["records"] == shop["batch"]["tables"]["orders"]["records"]
    listed = client.get("/api/datasets").get_json()
    assert listed == [
        {
            "name": "ecommerce",
            "batches": [
                {
                    "batch_id": batch_id,
                    "origin": "generated",
                    "records": shop["batch"]["records"],
                    "created_at": body["created_at"],
                }
            ],
        }
    ]


def test_unknown_tables_batches_and_datasets_are_404(shop: dict[str, Any]) -> None:
    client: FlaskClient = shop["client"]
    url = "/api/datasets/ecommerce/rows"
    for params in (
        {"layer": "silver", "table": "nope"},
        {"layer": "gold", "table": "orders"},  # a table, not a mart
        {"layer": "bronze", "table": "orders", "batch_id": "b0"},
    ):
        assert_error(client.get(url, query_string=params), 404, "not_found")
    assert_error(
        client.get("/api/datasets/nope/rows", query_string={"layer": "silver", "table": "x"}), 404
    )
    assert_error(client.get("/api/datasets/ecommerce/batches/b0/manifest"), 404, "not_found")
    assert_error(client.get("/api/runs/r0"), 404, "not_found")
    assert_error(client.post("/api/clean", json={"dataset": "nope"}), 404, "not_found")
    assert_error(client.get("/api/presets/nope"), 404, "not_found")
    assert_error(client.post("/api/queues/medium/drain"), 404, "not_found")
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.delete("/api/runs"), 405, "method_not_allowed")
    invalid = client.get(url, query_string={"layer": "platinum", "table": "orders"})
    assert assert_error(invalid, 422, "validation_error")["details"][0]["loc"] == "layer"
    too_many = client.get(url, query_string={"layer": "silver", "table": "orders", "limit": 501})
    assert assert_error(too_many, 422)["details"][0]["loc"] == "limit"


def test_runs_list_and_filters(shop: dict[str, Any]) -> None:
    client: FlaskClient = shop["client"]
    runs = client.get("/api/runs").get_json()
    assert [r["id"] for r in runs] == [shop["clean"]["run_id"]]
    assert set(runs[0]) == {
        "id",
        "dataset",
        "batch_id",
        "records",
        "route",
        "engine",
        "status",
        "stage",
        "requested_at",
        "updated_at",
        "attempts",
        "error",
    }
    assert client.get("/api/runs?status=SUCCEEDED&dataset=ecommerce&limit=1").get_json() == runs
    assert client.get("/api/runs?status=FAILED").get_json() == []
    assert client.get("/api/runs?dataset=other").get_json() == []
    assert_error(client.get("/api/runs?status=DONE"), 422, "validation_error")
    assert_error(client.get("/api/runs?limit=0"), 422, "validation_error")
    assert_error(client.get("/api/runs?dataset=x;drop"), 400, "invalid_name")


def test_queues_and_triggers(shop: dict[str, Any]) -> None:
    client: FlaskClient = shop["client"]
    queues = client.get("/api/queues").get_json()
    assert queues == [
        {"route": "small", "name": "small-queue", "depth": 0, "poison": 0, "poison_messages": []},
        {"route": "large", "name": "large-queue", "depth": 0, "poison": 0, "poison_messages": []},
    ]
    triggers = client.get("/api/triggers").get_json()
    assert [(t["route"], t["spec"]) for t in triggers] == [
        ("small", "interval:600"),
        ("large", "cron:0 2 * * *"),
    ]
    assert all(t["next_fire_time"] and "T" in t["next_fire_time"] for t in triggers)


def test_poison_messages_are_listed(udo_app: App, client: FlaskClient) -> None:
    from udo.ports.queue import poison_name

    udo_app.queue.send(poison_name("small-queue"), "not a clean message")
    small = client.get("/api/queues").get_json()[0]
    assert small["poison"] == 1
    (message,) = small["poison_messages"]
    assert message["run_id"] is None and message["dataset"] is None and message["id"]


# ------------------------------------------------------------------------- meta, specs
def test_health_config_presets(client: FlaskClient) -> None:
    assert client.get("/api/health").get_json() == {"status": "ok", "version": "0.1.0"}
    config = client.get("/api/config").get_json()
    assert config == {
        "cloud": "local",
        "events": "sse",
        "adapters": {
            "storage": "local",
            "queue": "local",
            "metadata": "sqlite",
            "warehouse": "duckdb",
            "operational": "sqlite",
            "notifier": "sse",
            "orchestrator": "local",
        },
        "routing": {"small_max_records": 10_000},
        "engines": {"small": "polars", "large": "polars"},
        "triggers": {"small": "interval:600", "large": "cron:0 2 * * *"},
    }
    presets = client.get("/api/presets").get_json()
    assert presets == [
        {"name": "ecommerce", "tables": ["customers", "products", "orders", "order_items"]}
    ]
    preset = client.get("/api/presets/ecommerce").get_json()
    assert preset["name"] == "ecommerce" and "order_items:" in preset["yaml"]


def test_config_never_shows_urls_or_secrets(
    tmp_path: Path, build_api: Any, make_udo: Callable[..., App]
) -> None:
    udo = make_udo(
        tmp_path,
        warehouse={"type": "postgres", "url": "postgresql://udo:hunter2@db.example:5432/w"},
        metadata={"url": f"sqlite:///{tmp_path / 'runs.db'}"},
    )
    flask_app = build_api(udo, options=ApiOptions(token=SecretStr(TOKEN)))
    client = flask_app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/api/config", "/api/openapi.json", "/api/health", "/api/triggers"):
        text = client.get(path, headers=auth).get_data(as_text=True)
        assert "hunter2" not in text and TOKEN not in text and "runs.db" not in text
    assert client.get("/api/config", headers=auth).get_json()["adapters"]["warehouse"] == (
        "postgres"
    )


def test_openapi_document_describes_every_route(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    app = client.application
    served = {
        (method, rule.rule.replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert served == documented
    for item in doc["paths"].values():
        for op in item.values():
            for response in op["responses"].values():
                ref = response.get("$ref", "")
                assert (
                    not ref
                    or ref.removeprefix("#/components/responses/")
                    in (doc["components"]["responses"])
                )


SPEC_WITH_PROBLEMS = """\
spec_version: 1
name: shop
tables:
  orders:
    rows: 10
    fields:
      order_id: {type: int, sequence: {}}
      total:
        type: 'decimal(12,2)'
        min: 5
        max: 1
        distribution: {kind: uniform}
      customer_id: {type: int, fk: {table: customers}}
"""


def test_spec_validation_reports_locations_and_lines(client: FlaskClient, tiny_spec: str) -> None:
    response = client.post("/api/specs/validate", json={"yaml": SPEC_WITH_PROBLEMS})
    error = assert_error(response, 422, "invalid_spec")
    by_loc = {d["loc"]: d for d in error["details"]}
    assert "tables.orders.fields.total" in "".join(by_loc) or by_loc
    total = next(d for loc, d in by_loc.items() if loc.startswith("tables.orders.fields.total"))
    assert total["line"] in (8, 10, 11)  # `total:` or its `min:` / `max:`
    fk = next(d for loc, d in by_loc.items() if loc.startswith("tables.orders.fields.customer"))
    assert fk["line"] == 13 and "customers" in fk["message"]

    missing = "spec_version: 1\nname: x\ntables:\n  t:\n    rows: 3\n    fields:\n      a: {}\n"
    error = assert_error(client.post("/api/specs/validate", json={"yaml": missing}), 422)
    assert {d["line"] for d in error["details"]} == {7}  # the field whose type is missing

    syntax = "name: x\ntables: [unclosed\n"
    error = assert_error(client.post("/api/specs/validate", json={"yaml": syntax}), 422)
    assert error["details"][0]["line"] is not None and "YAML" in error["details"][0]["message"]

    ok = client.post("/api/specs/validate", json={"yaml": tiny_spec})
    assert ok.status_code == 200
    assert ok.get_json() == {"ok": True, "name": "tiny", "tables": ["people"]}

    bad_faker = tiny_spec.replace("first_name, pool", "no_such_method, pool")
    error = assert_error(client.post("/api/specs/validate", json={"yaml": bad_faker}), 422)
    assert error["details"] == [
        {
            "loc": "tables.people.fields.name.faker",
            "message": "unknown Faker method 'no_such_method'",
            "line": 10,
        }
    ]


def test_spec_bombs_and_bad_bodies_are_refused(client: FlaskClient) -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
    )
    error = assert_error(client.post("/api/specs/validate", json={"yaml": laughs}), 422)
    assert "YAML nodes" in error["details"][0]["message"]
    deep = "a: " + "[" * 5000 + "]" * 5000
    assert_error(client.post("/api/specs/validate", json={"yaml": deep}), 422, "invalid_spec")
    assert_error(
        client.post("/api/specs/validate", data="{not json", content_type="application/json"),
        400,
        "bad_request",
    )
    error = assert_error(client.post("/api/specs/validate", json={"yml": "x"}), 422)
    assert {d["loc"] for d in error["details"]} == {"yaml", "yml"}
    assert_error(client.post("/api/specs/validate", json=[1, 2]), 422, "validation_error")


def test_generate_checks_its_request(
    udo_app: App, client: FlaskClient, build_api: Callable[..., Flask], tiny_spec: str
) -> None:
    def post(**body: Any) -> Any:
        return client.post("/api/datasets/generate", json=body)

    error = assert_error(post(preset="ecommerce", spec_yaml=tiny_spec), 422, "validation_error")
    assert "exactly one" in error["details"][0]["message"]
    assert_error(post(), 422, "validation_error")
    error = assert_error(post(preset="ecommerce", dirt="filthy"), 422)
    assert error["details"][0]["loc"] == "dirt"
    error = assert_error(post(preset="ecommerce", dataset="../etc"), 422)
    assert error["details"][0]["loc"] == "dataset"
    error = assert_error(post(preset="nope"), 422, "invalid_spec")
    assert error["details"][0]["loc"] == "preset"
    error = assert_error(post(preset="ecommerce", rows=10**7), 422)
    assert error["details"][0]["loc"] == "rows"
    made = generate(client, spec_yaml=tiny_spec, format="csv", batch_id="b1", seed=1)
    assert made["dataset"] == "tiny" and made["batch_id"] == "b1"
    assert made["tables"]["people"]["format"] == "csv" and made["records"] == 25
    assert_error(post(spec_yaml=tiny_spec, batch_id="b1"), 409, "batch_exists")
    jsonl = generate(client, spec_yaml=tiny_spec, format="jsonl", dataset="people2", rows=5)
    assert jsonl["tables"]["people"] == {
        "records": 5,
        "bytes": jsonl["tables"]["people"]["bytes"],
        "format": "jsonl",
        "defects": None,
        "malformed": 0,
    }
    small = build_api(udo_app, options=ApiOptions(max_generate_rows=100)).test_client()
    error = assert_error(
        small.post(
            "/api/datasets/generate", json={"spec_yaml": tiny_spec.replace("rows: 25", "rows: 101")}
        ),
        422,
    )
    assert error["details"][0]["loc"] == "rows"


# ------------------------------------------------------------------------------ upload
def _parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"sku": ["A-1", "B-2"], "price": [1.5, 2.25]}), sink)
    return sink.getvalue()


def test_upload_csv_jsonl_and_parquet(client: FlaskClient) -> None:
    csv = b"order_id,total\n1,10.50\n2,7.25,extra\n3,1.00\n"
    jsonl = b'{"id": 1, "name": "Ada"}\n{"id": 2, "name": "Grace"}\n'
    response = client.post(
        "/api/datasets/shop/upload",
        data={
            "files": [
                (io.BytesIO(csv), "orders.csv"),
                (io.BytesIO(jsonl), "customers.jsonl"),
                (io.BytesIO(_parquet_bytes()), "products.parquet"),
            ],
            "batch_id": "u1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["dataset"] == "shop" and body["batch_id"] == "u1" and body["records"] == 7
    tables = body["tables"]
    assert (tables["orders"]["format"], tables["orders"]["records"]) == ("csv", 3)
    assert tables["orders"]["malformed"] == 1  # the ragged row, kept as received
    assert tables["customers"]["format"] == "jsonl" and tables["customers"]["records"] == 2
    assert tables["products"]["format"] == "parquet" and tables["products"]["defects"] is None
    page = client.get(
        "/api/datasets/shop/rows", query_string={"layer": "bronze", "table": "orders"}
    ).get_json()
    assert [r["order_id"] for r in page["rows"]] == ["1", "2", "3"]
    assert page["rows"][1]["_raw_error"] == "ragged_row"
    manifest = client.get("/api/datasets/shop/batches/u1/manifest").get_json()
    assert manifest["origin"] == "ingested"
    assert manifest["tables"]["customers"]["source_name"] == "customers.jsonl"

    again = client.post(
        "/api/datasets/shop/upload",
        data={"files": [(io.BytesIO(csv), "orders.csv")], "batch_id": "u1"},
        content_type="multipart/form-data",
    )
    assert_error(again, 409, "batch_exists")


def test_upload_refusals(
    udo_app: App, client: FlaskClient, build_api: Callable[..., Flask]
) -> None:
    def upload(dataset: str = "shop", **data: Any) -> Any:
        return client.post(
            f"/api/datasets/{dataset}/upload", data=data, content_type="multipart/form-data"
        )

    assert_error(upload(files=[(io.BytesIO(b"a\n1\n"), "../orders.csv")]), 400, "invalid_name")
    assert_error(upload(files=[(io.BytesIO(b"a\n1\n"), "/etc/orders.csv")]), 400)
    assert_error(upload(files=[(io.BytesIO(b"a\n1\n"), "..\\orders.csv")]), 400)
    assert_error(upload(files=[(io.BytesIO(b"a\n1\n"), "orders.exe")]), 422, "ingest_error")
    assert_error(upload(batch_id="b1"), 422, "validation_error")
    assert_error(upload(files=[(io.BytesIO(b"a\n"), "a.csv")], batch_id="x/y"), 422)
    assert_error(upload("x;drop", files=[(io.BytesIO(b"a\n1\n"), "a.csv")]), 400, "invalid_name")
    two = [(io.BytesIO(b"a\n1\n"), "a.csv"), (io.BytesIO(b"a\n2\n"), "a.csv")]
    assert_error(upload(files=two), 422, "validation_error")

    small = build_api(udo_app, options=ApiOptions(max_upload_bytes=1000)).test_client()
    big = small.post(
        "/api/datasets/shop/upload",
        data={"files": [(io.BytesIO(b"a,b\n" + b"1,2\n" * 1000), "big.csv")]},
        content_type="multipart/form-data",
    )
    error = assert_error(big, 413, "payload_too_large")
    assert "MAX_UPLOAD_BYTES" in error["message"]
    assert udo_app.bronze.datasets() == []  # nothing landed by any refusal


# ------------------------------------------------------------------------------ security
def test_token_auth(udo_app: App, build_api: Callable[..., Flask]) -> None:
    client = build_api(udo_app, options=ApiOptions(token=SecretStr(TOKEN))).test_client()
    assert client.get("/api/health").status_code == 200  # open
    missing = client.get("/api/config")
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.get("/api/config", headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(client.get("/api/config", headers={"Authorization": TOKEN}), 401)
    assert_error(client.get("/api/config", headers={"Authorization": f"Basic {TOKEN}"}), 401)
    assert_error(client.get("/api/openapi.json"), 401)
    assert_error(client.get("/api/events"), 401)
    assert_error(client.get(f"/api/config?access_token={TOKEN}"), 401)  # header only here
    assert_error(client.get("/api/events?access_token=wrong"), 401)
    stream = client.get(f"/api/events?access_token={TOKEN}", buffered=False)
    assert stream.status_code == 200  # EventSource cannot send headers
    stream.close()
    assert_error(client.post("/api/clean", json={"dataset": "x"}), 401)
    for scheme in ("Bearer", "bearer"):
        ok = client.get("/api/config", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert ok.status_code == 200 and TOKEN not in ok.get_data(as_text=True)


def test_refuses_to_serve_off_loopback_without_a_token(
    udo_app: App, build_api: Callable[..., Flask]
) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ConfigError, match="UDO_API__TOKEN"):
            create_app(udo_app, options=ApiOptions(host=host))
    with pytest.raises(ConfigError, match="too short"):
        create_app(udo_app, options=ApiOptions(host="0.0.0.0", token=SecretStr("short")))
    with pytest.raises(ConfigError, match="CORS"):
        create_app(udo_app, options=ApiOptions(cors_origin="*"))
    build_api(udo_app, options=ApiOptions(host="0.0.0.0", token=SecretStr(TOKEN)))
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "[::1]", "127.1.2.3"))
    assert ApiOptions.from_settings(udo_app.settings).host == "127.0.0.1"
    section = SimpleNamespace(host="0.0.0.0", port=9000, token=TOKEN, cors_origin=None)
    read = ApiOptions.from_settings(SimpleNamespace(api=section))
    assert (read.host, read.port, read.token_value) == ("0.0.0.0", 9000, TOKEN)
    assert TOKEN not in repr(read)  # a SecretStr, whatever the section held
    assert read.max_upload_bytes == ApiOptions().max_upload_bytes


def test_cors_only_for_the_configured_origin(udo_app: App, build_api: Callable[..., Flask]) -> None:
    origin = "http://localhost:5173"
    opts = ApiOptions(cors_origin=origin, token=SecretStr(TOKEN))
    client = build_api(udo_app, options=opts).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ok = client.get("/api/config", headers={**auth, "Origin": origin})
    assert ok.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in ok.headers["Vary"]
    other = client.get("/api/config", headers={**auth, "Origin": "http://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    denied = client.get("/api/config", headers={"Origin": origin})
    assert denied.status_code == 401  # the browser may read why
    assert denied.headers["Access-Control-Allow-Origin"] == origin
    preflight = client.options(
        "/api/clean",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204  # no token on preflights
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    evil = client.options("/api/clean", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    plain = build_api(udo_app).test_client().get("/api/health", headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(
    "url",
    [
        "/api/datasets/..%2Fetc/batches/b1/manifest",
        "/api/datasets/%2e%2e/batches/b1/manifest",
        "/api/datasets/shop/batches/%2e%2e/manifest",
        "/api/datasets/../etc/rows?layer=bronze&table=orders",
        "/api/datasets/%2e%2e/rows?layer=bronze&table=orders",
        "/api/datasets/x;drop/rows?layer=silver&table=orders",
        "/api/datasets/shop/rows?layer=silver&table=../etc",
        "/api/datasets/shop/rows?layer=silver&table=%2e%2e",
        "/api/datasets/shop/rows?layer=silver&table=/etc/passwd",
        "/api/datasets/shop/rows?layer=silver&table=orders;drop%20table%20x",
        "/api/datasets/shop/rows?layer=bronze&table=orders&batch_id=..%2F..",
        "/api/datasets/shop/rows?layer=bronze&table=orders%0A",
        "/api/datasets/%2Fetc%2Fpasswd/rows?layer=bronze&table=orders",
        "/api/runs/..%2F..%2Fudo.db",
        "/api/runs/x;drop",
        "/api/runs?dataset=x'%20OR%201=1",
    ],
)
def test_names_that_are_not_names_are_refused(
    url: str, udo_app: App, client: FlaskClient, tmp_path: Path, tiny_spec: str
) -> None:
    generate(client, spec_yaml=tiny_spec, dataset="shop", batch_id="b1")
    response = client.get(url)
    assert response.status_code in (400, 404)
    if response.mimetype == "application/json":
        error = assert_error(response, response.status_code)
        assert str(tmp_path) not in error["message"]


def test_unexpected_errors_are_500_without_details(
    udo_app: App, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken() -> None:
        raise RuntimeError("secret detail at /srv/udo/private.key")

    monkeypatch.setattr(udo_app.runs, "queue_status", broken)
    response = client.get("/api/queues")
    error = assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "secret detail" not in text and "RuntimeError" not in text and "File " not in text
    assert error["details"] == []
    assert "secret detail" in caplog.text  # logged for the operator


# ----------------------------------------------------------------------- drain, triggers
def test_drain_runs_in_the_background_one_at_a_time(
    udo_app: App, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow_drain(route: str) -> list[str]:
        started.set()
        release.wait(10)
        return []

    monkeypatch.setattr(udo_app.worker, "drain", slow_drain)
    first = client.post("/api/queues/small/drain")
    assert first.status_code == 202 and started.wait(5)
    assert_error(client.post("/api/queues/small/drain"), 409, "drain_in_progress")
    assert client.post("/api/queues/large/drain").status_code == 202  # another route
    release.set()
    assert client.application.extensions["udo"].drains.wait_idle(5)
    assert client.post("/api/queues/small/drain").status_code == 202


def test_background_triggers_drain_the_queue(
    tmp_path: Path, build_api: Callable[..., Flask], tiny_spec: str, make_udo: Callable[..., App]
) -> None:
    udo = make_udo(tmp_path, triggers={"small": "interval:0.3"})
    client = build_api(udo, start_background=True).test_client()
    generate(client, spec_yaml=tiny_spec)
    run_id = client.post("/api/clean", json={"dataset": "tiny"}).get_json()["run_id"]
    run = wait_for_run(client, run_id, timeout=30)  # nobody calls drain: the trigger does
    assert run["status"] == "SUCCEEDED"
    small = client.get("/api/triggers").get_json()[0]
    assert small["spec"] == "interval:0.3" and small["next_fire_time"]


# ----------------------------------------------------------------------------- events
class EventReader:
    """Reads a streamed text/event-stream response from Flask's test client."""

    def __init__(self, client: FlaskClient, **kwargs: Any) -> None:
        self.response = client.get("/api/events", buffered=False, **kwargs)
        assert self.response.status_code == 200
        assert self.response.mimetype == "text/event-stream"
        assert self.response.headers["Cache-Control"] == "no-cache"
        self.chunks = iter(self.response.response)
        self.buffer = ""
        first = self.next_block()
        assert first == "retry: 3000\n: connected"

    def next_block(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while "\n\n" not in self.buffer:
            assert time.monotonic() < deadline, "no event in time"
            chunk = next(self.chunks)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block

    def events(self, until: Callable[[dict[str, Any] | None], bool]) -> list[dict[str, Any]]:
        """Events (id, type, data) until `until` is true (None stands for a keep-alive)."""
        out: list[dict[str, Any]] = []
        while True:
            block = self.next_block()
            if block.startswith(":"):
                assert block == ": keep-alive"
                if until(None):
                    return out
                continue
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            event = {"id": int(fields["id"]), "type": fields["event"]}
            event["data"] = json.loads(fields["data"])
            assert event["data"]["type"] == event["type"]
            out.append(event)
            if until(event):
                return out

    def close(self) -> None:
        self.response.close()


def test_events_stream_live_and_replay_after_reconnecting(
    udo_app: App, client: FlaskClient, tiny_spec: str
) -> None:
    notifier: Any = udo_app.notifier
    generate(client, spec_yaml=tiny_spec)
    live = EventReader(client)
    assert len(notifier._subscribers) == 1
    run_id = client.post("/api/clean", json={"dataset": "tiny"}).get_json()["run_id"]
    assert client.post("/api/queues/small/drain").status_code == 202
    seen = live.events(lambda e: e is not None and e["type"] == "run.succeeded")
    live.close()
    assert len(notifier._subscribers) == 0  # unsubscribed when the client went away
    types = [e["type"] for e in seen]
    assert types[:2] == ["run.queued", "run.started"] and "run.stage" in types
    done = seen[-1]
    assert done["data"]["message"] == "Cleaning complete" and done["data"]["run_id"] == run_id
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # while nobody listens, a second run happens
    again = client.post("/api/clean", json={"dataset": "tiny", "force": True}).get_json()
    assert client.post("/api/queues/small/drain").status_code == 202
    assert wait_for_run(client, again["run_id"])["status"] == "SUCCEEDED"
    missed = [(i, e.type) for i, e in notifier.since(done["id"])]
    assert missed and missed[-1][1] == "run.succeeded"

    back = EventReader(client, headers={"Last-Event-ID": str(done["id"])})
    replayed = back.events(lambda e: e is None)  # everything kept, then a keep-alive
    back.close()
    assert [(e["id"], e["type"]) for e in replayed] == missed
    assert {e["data"]["run_id"] for e in replayed} == {again["run_id"]}

    query = EventReader(client, query_string={"last_event_id": done["id"]})
    assert [(e["id"], e["type"]) for e in query.events(lambda e: e is None)] == missed
    query.close()
    fresh = EventReader(client)  # no Last-Event-ID: only what happens from now on
    assert fresh.events(lambda e: e is None) == []
    fresh.close()
    assert_error(client.get("/api/events", headers={"Last-Event-ID": "abc"}), 400)
    assert len(notifier._subscribers) == 0


# ------------------------------------------------------------------------------ web UI
def test_serves_the_built_web_app(
    udo_app: App, build_api: Callable[..., Flask], tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "app.js").write_text("console.log('udo')")
    (tmp_path / "secret.txt").write_text("do not serve")
    client = build_api(udo_app, serve_ui=dist).test_client()
    assert b"id=root" in client.get("/").data
    assert client.get("/assets/app.js").data == b"console.log('udo')"
    route = client.get("/runs/r1")  # a client-side route
    assert route.status_code == 200 and b"id=root" in route.data
    assert client.get("/assets/missing.js").status_code == 404
    for sneaky in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        assert b"do not serve" not in client.get(sneaky).data
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert client.get("/api/health").status_code == 200
    with pytest.raises(ConfigError, match=r"index\.html"):
        create_app(udo_app, serve_ui=tmp_path / "empty")
