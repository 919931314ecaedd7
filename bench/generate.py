"""How fast does udo make the e-commerce orders table, against the loops it replaces?

One run compares, on this machine:

(a) the stage-1 Faker loop: a Python loop, one dict per order and per item, with Faker
    called per row (the order timestamp, the item UUID) and `random` for the rest, drawn
    like the ecommerce preset (status/channel/payment weights, 1-12 items per order from
    Poisson(1.6), products by zipf popularity from a product list, zipf quantities, the
    total summed from the items). Rows are kept in lists of dicts.
(b) the same loop with Mimesis (`Datetime.datetime`, `Cryptographic.uuid`) for Faker;
(c) udo's engine: `DatasetGenerator(load_preset("ecommerce").scaled(N)).run()`, compile
    plus the run loop, counting rows (customers, products, orders and items are all
    made; only orders are counted as "rows");
(d) udo end to end: `generate_batch` landing a full Bronze batch as Parquet.

The loops are slow, so they run on a sample (--baseline-rows) and udo on --rows; rows/s
is comparable across sizes. Each measurement is repeated (--repeat, round-robin so a
burst of load hits every method alike) and the median is reported. Peak RSS of udo
landing --rss-rows orders as Parquet is measured in a fresh subprocess per size.

The goals (from the issue) are reported PASS/MISS; the script never fails on a miss.
Results are also written to bench/results/generate-<timestamp>.json.

    .venv/bin/python bench/generate.py            # full run (a few minutes)
    .venv/bin/python bench/generate.py --quick    # smoke run (seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (
    Timing,
    fmt_int,
    fmt_mib,
    fmt_ratio,
    load_average,
    machine_info,
    now,
    render_table,
    write_results,
)
from udo.domain.spec import ByCategory, DatasetSpec, LogNormal, Poisson, Zipf

PRESET = "ecommerce"
GOAL_VS_FAKER = 1000.0
GOAL_VS_MIMESIS = 100.0
GOAL_RSS_GROWTH = 1.5
TS_START = datetime(2024, 1, 1)
TS_END = datetime(2025, 12, 31)

Row = dict[str, Any]


# ------------------------------------------------------------------ the stage-1 loops
@dataclass(frozen=True)
class Weighted:
    """Values with cumulative weights, for `random.choices(values, cum_weights=...)`."""

    values: list[Any]
    cum: list[float]

    @classmethod
    def of(cls, values: list[Any], weights: list[float] | None) -> Weighted:
        """From plain (relative) weights; None means equal weights."""
        w = weights or [1.0] * len(values)
        cum: list[float] = []
        total = 0.0
        for x in w:
            total += x
            cum.append(total)
        return cls(list(values), cum)


@dataclass(frozen=True)
class Stage1Params:
    """What the loops draw from, read from the preset so both sides do the same work."""

    first_order_id: int
    first_customer_id: int
    last_customer_id: int
    status: Weighted
    channel: Weighted
    payment_method: Weighted
    currency: str
    items_lam: float
    items_min: int
    items_max: int
    products: Weighted  # (product_id, unit_price) by zipf popularity
    quantity: Weighted


def stage1_params(spec: DatasetSpec, seed: int) -> Stage1Params:
    """The preset's parameters at this size, and a product list (made once, untimed)."""
    tables = spec.tables
    orders = tables["orders"].fields
    customers = tables["customers"]
    products_t = tables["products"]
    items = tables["order_items"]

    def choices(table: str, name: str) -> Weighted:
        c = tables[table].fields[name].choice_source()
        return Weighted.of(list(c.values), c.weights)

    cust_seq = customers.fields["customer_id"].sequence
    order_seq = orders["order_id"].sequence
    assert cust_seq is not None and order_seq is not None
    n_customers = customers.rows or 1

    pp = items.per_parent
    assert pp is not None and isinstance(pp.count, Poisson) and isinstance(pp.count.lam, float)

    # The product list: category by weight, price lognormal with a mean by category.
    rng = random.Random(seed)
    category = choices("products", "category")
    price_f = products_t.fields["price"]
    price_d = price_f.distribution
    assert isinstance(price_d, LogNormal) and isinstance(price_d.sigma, float)
    means = price_d.mean
    lo = float(price_f.min) if isinstance(price_f.min, int | float) else 0.01
    hi = float(price_f.max) if isinstance(price_f.max, int | float) else math.inf
    catalogue: list[tuple[str, float]] = []
    for i in range(products_t.rows or 1):
        cat = rng.choices(category.values, cum_weights=category.cum)[0]
        mu = means.values[cat] if isinstance(means, ByCategory) else float(means)
        price = round(min(max(rng.lognormvariate(mu, price_d.sigma), lo), hi), 2)
        catalogue.append((f"P-{i:05d}", price))
    rng.shuffle(catalogue)  # popularity rank is unrelated to the id, as in udo

    fk = items.fields["product_id"].fk
    assert fk is not None
    popularity = [k**-fk.s for k in range(1, len(catalogue) + 1)]
    qty = items.fields["quantity"].distribution
    assert isinstance(qty, Zipf)

    return Stage1Params(
        first_order_id=order_seq.start,
        first_customer_id=cust_seq.start,
        last_customer_id=cust_seq.start + (n_customers - 1) * cust_seq.step,
        status=choices("orders", "status"),
        channel=choices("orders", "channel"),
        payment_method=choices("orders", "payment_method"),
        currency=str(orders["currency"].choice_source().values[0]),
        items_lam=float(pp.count.lam),
        items_min=max(pp.min, 1),
        items_max=pp.max,
        products=Weighted.of(catalogue, popularity),
        quantity=Weighted.of(list(range(1, qty.n + 1)), [k**-qty.s for k in range(1, qty.n + 1)]),
    )


