"""The Data Factory definition: what each pipeline does, its triggers, no secret in it,
and the committed ``cloud/azure/adf/`` being exactly what `udo azure export` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from udo.adapters.azure.databricks import DatabricksJobSpec, job_definition
from udo.adapters.azure.datafactory_models import (
    EVENTS_PATH,
    SECRETS,
    FactoryTarget,
    build_factory,
    export_files,
    recurrence,
    write_export,
)
from udo.adapters.local.orchestrator import LocalOrchestrator
from udo.cli import app as cli
from udo.config import Settings
from udo.domain.run import Run, RunStatus, now
from udo.errors import ConfigError
from udo.generate.presets import load_preset

COMMITTED = Path(__file__).resolve().parents[2] / "cloud" / "azure" / "adf"
PRESET_MARTS = [m.name for m in load_preset("ecommerce").marts]


def _template() -> dict[str, Any]:
    return {
        rel: json.loads(text)
        for rel, text in export_files(build_factory(FactoryTarget.template())).items()
    }


def _activities(activities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every activity by name, nested ones (IfCondition, ForEach) included."""
    found: dict[str, dict[str, Any]] = {}
    for activity in activities:
        found[activity["name"]] = activity
        props = activity.get("typeProperties", {})
        for key in ("ifTrueActivities", "ifFalseActivities", "activities"):
            found.update(_activities(props.get(key) or []))
    return found


def test_export_is_deterministic_and_the_committed_factory_is_fresh() -> None:
    first = export_files(build_factory(FactoryTarget.template()))
    second = export_files(build_factory(FactoryTarget.template()))
    assert first == second
    committed = {
        str(p.relative_to(COMMITTED)): p.read_text(encoding="utf-8")
        for p in sorted(COMMITTED.rglob("*.json"))
    }
    stale = sorted(set(committed) ^ set(first)) + sorted(
        rel for rel in first if rel in committed and committed[rel] != first[rel]
    )
    assert not stale, f"cloud/azure/adf is stale in {stale}: run `udo azure export`"


