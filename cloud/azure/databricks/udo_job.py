"""The udo Databricks job's entry point (a spark_python_task; see job.json and README.md).

    udo_job.py --queue large-queue [--max-runs N] [--engine spark]
    udo_job.py --queue large-queue --run-id <run> [--dataset <name> --batch <id>]

The first form drains the queue through udo's worker; the second cleans the batch of one
run requested before ("Clean Data"). Settings come from the environment (the job
cluster's ``spark_env_vars``: ``UDO_CLOUD=azure`` and the ``UDO_...`` of the lake, the
queues and the metadata store), as everywhere in udo, through `udo.bootstrap.bootstrap`.
Empty parameters mean "not given" (the job's parameter defaults are empty).

On a Databricks cluster the Spark engine runs on the cluster's own SparkSession. The
job prints one JSON line (the `JobReport`) and fails when a run it worked on did not
succeed, with that run's error as the task's error.

On Databricks (``DATABRICKS_RUNTIME_VERSION`` set) it refuses to run unless
``UDO_CLOUD=azure``: with the embedded defaults it would drain a SQLite queue on the
driver's disk, find nothing and report success. At the end it closes the services it
built, so the notifier's queued SignalR broadcasts are sent before the task ends.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from udo.bootstrap import App
    from udo.config import Settings

log = logging.getLogger("udo.databricks_job")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The job's command line (what the job's parameters are pushed into)."""
    parser = argparse.ArgumentParser(prog="udo_job.py", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", default="", help="the route's queue (large-queue)")
    parser.add_argument("--dataset", default="", help="batch mode: the run's dataset (checked)")
    parser.add_argument("--batch", default="", help="batch mode: the run's batch id (checked)")
    parser.add_argument("--run-id", default="", help="batch mode: the run to clean")
    parser.add_argument("--max-runs", default="", help="drain mode: stop after N messages")
    parser.add_argument(
        "--engine", default="", help="override the route's engine (spark, polars, pandas)"
    )
    return parser.parse_args(argv)


def _job(args: argparse.Namespace, default_queue: str) -> Any:
    from udo.ports.compute import ComputeJob, InvalidComputeJob

    max_runs: int | None = None
    if args.max_runs.strip():
        try:
            max_runs = int(args.max_runs)
        except ValueError:
            raise InvalidComputeJob(f"--max-runs must be a number, not {args.max_runs!r}") from None
    return ComputeJob(
        queue=args.queue.strip() or default_queue,
        dataset=args.dataset.strip() or None,
        batch_id=args.batch.strip() or None,
        run_id=args.run_id.strip() or None,
        max_runs=max_runs,
        engine=args.engine.strip() or None,
    )


def use_cluster_spark(app: App) -> bool:
    """Run the Spark engine on the cluster's SparkSession when there is one.

    On Databricks (``DATABRICKS_RUNTIME_VERSION`` is set) that is the cluster's session;
    elsewhere an already active session if any. Returns whether one was found; without
    one the engine starts its own local session as usual.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return False
    session: SparkSession | None
    if app.settings.databricks_runtime is not None:
        session = SparkSession.builder.getOrCreate()
    else:
        session = SparkSession.getActiveSession()
    if session is None:
        return False
    from udo.bootstrap import engine_from
    from udo.pipeline.engines.spark import SparkEngine

    def factory(name: str) -> Any:
        return SparkEngine(session=session) if name == "spark" else engine_from(name)

    app.worker.engine_factory = factory
    return True


def main(argv: list[str] | None = None, *, reraise: bool = False) -> int:
    """Run the job; 0 when every run it worked on succeeded, 1 otherwise, 2 on bad input
    or settings (among them: on Databricks without ``UDO_CLOUD=azure``).

    With `reraise` (how Databricks runs it) the error is raised instead of returning 1,
    so the task's error is udo's message.
    """
    from udo.adapters.local.compute import execute, route_of
    from udo.bootstrap import bootstrap
    from udo.config import Settings
    from udo.errors import UdoError
    from udo.ports.compute import InvalidComputeJob

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        settings = Settings()
        _check_cloud(settings)
        job = _job(args, settings.queue.large)
        app = bootstrap(settings)
    except UdoError as exc:
        print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
        if reraise:
            raise
        return 2
    try:
        route = route_of(app, job.queue)
        engine = job.engine or app.route_engines[route]
        if engine == "spark" and use_cluster_spark(app):
            log.info("the Spark engine runs on the cluster's SparkSession")
        report = execute(app, job)
    except UdoError as exc:
        print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
        if reraise:
            raise
        return 2 if isinstance(exc, InvalidComputeJob) else 1
    finally:
        _close(app)
    print(json.dumps(report.as_dict()), flush=True)
    return 0


def _check_cloud(settings: Settings) -> None:
    """On Databricks, refuse anything but the Azure profile (see the module docstring)."""
    from udo.errors import ConfigError

    runtime, cloud = settings.databricks_runtime, settings.cloud
    if runtime is not None and cloud != "azure":
        raise ConfigError(
            f"udo_job.py runs on Databricks (Runtime {runtime or '?'}) with UDO_CLOUD="
            f"{cloud!r}: it would clean with the embedded defaults (a SQLite queue and "
            "files on the driver's disk) instead of the lake and large-queue. Set "
            "UDO_CLOUD=azure and the UDO_AZURE__... settings in the job cluster's "
            "environment (udo azure deploy-databricks --env KEY=VALUE, see README.md)"
        )


CLOSE_ORDER = ("worker", "orchestrator", "notifier", "destinations", "queue", "metadata")
"""The app's closeable services, closed in this order when built: the worker (its
engines) first, the metadata store last; the notifier flushes its queued broadcasts."""


def _close(app: App) -> None:
    """Close every service `app` built (cached properties), each even if another fails."""
    from udo.errors import UdoError

    for name in CLOSE_ORDER:
        if name not in app.__dict__:  # never built: nothing to close
            continue
        built = app.__dict__[name]
        services = list(built.values()) if isinstance(built, dict) else [built]
        for service in services:
            close = getattr(service, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception as exc:  # the job's result stands; say what did not close
                # a driver's own message may quote its connection URL: only udo's are shown
                detail = str(exc) if isinstance(exc, UdoError) else type(exc).__name__
                log.warning("closing %s failed: %s", name, detail)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], reraise=True))
