"""SynapseDestination: an Azure Synapse dedicated SQL pool, the cloud warehouse.

The SQL comes from `udo.adapters.sql.tsql` (tested offline against sqlglot's T-SQL
parser); this module only runs it, through SQLAlchemy's ``mssql+pyodbc`` dialect and
pyodbc's ``fast_executemany``. pyodbc and an ODBC driver (Microsoft ODBC Driver 18 for SQL
Server) are needed only when the adapter connects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote_plus

from udo.adapters.sql.base import ErrorKind, SQLDestination, TableInfo
from udo.adapters.sql.tsql import TSQLDialect
from udo.ports.destination import DestinationError

_TRANSIENT_SQLSTATES = ("08", "HYT", "40001")


def sqlalchemy_url(connection: str) -> str:
    """A SQLAlchemy URL from an ODBC connection string, or the URL itself if it is one.

    ``Driver={ODBC Driver 18 for SQL Server};Server=tcp:ws.sql.azuresynapse.net,1433;...``
    becomes ``mssql+pyodbc:///?odbc_connect=<the string, URL-encoded>``.
    """
    if connection.startswith("mssql+pyodbc://"):
        return connection
    if "://" in connection:
        raise ValueError("expected an ODBC connection string or an mssql+pyodbc:// URL")
    return "mssql+pyodbc:///?odbc_connect=" + quote_plus(connection)


class SynapseDestination(SQLDestination):
    """Azure Synapse dedicated SQL pool via SQLAlchemy ``mssql+pyodbc``.

    This adapter is untested against a live Synapse pool: its SQL is checked offline
    (sqlglot's T-SQL parser, a recording connection), not by a server.

    No bulk path: rows go to a ``#temp`` stage with pyodbc's ``fast_executemany`` and are
    merged from there (COPY INTO from the lake would be the bulk path; not built yet).
    Synapse enforces no keys, so `ensure_table` cannot check an existing table's key.
    ``connect`` replaces the real connection (a DB-API connection factory) for tests.
    """

    dialect: ClassVar[str] = "tsql"
    supports_bulk: ClassVar[bool] = False
    supports_transactional_ddl: ClassVar[bool] = False
    stores_timezone: ClassVar[bool] = False
    max_identifier_length: ClassVar[int] = TSQLDialect.max_identifier_length
    stage_in_transaction: ClassVar[bool] = False
    sql: TSQLDialect

    def __init__(
        self,
        connection: str = "",
        *,
        schema: str = "dbo",
        bulk: bool = True,
        connect: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(TSQLDialect(schema), bulk=bulk)
        self.url = sqlalchemy_url(connection) if connection else ""
        self._factory = connect
        self._engine: Any = None

    @classmethod
    def from_url(cls, url: str, *, bulk: bool = True) -> SynapseDestination:
        """An ODBC connection string or an ``mssql+pyodbc://`` URL."""
        return cls(url, bulk=bulk)

    def _connect(self) -> Any:
        if self._factory is not None:
            return self._factory()
        if not self.url:
            raise DestinationError("tsql: no connection string configured for Synapse")
        try:
            import sqlalchemy

            if self._engine is None:
                self._engine = sqlalchemy.create_engine(
                    self.url,
                    fast_executemany=True,
                    # Synapse answers a ROLLBACK without a transaction with an error.
                    ignore_no_transaction_on_rollback=True,
                    pool_pre_ping=True,
                )
            raw = self._engine.raw_connection()
        except ImportError as exc:
            raise DestinationError(
                "tsql: the Synapse adapter needs pyodbc and an ODBC driver "
                "(pip install 'udo[azure]'; Microsoft ODBC Driver 18 for SQL Server)"
            ) from exc
        raw.driver_connection.autocommit = True
        return raw

    def close(self) -> None:
        """See `Destination.close` (also disposes of the engine's pool)."""
        super().close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _classify(self, exc: BaseException) -> ErrorKind | None:
        module = type(exc).__module__.split(".")[0]
        if module not in ("pyodbc", "sqlalchemy"):
            return "unavailable" if isinstance(exc, OSError) else None
        orig = getattr(exc, "orig", None) or exc
        state = str(orig.args[0]) if getattr(orig, "args", None) else ""
        name = type(orig).__name__
        if getattr(exc, "connection_invalidated", False) or name in (
            "OperationalError",
            "InterfaceError",
        ):
            return "unavailable"
        if state.startswith(_TRANSIENT_SQLSTATES):
            return "unavailable"
        return "error"

    def _describe(self, name: str) -> TableInfo | None:
        rows = self._query(self.sql.describe(), [self.sql.schema, name])
        if not rows:
            return None
        declared = {r[0]: TSQLDialect.declared_type(*r[1:6]) for r in rows}
        return TableInfo(
            columns={c: self.sql.arrow_type(t) for c, t in declared.items()},
            declared=declared,
            key=None,
        )

    def _insert_rows(self, target: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        with self._cursor() as cur:
            if hasattr(cur, "fast_executemany"):
                cur.fast_executemany = True
            cur.executemany(self.sql.insert_values(target, columns), rows)
