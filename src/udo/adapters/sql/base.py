"""The `Destination` contract implemented once over a DB-API connection and a `Dialect`.

Adapters supply the connection, introspection (`_describe`), error classification and,
where they have one, a bulk path; this class does the rest the same way everywhere:

- every write is one transaction (explicit BEGIN/COMMIT on an autocommit connection);
- `upsert` stages rows in a temporary table, checks their keys, then merges by key;
- `replace_batch` deletes the batch's rows and inserts the new ones;
- data is checked against the table before anything is sent, and every Arrow batch is
  cast to the table's types, so a value either lands exactly or the write fails.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc

from udo.adapters.sql.dialect import Dialect, Where
from udo.adapters.sql.values import as_reader, normalize_schema, normalize_type, rechunk
from udo.ports.destination import (
    BATCH_COLUMN,
    Destination,
    DestinationError,
    DestinationUnavailable,
    Scalar,
    SchemaMismatch,
    TableData,
    TableNotFound,
)

ErrorKind = Literal["unavailable", "error"]


@dataclass
class TableInfo:
    """What a destination knows of an existing table."""

    columns: dict[str, pa.DataType | None]
    """Arrow type per column (None: a column type udo does not create)."""
    declared: dict[str, str] = field(default_factory=dict)
    """The database's own type name per column, for messages."""
    key: list[str] | None = None
    """Primary key columns in order (None: unknown, the database has no enforced key)."""


