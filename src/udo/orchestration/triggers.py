"""Triggers: small-queue every 10 minutes, large-queue daily at 02:00 UTC (APScheduler).

A trigger spec is ``interval:<seconds>`` or ``cron:<minute hour day month weekday>``
(UTC). "Drain now" runs a queue's job at once; next fire times are queryable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from udo.domain.run import Route
from udo.errors import ConfigError
from udo.orchestration.worker import Worker


def parse_trigger(spec: str) -> Any:
    """An APScheduler trigger from ``interval:<seconds>`` or ``cron:<crontab>``."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind, _, value = spec.partition(":")
    try:
        if kind == "interval":
            seconds = float(value)
            if seconds <= 0:
                raise ValueError("must be positive")
            return IntervalTrigger(seconds=seconds, timezone="UTC")
        if kind == "cron":
            return CronTrigger.from_crontab(value.strip(), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"invalid trigger {spec!r}: {exc}") from exc
    raise ConfigError(f"invalid trigger {spec!r}: use interval:<seconds> or cron:<crontab>")


class Triggers:
    """A background scheduler draining each queue on its trigger."""

    def __init__(self, worker: Worker, specs: dict[Route, str]) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.worker = worker
        self.scheduler = BackgroundScheduler(timezone="UTC")
        for route, spec in specs.items():
            self.scheduler.add_job(
                worker.drain,
                trigger=parse_trigger(spec),
                args=[route],
                id=f"drain-{route}",
                name=f"drain {route}-queue",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )

    def start(self) -> None:
        """Start firing (in background threads)."""
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing; with `wait`, let running drains finish."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def next_fire_times(self) -> dict[Route, datetime | None]:
        """When each queue is drained next (None while paused or not started)."""
        out: dict[Route, datetime | None] = {}
        for job in self.scheduler.get_jobs():
            route: Route = job.args[0]
            out[route] = getattr(job, "next_run_time", None)
        if not self.scheduler.running:
            now = datetime.now().astimezone()
            for job in self.scheduler.get_jobs():
                out[job.args[0]] = job.trigger.get_next_fire_time(None, now)
        return out

    def drain_now(self, route: Route) -> None:
        """Fire the queue's job at once (in the scheduler's threads)."""
        from datetime import UTC

        self.scheduler.modify_job(f"drain-{route}", next_run_time=datetime.now(UTC))
