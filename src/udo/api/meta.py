"""GET /api/health, /api/config and /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

import udo
from udo.api.events import events_kind
from udo.api.openapi import openapi_document
from udo.api.state import state

bp = Blueprint("meta", __name__)


@bp.get("/api/health")
def health() -> dict[str, Any]:
    """Liveness; open even when a token is configured."""
    return {"status": "ok", "version": udo.__version__}


def _scheme(url: str | None) -> str | None:
    """The database kind of a SQLAlchemy URL (``postgresql+psycopg://u:pw@h`` → postgresql)."""
    if not url:
        return None
    return url.split(":", 1)[0].split("+", 1)[0] or None


@bp.get("/api/config")
def config() -> dict[str, Any]:
    """What this udo is wired to: adapter kinds, routing, engines, triggers. No URLs, no secrets.

    ``events`` tells the web UI how to listen: "signalr" (POST /api/negotiate, then Azure
    SignalR Service) or "sse" (GET /api/events).
    """
    udo_app = state().udo
    s = udo_app.settings
    events = events_kind(udo_app.notifier)
    return {
        "cloud": s.cloud,
        "events": events,
        "adapters": {
            "storage": s.storage.type,
            "queue": s.queue.type,
            "metadata": _scheme(s.metadata.url) or s.metadata.type,
            "warehouse": s.warehouse.type,
            "operational": s.operational.type,
            "notifier": events,
            "orchestrator": s.orchestrator.type,
        },
        "routing": {"small_max_records": s.routing.small_max_records},
        "engines": {"small": s.engines.small, "large": s.engines.large},
        "triggers": {"small": s.triggers.small, "large": s.triggers.large},
    }


@bp.get("/api/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API."""
    return openapi_document()
