"""The heavy path on Azure Databricks: DatabricksComputeAdapter and the job entry point.

The adapter is tested with the real databricks-sdk against a stand-in of the Jobs API
(``tests/standins/databricks.py``: a local HTTP server on 127.0.0.1, since there is no
Databricks emulator) that checks each request (paths, bearer token, JSON fields and
types) and moves runs through their states; every connection leaving loopback is
refused. The job's entry point (``cloud/azure/databricks/udo_job.py``) is run in-process
on the embedded defaults with the polars engine (Spark itself is tested elsewhere).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
import tomllib
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest
from databricks.sdk.service.jobs import Run

from standins.databricks import TOKEN, DatabricksStandIn, Outcome, loopback_only
from standins.signalr import SignalRStandIn
from udo.adapters.azure.databricks import (
    JOB_PARAMETERS,
    RUNTIME_PACKAGES,
    DatabricksComputeAdapter,
    DatabricksJobSpec,
    job_definition,
    map_run_state,
)
from udo.adapters.local.compute import JobReport, LocalComputeAdapter
from udo.bootstrap import App, bootstrap
from udo.config import Settings
from udo.domain.run import RunStatus
from udo.errors import ConfigError, TerminalError, TransientError
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch
from udo.ports.compute import (
    ComputeJob,
    ComputeRunNotFound,
    ComputeState,
    ComputeUnavailable,
    InvalidComputeJob,
)
from udo.ports.queue import poison_name

ROOT = Path(__file__).resolve().parents[2]
JOB_DIR = ROOT / "cloud" / "azure" / "databricks"
JOB = ComputeJob(queue="large-queue")


@pytest.fixture
def standin() -> Iterator[DatabricksStandIn]:
    with loopback_only() as attempts, DatabricksStandIn() as server:
        yield server
    assert attempts == [], f"connections outside loopback: {attempts}"


def _settings(host: str, token: str | None = TOKEN, job_id: int | None = None) -> Settings:
    databricks: dict[str, Any] = {"host": host, "job_id": job_id, "poll_seconds": 0.01}
    if token is not None:
        databricks["token"] = token
    return Settings(cloud="local", azure={"databricks": databricks})


def _adapter(standin: DatabricksStandIn, **kw: Any) -> DatabricksComputeAdapter:
    settings = _settings(standin.host, **kw)
    return DatabricksComputeAdapter.from_settings(settings, retry_timeout_seconds=1)


def _no_token_anywhere(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert TOKEN not in text and TOKEN not in repr(exc)


# ------------------------------------------------------------------ requests
def test_run_now_get_and_cancel_send_what_the_jobs_api_takes(
    standin: DatabricksStandIn,
) -> None:
    adapter = _adapter(standin, job_id=standin.add_job())
    standin.outcomes.append(Outcome("HOLD"))
    run = adapter.submit(
        ComputeJob(queue="large-queue", max_runs=3, engine="spark"), idempotency_key="k-1"
    )
    assert adapter.state(run).state == ComputeState.PENDING
    adapter.cancel(run)
    assert adapter.wait(run).state == ComputeState.CANCELLED
    assert standin.problems == []
    (now,) = standin.calls("run-now")
    assert now.method == "POST" and now.version in ("2.1", "2.2")
    assert now.headers["authorization"] == f"Bearer {TOKEN}"
    assert now.headers["content-type"].startswith("application/json")
    assert isinstance(now.body["job_id"], int) and not isinstance(now.body["job_id"], bool)
    assert now.body["idempotency_token"] == "k-1"
    assert now.body["job_parameters"] == {
        "queue": "large-queue",
        "dataset": "",
        "batch": "",
        "run_id": "",
        "max_runs": "3",
        "engine": "spark",
    }
    gets = standin.calls("runs/get")
    assert gets and all(g.query["run_id"] == run.id and g.method == "GET" for g in gets)
    (cancel,) = standin.calls("runs/cancel")
    assert cancel.body == {"run_id": int(run.id)}
    hosts = {r.headers["host"] for r in standin.requests}
    assert hosts == {standin.host.removeprefix("http://")}


@pytest.mark.parametrize(
    ("outcome", "state", "message"),
    [
        (Outcome("SUCCESS"), ComputeState.SUCCEEDED, None),
        (
            Outcome("FAILED", error="CleaningJobFailed: r1 DEAD_LETTERED: bad orders.parquet"),
            ComputeState.FAILED,
            "task clean: CleaningJobFailed: r1 DEAD_LETTERED: bad orders.parquet",
        ),
        (Outcome("TIMEDOUT", error="timed out"), ComputeState.FAILED, "timed out"),
        (Outcome("INTERNAL_ERROR"), ComputeState.FAILED, "CLOUD_PROVIDER_LAUNCH_FAILURE"),
        (Outcome("SKIPPED", steps=("PENDING",)), ComputeState.SKIPPED, "maximum concurrent"),
    ],
)
def test_run_states_map_to_the_port_with_their_message(
    standin: DatabricksStandIn, outcome: Outcome, state: ComputeState, message: str | None
) -> None:
    adapter = _adapter(standin, job_id=standin.add_job())
    standin.outcomes.append(outcome)
    run = adapter.submit(JOB)
    seen: list[ComputeState] = []
    final = adapter.wait(run, on_change=lambda s: seen.append(s.state))
    assert final.state == state
    assert seen == [*(ComputeState[s] for s in outcome.steps), state]
    if message is None:
        assert final.message is None
    else:
        assert final.message is not None and message in final.message
    assert final.details["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED")
    assert standin.problems == []


def test_v2_status_alone_and_unknown_states_are_mapped() -> None:
    ended = Run.from_dict(
        {
            "run_id": 1,
            "status": {
                "state": "TERMINATED",
                "termination_details": {
                    "code": "DRIVER_ERROR",
                    "type": "CLOUD_FAILURE",
                    "message": "driver unreachable",
                },
            },
        }
    )
    assert map_run_state(ended).state == ComputeState.FAILED
    assert map_run_state(ended).message == "driver unreachable"
    waiting = Run.from_dict({"run_id": 1, "status": {"state": "WAITING"}})
    assert map_run_state(waiting).state == ComputeState.PENDING
    future = Run.from_dict({"run_id": 1, "state": {"life_cycle_state": "HIBERNATING"}})
    assert not map_run_state(future).terminal  # keep following a state not known yet
    partial = Run.from_dict(
        {"run_id": 1, "state": {"life_cycle_state": "TERMINATED", "result_state": "EXCLUDED"}}
    )
    assert map_run_state(partial).state == ComputeState.SKIPPED


# -------------------------------------------------------------------- errors
def test_a_wrong_token_is_a_config_error_without_the_token(standin: DatabricksStandIn) -> None:
    job_id = standin.add_job()
    wrong = "dapi-wrong-token-00000000000000000000"
    adapter = _adapter(standin, token=wrong, job_id=job_id)
    with pytest.raises(ConfigError, match="refused") as info:
        adapter.submit(JOB)
    text = "".join(traceback.format_exception(info.value))
    assert wrong not in text and TOKEN not in text
    assert wrong not in repr(adapter)


def test_a_job_that_does_not_exist_says_how_to_deploy(standin: DatabricksStandIn) -> None:
    adapter = _adapter(standin, job_id=424242)
    with pytest.raises(ConfigError, match=r"424242 does not exist.*deploy") as info:
        adapter.submit(JOB)
    _no_token_anywhere(info.value)
    with pytest.raises(ConfigError, match="UDO_AZURE__DATABRICKS__JOB_ID"):
        _adapter(standin).submit(JOB)  # no job id at all
    with pytest.raises(ComputeRunNotFound):
        adapter.state("5")


@pytest.mark.parametrize(
    ("status", "code", "retry_after"),
    [
        (429, "REQUEST_LIMIT_EXCEEDED", "0"),
        (503, "TEMPORARILY_UNAVAILABLE", "0"),
        (500, "INTERNAL_ERROR", None),
    ],
)
def test_throttling_and_outages_are_transient(
    standin: DatabricksStandIn, status: int, code: str, retry_after: str | None
) -> None:
    adapter = _adapter(standin, job_id=standin.add_job())
    standin.fail_next(status, code, "slow down", times=50, retry_after=retry_after)
    with pytest.raises(ComputeUnavailable) as info:
        adapter.submit(JOB)
    assert isinstance(info.value, TransientError)
    _no_token_anywhere(info.value)
    standin.faults.clear()
    assert adapter.submit(JOB).id  # once the service is back, it works


def test_a_throttled_request_is_retried_by_the_sdk(standin: DatabricksStandIn) -> None:
    adapter = DatabricksComputeAdapter.from_settings(
        _settings(standin.host, job_id=standin.add_job()), retry_timeout_seconds=30
    )
    standin.fail_next(429, "REQUEST_LIMIT_EXCEEDED", "slow down", times=1, retry_after="0")
    run = adapter.submit(JOB)
    assert len(standin.calls("run-now")) == 2 and run.id


def test_an_unreachable_workspace_is_transient(standin: DatabricksStandIn) -> None:
    adapter = _adapter(standin, job_id=standin.add_job())
    standin.stop()
    with pytest.raises(ComputeUnavailable) as info:
        adapter.state("1001")
    _no_token_anywhere(info.value)


def test_a_rejected_request_is_terminal(standin: DatabricksStandIn) -> None:
    adapter = _adapter(standin, job_id=standin.add_job(parameters={"queue": "large-queue"}))
    with pytest.raises(InvalidComputeJob, match=r"rejected.*dataset"):
        adapter.submit(ComputeJob(queue="large-queue", dataset="d", batch_id="b", run_id="r"))


def test_settings_errors_and_no_secret_in_logs(
    standin: DatabricksStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError, match="UDO_AZURE__DATABRICKS__HOST"):
        DatabricksComputeAdapter.from_settings(Settings(cloud="local"))
    caplog.set_level(logging.DEBUG)
    adapter = _adapter(standin, job_id=standin.add_job())
    standin.outcomes.append(Outcome("FAILED", error="boom"))
    adapter.wait(adapter.submit(JOB))
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(adapter) and standin.host in repr(adapter)


class FakeAzureCredential:
    """Stands in for DefaultAzureCredential (tests never use the real one): static tokens."""

    issued: ClassVar[list[str]] = []

    def get_token(self, *scopes: str) -> Any:
        from azure.core.credentials import AccessToken

        self.issued.append(scopes[0])
        return AccessToken(TOKEN, int(time.time()) + 3600)


def test_without_a_token_azure_ad_tokens_are_used(
    standin: DatabricksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import azure.identity

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeAzureCredential)
    FakeAzureCredential.issued.clear()
    adapter = _adapter(standin, token=None, job_id=standin.add_job())
    for _ in range(3):
        adapter.submit(JOB)
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in standin.calls("run-now"))
    # one token, for the Azure Databricks resource, reused until it nears expiry
    assert FakeAzureCredential.issued == ["2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"]
    assert "udo-azure-identity" in standin.calls("run-now")[0].headers["user-agent"]


# -------------------------------------------------------------------- deploy
def test_deploy_creates_the_job_then_resets_it(standin: DatabricksStandIn) -> None:
    adapter = _adapter(standin)
    job_id = adapter.deploy_job()
    assert adapter.job_id == job_id
    (create,) = standin.calls("create")
    committed = json.loads((JOB_DIR / "job.json").read_text(encoding="utf-8"))
    assert create.body == committed  # the committed definition is what is deployed
    assert standin.problems == []

    fresh = _adapter(standin)  # no job id configured: found by name, then reset
    spec = DatabricksJobSpec(existing_cluster_id="0101-000000-abcdef")
    assert fresh.deploy_job(spec) == job_id
    (reset,) = standin.calls("reset")
    assert reset.body["job_id"] == job_id
    task = reset.body["new_settings"]["tasks"][0]
    assert (
        task["existing_cluster_id"] == "0101-000000-abcdef"
        and "job_clusters" not in (reset.body["new_settings"])
    )
    assert standin.jobs[job_id] == reset.body["new_settings"]
    assert len(standin.calls("create")) == 1 and standin.problems == []

    standin.outcomes.append(Outcome("SUCCESS"))
    assert fresh.wait(fresh.submit(JOB)).state == ComputeState.SUCCEEDED

    with pytest.raises(ConfigError, match="777 does not exist"):
        fresh.deploy_job(job_id=777)
    standin.add_job("udo-large")
    with pytest.raises(ConfigError, match="2 Databricks jobs are named"):
        _adapter(standin).deploy_job()


def test_job_json_is_what_the_code_generates() -> None:
    committed = json.loads((JOB_DIR / "job.json").read_text(encoding="utf-8"))
    assert committed == job_definition(), (
        "cloud/azure/databricks/job.json is stale: regenerate it (see the README there)"
    )
    params = {p["name"]: p["default"] for p in committed["parameters"]}
    assert params == JOB_PARAMETERS
    args = committed["tasks"][0]["spark_python_task"]["parameters"]
    module = _job_module()
    parsed = module.parse_args([a.replace("{{job.parameters.queue}}", "large-queue") for a in args])
    assert parsed.queue == "large-queue"


def test_the_artifacts_are_workspace_files_not_the_dbfs_root() -> None:
    """Runtime 15.0+ no longer installs libraries from the DBFS root; the job pins 15.4."""
    committed = json.loads((JOB_DIR / "job.json").read_text(encoding="utf-8"))
    (task,) = committed["tasks"]
    assert task["spark_python_task"]["python_file"] == "/Workspace/Shared/udo/udo_job.py"
    assert task["libraries"][0]["whl"].startswith("/Workspace/Shared/udo/udo-")
    assert "dbfs:" not in json.dumps(committed)
    readme = (JOB_DIR / "README.md").read_text(encoding="utf-8")
    assert "databricks workspace import /Workspace/Shared/udo/udo_job.py" in readme
    assert "databricks fs cp" not in readme  # no upload to the DBFS root any more
    # a volume, or workspace files elsewhere, are fine
    for artifacts in ("/Volumes/main/udo/artifacts", "dbfs:/Volumes/main/udo/artifacts"):
        spec = DatabricksJobSpec(artifacts=artifacts)
        assert job_definition(spec)["tasks"][0]["libraries"][0]["whl"].startswith(artifacts)


@pytest.mark.parametrize(
    "spec",
    [
        {"artifacts": "dbfs:/FileStore/udo"},
        {"wheel": "dbfs:/FileStore/udo/udo-0.1.0-py3-none-any.whl"},
        {"artifacts": "DBFS:/FileStore/udo", "spark_version": "16.4.x-scala2.12"},
    ],
)
def test_a_wheel_in_the_dbfs_root_is_refused_on_runtime_15(spec: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"DBFS root.*/Workspace/Shared/udo"):
        DatabricksJobSpec(**spec)


def test_a_wheel_in_the_dbfs_root_is_left_alone_where_it_may_still_install() -> None:
    older = DatabricksJobSpec(artifacts="dbfs:/FileStore/udo", spark_version="14.3.x-scala2.12")
    assert older.wheel_path().startswith("dbfs:/FileStore/udo/")
    # an existing cluster's runtime is not known here
    DatabricksJobSpec(artifacts="dbfs:/FileStore/udo", existing_cluster_id="0101-x")


def test_an_existing_cluster_takes_no_environment() -> None:
    with pytest.raises(ConfigError, match=r"existing cluster 0101-x.*environment variables"):
        DatabricksJobSpec(existing_cluster_id="0101-x", env={"UDO_CLOUD": "azure"})
    on_cluster = job_definition(DatabricksJobSpec(existing_cluster_id="0101-x"))
    assert "job_clusters" not in on_cluster
    assert on_cluster["tasks"][0]["existing_cluster_id"] == "0101-x"
    given = job_definition(DatabricksJobSpec(env={"UDO_CLOUD": "azure", "B": "2", "A": "1"}))
    env = given["job_clusters"][0]["new_cluster"]["spark_env_vars"]
    assert list(env) == ["A", "B", "UDO_CLOUD"]


def test_runtime_packages_are_the_project_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = project["project"]["optional-dependencies"]
    pins = {*extras["azure"], *extras["mysql"]}
    assert set(RUNTIME_PACKAGES) <= pins


# --------------------------------------------------------------- the job
def _job_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("udo_databricks_job", JOB_DIR / "udo_job.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Embedded defaults in tmp_path; every batch of more than 100 records is large."""
    monkeypatch.chdir(tmp_path)  # no developer's udo.toml / .env
    for key in [k for k in os.environ if k.startswith("UDO_")]:
        monkeypatch.delenv(key)
    env = {
        "UDO_DATA_DIR": str(tmp_path / "data"),
        "UDO_ROUTING__SMALL_MAX_RECORDS": "100",
        "UDO_QUEUE__VISIBILITY_TIMEOUT": "30",
        "UDO_WORKER__RETRY_BACKOFF_SECONDS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def _landed(app: App, *batches: str, rows: int = 50) -> list[str]:
    ids = []
    for batch in batches:
        generate_batch(
            app.bronze,
            load_preset("ecommerce").scaled(rows),
            batch_id=batch,
            dirt=DirtProfile.named("default"),
        )
        request = app.runs.request_clean("ecommerce", batch)
        assert request.decision.route == "large"
        ids.append(request.run.id)
    return ids


def _output(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def test_the_job_drains_large_queue(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = bootstrap(Settings())
    first, second = _landed(app, "b1", "b2")
    module = _job_module()
    assert module.main(["--queue", "large-queue", "--max-runs", "1", "--engine", "polars"]) == 0
    out = _output(capsys)
    assert out["ok"] and out["engine"] == "polars" and list(out["runs"]) == [first]
    assert app.queue.depth("large-queue") == 1
    # as Databricks passes it: every parameter, the unset ones empty
    argv = ["--queue", "large-queue", "--dataset", "", "--batch", "", "--run-id", ""]
    assert module.main([*argv, "--max-runs", "", "--engine", "polars"]) == 0
    assert list(_output(capsys)["runs"]) == [second]
    for rid in (first, second):
        run = app.metadata.get_run(rid)
        assert run.status == RunStatus.SUCCEEDED and run.engine == "polars", run.error
        assert run.ledger is not None and run.ledger["tables"]["orders"]["bronze_in"] > 0
    assert app.queue.depth("large-queue") == 0


def test_the_job_cleans_one_run(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = bootstrap(Settings())
    (rid,) = _landed(app, "b1")
    module = _job_module()
    argv = ["--queue", "large-queue", "--dataset", "ecommerce", "--batch", "b1"]
    assert module.main([*argv, "--run-id", rid, "--engine", "polars"]) == 0
    assert _output(capsys)["runs"] == {rid: "SUCCEEDED"}
    run = app.metadata.get_run(rid)
    assert run.status == RunStatus.SUCCEEDED and run.stage_seconds
    steps = len(app.metadata.transitions(rid))
    # the run's message is still queued: the worker acknowledges it without work
    assert app.worker.drain("large") == [rid]
    assert len(app.metadata.transitions(rid)) == steps
    assert app.queue.depth("large-queue") == 0
    # a second job for the same run is a no-op
    assert module.main(["--queue", "large-queue", "--run-id", rid, "--engine", "polars"]) == 0
    assert len(app.metadata.transitions(rid)) == steps


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--queue", "large-queue", "--dataset", "ecommerce"], "needs the run id"),
        (["--queue", "medium-queue"], "not one of udo's queues"),
        (["--queue", "large-queue", "--engine", "duckdb"], "engine 'duckdb'"),
        (["--queue", "large-queue", "--max-runs", "many"], "must be a number"),
        (["--queue", "large-queue", "--run-id", "r1", "--batch", "x"], "no run r1"),
    ],
)
def test_the_job_refuses_bad_input(
    local_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    code = _job_module().main([*argv, "--engine", "polars"] if "--engine" not in argv else argv)
    out = _output(capsys)
    assert code in (1, 2) and not out["ok"] and problem in out["error"]
    if problem != "no run r1":
        assert code == 2
    with pytest.raises(TerminalError):
        _job_module().main(argv, reraise=True)


def test_the_job_fails_with_the_runs_error(
    local_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = bootstrap(Settings())
    (rid,) = _landed(app, "b1")
    Path(app.storage.uri("bronze/ecommerce/b1/orders.parquet")).write_bytes(b"not parquet")
    module = _job_module()
    assert module.main(["--queue", "large-queue", "--engine", "polars"]) == 1
    out = _output(capsys)
    assert not out["ok"] and rid in out["error"] and "orders.parquet" in out["error"]
    assert app.metadata.get_run(rid).status == RunStatus.DEAD_LETTERED
    assert app.queue.depth(poison_name("large-queue")) == 1


def test_on_databricks_the_job_refuses_the_embedded_defaults(
    local_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without UDO_CLOUD=azure the job would drain a SQLite queue on the driver's disk,
    find it empty and report success."""
    app = bootstrap(Settings())
    _landed(app, "b1")
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    module = _job_module()
    assert module.main(["--queue", "large-queue", "--engine", "polars"]) == 2
    out = _output(capsys)
    assert not out["ok"]
    assert "Databricks (Runtime 15.4)" in out["error"] and "UDO_CLOUD='local'" in out["error"]
    assert "Set UDO_CLOUD=azure" in out["error"]
    assert app.queue.depth("large-queue") == 1  # nothing was drained
    with pytest.raises(ConfigError, match="UDO_CLOUD=azure"):
        module.main(["--queue", "large-queue"], reraise=True)
    assert app.queue.depth("large-queue") == 1


class SlowSignalR(SignalRStandIn):
    """The SignalR stand-in (``tests/standins/signalr.py``, a local HTTP server: there is
    no SignalR emulator) answering each broadcast 50 ms late, as a remote service does:
    the job's last events are still queued in the notifier when its work is done."""

    def _handle(self, handler: Any) -> None:
        time.sleep(0.05)
        super()._handle(handler)


def test_on_databricks_with_the_azure_profile_the_job_runs_and_flushes_its_events(
    local_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with SlowSignalR() as signalr:
        env = {
            "UDO_CLOUD": "azure",
            # the lake, the queue and the loads stay local: only the notifier is Azure's
            "UDO_STORAGE__TYPE": "local",
            "UDO_QUEUE__TYPE": "local",
            "UDO_ORCHESTRATOR__TYPE": "local",
            "UDO_WAREHOUSE__TYPE": "duckdb",
            "UDO_OPERATIONAL__TYPE": "sqlite",
            "UDO_AZURE__SIGNALR__CONNECTION_STRING": signalr.connection_string(),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        app = bootstrap(Settings())
        try:
            (rid,) = _landed(app, "b1")
            assert app.notifier.flush(30)
            monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
            module = _job_module()
            assert module.main(["--queue", "large-queue", "--engine", "polars"]) == 0
            # at once, without waiting: the job flushed before it returned
            sent = [b.event.type for b in list(signalr.broadcasts) if b.event.run_id == rid]
            assert _output(capsys)["runs"] == {rid: "SUCCEEDED"}
            assert sent[0] == "run.queued" and sent[-1] == "run.succeeded", sent
            assert app.metadata.get_run(rid).status == RunStatus.SUCCEEDED
        finally:
            app.notifier.close()
    assert signalr.problems == []


class Closeable:
    """A service that records when it is closed (and can fail to close)."""

    def __init__(self, name: str, closed: list[str], fails: bool = False) -> None:
        self.name, self.closed, self.fails = name, closed, fails

    def close(self) -> None:
        self.closed.append(self.name)
        if self.fails:
            raise RuntimeError("mysql://udo:pw-secret@host/db unreachable")


def test_the_job_closes_every_service_it_built_even_when_one_fails(
    local_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = bootstrap(Settings())
    closed: list[str] = []
    for name in ("worker", "notifier", "queue", "metadata"):
        app.__dict__[name] = Closeable(name, closed, fails=name == "notifier")
    app.__dict__["destinations"] = {
        role: Closeable(role, closed) for role in ("warehouse", "operational")
    }
    caplog.set_level(logging.WARNING)
    _job_module()._close(app)
    # the orchestrator was never built: nothing to close, nothing built to close it
    assert closed == ["worker", "notifier", "warehouse", "operational", "queue", "metadata"]
    assert "orchestrator" not in app.__dict__
    assert "closing notifier failed: RuntimeError" in caplog.text
    assert "pw-secret" not in caplog.text


def test_the_same_job_runs_in_process_through_the_local_adapter(local_env: Path) -> None:
    app = bootstrap(Settings())
    (rid,) = _landed(app, "b1")
    compute = LocalComputeAdapter.for_app(app)
    run = compute.submit(ComputeJob(queue="large-queue", engine="polars"))
    final = compute.wait(run, timeout=300)
    assert final.state == ComputeState.SUCCEEDED, final.message
    report = compute.result(run)
    assert isinstance(report, JobReport) and report.runs == {rid: "SUCCEEDED"}
    assert app.worker.engines["large"] == "spark"  # the app's own worker is untouched
    compute.close()


def test_the_job_module_imports_nothing_heavy_at_import() -> None:
    before = set(sys.modules)
    _job_module()
    assert not any(m.startswith(("pyspark", "databricks")) for m in set(sys.modules) - before)
