"""SQLMetadataStore: runs and their transitions in SQLite, PostgreSQL or MySQL/MariaDB.

One adapter for every SQL database SQLAlchemy speaks; the URL picks the backend
(``sqlite:///udo-data/udo.db``, ``postgresql+psycopg://...``, ``mysql+pymysql://...``).
The schema is owned by the Alembic revisions in ``migrations/`` (see `migrate`); the
tables below mirror the latest revision and must be kept in step with it.

Concurrency, per backend:

- **Row locks.** `transition` reads the run ``SELECT ... FOR UPDATE`` on PostgreSQL and
  MySQL, so two workers moving the same run are serialised and neither loses the other's
  transition. SQLite has no row locks: every write transaction starts with
  ``BEGIN IMMEDIATE`` (the database-wide write lock), which serialises writers the same
  way; reads use a deferred ``BEGIN`` and, with WAL, do not wait for writers.
- **Idempotent creation.** `create_run` must not create two live runs for one key when two
  requests race, and the race is on a row that does not exist yet, which
  ``SELECT ... FOR UPDATE`` cannot lock (PostgreSQL has no gap locks; InnoDB's gap locks
  turn the race into a deadlock). A unique partial index is not an option either: a
  FAILED run may be retried (FAILED -> QUEUED) after a new run took its key. So creation
  takes a lock named after the idempotency key for the length of its transaction:
  ``pg_advisory_xact_lock`` on PostgreSQL, ``GET_LOCK``/``RELEASE_LOCK`` on MySQL, and
  ``BEGIN IMMEDIATE`` on SQLite. Inside it, the newest live run with that key is read
  ``FOR UPDATE`` (so a concurrent transition of it waits) and returned, or the new run is
  inserted.
- **Migrations.** `migrate` runs in one transaction holding a migration lock (an advisory
  transaction lock on PostgreSQL, ``GET_LOCK`` on MySQL, ``BEGIN IMMEDIATE`` on SQLite), so
  two processes migrating at once run the revisions once; the second finds them applied.
  PostgreSQL and SQLite have transactional DDL; MySQL commits each DDL statement, so a
  revision that fails half-way there leaves its earlier statements applied.

Timestamps are stored in UTC and always come back timezone-aware, with microseconds:
``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, ``DATETIME(6)`` holding UTC on MySQL, ISO text
holding UTC on SQLite. Transition times come from this process's clock; transitions are
ordered by their insertion id, which the row lock makes the order they happened in.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import pydantic_core
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import URL, Connection, Dialect, RowMapping, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator, TypeEngine

from udo.domain.run import Run, RunStatus, StaleRun, Transition, check_transition, now
from udo.errors import ConfigError, RunNotFound, TerminalError, TransientError, UdoError
from udo.ports.metadata import MetadataStore

DEFAULT_URL: Final = "sqlite:///udo-data/udo.db"
VERSION_TABLE: Final = "udo_alembic_version"
"""Alembic's bookkeeping table; prefixed so it never meets an application's own Alembic."""

UPDATABLE_FIELDS: Final = frozenset(
    {"error", "ledger", "stage_seconds", "attempts", "route", "engine"}
)
"""The run fields `transition` may change besides status and stage."""

RESTARTABLE: Final = (RunStatus.FAILED, RunStatus.DEAD_LETTERED)
"""A run in one of these no longer owns its idempotency key: the same request starts anew."""

_MYSQL_BACKENDS: Final = frozenset({"mysql", "mariadb"})
_TZ_AWARE_BACKENDS: Final = frozenset({"postgresql", "mssql", "oracle"})
_SQLITE_WRITE: Final = "udo_sqlite_write"
_MIGRATION_LOCK: Final = "schema-migration"


# -- errors -------------------------------------------------------------------------------


class MetadataError(UdoError):
    """Base of MetadataStore errors."""


class MetadataUnavailable(MetadataError, TransientError):
    """The database could not be reached, or a lock was not granted in time; retry later."""


class MetadataRejected(MetadataError, TerminalError):
    """The database refused a statement in a way retrying cannot fix (schema, data, rights)."""


class RunExists(MetadataError, TerminalError):
    """A run with this id already exists (with another idempotency key, or already over)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"a run with id {run_id} already exists; give the new run a new id")


