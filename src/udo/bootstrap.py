"""The composition root: Settings → adapters → services. Nothing else builds an adapter.

Adapters are looked up by their settings' ``type`` in a registry of import paths, so a
provider's SDK is imported only when that provider is configured.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from udo.config import Settings
from udo.errors import ConfigError
from udo.pipeline.bronze import BronzeStore
from udo.ports.storage import StorageService

STORAGE_ADAPTERS: dict[str, str] = {
    "local": "udo.adapters.local.storage:LocalStorageAdapter",
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
    adapter: StorageService = cls(settings.storage.root)
    return adapter


ENGINES: dict[str, str] = {
    "polars": "udo.pipeline.engines.polars:PolarsEngine",
    "pandas": "udo.pipeline.engines.pandas:PandasEngine",
    "spark": "udo.pipeline.engines.spark:SparkEngine",
}


def engine_from(name: str) -> Any:
    """A cleaning engine by name (the heavy ones import their library only now)."""
    cls = _load(ENGINES, "engine", name)
    return cls()


@dataclass
class App:
    """Every wired service; what the CLI, the API and tests use."""

    settings: Settings
    storage: StorageService
    bronze: BronzeStore


def bootstrap(settings: Settings | None = None) -> App:
    """Build the application from settings (read from the environment if not given)."""
    settings = settings or Settings()
    storage = storage_from(settings)
    return App(settings=settings, storage=storage, bronze=BronzeStore(storage))
