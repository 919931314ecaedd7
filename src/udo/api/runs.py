"""Cleaning runs: POST /api/clean ("Clean Data"), GET /api/runs[/{run_id}]."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from udo.api.inputs import check_name, json_body, query
from udo.api.models import CleanRequest, RunsQuery
from udo.api.state import state
from udo.api.values import iso
from udo.domain.run import Run

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
