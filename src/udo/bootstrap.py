"""The composition root: Settings → adapters → services. Nothing else builds an adapter.

Adapters are looked up by their settings' ``type`` in registries of import paths, so a
provider's SDK is imported only when that provider is configured. Services that need a
connection (queue, metadata) are built on first use, so `udo spec show` opens nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from udo.config import DestinationSettings, Settings
from udo.domain.run import Route
from udo.errors import ConfigError
from udo.pipeline.bronze import BronzeStore
from udo.ports.destination import Destination
from udo.ports.metadata import MetadataStore
from udo.ports.notifier import Notifier
from udo.ports.orchestrator import Orchestrator
from udo.ports.queue import QueueService
from udo.ports.storage import StorageService

if TYPE_CHECKING:
    from udo.domain.rules import RuleSet
    from udo.pipeline.clean import Pipeline
    from udo.pipeline.load import LoadPlan

STORAGE_ADAPTERS: dict[str, str] = {
    "local": "udo.adapters.local.storage:LocalStorageAdapter",
    "azure": "udo.adapters.azure.storage:AzureDataLakeAdapter",
}
QUEUE_ADAPTERS: dict[str, str] = {
    "local": "udo.adapters.local.queue:SQLiteQueueAdapter",
    "azure": "udo.adapters.azure.queue:AzureStorageQueueAdapter",
}
NOTIFIERS: dict[str, str] = {
    "local": "udo.adapters.local.notifier:InProcessNotifier",
    "signalr": "udo.adapters.azure.signalr:AzureSignalRNotifier",
}
ORCHESTRATORS: dict[str, str] = {
    "local": "udo.adapters.local.orchestrator:LocalOrchestrator",
    "adf": "udo.adapters.azure.datafactory:AzureDataFactoryOrchestrator",
}
METADATA_ADAPTERS: dict[str, str] = {
    "sql": "udo.adapters.sql.metadata:SQLMetadataStore",
}
DESTINATION_ADAPTERS: dict[str, str] = {
    "duckdb": "udo.adapters.local.destination:DuckDBDestination",
    "sqlite": "udo.adapters.local.destination:SQLiteDestination",
    "mysql": "udo.adapters.sql.mysql:MySQLDestination",
    "postgres": "udo.adapters.sql.postgres:PostgresDestination",
    "synapse": "udo.adapters.sql.synapse:SynapseDestination",
}
ENGINES: dict[str, str] = {
    "polars": "udo.pipeline.engines.polars:PolarsEngine",
    "pandas": "udo.pipeline.engines.pandas:PandasEngine",
    "spark": "udo.pipeline.engines.spark:SparkEngine",
}


def _load(registry: dict[str, str], port: str, kind: str | None) -> type[Any]:
    if kind not in registry:
        available = ", ".join(sorted(registry))
        raise ConfigError(
            f"{port} type {kind!r} is not available in this version of udo "
            f"(available: {available}); set UDO_{port.upper()}__TYPE"
        )
    module, _, name = registry[kind].partition(":")
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def storage_from(settings: Settings) -> StorageService:
    """The configured StorageService adapter."""
    cls = _load(STORAGE_ADAPTERS, "storage", settings.storage.type)
    if settings.storage.type != "local":
        cloud: StorageService = cls.from_settings(settings)
        return cloud
    adapter: StorageService = cls(settings.storage.root)
    return adapter


def queue_from(settings: Settings) -> QueueService:
    """The configured QueueService adapter."""
    cls = _load(QUEUE_ADAPTERS, "queue", settings.queue.type)
    if settings.queue.type != "local":
        cloud: QueueService = cls.from_settings(settings)
        return cloud
    assert settings.queue.path is not None  # filled from data_dir by Settings
    path = Path(settings.queue.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    adapter: QueueService = cls(path, max_dequeue=settings.queue.max_dequeue)
    return adapter


def metadata_from(settings: Settings) -> MetadataStore:
    """The configured MetadataStore, migrated to the latest schema."""
    cls = _load(METADATA_ADAPTERS, "metadata", settings.metadata.type)
    url = settings.metadata.url
    assert url is not None  # filled from data_dir by Settings
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store: MetadataStore = cls(url)
    store.migrate()
    return store


def destination_from(settings: Settings, role: str) -> Destination:
    """The Destination configured for `role` ("warehouse" / "operational"); connects lazily."""
    ds: DestinationSettings = getattr(settings, role)
    cls = _load(DESTINATION_ADAPTERS, role, ds.type)
    if ds.url is not None:
        url = ds.url.get_secret_value()
    elif ds.type in ("duckdb", "sqlite"):
        url = f"{ds.type}:///{settings.data_dir / f'{role}.{ds.type}'}"
    else:
        raise ConfigError(f"{role} type {ds.type!r} needs a URL: set UDO_{role.upper()}__URL")
    try:
        destination: Destination = cls.from_url(url, bulk=ds.bulk)
    except ValueError as exc:
        raise ConfigError(f"UDO_{role.upper()}__URL: {exc}") from None  # no secret in the chain
    return destination


def load_plan_from(settings: Settings) -> Callable[[RuleSet], LoadPlan]:
    """The configured load plan for a dataset's rules."""
    from udo.pipeline.load import LoadPlan

    ls = settings.load
    if ls.plan_file is not None:
        plan = LoadPlan.from_yaml(ls.plan_file.read_text(encoding="utf-8"))
        return lambda rules: plan
    return lambda rules: LoadPlan.default(
        rules, facts=ls.facts, marts=ls.marts, entities=ls.entities
    )