def test_cli_export_writes_the_same_files_and_removes_stale_ones(tmp_path: Path) -> None:
    out = tmp_path / "adf"
    (out / "pipeline").mkdir(parents=True)
    (out / "pipeline" / "renamed-away.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(cli, ["azure", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = {str(p.relative_to(out)): p.read_text("utf-8") for p in out.rglob("*.json")}
    assert written == export_files(build_factory(FactoryTarget.template()))
    assert "wrote" in result.output


def test_resources_are_in_the_adf_authoring_layout() -> None:
    files = _template()
    kinds = {rel.split("/")[0] for rel in files}
    assert kinds == {"linkedService", "dataset", "pipeline", "trigger"}
    for rel, body in files.items():
        assert set(body) == {"name", "properties"}
        assert rel.endswith(f"/{body['name']}.json")
    types = {
        body["name"]: body["properties"]["type"]
        for rel, body in files.items()
        if rel.startswith("linkedService/")
    }
    assert types == {
        "udo_keyvault": "AzureKeyVault",
        "udo_lake": "AzureBlobFS",
        "udo_functions": "AzureFunction",
        "udo_databricks": "AzureDatabricks",
        "udo_databricks_delta": "AzureDatabricksDeltaLake",
        "udo_synapse": "AzureSqlDW",
        "udo_mysql": "AzureMySql",
    }


def test_small_pipeline_drains_through_the_function_then_loads_and_notifies() -> None:
    pipeline = _template()["pipeline/udo-small.json"]["properties"]
    assert set(pipeline["parameters"]) == {"dataset", "batch", "run_id", "marts"}
    assert pipeline["parameters"]["marts"] == {"type": "Array", "defaultValue": PRESET_MARTS}
    acts = _activities(pipeline["activities"])
    clean = acts["Clean"]
    assert clean["type"] == "AzureFunctionActivity"
    assert clean["linkedServiceName"]["referenceName"] == "udo_functions"
    assert clean["typeProperties"]["method"] == "POST"
    assert clean["typeProperties"]["functionName"] == "drain/small"
    assert clean["typeProperties"]["body"]["run_id"] == "@{pipeline().parameters.run_id}"
    # the loads run once per mart, after cleaning, into both databases
    load = acts["Load Gold if the run names a dataset"]
    assert load["type"] == "IfCondition"
    assert load["dependsOn"] == [{"activity": "Clean", "dependencyConditions": ["Succeeded"]}]
    each = acts["Load each Gold mart"]
    assert each["type"] == "ForEach"
    assert each["typeProperties"]["items"]["value"] == "@pipeline().parameters.marts"
    to_synapse, to_mysql = acts["Copy mart to Synapse"], acts["Copy mart to MySQL"]
    for copy in (to_synapse, to_mysql):
        assert copy["type"] == "Copy"
        props = copy["typeProperties"]
        assert props["source"]["type"] == "AzureDatabricksDeltaLakeSource"
        assert "delta.`" in props["source"]["query"]["value"]
        assert "/gold/" in props["source"]["query"]["value"]
        assert props["enableStaging"] is True
        assert copy["inputs"][0]["referenceName"] == "udo_gold_delta"
    assert to_synapse["typeProperties"]["sink"]["type"] == "SqlDWSink"
    assert to_synapse["outputs"][0]["referenceName"] == "udo_synapse_table"
    assert to_mysql["typeProperties"]["sink"]["type"] == "AzureMySqlSink"
    assert to_mysql["outputs"][0]["referenceName"] == "udo_mysql_table"
    table = to_mysql["outputs"][0]["parameters"]["table"]["value"]
    assert table.startswith("@concat('gold_'")
    post = acts["Post completion event"]
    assert post["type"] == "WebActivity"
    assert post["typeProperties"]["method"] == "POST"
    assert post["typeProperties"]["url"].endswith(EVENTS_PATH)
    assert post["policy"]["secureInput"] is True
    assert post["typeProperties"]["body"]["route"] == "small"
    assert acts["Read API token"]["policy"]["secureOutput"] is True


def test_large_pipeline_runs_the_databricks_job_then_the_same_loads() -> None:
    files = _template()
    pipeline = files["pipeline/udo-large.json"]["properties"]
    acts = _activities(pipeline["activities"])
    clean = acts["Clean"]
    # the deployed job (its cluster, wheel and UDO_* environment), not a bare script
    assert clean["type"] == "DatabricksJob"
    assert clean["linkedServiceName"]["referenceName"] == "udo_databricks"
    props = clean["typeProperties"]
    assert props["jobId"] == "<databricks-job-id>"
    assert props["jobParameters"] == {
        "queue": "large-queue",
        "run_id": {"value": "@pipeline().parameters.run_id", "type": "Expression"},
    }
    assert "pythonFile" not in props and "libraries" not in props
    assert clean["policy"]["retry"] == 0  # the queue redelivers
    small = _activities(files["pipeline/udo-small.json"]["properties"]["activities"])
    for name in ("Copy mart to Synapse", "Copy mart to MySQL", "Post completion event"):
        assert acts[name]["type"] == small[name]["type"]
    assert acts["Post completion event"]["typeProperties"]["body"]["route"] == "large"
    # the linked service is the workspace only: the job names its own cluster
    databricks = files["linkedService/udo_databricks.json"]["properties"]["typeProperties"]
    assert set(databricks) == {"domain", "accessToken"}


def test_the_job_parameters_are_ones_the_deployed_job_defines() -> None:
    """What udo-large passes must be parameters of `udo azure deploy-databricks`'s job
    (Databricks refuses a run-now naming an undefined one), with the route's queue."""
    settings = _secret_settings()
    settings.queue.large = "big-queue"
    target = FactoryTarget.from_settings(
        settings, key_vault_url="https://udo-kv.vault.azure.net/", api_url="https://api.udo"
    )
    files = export_files(build_factory(target))
    pipeline = json.loads(files["pipeline/udo-large.json"])["properties"]
    props = _activities(pipeline["activities"])["Clean"]["typeProperties"]
    assert props["jobId"] == "4242"
    job = job_definition(DatabricksJobSpec(queue=settings.queue.large))
    defined = {p["name"]: p["default"] for p in job["parameters"]}
    assert set(props["jobParameters"]) == {"queue", "run_id"} <= set(defined)
    assert props["jobParameters"]["queue"] == defined["queue"] == "big-queue"
    # the expression reads a parameter the pipeline declares
    assert "run_id" in pipeline["parameters"]


def test_no_artifact_is_read_from_the_dbfs_root() -> None:
    text = "".join(export_files(build_factory(FactoryTarget.template())).values())
    assert "dbfs:" not in text.lower()
    committed = "".join(p.read_text("utf-8") for p in COMMITTED.rglob("*.json"))
    assert "dbfs:" not in committed.lower()


def test_triggers_every_ten_minutes_and_daily_at_two_utc() -> None:
    files = _template()
    small = files["trigger/udo-small-schedule.json"]["properties"]
    large = files["trigger/udo-large-schedule.json"]["properties"]
    assert small["type"] == large["type"] == "ScheduleTrigger"
    assert small["typeProperties"]["recurrence"]["frequency"] == "Minute"
    assert small["typeProperties"]["recurrence"]["interval"] == 10
    assert large["typeProperties"]["recurrence"]["frequency"] == "Day"
    assert large["typeProperties"]["recurrence"]["schedule"] == {"minutes": [0], "hours": [2]}
    assert large["typeProperties"]["recurrence"]["timeZone"] == "UTC"
    assert small["pipelines"][0]["pipelineReference"]["referenceName"] == "udo-small"
    assert large["pipelines"][0]["pipelineReference"]["referenceName"] == "udo-large"


@pytest.mark.parametrize(
    ("spec", "frequency", "interval"),
    [("interval:60", "Minute", 1), ("interval:3600", "Hour", 1), ("interval:172800", "Day", 2)],
)
def test_interval_triggers_become_the_coarsest_unit(
    spec: str, frequency: str, interval: int
) -> None:
    rec = recurrence(spec)
    assert (rec.frequency, rec.interval) == (frequency, interval)


@pytest.mark.parametrize(
    "spec",
    ["interval:30", "interval:90", "interval:abc", "cron:*/5 * * * *", "cron:0 2 * * 1", "x"],
)
def test_triggers_data_factory_cannot_schedule_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="trigger"):
        recurrence(spec)


