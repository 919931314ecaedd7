"""How Azure adapters find their storage account and credential, without leaking it."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from udo.adapters.azure.credentials import parse_connection_string, storage_account
from udo.config import AzureStorageSettings, Settings
from udo.errors import ConfigError

KEY = "c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3M="


def test_a_connection_string_gives_the_account_key_and_endpoints() -> None:
    settings = AzureStorageSettings(
        connection_string=SecretStr(
            f"DefaultEndpointsProtocol=https;AccountName=udolake;AccountKey={KEY};"
            "EndpointSuffix=core.windows.net"
        )
    )
    account = storage_account(settings)
    assert account.account == "udolake"
    assert account.blob_endpoint == "https://udolake.blob.core.windows.net"
    assert account.queue_endpoint == "https://udolake.queue.core.windows.net"
    assert account.dfs_endpoint == "https://udolake.dfs.core.windows.net"
    assert account.credential == {"account_name": "udolake", "account_key": KEY}
    assert KEY not in repr(account) and KEY not in str(account)


def test_explicit_endpoints_win_over_the_connection_string() -> None:
    settings = AzureStorageSettings(
        connection_string=SecretStr(
            f"AccountName=devstoreaccount1;AccountKey={KEY};"
            "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
        ),
        dfs_endpoint="http://127.0.0.1:9999/devstoreaccount1/",
    )
    account = storage_account(settings)
    assert account.blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert account.dfs_endpoint == "http://127.0.0.1:9999/devstoreaccount1"


def test_a_sas_connection_string_uses_the_sas() -> None:
    settings = AzureStorageSettings(
        connection_string=SecretStr(
            "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2024&sig=x"
        ),
        account="a",
    )
    assert storage_account(settings).credential == "sv=2024&sig=x"


@pytest.mark.parametrize(
    ("endpoint", "account"),
    [
        ("https://udolake.queue.core.windows.net", "udolake"),
        ("http://127.0.0.1:10001/devstoreaccount1", "devstoreaccount1"),
        ("http://localhost:10001/devstoreaccount1/", "devstoreaccount1"),
    ],
)
def test_a_sas_connection_string_without_account_name_takes_it_from_the_endpoint(
    endpoint: str, account: str
) -> None:
    settings = AzureStorageSettings(
        connection_string=SecretStr(f"QueueEndpoint={endpoint};SharedAccessSignature=sv=1&sig=x")
    )
    found = storage_account(settings)
    assert found.account == account
    assert found.queue_endpoint == endpoint.rstrip("/")


def test_an_account_name_alone_uses_default_azure_credential() -> None:
    from azure.identity import DefaultAzureCredential

    account = storage_account(AzureStorageSettings(account="udolake"))
    assert isinstance(account.credential, DefaultAzureCredential)
    assert account.account_key is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (AzureStorageSettings(), "needs an account"),
        (
            AzureStorageSettings(connection_string=SecretStr("AccountName=a;junk")),
            "has no '='",
        ),
        (
            AzureStorageSettings(connection_string=SecretStr(f"AccountName=a;Account={KEY}")),
            "neither AccountKey nor SharedAccessSignature",
        ),
    ],
)
def test_a_bad_configuration_is_named_without_the_secret(
    settings: AzureStorageSettings, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        storage_account(settings)
    assert KEY not in str(info.value)
    assert KEY[:12] not in repr(info.value)


def test_parse_keeps_values_with_equals_signs() -> None:
    assert parse_connection_string(f"AccountKey={KEY};A=b")["AccountKey"] == KEY


def test_secrets_are_masked_in_the_settings_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UDO_CLOUD", "azure")
    monkeypatch.setenv("UDO_AZURE__STORAGE__CONNECTION_STRING", f"AccountName=a;AccountKey={KEY}")
    monkeypatch.setenv("UDO_AZURE__SIGNALR__CONNECTION_STRING", f"Endpoint=x;AccessKey={KEY}")
    monkeypatch.setenv("UDO_AZURE__DATABRICKS__TOKEN", KEY)
    settings = Settings()
    assert settings.storage.type == "azure" and settings.queue.type == "azure"
    assert settings.notifier.type == "signalr" and settings.orchestrator.type == "adf"
    assert (settings.warehouse.type, settings.operational.type) == ("synapse", "mysql")
    dumped = settings.model_dump_json() + repr(settings)
    assert KEY not in dumped
