"""How fast, and in how much memory, does each engine run Bronze → Silver → Gold?

One run, on this machine:

1. lands the e-commerce preset with the "default" dirt as one Bronze Parquet batch
   (`generate_batch` into a `BronzeStore` over a `LocalStorageAdapter`), once per size,
   in a subprocess;
2. runs the whole medallion (`Pipeline(storage, bronze, engine).clean(...)`, the same
   rules, the same `ingested_at`) on each engine in a FRESH interpreter, after deleting
   the lake's silver/, quarantine/ and gold/ folders, so every engine starts from the
   same lake and its peak RSS is its own (`VmHWM` from /proc/self/status, as in
   bench/generate.py; the process tree is also polled with psutil, which is what counts
   for Spark, whose JVM is a separate process);
3. reports seconds (total and per stage from `ledger.stage_seconds`), Bronze rows in per
   second, peak RSS, polars vs pandas ratios, whether the ledgers (and the Gold marts)
   are equal, and the goals PASS/MISS.

polars and pandas run on --rows orders (default 10,000,000, the issue's size: about 30M
Bronze rows over the four tables); Spark on --spark-rows (default 1,000,000), with its
start-up (session and JVM) reported apart from the pipeline time. Spark's ledger is
checked against a polars run at the Spark size (skip with --no-spark-check).

A missed goal is reported as MISS and never fails the run. A requested engine that is
not available (not written yet, or its library missing) or that crashes is reported and
the others still run; the script then exits with status 2, so that is never silent.
Results are also written to bench/results/pipeline-<timestamp>.json.

    .venv/bin/python bench/pipeline.py              # full run (long: see bench/README.md)
    .venv/bin/python bench/pipeline.py --quick      # smoke run (100k / 50k orders)
    .venv/bin/python bench/pipeline.py --engines polars,pandas --rows 2000000
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import fmt_int, fmt_mib, load_average, machine_info, now, render_table, write_results

PRESET = "ecommerce"
DIRT = "default"
BATCH_ID = "bench"
INGESTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
"""Fixed, so that every engine's ledger and quality report can be compared."""
ENGINES = ("polars", "pandas", "spark")
GOAL_SPEED = 4.0
"""polars at least this many times faster than pandas (total pipeline seconds)."""
GOAL_MEMORY = 0.5
"""polars peak RSS at most this share of pandas' peak RSS."""
DERIVED_LAYERS = ("silver", "quarantine", "gold", "_work")
"""What a pipeline run writes in the lake: deleted before each engine's run."""
LEDGER_IGNORED = ("engine", "stage_seconds")
"""Ledger fields that may differ between engines."""
CHILD_EXIT_UNAVAILABLE = 3


def log(msg: str) -> None:
    """Progress, on stderr so that stdout is only the report."""
    print(msg, file=sys.stderr, flush=True)


def max_rss_bytes() -> int:
    """This process's own peak resident set size so far (VmHWM; see bench/generate.py).

    `ru_maxrss` would not do: Linux carries the parent's high-water mark over exec.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


# ------------------------------------------------------------------------ children
def engine_module(name: str) -> str:
    """The module path of an engine, from the composition root's registry."""
    from udo.bootstrap import ENGINES as REGISTRY

    if name not in REGISTRY:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name].partition(":")[0]


def engine_available(name: str) -> str | None:
    """None if the engine imports, else why not (checked in a throwaway interpreter)."""
    try:
        module = engine_module(name)
    except KeyError as exc:
        return str(exc)
    code = f"import importlib; importlib.import_module({module!r})"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    if proc.returncode == 0:
        return None
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return f"engine not available: {module} does not import ({tail})"


def lake_of(root: Path) -> tuple[Any, Any]:
    """(storage, bronze) over a local lake at `root`."""
    from udo.adapters.local.storage import LocalStorageAdapter
    from udo.pipeline.bronze import BronzeStore

    storage = LocalStorageAdapter(root)
    return storage, BronzeStore(storage)