def _secret_settings() -> Settings:
    return Settings(
        azure={
            "storage": {
                "connection_string": "DefaultEndpointsProtocol=https;AccountName=udolake;"
                "AccountKey=c3RvcmFnZS1rZXktc2VjcmV0;EndpointSuffix=core.windows.net"
            },
            "functions": {"url": "https://udo-fn.azurewebsites.net/", "key": "fn-key-secret-1"},
            "databricks": {
                "host": "https://adb-1.2.azuredatabricks.net",
                "token": "dapi-secret-token-2",
                "cluster_id": "0101-abc",
                "job_id": 4242,
            },
        },
        warehouse={"url": "mssql+pyodbc://u:pw-secret-3@server/db"},
        operational={"url": "mysql://u:pw-secret-4@host/db"},
    )


def test_secrets_are_key_vault_references_never_literals() -> None:
    settings = _secret_settings()
    target = FactoryTarget.from_settings(
        settings, key_vault_url="https://udo-kv.vault.azure.net/", api_url="https://api.udo"
    )
    files = export_files(build_factory(target))
    text = "".join(files.values())
    for secret in ("c3RvcmFnZS1rZXktc2VjcmV0", "fn-key", "dapi-secret", "pw-secret"):
        assert secret not in text
    assert "https://udolake.dfs.core.windows.net" in text  # the account came through
    assert "abfss://udo@udolake.dfs.core.windows.net/gold/" in text
    functions = json.loads(files["linkedService/udo_functions.json"])["properties"]
    assert functions["typeProperties"]["functionKey"] == {
        "type": "AzureKeyVaultSecret",
        "store": {"type": "LinkedServiceReference", "referenceName": "udo_keyvault"},
        "secretName": SECRETS["function_key"],
    }
    for name, field in [
        ("udo_databricks", "accessToken"),
        ("udo_databricks_delta", "accessToken"),
        ("udo_synapse", "connectionString"),
        ("udo_mysql", "connectionString"),
    ]:
        props = json.loads(files[f"linkedService/{name}.json"])["properties"]["typeProperties"]
        assert props[field]["type"] == "AzureKeyVaultSecret", name
    # the interactive cluster serves the Copy activities' Delta reads only
    delta = json.loads(files["linkedService/udo_databricks_delta.json"])["properties"]
    assert delta["typeProperties"]["clusterId"] == "0101-abc"
    databricks = json.loads(files["linkedService/udo_databricks.json"])["properties"]
    assert "existingClusterId" not in databricks["typeProperties"]
    assert "0101-abc" not in files["pipeline/udo-large.json"]


