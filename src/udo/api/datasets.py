"""Datasets in Bronze: list, generate, upload, manifests, and rows of every layer."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from udo.api.errors import ApiError, detail
from udo.api.inputs import check_name, json_body, query
from udo.api.layers import LayerReader
from udo.api.models import GenerateRequest, RowsQuery
from udo.api.specs import load_spec_text
from udo.api.state import state
from udo.api.values import iso
from udo.domain.manifest import NAME_RE, BronzeManifest
from udo.domain.spec import DatasetSpec

bp = Blueprint("datasets", __name__)
MAX_FILENAME_CHARS = 255


def batch_json(manifest: BronzeManifest) -> dict[str, Any]:
    """What generate and upload answer: the landed batch, table by table."""
    return {
        "dataset": manifest.dataset,
        "batch_id": manifest.batch_id,
        "records": manifest.records,
        "tables": {
            name: {
                "records": t.records,
                "bytes": t.bytes,
                "format": t.format,
                "defects": dict(t.defects.counts) if t.defects else None,
                "malformed": t.malformed.count if t.malformed else 0,
            }
            for name, t in manifest.tables.items()
        },
    }


@bp.get("/api/datasets")
def datasets() -> list[dict[str, Any]]:
    """Every dataset with its landed batches, oldest first."""
    bronze = state().udo.bronze
    out = []
    for name in bronze.datasets():
        batches = []
        for batch_id in bronze.batches(name):
            m = bronze.manifest(name, batch_id)
            batches.append(
                {
                    "batch_id": batch_id,
                    "origin": m.origin,
                    "records": m.records,
                    "created_at": iso(m.created_at),
                }
            )
        out.append({"name": name, "batches": batches})
    return out


@bp.post("/api/datasets/generate")
def generate() -> ResponseReturnValue:
    """Generate a synthetic dataset from a preset or a spec and land it as a Bronze batch."""
    from udo.generate.dirt import DirtProfile
    from udo.generate.presets import load_preset
    from udo.generate.service import generate_batch

    body = json_body(GenerateRequest)
    st = state()
    settings = st.udo.settings
    spec: DatasetSpec
    if body.preset is not None:
        spec = load_preset(body.preset)  # SpecError at "preset" if unknown
    else:
        assert body.spec_yaml is not None  # the model requires one of the two
        spec = load_spec_text(body.spec_yaml)
    if body.rows is not None:
        spec = spec.scaled(body.rows)
    if body.seed is not None:
        spec = spec.with_seed(body.seed)
    most = sum(spec.max_rows(t) for t in spec.tables)  # per_parent tables at their max
    limit = st.options.max_generate_rows
    if most > limit:
        raise ApiError(
            422,
            "validation_error",
            "too many rows for one request",
            [detail("rows", f"up to {most:,} rows in all tables; this server allows {limit:,}")],
        )
    dataset = body.dataset or spec.name.replace(" ", "_")
    if not NAME_RE.fullmatch(dataset):
        raise ApiError(
            422,
            "validation_error",
            "the spec's name is not a valid dataset name",
            [detail("dataset", "give a dataset name: letters, digits, '_' or '-'")],
        )
    manifest = generate_batch(
        st.udo.bronze,
        spec,
        dataset=dataset,
        batch_id=body.batch_id,
        fmt=body.format or settings.generate.format,
        dirt=DirtProfile.named(body.dirt),
        chunk_rows=settings.generate.chunk_rows,
        row_group_rows=settings.generate.row_group_rows,
    )
    return batch_json(manifest), 201


def _upload_name(filename: str | None) -> str:
    """A part's file name if it is a plain name (its stem becomes the table name)."""
    if not filename:
        raise ApiError(
            422,
            "validation_error",
            "every file part needs a file name",
            [detail("files", "a file name such as orders.csv is required")],
        )
    bad = (
        "/" in filename
        or "\\" in filename
        or "\x00" in filename
        or filename.startswith(".")
        or len(filename) > MAX_FILENAME_CHARS
    )
    if bad:
        raise ApiError(
            400,
            "invalid_name",
            "invalid file name: a plain name such as orders.csv, without folders",
            [detail("files", "not a plain file name")],
        )
    return filename


@bp.post("/api/datasets/<dataset>/upload")
def upload(dataset: str) -> ResponseReturnValue:
    """Land uploaded CSV, JSON lines and Parquet files as one Bronze batch."""
    from udo.pipeline.ingest import ingest_files

    check_name("dataset", dataset)
    files = request.files.getlist("files")  # parsing the body: 413 past the limit
    batch_id = request.form.get("batch_id") or None
    if batch_id is not None and not NAME_RE.fullmatch(batch_id):
        raise ApiError(
            422,
            "validation_error",
            "invalid batch_id",
            [detail("batch_id", "use 1-63 letters, digits, '_' or '-', starting with a letter")],
        )
    if not files:
        raise ApiError(
            422,
            "validation_error",
            "no file uploaded",
            [detail("files", "send one or more multipart parts named 'files'")],
        )
    st = state()
    with tempfile.TemporaryDirectory(prefix="udo-upload-") as tmp:
        paths: list[Path] = []
        for part in files:
            path = Path(tmp) / _upload_name(part.filename)
            if path.exists():
                raise ApiError(
                    422,
                    "validation_error",
                    "two files have the same name",
                    [detail("files", "each file becomes a table: names must differ")],
                )
            part.save(path)
            paths.append(path)
        manifest = ingest_files(
            st.udo.bronze, paths, dataset, batch_id=batch_id, settings=st.udo.settings.ingest
        )
    return batch_json(manifest), 201


@bp.get("/api/datasets/<dataset>/batches/<batch_id>/manifest")
def manifest(dataset: str, batch_id: str) -> dict[str, Any]:
    """A batch's manifest as stored."""
    check_name("dataset", dataset)
    check_name("batch", batch_id)
    found: dict[str, Any] = state().udo.bronze.manifest(dataset, batch_id).model_dump(mode="json")
    return found


@bp.get("/api/datasets/<dataset>/rows")
def rows(dataset: str) -> dict[str, Any]:
    """A page of a table in one layer: ``layer``, ``table``, ``batch_id``, ``offset``, ``limit``."""
    check_name("dataset", dataset)
    q = query(RowsQuery)
    check_name("table", q.table)
    if q.batch_id is not None:
        check_name("batch", q.batch_id)
    reader = LayerReader(state().udo)
    return reader.page(dataset, q.layer, q.table, q.batch_id, q.offset, q.limit).to_json()
