"""Cleaning rules: what turns a Bronze table into Silver, declared, versioned, engine-free.

A `RuleSet` holds one `TableRules` per table. Every engine (polars, pandas, Spark)
compiles the same rules and must give the same result; the semantics are fixed here:

1. Each target column is read from its Bronze column (missing → all null, noted).
2. Text values are standardised in this order: trim (empty → null), value mapping
   (keys matched case-insensitively after trimming), case normalisation.
3. The value is cast to the column type. Numbers accept a decimal comma ("12,50"),
   European grouping ("1.234,50", "1.234.567") and US grouping ("1,234.50",
   "1,234,567"); a single comma is a decimal comma and a single point a decimal point
   ("1.234" is one point two three four). A decimal with more fractional digits than its
   scale, or too many integer digits for its precision, is a cast failure, never
   silently rounded. Dates and timestamps are parsed with the column's formats in order
   (strftime directives %Y %m %d %H %M %S %b and %s for epoch seconds; all values are
   UTC). A value that cannot be cast violates the column's ``type`` rule.
4. Checks run on the typed value: not_null, range (inclusive), enum, regex. A null
   violates only not_null.
5. Foreign keys must exist in the parent table's Silver.
6. Rows that violate a rule whose action is ``quarantine`` go to quarantine with the
   sorted ids of every rule they broke; ``warn`` keeps the row and counts it; ``fail``
   stops the run if any row violates it.
7. Among the remaining rows, duplicates on the key (whole row when no key) are removed,
   keeping the last row by ingestion order, or by `order_by` when given.

Rule ids are ``<table>.<column>.<kind>`` (e.g. ``orders.total.range``); rows that could
not be read at all break ``<table>._row.malformed``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from udo.domain.manifest import BronzeManifest, ColumnSchema
from udo.domain.marts import MartSpec
from udo.domain.spec import DatasetSpec, FieldSpec
from udo.errors import SpecError

RULES_VERSION = 1
Action = Literal["quarantine", "warn", "fail"]
EMAIL_REGEX = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%b %d, %Y"]
DEFAULT_TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d",
    "%s",
]
SUPPORTED_DIRECTIVES = {"Y", "m", "d", "H", "M", "S", "b", "s", "%"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Check(_Model):
    """A validation of a typed value; its `id` names it in ledgers and quarantine."""

    id: str = ""
    kind: Literal["not_null", "range", "enum", "regex"]
    min: float | int | date | datetime | str | None = None
    max: float | int | date | datetime | str | None = None
    values: list[Any] | None = None
    pattern: str | None = None
    action: Action = "quarantine"

    @model_validator(mode="after")
    def _params(self) -> Check:
        if self.kind == "range" and self.min is None and self.max is None:
            raise ValueError("a range check needs min or max")
        if self.kind == "enum" and not self.values:
            raise ValueError("an enum check needs values")
        if self.kind == "regex":
            if not self.pattern:
                raise ValueError("a regex check needs a pattern")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {self.pattern!r}: {exc}") from exc
        return self


class ColumnRule(_Model):
    """How one Silver column is made from Bronze."""

    name: str
    type: str
    source: str | None = Field(None, description="Bronze column (default: same name)")
    trim: bool = True
    mapping: dict[str, str] | None = Field(None, description="synonyms, matched case-insensitively")
    case: Literal["lower", "upper"] | None = None
    formats: list[str] | None = Field(None, description="date/timestamp formats, tried in order")
    type_action: Action = "quarantine"
    checks: list[Check] = Field(default_factory=list)

    @property
    def bronze_name(self) -> str:
        """The Bronze column this column is read from."""
        return self.source or self.name

    def type_rule_id(self, table: str) -> str:
        """Id of the cast rule."""
        return f"{table}.{self.name}.type"


class ForeignKeyRule(_Model):
    """`column` must exist among `parent`'s Silver `parent_column` values."""

    id: str = ""
    column: str
    parent: str
    parent_column: str
    action: Action = "quarantine"


class Dedupe(_Model):
    """Remove duplicates on `key` (whole row when empty), keeping the last row.

    "Last" is by ingestion order (the source row), or by `order_by` (descending: the
    latest value wins) with ingestion order breaking ties.
    """

    key: list[str] = Field(default_factory=list)
    order_by: str | None = None


