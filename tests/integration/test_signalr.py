"""AzureSignalRNotifier against a stand-in of Azure SignalR Service (tests/standins/signalr.py).

There is no emulator for the serverless REST API: the stand-in is a local HTTP server on
127.0.0.1 that receives the notifier's real requests and checks path, api-version, JWT
(signature with the AccessKey, ``aud`` equal to the request URL, ``exp``) and body, then
answers 202 like the service (or 500 / 401 when a test says so). The API tests build the
Settings with ``cloud="local"`` and ``notifier.type="signalr"``: only the notifier is Azure.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from pydantic import SecretStr

from standins.signalr import ACCESS_KEY, SignalRStandIn
from udo.adapters.azure.signalr import TARGET, AzureSignalRNotifier, SignalRConnection
from udo.api.options import ApiOptions
from udo.bootstrap import App, bootstrap
from udo.config import Settings
from udo.domain.run import RunStatus
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.ports.notifier import RunEvent

API_TOKEN = "signalr-api-token-0123456789"


@pytest.fixture
def standin() -> Iterator[SignalRStandIn]:
    """A SignalR stand-in on a free loopback port, tokens allowed 3600 s."""
    with SignalRStandIn(max_token_seconds=3600) as server:
        yield server


def _event(kind: str = "run.succeeded", run_id: str = "r1") -> RunEvent:
    message = "Cleaning complete" if kind == "run.succeeded" else ""
    return RunEvent(
        type=kind,  # type: ignore[arg-type]
        run_id=run_id,
        dataset="shop",
        batch_id="b1",
        at=datetime(2025, 1, 1, 10, tzinfo=UTC),
        message=message,
        data={"ledger": {"orders": {"silver_out": 8}}},
    )


def _notifier(connection_string: str, **kwargs: Any) -> AzureSignalRNotifier:
    return AzureSignalRNotifier(SignalRConnection.parse(connection_string), **kwargs)


def _secrets_absent(text: str) -> None:
    assert ACCESS_KEY not in text
    assert "eyJ" not in text  # no JWT (they all start with the encoded '{"')


# ------------------------------------------------------------------------ publish
def test_publish_broadcasts_each_event_in_order_with_a_valid_token(
    standin: SignalRStandIn,
) -> None:
    notifier = _notifier(standin.connection_string(), hub="udo")
    kinds = ["run.queued", "run.started", "run.stage", "run.succeeded"]
    for kind in kinds:
        notifier.publish(_event(kind))
    assert notifier.flush(30)
    assert standin.problems == []
    assert [b.event.type for b in standin.broadcasts] == kinds
    last = standin.broadcasts[-1]
    assert last.hub == "udo" and last.target == TARGET
    assert last.event == _event("run.succeeded")
    assert last.event.message == "Cleaning complete"
    # a REST token is short-lived, whatever the client token's ttl
    assert 0 < last.claims["exp"] - last.claims["iat"] <= 300
    notifier.close()


def test_a_separate_port_part_is_used(standin: SignalRStandIn) -> None:
    notifier = _notifier(standin.connection_string(port_part=True), hub="h1")
    notifier.publish(_event())
    assert notifier.flush(30)
    assert standin.problems == [] and [b.hub for b in standin.broadcasts] == ["h1"]
    notifier.close()


def test_a_stand_in_answering_500_is_retried_then_given_up_without_secrets(
    standin: SignalRStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.status = 500
    notifier = _notifier(standin.connection_string(), retries=2, backoff=0.01)
    caplog.set_level(logging.DEBUG)
    notifier.publish(_event())  # returns at once; the sender retries in the background
    assert notifier.flush(30)
    assert standin.requests == 3 and standin.problems == []  # well-formed each time
    warnings = [r for r in caplog.records if r.name == "udo.adapters.azure.signalr"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "not broadcast after 3 attempt(s) (HTTP 500)" in warnings[0].getMessage()
    # while it is down, each further event gets one try, logged at debug only
    notifier.publish(_event("run.queued", "r2"))
    notifier.publish(_event("run.started", "r2"))
    assert notifier.flush(30)
    assert standin.requests == 5
    assert [r.levelno for r in caplog.records if r.name == warnings[0].name] == [
        logging.WARNING,
        logging.DEBUG,
        logging.DEBUG,
    ]
    _secrets_absent(caplog.text)
    # the service back: the next event goes through and that is said once
    standin.status = 202
    notifier.publish(_event("run.stage", "r3"))
    assert notifier.flush(30)
    assert [b.event.run_id for b in standin.broadcasts] == ["r3"]
    assert "reachable again" in caplog.records[-1].getMessage()
    notifier.close()


def test_a_refused_token_is_not_retried_and_is_logged_as_an_error(
    standin: SignalRStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = standin.connection_string().replace(
        ACCESS_KEY, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktMDA="
    )
    notifier = _notifier(wrong, retries=2, backoff=0.01)
    caplog.set_level(logging.INFO)
    notifier.publish(_event())
    assert notifier.flush(30)
    assert standin.requests == 1 and standin.broadcasts == []
    assert any("Signature" in p for p in standin.problems)  # the stand-in did check it
    (record,) = [r for r in caplog.records if r.name == "udo.adapters.azure.signalr"]
    assert record.levelno == logging.ERROR and "HTTP 401" in record.getMessage()
    _secrets_absent(caplog.text)
    assert "d3Jvbmcta2V5" not in caplog.text
    notifier.close()


def test_an_unreachable_service_is_logged_and_publish_never_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = _notifier(
        f"Endpoint=http://127.0.0.1:{port};AccessKey={ACCESS_KEY};Version=1.0;",
        retries=1,
        backoff=0.01,
    )
    caplog.set_level(logging.INFO)
    seen: list[RunEvent] = []
    notifier.subscribe(seen.append)
    notifier.publish(_event())
    assert seen == [_event()]  # in-process delivery does not wait for the service
    assert notifier.flush(30)
    (record,) = [r for r in caplog.records if r.name == "udo.adapters.azure.signalr"]
    message = record.getMessage()
    assert "unreachable" in message and "ConnectionRefusedError" in message
    _secrets_absent(caplog.text)
    notifier.close()


# ----------------------------------------------------------------------- pipeline
def _app(tmp: Path, standin: SignalRStandIn, **settings: Any) -> App:
    return bootstrap(
        Settings(
            cloud="local",
            data_dir=tmp,
            engines={"large": "polars"},
            worker={"retry_backoff_seconds": 0},
            notifier={"type": "signalr"},
            azure={"signalr": {"connection_string": SecretStr(standin.connection_string())}},
            **settings,
        )
    )


@pytest.mark.parametrize("status", [202, 500])
def test_a_run_broadcasts_cleaning_complete_and_never_fails_on_signalr(
    tmp_path: Path, standin: SignalRStandIn, status: int
) -> None:
    standin.status = status
    app = _app(tmp_path, standin)
    notifier = app.notifier
    assert isinstance(notifier, AzureSignalRNotifier)
    generate_batch(
        app.bronze,
        load_preset("ecommerce").scaled(50),
        batch_id="b1",
        dirt=DirtProfile.named("light"),
    )
    req = app.runs.request_clean("ecommerce", "b1")
    assert app.worker.drain("small") == [req.run.id]
    run = app.metadata.get_run(req.run.id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert notifier.flush(60)
    assert standin.problems == []
    kinds = [b.event.type for b in standin.broadcasts]
    if status == 202:
        assert kinds[:2] == ["run.queued", "run.started"] and kinds[-1] == "run.succeeded"
        assert standin.broadcasts[-1].event.message == "Cleaning complete"
        assert {b.event.run_id for b in standin.broadcasts} == {req.run.id}
    else:
        assert kinds == [] and standin.requests >= 3
    notifier.close()


# ---------------------------------------------------------------------------- API
def test_negotiate_redirects_to_signalr_with_a_token_the_service_accepts(
    tmp_path: Path, standin: SignalRStandIn, build_api: Callable[..., Flask]
) -> None:
    app = _app(tmp_path, standin)
    client = build_api(app).test_client()
    config = client.get("/api/config").get_json()
    assert config["events"] == "signalr" and config["adapters"]["notifier"] == "signalr"
    answer = client.post("/api/negotiate?negotiateVersion=1")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["url"] == f"{standin.endpoint}/client/?hub=udo"
    claims = jwt.decode(body["accessToken"], ACCESS_KEY, algorithms=["HS256"], audience=body["url"])
    assert claims["exp"] - claims["iat"] == 3600
    # what the SignalR client does next: negotiate with the service using that token
    follow = urllib.request.Request(
        f"{standin.endpoint}/client/negotiate?hub=udo&negotiateVersion=1",
        method="POST",
        headers={"Authorization": f"Bearer {body['accessToken']}"},
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(follow, timeout=10) as r:
        assert r.status == 200 and json.loads(r.read())["connectionId"]
    assert standin.problems == []
    for version in ("x", "-1", "²", "1.0"):  # "²".isdigit() is True in Python
        bad = client.post("/api/negotiate", query_string={"negotiateVersion": version})
        assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    # the token lifetime follows the settings
    short = bootstrap(
        Settings(
            cloud="local",
            data_dir=tmp_path / "short",
            notifier={"type": "signalr"},
            azure={
                "signalr": {
                    "connection_string": SecretStr(standin.connection_string()),
                    "token_ttl_seconds": 120,
                    "hub": "other",
                }
            },
        )
    )
    body = build_api(short).test_client().post("/api/negotiate").get_json()
    claims = jwt.decode(body["accessToken"], ACCESS_KEY, algorithms=["HS256"], audience=body["url"])
    assert body["url"].endswith("/client/?hub=other") and claims["exp"] - claims["iat"] == 120


def test_negotiate_keeps_the_api_token_rules(
    tmp_path: Path, standin: SignalRStandIn, build_api: Callable[..., Flask]
) -> None:
    options = ApiOptions(host="0.0.0.0", token=SecretStr(API_TOKEN))
    client = build_api(_app(tmp_path, standin), options=options).test_client()
    refused = client.post("/api/negotiate")
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    # the query token is for the EventSource stream only
    assert client.post(f"/api/negotiate?access_token={API_TOKEN}").status_code == 401
    ok = client.post("/api/negotiate", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert ok.status_code == 200
    _secrets_absent(
        client.get("/api/config", headers={"Authorization": f"Bearer {API_TOKEN}"}).get_data(
            as_text=True
        )
    )
    # a CORS preflight of the SignalR client is answered without the token
    assert client.options("/api/negotiate").status_code == 204


def test_local_mode_has_no_negotiate_and_reports_sse(
    tmp_path: Path, build_api: Callable[..., Flask]
) -> None:
    app = bootstrap(Settings(cloud="local", data_dir=tmp_path, engines={"large": "polars"}))
    client = build_api(app).test_client()
    config = client.get("/api/config").get_json()
    assert config["events"] == "sse" and config["adapters"]["notifier"] == "sse"
    missing = client.post("/api/negotiate?negotiateVersion=1")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    assert "/api/events" in missing.get_json()["error"]["message"]


def test_the_openapi_document_describes_negotiate_and_the_events_field(
    tmp_path: Path, build_api: Callable[..., Flask]
) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    app = bootstrap(Settings(cloud="local", data_dir=tmp_path, engines={"large": "polars"}))
    doc = build_api(app).test_client().get("/api/openapi.json").get_json()
    assert [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(doc)] == []
    negotiate = doc["paths"]["/api/negotiate"]["post"]
    assert set(negotiate["responses"]) >= {"200", "400", "401", "404"}
    schema = doc["components"]["schemas"]
    assert schema["Negotiate"]["required"] == ["url", "accessToken"]
    assert "events" in schema["Config"]["required"]
    assert schema["Config"]["properties"]["events"]["enum"] == ["sse", "signalr"]
