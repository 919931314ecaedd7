"""Schemas of the OpenAPI document: the API's own shapes, and the lake's pydantic models.

The Bronze manifest, the ledger and run events come from their pydantic models
(serialization mode: what the API writes), so the document cannot drift from them.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from udo.api.models import MAX_OFFSET, MAX_SPEC_CHARS, NAME_PATTERN, PipelineEventRequest
from udo.domain.ledger import Ledger
from udo.domain.manifest import BronzeManifest
from udo.domain.run import RunStatus
from udo.ports.notifier import RunEvent

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: list[str], properties: dict[str, Schema], **extra: Any) -> Schema:
    """An object schema."""
    return {"type": "object", "required": required, "properties": properties, **extra}


NAME: Schema = {"type": "string", "pattern": NAME_PATTERN}
DATETIME: Schema = {"type": "string", "format": "date-time"}
ROUTE: Schema = {"type": "string", "enum": ["small", "large"]}


def schemas() -> dict[str, Schema]:
    """Every component schema, by name."""
    _, defs = models_json_schema(
        [(BronzeManifest, "serialization"), (Ledger, "serialization"), (RunEvent, "serialization")],
        ref_template=REF,
    )
    models: dict[str, Schema] = defs["$defs"]
    table_result = obj(
        ["records", "bytes", "format", "defects", "malformed"],
        {
            "records": {"type": "integer"},
            "bytes": {"type": "integer"},
            "format": {"type": "string", "enum": ["parquet", "csv", "jsonl"]},
            "defects": nullable({"type": "object", "additionalProperties": {"type": "integer"}}),
            "malformed": {"type": "integer", "description": "rows kept as received, flagged"},
        },
    )
    run_summary = obj(
        [
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
        ],
        {
            "id": {"type": "string"},
            "dataset": {"type": "string"},
            "batch_id": {"type": "string"},
            "records": {"type": "integer"},
            "route": ROUTE,
            "engine": {"type": "string"},
            "status": ref("RunStatus"),
            "stage": nullable({"type": "string"}),
            "requested_at": DATETIME,
            "updated_at": DATETIME,
            "attempts": {"type": "integer"},
            "error": nullable({"type": "string"}),
        },
    )
    own: dict[str, Schema] = {
        "ErrorDetail": obj(
            ["loc", "message"],
            {
                "loc": {"type": "string", "description": "dotted path, e.g. tables.orders.rows"},
                "message": {"type": "string"},
                "line": nullable({"type": "integer", "description": "YAML line of `loc`"}),
            },
        ),
        "Error": obj(
            ["error"],
            {
                "error": obj(
                    ["code", "message", "details"],
                    {
                        "code": {"type": "string", "description": "snake_case error code"},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": ref("ErrorDetail")},
                    },
                )
            },
        ),
        "Health": obj(
            ["status", "version"],
            {"status": {"type": "string", "enum": ["ok"]}, "version": {"type": "string"}},
        ),
        "Config": obj(
            ["cloud", "events", "adapters", "routing", "engines", "triggers"],
            {
                "cloud": {"type": "string", "enum": ["local", "azure", "alicloud"]},
                "events": {
                    "type": "string",
                    "enum": ["sse", "signalr"],
                    "description": "how browsers get run events: GET /api/events (sse) or "
                    "POST /api/negotiate then Azure SignalR Service (signalr)",
                },
                "adapters": {
                    "type": "object",
                    "additionalProperties": nullable({"type": "string"}),
                    "description": "adapter kind of each port (never a URL or a secret)",
                },
                "routing": obj(["small_max_records"], {"small_max_records": {"type": "integer"}}),
                "engines": obj(
                    ["small", "large"],
                    {"small": {"type": "string"}, "large": {"type": "string"}},
                ),
                "triggers": obj(
                    ["small", "large"],
                    {"small": {"type": "string"}, "large": {"type": "string"}},
                ),
            },
        ),
        "Negotiate": obj(
            ["url", "accessToken"],
            {
                "url": {
                    "type": "string",
                    "description": "the service's client URL: <endpoint>/client/?hub=<hub>",
                },
                "accessToken": {
                    "type": "string",
                    "description": "a JWT for `url` only, short-lived",
                },
            },
        ),
        "Preset": obj(
            ["name", "tables"],
            {"name": {"type": "string"}, "tables": {"type": "array", "items": {"type": "string"}}},
        ),
        "PresetYaml": obj(
            ["name", "yaml"], {"name": {"type": "string"}, "yaml": {"type": "string"}}
        ),
        "SpecValidateRequest": obj(
            ["yaml"],
            {"yaml": {"type": "string", "maxLength": MAX_SPEC_CHARS}},
            additionalProperties=False,
        ),
        "SpecValid": obj(
            ["ok", "name", "tables"],
            {
                "ok": {"type": "boolean", "enum": [True]},
                "name": {"type": "string"},
                "tables": {"type": "array", "items": {"type": "string"}},
            },
        ),
        "BatchSummary": obj(
            ["batch_id", "origin", "records", "created_at"],
            {
                "batch_id": {"type": "string"},
                "origin": {"type": "string", "enum": ["generated", "ingested"]},
                "records": {"type": "integer"},
                "created_at": DATETIME,
            },
        ),
        "Dataset": obj(
            ["name", "batches"],
            {
                "name": {"type": "string"},
                "batches": {"type": "array", "items": ref("BatchSummary")},
            },
        ),
        "GenerateRequest": {
            "type": "object",
            "description": "Exactly one of `preset` and `spec_yaml` (422 otherwise).",
            "properties": {
                "preset": nullable({"type": "string", "maxLength": 100}),
                "spec_yaml": nullable({"type": "string", "maxLength": MAX_SPEC_CHARS}),
                "rows": nullable(
                    {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_OFFSET,
                        "description": "rows of the primary table; the server caps the "
                        "rows all tables may reach (422 past it)",
                    }
                ),
                "seed": nullable({"type": "integer", "minimum": 0, "maximum": 2**63 - 1}),
                "dirt": {"type": "string", "enum": ["none", "light", "default", "heavy"]},
                "format": nullable({"type": "string", "enum": ["parquet", "csv", "jsonl"]}),
                "dataset": nullable(NAME),
                "batch_id": nullable(NAME),
            },
            "additionalProperties": False,
        },
        "TableResult": table_result,
        "BatchResult": obj(
            ["dataset", "batch_id", "records", "tables"],
            {
                "dataset": {"type": "string"},
                "batch_id": {"type": "string"},
                "records": {"type": "integer"},
                "tables": {"type": "object", "additionalProperties": ref("TableResult")},
            },
        ),
        "Column": obj(
            ["name", "type"],
            {"name": {"type": "string"}, "type": {"type": "string", "description": "Arrow type"}},
        ),
        "RowsPage": obj(
            ["columns", "rows", "total", "offset", "limit"],
            {
                "columns": {"type": "array", "items": ref("Column")},
                "rows": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": True},
                    "description": "JSON-safe values: decimals as strings, times ISO 8601",
                },
                "total": {"type": "integer", "minimum": 0},
                "offset": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1},
            },
        ),
        "PipelineEvent": PipelineEventRequest.model_json_schema(ref_template=REF),
        "PipelineEventAccepted": obj(
            ["published", "run_id"],
            {"published": {"const": "pipeline.completed"}, "run_id": {"type": "string"}},
        ),
        "CleanRequest": obj(
            ["dataset"],
            {
                "dataset": NAME,
                "batch_id": nullable(NAME),
                "force": {"type": "boolean", "default": False},
            },
            additionalProperties=False,
        ),
        "CleanAccepted": obj(
            ["run_id", "route", "records", "threshold", "reason", "reused", "status"],
            {
                "run_id": {"type": "string"},
                "route": ROUTE,
                "records": {"type": "integer"},
                "threshold": {"type": "integer"},
                "reason": {"type": "string"},
                "reused": {"type": "boolean"},
                "status": ref("RunStatus"),
            },
        ),
        "RunStatus": {"type": "string", "enum": [s.value for s in RunStatus]},
        "RunSummary": run_summary,
        "RunTransition": obj(
            ["status", "at", "stage", "detail"],
            {
                "status": ref("RunStatus"),
                "at": DATETIME,
                "stage": nullable({"type": "string"}),
                "detail": nullable({"type": "string"}),
            },
        ),
        "RunDetail": {
            "allOf": [
                ref("RunSummary"),
                obj(
                    ["transitions", "stage_seconds", "ledger"],
                    {
                        "transitions": {"type": "array", "items": ref("RunTransition")},
                        "stage_seconds": {
                            "type": "object",
                            "additionalProperties": {"type": "number"},
                        },
                        "ledger": nullable(ref("Ledger")),
                    },
                ),
            ]
        },
        "PoisonMessage": obj(
            ["id", "run_id", "dataset", "batch_id", "enqueued_at"],
            {
                "id": {"type": "string"},
                "run_id": nullable({"type": "string"}),
                "dataset": nullable({"type": "string"}),
                "batch_id": nullable({"type": "string"}),
                "enqueued_at": DATETIME,
            },
        ),
        "Queue": obj(
            ["route", "name", "depth", "poison", "poison_messages"],
            {
                "route": ROUTE,
                "name": {"type": "string"},
                "depth": {"type": "integer", "minimum": 0},
                "poison": {"type": "integer", "minimum": 0},
                "poison_messages": {"type": "array", "items": ref("PoisonMessage")},
            },
        ),
        "DrainStarted": obj(["route", "started"], {"route": ROUTE, "started": {"type": "boolean"}}),
        "Trigger": obj(
            ["route", "spec", "next_fire_time"],
            {
                "route": ROUTE,
                "spec": {"type": "string", "description": "interval:<seconds> or cron:<crontab>"},
                "next_fire_time": nullable(DATETIME),
            },
        ),
    }
    clash = set(own) & set(models)
    assert not clash, f"schema names defined twice: {clash}"
    return {**models, **own}
