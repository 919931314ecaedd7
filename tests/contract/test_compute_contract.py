"""The ComputeService contract, run against every adapter.

- local: `LocalComputeAdapter` running a scripted runner in a thread;
- databricks: `DatabricksComputeAdapter` with the real databricks-sdk talking to the Jobs
  API stand-in (``tests/standins/databricks.py``, a local HTTP server on 127.0.0.1: there
  is no Databricks emulator), with every connection outside loopback refused.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from standins.databricks import TOKEN, DatabricksStandIn, Outcome, loopback_only
from udo.adapters.azure.databricks import DatabricksComputeAdapter, workspace_client
from udo.adapters.local.compute import LocalComputeAdapter
from udo.errors import TerminalError
from udo.ports.compute import (
    TERMINAL_STATES,
    ComputeJob,
    ComputeRunNotFound,
    ComputeService,
    ComputeState,
    ComputeTimeout,
    InvalidComputeJob,
    RunState,
)

JOB = ComputeJob(queue="large-queue")
RANK = {ComputeState.PENDING: 0, ComputeState.RUNNING: 1}


class Harness:
    """An adapter and a way to script what its next submitted job does."""

    service: ComputeService
    scripted_steps: bool
    """Whether PENDING and RUNNING are always seen before the end (a scripted service)."""

    def will_succeed(self) -> None:
        raise NotImplementedError

    def will_fail(self, error: str) -> None:
        raise NotImplementedError

    def will_hang(self) -> None:
        raise NotImplementedError


@dataclass
class LocalHarness(Harness):
    plans: deque[tuple[str, str]] = field(default_factory=deque)
    calls: list[ComputeJob] = field(default_factory=list)
    scripted_steps: bool = False

    def __post_init__(self) -> None:
        self.service = LocalComputeAdapter(self._runner, poll_seconds=0.01)

    def _runner(self, job: ComputeJob, cancelled: threading.Event) -> object:
        self.calls.append(job)
        kind, error = self.plans.popleft() if self.plans else ("ok", "")
        if kind == "fail":
            raise TerminalError(error)
        if kind == "hang":
            cancelled.wait(30)
        return {"queue": job.queue}

    def will_succeed(self) -> None:
        self.plans.append(("ok", ""))

    def will_fail(self, error: str) -> None:
        self.plans.append(("fail", error))

    def will_hang(self) -> None:
        self.plans.append(("hang", ""))


@dataclass
class DatabricksHarness(Harness):
    standin: DatabricksStandIn
    scripted_steps: bool = True

    def __post_init__(self) -> None:
        client = workspace_client(self.standin.host, TOKEN, retry_timeout_seconds=2)
        adapter = DatabricksComputeAdapter(
            client, job_id=self.standin.add_job(), poll_seconds=0.0, secret=TOKEN
        )
        self.service = adapter

    def will_succeed(self) -> None:
        self.standin.outcomes.append(Outcome("SUCCESS"))

    def will_fail(self, error: str) -> None:
        self.standin.outcomes.append(Outcome("FAILED", error=error))

    def will_hang(self) -> None:
        self.standin.outcomes.append(Outcome("HOLD"))


@pytest.fixture(params=["local", "databricks"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "local":
        local = LocalHarness()
        yield local
        local.service.close()
        return
    with loopback_only() as attempts, DatabricksStandIn() as standin:
        yield DatabricksHarness(standin)
        assert standin.problems == []
    assert attempts == [], f"connections outside loopback: {attempts}"


def _until(service: ComputeService, run: Any, state: ComputeState) -> RunState:
    """Poll until `run` is in `state` (a scripted service gets there in a few calls)."""
    deadline = time.monotonic() + 20
    while True:
        current = service.state(run)
        if current.state == state:
            return current
        assert not current.terminal, f"ended {current} before reaching {state}"
        assert time.monotonic() < deadline, f"never reached {state}: {current}"
        time.sleep(0.01)


def test_a_job_runs_to_success_and_states_only_move_forward(harness: Harness) -> None:
    harness.will_succeed()
    run = harness.service.submit(JOB)
    assert run.id and run.job == JOB
    seen: list[RunState] = []
    final = harness.service.wait(run, timeout=20, on_change=seen.append)
    assert final.state == ComputeState.SUCCEEDED and final.terminal
    assert seen[-1] == final
    assert all(not s.terminal for s in seen[:-1])
    ranks = [RANK[s.state] for s in seen[:-1]]
    assert ranks == sorted(ranks)
    if harness.scripted_steps:
        assert [s.state for s in seen] == [
            ComputeState.PENDING,
            ComputeState.RUNNING,
            ComputeState.SUCCEEDED,
        ]
    assert harness.service.state(run) == final  # an ended run does not change


def test_a_failed_job_keeps_its_error(harness: Harness) -> None:
    harness.will_fail("CleaningJobFailed: 1 of 1 run(s) did not succeed: r1 DEAD_LETTERED")
    run = harness.service.submit(JOB)
    final = harness.service.wait(run, timeout=20)
    assert final.state == ComputeState.FAILED
    assert final.message is not None and "r1 DEAD_LETTERED" in final.message


def test_cancel_stops_a_running_job_and_is_idempotent(harness: Harness) -> None:
    harness.will_hang()
    run = harness.service.submit(JOB)
    _until(harness.service, run, ComputeState.RUNNING)
    harness.service.cancel(run)
    final = harness.service.wait(run, timeout=20)
    assert final.state == ComputeState.CANCELLED
    harness.service.cancel(run)  # twice is the same as once
    harness.service.cancel(run.id)
    assert harness.service.state(run.id).state == ComputeState.CANCELLED


def test_cancelling_an_ended_run_changes_nothing(harness: Harness) -> None:
    harness.will_succeed()
    run = harness.service.submit(JOB)
    assert harness.service.wait(run, timeout=20).state == ComputeState.SUCCEEDED
    harness.service.cancel(run)
    assert harness.service.state(run).state == ComputeState.SUCCEEDED


def test_wait_times_out_but_the_run_goes_on(harness: Harness) -> None:
    harness.will_hang()
    run = harness.service.submit(JOB)
    _until(harness.service, run, ComputeState.RUNNING)
    with pytest.raises(ComputeTimeout, match="still RUNNING"):
        harness.service.wait(run, timeout=0.05)
    assert harness.service.state(run).state == ComputeState.RUNNING
    harness.service.cancel(run)
    assert harness.service.wait(run, timeout=20).state in TERMINAL_STATES


def test_unknown_runs_are_not_found(harness: Harness) -> None:
    for unknown in ("987654321", "local-0000", "not a run"):
        with pytest.raises(ComputeRunNotFound):
            harness.service.state(unknown)
        with pytest.raises(ComputeRunNotFound):
            harness.service.cancel(unknown)


def test_the_same_idempotency_key_is_one_run(harness: Harness) -> None:
    harness.will_succeed()
    first = harness.service.submit(JOB, idempotency_key="udo-r20250101-abc")
    again = harness.service.submit(JOB, idempotency_key="udo-r20250101-abc")
    assert again.id == first.id
    harness.will_succeed()
    other = harness.service.submit(JOB, idempotency_key="udo-r20250101-def")
    assert other.id != first.id
    for run in (first, other):
        assert harness.service.wait(run, timeout=20).state == ComputeState.SUCCEEDED
    with pytest.raises(InvalidComputeJob):
        harness.service.submit(JOB, idempotency_key="x" * 65)


def test_the_job_reaches_the_runner_as_submitted(harness: Harness) -> None:
    job = ComputeJob(queue="large-queue", dataset="shop", batch_id="b1", run_id="r1")
    harness.will_succeed()
    run = harness.service.submit(job)
    assert harness.service.wait(run, timeout=20).state == ComputeState.SUCCEEDED
    if isinstance(harness, LocalHarness):
        assert harness.calls == [job]
    else:
        assert isinstance(harness, DatabricksHarness)
        (call,) = harness.standin.calls("run-now")
        assert call.body["job_parameters"] == {
            "queue": "large-queue",
            "dataset": "shop",
            "batch": "b1",
            "run_id": "r1",
            "max_runs": "",
            "engine": "",
        }


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"queue": ""}, "needs the queue"),
        ({"queue": "large-queue", "dataset": "shop"}, "needs the run id"),
        ({"queue": "large-queue", "batch_id": "b1"}, "needs the run id"),
        ({"queue": "large-queue", "max_runs": 0}, "at least 1"),
        ({"queue": "large-queue", "run_id": "r1", "max_runs": 2}, "limits a queue drain"),
        ({"queue": "large-queue", "run_id": " "}, "non-empty"),
    ],
)
def test_invalid_jobs_are_refused_before_anything_runs(
    kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidComputeJob, match=problem):
        ComputeJob(**kwargs)
