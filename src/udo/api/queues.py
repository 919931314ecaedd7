"""Queues and triggers: depths, poison messages, "drain now", next fire times."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint
from flask.typing import ResponseReturnValue

from udo.api.errors import ApiError
from udo.api.state import state
from udo.api.values import iso
from udo.domain.run import CleanMessage, Route
from udo.errors import TerminalError
from udo.ports.queue import Message, poison_name

bp = Blueprint("queues", __name__)
ROUTES: tuple[Route, ...] = ("small", "large")
POISON_LISTED = 32


def _poison_json(message: Message) -> dict[str, Any]:
    run_id = dataset = batch_id = None
    try:
        body = CleanMessage.from_json(message.body)
        run_id, dataset, batch_id = body.run_id, body.dataset, body.batch_id
    except (TerminalError, ValueError):  # not one of ours: listed without its run
        pass
    return {
        "id": message.id,
        "run_id": run_id,
        "dataset": dataset,
        "batch_id": batch_id,
        "enqueued_at": iso(message.enqueued_at),
    }


@bp.get("/api/queues")
def queues() -> list[dict[str, Any]]:
    """small-queue and large-queue: depth, poison depth and the poison messages."""
    udo = state().udo
    status = udo.runs.queue_status()
    out = []
    for route, name in udo.queue_names.items():
        poison = udo.queue.peek(poison_name(name), max_messages=POISON_LISTED)
        out.append(
            {
                "route": route,
                "name": name,
                "depth": status[name]["depth"],
                "poison": status[name]["poison"],
                "poison_messages": [_poison_json(m) for m in poison],
            }
        )
    return out


@bp.post("/api/queues/<route>/drain")
def drain(route: str) -> ResponseReturnValue:
    """Start draining a queue in the background; 409 while a drain of it is running."""
    if route not in ROUTES:
        raise ApiError(404, "not_found", "no such route: use small or large")
    state().start_drain(cast(Route, route))
    return {"route": route, "started": True}, 202


@bp.get("/api/triggers")
def triggers() -> list[dict[str, Any]]:
    """When each queue is drained next (UTC); null while paused."""
    st = state()
    specs = {"small": st.udo.settings.triggers.small, "large": st.udo.settings.triggers.large}
    times = st.triggers.next_fire_times()
    out = []
    for route in ROUTES:
        at = times.get(route)
        out.append(
            {"route": route, "spec": specs[route], "next_fire_time": iso(at) if at else None}
        )
    return out
