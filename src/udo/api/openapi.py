"""The OpenAPI 3.1 document of the API, served at /api/openapi.json.

Paths and responses are written here by hand; the component schemas are in
`udo.api.openapi_schemas`. tests/e2e/test_api_schemathesis.py checks live responses
against the document.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import udo
from udo.api.models import MAX_OFFSET, MAX_PAGE
from udo.api.openapi_schemas import NAME, Schema, ref, schemas

ERRORS: dict[str, str] = {
    "400": "Bad request: malformed JSON, or an invalid name in the path or query",
    "401": "Missing or invalid bearer token",
    "404": "No such dataset, batch, table, run, preset or route (or no SignalR here)",
    "409": "Conflict: the batch id is already landed, or the queue is already draining",
    "413": "The request body is larger than the server accepts",
    "422": "Validation failed; `details` lists each problem with its field path",
    "500": "Internal error (never a stack trace)",
    "503": "A service udo needs is busy or shutting down; try again",
}


def _responses(ok: str, ok_body: dict[str, Any], *errors: str, secured: bool = True) -> Schema:
    out: Schema = {ok: ok_body}
    codes = [*errors, "500", "503"] + (["401"] if secured else [])
    for code in sorted(set(codes)):
        out[code] = {"$ref": f"#/components/responses/E{code}"}
    return out


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or NAME,
    }


def _query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def _paths() -> dict[str, Any]:
    dataset = _path_param("dataset", "dataset name")
    return {
        "/api/health": {
            "get": {
                "operationId": "health",
                "tags": ["meta"],
                "summary": "Liveness (no token needed)",
                "security": [],
                "responses": _responses("200", _json(ref("Health"), "Alive"), secured=False),
            }
        },
        "/api/config": {
            "get": {
                "operationId": "getConfig",
                "tags": ["meta"],
                "summary": "Adapters, routing, engines and triggers (no URLs, no secrets)",
                "responses": _responses("200", _json(ref("Config"), "The configuration")),
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document",
                "responses": _responses("200", _json({"type": "object"}, "OpenAPI 3.1")),
            }
        },
        "/api/presets": {
            "get": {
                "operationId": "listPresets",
                "tags": ["specs"],
                "summary": "Built-in dataset specs",
                "responses": _responses(
                    "200", _json({"type": "array", "items": ref("Preset")}, "Presets")
                ),
            }
        },
        "/api/presets/{name}": {
            "get": {
                "operationId": "getPreset",
                "tags": ["specs"],
                "summary": "A preset as YAML",
                "parameters": [_path_param("name", "preset name", {"type": "string"})],
                "responses": _responses("200", _json(ref("PresetYaml"), "The preset"), "404"),
            }
        },
        "/api/specs/validate": {
            "post": {
                "operationId": "validateSpec",
                "tags": ["specs"],
                "summary": "Validate a DatasetSpec; 422 lists every problem with loc and line",
                "requestBody": _body(ref("SpecValidateRequest")),
                "responses": _responses(
                    "200", _json(ref("SpecValid"), "The spec is valid"), "400", "413", "422"
                ),
            }
        },
        "/api/datasets": {
            "get": {
                "operationId": "listDatasets",
                "tags": ["datasets"],
                "summary": "Datasets and their landed Bronze batches",
                "responses": _responses(
                    "200", _json({"type": "array", "items": ref("Dataset")}, "Datasets")
                ),
            }
        },
        "/api/datasets/generate": {
            "post": {
                "operationId": "generateDataset",
                "tags": ["datasets"],
                "summary": "Generate a synthetic batch from a preset or a spec",
                "requestBody": _body(ref("GenerateRequest")),
                "responses": _responses(
                    "201",
                    _json(ref("BatchResult"), "The landed batch"),
                    "400",
                    "409",
                    "413",
                    "422",
                ),
            }
        },
        "/api/datasets/{dataset}/upload": {
            "post": {
                "operationId": "uploadFiles",
                "tags": ["datasets"],
                "summary": "Land CSV / JSON lines / Parquet files as one Bronze batch",
                "description": "Each file becomes a table named after its stem "
                "(orders.csv → orders).",
                "parameters": [dataset],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["files"],
                                "properties": {
                                    "files": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {
                                            "type": "string",
                                            "contentMediaType": "application/octet-stream",
                                        },
                                    },
                                    "batch_id": NAME,
                                },
                            }
                        }
                    },
                },
                "responses": _responses(
                    "201",
                    _json(ref("BatchResult"), "The landed batch"),
                    "400",
                    "409",
                    "413",
                    "422",
                ),
            }
        },
        "/api/datasets/{dataset}/batches/{batch_id}/manifest": {
            "get": {
                "operationId": "getManifest",
                "tags": ["datasets"],
                "summary": "A batch's Bronze manifest",
                "parameters": [dataset, _path_param("batch_id", "batch id")],
                "responses": _responses(
                    "200", _json(ref("BronzeManifest"), "The manifest"), "400", "404"
                ),
            }
        },
        "/api/datasets/{dataset}/rows": {
            "get": {
                "operationId": "getRows",
                "tags": ["datasets"],
                "summary": "A page of rows of a table in one layer",
                "description": "Bronze in file order; Silver and quarantine sorted by "
                "_batch_id, _source_row; Gold by the mart's group-by columns.",
                "parameters": [
                    dataset,
                    _query(
                        "layer",
                        {"type": "string", "enum": ["bronze", "silver", "quarantine", "gold"]},
                        "layer",
                        required=True,
                    ),
                    _query("table", NAME, "table (or Gold mart) name", required=True),
                    _query(
                        "batch_id",
                        NAME,
                        "bronze: the batch (default the newest); silver/quarantine: filter",
                    ),
                    _query(
                        "offset",
                        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                        "rows to skip",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
                        "page size",
                    ),
                ],
                "responses": _responses(
                    "200", _json(ref("RowsPage"), "A page"), "400", "404", "422"
                ),
            }
        },
        "/api/clean": {
            "post": {
                "operationId": "requestClean",
                "tags": ["runs"],
                "summary": '"Clean Data": route a batch by size and enqueue it',
                "requestBody": _body(ref("CleanRequest")),
                "responses": _responses(
                    "202", _json(ref("CleanAccepted"), "Queued"), "400", "404", "413", "422"
                ),
            }
        },
        "/api/runs": {
            "get": {
                "operationId": "listRuns",
                "tags": ["runs"],
                "summary": "Runs, newest first",
                "parameters": [
                    _query("dataset", NAME, "only this dataset"),
                    _query("status", ref("RunStatus"), "only this status"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
                        "how many",
                    ),
                ],
                "responses": _responses(
                    "200",
                    _json({"type": "array", "items": ref("RunSummary")}, "Runs"),
                    "400",
                    "422",
                ),
            }
        },
        "/api/runs/{run_id}": {
            "get": {
                "operationId": "getRun",
                "tags": ["runs"],
                "summary": "A run with transitions, stage timings and ledger",
                "parameters": [_path_param("run_id", "run id")],
                "responses": _responses("200", _json(ref("RunDetail"), "The run"), "400", "404"),
            }
        },
        "/api/runs/events": {
            "post": {
                "operationId": "postPipelineEvent",
                "tags": ["runs"],
                "summary": "Data Factory's completion event, published as pipeline.completed",
                "description": "Posted by the last activity of the udo-small / udo-large "
                "pipelines once Gold is loaded. With a run_id, the run must exist (404) and "
                "the dataset and batch, when given, must be its own (409).",
                "requestBody": _body(ref("PipelineEvent")),
                "responses": _responses(
                    "202",
                    _json(ref("PipelineEventAccepted"), "Published"),
                    "400",
                    "404",
                    "409",
                    "413",
                    "422",
                ),
            }
        },
        "/api/queues": {
            "get": {
                "operationId": "listQueues",
                "tags": ["queues"],
                "summary": "Depth and poison messages of small-queue and large-queue",
                "responses": _responses(
                    "200", _json({"type": "array", "items": ref("Queue")}, "Queues")
                ),
            }
        },
        "/api/queues/{route}/drain": {
            "post": {
                "operationId": "drainQueue",
                "tags": ["queues"],
                "summary": "Drain a queue now, in the background",
                "parameters": [_path_param("route", "small or large", {"type": "string"})],
                "responses": _responses(
                    "202", _json(ref("DrainStarted"), "Draining started"), "404", "409"
                ),
            }
        },
        "/api/triggers": {
            "get": {
                "operationId": "listTriggers",
                "tags": ["queues"],
                "summary": "When each queue is drained next (UTC)",
                "responses": _responses(
                    "200", _json({"type": "array", "items": ref("Trigger")}, "Triggers")
                ),
            }
        },
        "/api/events": {
            "get": {
                "operationId": "events",
                "tags": ["events"],
                "summary": "Run events (Server-Sent Events)",
                "description": "Each event: `id: <n>`, `event: <type>`, `data: <RunEvent "
                "JSON>`. Types: run.queued, run.started, run.stage, run.succeeded (message "
                '"Cleaning complete"), run.failed, run.dead_lettered. Reconnecting with '
                "Last-Event-ID replays every kept event after it. `: keep-alive` comments "
                "every 15 s when idle.",
                "parameters": [
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    },
                    _query(
                        "last_event_id",
                        {"type": "integer", "minimum": 0},
                        "same as the Last-Event-ID header",
                    ),
                    _query(
                        "access_token",
                        {"type": "string"},
                        "the bearer token, for clients that cannot send headers (EventSource); "
                        "accepted on this route only",
                    ),
                ],
                "responses": _responses(
                    "200",
                    {
                        "description": "An endless event stream",
                        "content": {
                            "text/event-stream": {
                                "schema": {"type": "string"},
                                "x-event-schema": ref("RunEvent"),
                            }
                        },
                    },
                    "400",
                    "404",
                ),
            }
        },
        "/api/negotiate": {
            "post": {
                "operationId": "negotiate",
                "tags": ["events"],
                "summary": "SignalR negotiation: a redirect to Azure SignalR Service",
                "description": "Served when run events go through Azure SignalR Service "
                '(`events: "signalr"` in /api/config); 404 otherwise. The SignalR client '
                "(`withUrl('/api')`) posts here first and follows the redirect: it connects "
                "to `url` with `accessToken`, a token for that URL only that expires after "
                "UDO_AZURE__SIGNALR__TOKEN_TTL_SECONDS. Events arrive as the client method "
                "`runEvent` with one argument, a RunEvent.",
                "parameters": [
                    _query(
                        "negotiateVersion",
                        {"type": "integer", "minimum": 0},
                        "the SignalR client's negotiate protocol version (accepted, unused)",
                    ),
                ],
                "responses": _responses(
                    "200", _json(ref("Negotiate"), "Where and how to connect"), "400", "404"
                ),
            }
        },
    }


@cache
def _document() -> dict[str, Any]:
    responses = {
        f"E{code}": _json(ref("Error"), description) for code, description in ERRORS.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "udo API",
            "version": udo.__version__,
            "description": "The Universal AI Data Orchestrator over HTTP: generate or upload "
            "datasets into Bronze, request cleaning, watch runs and queues, read every layer. "
            "When the server has a token, every route but /api/health needs "
            "`Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in ("meta", "specs", "datasets", "runs", "queues", "events")],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas(),
            "responses": responses,
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())
