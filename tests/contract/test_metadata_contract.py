"""The MetadataStore contract, run against SQLite, PostgreSQL and MariaDB.

SQLite runs everywhere. The server backends use the services of the test machines
(override with ``UDO_TEST_POSTGRES_URL`` / ``UDO_TEST_MARIADB_URL``): each test session gets
its own namespace, a schema ``udo_test_<random>`` on PostgreSQL (through ``search_path``)
and a database of that name on MariaDB, dropped at the end. When a server is unreachable
its tests are skipped, except on CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from skipping import unavailable
from udo.adapters.sql.metadata import (
    SCHEMA,
    VERSION_TABLE,
    MetadataRejected,
    MetadataUnavailable,
    RunExists,
    SQLMetadataStore,
)
from udo.domain.ledger import TableLedger
from udo.domain.run import ALLOWED, InvalidTransition, Run, RunStatus, StaleRun, now
from udo.errors import ConfigError, RunNotFound, TerminalError, TransientError

SERVICES = {
    "postgres": os.environ.get(
        "UDO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("UDO_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
S = RunStatus
PATH_TO: dict[RunStatus, list[RunStatus]] = {
    S.REQUESTED: [],
    S.QUEUED: [S.QUEUED],
    S.RUNNING: [S.QUEUED, S.RUNNING],
    S.FAILED: [S.FAILED],
    S.SUCCEEDED: [S.QUEUED, S.RUNNING, S.SUCCEEDED],
    S.DEAD_LETTERED: [S.QUEUED, S.DEAD_LETTERED],
}
"""How a new run reaches each status."""


# -- backends -----------------------------------------------------------------------------


@dataclass
class Backend:
    """A database for this test session, and a way to get more fresh namespaces in it."""

    name: str
    url: str
    fresh_url: Callable[[], str]
    admin: Engine | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def wipe(self) -> None:
        """Delete every run, so each test starts from empty tables."""
        engine = create_engine(self.url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM run_transitions"))
            conn.execute(text("DELETE FROM runs"))
        engine.dispose()


def _unavailable(name: str, url: str, exc: Exception) -> None:
    where = make_url(url).render_as_string(hide_password=True)
    reason = f"{name} not reachable at {where}: {type(exc).__name__}: {exc}".splitlines()[0]
    unavailable(reason)


def _sqlite(tmp: Path) -> Backend:
    counter = iter(range(1_000_000))
    return Backend(
        "sqlite",
        f"sqlite:///{tmp / 'udo.db'}",
        lambda: f"sqlite:///{tmp / f'fresh{next(counter)}.db'}",
    )


def _postgres(admin_url: str) -> Backend:
    admin = create_engine(admin_url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except Exception as exc:
        _unavailable("PostgreSQL", admin_url, exc)

    def namespace() -> str:
        schema = f"udo_test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        made.cleanups.append(lambda: _execute(admin, f"DROP SCHEMA {schema} CASCADE"))
        url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    made = Backend("postgres", "", namespace, admin)
    made.url = namespace()
    return made


def _mariadb(admin_url: str) -> Backend:
    admin = create_engine(admin_url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except Exception as exc:
        _unavailable("MariaDB", admin_url, exc)

    def namespace() -> str:
        database = f"udo_test_{uuid.uuid4().hex[:12]}"
        _execute(admin, f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
        made.cleanups.append(lambda: _execute(admin, f"DROP DATABASE {database}"))
        return make_url(admin_url).set(database=database).render_as_string(hide_password=False)

    made = Backend("mariadb", "", namespace, admin)
    made.url = namespace()
    return made


def _execute(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


@pytest.fixture(
    scope="session",
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.services),
        pytest.param("mariadb", marks=pytest.mark.services),
    ],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    name: str = request.param
    if name == "sqlite":
        made = _sqlite(tmp_path_factory.mktemp("metadata"))
    elif name == "postgres":
        made = _postgres(SERVICES["postgres"])
    else:
        made = _mariadb(SERVICES["mariadb"])
    yield made
    for cleanup in reversed(made.cleanups):
        cleanup()
    if made.admin is not None:
        made.admin.dispose()


@pytest.fixture
def store(backend: Backend) -> Iterator[SQLMetadataStore]:
    """A migrated store with no runs."""
    metadata = SQLMetadataStore(backend.url)
    metadata.migrate()
    backend.wipe()
    yield metadata
    metadata.close()


def make_run(**changes: Any) -> Run:
    at = now()
    fields: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "dataset": "shop",
        "batch_id": "2024-05-06T07-08-09",
        "records": 1_234,
        "route": "small",
        "engine": "polars",
        "status": RunStatus.REQUESTED,
        "idempotency_key": uuid.uuid4().hex,
        "requested_at": at,
        "updated_at": at,
    }
    fields.update(changes)
    return Run(**fields)


def walk(store: SQLMetadataStore, run: Run, path: list[RunStatus]) -> Run:
    for status in path:
        run = store.transition(run.id, status, stage=None)
    return run


def in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in `count` threads released together; results or exceptions, in order."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def target(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# -- migrations ---------------------------------------------------------------------------


def _version_rows(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    engine.dispose()
    return rows


def test_migrate_twice_is_a_no_op(store: SQLMetadataStore, backend: Backend) -> None:
    run = store.create_run(make_run())
    store.migrate()
    store.migrate()
    assert _version_rows(backend.url) == ["0001"]
    assert store.get_run(run.id) == run


def test_two_processes_migrating_at_once_migrate_once(backend: Backend) -> None:
    url = backend.fresh_url()
    stores = [SQLMetadataStore(url), SQLMetadataStore(url)]  # two engines, as two processes
    try:
        results = in_threads(2, lambda i: stores[i].migrate())
        assert results == [None, None]
        assert _version_rows(url) == ["0001"]
        assert stores[0].create_run(make_run()).status is RunStatus.REQUESTED
    finally:
        for metadata in stores:
            metadata.close()


def test_the_revision_creates_exactly_the_tables_the_adapter_uses(store: SQLMetadataStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(store.url, poolclass=NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        differences = compare_metadata(context, SCHEMA)
    engine.dispose()
    assert differences == []


def test_an_unmigrated_database_is_a_terminal_error_that_says_migrate(backend: Backend) -> None:
    metadata = SQLMetadataStore(backend.fresh_url())
    try:
        with pytest.raises(MetadataRejected, match="migrate") as caught:
            metadata.get_run("nope")
        assert isinstance(caught.value, TerminalError)
    finally:
        metadata.close()


# -- create and read ----------------------------------------------------------------------


def test_create_then_get(store: SQLMetadataStore) -> None:
    run = make_run(destinations=["duckdb", "sqlite"], stage_seconds={"generate": 0.5})
    created = store.create_run(run)
    assert [(t.status, t.at, t.stage, t.detail) for t in created.transitions] == [
        (RunStatus.REQUESTED, run.requested_at, None, None)
    ]
    assert created.model_dump(exclude={"transitions"}) == run.model_dump(exclude={"transitions"})
    assert store.get_run(run.id) == created
    assert store.transitions(run.id) == created.transitions
    assert store.find_by_key(run.idempotency_key) == created


def test_create_keeps_a_given_history(store: SQLMetadataStore) -> None:
    run = make_run(status=RunStatus.QUEUED)
    history = [
        {"status": RunStatus.REQUESTED, "at": run.requested_at, "detail": "by the API"},
        {"status": RunStatus.QUEUED, "at": run.requested_at + timedelta(microseconds=1)},
    ]
    created = store.create_run(Run.model_validate({**run.model_dump(), "transitions": history}))
    assert [(t.status, t.detail) for t in created.transitions] == [
        (RunStatus.REQUESTED, "by the API"),
        (RunStatus.QUEUED, None),
    ]


def test_same_key_returns_the_existing_run(store: SQLMetadataStore) -> None:
    first = store.create_run(make_run(idempotency_key="k1"))
    again = store.create_run(make_run(idempotency_key="k1"))
    assert again == first
    store.transition(first.id, RunStatus.QUEUED)
    assert store.create_run(make_run(idempotency_key="k1")).id == first.id
    assert len(store.list_runs()) == 1


@pytest.mark.parametrize("ending", [[S.FAILED], [S.QUEUED, S.DEAD_LETTERED]])
def test_after_a_failed_or_dead_lettered_run_the_same_key_starts_a_new_run(
    store: SQLMetadataStore, ending: list[RunStatus]
) -> None:
    first = store.create_run(make_run(idempotency_key="k2"))
    walk(store, first, ending)
    later = make_run(idempotency_key="k2", requested_at=now(), updated_at=now())
    second = store.create_run(later)
    assert second.id == later.id != first.id
    assert second.status is RunStatus.REQUESTED
    assert store.find_by_key("k2") == second
    assert store.create_run(make_run(idempotency_key="k2")).id == second.id


def test_concurrent_creates_with_one_key_make_one_run(store: SQLMetadataStore) -> None:
    results = in_threads(4, lambda i: store.create_run(make_run(idempotency_key="k3")))
    ids = {result.id for result in results if isinstance(result, Run)}
    assert len(ids) == 1, results
    assert len(store.list_runs()) == 1


def test_an_id_in_use_is_refused(store: SQLMetadataStore) -> None:
    run = store.create_run(make_run())
    with pytest.raises(RunExists):
        store.create_run(make_run(id=run.id))
    assert store.get_run(run.id) == run


def test_naive_times_are_refused(store: SQLMetadataStore) -> None:
    naive = datetime(2024, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="time zone"):
        store.create_run(make_run(requested_at=naive, updated_at=naive))


def test_unknown_runs_raise_run_not_found(store: SQLMetadataStore) -> None:
    with pytest.raises(RunNotFound):
        store.get_run("missing")
    with pytest.raises(RunNotFound):
        store.transition("missing", RunStatus.QUEUED)
    with pytest.raises(RunNotFound):
        store.transitions("missing")
    assert store.find_by_key("missing") is None


# -- transitions --------------------------------------------------------------------------


def test_every_allowed_transition(store: SQLMetadataStore) -> None:
    for source, targets in ALLOWED.items():
        for target in sorted(targets):
            run = walk(store, store.create_run(make_run()), PATH_TO[source])
            assert run.status is source
            moved = store.transition(run.id, target, stage="silver", detail=f"{source}>{target}")
            assert (moved.status, moved.stage) == (target, "silver")
            assert moved.transitions[-1].detail == f"{source}>{target}"
            assert len(moved.transitions) == len(PATH_TO[source]) + 2


def test_every_other_transition_is_refused_and_changes_nothing(store: SQLMetadataStore) -> None:
    for source in RunStatus:
        run = walk(store, store.create_run(make_run()), PATH_TO[source])
        for target in sorted(set(RunStatus) - ALLOWED[source]):
            with pytest.raises(InvalidTransition):
                store.transition(run.id, target, error="must not be written")
        assert store.get_run(run.id) == run


def test_transitions_are_ordered_with_aware_utc_microsecond_times(
    store: SQLMetadataStore,
) -> None:
    cest = timezone(timedelta(hours=2))
    requested = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=cest)
    run = store.create_run(make_run(requested_at=requested, updated_at=requested))
    assert run.requested_at == requested
    assert run.requested_at.utcoffset() == timedelta(0)
    assert (run.requested_at.hour, run.requested_at.microsecond) == (5, 123456)
    windows = []
    for status, stage in [(S.QUEUED, None), (S.RUNNING, "bronze"), (S.RUNNING, "silver")]:
        before = now()
        store.transition(run.id, status, stage=stage)
        windows.append((before, now()))
    steps = store.get_run(run.id).transitions
    assert [(t.status, t.stage) for t in steps] == [
        (S.REQUESTED, None),
        (S.QUEUED, None),
        (S.RUNNING, "bronze"),
        (S.RUNNING, "silver"),
    ]
    for step in steps:
        assert step.at.tzinfo is not None and step.at.utcoffset() == timedelta(0)
    for step, (before, after) in zip(steps[1:], windows, strict=True):
        assert before <= step.at <= after  # to the microsecond: nothing truncated
    assert [t.at for t in steps] == sorted(t.at for t in steps)
    assert store.get_run(run.id).updated_at == steps[-1].at


def test_a_transition_updates_the_given_fields(store: SQLMetadataStore) -> None:
    run = walk(store, store.create_run(make_run()), [S.QUEUED, S.RUNNING])
    moved = store.transition(
        run.id,
        S.FAILED,
        stage="silver",
        detail="engine crashed",
        error="polars: out of memory",
        attempts=2,
        route="large",
        engine="spark",
        stage_seconds={"bronze": 1.25, "silver": 30.5},
        ledger={"orders": {"bronze_in": 10}},
    )
    stored = store.get_run(run.id)
    assert stored == moved
    assert (stored.status, stored.stage, stored.error, stored.attempts) == (
        S.FAILED,
        "silver",
        "polars: out of memory",
        2,
    )
    assert (stored.route, stored.engine) == ("large", "spark")
    assert stored.stage_seconds == {"bronze": 1.25, "silver": 30.5}
    assert stored.ledger == {"orders": {"bronze_in": 10}}
    retried = store.transition(run.id, S.QUEUED, error=None)
    assert (retried.error, retried.stage, retried.attempts) == (None, None, 2)


def test_a_transition_refuses_unknown_or_invalid_fields(store: SQLMetadataStore) -> None:
    run = store.create_run(make_run())
    with pytest.raises(TypeError, match="records"):
        store.transition(run.id, S.QUEUED, records=5)
    with pytest.raises(ValueError, match="route"):
        store.transition(run.id, S.QUEUED, route="medium")
    assert store.get_run(run.id) == run


def test_json_fields_round_trip(store: SQLMetadataStore) -> None:
    ledger: dict[str, Any] = {
        "tables": {
            "orders": {
                "bronze_in": 10_000_000_000,
                "ratio": 0.875,
                "violations": {"not_null:email": 3, "range:price": 0},
                "missing_columns": [],
                "nested": [1, {"deep": [None, True, False, "x"]}],
            }
        },
        "balanced": True,
        "note": 'Zürich ✓ 東京 "quoted" \\ back',
        "empty": {},
    }
    run = store.create_run(
        make_run(destinations=["duckdb", "mysql"], ledger=ledger, stage_seconds={"gen": 0.001})
    )
    assert run.ledger == ledger
    assert (run.destinations, run.stage_seconds) == (["duckdb", "mysql"], {"gen": 0.001})
    orders = TableLedger(
        table="orders", bronze_in=5, silver_out=3, quarantined=1, duplicates_removed=1
    )
    moved = store.transition(run.id, S.QUEUED, ledger={"orders": orders})
    assert moved.ledger == {"orders": orders.model_dump(mode="json")}
    assert store.list_runs()[0].ledger == moved.ledger
    cleared = store.transition(moved.id, S.RUNNING, ledger=None)
    assert cleared.ledger is None


# -- listing ------------------------------------------------------------------------------


def test_list_runs_newest_first_with_filters(store: SQLMetadataStore) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    made = []
    for i, dataset in enumerate(["shop", "crm", "shop", "shop", "crm"]):
        at = base + timedelta(minutes=i, microseconds=i)
        made.append(store.create_run(make_run(dataset=dataset, requested_at=at, updated_at=at)))
    store.transition(made[2].id, S.QUEUED)
    store.transition(made[4].id, S.QUEUED)
    newest_first = [run.id for run in reversed(made)]

    listed = store.list_runs()
    assert [run.id for run in listed] == newest_first
    assert all(run.transitions == [] for run in listed)
    assert [r.id for r in store.list_runs(dataset="shop")] == [made[3].id, made[2].id, made[0].id]
    assert [r.id for r in store.list_runs(status=S.QUEUED)] == [made[4].id, made[2].id]
    assert [r.id for r in store.list_runs(dataset="crm", status=S.QUEUED)] == [made[4].id]
    assert [r.id for r in store.list_runs(limit=2)] == newest_first[:2]
    assert store.list_runs(dataset="nope") == []
    assert store.list_runs(limit=0) == []


# -- concurrency --------------------------------------------------------------------------


def test_concurrent_transitions_lose_nothing(store: SQLMetadataStore) -> None:
    run = walk(store, store.create_run(make_run()), [S.QUEUED, S.RUNNING])
    per_thread = 12

    def work(worker: int) -> None:
        for step in range(per_thread):
            store.transition(run.id, S.RUNNING, stage=f"w{worker}-{step}")

    assert in_threads(2, work) == [None, None]
    stages = [t.stage for t in store.transitions(run.id)][3:]
    assert len(stages) == 2 * per_thread
    for worker in range(2):
        own = [stage for stage in stages if stage and stage.startswith(f"w{worker}-")]
        assert own == [f"w{worker}-{step}" for step in range(per_thread)]  # in their order
    final = store.get_run(run.id)
    assert final.stage == stages[-1]
    assert final.updated_at == final.transitions[-1].at


def test_racing_to_finish_a_run_only_one_wins(store: SQLMetadataStore) -> None:
    for _ in range(3):
        run = walk(store, store.create_run(make_run()), [S.QUEUED, S.RUNNING])

        def finish(_: int, run_id: str = run.id) -> Run:
            return store.transition(run_id, S.SUCCEEDED)

        results = in_threads(3, finish)
        assert sum(isinstance(r, Run) for r in results) == 1, results
        assert sum(isinstance(r, InvalidTransition) for r in results) == 2, results
        statuses = [t.status for t in store.transitions(run.id)]
        assert statuses.count(S.SUCCEEDED) == 1


def test_a_conditional_transition_moves_only_from_what_was_seen(
    store: SQLMetadataStore,
) -> None:
    run = walk(store, store.create_run(make_run()), [S.QUEUED])
    moved = store.transition(run.id, S.RUNNING, stage="follower", only_from=(S.QUEUED, None))
    assert (moved.status, moved.stage) == (S.RUNNING, "follower")
    store.transition(run.id, S.RUNNING, stage="silver")  # a worker elsewhere moves it on
    before = store.transitions(run.id)
    with pytest.raises(StaleRun, match="stage 'silver'"):
        store.transition(run.id, S.QUEUED, only_from=(S.RUNNING, "follower"))
    assert store.transitions(run.id) == before  # nothing written
    assert store.get_run(run.id).stage == "silver"


def test_racing_conditional_transitions_only_one_wins(store: SQLMetadataStore) -> None:
    run = walk(store, store.create_run(make_run()), [S.QUEUED, S.RUNNING])
    seen = (S.RUNNING, store.get_run(run.id).stage)

    def move(worker: int) -> Run:
        return store.transition(run.id, S.RUNNING, stage=f"w{worker}", only_from=seen)

    results = in_threads(3, move)
    assert sum(isinstance(r, Run) for r in results) == 1, results
    assert sum(isinstance(r, StaleRun) for r in results) == 2, results


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
        "mysql+pymysql://root@127.0.0.1:1/test?connect_timeout=2",
    ],
)
def test_an_unreachable_server_is_a_transient_udo_error(url: str) -> None:
    metadata = SQLMetadataStore(url)
    with pytest.raises(MetadataUnavailable) as caught:
        metadata.get_run("x")
    assert isinstance(caught.value, TransientError)
    assert "127.0.0.1" in str(caught.value)
    metadata.close()


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y", "mysql+mysqldb://root@h/db"])
def test_a_bad_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        SQLMetadataStore(url)


def test_passwords_stay_out_of_errors() -> None:
    metadata = SQLMetadataStore("postgresql+psycopg://udo:s3cret@127.0.0.1:1/x?connect_timeout=2")
    with pytest.raises(MetadataUnavailable) as caught:
        metadata.list_runs()
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in repr(metadata)


def test_an_in_memory_sqlite_store_is_shared_by_threads() -> None:
    metadata = SQLMetadataStore("sqlite://")
    metadata.migrate()
    run = metadata.create_run(make_run())
    assert in_threads(2, lambda i: metadata.get_run(run.id)) == [run, run]
    metadata.close()
