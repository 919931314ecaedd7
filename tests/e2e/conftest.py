"""Fixtures of the API tests: a real App on a temporary data folder, the Flask app over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from udo.api.options import ApiOptions
from udo.bootstrap import App, bootstrap
from udo.config import Settings

TINY_SPEC = """\
spec_version: 1
name: tiny
seed: 3
tables:
  people:
    rows: 25
    key: person_id
    fields:
      person_id: {type: int, sequence: {start: 1}}
      name: {type: string, faker: {method: first_name, pool: 50}}
      score: {type: 'decimal(6,2)', min: 0, max: 100, distribution: {kind: uniform}}
"""


def _make_udo(data_dir: Path, **settings: Any) -> App:
    return bootstrap(Settings(data_dir=data_dir, engines={"large": "polars"}, **settings))


@pytest.fixture(scope="session")
def tiny_spec() -> str:
    """A spec that generates and cleans in well under a second (dataset "tiny")."""
    return TINY_SPEC


@pytest.fixture(scope="session")
def make_udo() -> Callable[..., App]:
    """Builds a real App on a folder (the large route on polars: no Spark in these tests)."""
    return _make_udo


@pytest.fixture
def udo_app(tmp_path: Path) -> App:
    """A fresh App with its own lake, queues and runs."""
    return _make_udo(tmp_path / "data")


@pytest.fixture
def client(udo_app: App, build_api: Callable[..., Flask]) -> FlaskClient:
    """A test client of an API without a token (loopback)."""
    return build_api(udo_app, options=ApiOptions(sse_keepalive_seconds=0.2)).test_client()
