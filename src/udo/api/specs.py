"""Presets and spec validation: GET /api/presets[/{name}], POST /api/specs/validate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g

from udo.api.errors import ApiError, detail
from udo.api.inputs import json_body
from udo.api.models import SpecValidateRequest
from udo.api.yaml_lines import shape_problem
from udo.domain.spec import DatasetSpec

bp = Blueprint("specs", __name__)
MAX_SPEC_NODES = 200_000
"""A spec is a few hundred YAML nodes; more than this (after aliases) is refused."""


def load_spec_text(text: str) -> DatasetSpec:
    """Parse and validate a submitted spec, Faker methods included.

    `SpecError` (answered 422 with the YAML line of each problem) if it is invalid; 422
    if its aliases expand past `MAX_SPEC_NODES` or it nests deeper than any spec.
    """
    from udo.generate.sources import faker_problems

    g.spec_text = text  # the error handler finds each problem's line in it
    problem = shape_problem(text, MAX_SPEC_NODES)
    if problem is not None:
        raise ApiError(
            422, "invalid_spec", "invalid dataset spec (1 problem)", [detail("", problem)]
        )
    try:
        return DatasetSpec.from_text(text, source="the submitted spec", checks=[faker_problems])
    except RecursionError:
        raise ApiError(
            422,
            "invalid_spec",
            "invalid dataset spec (1 problem)",
            [detail("", "the spec is nested too deeply")],
        ) from None


@bp.get("/api/presets")
def presets() -> list[dict[str, Any]]:
    """Built-in presets with their tables."""
    from udo.generate.presets import load_preset, preset_names

    return [{"name": n, "tables": list(load_preset(n).tables)} for n in preset_names()]


@bp.get("/api/presets/<name>")
def preset(name: str) -> dict[str, Any]:
    """A preset as YAML, to copy and edit."""
    from udo.generate.presets import load_preset, preset_names

    if name not in preset_names():
        raise ApiError(404, "not_found", "no such preset; GET /api/presets lists them")
    return {"name": name, "yaml": load_preset(name).to_yaml()}


@bp.post("/api/specs/validate")
def validate() -> dict[str, Any]:
    """Validate a spec as `udo spec validate` does: every problem with its location."""
    from udo.generate.engine import DatasetGenerator

    body = json_body(SpecValidateRequest)
    spec = load_spec_text(body.yaml)
    # compiling a small copy runs Faker once per field: bad arguments show up here
    rows = min(spec.tables[spec.primary_table()].rows or 1, 1000)
    DatasetGenerator(spec.scaled(rows), 1000)
    return {"ok": True, "name": spec.name, "tables": list(spec.tables)}
