"""Settings: the only module that reads the environment.

Sources, highest priority first: keyword arguments, environment variables
``UDO_<SECTION>__<KEY>`` (e.g. ``UDO_STORAGE__ROOT=/data/lake``), a ``.env`` file, then an
optional TOML file (``udo.toml`` in the working directory, or the path in ``UDO_CONFIG``).
``UDO_CLOUD`` picks a profile; each port section's ``type`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Cloud = Literal["local", "azure", "alicloud"]
BronzeFormat = Literal["parquet", "csv", "jsonl"]


class StorageSettings(BaseModel):
    """The lake: where Bronze (and later Silver and Gold) live."""

    type: Cloud | None = Field(None, description="adapter; defaults to the cloud profile")
    root: Path | None = Field(None, description="local adapter: the lake (<data_dir>/lake)")


class GenerateSettings(BaseModel):
    """Defaults of `udo generate`."""

    chunk_rows: int = Field(65_536, ge=1, description="rows generated per chunk (memory bound)")
    format: BronzeFormat = "parquet"
    row_group_rows: int = Field(131_072, ge=1, description="Parquet row group size")


class IngestSettings(BaseModel):
    """Limits of `udo ingest`."""

    max_file_bytes: int = Field(10 * 1024**3, ge=1)
    malformed_samples: int = Field(20, ge=0, description="malformed lines listed per file")


class QueueSettings(BaseModel):
    """small-queue and large-queue."""

    type: Cloud | None = None
    path: Path | None = Field(None, description="local adapter: <data_dir>/queues.db")
    small: str = "small-queue"
    large: str = "large-queue"
    visibility_timeout: float = Field(300.0, gt=0, description="seconds a received message hides")
    max_dequeue: int = Field(5, ge=1, description="deliveries before a message is poison")


class MetadataSettings(BaseModel):
    """Runs and their history."""

    type: Literal["sql"] = "sql"
    url: str | None = Field(None, description="any SQLAlchemy URL (sqlite:///<data_dir>/udo.db)")


class RoutingSettings(BaseModel):
    """The roadmap's Data Routing Logic."""

    small_max_records: int = Field(10_000, ge=0, description="<= this many records: small-queue")


class TriggerSettings(BaseModel):
    """When each queue is drained: ``interval:<seconds>`` or ``cron:<crontab, UTC>``."""

    small: str = "interval:600"
    large: str = "cron:0 2 * * *"


class EngineSettings(BaseModel):
    """The engine of each route."""

    small: Literal["polars", "pandas"] = "polars"
    large: Literal["spark", "polars", "pandas"] = "spark"


class WorkerSettings(BaseModel):
    """The queue worker."""

    poll_seconds: float = Field(2.0, gt=0, description="idle wait between empty receives")
    retry_backoff_seconds: float = Field(5.0, ge=0, description="first retry delay; doubles")
    stage_pause_seconds: float = Field(
        0.0, ge=0, description="testing aid: sleep after each stage (crash-safety tests)"
    )


DestinationType = Literal["duckdb", "sqlite", "mysql", "postgres", "synapse"]
DESTINATION_PROFILES: dict[str, tuple[DestinationType, DestinationType]] = {
    "local": ("duckdb", "sqlite"),
    "azure": ("synapse", "mysql"),
    "alicloud": ("duckdb", "sqlite"),  # AnalyticDB / ApsaraDB adapters are V2
}


class DestinationSettings(BaseModel):
    """A database udo loads into: the warehouse or the operational DB."""

    type: DestinationType | None = Field(None, description="adapter; defaults to the cloud profile")
    url: SecretStr | None = Field(
        None,
        description="duckdb:///path, sqlite:///path, mysql://user:pw@host:3306/db, "
        "postgresql://..., or (synapse) an ODBC connection string or mssql+pyodbc:// URL; "
        "duckdb/sqlite default to <data_dir>/<role>.<type>",
    )
    bulk: bool = Field(True, description="use the bulk path (Arrow scan, COPY, LOAD DATA)")


class LoadSettings(BaseModel):
    """What is loaded where after cleaning (udo.pipeline.load.LoadPlan.default)."""

    enabled: bool = True
    facts: list[str] | None = Field(None, description="Silver tables for the warehouse")
    marts: list[str] | None = Field(None, description="Gold marts for the warehouse (default all)")
    entities: list[str] | None = Field(None, description="Silver tables for the operational DB")
    plan_file: Path | None = Field(None, description="a whole LoadPlan in YAML/JSON")


class ApiSettings(BaseModel):
    """The HTTP API (`udo up`); see docs/api.md."""

    host: str = Field(
        "127.0.0.1", description="listen address; anything but loopback needs a token"
    )
    port: int = Field(8000, ge=1, le=65535)
    token: SecretStr | None = Field(
        None, description="bearer token (16+ characters) for every /api route but /api/health"
    )
    cors_origin: str | None = Field(
        None, description="the one browser origin allowed cross-origin (http://localhost:5173)"
    )
    max_upload_bytes: int = Field(1024**3, ge=1, description="largest request body (413 past it)")
    max_generate_rows: int = Field(
        10_000_000, ge=1, description="most rows one generate request makes (all tables)"
    )
    sse_keepalive_seconds: float = Field(
        15.0, gt=0, description="idle seconds before the event stream sends ': keep-alive'"
    )


