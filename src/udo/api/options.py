"""What the API is configured with, and the rules it refuses to start without.

`ApiOptions` is read from ``settings.api`` (the ``[api]`` section, ``UDO_API__*``); until a
`Settings` carries that section, every field keeps its default. Nothing here reads the
environment.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pydantic import SecretStr

from udo.errors import ConfigError
from udo.net import is_loopback

MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ApiOptions:
    """Options of the HTTP API (`udo up`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: SecretStr | None = None
    """Bearer token every /api route but /api/health requires; mandatory off loopback."""
    cors_origin: str | None = None
    """The one browser origin allowed to call the API cross-origin (e.g. the Vite dev server)."""
    max_upload_bytes: int = 1024**3
    """Largest request body (uploads included); larger ones get 413."""
    max_generate_rows: int = 10_000_000
    """Most rows one POST /api/datasets/generate may make, all tables (children at their max)."""
    sse_keepalive_seconds: float = 15.0
    """Idle time after which the event stream sends a ``: keep-alive`` comment."""

    @classmethod
    def from_settings(cls, settings: Any) -> ApiOptions:
        """The options of ``settings.api`` (defaults for the fields it does not have)."""
        section = getattr(settings, "api", None)
        if section is None:
            return cls()
        values = {f.name: getattr(section, f.name) for f in fields(cls) if hasattr(section, f.name)}
        token = values.get("token")
        if isinstance(token, str):
            values["token"] = SecretStr(token)
        return cls(**values)

    @property
    def token_value(self) -> str | None:
        """The token's text, or None when no token is configured."""
        return self.token.get_secret_value() if self.token is not None else None

    def check(self) -> None:
        """Raise `ConfigError` unless these options are safe to serve with."""
        token = self.token_value
        if token is not None and len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"UDO_API__TOKEN is too short: use at least {MIN_TOKEN_CHARS} characters, e.g. "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        if token is None and not is_loopback(self.host):
            raise ConfigError(
                f"the API would listen on {self.host!r}, which is not a loopback address, "
                "without a token: set UDO_API__TOKEN (anyone who can reach the port could "
                "otherwise generate, upload and read data)"
            )
        if self.max_upload_bytes < 1:
            raise ConfigError("UDO_API__MAX_UPLOAD_BYTES must be at least 1")
        if self.cors_origin is not None and (
            self.cors_origin == "*" or "://" not in self.cors_origin
        ):
            raise ConfigError(
                "UDO_API__CORS_ORIGIN must be one origin such as http://localhost:5173, not '*'"
            )