class TableRules(_Model):
    """Everything that turns one Bronze table into Silver."""

    columns: list[ColumnRule]
    dedupe: Dedupe | None = Field(default_factory=Dedupe)
    foreign_keys: list[ForeignKeyRule] = Field(default_factory=list)

    def with_ids(self, table: str) -> TableRules:
        """A copy where every check and foreign key has its id (``<table>.<column>.<kind>``)."""
        out = self.model_copy(deep=True)
        for c in out.columns:
            for chk in c.checks:
                if not chk.id:
                    chk.id = f"{table}.{c.name}.{chk.kind}"
        for fk in out.foreign_keys:
            if not fk.id:
                fk.id = f"{table}.{fk.column}.fk"
        return out

    def column(self, name: str) -> ColumnRule:
        """A column's rule by name."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


class RuleSet(_Model):
    """Rules of a dataset: tables in dependency order, and its Gold marts."""

    rules_version: Literal[1] = 1
    dataset: str
    tables: dict[str, TableRules]
    marts: list[MartSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_ids(self) -> RuleSet:
        for tname, t in list(self.tables.items()):
            self.tables[tname] = t.with_ids(tname)
        return self

    def problems(self) -> list[tuple[str, str]]:
        """Cross-reference problems as (location, message)."""
        out: list[tuple[str, str]] = []
        for tname, t in self.tables.items():
            names = [c.name for c in t.columns]
            if len(set(names)) != len(names):
                out.append((f"tables.{tname}.columns", "duplicate column names"))
            for i, c in enumerate(t.columns):
                loc = f"tables.{tname}.columns.{i}"
                if c.type in ("date", "timestamp"):
                    for fmt in c.formats or []:
                        bad = set(re.findall(r"%(.)", fmt)) - SUPPORTED_DIRECTIVES
                        if bad:
                            out.append(
                                (
                                    f"{loc}.formats",
                                    f"unsupported directives in {fmt!r}: {sorted(bad)}",
                                )
                            )
            for key in t.dedupe.key if t.dedupe else []:
                if key not in names:
                    out.append((f"tables.{tname}.dedupe.key", f"unknown column {key!r}"))
            for fk in t.foreign_keys:
                if fk.column not in names:
                    out.append((f"tables.{tname}.foreign_keys", f"unknown column {fk.column!r}"))
                if fk.parent not in self.tables:
                    out.append((f"tables.{tname}.foreign_keys", f"unknown table {fk.parent!r}"))
                elif list(self.tables).index(fk.parent) > list(self.tables).index(tname):
                    out.append(
                        (f"tables.{tname}.foreign_keys", f"parent {fk.parent!r} must come first")
                    )
        for m in self.marts:
            if m.source not in self.tables:
                out.append((f"marts.{m.name}.source", f"unknown table {m.source!r}"))
            for j in m.joins:
                if j.table not in self.tables:
                    out.append((f"marts.{m.name}.joins", f"unknown table {j.table!r}"))
        return out

    def rule_ids(self, table: str) -> list[str]:
        """Every rule id of a table, in a stable order."""
        t = self.tables[table]
        ids = [f"{table}._row.malformed"]
        for c in t.columns:
            ids.append(c.type_rule_id(table))
            ids += [chk.id for chk in c.checks]
        ids += [fk.id for fk in t.foreign_keys]
        return ids

    def to_yaml(self) -> str:
        """The rules as YAML, for a user to edit (dates stay YAML dates)."""
        data = self.model_dump(exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_yaml(cls, text: str) -> RuleSet:
        """Parse and validate rules (`SpecError` lists every problem)."""
        try:
            data = yaml.safe_load(text)
            rules = cls.model_validate(data)
        except yaml.YAMLError as exc:
            raise SpecError([("rules", f"not valid YAML: {exc}")]) from exc
        except ValidationError as exc:
            raise SpecError(
                [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
            ) from exc
        problems = rules.problems()
        if problems:
            raise SpecError(problems)
        return rules

    def version_hash(self) -> str:
        """A short hash of the rules, part of a run's idempotency key."""
        import hashlib

        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


