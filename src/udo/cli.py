"""The `udo` command line.

User mistakes (a bad spec, an unknown preset, a batch that exists) print one readable
message and exit 2; `--debug` shows the traceback. Anything unexpected exits 1 with a
hint to re-run with `--debug`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from udo.azure_cli import azure_app
from udo.errors import UdoError

app = typer.Typer(
    help="udo: the Universal AI Data Orchestrator.", no_args_is_help=True, add_completion=False
)
spec_app = typer.Typer(help="Dataset specs: show presets, validate files, export the JSON Schema.")
app.add_typer(spec_app, name="spec")
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug


def _app() -> Any:
    from udo.bootstrap import bootstrap

    return bootstrap()


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


# --------------------------------------------------------------------- spec
@spec_app.command("show")
def spec_show(preset: Annotated[str, typer.Argument(help="Preset name, e.g. ecommerce.")]) -> None:
    """Print a preset as YAML, to copy and edit."""
    from udo.generate.presets import load_preset

    sys.stdout.write(load_preset(preset).to_yaml())


@spec_app.command("list")
def spec_list() -> None:
    """List the built-in presets."""
    from udo.generate.presets import load_preset, preset_names

    for name in preset_names():
        spec = load_preset(name)
        console.print(f"[bold]{name}[/]: {', '.join(spec.tables)}")


@spec_app.command("validate")
def spec_validate(file: Annotated[Path, typer.Argument(help="A YAML or JSON spec.")]) -> None:
    """Validate a spec file, Faker methods included; list every problem with its location."""
    from udo.domain.spec import DatasetSpec
    from udo.generate.engine import DatasetGenerator
    from udo.generate.sources import faker_problems

    spec = DatasetSpec.load(file, checks=[faker_problems])
    # Compiling a small copy runs Faker once per field: bad arguments show up here.
    DatasetGenerator(spec.scaled(min(spec.tables[spec.primary_table()].rows or 1, 1000)), 1000)
    console.print(f"[green]ok[/] {file}: spec {spec.name!r}, tables {', '.join(spec.tables)}")


@spec_app.command("schema")
def spec_schema() -> None:
    """Print the JSON Schema of the spec language."""
    import json

    from udo.domain.spec import DatasetSpec

    sys.stdout.write(json.dumps(DatasetSpec.json_schema(), indent=2) + "\n")


# ----------------------------------------------------------------- generate
@app.command()
def generate(
    preset: Annotated[str | None, typer.Option(help="Built-in spec, e.g. ecommerce.")] = None,
    spec_file: Annotated[Path | None, typer.Option("--spec", help="A YAML/JSON spec file.")] = None,
    rows: Annotated[
        int | None, typer.Option(help="Rows of the primary table (orders).", min=0)
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="parquet, csv or jsonl.")] = None,
    seed: Annotated[int | None, typer.Option(help="Overrides the spec's seed.", min=0)] = None,
    dirt: Annotated[str, typer.Option(help="none, light, default, heavy or a YAML file.")] = "none",
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the spec's).")] = None,
    batch: Annotated[str | None, typer.Option(help="Batch id (default: a new one).")] = None,
    chunk_rows: Annotated[
        int | None, typer.Option(help="Rows per chunk (memory bound).", min=1)
    ] = None,
) -> None:
    """Generate a synthetic dataset and land it as a Bronze batch."""
    manifest = _generate(preset, spec_file, rows, fmt, seed, dirt, dataset, batch, chunk_rows)
    _print_batch(manifest)


def _generate(
    preset: str | None,
    spec_file: Path | None,
    rows: int | None,
    fmt: str | None,
    seed: int | None,
    dirt: str,
    dataset: str | None,
    batch: str | None,
    chunk_rows: int | None,
) -> Any:
    from udo.domain.spec import DatasetSpec
    from udo.generate.dirt import DirtProfile
    from udo.generate.presets import load_preset
    from udo.generate.service import generate_batch

    if (preset is None) == (spec_file is None):
        raise typer.BadParameter("give exactly one of --preset or --spec")
    from udo.generate.sources import faker_problems

    if preset:
        spec = load_preset(preset)
    else:
        assert spec_file is not None
        spec = DatasetSpec.load(spec_file, checks=[faker_problems])
    if rows is not None:
        spec = spec.scaled(rows)
    if seed is not None:
        spec = spec.with_seed(seed)
    profile = DirtProfile.named(dirt)
    udo = _app()
    settings = udo.settings
    fmt = fmt or settings.generate.format
    if fmt not in ("parquet", "csv", "jsonl"):
        raise typer.BadParameter(f"--format {fmt!r}: use parquet, csv or jsonl")
    started = time.perf_counter()
    with _bar() as bar:
        task = bar.add_task(f"generating {spec.name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        manifest = generate_batch(
            udo.bronze,
            spec,
            dataset=dataset,
            batch_id=batch,
            fmt=fmt,
            dirt=profile,
            chunk_rows=chunk_rows or settings.generate.chunk_rows,
            row_group_rows=settings.generate.row_group_rows,
            progress=progress,
        )
    seconds = time.perf_counter() - started
    console.print(
        f"generated [bold]{manifest.dataset}/{manifest.batch_id}[/] "
        f"({manifest.records:,} records in {seconds:.1f} s, dirt: {profile.name})"
    )
    return manifest


def _print_batch(manifest: Any) -> None:
    udo = _app()
    prefix = udo.bronze.batch_prefix(manifest.dataset, manifest.batch_id)
    table = Table(title=f"Bronze batch {manifest.dataset}/{manifest.batch_id} ({manifest.origin})")
    for col in ("table", "format", "records", "bytes", "defective rows", "malformed rows"):
        table.add_column(col, justify="left" if col in ("table", "file") else "right")
    for name, t in manifest.tables.items():
        defects = sum(t.defects.counts.values()) if t.defects else 0
        malformed = t.malformed.count if t.malformed else 0
        table.add_row(
            name,
            t.format,
            f"{t.records:,}",
            f"{t.bytes:,}",
            _share(defects, t.records),
            _share(malformed, t.records),
        )
    console.print(table)
    kinds = sorted({k for t in manifest.tables.values() if t.defects for k in t.defects.counts})
    if kinds:
        truth = Table(title="injected defects (ground truth in _defects/<table>.parquet)")
        truth.add_column("defect")
        for name in manifest.tables:
            truth.add_column(name, justify="right")
        for kind in kinds:
            counts = [
                t.defects.counts.get(kind, 0) if t.defects else 0 for t in manifest.tables.values()
            ]
            truth.add_row(kind, *(f"{c:,}" if c else "-" for c in counts))
        console.print(truth)
    console.print(f"folder:   {udo.storage.uri(prefix)}", soft_wrap=True)
    console.print(f"manifest: {udo.storage.uri(f'{prefix}/_manifest.json')}", soft_wrap=True)


def _share(count: int, total: int) -> str:
    return f"{count:,} ({count / total:.1%})" if count and total else "-"


# ------------------------------------------------------------------- ingest
@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON lines or Parquet files.")],
    dataset: Annotated[str, typer.Option(help="Dataset name.")],
    batch: Annotated[str | None, typer.Option(help="Batch id (default: a new one).")] = None,
) -> None:
    """Land your own files as a Bronze batch, as received, with an inferred schema."""
    from udo.pipeline.ingest import ingest_files

    udo = _app()
    total = sum(f.stat().st_size for f in files if f.is_file())
    with _bar() as bar:
        task = bar.add_task("ingesting", total=total)
        manifest = ingest_files(
            udo.bronze,
            list(files),
            dataset,
            batch_id=batch,
            settings=udo.settings.ingest,
            progress=lambda n: bar.update(task, completed=n),
        )
    _print_batch(manifest)
    bad = {
        n: t.malformed.count
        for n, t in manifest.tables.items()
        if t.malformed and t.malformed.count
    }
    if bad:
        console.print(
            "[yellow]kept as received, flagged malformed:[/] "
            + ", ".join(f"{n} {c:,} rows" for n, c in bad.items())
            + " (see the manifest for line numbers)"
        )


# ------------------------------------------------------------------ batches
@app.command()
def batches(
    dataset: Annotated[str | None, typer.Argument(help="Dataset (default: all).")] = None,
) -> None:
    """List landed Bronze batches."""
    udo = _app()
    names = [dataset] if dataset else udo.bronze.datasets()
    table = Table(title="Bronze batches")
    for col in ("dataset", "batch", "origin", "records", "created"):
        table.add_column(col)
    for name in names:
        for batch_id in udo.bronze.batches(name):
            m = udo.bronze.manifest(name, batch_id)
            table.add_row(
                name, batch_id, m.origin, f"{m.records:,}", f"{m.created_at:%Y-%m-%d %H:%M:%S}"
            )
    console.print(table)


@app.command()
def manifest(dataset: str, batch: str) -> None:
    """Print a batch's manifest as JSON."""
    udo = _app()
    sys.stdout.write(udo.bronze.manifest(dataset, batch).model_dump_json(indent=2) + "\n")


