"""The Data Factory that drains udo's queues, built from azure-mgmt-datafactory models.

What the factory holds:

- linked services: the lake (``AzureBlobFS``, ADLS Gen2, the factory's managed
  identity), the Function app (``AzureFunction``), Databricks (``AzureDatabricks``, the
  workspace the heavy job runs in; ``AzureDatabricksDeltaLake`` to read Gold on an
  interactive cluster), Synapse (``AzureSqlDW``), Azure MySQL (``AzureMySql``) and the Key Vault
  (``AzureKeyVault``) every secret is referenced from. No secret is ever a literal in the
  definition: the function key, the Databricks token, both connection strings and the udo
  API token are Key Vault secrets (`SECRETS`).
- ``udo-small``: the Function's ``POST /api/drain/small`` (the small path's cleaning), then,
  when the run names a dataset, a Copy of each Gold mart into Synapse and into Azure MySQL,
  then the completion event posted to the udo API; every 10 minutes.
- ``udo-large``: a run of the Databricks job ``udo azure deploy-databricks`` deployed
  (``DatabricksJob`` activity, `UDO_AZURE__DATABRICKS__JOB_ID`, job parameters ``queue``
  and ``run_id``; the job carries its cluster, libraries and environment), then the same
  loads and event; daily at 02:00 UTC.

Gold is Delta on the lake, and a Delta table's folder holds every version's Parquet files
(an overwrite only marks the old files removed in the log), so a Parquet dataset with a
wildcard would read old versions too and load duplicates. The Copy source is therefore
``AzureDatabricksDeltaLake`` with a query on the table's path, which reads the current
snapshot; its data reaches the SQL sinks through a staged copy in the lake.

`export_files` renders the definition in the ADF authoring (git) format, one JSON per
resource under linkedService/ dataset/ pipeline/ trigger/; with `FactoryTarget.template()`
it depends on nothing in the environment, which is what ``cloud/azure/adf/`` holds.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from udo.config import Settings
from udo.errors import ConfigError

PIPELINES = {"small": "udo-small", "large": "udo-large"}
"""The pipeline of each route."""
KINDS = ("linkedService", "dataset", "pipeline", "trigger")
"""Resource kinds, in the order they must be deployed (each refers only to earlier ones)."""
SECRETS = {
    "function_key": "udo-function-key",
    "databricks_token": "udo-databricks-token",
    "synapse": "udo-synapse-connection-string",
    "mysql": "udo-mysql-connection-string",
    "api_token": "udo-api-token",
}
"""Key Vault secret names the factory reads (their values are never in the definition)."""
EVENTS_PATH = "/api/runs/events"
"""Where the pipelines post their completion event on the udo API."""
KEY_VAULT_API_VERSION = "7.4"
TRIGGER_START = datetime(2024, 1, 1, tzinfo=UTC)
"""A fixed start in the past: schedule triggers fire from their next occurrence."""

KEYVAULT, LAKE, FUNCTIONS = "udo_keyvault", "udo_lake", "udo_functions"
DATABRICKS, DATABRICKS_DELTA = "udo_databricks", "udo_databricks_delta"
SYNAPSE, MYSQL = "udo_synapse", "udo_mysql"
GOLD_DELTA, SYNAPSE_TABLE, MYSQL_TABLE = "udo_gold_delta", "udo_synapse_table", "udo_mysql_table"
CLEAN_ACTIVITY = "Clean"
LOAD_ACTIVITY = "Load Gold if the run names a dataset"


def _preset_marts() -> tuple[str, ...]:
    from udo.generate.presets import load_preset

    return tuple(m.name for m in load_preset("ecommerce").marts)


@dataclass(frozen=True)
class FactoryTarget:
    """Everything environment-specific in the factory: endpoints, cluster, job, queue names."""

    lake_url: str
    """ADLS Gen2 endpoint of the lake's account (https://<account>.dfs.core.windows.net)."""
    container: str
    key_vault_url: str
    function_app_url: str
    databricks_domain: str
    delta_cluster_id: str
    """Interactive cluster the Copy activities read Gold through (Delta Lake connector)."""
    api_url: str
    """The udo API the completion event is posted to."""
    databricks_job_id: str
    """The Databricks job udo-large runs (``udo azure deploy-databricks`` prints its id);
    the job, not the factory, holds its cluster, the udo wheel and the ``UDO_*`` settings."""
    small_queue: str = "small-queue"
    large_queue: str = "large-queue"
    small_trigger: str = "interval:600"
    large_trigger: str = "cron:0 2 * * *"
    marts: tuple[str, ...] = field(default_factory=_preset_marts)
    """Default of the pipelines' `marts` parameter (the e-commerce preset's marts)."""

    @classmethod
    def template(cls) -> FactoryTarget:
        """Placeholders for every environment value: what ``cloud/azure/adf/`` is made of."""
        return cls(
            lake_url="https://<storage-account>.dfs.core.windows.net",
            container="udo",
            key_vault_url="https://<key-vault>.vault.azure.net/",
            function_app_url="https://<function-app>.azurewebsites.net",
            databricks_domain="https://adb-<workspace-id>.<n>.azuredatabricks.net",
            delta_cluster_id="<databricks-cluster-id>",
            api_url="https://<udo-api-host>",
            databricks_job_id="<databricks-job-id>",
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        key_vault_url: str | None,
        api_url: str | None,
    ) -> FactoryTarget:
        """The target of `settings`; `ConfigError` naming every missing value."""
        from udo.adapters.azure.credentials import parse_connection_string

        az = settings.azure
        key_vault_url = key_vault_url or az.datafactory.key_vault_url
        api_url = api_url or az.datafactory.api_url
        account = az.storage.account
        if account is None and az.storage.connection_string is not None:
            parts = parse_connection_string(az.storage.connection_string.get_secret_value())
            account = parts.get("AccountName")
        lake_url = az.storage.dfs_endpoint or (
            f"https://{account}.dfs.core.windows.net" if account else None
        )
        values = {
            "UDO_AZURE__STORAGE__ACCOUNT": lake_url,
            "UDO_AZURE__DATAFACTORY__KEY_VAULT_URL (or --key-vault-url)": key_vault_url,
            "UDO_AZURE__FUNCTIONS__URL": az.functions.url,
            "UDO_AZURE__DATABRICKS__HOST": az.databricks.host,
            "UDO_AZURE__DATABRICKS__CLUSTER_ID": az.databricks.cluster_id,
            "UDO_AZURE__DATABRICKS__JOB_ID (udo azure deploy-databricks prints it)": (
                az.databricks.job_id
            ),
            "UDO_AZURE__DATAFACTORY__API_URL (or --api-url)": api_url,
        }
        missing = [name for name, value in values.items() if value is None or value == ""]
        if missing:
            raise ConfigError(f"the Data Factory definition needs: {', '.join(missing)}")
        return cls(
            lake_url=str(lake_url).rstrip("/"),
            container=az.storage.container,
            key_vault_url=str(key_vault_url),
            function_app_url=str(az.functions.url).rstrip("/"),
            databricks_domain=str(az.databricks.host).rstrip("/"),
            delta_cluster_id=str(az.databricks.cluster_id),
            api_url=str(api_url).rstrip("/"),
            databricks_job_id=str(az.databricks.job_id),
            small_queue=settings.queue.small,
            large_queue=settings.queue.large,
            small_trigger=settings.triggers.small,
            large_trigger=settings.triggers.large,
        )

    @property
    def abfss_root(self) -> str:
        """The lake container as Spark addresses it (abfss://<container>@<host>)."""
        host = self.lake_url.split("://", 1)[-1].rstrip("/")
        return f"abfss://{self.container}@{host}"