def stage1_loop(
    n: int,
    p: Stage1Params,
    timestamp: Callable[[], datetime],
    uuid4: Callable[[], Any],
    seed: int,
) -> tuple[list[Row], list[Row]]:
    """n orders and their items as lists of dicts, one Python iteration per row.

    `timestamp` and `uuid4` are the library's per-row calls (Faker or Mimesis), bound
    once outside the loop, which if anything flatters the loop.
    """
    random.seed(seed)
    orders: list[Row] = []
    items: list[Row] = []
    exp_neg_lam = math.exp(-p.items_lam)
    for i in range(n):
        order_id = p.first_order_id + i
        # Poisson(lam) by Knuth's product of uniforms, clipped like the preset.
        k = 0
        u = random.random()
        while u > exp_neg_lam:
            k += 1
            u *= random.random()
        n_items = min(max(k, p.items_min), p.items_max)
        total = 0.0
        for _ in range(n_items):
            product_id, price = random.choices(p.products.values, cum_weights=p.products.cum)[0]
            quantity = random.choices(p.quantity.values, cum_weights=p.quantity.cum)[0]
            items.append(
                {
                    "order_item_id": uuid4(),
                    "order_id": order_id,
                    "product_id": product_id,
                    "quantity": quantity,
                    "unit_price": price,
                }
            )
            total += quantity * price
        orders.append(
            {
                "order_id": order_id,
                "customer_id": random.randint(p.first_customer_id, p.last_customer_id),
                "order_ts": timestamp(),
                "status": random.choices(p.status.values, cum_weights=p.status.cum)[0],
                "channel": random.choices(p.channel.values, cum_weights=p.channel.cum)[0],
                "payment_method": random.choices(
                    p.payment_method.values, cum_weights=p.payment_method.cum
                )[0],
                "currency": p.currency,
                "total": round(total, 2),
            }
        )
    return orders, items


def faker_calls(seed: int) -> tuple[Callable[[], datetime], Callable[[], Any]]:
    """Faker's per-row calls: the order timestamp and the item UUID."""
    from faker import Faker

    fake = Faker("en_US")  # one locale: the multi-locale proxy would only be slower
    fake.seed_instance(seed)
    ts = functools.partial(fake.date_time_between, start_date=TS_START, end_date=TS_END)
    return ts, fake.uuid4


