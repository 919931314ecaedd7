"""MySQLDestination: Azure Database for MySQL, MySQL 8 and MariaDB through PyMySQL.

Bulk path: the rows are written to a temporary CSV file and sent with ``LOAD DATA LOCAL
INFILE`` (about 3x faster than ``executemany`` here). It needs ``local_infile`` on both
sides: the connection enables it, and the first bulk write of a connection probes the
server with an empty file. If the server forbids it (MySQL 8 and Azure default it off),
the adapter falls back to batched ``executemany`` and says why in `bulk_unavailable`.
``LOAD DATA LOCAL`` turns data errors into warnings, so any warning fails the write.

``local_infile`` lets the server ask the client for a file: connect only to servers you
trust, or pass ``local_infile=False``.

Types: strings are ``LONGTEXT``, key strings ``VARCHAR(255)`` (an index needs a length);
the table collation is ``utf8mb4_bin`` so keys compare exactly (MySQL's default
collations would merge ``a`` and ``A``; trailing spaces still compare equal under
PAD SPACE collations). MySQL has no timestamp with a zone over the full range:
``timestamp[us, UTC]`` is stored as ``DATETIME(6)`` holding the UTC wall time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa

from udo.adapters.sql.base import ErrorKind, SQLDestination, TableInfo
from udo.adapters.sql.dialect import Dialect, decimal_type
from udo.adapters.sql.values import ValuePolicy, rechunk, write_csv
from udo.ports.destination import DestinationError

SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)
TRANSIENT_CODES = frozenset({1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2055})
"""Too many connections, shutdown, lock wait timeout, deadlock, can't connect, gone away,
lost connection."""
INFILE_FORBIDDEN_CODES = frozenset({1148, 2068, 3948, 4166})
"""The server or client refuses LOAD DATA LOCAL (MySQL 5.7 / client / MySQL 8 / MariaDB)."""
CSV_POLICY = ValuePolicy(naive_utc=True, bool_as_int=True)
TABLE_OPTIONS = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
_BOOL_WORDS = frozenset({"1", "0", "true", "false", "yes", "no"})


class MySQLDialect(Dialect):
    """MySQL / MariaDB SQL (backquoted identifiers, ON DUPLICATE KEY UPDATE)."""

    name: ClassVar[str] = "mysql"
    param: ClassVar[str] = "%s"
    max_identifier_length: ClassVar[int] = 64
    stores_timezone: ClassVar[bool] = False
    quote_chars: ClassVar[tuple[str, str]] = ("`", "`")
    values: ClassVar[ValuePolicy] = ValuePolicy(naive_utc=True)
    begin_sql: ClassVar[str] = "START TRANSACTION"
    key_string_length: ClassVar[int] = 255

    def column_type(self, t: pa.DataType, *, key: bool) -> str:
        """See `Dialect.column_type`."""
        if pa.types.is_decimal(t):
            return f"DECIMAL({t.precision},{t.scale})"
        if pa.types.is_timestamp(t):
            return "DATETIME(6)"
        if pa.types.is_string(t):
            return f"VARCHAR({self.key_string_length})" if key else "LONGTEXT"
        return {
            pa.int64(): "BIGINT",
            pa.float64(): "DOUBLE",
            pa.bool_(): "TINYINT(1)",
            pa.date32(): "DATE",
        }[t]

    def arrow_type(self, declared: str) -> pa.DataType | None:
        """See `Dialect.arrow_type` (reads ``COLUMN_TYPE``, e.g. ``bigint(20)``)."""
        d = declared.lower().strip()
        base = d.split("(")[0].split()[0]
        if base == "decimal":
            return decimal_type(d)
        if base == "tinyint":
            return pa.bool_() if d.startswith("tinyint(1)") else None
        if base == "datetime":
            return pa.timestamp("us") if d.startswith("datetime(6)") else None
        if base in ("varchar", "char", "tinytext", "text", "mediumtext", "longtext"):
            return pa.string()
        return {"bigint": pa.int64(), "double": pa.float64(), "date": pa.date32()}.get(base)

    def create_table(self, name: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """See `Dialect.create_table` (InnoDB, utf8mb4, binary collation)."""
        return super().create_table(name, schema, key) + TABLE_OPTIONS

    def create_stage(self, stage: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """See `Dialect.create_stage` (a TEMPORARY table does not commit the transaction)."""
        return super().create_stage(stage, schema, key) + TABLE_OPTIONS

    def drop_stage(self, stage: str) -> str:
        """See `Dialect.drop_stage` (TEMPORARY: no implicit commit)."""
        return f"DROP TEMPORARY TABLE IF EXISTS {self.stage(stage)}"

    def upsert(self, name: str, stage: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """See `Dialect.upsert`: ``VALUES(c)`` works on MySQL 5.7/8 and MariaDB alike."""
        insert = self.insert_select(self.table(name), self.stage(stage), columns)
        rest = [c for c in columns if c not in key] or [key[0]]
        sets = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in rest)
        return f"{insert} ON DUPLICATE KEY UPDATE {sets}"

    def load_data(self, target: str, columns: Sequence[str]) -> str:
        """LOAD DATA LOCAL INFILE for `write_csv` output; the file name is a parameter."""
        return (
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {target} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
            f"LINES TERMINATED BY '\\n' ({self.columns(columns)})"
        )


class MySQLDestination(SQLDestination):
    """Azure Database for MySQL / MySQL / MariaDB; see the module docstring."""

    dialect: ClassVar[str] = "mysql"
    supports_bulk: ClassVar[bool] = True
    supports_transactional_ddl: ClassVar[bool] = False
    stores_timezone: ClassVar[bool] = False
    max_identifier_length: ClassVar[int] = MySQLDialect.max_identifier_length
    sql: MySQLDialect

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3306,
        user: str = "root",
        password: str = "",
        database: str = "test",
        *,
        bulk: bool = True,
        local_infile: bool = True,
        connect_timeout: float = 10,
        options: dict[str, Any] | None = None,
        work_dir: str | None = None,
    ) -> None:
        super().__init__(MySQLDialect(), bulk=bulk)
        self.params: dict[str, Any] = {
            "host": host,
            "port": port,
            "user": user,
            "password": password,
            "database": database,
            "connect_timeout": connect_timeout,
            **(options or {}),
        }
        self.local_infile = local_infile
        self.work_dir = work_dir
        self.bulk_unavailable: str | None = None
        """Why the bulk path is off for this connection (None: allowed or not yet tried)."""
        self._infile_ok: bool | None = None

    @classmethod
    def from_url(cls, url: str, *, bulk: bool = True) -> MySQLDestination:
        """``mysql://user:password@host:3306/database?ssl_ca=/path/ca.pem&local_infile=0``.

        Query options are passed to PyMySQL (``ssl_ca``, ``ssl_verify_cert``,
        ``ssl_verify_identity``, ``ssl_disabled``, ``connect_timeout``); ``local_infile=0``
        turns the bulk path off. Azure needs TLS: give ``ssl_ca`` (or
        ``ssl_verify_cert=true`` with the system store).
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mysql+pymysql", "mariadb"):
            raise ValueError(f"expected a mysql:// URL, got scheme {parts.scheme!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        local_infile = query.pop("local_infile", "1").lower() not in ("0", "false", "no")
        timeout = float(query.pop("connect_timeout", "10"))
        options: dict[str, Any] = {}
        for k, v in query.items():
            flag = v.lower()
            options[k] = flag in ("1", "true", "yes") if flag in _BOOL_WORDS else v
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or "test",
            bulk=bulk,
            local_infile=local_infile,
            connect_timeout=timeout,
            options=options,
        )

    def _connect(self) -> Any:
        try:
            import pymysql  # type: ignore[import-untyped]
        except ImportError as exc:
            raise DestinationError(
                "mysql: the MySQL adapter needs PyMySQL (pip install 'udo[mysql]')"
            ) from exc
        self._infile_ok = None
        self.bulk_unavailable = None
        return pymysql.connect(
            charset="utf8mb4",
            autocommit=True,
            local_infile=self.local_infile,
            init_command=f"SET SESSION sql_mode = '{SQL_MODE}', time_zone = '+00:00'",
            **self.params,
        )

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        import pymysql

        if isinstance(exc, pymysql.err.Error):
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            if code in TRANSIENT_CODES or isinstance(exc, pymysql.err.InterfaceError):
                return "unavailable"
            return "error"
        if isinstance(exc, OSError):
            return "unavailable"
        return None

    def _describe(self, name: str) -> TableInfo | None:
        rows = self._query(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            [name],
        )
        if not rows:
            return None
        keys = self._query(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s "
            "AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
            [name],
        )
        return TableInfo(
            columns={c: self.sql.arrow_type(t) for c, t in rows},
            declared=dict(rows),
            key=[k for (k,) in keys],
        )

    def _load_file(self, path: str, target: str, columns: list[str]) -> None:
        with self._cursor() as cur:
            cur.execute(self.sql.load_data(target, columns), (path,))
            cur.execute("SHOW WARNINGS LIMIT 3")
            warnings = [w for w in cur.fetchall() if w[0] in ("Warning", "Error")]
        if warnings:
            detail = "; ".join(f"{w[1]}: {w[2]}" for w in warnings)
            raise DestinationError(
                f"mysql: LOAD DATA into {target} would change values ({detail}); "
                "nothing was written"
            )

    def _infile_allowed(self, target: str, columns: list[str]) -> bool:
        """Probe LOAD DATA LOCAL once per connection with an empty file."""
        if self._infile_ok is None:
            import pymysql

            fd, path = tempfile.mkstemp(prefix="udo-probe-", suffix=".csv", dir=self.work_dir)
            os.close(fd)
            try:
                self._load_file(path, target, columns)
                self._infile_ok = True
            except pymysql.err.Error as exc:
                code = exc.args[0] if exc.args else None
                if code not in INFILE_FORBIDDEN_CODES:
                    raise
                self._infile_ok = False
                self.bulk_unavailable = f"LOAD DATA LOCAL refused ({code}: {exc.args[-1]})"
            finally:
                os.unlink(path)
        return self._infile_ok

    def _bulk_load(self, target: str, columns: list[str], reader: pa.RecordBatchReader) -> int:
        if not self._infile_allowed(target, columns):
            return self._rows_load(target, columns, reader)
        self.last_load_method = "bulk"
        fd, path = tempfile.mkstemp(prefix="udo-load-", suffix=".csv", dir=self.work_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                rows = write_csv(
                    rechunk(reader, 65_536),
                    fh,
                    reader.schema,
                    policy=CSV_POLICY,
                    null_string="NULL",
                )
            self._load_file(path, target, columns)
        finally:
            os.unlink(path)
        return rows