@dataclass(frozen=True)
class FactoryDefinition:
    """The factory's resources by kind, each kind in deployment order."""

    resources: dict[str, dict[str, Any]]
    """kind (`KINDS`) -> name -> LinkedServiceResource / DatasetResource / ..."""

    def names(self, kind: str) -> list[str]:
        """Names of the resources of `kind`, in deployment order."""
        return list(self.resources[kind])

    def body(self, kind: str, name: str) -> dict[str, Any]:
        """One resource in the ADF authoring format: ``{"name": ..., "properties": ...}``."""
        serialized: dict[str, Any] = self.resources[kind][name].serialize()
        return {"name": name, **serialized}


# ----------------------------------------------------------------- helpers
def _models() -> Any:
    """azure.mgmt.datafactory.models (imported on use; its JSON-typed fields stay Any)."""
    return importlib.import_module("azure.mgmt.datafactory.models")


def _expr(value: str) -> dict[str, str]:
    return {"value": value, "type": "Expression"}


def _quote(text: str) -> str:
    """`text` as an ADF expression string literal."""
    return "'" + text.replace("'", "''") + "'"


def _ls(name: str) -> Any:
    m = _models()

    return m.LinkedServiceReference(type="LinkedServiceReference", reference_name=name)


def _secret(name: str) -> Any:
    m = _models()

    return m.AzureKeyVaultSecretReference(store=_ls(KEYVAULT), secret_name=SECRETS[name])


