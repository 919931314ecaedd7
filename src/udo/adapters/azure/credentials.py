"""How the Azure adapters authenticate: a connection string, or DefaultAzureCredential.

Nothing here logs or returns a secret in an error: a malformed connection string is
reported by the names of its missing parts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from udo.config import AzureStorageSettings
from udo.errors import ConfigError


@dataclass(frozen=True)
class StorageAccount:
    """Where a storage account's endpoints are and how to authenticate to them."""

    blob_endpoint: str
    queue_endpoint: str
    dfs_endpoint: str
    credential: Any = field(repr=False)
    """An account-key dict, a SAS string, or a TokenCredential (DefaultAzureCredential)."""
    account: str = ""
    account_key: str | None = field(default=None, repr=False)


def parse_connection_string(text: str) -> dict[str, str]:
    """The ``Key=Value;`` parts of a storage connection string (keys as written)."""
    parts: dict[str, str] = {}
    for item in text.strip().strip(";").split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("UDO_AZURE__STORAGE__CONNECTION_STRING: a part has no '='")
        parts[key.strip()] = value.strip()
    return parts


def _account_of(endpoint: str) -> str | None:
    """The account an endpoint URL belongs to: its first host label, or (an emulator on an
    IP address or localhost, path-style) its first path segment."""
    url = urlsplit(endpoint)
    host = url.hostname or ""
    if host == "localhost" or host.replace(".", "").isdigit() or ":" in host:
        first = url.path.strip("/").split("/")[0]
        return first or None
    return host.split(".")[0] or None


def storage_account(settings: AzureStorageSettings) -> StorageAccount:
    """The account of `settings`: endpoints from overrides, the connection string or the name."""
    key: str | None = None
    sas: str | None = None
    name = settings.account
    protocol, suffix = "https", "core.windows.net"
    endpoints: dict[str, str | None] = {"blob": None, "queue": None, "dfs": None}
    if settings.connection_string is not None:
        parts = parse_connection_string(settings.connection_string.get_secret_value())
        name = parts.get("AccountName", name)
        key = parts.get("AccountKey")
        sas = parts.get("SharedAccessSignature")
        protocol = parts.get("DefaultEndpointsProtocol", protocol)
        suffix = parts.get("EndpointSuffix", suffix)
        endpoints["blob"] = parts.get("BlobEndpoint")
        endpoints["queue"] = parts.get("QueueEndpoint")
        if key is None and sas is None:
            raise ConfigError(
                "UDO_AZURE__STORAGE__CONNECTION_STRING has neither AccountKey nor "
                "SharedAccessSignature"
            )
    if name is None:  # a SAS connection string names endpoints, not always the account
        name = next(
            (_account_of(url) for url in endpoints.values() if url and _account_of(url)), None
        )
    if name is None:
        raise ConfigError(
            "Azure storage needs an account: set UDO_AZURE__STORAGE__ACCOUNT or "
            "UDO_AZURE__STORAGE__CONNECTION_STRING"
        )
    overrides = {
        "blob": settings.blob_endpoint,
        "queue": settings.queue_endpoint,
        "dfs": settings.dfs_endpoint,
    }
    resolved = {
        kind: (overrides[kind] or endpoints[kind] or f"{protocol}://{name}.{kind}.{suffix}")
        for kind in ("blob", "queue", "dfs")
    }
    credential: Any
    if key is not None:
        credential = {"account_name": name, "account_key": key}
    elif sas is not None:
        credential = sas
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return StorageAccount(
        blob_endpoint=resolved["blob"].rstrip("/"),
        queue_endpoint=resolved["queue"].rstrip("/"),
        dfs_endpoint=resolved["dfs"].rstrip("/"),
        credential=credential,
        account=name,
        account_key=key,
    )