def engine_from(name: str) -> Any:
    """A cleaning engine by name (the heavy ones import their library only now)."""
    cls = _load(ENGINES, "engine", name)
    return cls()


class App:
    """Every wired service; what the CLI, the API, the worker and tests use."""

    def __init__(self, settings: Settings, storage: StorageService) -> None:
        self.settings = settings
        self.storage = storage
        self.bronze = BronzeStore(storage)

    @property
    def queue_names(self) -> dict[Route, str]:
        """Queue of each route."""
        return {"small": self.settings.queue.small, "large": self.settings.queue.large}

    @property
    def route_engines(self) -> dict[Route, str]:
        """Engine of each route."""
        return {"small": self.settings.engines.small, "large": self.settings.engines.large}

    @cached_property
    def destinations(self) -> dict[str, Destination]:
        """The warehouse and the operational database (empty when loading is off)."""
        if not self.settings.load.enabled:
            return {}
        return {
            role: destination_from(self.settings, role) for role in ("warehouse", "operational")
        }

    def pipeline(self, engine: Any) -> Pipeline:
        """The medallion pipeline on `engine`, loading into the configured destinations."""
        from udo.pipeline.clean import Pipeline

        return Pipeline(
            self.storage,
            self.bronze,
            engine,
            destinations=self.destinations,
            load_plan=load_plan_from(self.settings),
        )

    @cached_property
    def queue(self) -> QueueService:
        """small-queue and large-queue."""
        return queue_from(self.settings)

    @cached_property
    def metadata(self) -> MetadataStore:
        """Runs."""
        return metadata_from(self.settings)

    @cached_property
    def notifier(self) -> Notifier:
        """Run events."""
        cls = _load(NOTIFIERS, "notifier", self.settings.notifier.type)
        if self.settings.notifier.type != "local":
            cloud: Notifier = cls.from_settings(self.settings)
            return cloud
        local: Notifier = cls()
        return local

    @cached_property
    def orchestrator(self) -> Orchestrator:
        """Who drains the queues: udo's triggers and worker, or Azure Data Factory."""
        cls = _load(ORCHESTRATORS, "orchestrator", self.settings.orchestrator.type)
        if self.settings.orchestrator.type != "local":
            cloud: Orchestrator = cls.from_settings(
                self.settings, metadata=self.metadata, notifier=self.notifier
            )
            return cloud
        local: Orchestrator = cls()
        return local

    @cached_property
    def runs(self) -> Any:
        """The RunService ("Clean Data")."""
        from udo.orchestration.runs import RunService

        return RunService(
            self.bronze,
            self.queue,
            self.metadata,
            self.notifier,
            queues=self.queue_names,
            engines=self.route_engines,
            threshold=self.settings.routing.small_max_records,
            orchestrator=self.orchestrator,
        )

    @cached_property
    def worker(self) -> Any:
        """The queue worker."""
        from udo.orchestration.worker import Worker

        s = self.settings
        return Worker(
            storage=self.storage,
            bronze=self.bronze,
            queue=self.queue,
            metadata=self.metadata,
            notifier=self.notifier,
            queues=self.queue_names,
            engines=self.route_engines,
            engine_factory=engine_from,
            pipeline_factory=self.pipeline,
            visibility_timeout=s.queue.visibility_timeout,
            max_dequeue=s.queue.max_dequeue,
            retry_backoff=s.worker.retry_backoff_seconds,
            stage_pause=s.worker.stage_pause_seconds,
            work_dir=None,
        )

    def triggers(self) -> Any:
        """A scheduler draining the queues on their triggers (not started)."""
        from udo.orchestration.triggers import Triggers

        specs: dict[Route, str] = {
            "small": self.settings.triggers.small,
            "large": self.settings.triggers.large,
        }
        return Triggers(self.worker, specs)


def bootstrap(settings: Settings | None = None) -> App:
    """Build the application from settings (read from the environment if not given)."""
    settings = settings or Settings()
    return App(settings=settings, storage=storage_from(settings))