# -- schema (mirrors the latest revision in migrations/versions) --------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC; naive values are refused, results are always aware.

    Backends without a zone-aware type (SQLite, MySQL) hold naive UTC; MySQL gets
    ``DATETIME(6)`` so microseconds survive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``DATETIME(6)`` on MySQL/MariaDB, a zone-aware timestamp elsewhere."""
        if dialect.name in _MYSQL_BACKENDS:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; drop the zone where the column cannot hold one."""
        if value is None:
            return None
        value = _utc(value, "timestamp")
        return value if dialect.name in _TZ_AWARE_BACKENDS else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """A naive value read back is UTC (we wrote it); an aware one is converted to UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_JSON: Final = JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
SCHEMA: Final = MetaData()
"""The tables of this store; Alembic's autogenerate compares revisions against it."""

runs: Final = Table(
    "runs",
    SCHEMA,
    Column("id", String(64), primary_key=True),
    Column("dataset", String(255), nullable=False),
    Column("batch_id", String(255), nullable=False),
    Column("records", BigInteger, nullable=False),
    Column("route", String(16), nullable=False),
    Column("engine", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("stage", String(128)),
    Column("idempotency_key", String(128), nullable=False),
    Column("destinations", _JSON, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("ledger", _JSON),
    Column("stage_seconds", _JSON, nullable=False),
    Index("ix_runs_idempotency_key", "idempotency_key"),
    Index("ix_runs_requested_at", "requested_at"),
    Index("ix_runs_dataset_requested_at", "dataset", "requested_at"),
    Index("ix_runs_status_requested_at", "status", "requested_at"),
    # MySQL: binary collation, so ids, keys and names compare exactly as on other backends.
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)

run_transitions: Final = Table(
    "run_transitions",
    SCHEMA,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("stage", String(128)),
    Column("detail", Text),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_run_transitions_run_id", "run_id", "id"),
    # MySQL: binary collation, so ids, keys and names compare exactly as on other backends.
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
    mysql_collate="utf8mb4_bin",
)


# -- the adapter --------------------------------------------------------------------------


class SQLMetadataStore(MetadataStore):
    """Runs and their transitions in the SQL database at `url`.

    Building the store does not connect; the first call does. Call `migrate` once at
    start-up (it is idempotent and safe to run from several processes). Errors are udo
    errors: `MetadataUnavailable` (retry) when the database is unreachable or busy,
    `MetadataRejected` otherwise; no driver exception leaves this class.

    Args:
        url: any SQLAlchemy URL whose driver is installed. A relative SQLite path is
            relative to the working directory; its folder is created.
        lock_timeout: seconds to wait for a lock (SQLite's busy timeout, PostgreSQL's
            ``lock_timeout``, MySQL's ``GET_LOCK``) before `MetadataUnavailable`.
        engine_options: extra keyword arguments for `sqlalchemy.create_engine`
            (pool sizes, ``connect_args``), applied over this store's defaults.
    """

    def __init__(
        self,
        url: str | URL = DEFAULT_URL,
        *,
        lock_timeout: float = 30.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            self.url = make_url(url)
        except ArgumentError as exc:
            # The bad URL itself is not echoed: it may hold a password.
            raise ConfigError(
                f"the metadata store URL is not a database URL ({exc}); "
                f"expected e.g. {DEFAULT_URL} or postgresql+psycopg://user@host/db"
            ) from exc
        self.backend = self.url.get_backend_name()
        self.lock_timeout = lock_timeout
        self._where = self.url.render_as_string(hide_password=True)
        # In-memory SQLite is one connection shared by every thread: serialise its use.
        self._serial: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        options: dict[str, Any] = {"json_serializer": _dump_json}
        if self.backend == "sqlite":
            options.update(self._sqlite_options())
        else:
            options["pool_pre_ping"] = True  # a server restart costs one retry, not an error
        options.update(engine_options or {})
        try:
            self._engine = create_engine(self.url, **options)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"metadata store {self._where}: its database driver is not installed ({exc}); "
                "install the extra for this database (e.g. PyMySQL or psycopg)"
            ) from exc
        if self.backend == "sqlite":
            event.listen(self._engine, "connect", self._on_sqlite_connect)
            event.listen(self._engine, "begin", _on_sqlite_begin)

    def __repr__(self) -> str:
        return f"SQLMetadataStore({self._where!r})"

    # -- the port -------------------------------------------------------------------------

    def migrate(self) -> None:
        """Apply the packaged Alembic revisions up to head, under a migration lock."""
        # Alembic is only needed here: processes that never migrate do not import it.
        from alembic import command
        from alembic.config import Config
        from alembic.util.exc import CommandError

        package = resources.files(__package__ or "udo.adapters.sql")
        with resources.as_file(package / "migrations") as location:
            config = Config()
            config.set_main_option("script_location", str(location).replace("%", "%%"))
            config.set_main_option("path_separator", "os")
            with self._unit(write=True, lock=_MIGRATION_LOCK) as conn:
                config.attributes["connection"] = conn
                try:
                    command.upgrade(config, "head")
                except CommandError as exc:
                    raise MetadataRejected(
                        f"cannot migrate metadata store {self._where}: {exc} "
                        "(a database migrated by a newer udo needs that udo version)"
                    ) from exc

    def create_run(self, run: Run) -> Run:
        """Insert `run` and its history, or return the live run that owns its key.

        The history is ``run.transitions`` if given, else one transition to ``run.status``
        at ``run.requested_at``. `RunExists` if the id is taken by another run.
        """
        values = _run_values(run)
        history = run.transitions or [
            Transition(status=run.status, stage=run.stage, at=run.requested_at)
        ]
        rows = [_transition_values(run.id, step) for step in history]
        with self._unit(write=True, lock=f"idempotency-key:{run.idempotency_key}") as conn:
            live = conn.execute(
                select(runs.c.id)
                .where(
                    runs.c.idempotency_key == run.idempotency_key,
                    runs.c.status.not_in([status.value for status in RESTARTABLE]),
                )
                .order_by(runs.c.requested_at.desc(), runs.c.id.desc())
                .limit(1)
                .with_for_update()
            ).scalar_one_or_none()
            if live is not None:
                return _load(conn, live)
            try:
                conn.execute(insert(runs).values(values))
            except IntegrityError as exc:
                raise RunExists(run.id) from exc
            conn.execute(insert(run_transitions), rows)
            return _load(conn, run.id)

    def get_run(self, run_id: str) -> Run:
        """The run with its transitions, oldest first; `RunNotFound` if none."""
        with self._unit(write=False) as conn:
            return _load(conn, run_id)

    def find_by_key(self, idempotency_key: str) -> Run | None:
        """The newest run (by ``requested_at``) with this key, whatever its status."""
        with self._unit(write=False) as conn:
            run_id = conn.execute(
                select(runs.c.id)
                .where(runs.c.idempotency_key == idempotency_key)
                .order_by(runs.c.requested_at.desc(), runs.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return None if run_id is None else _load(conn, run_id)

    def transition(
        self,
        run_id: str,
        status: RunStatus,
        *,
        stage: str | None = None,
        detail: str | None = None,
        only_from: tuple[RunStatus, str | None] | None = None,
        **fields: object,
    ) -> Run:
        """Move the run to `status` (checked against the state machine) in one transaction.

        With `only_from`, only if the run is at that (status, stage) when read under the
        row lock; `StaleRun` otherwise.

        The run's ``stage`` becomes `stage` (``None`` clears it), ``updated_at`` the
        transition's time; `fields` (any of `UPDATABLE_FIELDS`) are validated as `Run`
        fields and stored. `InvalidTransition` if the move is not allowed, `RunNotFound`
        if there is no such run, `TypeError` for an unknown field. Returns the updated run.
        """
        unknown = sorted(set(fields) - UPDATABLE_FIELDS)
        if unknown:
            allowed = ", ".join(sorted(UPDATABLE_FIELDS))
            raise TypeError(f"transition() cannot set {', '.join(unknown)} (only {allowed})")
        status = RunStatus(status)
        with self._unit(write=True) as conn:
            row = (
                conn.execute(select(runs).where(runs.c.id == run_id).with_for_update())
                .mappings()
                .one_or_none()
            )
            if row is None:
                raise RunNotFound(run_id)
            if only_from is not None and (RunStatus(row["status"]), row["stage"]) != only_from:
                raise StaleRun(
                    f"run {run_id} is {row['status']} at stage {row['stage']!r}, not "
                    f"{only_from[0]} at stage {only_from[1]!r}"
                )
            check_transition(RunStatus(row["status"]), status)
            at = now()
            # Validate the new values as a Run before anything is written.
            moved = Run.model_validate(
                {**row, **fields, "status": status, "stage": stage, "updated_at": at}
            )
            changes: dict[str, Any] = {name: getattr(moved, name) for name in fields}
            changes.update(status=status.value, stage=stage, updated_at=at)
            conn.execute(update(runs).where(runs.c.id == run_id).values(changes))
            conn.execute(
                insert(run_transitions).values(
                    run_id=run_id, status=status.value, stage=stage, detail=detail, at=at
                )
            )
            return _load(conn, run_id)

    def list_runs(
        self, *, dataset: str | None = None, status: RunStatus | None = None, limit: int = 50
    ) -> list[Run]:
        """Up to `limit` runs, newest ``requested_at`` first, without transitions."""
        if limit < 0:
            raise ValueError(f"list_runs limit must be >= 0, got {limit}")
        query = select(runs).order_by(runs.c.requested_at.desc(), runs.c.id.desc()).limit(limit)
        if dataset is not None:
            query = query.where(runs.c.dataset == dataset)
        if status is not None:
            query = query.where(runs.c.status == RunStatus(status).value)
        with self._unit(write=False) as conn:
            return [_to_run(row, []) for row in conn.execute(query).mappings()]

    def transitions(self, run_id: str) -> list[Transition]:
        """The run's transitions, oldest first; `RunNotFound` if there is no such run."""
        with self._unit(write=False) as conn:
            if conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
                raise RunNotFound(run_id)
            return _history(conn, run_id)

    def close(self) -> None:
        """Close every pooled connection (the store reconnects if used again)."""
        self._engine.dispose()

    # -- transactions, locks and errors -----------------------------------------------------

    @contextlib.contextmanager
    def _unit(self, *, write: bool, lock: str | None = None) -> Iterator[Connection]:
        """One transaction on one connection; `lock` names a lock held for its length.

        Driver errors raised inside become udo errors.
        """
        with self._translate(), self._serial, self._engine.connect() as conn:
            if self.backend == "sqlite":
                conn.execution_options(**{_SQLITE_WRITE: write})
            elif self.backend == "postgresql" and not write:
                # Run and transitions read from one snapshot (READ COMMITTED would not).
                conn.execution_options(isolation_level="REPEATABLE READ")
            with self._mysql_lock(conn, lock), conn.begin():
                if self.backend == "postgresql" and write:
                    timeout = f"{math.ceil(self.lock_timeout * 1000)}ms"
                    conn.execute(select(func.set_config("lock_timeout", timeout, True)))
                    if lock is not None:
                        conn.execute(select(func.pg_advisory_xact_lock(_lock_id(lock))))
                yield conn

    @contextlib.contextmanager
    def _mysql_lock(self, conn: Connection, lock: str | None) -> Iterator[None]:
        """Hold MySQL's named lock `lock` around the transaction (nothing elsewhere).

        ``GET_LOCK`` belongs to the session, not the transaction: it is released
        explicitly, and a connection that cannot release it is discarded, not pooled.
        """
        if lock is None or self.backend not in _MYSQL_BACKENDS:
            yield
            return
        name = "udo:" + hashlib.sha256(lock.encode()).hexdigest()[:40]  # names max 64 chars
        granted = conn.execute(
            select(func.get_lock(name, math.ceil(self.lock_timeout)))
        ).scalar_one_or_none()
        conn.commit()
        if granted != 1:
            raise MetadataUnavailable(
                f"metadata store {self._where}: lock {lock!r} not granted within "
                f"{self.lock_timeout:g} s (another process holds it); retry later"
            )
        try:
            yield
        finally:
            try:
                conn.execute(select(func.release_lock(name)))
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn SQLAlchemy and driver exceptions into udo errors; let udo errors through."""
        try:
            yield
        except UdoError:
            raise
        except DBAPIError as exc:
            raise _classify(exc, self._where) from exc
        except SQLAlchemyError as exc:
            raise MetadataRejected(f"metadata store {self._where}: {exc}") from exc

    # -- SQLite ---------------------------------------------------------------------------

    def _sqlite_options(self) -> dict[str, Any]:
        database = self.url.database or ""
        if database in ("", ":memory:"):
            self._serial = threading.RLock()
            return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        if not self.url.query.get("uri"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": self.lock_timeout}}

    def _on_sqlite_connect(self, dbapi_connection: Any, _record: object) -> None:
        """Let SQLAlchemy emit BEGIN (see `_on_sqlite_begin`); enforce foreign keys; WAL."""
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if (self.url.database or ":memory:") != ":memory:":
                # Readers do not wait for the writer (the API reading while a worker writes).
                # Switching a new file to WAL ignores the busy timeout when another
                # process is switching it at the same moment: wait for it by hand.
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        cursor.execute("PRAGMA journal_mode = WAL")
                        break
                    except sqlite3.OperationalError as exc:
                        if "locked" not in str(exc) or time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
        finally:
            cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    """Writes take SQLite's write lock up front, so a read-then-write never deadlocks."""
    write = conn.get_execution_options().get(_SQLITE_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# -- rows <-> domain ----------------------------------------------------------------------


def _load(conn: Connection, run_id: str) -> Run:
    row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().one_or_none()
    if row is None:
        raise RunNotFound(run_id)
    return _to_run(row, _history(conn, run_id))


def _history(conn: Connection, run_id: str) -> list[Transition]:
    query = (
        select(
            run_transitions.c.status,
            run_transitions.c.at,
            run_transitions.c.stage,
            run_transitions.c.detail,
        )
        .where(run_transitions.c.run_id == run_id)
        .order_by(run_transitions.c.id)
    )
    return [Transition.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def _to_run(row: RowMapping, transitions: Sequence[Transition]) -> Run:
    return Run.model_validate({**row, "transitions": list(transitions)})


def _run_values(run: Run) -> dict[str, Any]:
    values = {name: getattr(run, name) for name in runs.c.keys()}  # noqa: SIM118 - a ColumnCollection
    values["status"] = run.status.value
    values["requested_at"] = _utc(run.requested_at, "requested_at")
    values["updated_at"] = _utc(run.updated_at, "updated_at")
    return values


def _transition_values(run_id: str, step: Transition) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "status": step.status.value,
        "stage": step.stage,
        "detail": step.detail,
        "at": _utc(step.at, "transition time"),
    }


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} {value.isoformat()} has no time zone; udo stores aware UTC times "
            "(use udo.domain.run.now() or datetime.now(UTC))"
        )
    return value.astimezone(UTC)


def _dump_json(value: object) -> str:
    # pydantic's encoder also takes models, datetimes and decimals; NaN/inf become null
    # (PostgreSQL's JSON has no NaN).
    return pydantic_core.to_json(value, inf_nan_mode="null").decode()


def _lock_id(name: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock id for `name`."""
    digest = hashlib.sha256(f"udo:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- error classification -----------------------------------------------------------------

_MYSQL_PERMANENT: Final = frozenset({1044, 1045, 1049, 1054, 1142, 1146})
"""MySQL error numbers a retry cannot fix: access denied, unknown database/table/column."""
_SQLSTATE_PERMANENT: Final = ("28", "3D", "42")
"""SQLSTATE classes a retry cannot fix: authorisation, unknown catalog, syntax/schema."""
_SQLITE_PERMANENT: Final = ("no such table", "no such column", "not a database", "unable to open")
_MISSING_TABLE: Final = frozenset({"42P01", "42S02", 1146})
"""undefined_table in SQLSTATE (PostgreSQL, MySQL) and MySQL's number; SQLite says it."""


def _classify(exc: DBAPIError, where: str) -> MetadataError:
    """`MetadataUnavailable` for connection trouble, lock timeouts and deadlocks; else
    `MetadataRejected` (with a hint to migrate when the tables are missing)."""
    reason = " ".join(str(exc.orig).split()) or type(exc.orig).__name__
    sqlstate, number = _error_codes(exc.orig)
    if sqlstate in _MISSING_TABLE or number in _MISSING_TABLE or "no such table" in reason:
        return MetadataRejected(
            f"metadata store {where} has no udo tables ({reason}); "
            "run SQLMetadataStore.migrate() first"
        )
    permanent = (
        number in _MYSQL_PERMANENT
        or (sqlstate is not None and sqlstate[:2] in _SQLSTATE_PERMANENT)
        or any(marker in reason for marker in _SQLITE_PERMANENT)
    )
    transient = isinstance(exc, (OperationalError, InterfaceError)) and not permanent
    if exc.connection_invalidated or transient:
        return MetadataUnavailable(
            f"metadata store {where} is unavailable: {reason} "
            "(check that the database is running and reachable; the call can be retried)"
        )
    return MetadataRejected(f"metadata store {where} rejected a statement: {reason}")


def _error_codes(orig: BaseException | None) -> tuple[str | None, int | None]:
    """The SQLSTATE (psycopg, PyMySQL) and the MySQL error number, where the driver has them."""
    sqlstate = getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    number = args[0] if args and isinstance(args[0], int) else None
    return (sqlstate if isinstance(sqlstate, str) else None), number
