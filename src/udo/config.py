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

from pydantic import BaseModel, Field, model_validator
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
    root: Path = Field(Path("udo-data/lake"), description="local adapter: the lake's folder")


class GenerateSettings(BaseModel):
    """Defaults of `udo generate`."""

    chunk_rows: int = Field(65_536, ge=1, description="rows generated per chunk (memory bound)")
    format: BronzeFormat = "parquet"
    row_group_rows: int = Field(131_072, ge=1, description="Parquet row group size")


class IngestSettings(BaseModel):
    """Limits of `udo ingest`."""

    max_file_bytes: int = Field(10 * 1024**3, ge=1)
    malformed_samples: int = Field(20, ge=0, description="malformed lines listed per file")


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

    @model_validator(mode="after")
    def _apply_profile(self) -> Settings:
        if self.storage.type is None:
            self.storage.type = self.cloud
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
