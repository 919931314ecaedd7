"""The Bronze batch manifest: what was landed, enough to route and to audit.

The router reads only this (records per table), never the data. Data files are
immutable once the manifest exists.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MANIFEST_VERSION = 1
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,62}$")
"""Dataset, batch and table names: safe as path segments and SQL identifiers."""


class ColumnSchema(BaseModel):
    """One column as landed in Bronze (type names are udo's, e.g. ``decimal(12,2)``)."""

    name: str
    type: str
    nullable: bool = True


class DefectSummary(BaseModel):
    """Ground truth of injected defects for one table: counts and where the rows are."""

    counts: dict[str, int] = Field(default_factory=dict)
    file: str | None = Field(None, description="key of the Parquet file listing each defect")


class MalformedSummary(BaseModel):
    """Rows of an ingested file that could not be parsed as the rest were (kept as received)."""

    count: int = 0
    by_reason: dict[str, int] = Field(default_factory=dict)
    samples: list[dict[str, Any]] = Field(
        default_factory=list, description="first few: line number, reason, excerpt"
    )


class TableManifest(BaseModel):
    """One landed table file."""

    file: str = Field(description="key relative to the batch folder")
    format: Literal["parquet", "csv", "jsonl"]
    records: int
    bytes: int
    sha256: str
    columns: list[ColumnSchema]
    defects: DefectSummary | None = None
    malformed: MalformedSummary | None = None
    encoding: str | None = None
    source_name: str | None = Field(None, description="the user's file name, for ingests")


class BronzeManifest(BaseModel):
    """``bronze/<dataset>/<batch_id>/_manifest.json``."""

    manifest_version: int = MANIFEST_VERSION
    dataset: str
    batch_id: str
    origin: Literal["generated", "ingested"]
    created_at: datetime
    tables: dict[str, TableManifest]
    spec_name: str | None = None
    spec_hash: str | None = None
    seed: int | None = None
    dirt: dict[str, float] | None = Field(None, description="defect rates requested")
    spec: dict[str, Any] | None = Field(None, description="the spec that generated the batch")

    @property
    def records(self) -> int:
        """Total records over all tables: what the router compares to its threshold."""
        return sum(t.records for t in self.tables.values())