class SQLDestination(Destination):
    """A Destination over a DB-API connection; see the module docstring."""

    rows_per_chunk: ClassVar[int] = 10_000
    """Rows converted and sent per ``executemany`` on the row path."""
    stage_in_transaction: ClassVar[bool] = True
    """Whether staging tables may be created inside a transaction."""

    def __init__(self, dialect: Dialect, *, bulk: bool = True) -> None:
        self.sql = dialect
        self.bulk = bulk
        self.last_load_method = None
        self._conn: Any = None
        self._tables: dict[str, TableInfo] = {}
        self._stream_error: BaseException | None = None

    # -- hooks for adapters ---------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Any:
        """Open a DB-API connection in autocommit mode (transactions are explicit)."""

    @abstractmethod
    def _classify(self, exc: BaseException) -> ErrorKind | None:
        """Whether a driver exception means unavailable, another error, or is not ours."""

    @abstractmethod
    def _describe(self, name: str) -> TableInfo | None:
        """The table's columns and key, or None if it does not exist."""

    def _bulk_load(self, target: str, columns: list[str], reader: pa.RecordBatchReader) -> int:
        """Insert every row of `reader` into `target` by the bulk path; returns rows."""
        raise NotImplementedError

    def _insert_rows(self, target: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        """Insert rows with parameters (driver ``executemany``)."""
        with self._cursor() as cur:
            cur.executemany(self.sql.insert_values(target, columns), rows)

    def _sum_value(self, value: Any, t: pa.DataType | None) -> Decimal | float | None:
        """A driver's SUM result as the contract's type."""
        if value is None:
            return None
        if t is not None and pa.types.is_floating(t):
            return float(value)
        return Decimal(value) if not isinstance(value, float) else Decimal(repr(value))

    def _to_arrow(self, rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
        """Rows fetched by `read` as Arrow of `schema`."""
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        return pa.table(
            [self._column(list(col), f.type) for col, f in zip(columns, schema, strict=True)],
            schema=schema,
        )

    def _column(self, values: list[Any], t: pa.DataType) -> pa.Array:
        """One fetched column as Arrow (booleans may come back as 0/1)."""
        if pa.types.is_boolean(t):
            return pa.array([None if v is None else bool(v) for v in values], t)
        return pa.array(values, t)

    def _fetch_arrow(self, sql: str, schema: pa.Schema) -> pa.Table:
        """Run a SELECT and return its rows as Arrow of `schema`."""
        return self._to_arrow(self._query(sql), schema)

    # -- connection and errors ------------------------------------------------------------
    @property
    def connection(self) -> Any:
        """The open connection (opened now if needed)."""
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        cur = self.connection.cursor()
        try:
            yield cur
        finally:
            with suppress(Exception):
                cur.close()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._cursor() as cur:
            if params:
                cur.execute(sql, tuple(params))
            else:
                cur.execute(sql)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._cursor() as cur:
            if params:
                cur.execute(sql, tuple(params))
            else:
                cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]

    @contextmanager
    def _guard(self, action: str, name: str) -> Iterator[None]:
        """Translate driver and Arrow errors into Destination errors."""
        self._stream_error = None
        try:
            yield
        except Exception as exc:
            cause, self._stream_error = self._stream_error, None
            if cause is not None and cause is not exc:
                # the data stream failed inside the driver: report the cause
                if isinstance(cause, DestinationError):
                    raise cause from exc
                raise DestinationError(
                    f"{self.dialect}: cannot {action} {name!r}: {cause}"
                ) from exc
            translated = self._translated(exc, action, name)
            if translated is exc:
                raise
            raise translated from exc

    def _translated(self, exc: Exception, action: str, name: str) -> Exception:
        """The Destination error for `exc` (`exc` itself if it is not a driver error)."""
        if isinstance(exc, DestinationError):
            return exc
        message = f"{self.dialect}: cannot {action} {name!r}: {exc}"
        if isinstance(exc, pa.ArrowException):
            return DestinationError(message)
        kind = self._classify(exc)
        if kind is None:
            return exc
        if kind == "unavailable":
            self._discard_connection()
            return DestinationUnavailable(message + " (try again later)")
        return DestinationError(message)

    def _discard_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._tables.clear()
        if conn is not None:
            with suppress(Exception):
                conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._execute(self.sql.begin_sql)
        try:
            yield
        except BaseException:
            with suppress(Exception):
                self._execute(self.sql.rollback_sql)
            raise
        self._execute(self.sql.commit_sql)

    # -- schema ---------------------------------------------------------------------------
    def ensure_table(self, name: str, schema: pa.Schema, key: Sequence[str] = ()) -> None:
        """See `Destination.ensure_table`."""
        with self._guard("create or alter", name):
            self.sql.table(name)
            key = [self.sql.check(k, "key column name") for k in key]
            for f in schema:
                self.sql.check(f.name, "column name")
            lowered = [f.name.lower() for f in schema]
            if len(set(lowered)) != len(lowered):
                dup = next(n for n in schema.names if lowered.count(n.lower()) > 1)
                raise SchemaMismatch(name, dup, "column names differ only by case")
            schema = normalize_schema(schema, name)
            for k in key:
                if k not in schema.names:
                    raise SchemaMismatch(name, k, "key column is not in the schema")
            info = self._describe(name)
            if info is None:
                self._create(name, schema, key)
            else:
                self._evolve(name, schema, key, info)
            self._tables.pop(name, None)
            self._require(name)

    def _create(self, name: str, schema: pa.Schema, key: list[str]) -> None:
        self._execute(self.sql.create_table(name, schema, key))

    def _evolve(self, name: str, schema: pa.Schema, key: list[str], info: TableInfo) -> None:
        if info.key is not None and info.key != key:
            raise SchemaMismatch(name, None, f"key {key} differs from the table's key {info.key}")
        missing = []
        for f in schema:
            if f.name not in info.columns:
                missing.append(f)
                continue
            have = info.columns[f.name]
            if have is None or self.sql.canonical(have) != self.sql.canonical(f.type):
                declared = info.declared.get(f.name, str(have))
                raise SchemaMismatch(
                    name,
                    f.name,
                    f"the table stores {declared}, the schema asks for {f.type}; "
                    "changing a column's type needs a migration (drop or rename the table)",
                )
        if not missing:
            return
        if self.supports_transactional_ddl:
            with self._transaction():
                for f in missing:
                    self._execute(self.sql.add_column(name, f))
        else:
            for f in missing:
                self._execute(self.sql.add_column(name, f))

    def _require(self, name: str) -> TableInfo:
        self.sql.table(name)
        info = self._tables.get(name)
        if info is None:
            info = self._describe(name)
            if info is None:
                raise TableNotFound(name)
            self._tables[name] = info
        return info

    def table_schema(self, name: str) -> pa.Schema | None:
        """See `Destination.table_schema` (unknown column types read as string)."""
        with self._guard("describe", name):
            self.sql.table(name)
            info = self._describe(name)
            if info is None:
                return None
            return pa.schema([(c, t or pa.string()) for c, t in info.columns.items()])

    # -- writes ---------------------------------------------------------------------------
    def _prepare(
        self, name: str, data: TableData, info: TableInfo, batch_id: str | None = None
    ) -> pa.RecordBatchReader:
        """`data` checked against the table and cast to its types, as a lazy reader."""
        reader = as_reader(data)
        fields = []
        for f in reader.schema:
            self.sql.check(f.name, "column name")
            if f.name not in info.columns:
                raise SchemaMismatch(
                    name, f.name, "not a column of the table: call ensure_table with it first"
                )
            have = info.columns[f.name]
            got = normalize_type(f.type, name, f.name)
            if have is None or not self._fits(got, have):
                raise SchemaMismatch(
                    name,
                    f.name,
                    f"data has type {f.type}, the table stores "
                    f"{info.declared.get(f.name, str(have))}",
                )
            fields.append(pa.field(f.name, have))
        target = pa.schema(fields)
        if batch_id is not None and BATCH_COLUMN not in target.names:
            raise SchemaMismatch(name, BATCH_COLUMN, "replace_batch needs the batch column")

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in reader:
                    if batch.num_rows == 0:
                        continue
                    batch = batch.cast(target)
                    if batch_id is not None:
                        same = pc.equal(batch.column(BATCH_COLUMN), batch_id)
                        if not pc.all(pc.fill_null(same, False)).as_py():
                            raise DestinationError(
                                f"{self.dialect}: cannot replace batch {batch_id!r} of "
                                f"{name!r}: data holds rows of another {BATCH_COLUMN}; "
                                "nothing was written"
                            )
                    yield batch
            except (DestinationError, pa.ArrowException) as exc:
                # A driver reading this stream (DuckDB's Arrow scan) wraps the error in
                # its own; `_guard` raises this one, the cause, instead.
                self._stream_error = exc
                raise

        return pa.RecordBatchReader.from_batches(target, batches())

    def _fits(self, got: pa.DataType, have: pa.DataType) -> bool:
        """Whether data of type `got` goes into a column of type `have` without loss."""
        if pa.types.is_null(got) or self.sql.canonical(got) == self.sql.canonical(have):
            return True
        if pa.types.is_decimal(got) and pa.types.is_decimal(have):
            # a narrower decimal fits: no fewer fractional nor integer digits
            fraction_fits = got.scale <= have.scale
            integer_fits = got.precision - got.scale <= have.precision - have.scale
            return bool(fraction_fits and integer_fits)
        return False

    def _load(self, target: str, columns: list[str], reader: pa.RecordBatchReader) -> int:
        if self.bulk and self.supports_bulk:
            return self._bulk_load(target, columns, reader)
        return self._rows_load(target, columns, reader)

    def _rows_load(self, target: str, columns: list[str], reader: pa.RecordBatchReader) -> int:
        """The row path: batched parameterised inserts."""
        self.last_load_method = "rows"
        n = 0
        for chunk in rechunk(reader, self.rows_per_chunk):
            self._insert_rows(target, columns, self.sql.values.rows(chunk))
            n += chunk.num_rows
        return n

    def _stage_name(self) -> str:
        return f"_udo_stage_{uuid.uuid4().hex[:12]}"

    def upsert(self, name: str, data: TableData, key: Sequence[str]) -> int:
        """See `Destination.upsert`."""
        with self._guard("upsert into", name):
            info = self._require(name)
            key = [self.sql.check(k, "key column name") for k in key]
            if not key:
                raise SchemaMismatch(name, None, "upsert needs a key")
            if info.key is not None and info.key != key:
                raise SchemaMismatch(
                    name, None, f"key {key} differs from the table's key {info.key}"
                )
            reader = self._prepare(name, data, info)
            columns = reader.schema.names
            for k in key:
                if k not in columns:
                    raise SchemaMismatch(name, k, "key column missing from the data")
            stage = self._stage_name()
            created = False
            try:
                if self.stage_in_transaction:
                    with self._transaction():
                        self._execute(self.sql.create_stage(stage, reader.schema, key))
                        created = True
                        n = self._load(self.sql.stage(stage), columns, reader)
                        self._check_keys(name, stage, key)
                        self._execute(self.sql.upsert(name, stage, columns, key))
                else:
                    self._execute(self.sql.create_stage(stage, reader.schema, key))
                    created = True
                    n = self._load(self.sql.stage(stage), columns, reader)
                    self._check_keys(name, stage, key)
                    with self._transaction():
                        self._execute(self.sql.upsert(name, stage, columns, key))
            finally:
                if created:
                    with suppress(Exception):
                        self._execute(self.sql.drop_stage(stage))
            return n

    def _check_keys(self, name: str, stage: str, key: list[str]) -> None:
        dup, nulls = self._query(self.sql.key_problems(stage, key))[0]
        if dup or nulls:
            raise DestinationError(
                f"{self.dialect}: cannot upsert into {name!r}: the data has "
                f"{int(dup or 0)} duplicated and {int(nulls or 0)} null keys on {key}; "
                "nothing was written"
            )

    def replace_batch(self, name: str, data: TableData, batch_id: str) -> int:
        """See `Destination.replace_batch`."""
        with self._guard("replace a batch of", name):
            info = self._require(name)
            if BATCH_COLUMN not in info.columns:
                raise SchemaMismatch(name, BATCH_COLUMN, "the table has no batch column")
            reader = self._prepare(name, data, info, batch_id=batch_id)
            delete = self.sql.delete(name, [(BATCH_COLUMN, False)])
            with self._transaction():
                self._execute(delete, [self.sql.values.param(batch_id)])
                return self._load(self.sql.table(name), reader.schema.names, reader)

    def replace_all(self, name: str, data: TableData) -> int:
        """See `Destination.replace_all`."""
        with self._guard("replace", name):
            info = self._require(name)
            reader = self._prepare(name, data, info)
            with self._transaction():
                self._execute(self.sql.delete(name))
                return self._load(self.sql.table(name), reader.schema.names, reader)

    # -- queries --------------------------------------------------------------------------
    def _conditions(
        self, name: str, info: TableInfo, where: Mapping[str, Scalar] | None
    ) -> tuple[Where, list[Any]]:
        conditions: list[tuple[str, bool]] = []
        params: list[Any] = []
        for column, value in (where or {}).items():
            self.sql.check(column, "column name")
            if column not in info.columns:
                raise SchemaMismatch(name, column, "not a column of the table")
            conditions.append((column, value is None))
            if value is not None:
                params.append(self.sql.values.param(value))
        return conditions, params

    def count(self, name: str, where: Mapping[str, Scalar] | None = None) -> int:
        """See `Destination.count`."""
        with self._guard("count", name):
            info = self._require(name)
            conditions, params = self._conditions(name, info, where)
            return int(self._query(self.sql.count(name, conditions), params)[0][0])

    def sum(
        self, name: str, column: str, where: Mapping[str, Scalar] | None = None
    ) -> Decimal | float | None:
        """See `Destination.sum`."""
        with self._guard("sum", name):
            info = self._require(name)
            self.sql.check(column, "column name")
            if column not in info.columns:
                raise SchemaMismatch(name, column, "not a column of the table")
            conditions, params = self._conditions(name, info, where)
            value = self._query(self.sql.sum(name, column, conditions), params)[0][0]
            return self._sum_value(value, info.columns[column])

    def read(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """See `Destination.read`."""
        with self._guard("read", name):
            info = self._require(name)
            names = list(columns) if columns is not None else list(info.columns)
            for c in names:
                self.sql.check(c, "column name")
                if c not in info.columns:
                    raise SchemaMismatch(name, c, "not a column of the table")
            schema = pa.schema([(c, info.columns[c] or pa.string()) for c in names])
            return self._fetch_arrow(self.sql.select(name, names), schema)

    def drop_table(self, name: str) -> None:
        """See `Destination.drop_table`."""
        with self._guard("drop", name):
            self._execute(self.sql.drop_table(name))
            self._tables.pop(name, None)

    def close(self) -> None:
        """See `Destination.close`."""
        self._discard_connection()
