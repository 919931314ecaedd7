"""Routing, queues, worker, triggers, runs and crash safety on the embedded defaults."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from udo.bootstrap import App, bootstrap
from udo.config import Settings
from udo.domain.run import RunStatus
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.orchestration.triggers import parse_trigger
from udo.pipeline import delta
from udo.pipeline.engines.base import TableJob, TableResult
from udo.pipeline.engines.polars import PolarsEngine
from udo.ports.notifier import RunEvent
from udo.ports.queue import poison_name


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        "UDO_DATA_DIR": str(tmp),
        "UDO_QUEUE__VISIBILITY_TIMEOUT": "3",
        "UDO_ENGINES__LARGE": "polars",
        "UDO_WORKER__RETRY_BACKOFF_SECONDS": "0",
    }
    env.update(extra)
    return env


def _app(tmp: Path, **extra: str) -> App:
    env = _env(tmp, **extra)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return bootstrap(Settings())
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _batch(app: App, rows: int, batch_id: str, dirt: str = "default") -> None:
    generate_batch(
        app.bronze,
        load_preset("ecommerce").scaled(rows),
        batch_id=batch_id,
        dirt=DirtProfile.named(dirt),
    )


def test_routing_by_manifest_size(tmp_path: Path) -> None:
    app = _app(tmp_path, UDO_ROUTING__SMALL_MAX_RECORDS="10000")
    _batch(app, 300, "small1")  # ~2,300 products+customers+orders+items
    _batch(app, 3000, "large1")
    small = app.runs.request_clean("ecommerce", "small1")
    large = app.runs.request_clean("ecommerce", "large1")
    assert small.decision.route == "small" and small.run.status == RunStatus.QUEUED
    assert large.decision.route == "large" and large.decision.records > 10_000
    assert app.queue.depth("small-queue") == 1 and app.queue.depth("large-queue") == 1


def test_same_request_twice_is_one_run_unless_forced(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _batch(app, 200, "b1")
    first = app.runs.request_clean("ecommerce", "b1")
    again = app.runs.request_clean("ecommerce", "b1")
    assert again.reused and again.run.id == first.run.id
    assert app.queue.depth("small-queue") == 1
    forced = app.runs.request_clean("ecommerce", "b1", force=True)
    assert not forced.reused and forced.run.id != first.run.id
    assert app.queue.depth("small-queue") == 2


def test_drain_runs_the_pipeline_and_publishes_cleaning_complete(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _batch(app, 300, "b1")
    events: list[RunEvent] = []
    app.notifier.subscribe(events.append)
    req = app.runs.request_clean("ecommerce", "b1")
    assert app.worker.drain("small") == [req.run.id]
    run = app.metadata.get_run(req.run.id)
    assert run.status == RunStatus.SUCCEEDED and run.ledger is not None, run.error
    assert run.ledger["tables"]["orders"]["bronze_in"] > 0
    assert set(run.stage_seconds) >= {"silver", "gold"}
    statuses = [t.status for t in app.metadata.transitions(run.id)]
    assert statuses[0] == RunStatus.REQUESTED and statuses[1] == RunStatus.QUEUED
    assert statuses[-1] == RunStatus.SUCCEEDED
    steps = app.metadata.transitions(run.id)
    assert all(b.at >= a.at for a, b in itertools.pairwise(steps))
    types = [e.type for e in events]
    assert types[:2] == ["run.queued", "run.started"] and "run.stage" in types
    assert types[-1] == "run.succeeded"
    assert events[-1].message == "Cleaning complete"
    assert app.queue.depth("small-queue") == 0
    # a redelivered message of a finished run is acknowledged without work
    assert app.worker.drain("small") == []


def test_a_batch_that_always_fails_ends_in_poison(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _batch(app, 200, "b1")
    # damage a Bronze file after landing: every attempt fails
    path = Path(app.storage.uri("bronze/ecommerce/b1/orders.parquet"))
    path.write_bytes(b"not parquet at all")
    req = app.runs.request_clean("ecommerce", "b1")
    app.worker.drain("small")
    run = app.metadata.get_run(req.run.id)
    assert run.status == RunStatus.DEAD_LETTERED
    assert run.error and "orders.parquet" in run.error
    assert app.queue.depth("small-queue") == 0
    assert app.queue.depth(poison_name("small-queue")) == 1


class FlakyEngine(PolarsEngine):
    """The real polars engine, failing with a transient error the first `failures` times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def clean(self, job: TableJob) -> TableResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("warehouse connection reset")
        return super().clean(job)


