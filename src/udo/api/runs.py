"""Cleaning runs: POST /api/clean ("Clean Data"), GET /api/runs[/{run_id}], and
POST /api/runs/events (Data Factory's completion event)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from udo.api.errors import ApiError
from udo.api.inputs import check_name, json_body, query
from udo.api.models import CleanRequest, PipelineEventRequest, RunsQuery
from udo.api.state import state
from udo.api.values import iso
from udo.domain.run import Run
from udo.ports.notifier import RunEvent

bp = Blueprint("runs", __name__)


def run_json(run: Run) -> dict[str, Any]:
    """A run as listed."""
    return {
        "id": run.id,
        "dataset": run.dataset,
        "batch_id": run.batch_id,
        "records": run.records,
        "route": run.route,
        "engine": run.engine,
        "status": run.status.value,
        "stage": run.stage,
        "requested_at": iso(run.requested_at),
        "updated_at": iso(run.updated_at),
        "attempts": run.attempts,
        "error": run.error,
    }


def run_detail_json(run: Run) -> dict[str, Any]:
    """A run with its transitions, stage timings and ledger."""
    return {
        **run_json(run),
        "transitions": [t.model_dump(mode="json") for t in run.transitions],
        "stage_seconds": dict(run.stage_seconds),
        "ledger": run.ledger,
    }


@bp.post("/api/clean")
def clean() -> ResponseReturnValue:
    """Route a batch by its size and enqueue it; the same request twice is one run."""
    body = json_body(CleanRequest)
    req = state().udo.runs.request_clean(body.dataset, body.batch_id, force=body.force)
    answer = {
        "run_id": req.run.id,
        "route": req.decision.route,
        "records": req.decision.records,
        "threshold": req.decision.threshold,
        "reason": req.decision.reason,
        "reused": req.reused,
        "status": req.run.status.value,
    }
    return answer, 202


@bp.get("/api/runs")
def runs() -> list[dict[str, Any]]:
    """Runs, newest first."""
    q = query(RunsQuery)
    if q.dataset is not None:
        check_name("dataset", q.dataset)
    found = state().udo.metadata.list_runs(dataset=q.dataset, status=q.status, limit=q.limit)
    return [run_json(r) for r in found]


@bp.get("/api/runs/<run_id>")
def run(run_id: str) -> dict[str, Any]:
    """One run (404 if there is none with this id)."""
    check_name("run", run_id)
    return run_detail_json(state().udo.metadata.get_run(run_id))


@bp.post("/api/runs/events")
def pipeline_event() -> ResponseReturnValue:
    """Data Factory's pipelines post here when they have loaded Gold (their last activity).

    The event is published to every listener (SSE, SignalR) as ``pipeline.completed``.
    With a `run_id` (a run "Clean Data" started), the run must exist and the dataset and
    batch, when given, must be its own.
    """
    body = json_body(PipelineEventRequest)
    udo_app = state().udo
    dataset, batch_id = body.dataset, body.batch_id
    if body.run_id:
        run = udo_app.metadata.get_run(body.run_id)  # 404 if unknown
        for name, given, own in (
            ("dataset", dataset, run.dataset),
            ("batch_id", batch_id, run.batch_id),
        ):
            if given and given != own:
                raise ApiError(409, "conflict", f"run {run.id} is of {name} {own!r}, not {given!r}")
        if body.route != run.route:
            raise ApiError(
                409, "conflict", f"run {run.id} is on route {run.route!r}, not {body.route!r}"
            )
        dataset, batch_id = run.dataset, run.batch_id
    marts = [m for m in body.marts.split(",") if m]
    event = RunEvent(
        type="pipeline.completed",
        run_id=body.run_id,
        dataset=dataset,
        batch_id=batch_id,
        at=body.at,
        message=f"Data Factory {body.pipeline} finished: Gold loaded"
        + (f" ({', '.join(marts)})" if marts else ""),
        data={
            "route": body.route,
            "factory": body.factory,
            "pipeline": body.pipeline,
            "pipeline_run_id": body.pipeline_run_id,
            "trigger": body.trigger,
            "marts": marts,
        },
    )
    udo_app.notifier.publish(event)
    return {"published": event.type, "run_id": body.run_id}, 202
