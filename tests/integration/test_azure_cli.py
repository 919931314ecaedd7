"""`udo azure deploy-databricks` / `run-databricks` against the Jobs API stand-in.

The stand-in (``tests/standins/databricks.py``, a local HTTP server: there is no
Databricks emulator) checks every request the real databricks-sdk sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from standins.databricks import TOKEN, DatabricksStandIn, loopback_only
from udo.cli import app

runner = CliRunner()


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabricksStandIn]:
    with loopback_only() as attempts, DatabricksStandIn() as server:
        monkeypatch.setenv("UDO_AZURE__DATABRICKS__HOST", server.host)
        monkeypatch.setenv("UDO_AZURE__DATABRICKS__TOKEN", TOKEN)
        monkeypatch.setenv("UDO_AZURE__DATABRICKS__POLL_SECONDS", "0.01")
        monkeypatch.setenv("UDO_QUEUE__LARGE", "big-queue")
        yield server
    assert attempts == [], f"connections outside loopback: {attempts}"


def test_deploy_databricks_creates_then_resets_the_job(standin: DatabricksStandIn) -> None:
    args = ["azure", "deploy-databricks", "--env", "UDO_AZURE__STORAGE__ACCOUNT=udolake"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    job_id = int(first.output.split("UDO_AZURE__DATABRICKS__JOB_ID=")[1].split(")")[0])
    created = standin.calls("create")
    assert len(created) == 1
    cluster = created[0].body["job_clusters"][0]["new_cluster"]
    assert cluster["spark_env_vars"]["UDO_AZURE__STORAGE__ACCOUNT"] == "udolake"
    assert cluster["spark_env_vars"]["UDO_CLOUD"] == "azure"
    task = created[0].body["tasks"][0]["spark_python_task"]
    assert task["python_file"] == "dbfs:/FileStore/udo/udo_job.py"
    assert "big-queue" in json.dumps(created[0].body)  # the configured large queue
    assert TOKEN not in first.output

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert f"JOB_ID={job_id})" in second.output
    assert len(standin.calls("reset")) == 1 and len(standin.calls("create")) == 1


def test_deploy_databricks_refuses_a_malformed_env(standin: DatabricksStandIn) -> None:
    from udo.errors import ConfigError

    result = runner.invoke(app, ["azure", "deploy-databricks", "--env", "NOEQUALS"])
    assert isinstance(result.exception, ConfigError)
    assert standin.calls("create") == []


def test_run_databricks_submits_and_follows(
    standin: DatabricksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = standin.add_job()
    monkeypatch.setenv("UDO_AZURE__DATABRICKS__JOB_ID", str(job_id))
    result = runner.invoke(app, ["azure", "run-databricks", "--max-runs", "3", "--wait"])
    assert result.exit_code == 0, result.output
    assert "submitted run" in result.output and "SUCCEEDED" in result.output
    [call] = standin.calls("run-now")
    assert call.body["job_id"] == job_id
    assert call.body["job_parameters"]["max_runs"] == "3"
    assert call.body["job_parameters"]["queue"] == "big-queue"
