"""Request bodies and query strings of the API, validated with pydantic.

Names (datasets, batches) follow ``udo.domain.manifest.NAME_RE``; a pattern written for
pydantic's regex engine, where ``$`` is the end of the text (Python's ``re`` would also
accept a trailing newline).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from udo.domain.run import RunStatus

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"
"""`udo.domain.manifest.NAME_RE` as a JSON Schema / pydantic pattern."""
MAX_SPEC_CHARS = 1_000_000
MAX_OFFSET = 2**53 - 1
MAX_PAGE = 500
Dirt = Literal["none", "light", "default", "heavy"]
BronzeFormat = Literal["parquet", "csv", "jsonl"]
Layer = Literal["bronze", "silver", "quarantine", "gold"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpecValidateRequest(_Body):
    """POST /api/specs/validate."""

    yaml: str = Field(max_length=MAX_SPEC_CHARS, description="a DatasetSpec as YAML or JSON")


class GenerateRequest(_Body):
    """POST /api/datasets/generate: exactly one of `preset` and `spec_yaml`."""

    preset: str | None = Field(None, max_length=100)
    spec_yaml: str | None = Field(None, max_length=MAX_SPEC_CHARS)
    rows: int | None = Field(None, ge=0, le=MAX_OFFSET)
    seed: int | None = Field(None, ge=0, lt=2**63)
    dirt: Dirt = "none"
    format: BronzeFormat | None = None
    dataset: str | None = Field(None, pattern=NAME_PATTERN)
    batch_id: str | None = Field(None, pattern=NAME_PATTERN)

    @model_validator(mode="after")
    def _one_source(self) -> GenerateRequest:
        if (self.preset is None) == (self.spec_yaml is None):
            raise ValueError("give exactly one of 'preset' and 'spec_yaml'")
        return self


class CleanRequest(_Body):
    """POST /api/clean ("Clean Data")."""

    dataset: str = Field(pattern=NAME_PATTERN)
    batch_id: str | None = Field(None, pattern=NAME_PATTERN)
    force: bool = False


class PipelineEventRequest(_Body):
    """POST /api/runs/events: Data Factory's completion event (``completion_body`` in
    ``udo.adapters.azure.datafactory_models``). Empty strings where a scheduled drain has
    no run, dataset or batch."""

    source: Literal["datafactory"]
    type: Literal["pipeline.succeeded"]
    route: Literal["small", "large"]
    run_id: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,64}$")
    dataset: str = Field("", pattern=r"^(|[A-Za-z][A-Za-z0-9_-]{0,62})$")
    batch_id: str = Field("", pattern=r"^(|[A-Za-z][A-Za-z0-9_-]{0,62})$")
    marts: str = Field("", max_length=4000, description="comma-separated mart names")
    factory: str = Field(min_length=1, max_length=100)
    pipeline: str = Field(min_length=1, max_length=260)
    pipeline_run_id: str = Field(min_length=1, max_length=100)
    trigger: str = Field("", max_length=260)
    at: AwareDatetime


class RunsQuery(BaseModel):
    """GET /api/runs (names are checked by the view: a bad one is a 400, as in paths)."""

    dataset: str | None = None
    status: RunStatus | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class RowsQuery(BaseModel):
    """GET /api/datasets/{dataset}/rows."""

    layer: Layer
    table: str
    batch_id: str | None = None
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int = Field(50, ge=1, le=MAX_PAGE)
