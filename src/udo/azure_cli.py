"""`udo azure ...`: export and deploy the Azure artifacts (Data Factory, Databricks, Functions).

The Azure SDKs are imported inside the commands, so `udo` starts without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from udo.adapters.azure.databricks import DEFAULT_ARTIFACTS

if TYPE_CHECKING:
    from udo.adapters.azure.datafactory_models import FactoryTarget

azure_app = typer.Typer(help="Azure: export and deploy Data Factory, Databricks and Functions.")


@azure_app.command("settings")
def show_settings() -> None:
    """Print the Azure settings udo reads (secrets masked)."""
    from udo.config import Settings

    typer.echo(Settings().azure.model_dump_json(indent=2))


def _factory_target(key_vault_url: str | None, api_url: str | None) -> FactoryTarget:
    from udo.adapters.azure.datafactory_models import FactoryTarget
    from udo.config import Settings

    return FactoryTarget.from_settings(Settings(), key_vault_url=key_vault_url, api_url=api_url)


KEY_VAULT_HELP = (
    "Key Vault holding the factory's secrets (https://<vault>.vault.azure.net/); "
    "default UDO_AZURE__DATAFACTORY__KEY_VAULT_URL"
)
API_URL_HELP = (
    "the udo API the pipelines post their completion event to (https://...); "
    "default UDO_AZURE__DATAFACTORY__API_URL"
)


@azure_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="folder of the ADF git layout")] = Path(
        "cloud/azure/adf"
    ),
    from_settings: Annotated[
        bool,
        typer.Option(
            "--from-settings",
            help="fill in this environment's endpoints instead of the committed placeholders",
        ),
    ] = False,
    key_vault_url: Annotated[str | None, typer.Option(help=KEY_VAULT_HELP)] = None,
    api_url: Annotated[str | None, typer.Option(help=API_URL_HELP)] = None,
) -> None:
    """Write the Data Factory (linked services, datasets, pipelines, triggers) as JSON."""
    from udo.adapters.azure.datafactory_models import FactoryTarget, build_factory, write_export

    target = _factory_target(key_vault_url, api_url) if from_settings else FactoryTarget.template()
    paths = write_export(build_factory(target), out)
    for path in paths:
        typer.echo(f"wrote {path}")


@azure_app.command("deploy")
def deploy(
    key_vault_url: Annotated[str | None, typer.Option(help=KEY_VAULT_HELP)] = None,
    api_url: Annotated[str | None, typer.Option(help=API_URL_HELP)] = None,
) -> None:
    """Create or update the Data Factory's resources and start its triggers (idempotent).

    udo-large runs the Databricks job UDO_AZURE__DATABRICKS__JOB_ID names (deploy it
    first: `udo azure deploy-databricks`). Authenticates with DefaultAzureCredential (az
    login, a managed identity, or the AZURE_* environment variables); the secrets must be
    in the Key Vault beforehand.
    """
    from udo.adapters.azure import datafactory
    from udo.adapters.azure.datafactory_models import SECRETS, build_factory
    from udo.config import Settings

    settings = Settings()
    target = _factory_target(key_vault_url, api_url)
    df = settings.azure.datafactory
    client = datafactory.management_client(df)
    steps = datafactory.deploy(client, df, build_factory(target))
    for step in steps:
        typer.echo(str(step))
    typer.echo(
        f"factory {df.factory} deployed; it reads these Key Vault secrets: "
        + ", ".join(sorted(SECRETS.values()))
    )


@azure_app.command("deploy-databricks")
def deploy_databricks(
    artifacts: Annotated[
        str,
        typer.Option(
            help="workspace folder holding udo_job.py and the udo wheel "
            "(databricks workspace import ...)"
        ),
    ] = DEFAULT_ARTIFACTS,
    existing_cluster_id: Annotated[
        str | None,
        typer.Option(
            help="run on this cluster instead of a new job cluster; the udo settings must "
            "then be the cluster's own environment variables (no --env)"
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE for the job cluster (secrets as {{secrets/<scope>/<key>}})"),
    ] = None,
) -> None:
    """Create or update the Databricks job `udo-large` (drains large-queue on Spark).

    Prints the job id to set as UDO_AZURE__DATABRICKS__JOB_ID (Data Factory's udo-large
    runs that job). Authenticates with UDO_AZURE__DATABRICKS__TOKEN, or Azure AD
    (DefaultAzureCredential) without one.
    """
    from udo.adapters.azure.databricks import DatabricksComputeAdapter, DatabricksJobSpec
    from udo.config import Settings
    from udo.errors import ConfigError

    if existing_cluster_id and env:
        raise ConfigError(
            f"--env cannot be used with --existing-cluster-id {existing_cluster_id}: a task "
            "cannot set an existing cluster's environment. Set the UDO_... variables on the "
            "cluster (Advanced options > Spark > Environment variables), or drop "
            "--existing-cluster-id to run on a new job cluster that gets --env"
        )
    variables: dict[str, str] | None = None
    if not existing_cluster_id:
        variables = {"UDO_CLOUD": "azure"}
        for item in env or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--env takes KEY=VALUE, got {key or item!r}")
            variables[key] = value
    settings = Settings()
    spec = DatabricksJobSpec(
        artifacts=artifacts,
        queue=settings.queue.large,
        existing_cluster_id=existing_cluster_id,
        env=variables,
    )
    compute = DatabricksComputeAdapter.from_settings(settings)
    try:
        job_id = compute.deploy_job(spec)
    finally:
        compute.close()
    typer.echo(f"job udo-large: {job_id}  (set UDO_AZURE__DATABRICKS__JOB_ID={job_id})")


@azure_app.command("run-databricks")
def run_databricks(
    run_id: Annotated[str | None, typer.Option(help="clean this run's batch only")] = None,
    max_runs: Annotated[int | None, typer.Option(help="stop after this many messages")] = None,
    wait: Annotated[bool, typer.Option(help="follow the run until it ends")] = False,
) -> None:
    """Start the Databricks job now on large-queue (what the daily trigger does)."""
    from udo.adapters.azure.databricks import DatabricksComputeAdapter
    from udo.config import Settings
    from udo.ports.compute import ComputeJob

    settings = Settings()
    compute = DatabricksComputeAdapter.from_settings(settings)
    try:
        run = compute.submit(
            ComputeJob(queue=settings.queue.large, run_id=run_id, max_runs=max_runs)
        )
        typer.echo(f"submitted run {run.id}" + (f": {run.url}" if run.url else ""))
        if wait:
            final = compute.wait(run, on_change=lambda state: typer.echo(str(state)))
            if final.state != "SUCCEEDED":
                raise typer.Exit(1)
    finally:
        compute.close()