def _after(activity: str) -> list[Any]:
    m = _models()

    return [m.ActivityDependency(activity=activity, dependency_conditions=["Succeeded"])]


def _policy(timeout: str, retry: int = 0, **flags: bool) -> Any:
    m = _models()

    return m.ActivityPolicy(
        timeout=timeout, retry=retry, retry_interval_in_seconds=60 if retry else None, **flags
    )


def recurrence(spec: str) -> Any:
    """An ADF schedule recurrence from a udo trigger (``interval:<s>`` / ``cron:M H * * *``)."""
    m = _models()

    kind, _, value = spec.partition(":")
    if kind == "interval":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1
        if seconds < 60 or seconds % 60:
            raise ConfigError(
                f"trigger {spec!r}: Data Factory schedules whole minutes; use interval:<60*n>"
            )
        minutes = int(seconds // 60)
        for unit, size in (("Day", 1440), ("Hour", 60), ("Minute", 1)):
            if minutes % size == 0:
                return m.ScheduleTriggerRecurrence(
                    frequency=unit,
                    interval=minutes // size,
                    start_time=TRIGGER_START,
                    time_zone="UTC",
                )
    if kind == "cron":
        fields = value.split()
        if len(fields) == 5 and fields[2:] == ["*", "*", "*"]:
            try:
                mins = [int(v) for v in fields[0].split(",")]
                hours = [int(v) for v in fields[1].split(",")]
            except ValueError:
                mins, hours = [], []
            if (
                mins
                and hours
                and all(0 <= m < 60 for m in mins)
                and all(0 <= h < 24 for h in hours)
            ):
                return m.ScheduleTriggerRecurrence(
                    frequency="Day",
                    interval=1,
                    start_time=TRIGGER_START,
                    time_zone="UTC",
                    schedule=m.RecurrenceSchedule(minutes=mins, hours=hours),
                )
        raise ConfigError(
            f"trigger {spec!r}: Data Factory schedules take a daily crontab 'M H * * *' "
            "(minutes and hours as numbers or comma lists)"
        )
    raise ConfigError(f"invalid trigger {spec!r}: use interval:<seconds> or cron:<crontab>")


# ------------------------------------------------------------- resources
def linked_services(target: FactoryTarget) -> dict[str, Any]:
    """The factory's connections, Key Vault first (the others read their secrets from it)."""
    m = _models()

    services = {
        KEYVAULT: m.AzureKeyVaultLinkedService(
            base_url=target.key_vault_url, description="Every secret the factory uses."
        ),
        LAKE: m.AzureBlobFSLinkedService(
            url=target.lake_url,
            description="The lake (ADLS Gen2), through the factory's managed identity.",
        ),
        FUNCTIONS: m.AzureFunctionLinkedService(
            function_app_url=target.function_app_url,
            function_key=_secret("function_key"),
            description="The udo Function app (small-path cleaning).",
        ),
        # no cluster here: the udo-large job runs on the cluster its own definition names
        DATABRICKS: m.AzureDatabricksLinkedService(
            domain=target.databricks_domain,
            access_token=_secret("databricks_token"),
            description="The workspace of the heavy path's Databricks job (udo-large).",
        ),
        DATABRICKS_DELTA: m.AzureDatabricksDeltaLakeLinkedService(
            domain=target.databricks_domain,
            access_token=_secret("databricks_token"),
            cluster_id=target.delta_cluster_id,
            description="Reads Gold's Delta tables (their current snapshot).",
        ),
        SYNAPSE: m.AzureSqlDWLinkedService(
            connection_string=_secret("synapse"), description="The warehouse (Synapse)."
        ),
        MYSQL: m.AzureMySqlLinkedService(
            connection_string=_secret("mysql"),
            description="The operational database (Azure Database for MySQL).",
        ),
    }
    return {name: m.LinkedServiceResource(properties=ls) for name, ls in services.items()}


def datasets() -> dict[str, Any]:
    """Gold (Delta, read by query) and the two sinks' tables (named by a parameter)."""
    m = _models()

    table_param = {"table": m.ParameterSpecification(type="String")}
    items = {
        GOLD_DELTA: m.AzureDatabricksDeltaLakeDataset(
            linked_service_name=_ls(DATABRICKS_DELTA),
            description="A Gold mart; the Copy source's query names its Delta path.",
        ),
        SYNAPSE_TABLE: m.AzureSqlDWTableDataset(
            linked_service_name=_ls(SYNAPSE),
            parameters=table_param,
            schema_type_properties_schema="dbo",
            table=_expr("@dataset().table"),
        ),
        MYSQL_TABLE: m.AzureMySqlTableDataset(
            linked_service_name=_ls(MYSQL),
            parameters=table_param,
            table=_expr("@dataset().table"),
        ),
    }
    return {name: m.DatasetResource(properties=ds) for name, ds in items.items()}


TABLE_EXPR = (
    "concat('gold_', toLower(replace(pipeline().parameters.dataset, '-', '_')), '_', item())"
)
"""The sink table of a mart: ``gold_<dataset>_<mart>``, as udo's own load names it."""


def _load_gold(target: FactoryTarget) -> Any:
    """If the run names a dataset: copy each of its marts into Synapse and MySQL."""
    m = _models()

    gold = _quote(f"{target.abfss_root}/gold/")
    query = _expr(
        f"@concat('SELECT * FROM delta.`', {gold}, pipeline().parameters.dataset, '/', item(), '`')"
    )
    table = _expr(f"@{TABLE_EXPR}")

    def staging() -> Any:
        return m.StagingSettings(linked_service_name=_ls(LAKE), path=f"{target.container}/_staging")

    def copy(name: str, dataset: str, sink: Any) -> Any:
        return m.CopyActivity(
            name=name,
            inputs=[m.DatasetReference(type="DatasetReference", reference_name=GOLD_DELTA)],
            outputs=[
                m.DatasetReference(
                    type="DatasetReference", reference_name=dataset, parameters={"table": table}
                )
            ],
            source=m.AzureDatabricksDeltaLakeSource(query=query),
            sink=sink,
            enable_staging=True,
            staging_settings=staging(),
            policy=_policy("0.02:00:00", retry=2),
        )

    to_synapse = copy(
        "Copy mart to Synapse",
        SYNAPSE_TABLE,
        m.SqlDWSink(
            table_option="autoCreate",
            allow_copy_command=True,
            pre_copy_script=_expr(
                f"@concat('IF OBJECT_ID(''dbo.', {TABLE_EXPR}, ''') IS NOT NULL "
                f"TRUNCATE TABLE dbo.', {TABLE_EXPR})"
            ),
        ),
    )
    to_mysql = copy(
        "Copy mart to MySQL",
        MYSQL_TABLE,
        m.AzureMySqlSink(pre_copy_script=_expr(f"@concat('DELETE FROM `', {TABLE_EXPR}, '`')")),
    )
    each = m.ForEachActivity(
        name="Load each Gold mart",
        items=m.Expression(type="Expression", value="@pipeline().parameters.marts"),
        is_sequential=False,
        batch_count=4,
        activities=[to_synapse, to_mysql],
    )
    return m.IfConditionActivity(
        name=LOAD_ACTIVITY,
        expression=m.Expression(
            type="Expression", value="@not(empty(pipeline().parameters.dataset))"
        ),
        if_true_activities=[each],
        depends_on=_after(CLEAN_ACTIVITY),
    )


def _notify(target: FactoryTarget, route: str) -> list[Any]:
    """Read the API token from Key Vault (output kept secret), post the completion event."""
    m = _models()

    secret_url = (
        f"{target.key_vault_url.rstrip('/')}/secrets/{SECRETS['api_token']}"
        f"?api-version={KEY_VAULT_API_VERSION}"
    )
    read_token = m.WebActivity(
        name="Read API token",
        method="GET",
        url=secret_url,
        authentication=m.WebActivityAuthentication(type="MSI", resource="https://vault.azure.net"),
        policy=_policy("0.00:05:00", retry=2, secure_output=True),
        depends_on=_after(LOAD_ACTIVITY),
    )
    post = m.WebActivity(
        name="Post completion event",
        method="POST",
        url=target.api_url.rstrip("/") + EVENTS_PATH,
        headers={
            "Content-Type": "application/json",
            "Authorization": _expr("@concat('Bearer ', activity('Read API token').output.value)"),
        },
        body=completion_body(route),
        policy=_policy("0.00:05:00", retry=3, secure_input=True),
        depends_on=_after("Read API token"),
    )
    return [read_token, post]


def completion_body(route: str) -> dict[str, Any]:
    """The completion event a pipeline posts to ``POST /api/runs/events``: which udo run
    (empty for a scheduled drain), which pipeline run, which marts were loaded (a comma
    list). ADF fills the ``@{...}`` parts when the activity runs."""
    return {
        "source": "datafactory",
        "type": "pipeline.succeeded",
        "route": route,
        "run_id": "@{pipeline().parameters.run_id}",
        "dataset": "@{pipeline().parameters.dataset}",
        "batch_id": "@{pipeline().parameters.batch}",
        "marts": "@{join(pipeline().parameters.marts, ',')}",
        "factory": "@{pipeline().DataFactory}",
        "pipeline": "@{pipeline().Pipeline}",
        "pipeline_run_id": "@{pipeline().RunId}",
        "trigger": "@{pipeline().TriggerName}",
        "at": "@{utcNow()}",
    }


def _parameters(target: FactoryTarget) -> dict[str, Any]:
    m = _models()

    return {
        "dataset": m.ParameterSpecification(type="String", default_value=""),
        "batch": m.ParameterSpecification(type="String", default_value=""),
        "run_id": m.ParameterSpecification(type="String", default_value=""),
        "marts": m.ParameterSpecification(type="Array", default_value=list(target.marts)),
    }


def _drain_body() -> dict[str, Any]:
    return {
        "run_id": "@{pipeline().parameters.run_id}",
        "dataset": "@{pipeline().parameters.dataset}",
        "batch_id": "@{pipeline().parameters.batch}",
        "pipeline_run_id": "@{pipeline().RunId}",
    }


def large_job_parameters(target: FactoryTarget) -> dict[str, Any]:
    """The Databricks job's parameters for a udo-large run: the queue, and the udo run
    when the pipeline was started for one (empty on a schedule: drain the queue).

    `dataset` and `batch` are left to the job's empty defaults: the job checks them
    against the run, and a manual run naming only a dataset (to reload its Gold after a
    drain) must not turn the drain into a batch run without a run id."""
    return {"queue": target.large_queue, "run_id": _expr("@pipeline().parameters.run_id")}


def pipelines(target: FactoryTarget) -> dict[str, Any]:
    """udo-small and udo-large: clean, load Gold, post the completion event."""
    m = _models()

    small_clean = m.AzureFunctionActivity(
        name=CLEAN_ACTIVITY,
        description="POST /api/drain/small: the Function cleans what small-queue holds.",
        linked_service_name=_ls(FUNCTIONS),
        method="POST",
        function_name="drain/small",
        headers={"Content-Type": "application/json"},
        body=_drain_body(),
        policy=_policy("0.00:10:00"),  # the queue redelivers: no activity retry
    )
    large_clean = m.DatabricksJobActivity(
        name=CLEAN_ACTIVITY,
        description="A run of the Databricks job udo-large: drains large-queue on Spark, or "
        "cleans the run's batch when the pipeline names a run.",
        linked_service_name=_ls(DATABRICKS),
        job_id=target.databricks_job_id,
        job_parameters=large_job_parameters(target),
        policy=_policy("0.12:00:00"),  # the queue redelivers: no activity retry
    )
    result = {}
    for route, clean in (("small", small_clean), ("large", large_clean)):
        result[PIPELINES[route]] = m.PipelineResource(
            description=f"Drain {route}-queue, load Gold into the warehouse and the "
            "operational DB, tell the udo API.",
            parameters=_parameters(target),
            concurrency=1,
            activities=[clean, _load_gold(target), *_notify(target, route)],
            annotations=["udo"],
        )
    return result


def triggers(target: FactoryTarget) -> dict[str, Any]:
    """udo-small every 10 minutes, udo-large daily at 02:00 UTC (from udo's trigger specs)."""
    m = _models()

    result = {}
    for route, spec in (("small", target.small_trigger), ("large", target.large_trigger)):
        pipeline = PIPELINES[route]
        result[f"{pipeline}-schedule"] = m.TriggerResource(
            properties=m.ScheduleTrigger(
                description=f"Drain {route}-queue on udo's trigger {spec!r}.",
                recurrence=recurrence(spec),
                pipelines=[
                    m.TriggerPipelineReference(
                        pipeline_reference=m.PipelineReference(
                            type="PipelineReference", reference_name=pipeline
                        ),
                        parameters={},
                    )
                ],
            )
        )
    return result


def build_factory(target: FactoryTarget) -> FactoryDefinition:
    """The whole factory for `target`."""
    return FactoryDefinition(
        {
            "linkedService": linked_services(target),
            "dataset": datasets(),
            "pipeline": pipelines(target),
            "trigger": triggers(target),
        }
    )


def export_files(definition: FactoryDefinition) -> dict[str, str]:
    """Relative path (``pipeline/udo-small.json``) -> JSON text; the same input gives the
    same bytes."""
    return {
        f"{kind}/{name}.json": json.dumps(definition.body(kind, name), indent=2) + "\n"
        for kind in KINDS
        for name in definition.names(kind)
    }


def write_export(definition: FactoryDefinition, out: Path) -> list[Path]:
    """Write `definition` under `out` (one JSON per resource); JSON files of a kind's
    folder that are not in the definition are removed. Returns the written paths."""
    files = export_files(definition)
    written: list[Path] = []
    for kind in KINDS:
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.json"):
            if f"{kind}/{stale.name}" not in files:
                stale.unlink()
    for rel, text in files.items():
        path = out / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
