"""AzureSignalRNotifier without a network: connection strings, URLs, negotiate tokens."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr

from udo.adapters.azure.signalr import (
    REST_API_VERSION,
    AzureSignalRNotifier,
    SignalRConnection,
)
from udo.bootstrap import bootstrap
from udo.config import Settings
from udo.errors import ConfigError, TerminalError
from udo.ports.notifier import RunEvent

KEY = "dW5pdC10ZXN0LXNpZ25hbHItYWNjZXNzLWtleS0wMDAwMDA="
AZURE = f"Endpoint=https://udo-events.service.signalr.net;AccessKey={KEY};Version=1.0;"


def _notifier(text: str = AZURE, **kwargs: object) -> AzureSignalRNotifier:
    return AzureSignalRNotifier(SignalRConnection.parse(text), **kwargs)  # type: ignore[arg-type]


def test_the_connection_string_gives_endpoint_and_key() -> None:
    conn = SignalRConnection.parse(AZURE)
    assert conn.endpoint == "https://udo-events.service.signalr.net"
    assert conn.access_key.get_secret_value() == KEY
    assert KEY not in repr(conn) and not conn.is_loopback


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        (f"Endpoint=https://x.service.signalr.net/;AccessKey={KEY};Version=1.0", None),
        (f"endpoint=https://x.service.signalr.net;accesskey={KEY};port=8443;", ":8443"),
        (f"Endpoint=https://x.service.signalr.net:444;AccessKey={KEY};Port=8443;", ":8443"),
        (f"Endpoint=http://127.0.0.1:9999;AccessKey={KEY};", "loopback"),
        (f"Endpoint=http://localhost;AccessKey={KEY};Port=7000", "localhost"),
    ],
)
def test_endpoint_forms(text: str, endpoint: str | None) -> None:
    conn = SignalRConnection.parse(text)
    expected = {
        None: "https://x.service.signalr.net",
        ":8443": "https://x.service.signalr.net:8443",
        "loopback": "http://127.0.0.1:9999",
        "localhost": "http://localhost:7000",
    }[endpoint]
    assert conn.endpoint == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"AccessKey={KEY};Version=1.0;", "has no Endpoint"),
        ("Endpoint=https://x.service.signalr.net;Version=1.0;", "has no AccessKey"),
        ("Endpoint=https://x.service.signalr.net;AuthType=aad;", "AuthType=aad is not supported"),
        (f"Endpoint=http://x.service.signalr.net;AccessKey={KEY};", "must use https"),
        (f"Endpoint=ftp://x;AccessKey={KEY};", "must be an https:// URL"),
        (f"Endpoint=https://x.service.signalr.net/hub;AccessKey={KEY};", "scheme://host"),
        (f"Endpoint=https://x.service.signalr.net;AccessKey={KEY};Port=0;", "Port must be"),
        (f"Endpoint=https://x.service.signalr.net;{KEY.rstrip('=')};", "has no '='"),
    ],
)
def test_bad_connection_strings_are_config_errors_without_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        SignalRConnection.parse(text)
    assert KEY.rstrip("=") not in str(err.value)


@pytest.mark.parametrize("hub", ["", "1hub", "my-hub", "hub name"])
def test_invalid_hub_names_are_refused(hub: str) -> None:
    with pytest.raises(ConfigError, match="hub"):
        _notifier(hub=hub)


def test_urls_follow_the_rest_api() -> None:
    notifier = _notifier(hub="udo_runs")
    endpoint = "https://udo-events.service.signalr.net"
    assert notifier.broadcast_audience == f"{endpoint}/api/hubs/udo_runs/:send"
    assert notifier.broadcast_url == (
        f"{endpoint}/api/hubs/udo_runs/:send?api-version={REST_API_VERSION}"
    )
    assert notifier.client_url == f"{endpoint}/client/?hub=udo_runs"
    assert KEY not in repr(notifier)


def test_negotiate_token_is_for_the_client_url_and_expires_after_the_ttl() -> None:
    notifier = _notifier(hub="udo", token_ttl_seconds=900, clock=lambda: 1_700_000_000.0)
    answer = notifier.negotiate(None)
    assert set(answer) == {"url", "accessToken"}
    assert answer["url"] == "https://udo-events.service.signalr.net/client/?hub=udo"
    claims = jwt.decode(
        answer["accessToken"],
        KEY,
        algorithms=["HS256"],
        audience=answer["url"],
        options={"verify_exp": False},
    )
    assert claims == {"aud": answer["url"], "iat": 1_700_000_000, "exp": 1_700_000_900}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(answer["accessToken"], KEY[::-1], algorithms=["HS256"], audience=answer["url"])


def test_negotiate_for_a_user_adds_nameid_and_refuses_blank_ids() -> None:
    notifier = _notifier()
    token = notifier.negotiate("alice")["accessToken"]
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience=notifier.client_url)
    assert claims["nameid"] == "alice"
    for bad in ("", "   ", "x" * 129):
        with pytest.raises(TerminalError, match="user id"):
            notifier.negotiate(bad)


def test_in_process_subscribers_and_replay_keep_working(sample_event: RunEvent) -> None:
    # the endpoint is never reached here: the event is only queued for broadcast
    notifier = _notifier(f"Endpoint=http://127.0.0.1:9;AccessKey={KEY};", retries=0)
    seen: list[RunEvent] = []
    unsubscribe = notifier.subscribe(seen.append)
    notifier.publish(sample_event)
    unsubscribe()
    notifier.publish(sample_event)
    assert seen == [sample_event]
    assert [i for i, _ in notifier.since(0)] == [1, 2]
    assert [i for i, _ in notifier.since(1)] == [2]
    notifier.close(timeout=10)


def test_bootstrap_builds_it_when_the_notifier_type_is_signalr(tmp_path: Path) -> None:
    settings = Settings(
        cloud="local",
        data_dir=tmp_path,
        notifier={"type": "signalr"},
        azure={"signalr": {"connection_string": SecretStr(AZURE), "hub": "runs"}},
    )
    notifier = bootstrap(settings).notifier
    assert isinstance(notifier, AzureSignalRNotifier)
    assert notifier.hub == "runs" and notifier.token_ttl_seconds == 3600


def test_bootstrap_without_a_connection_string_says_what_to_set(tmp_path: Path) -> None:
    settings = Settings(cloud="local", data_dir=tmp_path, notifier={"type": "signalr"})
    with pytest.raises(ConfigError, match="UDO_AZURE__SIGNALR__CONNECTION_STRING"):
        _ = bootstrap(settings).notifier


@pytest.fixture
def sample_event() -> RunEvent:
    """A run.succeeded event."""
    from datetime import UTC, datetime

    return RunEvent(
        type="run.succeeded",
        run_id="r1",
        dataset="shop",
        batch_id="b1",
        at=datetime(2025, 1, 1, tzinfo=UTC),
        message="Cleaning complete",
    )


@pytest.mark.parametrize(
    "part", ["ClientEndpoint=https://gw.example.com", "ServerEndpoint=https://x"]
)
def test_endpoints_udo_cannot_honour_are_refused(part: str) -> None:
    from udo.adapters.azure.signalr import SignalRConnection
    from udo.errors import ConfigError

    text = f"Endpoint=https://udo.service.signalr.net;AccessKey=k3y-value;{part};Version=1.0;"
    with pytest.raises(ConfigError, match=part.split("=")[0]) as info:
        SignalRConnection.parse(text)
    assert "k3y-value" not in str(info.value)
