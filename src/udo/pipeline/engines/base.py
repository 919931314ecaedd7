"""The engine port: what every cleaning engine (polars, pandas, Spark) implements.

An engine receives one table's raw Bronze rows and its `TableRules`, and returns the
Silver rows, the quarantine decisions (source row and reasons; the pipeline copies the
original values) and the counts. It also computes Gold marts from Silver. Engines never
write tables: the pipeline commits what they return, so every engine lands the same way.

The exact semantics are in `udo.domain.rules`; this module holds the pieces every engine
shares so they cannot drift apart: the regular expressions that recognise numbers and
dates, and the output schemas.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TypeAlias

import pyarrow as pa

from udo.domain.marts import MartSpec
from udo.domain.rules import ColumnRule, TableRules
from udo.errors import TerminalError

Data: TypeAlias = "pa.Table | list[Path]"
"""An Arrow table in memory, or Parquet files (the heavy path)."""

SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
BATCH_ID = "_batch_id"
INGESTED_AT = "_ingested_at"
REASONS = "_reject_reasons"
RAW_ERROR = "_raw_error"
RAW_LINE = "_raw_line"
SILVER_META = (SOURCE_FILE, SOURCE_ROW, BATCH_ID, INGESTED_AT)

WHITESPACE = " \t\r\n\f\v"
"""What trim removes: ASCII whitespace only, the same in every engine."""
WHITESPACE_RE = "[ \\t\\r\\n\\f\\x0b]"

# Numbers as text. Tried in this order; the first that matches decides the reading.
# A lone "1.234" stays one point two three four: grouping is read only where it cannot be
# a decimal point (a comma decimal part follows, or there are two or more groups).
EURO_GROUPED = r"^[+-]?\d{1,3}((\.\d{3})+,\d+|(\.\d{3}){2,})$"  # 1.234,50 / 1.234.567
DECIMAL_COMMA = r"^[+-]?\d+,\d+$"  # 12,50 -> 12.50 (a single comma is a decimal comma)
US_GROUPED = r"^[+-]?\d{1,3}((,\d{3})+\.\d+|(,\d{3}){2,})$"  # 1,234.50 / 1,234,567
INT_TEXT = r"^[+-]?\d+$"
DECIMAL_TEXT = r"^[+-]?\d+(\.\d+)?$"
FLOAT_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
TRUE_TEXT = ("true", "t", "yes", "y", "1")
FALSE_TEXT = ("false", "f", "no", "n", "0")
MAX_EPOCH_SECONDS = 253_402_300_799
"""Epoch seconds are read in [0, this] (up to 9999-12-31 23:59:59)."""
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class RuleFailed(TerminalError):
    """A rule whose action is `fail` was violated: the run stops."""


@dataclass(frozen=True)
class DateFormat:
    """A strftime format compiled to a full-match regex and the meaning of its groups."""

    format: str
    regex: str
    groups: tuple[str, ...]
    """One of Y m d H M S b s per capture group, in order."""


_DIRECTIVES = {
    "Y": r"(\d{4})",
    "m": r"(\d{1,2})",
    "d": r"(\d{1,2})",
    "H": r"(\d{1,2})",
    "M": r"(\d{1,2})",
    "S": r"(\d{1,2})",
    "b": r"([A-Za-z]{3})",
    "s": r"([+-]?\d{1,12})",
}


def compile_format(fmt: str) -> DateFormat:
    """Compile one strftime format (directives Y m d H M S b s, and %%)."""
    regex = "^"
    groups: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d == "%":
                regex += "%"
            elif d in _DIRECTIVES:
                regex += _DIRECTIVES[d]
                groups.append(d)
            else:
                raise ValueError(f"unsupported directive %{d} in {fmt!r}")
            i += 2
            continue
        regex += re.escape(ch) if ch != " " else " "
        i += 1
    return DateFormat(fmt, regex + "$", tuple(groups))


def days_in_month(year: int, month: int) -> int:
    """Calendar check used by the engines' reference tests."""
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of a Silver column type."""
    if type_name.startswith("decimal("):
        p, s = (int(x) for x in type_name[8:-1].split(","))
        return pa.decimal128(p, s)
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "string": pa.string(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }[type_name]


def silver_schema(rules: TableRules) -> pa.Schema:
    """Silver's Arrow schema: the rule columns, then lineage columns."""
    fields = [pa.field(c.name, arrow_type(c.type)) for c in rules.columns]
    fields += [
        pa.field(SOURCE_FILE, pa.string()),
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field(BATCH_ID, pa.string()),
        pa.field(INGESTED_AT, pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields)


REJECTS_SCHEMA = pa.schema(
    [pa.field(SOURCE_ROW, pa.int64()), pa.field(REASONS, pa.list_(pa.string()))]
)
"""What an engine returns for quarantined rows: which row, and every rule it broke."""


@dataclass
class TableCounts:
    """What an engine counted for one table."""

    bronze_in: int = 0
    silver_out: int = 0
    quarantined: int = 0
    duplicates_removed: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    """Rows violating each rule (all actions), among rows that could be read."""
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class TableJob:
    """One table of one batch, for an engine to clean."""

    table: str
    rules: TableRules
    raw: Data
    source_file: str
    batch_id: str
    ingested_at: datetime
    parent_keys: dict[str, Data] = field(default_factory=dict)
    """Per foreign-key rule id: the parent's Silver key values (one column)."""

    def __post_init__(self) -> None:
        self.rules = self.rules.with_ids(self.table)


@dataclass
class TableResult:
    """An engine's answer for one table."""

    silver: Data
    rejects: Data
    counts: TableCounts


def rule_order(table: str, rules: TableRules) -> list[tuple[str, str, ColumnRule | None]]:
    """(rule id, action, column) for every rule, sorted by id: the order of reasons."""
    out: list[tuple[str, str, ColumnRule | None]] = []
    for c in rules.columns:
        out.append((c.type_rule_id(table), c.type_action, c))
        out += [(chk.id, chk.action, c) for chk in c.checks]
    out += [(fk.id, fk.action, None) for fk in rules.foreign_keys]
    return sorted(out, key=lambda r: r[0])


class Engine(ABC):
    """A cleaning engine. Implementations must agree row for row (parity tests)."""

    name: ClassVar[str]
    reads_files: ClassVar[bool] = False
    """Capability: the engine reads and returns Parquet files instead of Arrow tables."""

    @abstractmethod
    def clean(self, job: TableJob) -> TableResult:
        """Standardise, cast, check, dedupe one table.

        Returns Silver rows (schema `silver_schema(job.rules)`, ordered by source row),
        rejects (schema `REJECTS_SCHEMA`, ordered by source row) and counts. Raises
        `RuleFailed` if a rule with action `fail` is violated.
        """

    @abstractmethod
    def mart(self, mart: MartSpec, silver: dict[str, Data], schemas: dict[str, pa.Schema]) -> Data:
        """Compute a Gold mart from the current Silver tables (schema `mart_schema`).

        Rows are ordered by the group-by columns (nulls first).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing
        """Release what the engine holds (a Spark session)."""