def child_generate(lake: Path, rows: int) -> dict[str, Any]:
    """Subprocess body: land the preset as one Bronze Parquet batch."""
    from udo.generate.dirt import DirtProfile
    from udo.generate.presets import load_preset
    from udo.generate.service import generate_batch

    _, bronze = lake_of(lake)
    spec = load_preset(PRESET).scaled(rows)
    t0 = now()
    manifest = generate_batch(
        bronze, spec, batch_id=BATCH_ID, fmt="parquet", dirt=DirtProfile.named(DIRT)
    )
    seconds = now() - t0
    return {
        "orders": rows,
        "dataset": manifest.dataset,
        "seconds": seconds,
        "records": {t: m.records for t, m in manifest.tables.items()},
        "bytes": sum(m.bytes for m in manifest.tables.values()),
        "peak_rss_bytes": max_rss_bytes(),
    }


def start_engine(engine: Any) -> None:
    """Start what an engine starts lazily (Spark's session), so start-up is timed apart.

    Looks for the usual names; an engine with nothing to start is left alone.
    """
    for attr in ("start", "warm_up", "warmup"):
        fn = getattr(engine, attr, None)
        if callable(fn):
            fn()
            return
    for attr in ("session", "spark", "_session", "_spark"):
        if hasattr(type(engine), attr) and isinstance(getattr(type(engine), attr), property):
            getattr(engine, attr)
            return
    for attr in ("session", "get_session", "_get_session"):
        fn = getattr(engine, attr, None)
        if callable(fn):
            fn()
            return


def gold_digests(storage: Any, dataset: str, marts: list[str]) -> dict[str, str]:
    """sha256 of each Gold mart's rows, sorted, as CSV: equal marts have equal digests."""
    import polars as pl

    from udo.pipeline import delta

    out: dict[str, str] = {}
    for mart in marts:
        frame = pl.from_arrow(delta.read(storage.uri(f"gold/{dataset}/{mart}")))
        assert isinstance(frame, pl.DataFrame)
        frame = frame.sort(frame.columns, nulls_last=False)
        out[mart] = hashlib.sha256(frame.write_csv().encode()).hexdigest()[:16]
    return out


def child_clean(lake: Path, engine_name: str, dataset: str) -> dict[str, Any]:
    """Subprocess body: run Bronze → Silver → Gold for the batch on one engine."""
    from udo.bootstrap import engine_from
    from udo.pipeline.clean import Pipeline

    base = max_rss_bytes()
    t0 = now()
    try:
        engine = engine_from(engine_name)
    except ImportError as exc:
        raise EngineUnavailable(f"engine not available: {exc}") from exc
    created = now() - t0
    start_engine(engine)
    startup = now() - t0
    after_start = max_rss_bytes()
    storage, bronze = lake_of(lake)
    work = lake / "_work"
    work.mkdir(exist_ok=True)
    pipeline = Pipeline(storage, bronze, engine, work_dir=work)
    t0 = now()

    def progress(step: str) -> None:
        log(f"    . {engine_name} [{now() - t0:7.1f} s] {step}")

    ledger = pipeline.clean(dataset, BATCH_ID, ingested_at=INGESTED_AT, progress=progress)
    seconds = now() - t0
    peak = max_rss_bytes()
    digests = gold_digests(storage, dataset, sorted(ledger.marts))
    stop = getattr(engine, "stop", None) or getattr(engine, "close", None)
    if callable(stop):
        with contextlib.suppress(Exception):
            stop()
    return {
        "engine": engine_name,
        "seconds": seconds,
        "stage_seconds": ledger.stage_seconds,
        "engine_create_seconds": created,
        "startup_seconds": startup,
        "bronze_rows_in": sum(t.bronze_in for t in ledger.tables.values()),
        "rss_after_imports_bytes": base,
        "rss_after_startup_bytes": after_start,
        "peak_rss_bytes": peak,
        "ledger": ledger.model_dump(mode="json"),
        "gold_digests": digests,
    }


class EngineUnavailable(Exception):
    """The engine's module or library is missing."""


