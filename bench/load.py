"""How fast does udo load rows into each destination: bulk path vs batched executemany?

One run loads the same synthetic orders table (an Arrow table made once with numpy:
int64 ids, a UTC timestamp, two short strings, a decimal(12,2) total, an int, a float, a
bool, a date and the batch id) into every destination, once per load path:

- bulk: the adapter's bulk path - DuckDB scans the Arrow data in place, PostgreSQL
  ``COPY FROM STDIN`` (CSV written by Arrow), MySQL/MariaDB ``LOAD DATA LOCAL INFILE``
  from a temporary CSV file;
- rows: the same adapter with ``bulk=False`` - batched parameterised inserts
  (``executemany`` per 10,000 rows; DuckDB, whose executemany runs a statement per row,
  gets multi-row VALUES instead). SQLite has only this path: in-process executemany in
  one transaction is its bulk path.

Each run is one ``replace_all`` into a freshly created, empty table (so it times
conversion, transfer and commit; table creation and the row-count check are untimed),
and is checked afterwards: row count and exact sum of the decimal column. Services are
reached over loopback only (127.0.0.1 / localhost / ::1); an unreachable one is skipped.

A path projected to take longer than --max-seconds (from a 20,000-row probe) runs on a
sample of the rows instead, and the report says so: rows/s stays comparable.

    .venv/bin/python bench/load.py            # 1,000,000 rows per destination
    .venv/bin/python bench/load.py --quick    # smoke run (20,000 rows)
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from _common import (
    Timing,
    fmt_int,
    fmt_ratio,
    load_average,
    machine_info,
    now,
    render_table,
    write_results,
)
from udo.ports.destination import Destination

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PROBE_ROWS = 20_000
SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("order_ts", pa.timestamp("us", "UTC")),
        ("status", pa.string()),
        ("channel", pa.string()),
        ("total", pa.decimal128(12, 2)),
        ("quantity", pa.int64()),
        ("discount", pa.float64()),
        ("paid", pa.bool_()),
        ("order_date", pa.date32()),
        ("_batch_id", pa.string()),
    ]
)


def make_orders(rows: int, seed: int) -> pa.Table:
    """`rows` synthetic orders, made once with numpy (not timed)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    micros = start + rng.integers(0, 730 * 86_400 * 1_000_000, rows)
    cents = rng.integers(1, 5_000_000, rows)
    statuses = np.array(["placed", "paid", "shipped", "delivered", "cancelled"])
    channels = np.array(["web", "app", "store"])
    # decimal128 from its unscaled value: 16 bytes, low word = cents (all positive)
    unscaled = np.zeros((rows, 2), dtype=np.int64)
    unscaled[:, 0] = cents
    total = pa.Array.from_buffers(
        pa.decimal128(12, 2), rows, [None, pa.py_buffer(unscaled.tobytes())]
    )
    ts = pa.array(micros, pa.timestamp("us", "UTC"))
    return pa.table(
        {
            "order_id": pa.array(np.arange(1, rows + 1), pa.int64()),
            "customer_id": pa.array(rng.integers(1, rows // 5 + 2, rows), pa.int64()),
            "order_ts": ts,
            "status": pa.array(statuses[rng.integers(0, len(statuses), rows)]),
            "channel": pa.array(channels[rng.integers(0, len(channels), rows)]),
            "total": total,
            "quantity": pa.array(rng.integers(1, 13, rows), pa.int64()),
            "discount": pa.array(np.round(rng.random(rows) * 0.3, 4)),
            "paid": pa.array(rng.random(rows) < 0.9),
            "order_date": ts.cast(pa.timestamp("us")).cast(pa.date32()),
            "_batch_id": pa.array(["bench"] * rows),
        },
        schema=SCHEMA,
    )


@dataclass
class Target:
    """A destination to benchmark: how to build it for a path, and whether it has bulk."""

    name: str
    build: Callable[[bool], Destination]
    has_bulk: bool


def loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        sys.exit(f"refusing {url!r}: the benchmark only talks to loopback hosts")
    return url


def targets(args: argparse.Namespace, work: Path) -> list[Target]:
    from udo.adapters.local.destination import DuckDBDestination, SQLiteDestination
    from udo.adapters.sql.mysql import MySQLDestination
    from udo.adapters.sql.postgres import PostgresDestination

    mysql_url, pg_url = loopback(args.mysql_url), loopback(args.postgres_url)
    all_targets = {
        "duckdb": Target(
            "duckdb",
            lambda bulk: DuckDBDestination(
                work / f"bench-{uuid.uuid4().hex[:8]}.duckdb", bulk=bulk
            ),
            True,
        ),
        "sqlite": Target(
            "sqlite",
            lambda bulk: SQLiteDestination(work / f"bench-{uuid.uuid4().hex[:8]}.sqlite"),
            False,
        ),
        "mysql": Target(
            "mysql", lambda bulk: MySQLDestination.from_url(mysql_url, bulk=bulk), True
        ),
        "postgres": Target(
            "postgres", lambda bulk: PostgresDestination.from_url(pg_url, bulk=bulk), True
        ),
    }
    chosen = [d.strip() for d in args.destinations.split(",") if d.strip()]
    unknown = [d for d in chosen if d not in all_targets]
    if unknown:
        sys.exit(f"unknown destinations {unknown}; known: {', '.join(all_targets)}")
    return [all_targets[d] for d in chosen]


def one_run(target: Target, bulk: bool, data: pa.Table) -> tuple[float, str | None]:
    """Load `data` into a fresh table; returns (seconds, load method), checks the result."""
    dest = target.build(bulk)
    table = f"bench_load_{uuid.uuid4().hex[:10]}"
    try:
        dest.ensure_table(table, SCHEMA, [])
        gc.collect()
        started = now()
        dest.replace_all(table, data)
        seconds = now() - started
        method = dest.last_load_method
        expected = pc.sum(data.column("total")).as_py()
        if dest.count(table) != data.num_rows or dest.sum(table, "total") != expected:
            raise SystemExit(f"{target.name}: loaded rows do not match the source")
        return seconds, method
    finally:
        dest.drop_table(table)
        dest.close()


def reachable(target: Target) -> str | None:
    """None if the destination answers, else why not."""
    dest = target.build(True)
    try:
        dest.table_schema("bench_probe")
        return None
    except Exception as exc:  # any failure means: skip this destination
        return f"{type(exc).__name__}: {exc}"
    finally:
        dest.close()


def measure(
    target: Target, bulk: bool, data: pa.Table, args: argparse.Namespace
) -> tuple[Timing, str | None]:
    """Time one path `--repeat` times (on a sample if it would exceed --max-seconds)."""
    label = f"{target.name} {'bulk' if bulk else 'rows'}"
    rows = data.num_rows
    note = None
    if rows > PROBE_ROWS:
        probe_s, _ = one_run(target, bulk, data.slice(0, PROBE_ROWS))
        projected = probe_s * rows / PROBE_ROWS
        if projected > args.max_seconds:
            rows = max(PROBE_ROWS, int(args.max_seconds * PROBE_ROWS / probe_s) // 10_000 * 10_000)
            note = (
                f"{label}: projected {projected:,.0f} s for {fmt_int(data.num_rows)} rows "
                f"> --max-seconds {args.max_seconds:g}: measured on {fmt_int(rows)} rows"
            )
            log(note)
    timing = Timing(label, rows)
    for r in range(1, args.repeat + 1):
        seconds, method = one_run(target, bulk, data.slice(0, rows))
        timing.seconds.append(seconds)
        timing.extra["method"] = method
        log(f"[{r}/{args.repeat}] {label:<14} {rows:>11,} rows  {seconds:8.2f} s  ({method})")
    return timing, note


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Destinations: bulk path vs batched executemany.")
    ap.add_argument("--rows", type=int, help="rows per destination (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per path (median reported)")
    ap.add_argument(
        "--destinations",
        default="duckdb,sqlite,mysql,postgres",
        help="comma-separated: duckdb, sqlite, mysql, postgres",
    )
    ap.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306/test")
    ap.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=300,
        help="cap per run: a slower path is measured on a sample (default 300)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="smoke run: 20,000 rows")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    args = ap.parse_args(argv)
    if args.rows is None:
        args.rows = PROBE_ROWS if args.quick else 1_000_000
    if args.rows < 1 or args.repeat < 1 or args.max_seconds <= 0:
        ap.error("--rows, --repeat and --max-seconds must be positive")
    return args


def log(msg: str) -> None:
    """Progress, on stderr so that stdout is only the report."""
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info(["udo", "duckdb", "PyMySQL", "psycopg", "pyarrow", "numpy"])
    load_before = info["load_average"]
    data = make_orders(args.rows, args.seed)
    log(f"{fmt_int(args.rows)} rows, {data.nbytes / 2**20:,.0f} MiB in Arrow")
    results: list[dict[str, Any]] = []
    rows_out: list[list[str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="udo-bench-load-") as work:
        for target in targets(args, Path(work)):
            problem = reachable(target)
            if problem:
                notes.append(f"{target.name}: skipped, not reachable ({problem})")
                log(notes[-1])
                continue
            timings: dict[str, Timing] = {}
            for bulk in (True, False) if target.has_bulk else (False,):
                timing, note = measure(target, bulk, data, args)
                timings["bulk" if bulk else "rows"] = timing
                if note:
                    notes.append(note)
            base = timings["rows"].rows_per_s
            for kind, t in timings.items():
                ratio = t.rows_per_s / base if kind == "bulk" else None
                rows_out.append(
                    [
                        target.name,
                        kind if target.has_bulk else "rows (its only path)",
                        str(t.extra.get("method")),
                        fmt_int(t.rows),
                        ", ".join(f"{s:.2f}" for s in t.seconds),
                        fmt_int(t.rows_per_s),
                        fmt_ratio(ratio),
                    ]
                )
                results.append({"destination": target.name, "path": kind, **t.as_dict()})
    load_after = load_average()

    out = [
        "udo load benchmark - replace_all of a synthetic orders table into an empty table",
        f"machine: {info['cpus']} CPUs, Python {info['python']}, {info['platform']}; "
        f"load average {load_before} at start, {load_after} at end",
        "versions: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v is not None),
        f"{fmt_int(args.rows)} rows x {len(SCHEMA)} columns; rows/s of the median run; "
        "bulk/rows = bulk rows/s / rows-path rows/s; services over loopback",
        "",
        render_table(
            ["destination", "path", "method", "rows", "runs (s)", "rows/s", "bulk/rows"],
            rows_out,
        ),
    ]
    if notes:
        out += ["", *notes]
    print("\n".join(out))
    if not args.no_json:
        path = write_results(
            "load",
            {
                "machine": info,
                "load_average_end": load_after,
                "rows": args.rows,
                "repeat": args.repeat,
                "results": results,
                "notes": notes,
            },
        )
        log(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