def test_a_target_names_every_missing_setting() -> None:
    with pytest.raises(ConfigError) as info:
        FactoryTarget.from_settings(Settings(), key_vault_url=None, api_url="https://api")
    message = str(info.value)
    for name in (
        "UDO_AZURE__STORAGE__ACCOUNT",
        "--key-vault-url",
        "UDO_AZURE__FUNCTIONS__URL",
        "UDO_AZURE__DATABRICKS__HOST",
        "UDO_AZURE__DATABRICKS__JOB_ID",
    ):
        assert name in message
    assert "--api-url" not in message


def test_the_databricks_job_id_is_required() -> None:
    settings = _secret_settings()
    settings.azure.databricks.job_id = None
    with pytest.raises(ConfigError) as info:
        FactoryTarget.from_settings(
            settings, key_vault_url="https://udo-kv.vault.azure.net/", api_url="https://api"
        )
    message = str(info.value)
    assert "UDO_AZURE__DATABRICKS__JOB_ID" in message and "deploy-databricks" in message
    assert "UDO_AZURE__DATABRICKS__HOST" not in message  # only what is missing


def test_write_export_leaves_unchanged_files_alone(tmp_path: Path) -> None:
    definition = build_factory(FactoryTarget.template())
    paths = write_export(definition, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in paths}
    write_export(definition, tmp_path)
    assert {p: p.stat().st_mtime_ns for p in paths} == before


def test_local_orchestrator_leaves_runs_to_the_worker() -> None:
    at = now()
    run = Run(
        id="r1",
        dataset="ecommerce",
        batch_id="b1",
        records=10,
        route="small",
        engine="polars",
        status=RunStatus.QUEUED,
        idempotency_key="k",
        requested_at=at,
        updated_at=at,
    )
    local = LocalOrchestrator()
    assert local.follows_runs is False
    assert local.start(run, marts=["daily_sales"]) is run
    assert local.status(run) is None
    assert local.follow(run) is run


def test_key_vault_and_api_urls_come_from_settings_when_not_given() -> None:
    settings = Settings.model_validate(
        {
            "azure": {
                "storage": {"account": "udolake"},
                "functions": {"url": "https://udo-fn.azurewebsites.net"},
                "databricks": {
                    "host": "https://adb-1.1.azuredatabricks.net",
                    "cluster_id": "c",
                    "job_id": 7,
                },
                "datafactory": {
                    "key_vault_url": "https://udo-kv.vault.azure.net/",
                    "api_url": "https://udo-api.example.com/",
                },
            }
        }
    )
    target = FactoryTarget.from_settings(settings, key_vault_url=None, api_url=None)
    assert target.key_vault_url == "https://udo-kv.vault.azure.net/"
    assert target.api_url == "https://udo-api.example.com"
    given = FactoryTarget.from_settings(
        settings, key_vault_url="https://other.vault.azure.net/", api_url=None
    )
    assert given.key_vault_url == "https://other.vault.azure.net/"