# ---------------------------------------------------------------- derivation
def rules_from_spec(spec: DatasetSpec, dataset: str | None = None) -> RuleSet:
    """Derive cleaning rules from a DatasetSpec: types, required fields, keys, ranges,
    enums, e-mail patterns and foreign keys, in table dependency order."""
    tables: dict[str, TableRules] = {}
    for tname in spec.table_order():
        table = spec.tables[tname]
        columns = []
        fks = []
        for fname, f in table.fields.items():
            if not f.emit:
                continue
            columns.append(_column_from_field(fname, f, is_key=fname == table.key))
            if f.fk is not None:
                parent = spec.tables[f.fk.table]
                assert parent.key is not None
                fks.append(
                    ForeignKeyRule(column=fname, parent=f.fk.table, parent_column=parent.key)
                )
        key = [table.key] if table.key else []
        tables[tname] = TableRules(columns=columns, dedupe=Dedupe(key=key), foreign_keys=fks)
    marts = [m.model_copy(deep=True) for m in spec.marts]
    return RuleSet(dataset=dataset or spec.name, tables=tables, marts=marts)


def _column_from_field(name: str, f: FieldSpec, *, is_key: bool) -> ColumnRule:
    ctype = "string" if f.type in ("category", "uuid") else f.type
    checks: list[Check] = []
    if f.null_rate == 0 or is_key:
        checks.append(Check(kind="not_null"))
    mapping = None
    if f.type == "category" and f.source == "choices":
        values = [str(v) for v in f.choice_source().values]
        checks.append(Check(kind="enum", values=values))
        mapping = {v.lower(): v for v in values}
    lo, hi = _bound(f.min, f.type), _bound(f.max, f.type)
    if f.type == "timestamp":
        # a date as a timestamp bound: from its first to its last microsecond
        if type(lo) is date:
            lo = datetime(lo.year, lo.month, lo.day)
        if type(hi) is date:
            hi = datetime(hi.year, hi.month, hi.day, 23, 59, 59, 999999)
    if f.type in ("int", "float", "date", "timestamp") or f.decimal is not None:
        if f.decimal is not None and f.source == "aggregate" and lo is None:
            lo = 0
        if lo is not None or hi is not None:
            checks.append(Check(kind="range", min=lo, max=hi))
    if f.decimal is not None and lo is None and f.source in ("distribution", "lookup"):
        checks.append(Check(kind="range", min=0))
    if f.format == "email":
        checks.append(Check(kind="regex", pattern=EMAIL_REGEX))
    if f.type == "uuid":
        checks.append(
            Check(
                kind="regex",
                pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            )
        )
    formats = None
    if f.type == "date":
        formats = list(DEFAULT_DATE_FORMATS)
    elif f.type == "timestamp":
        formats = list(DEFAULT_TIMESTAMP_FORMATS)
    return ColumnRule(name=name, type=ctype, mapping=mapping, formats=formats, checks=checks)


def _bound(value: object, ftype: str) -> float | int | date | datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | date | datetime):
        return value
    return None


def rules_from_manifest(
    manifest: BronzeManifest, keys: dict[str, Sequence[str]] | None = None
) -> RuleSet:
    """Rules for an ingested dataset without a spec: casts to the inferred types, trims,
    and dedupe on a declared key (or on whole rows)."""
    keys = keys or {}
    tables: dict[str, TableRules] = {}
    for tname, t in manifest.tables.items():
        columns = [_column_from_schema(c) for c in t.columns]
        tables[tname] = TableRules(columns=columns, dedupe=Dedupe(key=list(keys.get(tname, []))))
    return RuleSet(dataset=manifest.dataset, tables=tables)


def _column_from_schema(c: ColumnSchema) -> ColumnRule:
    ctype = c.type if c.type != "category" and c.type != "uuid" else "string"
    formats = None
    if ctype == "date":
        formats = list(DEFAULT_DATE_FORMATS)
    elif ctype == "timestamp":
        formats = list(DEFAULT_TIMESTAMP_FORMATS)
    return ColumnRule(name=c.name, type=ctype, formats=formats)