def mimesis_calls(seed: int) -> tuple[Callable[[], datetime], Callable[[], Any]]:
    """Mimesis's per-row calls: the order timestamp (years 2024-2025) and the item UUID."""
    from mimesis import Cryptographic
    from mimesis import Datetime as MimesisDatetime

    dt = MimesisDatetime(seed=seed)
    crypto = Cryptographic(seed=seed)
    return functools.partial(dt.datetime, TS_START.year, TS_END.year), crypto.uuid


def time_loop(n: int, params: Stage1Params, lib: str, seed: int, t: Timing) -> None:
    """One timed run of a stage-1 loop (library set-up untimed)."""
    ts, uid = faker_calls(seed) if lib == "faker" else mimesis_calls(seed)
    gc.collect()
    t0 = now()
    orders, items = stage1_loop(n, params, ts, uid, seed)
    t.seconds.append(now() - t0)
    assert len(orders) == n
    t.extra["items"] = len(items)
    t.extra["items_per_order"] = len(items) / n
    del orders, items


# ------------------------------------------------------------------------------- udo
def udo_run(spec: DatasetSpec, chunk_rows: int) -> tuple[float, float, dict[str, int]]:
    """(compile seconds, compile + run seconds, rows per table) of the engine, in memory."""
    from udo.generate.engine import DatasetGenerator

    t0 = now()
    gen = DatasetGenerator(spec, chunk_rows=chunk_rows)
    t1 = now()
    counts = dict.fromkeys(spec.tables, 0)
    for chunk in gen.run():
        counts[chunk.table] += chunk.frame.height
    t2 = now()
    return t1 - t0, t2 - t0, counts


def udo_parquet(
    spec: DatasetSpec, chunk_rows: int, dirt: str, tmp_dir: str | None
) -> tuple[float, dict[str, int], int]:
    """(seconds, records per table, bytes) of landing a whole Bronze batch as Parquet."""
    from udo.adapters.local.storage import LocalStorageAdapter
    from udo.generate.dirt import PROFILES
    from udo.generate.service import generate_batch
    from udo.pipeline.bronze import BronzeStore

    with tempfile.TemporaryDirectory(prefix="udo-bench-", dir=tmp_dir) as root:
        bronze = BronzeStore(LocalStorageAdapter(Path(root)))
        t0 = now()
        manifest = generate_batch(
            bronze, spec, dataset="bench", fmt="parquet", dirt=PROFILES[dirt], chunk_rows=chunk_rows
        )
        seconds = now() - t0
    records = {t: m.records for t, m in manifest.tables.items()}
    return seconds, records, sum(m.bytes for m in manifest.tables.values())


