"""`udo azure deploy-databricks` / `run-databricks` against the Jobs API stand-in.

The stand-in (``tests/standins/databricks.py``, a local HTTP server: there is no
Databricks emulator) checks every request the real databricks-sdk sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

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
    assert task["python_file"] == "/Workspace/Shared/udo/udo_job.py"
    libraries = created[0].body["tasks"][0]["libraries"]
    assert libraries[0]["whl"].startswith("/Workspace/Shared/udo/udo-")
    assert "big-queue" in json.dumps(created[0].body)  # the configured large queue
    assert TOKEN not in first.output

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert f"JOB_ID={job_id})" in second.output
    assert len(standin.calls("reset")) == 1 and len(standin.calls("create")) == 1


def test_the_copy_cluster_setting_does_not_take_the_jobs_env_away(
    standin: DatabricksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UDO_AZURE__DATABRICKS__CLUSTER_ID is the Copy activities' cluster: the job still
    gets its own job cluster, and with it the --env settings."""
    monkeypatch.setenv("UDO_AZURE__DATABRICKS__CLUSTER_ID", "0101-interactive")
    args = ["azure", "deploy-databricks", "--env", "UDO_AZURE__STORAGE__ACCOUNT=udolake"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (created,) = standin.calls("create")
    (task,) = created.body["tasks"]
    assert "existing_cluster_id" not in task and task["job_cluster_key"] == "udo"
    env = created.body["job_clusters"][0]["new_cluster"]["spark_env_vars"]
    assert env == {"UDO_AZURE__STORAGE__ACCOUNT": "udolake", "UDO_CLOUD": "azure"}
    assert "0101-interactive" not in json.dumps(created.body)
    assert standin.problems == []


def test_an_existing_cluster_is_used_only_when_asked_and_takes_no_env(
    standin: DatabricksStandIn,
) -> None:
    from udo.errors import ConfigError

    refused = runner.invoke(
        app,
        [
            "azure",
            "deploy-databricks",
            "--existing-cluster-id",
            "0101-existing",
            "--env",
            "UDO_AZURE__STORAGE__ACCOUNT=udolake",
        ],
    )
    assert isinstance(refused.exception, ConfigError)
    message = str(refused.exception)
    assert "--env" in message and "--existing-cluster-id" in message
    assert "Environment variables" in message  # where to set them instead
    assert standin.requests == []  # refused before reaching the workspace

    result = runner.invoke(
        app, ["azure", "deploy-databricks", "--existing-cluster-id", "0101-existing"]
    )
    assert result.exit_code == 0, result.output
    (created,) = standin.calls("create")
    (task,) = created.body["tasks"]
    assert task["existing_cluster_id"] == "0101-existing"
    assert "job_clusters" not in created.body and "job_cluster_key" not in task
    assert standin.problems == []


def test_export_from_settings_runs_the_configured_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "UDO_AZURE__STORAGE__ACCOUNT": "udolake",
        "UDO_AZURE__FUNCTIONS__URL": "https://udo-fn.azurewebsites.net",
        "UDO_AZURE__DATABRICKS__HOST": "https://adb-1.2.azuredatabricks.net",
        "UDO_AZURE__DATABRICKS__CLUSTER_ID": "0101-interactive",
        "UDO_AZURE__DATAFACTORY__KEY_VAULT_URL": "https://udo-kv.vault.azure.net/",
        "UDO_AZURE__DATAFACTORY__API_URL": "https://udo-api.example.com",
        "UDO_QUEUE__LARGE": "big-queue",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("UDO_AZURE__DATABRICKS__JOB_ID", raising=False)
    from udo.errors import ConfigError

    missing = runner.invoke(app, ["azure", "export", "--from-settings", "--out", str(tmp_path)])
    assert isinstance(missing.exception, ConfigError)
    assert "UDO_AZURE__DATABRICKS__JOB_ID" in str(missing.exception)

    monkeypatch.setenv("UDO_AZURE__DATABRICKS__JOB_ID", "4242")
    result = runner.invoke(app, ["azure", "export", "--from-settings", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pipeline = json.loads((tmp_path / "pipeline" / "udo-large.json").read_text("utf-8"))
    clean = pipeline["properties"]["activities"][0]
    assert clean["type"] == "DatabricksJob"
    assert clean["typeProperties"]["jobId"] == "4242"
    assert clean["typeProperties"]["jobParameters"]["queue"] == "big-queue"


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