# -------------------------------------------------------------------- clean
ENGINES = ("polars", "pandas", "spark")


def _engine(name: str) -> Any:
    from udo.bootstrap import engine_from

    return engine_from(name)


@app.command()
def clean(
    dataset: Annotated[str, typer.Option(help="Dataset to clean.")],
    batch: Annotated[str | None, typer.Option(help="Batch id (default: the newest).")] = None,
    engine: Annotated[str, typer.Option(help="polars, pandas or spark.")] = "polars",
    rules_file: Annotated[
        Path | None, typer.Option("--rules", help="Rules YAML (default: derived from the spec).")
    ] = None,
) -> None:
    """Clean a Bronze batch into Silver, quarantine and Gold; print the ledger and quality."""
    m = _clean(dataset, batch, engine, rules_file)
    _print_ledger(m)


def _clean(dataset: str, batch: str | None, engine: str, rules_file: Path | None) -> Any:
    from udo.domain.rules import RuleSet

    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine {engine!r}: use {', '.join(ENGINES)}")
    udo = _app()
    batches = udo.bronze.batches(dataset)
    if not batches:
        from udo.errors import BatchError

        raise BatchError(
            f"dataset {dataset!r} has no landed batch; run `udo generate` or `udo ingest`"
        )
    batch = batch or batches[-1]
    rules = RuleSet.from_yaml(rules_file.read_text(encoding="utf-8")) if rules_file else None
    eng = _engine(engine)
    started = time.perf_counter()
    try:
        with _bar() as bar:
            task = bar.add_task(f"cleaning {dataset}/{batch} on {engine}", total=None)
            ledger = udo.pipeline(eng).clean(
                dataset, batch, rules=rules, progress=lambda s: bar.update(task, description=s)
            )
    finally:
        eng.close()
    console.print(
        f"cleaned [bold]{dataset}/{batch}[/] on [bold]{engine}[/] "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return ledger


def _print_ledger(ledger: Any) -> None:
    from udo.pipeline.clean import Lake

    udo = _app()
    lake = Lake(udo.storage)
    t = Table(title=f"ledger {ledger.dataset}/{ledger.batch_id} (rules {ledger.rules_version})")
    for col in ("table", "bronze in", "silver out", "quarantined", "duplicates", "balanced"):
        t.add_column(col, justify="left" if col == "table" else "right")
    for tl in ledger.tables.values():
        t.add_row(
            tl.table,
            f"{tl.bronze_in:,}",
            f"{tl.silver_out:,}",
            f"{tl.quarantined:,}",
            f"{tl.duplicates_removed:,}",
            "[green]yes[/]" if tl.balanced else "[red]NO[/]",
        )
    console.print(t)
    v = Table(title="rule violations (rows)")
    for col in ("rule", "action", "rows"):
        v.add_column(col, justify="right" if col == "rows" else "left")
    for tl in ledger.tables.values():
        for rule, n in tl.violations.items():
            v.add_row(rule, tl.actions.get(rule, ""), f"{n:,}")
        for col in tl.missing_columns:
            v.add_row(f"{tl.table}.{col}", "missing in Bronze", "all")
        for col in tl.extra_columns:
            v.add_row(f"{tl.table}.{col}", "extra in Bronze (dropped)", "all")
    console.print(v)
    if ledger.quality is not None:
        q = Table(title="cleaning quality vs injected defects (all tables)")
        for col in ("defect", "injected", "rejected", "repaired", "missed", "recall"):
            q.add_column(col, justify="left" if col == "defect" else "right")
        for kind, sc in sorted(ledger.quality.totals().items()):
            q.add_row(
                kind,
                f"{sc.injected:,}",
                f"{sc.rejected:,}",
                f"{sc.repaired:,}",
                f"{sc.missed:,}",
                f"{sc.recall:.1%}",
            )
        console.print(q)
        for name, tq in ledger.quality.tables.items():
            if tq.false_rejects:
                rules = ", ".join(f"{r} {n:,}" for r, n in tq.false_rejects_by_rule.items())
                console.print(
                    f"  {name}: {tq.false_rejects:,} rows without an injected defect "
                    f"rejected ({rules})"
                )
    if ledger.marts:
        console.print("gold: " + ", ".join(f"{m} {n:,} rows" for m, n in ledger.marts.items()))
    if ledger.load is not None:
        lt = Table(title="loaded into destinations (reconciled: counts and exact decimal sums)")
        for col in ("destination", "table", "mode", "rows", "method"):
            lt.add_column(col, justify="right" if col == "rows" else "left")
        for t in ledger.load.tables:
            lt.add_row(t.destination, t.target, t.mode, f"{t.rows:,}", t.method or "")
        console.print(lt)
        ok = ledger.load.reconciled
        console.print(
            f"reconciliation: {len(ledger.load.checks)} checks, "
            + (
                "[green]all match[/]"
                if ok
                else f"[red]{len(ledger.load.mismatches())} mismatches[/]"
            )
        )
    console.print(f"stage seconds: {ledger.stage_seconds}")
    for tl in ledger.tables.values():
        console.print(
            f"silver     {tl.table}: {lake.silver(ledger.dataset, tl.table)}", soft_wrap=True
        )
        console.print(
            f"quarantine {tl.table}: {lake.quarantine(ledger.dataset, tl.table)}", soft_wrap=True
        )
    for m in ledger.marts:
        console.print(f"gold       {m}: {lake.gold(ledger.dataset, m)}", soft_wrap=True)


@app.command()
def rules(
    dataset: Annotated[str, typer.Option(help="Dataset.")],
    batch: Annotated[str | None, typer.Option(help="Batch (default: the newest).")] = None,
) -> None:
    """Print the cleaning rules derived for a batch, as YAML to edit and pass to --rules."""
    from udo.pipeline.clean import rules_for

    udo = _app()
    batch = batch or udo.bronze.batches(dataset)[-1]
    sys.stdout.write(rules_for(udo.bronze.manifest(dataset, batch)).to_yaml())


# ------------------------------------------------------------ orchestration
runs_app = typer.Typer(help="Cleaning runs: list and inspect.")
app.add_typer(runs_app, name="runs")
app.add_typer(azure_app, name="azure")
ROUTES = ("small", "large")


@app.command("request")
def request_clean(
    dataset: Annotated[str, typer.Option(help="Dataset to clean.")],
    batch: Annotated[str | None, typer.Option(help="Batch id (default: the newest).")] = None,
    force: Annotated[bool, typer.Option(help="Run again even if this batch was cleaned.")] = False,
) -> None:
    """ "Clean Data": route a batch by its size and enqueue it (small-queue or large-queue)."""
    udo = _app()
    req = udo.runs.request_clean(dataset, batch, force=force)
    verb = "already requested as" if req.reused else "queued as"
    console.print(f"{req.decision.reason} → {verb} run [bold]{req.run.id}[/] ({req.run.status})")


@app.command()
def drain(route: Annotated[str, typer.Argument(help="small or large")]) -> None:
    """Drain a queue now: run every waiting batch on the route's engine."""
    if route not in ROUTES:
        raise typer.BadParameter("small or large")
    udo = _app()
    runs = _drain(udo, route)
    console.print(f"{route}-queue drained: {len(runs)} run(s) {', '.join(runs)}")


def _drain(udo: Any, route: str) -> list[str]:
    unsubscribe = udo.notifier.subscribe(_echo_event)
    try:
        runs: list[str] = udo.worker.drain(route)
    finally:
        unsubscribe()
    return runs


def _echo_event(ev: Any) -> None:
    colour = {"run.succeeded": "green", "run.failed": "red", "run.dead_lettered": "red"}.get(
        ev.type, "cyan"
    )
    console.print(f"[{colour}]{ev.type:18s}[/] {ev.run_id} {ev.dataset}/{ev.batch_id} {ev.message}")


@app.command()
def worker(
    route: Annotated[str, typer.Option(help="small, large or all.")] = "all",
    once: Annotated[bool, typer.Option(help="Drain the queues once and exit.")] = False,
) -> None:
    """Take messages from the queues and clean them (SIGTERM: finish the run, then stop)."""
    import signal

    udo = _app()
    routes = list(ROUTES) if route == "all" else [route]
    w = udo.worker
    udo.notifier.subscribe(_echo_event)
    if once:
        for r in routes:
            w.drain(r)
        return
    interrupted = {"count": 0}

    def on_term(signum: int, frame: object) -> None:
        interrupted["count"] += 1
        if interrupted["count"] > 1:
            raise SystemExit(143)  # a second signal: release the message and go
        err_console.print("stopping after the current run (send again to stop now)")
        w.stop()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    console.print(f"worker on {', '.join(udo.queue_names[r] for r in routes)} (Ctrl-C to stop)")
    try:
        w.run_forever(routes)
    finally:
        w.close()


@app.command()
def queues() -> None:
    """Depth of each queue and its poison queue."""
    udo = _app()
    t = Table(title="queues")
    for col in ("queue", "depth", "poison"):
        t.add_column(col)
    for name, st in udo.runs.queue_status().items():
        t.add_row(name, str(st["depth"]), str(st["poison"]))
    console.print(t)


@app.command()
def triggers() -> None:
    """When each queue is drained next (UTC)."""
    udo = _app()
    trig = udo.triggers()
    for route, at in trig.next_fire_times().items():
        spec = getattr(udo.settings.triggers, route)
        console.print(
            f"{route}-queue: {spec:20s} next {at:%Y-%m-%d %H:%M:%S %Z}"
            if at
            else f"{route}: paused"
        )


@runs_app.command("list")
def runs_list(
    dataset: Annotated[str | None, typer.Option(help="Only this dataset.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
) -> None:
    """Recent runs, newest first."""
    from udo.domain.run import RunStatus

    udo = _app()
    t = Table(title="runs")
    for col in ("run", "dataset/batch", "records", "route", "engine", "status", "stage", "updated"):
        t.add_column(col)
    for r in udo.metadata.list_runs(
        dataset=dataset, status=RunStatus(status) if status else None, limit=limit
    ):
        t.add_row(
            r.id,
            f"{r.dataset}/{r.batch_id}",
            f"{r.records:,}",
            r.route,
            r.engine,
            r.status,
            r.stage or "",
            f"{r.updated_at:%H:%M:%S}",
        )
    console.print(t)


@runs_app.command("show")
def runs_show(run_id: str) -> None:
    """A run: transitions with timestamps, stage timings, ledger, error."""
    from udo.domain.ledger import Ledger

    udo = _app()
    r = udo.metadata.get_run(run_id)
    console.print(
        f"[bold]{r.id}[/] {r.dataset}/{r.batch_id}: {r.status} "
        f"({r.route}, {r.engine}, {r.records:,} records, attempts {r.attempts})"
    )
    t = Table(title="transitions")
    for col in ("at (UTC)", "status", "stage", "detail"):
        t.add_column(col)
    for tr in udo.metadata.transitions(run_id):
        t.add_row(f"{tr.at:%Y-%m-%d %H:%M:%S.%f}", tr.status, tr.stage or "", tr.detail or "")
    console.print(t)
    if r.error:
        console.print(f"[red]error:[/] {r.error}")
    if r.ledger:
        _print_ledger(Ledger.model_validate(r.ledger))


# --------------------------------------------------------------------- demo
@app.command()
def demo(
    small_rows: Annotated[int, typer.Option(help="Orders in the small batch.", min=1)] = 1_500,
    large_rows: Annotated[int, typer.Option(help="Orders in the large batch.", min=1)] = 200_000,
) -> None:
    """The main job: generate two e-commerce batches with dirt, request cleaning ("Clean
    Data"), drain small-queue (fast engine) and large-queue (Spark), show what is where."""
    from udo.domain.ledger import Ledger
    from udo.pipeline.clean import Lake

    udo = _app()
    console.rule("[bold]1. Synthetic e-commerce data into Bronze")
    # two datasets: the same preset twice in one dataset would repeat the same keys
    small = _generate(
        "ecommerce", None, small_rows, "parquet", 7, "default", "shop_daily", None, None
    )
    _print_batch(small)
    large = _generate(
        "ecommerce", None, large_rows, "parquet", 42, "default", "shop_history", None, None
    )
    _print_batch(large)
    console.rule("[bold]2. Clean Data: routing by size")
    requests = [udo.runs.request_clean(m.dataset, m.batch_id) for m in (small, large)]
    for req in requests:
        console.print(
            f"{req.run.dataset}/{req.run.batch_id}: {req.decision.reason} → run {req.run.id}"
        )
    console.rule("[bold]3. Drain small-queue now (fast engine) and large-queue now (Spark)")
    for route in ("small", "large"):
        _drain(udo, route)
    console.rule("[bold]4. Runs")
    lake = Lake(udo.storage)
    for req in requests:
        run = udo.metadata.get_run(req.run.id)
        console.print(
            f"[bold]{run.id}[/] {run.dataset}/{run.batch_id} on {run.engine}: {run.status} "
            f"{run.stage_seconds}"
        )
        if run.error:
            console.print(f"[red]{run.error}[/]")
        if run.ledger:
            _print_ledger(Ledger.model_validate(run.ledger))
    console.rule("[bold]5. Gold previews")
    from udo.pipeline import delta

    for mart in ("daily_sales", "customer_lifetime_value", "product_performance"):
        table = delta.read(lake.gold(large.dataset, mart))
        if table.num_columns:
            import polars as pl

            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            console.print(f"[bold]{large.dataset}: {mart}[/] ({frame.height:,} rows)")
            console.print(str(frame.head(5)))
    console.print(f"lake root: {udo.storage.uri('')}")
    console.print(f"queues: {udo.settings.queue.path}   runs: {udo.settings.metadata.url}")


# ---------------------------------------------------------------------- api
def _built_ui() -> Path | None:
    """web/dist of the working folder, else of the source checkout, if it is built."""
    for folder in (Path("web") / "dist", Path(__file__).resolve().parents[2] / "web" / "dist"):
        if (folder / "index.html").is_file():
            return folder
    return None


@app.command()
def up(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: UDO_API__HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: UDO_API__PORT).", min=1, max=65535)
    ] = None,
    ui: Annotated[
        Path | None, typer.Option(help="Built web UI to serve at / (default: web/dist if built).")
    ] = None,
    browser: Annotated[bool, typer.Option(help="Open the web UI in a browser.")] = True,
    threads: Annotated[
        int, typer.Option(help="Request threads; each open event stream holds one.", min=2)
    ] = 16,
) -> None:
    """Serve the API and the web UI; the queues drain on their triggers in this process."""
    import dataclasses
    import logging
    import signal
    import threading
    import webbrowser

    from waitress import serve

    from udo.api.app import create_app, shutdown
    from udo.api.options import ApiOptions

    udo = _app()
    options = ApiOptions.from_settings(udo.settings)
    options = dataclasses.replace(options, host=host or options.host, port=port or options.port)
    ui = ui or _built_ui()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    flask_app = create_app(udo, serve_ui=ui, start_background=True, options=options)
    shown = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    base = f"http://{f'[{shown}]' if ':' in shown else shown}:{options.port}"
    console.print(
        f"udo API on {base}/api" + (f", web UI on {base}/" if ui else "") + " (Ctrl-C to stop)"
    )
    if ui is None:
        console.print("no web UI: build it with `make web` (or pass --ui)")
    if options.token is None:
        console.print("no UDO_API__TOKEN: serving this machine only")
    if ui is not None and browser:
        threading.Timer(1.0, webbrowser.open, args=[f"{base}/"]).start()

    def stop(signum: int, frame: object) -> None:
        shutdown(flask_app)  # event streams end now, so waitress's threads can stop
        raise KeyboardInterrupt  # waitress stops serving and returns

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        serve(
            flask_app,
            host=options.host,
            port=options.port,
            threads=threads,
            channel_request_lookahead=1,  # lets event streams notice a client that left
            ident="udo",
        )
    finally:
        err_console.print("stopping after the run in progress (Ctrl-C again to stop now)")
        shutdown(flask_app, wait=True)


def main() -> None:
    """Entry point: run the app, turning udo errors into readable messages."""
    try:
        app(standalone_mode=False)
    except UdoError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors and anything unexpected
        show = getattr(exc, "show", None)
        if isinstance(exc, typer.TyperException) and callable(show):
            show()
            sys.exit(getattr(exc, "exit_code", 2))
        if _state["debug"]:
            raise
        err_console.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc} (re-run with --debug)"
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