@pytest.mark.parametrize(
    ("failures", "expected"), [(2, RunStatus.SUCCEEDED), (99, RunStatus.DEAD_LETTERED)]
)
def test_transient_failures_are_retried_until_poison(
    tmp_path: Path, failures: int, expected: RunStatus
) -> None:
    app = _app(tmp_path)
    flaky = FlakyEngine(failures)
    app.worker.engine_factory = lambda name: flaky
    _batch(app, 200, "b1")
    req = app.runs.request_clean("ecommerce", "b1")
    app.worker.drain("small")
    run = app.metadata.get_run(req.run.id)
    assert run.status == expected, run.error
    if expected == RunStatus.DEAD_LETTERED:
        assert run.attempts == app.settings.queue.max_dequeue
        assert run.error and "connection reset" in run.error
        assert app.queue.depth(poison_name("small-queue")) == 1
    else:
        assert run.attempts == failures + 1, run.error


def test_triggers_default_schedule_and_drain_now(tmp_path: Path) -> None:
    app = _app(tmp_path, UDO_TRIGGERS__SMALL="interval:600", UDO_TRIGGERS__LARGE="cron:0 2 * * *")
    trig = app.triggers()
    times = trig.next_fire_times()
    now = datetime.now(UTC)
    assert times["small"] is not None and now < times["small"] <= now + timedelta(seconds=601)
    large = times["large"]
    assert large is not None and (large.astimezone(UTC).hour, large.minute) == (2, 0)
    _batch(app, 200, "b1")
    req = app.runs.request_clean("ecommerce", "b1")
    trig.start()
    try:
        trig.drain_now("small")
        deadline = time.monotonic() + 60
        while app.metadata.get_run(req.run.id).status != RunStatus.SUCCEEDED:
            assert time.monotonic() < deadline, "drain now did not run the queued batch"
            time.sleep(0.2)
    finally:
        trig.shutdown()


def test_invalid_trigger_is_a_clear_error() -> None:
    from udo.errors import ConfigError

    with pytest.raises(ConfigError, match="interval"):
        parse_trigger("every:5m")


# ------------------------------------------------------------------ crash safety
def _tables(lake: Path) -> dict[str, pl.DataFrame]:
    out = {}
    for layer in ("silver", "quarantine", "gold"):
        for folder in sorted((lake / layer / "ecommerce").iterdir()):
            table = delta.read(str(folder))
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.drop([c for c in ("_ingested_at",) if c in frame.columns])
            out[f"{layer}/{folder.name}"] = frame.sort(frame.columns)
    return out


def _worker(tmp: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **_env(tmp, UDO_WORKER__STAGE_PAUSE_SECONDS="0.6", **extra)}
    return subprocess.Popen(
        [sys.executable, "-m", "udo.cli", "worker", "--route", "small"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_stage(app: App, run_id: str, prefix: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        run = app.metadata.get_run(run_id)
        if run.status == RunStatus.RUNNING and (run.stage or "").startswith(prefix):
            return
        assert time.monotonic() < deadline, (
            f"never reached stage {prefix}: {run.status} {run.stage}"
        )
        time.sleep(0.05)


@pytest.mark.slow
# killed after some tables of the layer are written and before the others
@pytest.mark.parametrize("stage", ["silver orders", "gold customer_lifetime_value"])
def test_kill_9_during_a_stage_then_the_run_completes_identically(
    tmp_path: Path, stage: str
) -> None:
    reference = _app(tmp_path / "reference")
    _batch(reference, 400, "b1")
    ref_req = reference.runs.request_clean("ecommerce", "b1")
    reference.worker.drain("small")
    expected_ledger = reference.metadata.get_run(ref_req.run.id).ledger

    crashy = tmp_path / "crashy"
    app = _app(crashy)
    _batch(app, 400, "b1")
    req = app.runs.request_clean("ecommerce", "b1")
    proc = _worker(crashy)
    try:
        _wait_stage(app, req.run.id, stage)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert app.metadata.get_run(req.run.id).status == RunStatus.RUNNING
    time.sleep(3.5)  # the visibility timeout: the message comes back
    assert app.worker.drain("small") == [req.run.id]
    run = app.metadata.get_run(req.run.id)
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
    assert run.ledger is not None and expected_ledger is not None
    assert run.ledger["tables"] == expected_ledger["tables"]
    assert run.ledger["marts"] == expected_ledger["marts"]
    got, want = _tables(crashy / "lake"), _tables(tmp_path / "reference" / "lake")
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].equals(want[name]), name


@pytest.mark.slow
def test_sigterm_finishes_the_current_run_then_stops(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _batch(app, 300, "b1")
    req = app.runs.request_clean("ecommerce", "b1")
    proc = _worker(tmp_path)
    try:
        _wait_stage(app, req.run.id, "silver")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    assert app.metadata.get_run(req.run.id).status == RunStatus.SUCCEEDED
    assert app.queue.depth("small-queue") == 0
