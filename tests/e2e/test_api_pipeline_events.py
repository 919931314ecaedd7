"""POST /api/runs/events: Data Factory's completion event, published to every listener.

The body is the one ``completion_body`` puts in the pipelines' WebActivity, with ADF's
expressions filled in as ADF fills them (empty strings for a scheduled drain).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from udo.adapters.azure.datafactory_models import completion_body
from udo.bootstrap import App
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.ports.notifier import RunEvent


def _filled(route: str, **values: str) -> dict[str, Any]:
    """`completion_body` as ADF sends it: each @{...} expression replaced by its value."""
    defaults = {
        "run_id": "",
        "dataset": "",
        "batch_id": "",
        "marts": "daily_sales,customer_lifetime_value",
        "factory": "udo-adf",
        "pipeline": f"udo-{route}",
        "pipeline_run_id": "7f1b0c1e-0000-4000-8000-000000000001",
        "trigger": "udo-small-every-10-minutes",
        "at": "2026-11-29T10:00:00.1234567Z",
    }
    defaults.update(values)
    body = completion_body(route)
    assert set(body) - {"source", "type", "route"} == set(defaults)  # every field filled
    return {**body, **defaults}


def test_a_scheduled_pipeline_event_is_published(
    udo_app: App, build_api: Callable[..., Flask]
) -> None:
    seen: list[RunEvent] = []
    udo_app.notifier.subscribe(seen.append)
    client = build_api(udo_app).test_client()
    response = client.post("/api/runs/events", json=_filled("small"))
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"published": "pipeline.completed", "run_id": ""}
    [event] = seen
    assert event.type == "pipeline.completed" and event.run_id == ""
    assert event.data["pipeline"] == "udo-small"
    assert event.data["marts"] == ["daily_sales", "customer_lifetime_value"]
    assert "Gold loaded" in event.message


def test_an_event_for_a_run_names_its_dataset_and_batch(
    udo_app: App, build_api: Callable[..., Flask]
) -> None:
    generate_batch(udo_app.bronze, load_preset("ecommerce").scaled(50), batch_id="b1")
    run = udo_app.runs.request_clean("ecommerce", "b1").run
    seen: list[RunEvent] = []
    udo_app.notifier.subscribe(seen.append)
    client = build_api(udo_app).test_client()
    response = client.post("/api/runs/events", json=_filled("small", run_id=run.id))
    assert response.status_code == 202, response.get_json()
    [event] = [e for e in seen if e.type == "pipeline.completed"]
    assert (event.run_id, event.dataset, event.batch_id) == (run.id, "ecommerce", "b1")


def test_bad_events_are_refused(udo_app: App, build_api: Callable[..., Flask]) -> None:
    generate_batch(udo_app.bronze, load_preset("ecommerce").scaled(50), batch_id="b1")
    run = udo_app.runs.request_clean("ecommerce", "b1").run
    client = build_api(udo_app).test_client()
    unknown = client.post("/api/runs/events", json=_filled("small", run_id="nope"))
    assert unknown.status_code == 404
    other = client.post("/api/runs/events", json=_filled("small", run_id=run.id, batch_id="b2"))
    assert other.status_code == 409
    assert "not 'b2'" in other.get_json()["error"]["message"]
    wrong_route = client.post("/api/runs/events", json=_filled("large", run_id=run.id))
    assert wrong_route.status_code == 409
    assert "route 'small'" in wrong_route.get_json()["error"]["message"]
    for broken in (
        {**_filled("small"), "at": "2026-11-29T10:00:00"},  # no offset: whose 10:00?
        {**_filled("small"), "source": "someone"},
        {**_filled("small"), "route": "medium"},
        {**_filled("small"), "dataset": "../etc"},
        {**_filled("small"), "extra": 1},
        {k: v for k, v in _filled("small").items() if k != "pipeline_run_id"},
    ):
        assert client.post("/api/runs/events", json=broken).status_code == 422, broken
