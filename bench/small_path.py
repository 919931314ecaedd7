"""The small path, end to end: "Clean Data" on a ~10k-record batch to Gold, split by stage.

For each engine of the small path (polars, the default, and pandas, the roadmap's, as the
baseline), a fresh lake gets one generated batch of about 10,000 records (the routing
threshold); then, repeated: request cleaning (route + enqueue + run record), the worker
receives the message and runs Bronze → Silver → Gold, records the ledger and
acknowledges. Reported: the median of each stage over the repeats and the ratio.
Goal (issue 4): under 2 s end to end on the fast engine.

    .venv/bin/python bench/small_path.py [--repeat 7] [--orders 2600]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from udo.bootstrap import bootstrap
from udo.config import Settings
from udo.domain.run import RunStatus
from udo.generate.dirt import DirtProfile
from udo.generate.presets import load_preset
from udo.generate.service import generate_batch


def measure(engine: str, orders: int, repeat: int) -> dict[str, Any]:
    """Median stage seconds of `repeat` runs of the small path on `engine`."""
    with tempfile.TemporaryDirectory(prefix="udo-bench-small-") as tmp:
        root = Path(tmp)
        app = bootstrap(Settings(data_dir=root, engines={"small": engine}))
        manifest = generate_batch(
            app.bronze,
            load_preset("ecommerce").scaled(orders),
            batch_id="b1",
            dirt=DirtProfile.named("default"),
        )
        app.metadata  # noqa: B018 - migrate before timing
        app.worker.drain("small")  # warm-up: imports, engine compile caches
        rows: list[dict[str, float]] = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            req = app.runs.request_clean("ecommerce", "b1", force=True)
            t1 = time.perf_counter()
            done = app.worker.drain("small")
            t2 = time.perf_counter()
            run = app.metadata.get_run(req.run.id)
            assert done == [run.id] and run.status == RunStatus.SUCCEEDED, run.error
            silver = run.stage_seconds.get("silver", 0.0)
            gold = run.stage_seconds.get("gold", 0.0)
            rows.append(
                {
                    "request (route, enqueue, run record)": t1 - t0,
                    "silver": silver,
                    "gold": gold,
                    "worker overhead (receive, metadata, ack, quality)": (t2 - t1) - silver - gold,
                    "end to end": t2 - t0,
                }
            )
        rows = rows[1:]  # the first repeat is the first forced rerun: drop it as warm-up too
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        return {"engine": engine, "records": manifest.records, "repeat": repeat, "median": med}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2600, help="orders (~3.8 records each)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engines", default="polars,pandas")
    args = parser.parse_args(argv)
    results = []
    for engine in args.engines.split(","):
        try:
            results.append(measure(engine, args.orders, args.repeat))
        except ImportError as exc:
            print(f"{engine}: engine not available ({exc})")
    if not results:
        return 1
    print(f"small path, median of {args.repeat} runs, {results[0]['records']:,} Bronze records")
    stages = list(results[0]["median"])
    width = max(len(s) for s in stages)
    print(f"{'stage':{width}s}  " + "  ".join(f"{r['engine']:>9s}" for r in results))
    for stage in stages:
        print(f"{stage:{width}s}  " + "  ".join(f"{r['median'][stage]:8.3f}s" for r in results))
    base = next((r for r in results if r["engine"] == "pandas"), None)
    fast = next((r for r in results if r["engine"] == "polars"), None)
    if base and fast:
        ratio = base["median"]["end to end"] / fast["median"]["end to end"]
        print(f"polars vs pandas end to end: {ratio:.2f}x")
    if fast:
        e2e = fast["median"]["end to end"]
        verdict = "PASS" if e2e < 2 else "MISS"
        print(f"goal: under 2 s end to end on the fast engine: {e2e:.3f} s {verdict}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"small-path-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
