"""`udo azure ...`: export and deploy the Azure artifacts (Data Factory, Databricks, Functions).

The Azure SDKs are imported inside the commands, so `udo` starts without them.
"""

from __future__ import annotations

import typer

azure_app = typer.Typer(help="Azure: export and deploy Data Factory, Databricks and Functions.")


@azure_app.command("settings")
def show_settings() -> None:
    """Print the Azure settings udo reads (secrets masked)."""
    from udo.config import Settings

    typer.echo(Settings().azure.model_dump_json(indent=2))
