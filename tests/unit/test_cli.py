"""The `udo` command line, run as a subprocess (`python -m udo.cli`) against a temp lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from udo.adapters.local.storage import LocalStorageAdapter
from udo.domain.spec import DatasetSpec
from udo.generate.dirt import PROFILES
from udo.generate.presets import load_preset
from udo.pipeline.bronze import BronzeStore

PRESET_FILE = Path(__file__).parents[2] / "src" / "udo" / "generate" / "presets" / "ecommerce.yaml"

BAD_SPEC = """\
name: broken
tables:
  customers:
    rows: 10
    key: customer_id
    fields:
      customer_id: {type: int, sequence: {}}
      age: {type: int, min: 90, max: 18, distribution: {kind: uniform}}
  orders:
    rows: 20
    fields:
      customer_id: {type: int, fk: {table: clients}}
"""


def udo(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m udo.cli ARGS` in `workdir`, with the lake at workdir/lake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UDO_")}
    env.update(
        UDO_DATA_DIR=str(workdir),
        UDO_STORAGE__ROOT=str(workdir / "lake"),
        COLUMNS="200",
        NO_COLOR="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "udo.cli", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder whose lake holds batch ecommerce/b1 (500 orders, default dirt)."""
    folder = tmp_path_factory.mktemp("cli")
    done = udo(
        folder, "generate", "--preset", "ecommerce", "--rows", "500", "--dirt", "default",
        "--batch", "b1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


def test_generate_lands_the_batch(workdir: Path) -> None:
    bronze = BronzeStore(LocalStorageAdapter(workdir / "lake"))
    assert bronze.exists("ecommerce", "b1")
    manifest = bronze.manifest("ecommerce", "b1")
    orders = manifest.tables["orders"]
    assert orders.defects is not None
    assert orders.records == 500 + orders.defects.counts.get("duplicate", 0)
    assert manifest.dirt == PROFILES["default"].rates()
    assert manifest.spec_name == "ecommerce"


def test_generating_the_same_batch_again_exits_2(workdir: Path) -> None:
    done = udo(
        workdir, "generate", "--preset", "ecommerce", "--rows", "500", "--dirt", "default",
        "--batch", "b1",
    )  # fmt: skip
    assert done.returncode == 2
    assert "error:" in done.stderr
    assert "already landed" in done.stderr
    assert "Traceback" not in done.stderr


def test_generate_needs_a_preset_or_a_spec(workdir: Path) -> None:
    done = udo(workdir, "generate", "--rows", "10")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Usage" in output
    assert "--preset" in output
    assert "Traceback" not in output


def test_generate_with_both_preset_and_spec_is_a_usage_error(workdir: Path) -> None:
    done = udo(workdir, "generate", "--preset", "ecommerce", "--spec", str(PRESET_FILE))
    assert done.returncode != 0
    assert "exactly one of --preset or --spec" in done.stdout + done.stderr


def test_batches_lists_the_batch(workdir: Path) -> None:
    done = udo(workdir, "batches")
    assert done.returncode == 0, done.stderr
    assert "ecommerce" in done.stdout
    assert "b1" in done.stdout


def test_manifest_prints_json(workdir: Path) -> None:
    done = udo(workdir, "manifest", "ecommerce", "b1")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["batch_id"] == "b1"
    assert set(data["tables"]) == {"customers", "products", "orders", "order_items"}


def test_manifest_of_a_missing_batch_exits_2(workdir: Path) -> None:
    done = udo(workdir, "manifest", "ecommerce", "nope")
    assert done.returncode == 2
    assert "no batch ecommerce/nope" in done.stderr


def test_generate_from_a_spec_file_as_csv(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        "name: tiny\nseed: 3\ntables:\n  t:\n    rows: 50\n    key: id\n    fields:\n"
        "      id: {type: int, sequence: {}}\n"
        "      c: {type: category, choices: [a, b]}\n",
        encoding="utf-8",
    )
    done = udo(tmp_path, "generate", "--spec", str(spec), "--format", "csv", "--batch", "c1")
    assert done.returncode == 0, done.stderr
    csv = tmp_path / "lake" / "bronze" / "tiny" / "c1" / "t.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,c"
    assert len(lines) == 51


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--preset", "nosuch"], "unknown preset 'nosuch'"),
        (["generate", "--preset", "ecommerce", "--dirt", "filthy"], "unknown dirt profile"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = udo(tmp_path, *args)
    assert done.returncode == 2
    assert "error:" in done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake" / "bronze").exists()


# ------------------------------------------------------------------------- spec
def test_spec_show_prints_the_preset_as_yaml(tmp_path: Path) -> None:
    done = udo(tmp_path, "spec", "show", "ecommerce")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    assert data["name"] == "ecommerce"
    assert DatasetSpec.from_text(done.stdout).spec_hash() == load_preset("ecommerce").spec_hash()


def test_spec_validate_accepts_the_preset_file(tmp_path: Path) -> None:
    done = udo(tmp_path, "spec", "validate", str(PRESET_FILE))
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout


def test_spec_show_output_passes_spec_validate(tmp_path: Path) -> None:
    shown = udo(tmp_path, "spec", "show", "ecommerce")
    assert shown.returncode == 0, shown.stderr
    path = tmp_path / "mine.yaml"
    path.write_text(shown.stdout, encoding="utf-8")
    done = udo(tmp_path, "spec", "validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout


def test_spec_validate_lists_every_problem_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SPEC, encoding="utf-8")
    done = udo(tmp_path, "spec", "validate", str(path))
    assert done.returncode == 2
    assert "error:" in done.stderr
    assert "tables.customers.fields.age: min 90 > max 18" in done.stderr
    assert "tables.orders.fields.customer_id.fk.table: unknown table 'clients'" in done.stderr
    assert "Traceback" not in done.stderr


def test_spec_validate_locates_a_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntables:\n  a: {rows: 1\n  b: 2\n", encoding="utf-8")
    done = udo(tmp_path, "spec", "validate", str(path))
    assert done.returncode == 2
    assert "line 4" in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SPEC, encoding="utf-8")
    done = udo(tmp_path, "--debug", "spec", "validate", str(path))
    assert done.returncode != 0
    assert "Traceback" in done.stderr
    assert "SpecError" in done.stderr


def test_spec_schema_prints_json(tmp_path: Path) -> None:
    done = udo(tmp_path, "spec", "schema")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert "tables" in schema["properties"]
    assert schema == DatasetSpec.json_schema()


def test_spec_list_names_the_presets(tmp_path: Path) -> None:
    done = udo(tmp_path, "spec", "list")
    assert done.returncode == 0, done.stderr
    assert "ecommerce" in done.stdout