def child_main(args: argparse.Namespace) -> int:
    """Run one child task and print its result as one JSON line on stdout."""
    lake = Path(args.lake)
    try:
        if args.child == "generate":
            result = child_generate(lake, args.child_rows)
        else:
            result = child_clean(lake, args.child, args.dataset)
    except EngineUnavailable as exc:
        print(json.dumps({"error": str(exc), "unavailable": True}), flush=True)
        return CHILD_EXIT_UNAVAILABLE
    except BaseException as exc:
        traceback.print_exc()
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


# ------------------------------------------------------------------------ parent side
@dataclass
class ChildRun:
    """What the parent saw of one subprocess."""

    result: dict[str, Any]
    wall_seconds: float
    polled_tree_peak_bytes: int
    returncode: int | None


def tree_rss(proc: Any) -> int:
    """Resident bytes of a process and all its descendants (psutil.Process)."""
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_child(
    cmd_args: list[str], log_path: Path, timeout: float | None, rss_limit: int | None
) -> ChildRun:
    """Run this script as a child; echo its progress lines; poll its process tree RSS.

    The child (and its process group: Spark's JVM) is killed if it runs longer than
    `timeout` seconds or its tree's RSS goes over `rss_limit` bytes, so a run too big for
    the machine is reported instead of waking the kernel's OOM killer on a shared box.
    """
    import psutil

    cmd = [sys.executable, str(Path(__file__).resolve()), *cmd_args]
    polled = 0
    t0 = now()
    killed: str | None = None
    with open(log_path, "wb") as err, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
        watch = psutil.Process(proc.pid)
        offset = 0
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                polled = max(polled, tree_rss(watch))
            offset = echo_progress(log_path, offset)
            if timeout is not None and now() - t0 > timeout:
                killed = f"timed out after {timeout:,.0f} s (killed)"
            elif rss_limit is not None and polled > rss_limit:
                killed = (
                    f"out of memory: RSS {fmt_mib(polled)} went over the limit "
                    f"{fmt_mib(rss_limit)} (killed; see --rss-limit-mib)"
                )
            if killed:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.1)
        echo_progress(log_path, offset)
        wall = now() - t0
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    rc = proc.returncode
    if killed:
        result = {"error": killed}
    elif rc != 0 and "error" not in result:
        why = "killed by SIGKILL: out of memory?" if rc == -signal.SIGKILL else f"exit {rc}"
        tail = log_path.read_text("utf-8", "replace").strip().splitlines() or ["no output"]
        result = {"error": f"{why}: {tail[-1][:300]}"}
    return ChildRun(result, wall, polled, rc)


def echo_progress(path: Path, offset: int) -> int:
    """Echo the child's new progress lines (those starting with '    . ')."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except OSError:
        return offset
    end = chunk.rfind(b"\n") + 1
    for line in chunk[:end].decode("utf-8", "replace").splitlines():
        if line.startswith("    . "):
            log(line)
    return offset + end


def log_tail(path: Path, lines: int = 12) -> None:
    """The end of a failed child's stderr (the lake folder is deleted afterwards)."""
    try:
        text = path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return
    tail = [ln for ln in text if not ln.startswith("    . ")][-lines:]
    if tail:
        log("  child's stderr, last lines:")
        for ln in tail:
            log(f"  | {ln}")


def reset_lake(lake: Path) -> None:
    """Delete what a pipeline run wrote, keeping Bronze."""
    for layer in DERIVED_LAYERS:
        shutil.rmtree(lake / layer, ignore_errors=True)


@dataclass
class EngineRun:
    """One engine on one size."""

    engine: str
    orders: int
    role: str  # "main", "spark" or "spark-check"
    result: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0
    polled_tree_peak_bytes: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.result) and "error" not in self.result

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.result.get("error", "no result"))

    @property
    def pipeline_seconds(self) -> float:
        """Bronze → Gold, without the engine's start-up."""
        return float(self.result["seconds"])

    @property
    def rows_per_s(self) -> float:
        s = self.pipeline_seconds
        return self.result["bronze_rows_in"] / s if s > 0 else float("inf")

    @property
    def peak_bytes(self) -> int:
        """The peak that counts: the process tree's for Spark (its JVM), else VmHWM."""
        if self.engine == "spark":
            return max(self.polled_tree_peak_bytes, int(self.result["peak_rss_bytes"]))
        return int(self.result["peak_rss_bytes"])

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "engine": self.engine,
            "orders": self.orders,
            "role": self.role,
            "child_wall_seconds": self.wall_seconds,
            "polled_tree_peak_rss_bytes": self.polled_tree_peak_bytes or None,
        }
        if self.ok:
            out |= {"rows_per_s": self.rows_per_s, "peak_rss_counted_bytes": self.peak_bytes}
        return out | self.result


