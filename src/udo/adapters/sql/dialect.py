"""Statement text per SQL dialect: quoting, type mapping, DDL and DML. Pure: no driver.

Every identifier goes through `quote`, which validates it first (`check_identifier`), so
no name can close a quote or smuggle SQL; every value is a parameter (``param``). A
`Dialect` knows how to map Arrow types to column types and back, and which differences
it cannot store (`canonical`), e.g. a time zone where the database has none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import pyarrow as pa

from udo.adapters.sql.values import ValuePolicy
from udo.ports.destination import check_identifier

Where = Sequence[tuple[str, bool]]
"""Equality conditions: (column, is_null). ``is_null`` columns take no parameter."""


class Dialect(ABC):
    """SQL text for one dialect; subclasses override what differs."""

    name: ClassVar[str] = "sql"
    param: ClassVar[str] = "?"
    max_identifier_length: ClassVar[int] = 63
    stores_timezone: ClassVar[bool] = True
    quote_chars: ClassVar[tuple[str, str]] = ('"', '"')
    values: ClassVar[ValuePolicy] = ValuePolicy()
    begin_sql: ClassVar[str] = "BEGIN"
    commit_sql: ClassVar[str] = "COMMIT"
    rollback_sql: ClassVar[str] = "ROLLBACK"
    add_column_keyword: ClassVar[str] = "ADD COLUMN"
    count_function: ClassVar[str] = "COUNT(*)"

    def __init__(self, schema: str | None = None) -> None:
        self.schema = self.check(schema, "schema name") if schema else None

    # -- identifiers ----------------------------------------------------------------------
    def check(self, name: str, what: str = "identifier") -> str:
        """`name` if it is a valid identifier here, else `InvalidIdentifier`."""
        return check_identifier(name, max_length=self.max_identifier_length, what=what)

    def quote(self, name: str, what: str = "column name") -> str:
        """The identifier, validated and quoted."""
        self.check(name, what)
        open_, close = self.quote_chars
        return f"{open_}{name.replace(close, close + close)}{close}"

    def table(self, name: str) -> str:
        """A table name, validated, quoted and qualified with the schema if any."""
        quoted = self.quote(name, "table name")
        return f"{self.quote(self.schema, 'schema name')}.{quoted}" if self.schema else quoted

    def stage(self, name: str) -> str:
        """A staging (temporary) table's name, quoted."""
        return self.quote(name, "table name")

    def columns(self, names: Sequence[str]) -> str:
        """A quoted, comma-separated column list."""
        return ", ".join(self.quote(n) for n in names)

    # -- types ----------------------------------------------------------------------------
    @abstractmethod
    def column_type(self, t: pa.DataType, *, key: bool) -> str:
        """The column type storing Arrow type `t` exactly (`key`: part of the key)."""

    @abstractmethod
    def arrow_type(self, declared: str) -> pa.DataType | None:
        """The Arrow type a declared column type maps back to; None if not one of ours."""

    def canonical(self, t: pa.DataType) -> pa.DataType:
        """What is left of `t` once stored: types equal here are the same column type."""
        if pa.types.is_timestamp(t) and not self.stores_timezone:
            return pa.timestamp("us")
        return t

    # -- DDL ------------------------------------------------------------------------------
    def column_def(self, field: pa.Field, *, key: bool) -> str:
        """One column of a CREATE TABLE (key columns and non-nullable fields NOT NULL)."""
        not_null = " NOT NULL" if key or not field.nullable else ""
        return f"{self.quote(field.name)} {self.column_type(field.type, key=key)}{not_null}"

    def create_table(self, name: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """CREATE TABLE with the key as primary key."""
        parts = [self.column_def(f, key=f.name in key) for f in schema]
        if key:
            parts.append(f"PRIMARY KEY ({self.columns(key)})")
        return f"CREATE TABLE {self.table(name)} ({', '.join(parts)})"

    def create_stage(self, stage: str, schema: pa.Schema, key: Sequence[str]) -> str:
        """A temporary table holding rows before they are merged (no constraints)."""
        parts = [self.column_def(f, key=False) for f in schema]
        return f"CREATE TEMPORARY TABLE {self.stage(stage)} ({', '.join(parts)})"

    def drop_stage(self, stage: str) -> str:
        """Drop a staging table if it is still there."""
        return f"DROP TABLE IF EXISTS {self.stage(stage)}"

    def add_column(self, name: str, field: pa.Field) -> str:
        """ALTER TABLE adding a nullable column."""
        col = f"{self.quote(field.name)} {self.column_type(field.type, key=False)}"
        return f"ALTER TABLE {self.table(name)} {self.add_column_keyword} {col}"

    def drop_table(self, name: str) -> str:
        """Drop a table if it exists."""
        return f"DROP TABLE IF EXISTS {self.table(name)}"

    # -- DML ------------------------------------------------------------------------------
    def where(self, conditions: Where) -> str:
        """`` WHERE ...`` for equality conditions (empty when there are none)."""
        if not conditions:
            return ""
        terms = [
            f"{self.quote(c)} IS NULL" if is_null else f"{self.quote(c)} = {self.param}"
            for c, is_null in conditions
        ]
        return " WHERE " + " AND ".join(terms)

    def insert_values(self, target: str, columns: Sequence[str], rows: int = 1) -> str:
        """INSERT of `rows` rows of parameters into an already quoted `target`."""
        one = "(" + ", ".join([self.param] * len(columns)) + ")"
        return f"INSERT INTO {target} ({self.columns(columns)}) VALUES " + ", ".join([one] * rows)

    def insert_select(self, target: str, source: str, columns: Sequence[str]) -> str:
        """INSERT INTO target (cols) SELECT cols FROM source (both already quoted)."""
        cols = self.columns(columns)
        return f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source}"

    def delete(self, name: str, conditions: Where = ()) -> str:
        """DELETE rows matching the conditions (all rows without)."""
        return f"DELETE FROM {self.table(name)}{self.where(conditions)}"

    @abstractmethod
    def upsert(self, name: str, stage: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """Merge the staging table into the table by key (update matches, insert others)."""

    def key_problems(self, stage: str, key: Sequence[str]) -> str:
        """One row: (keys occurring more than once, rows with a null key part) in stage.

        The staging table is read once (MySQL cannot reopen a TEMPORARY table).
        """
        cols = self.columns(key)
        nulls = " OR ".join(f"{self.quote(k)} IS NULL" for k in key)
        return (
            "SELECT COALESCE(SUM(CASE WHEN n > 1 THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {nulls} THEN n ELSE 0 END), 0) "
            f"FROM (SELECT {self.count_function} AS n, {cols} FROM {self.stage(stage)} "
            f"GROUP BY {cols}) g"
        )

    def count(self, name: str, conditions: Where = ()) -> str:
        """SELECT the number of rows matching the conditions."""
        return f"SELECT {self.count_function} FROM {self.table(name)}{self.where(conditions)}"

    def sum(self, name: str, column: str, conditions: Where = ()) -> str:
        """SELECT the sum of a column over rows matching the conditions."""
        return f"SELECT SUM({self.quote(column)}) FROM {self.table(name)}{self.where(conditions)}"

    def select(self, name: str, columns: Sequence[str], conditions: Where = ()) -> str:
        """SELECT columns of rows matching the conditions."""
        return f"SELECT {self.columns(columns)} FROM {self.table(name)}{self.where(conditions)}"


def decimal_args(declared: str) -> tuple[int, int] | None:
    """(precision, scale) of a declared ``DECIMAL(p, s)`` / ``NUMERIC(p,s)``, else None."""
    start, end = declared.find("("), declared.rfind(")")
    if start < 0 or end < start:
        return None
    parts = [p.strip() for p in declared[start + 1 : end].split(",")]
    if len(parts) == 1:
        parts.append("0")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def decimal_type(declared: str) -> pa.DataType | None:
    """Arrow decimal of a declared decimal type (precision up to 38), else None."""
    args = decimal_args(declared)
    if args is None or not 1 <= args[0] <= 38:
        return None
    return pa.decimal128(*args)