class AzureStorageSettings(BaseModel):
    """The storage account holding the lake (ADLS Gen2 / Blob) and the queues.

    Credentials: `connection_string` if set (a key or SAS; Azurite's well-known one in
    tests), otherwise azure-identity's DefaultAzureCredential against `account`.
    """

    account: str | None = Field(None, description="storage account name (udolake)")
    connection_string: SecretStr | None = Field(
        None, description="account connection string; DefaultAzureCredential when unset"
    )
    container: str = Field("udo", description="the lake's container (ADLS file system)")
    blob_endpoint: str | None = Field(
        None, description="blob endpoint override (https://<account>.blob.core.windows.net)"
    )
    dfs_endpoint: str | None = Field(
        None, description="ADLS Gen2 endpoint override (https://<account>.dfs.core.windows.net)"
    )
    queue_endpoint: str | None = Field(
        None, description="queue endpoint override (https://<account>.queue.core.windows.net)"
    )
    hierarchical_namespace: bool = Field(
        True, description="the account has ADLS Gen2 on: directory renames are atomic"
    )


class DatabricksSettings(BaseModel):
    """The heavy path's Databricks workspace and job."""

    host: str | None = Field(None, description="https://adb-<id>.<n>.azuredatabricks.net")
    token: SecretStr | None = Field(
        None, description="personal access token; azure-identity (Azure AD) when unset"
    )
    job_id: int | None = Field(None, description="the job `udo azure deploy` created")
    cluster_id: str | None = Field(None, description="existing cluster for the ADF activity")
    poll_seconds: float = Field(10.0, gt=0)


class DataFactorySettings(BaseModel):
    """The Data Factory that orchestrates udo-small and udo-large."""

    subscription_id: str | None = None
    resource_group: str | None = None
    factory: str | None = Field(None, description="the data factory's name")
    location: str = "westeurope"
    key_vault_url: str | None = Field(
        None,
        description="Key Vault holding the factory's secrets (https://<vault>.vault.azure.net/)",
    )
    api_url: str | None = Field(
        None, description="the udo API the pipelines post their completion event to"
    )
    poll_seconds: float = Field(15.0, gt=0)
    arm_endpoint: str = Field(
        "https://management.azure.com", description="Resource Manager endpoint (tests: stand-in)"
    )


class FunctionsSettings(BaseModel):
    """The Function app: routing ("Clean Data") and the small-path cleaning function."""

    url: str | None = Field(None, description="https://<app>.azurewebsites.net")
    key: SecretStr | None = Field(None, description="function key ADF and the API call it with")


class SignalRSettings(BaseModel):
    """Azure SignalR Service (serverless): "Cleaning complete" to the browsers."""

    connection_string: SecretStr | None = Field(
        None, description="Endpoint=https://<name>.service.signalr.net;AccessKey=...;Version=1.0;"
    )
    hub: str = "udo"
    token_ttl_seconds: int = Field(3600, ge=60, le=86400)


class AzureSettings(BaseModel):
    """Everything `UDO_CLOUD=azure` needs (see README "Run on Azure")."""

    storage: AzureStorageSettings = Field(default_factory=AzureStorageSettings)
    databricks: DatabricksSettings = Field(default_factory=DatabricksSettings)
    datafactory: DataFactorySettings = Field(default_factory=DataFactorySettings)
    functions: FunctionsSettings = Field(default_factory=FunctionsSettings)
    signalr: SignalRSettings = Field(default_factory=SignalRSettings)


class NotifierSettings(BaseModel):
    """Where run events go: in-process (SSE) or Azure SignalR Service."""

    type: Literal["local", "signalr"] | None = Field(
        None, description="defaults to the cloud profile (azure: signalr)"
    )


class OrchestratorSettings(BaseModel):
    """Who drains the queues: udo's own triggers and worker, or Azure Data Factory."""

    type: Literal["local", "adf"] | None = Field(
        None, description="defaults to the cloud profile (azure: adf)"
    )


def _toml_path() -> Path:
    return Path(os.environ.get("UDO_CONFIG", "udo.toml"))


class Settings(BaseSettings):
    """Everything udo is configured with, read once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="UDO_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    cloud: Cloud = "local"
    data_dir: Path = Field(Path("udo-data"), description="working folder of the embedded defaults")
    storage: StorageSettings = StorageSettings()
    generate: GenerateSettings = GenerateSettings()
    ingest: IngestSettings = IngestSettings()
    queue: QueueSettings = QueueSettings()
    metadata: MetadataSettings = MetadataSettings()
    routing: RoutingSettings = RoutingSettings()
    triggers: TriggerSettings = TriggerSettings()
    engines: EngineSettings = EngineSettings()
    worker: WorkerSettings = WorkerSettings()
    warehouse: DestinationSettings = Field(default_factory=DestinationSettings)
    operational: DestinationSettings = Field(default_factory=DestinationSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    notifier: NotifierSettings = Field(default_factory=NotifierSettings)
    orchestrator: OrchestratorSettings = Field(default_factory=OrchestratorSettings)
    azure: AzureSettings = Field(default_factory=AzureSettings)
    databricks_runtime: str | None = Field(
        None,
        validation_alias="DATABRICKS_RUNTIME_VERSION",
        description="set by Databricks on its clusters (read, never configured)",
    )

    @model_validator(mode="after")
    def _apply_profile(self) -> Settings:
        if self.storage.type is None:
            self.storage.type = self.cloud
        if self.storage.root is None:
            self.storage.root = self.data_dir / "lake"
        if self.queue.path is None:
            self.queue.path = self.data_dir / "queues.db"
        if self.metadata.url is None:
            self.metadata.url = f"sqlite:///{self.data_dir / 'udo.db'}"
        if self.queue.type is None:
            self.queue.type = self.cloud
        if self.notifier.type is None:
            self.notifier.type = "signalr" if self.cloud == "azure" else "local"
        if self.orchestrator.type is None:
            self.orchestrator.type = "adf" if self.cloud == "azure" else "local"
        warehouse, operational = DESTINATION_PROFILES[self.cloud]
        self.warehouse.type = self.warehouse.type or warehouse
        self.operational.type = self.operational.type or operational
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)