@dataclass
class Goal:
    """One goal from the issue and whether this run met it."""

    name: str
    target: str
    actual: str
    status: str  # PASS, MISS or n/a

    def as_dict(self) -> dict[str, str]:
        return {
            "goal": self.name,
            "target": self.target,
            "actual": self.actual,
            "status": self.status,
        }


def ledger_diff(a: Any, b: Any, path: str = "", limit: int = 10) -> list[str]:
    """Where two JSON-like values differ (up to `limit` places)."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if len(out) >= limit:
                break
            if not path and k in LEDGER_IGNORED:
                continue
            p = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                out.append(f"{p}: only in {'second' if k not in a else 'first'}")
            else:
                out += ledger_diff(a[k], b[k], p, limit - len(out))
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")
    return out[:limit]


def compare(a: EngineRun, b: EngineRun) -> dict[str, Any]:
    """Ledger (except engine and stage seconds) and Gold digests of two runs."""
    diffs = ledger_diff(a.result["ledger"], b.result["ledger"])
    gold_a, gold_b = a.result["gold_digests"], b.result["gold_digests"]
    gold_diff = sorted(m for m in set(gold_a) | set(gold_b) if gold_a.get(m) != gold_b.get(m))
    return {
        "engines": [a.engine, b.engine],
        "orders": a.orders,
        "ledgers_equal": not diffs,
        "ledger_differences": diffs,
        "gold_equal": not gold_diff,
        "gold_differences": gold_diff,
    }


def describe(c: dict[str, Any]) -> list[str]:
    """Report lines for one comparison."""
    a, b = c["engines"]
    head = f"{a} vs {b} at {fmt_int(c['orders'])} orders:"
    if c["ledgers_equal"]:
        lines = [f"{head} ledgers EQUAL (every field except {', '.join(LEDGER_IGNORED)})"]
    else:
        lines = [f"{head} ledgers DIFFER:"] + [f"    {d}" for d in c["ledger_differences"]]
    if c["gold_equal"]:
        lines.append(f"{' ' * len(head)} Gold marts equal (sha256 of the sorted rows)")
    else:
        lines.append(f"{' ' * len(head)} Gold marts DIFFER: {', '.join(c['gold_differences'])}")
    return lines


# ---------------------------------------------------------------------------- driver
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Bronze → Silver → Gold on polars, pandas and Spark: seconds, rows/s, "
        "peak RSS, ledger equality, goals."
    )
    ap.add_argument("--rows", type=int, help="orders for polars and pandas (default 10,000,000)")
    ap.add_argument("--spark-rows", type=int, help="orders for Spark (default 1,000,000)")
    ap.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated (default polars,pandas,spark)"
    )
    ap.add_argument(
        "--no-spark-check",
        action="store_true",
        help="do not run polars at the Spark size to check Spark's ledger",
    )
    ap.add_argument("--timeout", type=float, help="kill an engine run after this many seconds")
    ap.add_argument(
        "--rss-limit-mib",
        type=float,
        help="kill a run whose process tree RSS goes over this "
        "(default 90%% of the memory available at start; 0 = no limit)",
    )
    ap.add_argument("--tmp-dir", help="where the lakes are made (then deleted)")
    ap.add_argument("--keep", action="store_true", help="keep the lakes (prints where)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 100,000 / 50,000 orders")
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--lake", help=argparse.SUPPRESS)
    ap.add_argument("--dataset", help=argparse.SUPPRESS)
    ap.add_argument("--child-rows", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rows is None:
        args.rows = 100_000 if args.quick else 10_000_000
    if args.spark_rows is None:
        args.spark_rows = 50_000 if args.quick else 1_000_000
    args.engine_list = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in args.engine_list if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")
    if min(args.rows, args.spark_rows) < 1:
        ap.error("row counts must be positive")
    if args.rss_limit_mib is None:
        import psutil

        args.rss_limit = int(0.9 * psutil.virtual_memory().available)
    else:
        args.rss_limit = int(args.rss_limit_mib * 2**20) if args.rss_limit_mib > 0 else None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)

    info = machine_info(["udo", "polars", "pandas", "pyspark", "pyarrow", "deltalake", "numpy"])
    load_before = info["load_average"]
    started_at = datetime.now().astimezone().isoformat()

    # Which engines can run at all (a missing one is reported, the others still run).
    unavailable: dict[str, str] = {}
    for name in args.engine_list:
        why = engine_available(name)
        if why:
            unavailable[name] = why
            log(f"{name}: {why}")
    runnable = [e for e in args.engine_list if e not in unavailable]

    plan: list[EngineRun] = []
    for name in runnable:
        if name == "spark":
            check = not args.no_spark_check and "polars" not in unavailable
            if check and (args.spark_rows != args.rows or "polars" not in runnable):
                plan.append(EngineRun("polars", args.spark_rows, "spark-check"))
            plan.append(EngineRun("spark", args.spark_rows, "spark"))
        else:
            plan.append(EngineRun(name, args.rows, "main"))
    sizes = sorted({r.orders for r in plan}, reverse=True)

    root = Path(tempfile.mkdtemp(prefix="udo-bench-pipeline-", dir=args.tmp_dir))
    generated: dict[int, dict[str, Any]] = {}
    try:
        for n in sizes:
            lake = root / f"lake-{n}"
            log(f"generating {fmt_int(n)} orders ({PRESET}, dirt {DIRT!r}) into {lake} ...")
            child = run_child(
                ["--child", "generate", "--lake", str(lake), "--child-rows", str(n)],
                root / f"generate-{n}.log",
                None,
                args.rss_limit,
            )
            generated[n] = child.result
            if "error" in child.result:
                log(f"  generation FAILED: {child.result['error']}")
            else:
                log(
                    f"  {fmt_int(sum(child.result['records'].values()))} Bronze rows, "
                    f"{fmt_mib(child.result['bytes'])}, {child.result['seconds']:.1f} s"
                )
        for run in plan:
            gen = generated[run.orders]
            if "error" in gen:
                run.result = {"error": f"no Bronze batch: {gen['error']}"}
                continue
            lake = root / f"lake-{run.orders}"
            reset_lake(lake)
            log(f"{run.engine} on {fmt_int(run.orders)} orders, fresh interpreter ...")
            child = run_child(
                ["--child", run.engine, "--lake", str(lake), "--dataset", gen["dataset"]],
                root / f"{run.engine}-{run.orders}.log",
                args.timeout,
                args.rss_limit,
            )
            run.result = child.result
            run.wall_seconds = child.wall_seconds
            run.polled_tree_peak_bytes = child.polled_tree_peak_bytes
            if run.ok:
                log(
                    f"  {run.pipeline_seconds:.1f} s, {fmt_int(run.rows_per_s)} rows/s, "
                    f"peak {fmt_mib(run.peak_bytes)}"
                )
            else:
                log(f"  FAILED: {run.error}")
                if child.returncode not in (0, CHILD_EXIT_UNAVAILABLE):
                    log_tail(root / f"{run.engine}-{run.orders}.log")
                if run.result.get("unavailable"):
                    unavailable[run.engine] = run.error or "engine not available"
    finally:
        if args.keep:
            log(f"lakes kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    load_after = load_average()
    results: dict[str, Any] = {
        "benchmark": "pipeline",
        "preset": PRESET,
        "dirt": DIRT,
        "created_at": started_at,
        "machine": info,
        "load_average_end": load_after,
        "config": {
            "rows": args.rows,
            "spark_rows": args.spark_rows,
            "engines": args.engine_list,
            "spark_check": not args.no_spark_check,
            "timeout": args.timeout,
            "rss_limit_bytes": args.rss_limit,
            "quick": args.quick,
            "ingested_at": INGESTED_AT.isoformat(),
        },
        "bronze": {str(n): g for n, g in generated.items()},
        "runs": [r.as_dict() for r in plan],
        "unavailable": unavailable,
    }
    # The measurements are saved before the report is made: a long run is never lost.
    path = None if args.no_json else write_results("pipeline", results)

    # ------------------------------------------------------------------ report
    by_key = {(r.engine, r.role): r for r in plan}
    out: list[str] = []
    out.append(f"udo pipeline benchmark - preset {PRESET!r}, dirt {DIRT!r}, Bronze → Silver → Gold")
    out.append(
        f"machine: {info['cpus']} CPUs, "
        + (f"{fmt_mib(info['memory_total_bytes'])} RAM, " if info.get("memory_total_bytes") else "")
        + f"Python {info['python']}, {info['platform']}; "
        f"load average {load_before} at start, {load_after} at end"
    )
    vers = info["packages"]
    out.append("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v is not None))
    out.append(
        "one run per engine, each in a fresh interpreter on the same Bronze batch; "
        "seconds = Pipeline.clean wall time (start-up apart); rows/s = Bronze rows in / seconds"
    )
    limits: list[str] = []
    if args.rss_limit:
        limits.append(f"its process tree's RSS goes over {fmt_mib(args.rss_limit)}")
    if args.timeout:
        limits.append(f"it takes longer than {args.timeout:,.0f} s")
    if limits:
        out.append(f"a run is killed if {' or '.join(limits)}")
    out.append("")
    if generated:
        out.append("Bronze batches (generate_batch, Parquet, in a subprocess):")
        for n, g in sorted(generated.items()):
            if "error" in g:
                out.append(f"  {fmt_int(n):>12} orders: FAILED ({g['error']})")
                continue
            rec = g["records"]
            out.append(
                f"  {fmt_int(n):>12} orders: {fmt_int(sum(rec.values()))} rows ("
                + ", ".join(f"{t} {fmt_int(v)}" for t, v in rec.items())
                + f"), {fmt_mib(g['bytes'])}, {g['seconds']:.1f} s"
            )
        out.append("")

    rows: list[list[str]] = []
    for r in plan:
        label = r.engine + (" (check)" if r.role == "spark-check" else "")
        if not r.ok:
            rows.append([label, fmt_int(r.orders), "FAILED", "-", "-", "-", "-", "-", "-"])
            continue
        st = r.result["stage_seconds"]
        silver, gold = float(st.get("silver", 0.0)), float(st.get("gold", 0.0))
        rows.append(
            [
                label,
                fmt_int(r.orders),
                fmt_int(r.result["bronze_rows_in"]),
                f"{r.pipeline_seconds:,.1f}",
                f"{silver:,.1f}",
                f"{gold:,.1f}",
                f"{r.pipeline_seconds - silver - gold:,.1f}",
                fmt_int(r.rows_per_s),
                fmt_mib(r.peak_bytes),
            ]
        )
    if rows:
        out.append(
            render_table(
                [
                    "engine",
                    "orders",
                    "Bronze rows",
                    "seconds",
                    "silver",
                    "gold",
                    "other",
                    "rows/s",
                    "peak RSS",
                ],
                rows,
            )
        )
        out.append(
            "  silver/gold = ledger.stage_seconds; other = the quality report and the rest "
            "of Pipeline.clean"
        )
    for r in plan:
        if not r.ok:
            out.append(f"  {r.engine} at {fmt_int(r.orders)} orders FAILED: {r.error}")
    for r in plan:
        if r.ok:
            res = r.result
            extra = (
                f"start-up (engine + session) {res['startup_seconds']:.1f} s, not in 'seconds'; "
                if r.engine == "spark"
                else ""
            )
            out.append(
                f"  {r.engine:<7} {extra}RSS after imports "
                f"{fmt_mib(res['rss_after_imports_bytes'])}, after start-up "
                f"{fmt_mib(res['rss_after_startup_bytes'])}; "
                f"VmHWM {fmt_mib(res['peak_rss_bytes'])}, "
                f"polled process tree {fmt_mib(r.polled_tree_peak_bytes)}"
                + (" (the JVM counts: peak = the larger)" if r.engine == "spark" else "")
            )
    for name, why in unavailable.items():
        if not any(r.engine == name for r in plan):
            out.append(f"  {name}: {why}")
    out.append("")

    polars_run, pandas_run = by_key.get(("polars", "main")), by_key.get(("pandas", "main"))
    both = polars_run is not None and pandas_run is not None and polars_run.ok and pandas_run.ok
    speed = memory = None
    comparisons: list[dict[str, Any]] = []
    if both:
        assert polars_run is not None and pandas_run is not None
        speed = pandas_run.pipeline_seconds / polars_run.pipeline_seconds
        memory = polars_run.peak_bytes / pandas_run.peak_bytes
        out.append(
            f"polars vs pandas at {fmt_int(args.rows)} orders: speed {speed:.2f}x "
            f"(pandas seconds / polars seconds: {pandas_run.pipeline_seconds:,.1f} s / "
            f"{polars_run.pipeline_seconds:,.1f} s; "
            + ("polars is faster)" if speed >= 1 else f"pandas is {1 / speed:.2f}x faster)")
        )
        out.append(
            f"  peak RSS: polars {fmt_mib(polars_run.peak_bytes)} = {memory:.2f}x pandas' "
            f"{fmt_mib(pandas_run.peak_bytes)}"
        )
        comparisons.append(compare(polars_run, pandas_run))
    spark_run = by_key.get(("spark", "spark"))
    if spark_run is not None and spark_run.ok:
        ref = by_key.get(("polars", "spark-check"))
        if ref is None and polars_run is not None and polars_run.orders == spark_run.orders:
            ref = polars_run
        if ref is not None and ref.ok:
            comparisons.append(compare(ref, spark_run))
            out.append(
                f"spark vs polars at {fmt_int(spark_run.orders)} orders: spark takes "
                f"{spark_run.pipeline_seconds / ref.pipeline_seconds:.2f}x polars' seconds "
                f"(+{spark_run.result['startup_seconds']:.1f} s start-up), "
                f"{spark_run.peak_bytes / ref.peak_bytes:.2f}x its peak RSS"
            )
        else:
            out.append("spark's ledger: not compared (no polars run at its size)")
    for c in comparisons:
        out += describe(c)
    if out[-1]:
        out.append("")

    goals = [
        Goal(
            "polars faster than pandas (seconds)",
            f">= {GOAL_SPEED:g}x",
            f"{speed:.2f}x" if speed is not None else "not measured",
            "n/a" if speed is None else ("PASS" if speed >= GOAL_SPEED else "MISS"),
        ),
        Goal(
            "polars peak RSS / pandas peak RSS",
            f"<= {GOAL_MEMORY:g}",
            f"{memory:.2f}" if memory is not None else "not measured",
            "n/a" if memory is None else ("PASS" if memory <= GOAL_MEMORY else "MISS"),
        ),
    ]
    out.append(f"goals (at {fmt_int(args.rows)} orders):")
    out.append(
        render_table(
            ["goal", "target", "actual", "status"],
            [[g.name, g.target, g.actual, g.status] for g in goals],
        )
    )
    out.append("")
    out.append(
        "note: one run per engine on a shared machine; check the load averages above "
        "before reading much into small differences."
    )

    failed = [r for r in plan if not r.ok]
    results |= {
        "ratios": {"polars_speedup_vs_pandas": speed, "polars_peak_rss_share_of_pandas": memory},
        "comparisons": comparisons,
        "goals": [g.as_dict() for g in goals],
    }
    if path is not None:
        path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        out.append(f"results: {shown}")
    if unavailable or failed:
        names = sorted(set(unavailable) | {r.engine for r in failed})
        out.append(f"FAILED: engine(s) not available, crashed or killed: {', '.join(names)}")
    print("\n".join(out), flush=True)
    return 2 if unavailable or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
