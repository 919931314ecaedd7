"""T-SQL for an Azure Synapse dedicated SQL pool (pure text: no driver, testable offline).

Every statement parses with sqlglot's T-SQL dialect (the unit tests check it). Synapse
specifics it follows:

- tables are distributed: keyed tables by ``HASH`` of the first key column (a MERGE that
  inserts must target a hash-distributed table), others ``ROUND_ROBIN``; the default
  clustered columnstore index is left implicit;
- primary keys cannot be enforced, so none is declared: keys are the caller's promise,
  checked on the staged rows before every MERGE;
- staging tables are session temporary tables (``#name``), created outside transactions
  (Synapse allows no DDL inside one); MERGE then runs in its own transaction;
- there is no time zone type worth the trouble: ``DATETIME2(6)`` holds UTC wall time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa

from udo.adapters.sql.dialect import Dialect, decimal_type
from udo.adapters.sql.values import ValuePolicy


class TSQLDialect(Dialect):
    """T-SQL as Synapse dedicated SQL pools take it (qmark parameters, for pyodbc)."""

    name: ClassVar[str] = "tsql"
    param: ClassVar[str] = "?"
    max_identifier_length: ClassVar[int] = 116
    """128 for tables, but a temporary table's name must fit in 116."""
    stores_timezone: ClassVar[bool] = False
    quote_chars: ClassVar[tuple[str, str]] = ("[", "]")
    values: ClassVar[ValuePolicy] = ValuePolicy(naive_utc=True)
    begin_sql: ClassVar[str] = "BEGIN TRANSACTION"
    commit_sql: ClassVar[str] = "COMMIT TRANSACTION"
    rollback_sql: ClassVar[str] = "ROLLBACK TRANSACTION"
    add_column_keyword: ClassVar[str] = "ADD"
    count_function: ClassVar[str] = "COUNT_BIG(*)"
    key_string_length: ClassVar[int] = 450
    string_length: ClassVar[int] = 4000

    def __init__(self, schema: str | None = "dbo") -> None:
        super().__init__(schema)

    def stage(self, name: str) -> str:
        """A session temporary table: ``[#name]``."""
        self.check(name, "table name")
        return f"[#{name}]"

    def column_type(self, t: pa.DataType, *, key: bool) -> str:
        """See `Dialect.column_type`."""
        if pa.types.is_decimal(t):
            return f"DECIMAL({t.precision}, {t.scale})"
        if pa.types.is_timestamp(t):
            return "DATETIME2(6)"
        if pa.types.is_string(t):
            return f"NVARCHAR({self.key_string_length if key else self.string_length})"
        return {
            pa.int64(): "BIGINT",
            pa.float64(): "FLOAT(53)",
            pa.bool_(): "BIT",
            pa.date32(): "DATE",
        }[t]

    def arrow_type(self, declared: str) -> pa.DataType | None:
        """See `Dialect.arrow_type` (``declared`` as `declared_type` builds it)."""
        d = declared.lower().replace(" ", "")
        base = d.split("(")[0]
        if base in ("decimal", "numeric"):
            return decimal_type(d)
        if base == "datetime2":
            return pa.timestamp("us") if d == "datetime2(6)" else None
        if base in ("nvarchar", "varchar", "nchar", "char"):
            return pa.string()
        if base == "float":
            return pa.float64() if d in ("float", "float(53)") else None
        return {"bigint": pa.int64(), "bit": pa.bool_(), "date": pa.date32()}.get(base)

    @staticmethod
    def declared_type(
        data_type: str,
        max_length: int | None,
        precision: int | None,
        scale: int | None,
        datetime_precision: int | None,
    ) -> str:
        """A type name from INFORMATION_SCHEMA.COLUMNS fields (``decimal(12,2)``...)."""
        t = data_type.lower()
        if t in ("decimal", "numeric"):
            return f"{t}({precision},{scale})"
        if t == "datetime2":
            return f"{t}({datetime_precision})"
        if t == "float":
            return f"{t}({precision})"
        if t in ("nvarchar", "varchar", "nchar", "char"):
            return f"{t}({'max' if max_length == -1 else max_length})"
        return t

    def _distribution(self, key: Sequence[str], *, heap: bool = False) -> str:
        dist = f"HASH({self.quote(key[0])})" if key else "ROUND_ROBIN"
        return f" WITH (DISTRIBUTION = {dist}{', HEAP' if heap else ''})"

    def create_table(self, name: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """CREATE TABLE, hash-distributed on the key (no enforced primary key)."""
        parts = [self.column_def(f, key=f.name in key) for f in schema]
        return f"CREATE TABLE {self.table(name)} ({', '.join(parts)}){self._distribution(key)}"

    def create_stage(self, stage: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """A ``#temp`` heap distributed like its target, so MERGE moves no data."""
        parts = [self.column_def(f, key=False) for f in schema]
        return (
            f"CREATE TABLE {self.stage(stage)} ({', '.join(parts)})"
            f"{self._distribution(key, heap=True)}"
        )

    def drop_stage(self, stage: str) -> str:
        """See `Dialect.drop_stage`."""
        return f"DROP TABLE {self.stage(stage)}"

    def drop_table(self, name: str) -> str:
        """Drop a table if it exists (``IF OBJECT_ID(...) IS NOT NULL``)."""
        qualified = self.table(name)
        return f"IF OBJECT_ID(N'{qualified}', N'U') IS NOT NULL DROP TABLE {qualified}"

    def upsert(self, name: str, stage: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """MERGE the staged rows on the key: update matches, insert the rest."""
        on = " AND ".join(f"[target].{self.quote(k)} = [source].{self.quote(k)}" for k in key)
        rest = [c for c in columns if c not in key]
        matched = ""
        if rest:
            sets = ", ".join(f"{self.quote(c)} = [source].{self.quote(c)}" for c in rest)
            matched = f" WHEN MATCHED THEN UPDATE SET {sets}"
        values = ", ".join(f"[source].{self.quote(c)}" for c in columns)
        return (
            f"MERGE INTO {self.table(name)} AS [target] USING {self.stage(stage)} AS [source] "
            f"ON {on}{matched} WHEN NOT MATCHED BY TARGET THEN "
            f"INSERT ({self.columns(columns)}) VALUES ({values});"
        )

    def describe(self) -> str:
        """The columns of a table: parameters (schema, table)."""
        return (
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, "
            "NUMERIC_SCALE, DATETIME_PRECISION FROM INFORMATION_SCHEMA.COLUMNS "
            "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
        )