def max_rss_bytes() -> int:
    """This process's own peak resident set size so far.

    On Linux this is VmHWM from /proc/self/status: the high-water mark of the process's
    current address space, which starts afresh at exec. `ru_maxrss` (RUSAGE_SELF or
    RUSAGE_CHILDREN) would not do: Linux carries the pre-exec high-water mark over exec,
    so a child started by a big parent reports at least the parent's size, and
    RUSAGE_CHILDREN is a maximum over every child waited for, not one child's peak.
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
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, else KiB


def rss_child(rows: int, chunk_rows: int, dirt: str, tmp_dir: str | None) -> None:
    """Subprocess body: land `rows` orders as Parquet, print one JSON line of facts."""
    import polars  # noqa: F401  (the heavy imports count in the base, not the growth)
    import pyarrow.parquet  # noqa: F401

    from udo.generate.presets import load_preset

    base = max_rss_bytes()
    spec = load_preset(PRESET).scaled(rows)
    seconds, records, size = udo_parquet(spec, chunk_rows, dirt, tmp_dir)
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "orders_per_s": rows / seconds,
                "records": records,
                "bytes": size,
                "rss_after_imports_bytes": base,
                "peak_rss_bytes": max_rss_bytes(),
            }
        )
    )


def rss_run(rows: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run `rss_child` in a fresh interpreter; its own peak RSS, cross-checked by polling."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--rss-child", str(rows)]
    cmd += ["--chunk-rows", str(args.chunk_rows), "--dirt", args.dirt]
    if args.tmp_dir:
        cmd += ["--tmp-dir", args.tmp_dir]
    import psutil

    polled = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        watch = psutil.Process(proc.pid)
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                polled = max(polled, watch.memory_info().rss)
            time.sleep(0.05)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return {"rows": rows, "error": f"exit {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["polled_peak_rss_bytes"] = polled or None
    return result


# ---------------------------------------------------------------------------- driver
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Stage-1 Faker/Mimesis loops vs udo: rows/s, ratios, peak RSS, goals."
    )
    ap.add_argument("--rows", type=int, help="orders udo makes (default 1,000,000)")
    ap.add_argument(
        "--baseline-rows", type=int, help="orders each stage-1 loop makes (default 20,000)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument(
        "--rss-rows", help="comma-separated order counts for peak RSS (default 1000000,10000000)"
    )
    ap.add_argument("--no-rss", action="store_true", help="skip the peak RSS subprocesses")
    ap.add_argument("--chunk-rows", type=int, default=262_144, help="udo chunk size")
    ap.add_argument("--dirt", default="none", help="dirt profile for the Parquet runs")
    ap.add_argument("--seed", type=int, default=42, help="seed of the stage-1 loops")
    ap.add_argument("--tmp-dir", help="where Parquet batches are written (then deleted)")
    ap.add_argument(
        "--quick", action="store_true", help="smoke run: 2,000 / 100,000 rows, RSS at 100k, 1M"
    )
    ap.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    ap.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rows is None:
        args.rows = 100_000 if args.quick else 1_000_000
    if args.baseline_rows is None:
        args.baseline_rows = 2_000 if args.quick else 20_000
    if args.rss_rows is None:
        args.rss_rows = "100000,1000000" if args.quick else "1000000,10000000"
    args.rss_sizes = [int(x.replace("_", "")) for x in args.rss_rows.split(",") if x.strip()]
    if min(args.rows, args.baseline_rows, args.repeat, args.chunk_rows, *args.rss_sizes) < 1:
        ap.error("row counts, --repeat and --chunk-rows must be positive")
    return args


def log(msg: str) -> None:
    """Progress, on stderr so that stdout is only the report."""
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Goal:
    """One goal from the issue and whether this run met it."""

    name: str
    target: str
    actual: str
    status: str  # PASS, MISS or n/a

    def as_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {
            "goal": self.name,
            "target": self.target,
            "actual": self.actual,
            "status": self.status,
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child is not None:
        rss_child(args.rss_child, args.chunk_rows, args.dirt, args.tmp_dir)
        return 0

    import faker  # noqa: F401  (imported up front: no import cost inside a timing)
    import mimesis  # noqa: F401

    from udo.generate.dirt import PROFILES
    from udo.generate.presets import load_preset

    if args.dirt not in PROFILES:
        sys.exit(f"unknown --dirt {args.dirt!r}; known: {', '.join(PROFILES)}")

    info = machine_info(
        ["udo", "Faker", "mimesis", "polars", "pyarrow", "numpy", "psutil"],
    )
    load_before = info["load_average"]
    preset = load_preset(PRESET)
    base_spec = preset.scaled(args.baseline_rows)
    udo_spec = preset.scaled(args.rows)
    params = stage1_params(base_spec, args.seed)

    # Warm-up, untimed: lazy imports (Faker inside udo's compile, polars, pyarrow) and caches.
    log("warm-up ...")
    time_loop(200, params, "faker", args.seed, Timing("warm", 200))
    time_loop(200, params, "mimesis", args.seed, Timing("warm", 200))
    udo_run(preset.scaled(1_000), args.chunk_rows)
    udo_parquet(preset.scaled(1_000), args.chunk_rows, args.dirt, args.tmp_dir)

    t_faker = Timing("stage-1 Faker loop (list of dicts)", args.baseline_rows)
    t_mimesis = Timing("stage-1 Mimesis loop (list of dicts)", args.baseline_rows)
    t_udo = Timing("udo engine: compile + run (in memory)", args.rows)
    t_udo_run = Timing("udo engine: run loop only", args.rows)
    t_parquet = Timing("udo -> Bronze Parquet (generate_batch)", args.rows)
    compile_s: list[float] = []
    for r in range(1, args.repeat + 1):
        tag = f"[{r}/{args.repeat}]"
        time_loop(args.baseline_rows, params, "faker", args.seed, t_faker)
        log(f"{tag} Faker loop    {args.baseline_rows:>11,} rows  {t_faker.seconds[-1]:8.2f} s")
        time_loop(args.baseline_rows, params, "mimesis", args.seed, t_mimesis)
        log(f"{tag} Mimesis loop  {args.baseline_rows:>11,} rows  {t_mimesis.seconds[-1]:8.2f} s")
        gc.collect()
        c_s, total_s, counts = udo_run(udo_spec, args.chunk_rows)
        compile_s.append(c_s)
        t_udo.seconds.append(total_s)
        t_udo_run.seconds.append(total_s - c_s)
        t_udo.extra["rows_per_table"] = counts
        t_udo.extra["items_per_order"] = counts["order_items"] / max(counts["orders"], 1)
        log(f"{tag} udo run       {args.rows:>11,} rows  {total_s:8.2f} s (compile {c_s:.2f} s)")
        gc.collect()
        p_s, records, size = udo_parquet(udo_spec, args.chunk_rows, args.dirt, args.tmp_dir)
        t_parquet.seconds.append(p_s)
        t_parquet.extra["records"] = records
        t_parquet.extra["bytes"] = size
        log(f"{tag} udo Parquet   {args.rows:>11,} rows  {p_s:8.2f} s")
    t_udo.extra["compile_seconds"] = compile_s

    rss: list[dict[str, Any]] = []
    if not args.no_rss:
        for n in args.rss_sizes:
            log(f"peak RSS: {n:,} orders to Parquet in a subprocess ...")
            rss.append(rss_run(n, args))
    load_after = load_average()

    # ------------------------------------------------------------------ report
    faker_rps, mimesis_rps = t_faker.rows_per_s, t_mimesis.rows_per_s
    timings = [t_faker, t_mimesis, t_udo, t_udo_run, t_parquet]
    table_rows = [
        [
            t.name,
            fmt_int(t.rows),
            f"{t.median:.3f}",
            fmt_int(t.rows_per_s),
            fmt_ratio(t.rows_per_s / faker_rps),
            fmt_ratio(t.rows_per_s / mimesis_rps),
            f"{100 * t.spread:.0f}%",
        ]
        for t in timings
    ]
    compile_median = sorted(compile_s)[len(compile_s) // 2]
    out: list[str] = []
    out.append(f"udo generate benchmark - preset {PRESET!r}, orders table")
    out.append(
        f"machine: {info['cpus']} CPUs, Python {info['python']}, {info['platform']}; "
        f"load average {load_before} at start, {load_after} at end"
    )
    vers = info["packages"]
    out.append("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v is not None))
    out.append(
        f"median of {args.repeat} runs each (round-robin); seconds = median wall time; "
        f"spread = slowest/fastest - 1"
    )
    out.append("")
    out.append(
        render_table(
            ["method", "rows", "seconds", "rows/s", "vs Faker", "vs Mimesis", "spread"],
            table_rows,
        )
    )
    out.append("")
    out.append(
        f"udo compile (DatasetGenerator init: Faker pools, sources): median "
        f"{compile_median:.3f} s, included in 'compile + run'"
    )
    out.append(
        f"items per order: Faker loop {t_faker.extra['items_per_order']:.3f}, "
        f"Mimesis loop {t_mimesis.extra['items_per_order']:.3f}, "
        f"udo {t_udo.extra['items_per_order']:.3f} (same work per order)"
    )
    counts = t_udo.extra["rows_per_table"]
    out.append(
        "udo also makes, inside its timing: "
        + ", ".join(f"{fmt_int(v)} {k}" for k, v in counts.items() if k != "orders")
    )
    out.append(
        f"Parquet batch: {fmt_mib(t_parquet.extra['bytes'])} on disk, dirt {args.dirt!r}, "
        f"atomic landing with fsync and sha256"
    )
    out.append("")
    if rss:
        out.append("peak RSS, udo landing orders as Parquet, one fresh subprocess per size:")
        for res in rss:
            if "error" in res:
                out.append(f"  {fmt_int(res['rows']):>12} orders: FAILED ({res['error']})")
                continue
            polled = res.get("polled_peak_rss_bytes")
            out.append(
                f"  {fmt_int(res['rows']):>12} orders: peak {fmt_mib(res['peak_rss_bytes'])} "
                f"(after imports {fmt_mib(res['rss_after_imports_bytes'])}"
                + (f", polled {fmt_mib(polled)}" if polled else "")
                + f"); {res['seconds']:.1f} s, {fmt_int(res['orders_per_s'])} orders/s"
            )
        out.append("")

    vs_faker = t_udo.rows_per_s / faker_rps
    vs_mimesis = t_udo.rows_per_s / mimesis_rps
    goals = [
        Goal(
            "udo vs the stage-1 Faker loop",
            f">= {GOAL_VS_FAKER:,.0f}x",
            fmt_ratio(vs_faker),
            "PASS" if vs_faker >= GOAL_VS_FAKER else "MISS",
        ),
        Goal(
            "udo vs the stage-1 Mimesis loop",
            f">= {GOAL_VS_MIMESIS:,.0f}x",
            fmt_ratio(vs_mimesis),
            "PASS" if vs_mimesis >= GOAL_VS_MIMESIS else "MISS",
        ),
    ]
    ok = [r for r in rss if "error" not in r]
    if len(ok) >= 2:
        small, big = min(ok, key=lambda r: r["rows"]), max(ok, key=lambda r: r["rows"])
        growth = big["peak_rss_bytes"] / small["peak_rss_bytes"]
        goals.append(
            Goal(
                f"peak RSS flat: {fmt_int(big['rows'])} vs {fmt_int(small['rows'])} orders",
                f"<= {GOAL_RSS_GROWTH}x",
                f"{growth:.2f}x",
                "PASS" if growth <= GOAL_RSS_GROWTH else "MISS",
            )
        )
    else:
        goals.append(Goal("peak RSS flat", f"<= {GOAL_RSS_GROWTH}x", "not measured", "n/a"))
    out.append("goals (udo = 'compile + run' row):")
    out.append(
        render_table(
            ["goal", "target", "actual", "status"],
            [[g.name, g.target, g.actual, g.status] for g in goals],
        )
    )
    out.append("")
    out.append(
        "note: a shared, noisy machine gives noisy numbers; compare the spread column and "
        "the load averages above before reading much into small differences."
    )

    results = {
        "benchmark": "generate",
        "preset": PRESET,
        "created_at": datetime.now().astimezone().isoformat(),
        "machine": info,
        "load_average_end": load_after,
        "config": {
            "rows": args.rows,
            "baseline_rows": args.baseline_rows,
            "repeat": args.repeat,
            "rss_rows": args.rss_sizes if not args.no_rss else [],
            "chunk_rows": args.chunk_rows,
            "dirt": args.dirt,
            "seed": args.seed,
            "quick": args.quick,
        },
        "timings": [t.as_dict() for t in timings],
        "compile_median_seconds": compile_median,
        "ratios": {
            t.name: {"vs_faker": t.rows_per_s / faker_rps, "vs_mimesis": t.rows_per_s / mimesis_rps}
            for t in timings
        },
        "peak_rss": rss,
        "goals": [g.as_dict() for g in goals],
    }
    if not args.no_json:
        path = write_results("generate", results)
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        out.append(f"results: {shown}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
