"""DatasetSpec: the schema language of udo's synthetic datasets.

A spec is plain data (YAML or JSON), versioned by ``spec_version``. It names tables,
their row counts and fields; each field has a type, exactly one value source and
optional constraints. `DatasetSpec.load` parses and validates, collecting every
problem with its location (``tables.orders.fields.total.min``) into one `SpecError`.

Value sources (one per field):

- ``sequence``: start + i * step (unique by construction)
- ``uuid``: a UUID derived from the row number (unique by construction)
- ``faker``: a Faker provider by name, with arguments; rows draw from a pool of values
- ``distribution``: uniform, normal, lognormal, poisson, zipf; parameters may depend on a
  category field (``{by: category, values: {Books: 2.5}, default: 3.0}``)
- ``choices``: values with optional weights
- ``pattern``: ``#`` digit, ``?`` upper-case letter, ``@`` lower-case letter, ``*`` either
- ``time``: dates/timestamps in ``[min, max]`` with weekday, month and hour weights
- ``expr``: an expression over other fields of the row (``lower(first) + '@' + domain``)
- ``fk``: a key of another table, chosen with a cardinality distribution
- ``lookup``: a column of the parent row an ``fk`` field points at
- ``aggregate``: an aggregate over this row's children in a ``per_parent`` table
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from udo.domain.marts import MartSpec
from udo.errors import SpecError

SPEC_VERSION = 1
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_BASE_TYPES = {"int", "float", "string", "bool", "date", "timestamp", "uuid", "category"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

Scalar = bool | int | float | str | date | datetime
SpecCheck = Callable[["DatasetSpec"], list[tuple[str, str]]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ByCategory(_Model):
    """A numeric parameter that depends on the value of a category field of the row."""

    by: str
    values: dict[str, float]
    default: float | None = None


Param = float | ByCategory


class Uniform(_Model):
    """Uniform on [low, high] (defaults: the field's min and max)."""

    kind: Literal["uniform"]
    low: Param | None = None
    high: Param | None = None


class Normal(_Model):
    """Normal with mean and standard deviation."""

    kind: Literal["normal"]
    mean: Param = 0.0
    std: Param = 1.0


class LogNormal(_Model):
    """exp(Normal(mean, sigma)): prices, amounts, durations."""

    kind: Literal["lognormal"]
    mean: Param = 0.0
    sigma: Param = 1.0


class Poisson(_Model):
    """Counts with rate `lam`."""

    kind: Literal["poisson"]
    lam: Param = 1.0


class Zipf(_Model):
    """Ranks 1..n with P(k) proportional to k**-s: popularity, long tails."""

    kind: Literal["zipf"]
    s: float = Field(1.1, gt=0)
    n: int = Field(1000, ge=1)


Distribution = Annotated[Uniform | Normal | LogNormal | Poisson | Zipf, Field(discriminator="kind")]


class SequenceSource(_Model):
    """start, start + step, ..."""

    start: int = 1
    step: int = Field(1, ge=1)


class FakerSource(_Model):
    """A Faker provider method with keyword arguments; rows draw from a pool of its values."""

    method: str
    args: dict[str, Any] = Field(default_factory=dict)
    pool: int = Field(2000, ge=1, le=1_000_000, description="distinct values drawn from Faker")
    locales: list[str] | dict[str, float] | None = Field(
        None, description="overrides the spec's locales"
    )


class ChoiceSource(_Model):
    """Values with optional relative weights."""

    values: list[Scalar]
    weights: list[float] | None = None


class TimeSource(_Model):
    """Dates/timestamps in the field's [min, max] with seasonality."""

    weekday_weights: list[float] | None = Field(None, description="7 weights, Monday first")
    month_weights: list[float] | None = Field(None, description="12 weights, January first")
    hour_weights: list[float] | None = Field(None, description="24 weights, 00h first")
    trend: float = Field(0.0, description="relative growth of volume from min to max")


class ForeignKey(_Model):
    """A key of `table`, each parent chosen with weight from `distribution`.

    ``uniform`` (default): every parent equally likely. ``zipf``: parents ranked in a
    shuffled order, a few very popular. ``lognormal``: each parent gets a lognormal
    activity weight (``sigma`` sets the skew).
    """

    table: str
    distribution: Literal["uniform", "zipf", "lognormal"] = "uniform"
    s: float = Field(1.1, gt=0, description="zipf exponent")
    sigma: float = Field(1.0, gt=0, description="lognormal skew")


class Lookup(_Model):
    """Copy `column` of the parent row that the fk field `fk` points at."""

    fk: str
    column: str


class Aggregate(_Model):
    """Aggregate an expression over this row's children in `table` (a per_parent table)."""

    table: str
    expr: str
    fn: Literal["sum", "count", "min", "max", "mean"] = "sum"


SOURCES = (
    "sequence",
    "uuid",
    "faker",
    "distribution",
    "choices",
    "pattern",
    "time",
    "expr",
    "fk",
    "lookup",
    "aggregate",
)


class FieldSpec(_Model):
    """One column: a type, exactly one value source, constraints."""

    type: str
    sequence: SequenceSource | None = None
    uuid: bool | None = None
    faker: str | FakerSource | None = None
    distribution: Distribution | None = None
    choices: ChoiceSource | list[Scalar] | dict[bool | int | float | str, float] | None = None
    pattern: str | None = None
    time: TimeSource | None = None
    expr: str | None = None
    fk: ForeignKey | None = None
    lookup: Lookup | None = None
    aggregate: Aggregate | None = None

    unique: bool = False
    null_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of nulls; >0 means nullable")
    min: Scalar | None = None
    max: Scalar | None = None
    round: int | None = Field(None, ge=0, le=12, description="decimals kept for float")
    format: Literal["email", "phone", "country", "url"] | None = Field(
        None, description="semantic format: drives cleaning rules and dirt"
    )
    emit: bool = Field(True, description="false: a helper field used by others, not written")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        v = value.strip().lower().replace(" ", "")
        if v in _BASE_TYPES:
            return v
        m = _DECIMAL.match(v)
        if m:
            precision, scale = int(m.group(1)), int(m.group(2))
            if not 1 <= precision <= 38 or scale > precision:
                raise ValueError(
                    f"decimal({precision},{scale}): need 1 <= precision <= 38, scale <= precision"
                )
            return f"decimal({precision},{scale})"
        raise ValueError(
            f"unknown type {value!r}; use int, float, decimal(p,s), string, bool, date, "
            "timestamp, uuid or category"
        )

    @model_validator(mode="after")
    def _temporal_bounds(self) -> FieldSpec:
        """ISO strings as min/max of a date or timestamp field become dates (JSON round trips)."""
        if self.type in ("date", "timestamp"):
            for bound in ("min", "max"):
                value = getattr(self, bound)
                if isinstance(value, str):
                    try:
                        parsed: date | datetime = (
                            date.fromisoformat(value)
                            if len(value) == 10
                            else datetime.fromisoformat(value)
                        )
                    except ValueError as exc:
                        raise ValueError(
                            f"{bound} {value!r} is not an ISO date or timestamp"
                        ) from exc
                    object.__setattr__(self, bound, parsed)
        return self

    @property
    def source(self) -> str:
        """Name of the value source (validated to be exactly one)."""
        given = [name for name in SOURCES if getattr(self, name) not in (None, False)]
        if given:
            return given[0]
        return "uuid" if self.type == "uuid" else ""

    @property
    def decimal(self) -> tuple[int, int] | None:
        """(precision, scale) for decimal fields."""
        m = _DECIMAL.match(self.type)
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def nullable(self) -> bool:
        """Whether the field may hold nulls (by its null rate)."""
        return self.null_rate > 0

    def faker_source(self) -> FakerSource:
        """The faker source, with the short form ``faker: name`` expanded."""
        if isinstance(self.faker, str):
            return FakerSource(method=self.faker)
        assert self.faker is not None
        return self.faker

    def choice_source(self) -> ChoiceSource:
        """The choices, with the list and mapping forms normalised."""
        c = self.choices
        if isinstance(c, ChoiceSource):
            return c
        if isinstance(c, dict):
            return ChoiceSource(values=list(c), weights=list(c.values()))
        assert c is not None
        return ChoiceSource(values=list(c))


class PerParent(_Model):
    """Rows generated per row of a parent table (items per order)."""

    table: str
    count: Distribution
    min: int = Field(1, ge=0)
    max: int = Field(10, ge=1)


class TableSpec(_Model):
    """A table: row count (or rows per parent row), its key and fields, in order."""

    rows: int | None = Field(None, ge=0)
    per_parent: PerParent | None = None
    scales: bool = Field(True, description="whether --rows scales this table")
    key: str | None = None
    fields: dict[str, FieldSpec]


class DatasetSpec(_Model):
    """A synthetic dataset: tables, fields, seed, locales."""

    spec_version: Literal[1] = 1
    name: str
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63)
    locales: list[str] | dict[str, float] = Field(default_factory=lambda: ["en_US"])
    primary: str | None = Field(None, description="the table `--rows` sets; others scale with it")
    tables: dict[str, TableSpec]
    marts: list[MartSpec] = Field(
        default_factory=list, description="Gold marts (group-by + measures)"
    )

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: Path | str, checks: Sequence[SpecCheck] = ()) -> DatasetSpec:
        """Read a YAML or JSON spec file and validate it (`SpecError` lists every problem)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError([("", f"cannot read spec file {p}: {exc}")]) from exc
        return cls.from_text(text, source=str(p), checks=checks)

    @classmethod
    def from_text(
        cls, text: str, source: str = "<spec>", checks: Sequence[SpecCheck] = ()
    ) -> DatasetSpec:
        """Parse YAML (a superset of JSON) and validate."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
            raise SpecError([(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from exc
        if not isinstance(data, dict):
            raise SpecError([("", f"{source}: a spec is a mapping with 'name' and 'tables'")])
        return cls.from_dict(data, checks)

    @classmethod
    def from_dict(cls, data: dict[str, Any], checks: Sequence[SpecCheck] = ()) -> DatasetSpec:
        """Validate a parsed spec: structure first, then cross-references and feasibility.

        `checks` add problems found outside the domain (the generator checks that each
        Faker method exists); all problems are reported together.
        """
        try:
            spec = cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(_located(exc)) from exc
        problems = spec.problems()
        for check in checks:
            problems += check(spec)
        if problems:
            raise SpecError(problems)
        return spec

    def to_yaml(self) -> str:
        """The spec as YAML, defaults left out, ready to copy and edit.

        Dumped in Python mode so dates stay YAML dates and bool choice keys stay booleans.
        """
        data = self.model_dump(exclude_defaults=True, exclude_none=True)
        data = {"spec_version": self.spec_version, **data}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

    def spec_hash(self) -> str:
        """sha256 of the canonical JSON form: equal specs, equal hashes."""
        canon = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the spec language, for editors and the API."""
        return cls.model_json_schema()

    # ---------------------------------------------------------------- scaling
    def primary_table(self) -> str:
        """The table `--rows` sets: `primary`, else the largest fixed-size table."""
        if self.primary:
            return self.primary
        sized = [(t.rows or 0, name) for name, t in self.tables.items() if t.per_parent is None]
        return max(sized)[1] if sized else next(iter(self.tables))

    def scaled(self, rows: int) -> DatasetSpec:
        """A copy where the primary table has `rows` rows and scaling tables keep their ratio."""
        primary = self.primary_table()
        base = self.tables[primary].rows or 0
        data = self.model_dump()
        for name, table in data["tables"].items():
            if table["per_parent"] is not None:
                continue
            if name == primary:
                table["rows"] = rows
            elif table["scales"] and base:
                table["rows"] = max(1, round(table["rows"] * rows / base))
        return DatasetSpec.from_dict(data)

    def with_seed(self, seed: int) -> DatasetSpec:
        """A copy with another seed."""
        return self.model_copy(update={"seed": seed})

    def max_rows(self, table: str) -> int:
        """Upper bound of a table's rows (exact for fixed-size tables)."""
        t = self.tables[table]
        if t.per_parent is None:
            return t.rows or 0
        return self.max_rows(t.per_parent.table) * t.per_parent.max

    # ------------------------------------------------------------- validation
    def problems(self) -> list[tuple[str, str]]:
        """Every semantic problem as (location, message); empty if the spec is sound."""
        out: list[tuple[str, str]] = []
        if not self.tables:
            out.append(("tables", "a spec needs at least one table"))
        if self.primary and self.primary not in self.tables:
            out.append(("primary", f"unknown table {self.primary!r}"))
        for tname, table in self.tables.items():
            out += self._table_problems(tname, table)
        out += self._cycle_problems()
        for i, mart in enumerate(self.marts):
            loc = f"marts.{i}"
            if mart.source not in self.tables:
                out.append((f"{loc}.source", f"unknown table {mart.source!r}"))
            for j in mart.joins:
                if j.table not in self.tables:
                    out.append((f"{loc}.joins", f"unknown table {j.table!r}"))
        return out

    def _table_problems(self, tname: str, table: TableSpec) -> list[tuple[str, str]]:
        loc = f"tables.{tname}"
        out: list[tuple[str, str]] = []
        if not _NAME.match(tname):
            out.append((loc, "table names are letters, digits and '_', starting with a letter"))
        if (table.rows is None) == (table.per_parent is None):
            out.append((loc, "give exactly one of 'rows' or 'per_parent'"))
        if table.per_parent is not None:
            pp = table.per_parent
            if pp.table not in self.tables:
                out.append((f"{loc}.per_parent.table", f"unknown table {pp.table!r}"))
            elif pp.table == tname:
                out.append((f"{loc}.per_parent.table", "a table cannot be its own parent"))
            else:
                links = [f for f, s in table.fields.items() if s.fk and s.fk.table == pp.table]
                if len(links) != 1:
                    out.append((f"{loc}.per_parent", f"needs exactly one fk field to {pp.table!r}"))
            if pp.min > pp.max:
                out.append((f"{loc}.per_parent", f"min {pp.min} > max {pp.max}"))
        if not table.fields:
            out.append((f"{loc}.fields", "a table needs at least one field"))
        if table.key is not None:
            key = table.fields.get(table.key)
            if key is None:
                out.append((f"{loc}.key", f"unknown field {table.key!r}"))
            elif key.source not in ("sequence", "uuid", "pattern"):
                out.append((f"{loc}.key", "a key is a sequence, uuid or pattern field"))
            elif key.null_rate:
                out.append((f"{loc}.key", "a key cannot be null"))
        for fname, field in table.fields.items():
            out += self._field_problems(tname, table, fname, field)
        return out

    def _field_problems(
        self, tname: str, table: TableSpec, fname: str, f: FieldSpec
    ) -> list[tuple[str, str]]:
        loc = f"tables.{tname}.fields.{fname}"
        out: list[tuple[str, str]] = []
        if not _NAME.match(fname) or fname.startswith("_"):
            out.append((loc, "field names are letters, digits and '_', starting with a letter"))
        given = [name for name in SOURCES if getattr(f, name) not in (None, False)]
        if len(given) > 1:
            out.append((loc, f"give exactly one value source, not {', '.join(given)}"))
            return out
        if not given and f.type != "uuid":
            out.append((loc, f"no value source; give one of {', '.join(SOURCES)}"))
            return out
        src = f.source
        numeric = f.type in ("int", "float") or f.decimal is not None
        temporal = f.type in ("date", "timestamp")
        allowed = {
            "sequence": f.type in ("int", "string"),
            "uuid": f.type in ("uuid", "string"),
            "distribution": numeric,
            "pattern": f.type in ("string", "category"),
            "time": temporal,
            "aggregate": numeric,
        }
        if not allowed.get(src, True):
            out.append((loc, f"source '{src}' cannot make a {f.type} field"))
        if f.min is not None and f.max is not None:
            try:
                if f.min > f.max:  # type: ignore[operator]
                    out.append((loc, f"min {f.min} > max {f.max}"))
            except TypeError:
                out.append((loc, f"min {f.min!r} and max {f.max!r} are not comparable"))
        if temporal and src == "time" and (f.min is None or f.max is None):
            out.append((loc, "a time field needs min and max (its time range)"))
        if temporal and src == "time":
            for bound in ("min", "max"):
                value = getattr(f, bound)
                if value is not None and not isinstance(value, date | str):
                    out.append((f"{loc}.{bound}", "give a date like 2024-01-01"))
        if src == "distribution":
            out += _distribution_problems(loc, f, table)
        if src == "choices":
            c = f.choice_source()
            if not c.values:
                out.append((f"{loc}.choices", "no values"))
            if c.weights is not None and (
                len(c.weights) != len(c.values) or min(c.weights) < 0 or sum(c.weights) <= 0
            ):
                out.append(
                    (f"{loc}.choices", "weights: one non-negative weight per value, sum > 0")
                )
        if src == "time" and f.time is not None:
            for attr, n in (("weekday_weights", 7), ("month_weights", 12), ("hour_weights", 24)):
                w = getattr(f.time, attr)
                if w is not None and (len(w) != n or min(w) < 0 or sum(w) <= 0):
                    out.append((f"{loc}.time.{attr}", f"{n} non-negative weights, sum > 0"))
        if src == "pattern" and f.pattern is not None and pattern_space(f.pattern) == 1:
            out.append((f"{loc}.pattern", "no placeholder (# ? @ *): every value would be equal"))
        if src == "expr" and f.expr is not None:
            try:
                names = expr_names(f.expr)
            except SyntaxError as exc:
                out.append((f"{loc}.expr", f"not a valid expression: {exc.msg}"))
            else:
                for name in sorted(names - set(table.fields)):
                    out.append((f"{loc}.expr", f"unknown field {name!r}"))
        if src == "fk" and f.fk is not None:
            parent = self.tables.get(f.fk.table)
            if parent is None:
                out.append((f"{loc}.fk.table", f"unknown table {f.fk.table!r}"))
            elif parent.key is None:
                out.append((f"{loc}.fk.table", f"table {f.fk.table!r} has no key to point at"))
        if src == "lookup" and f.lookup is not None:
            link = table.fields.get(f.lookup.fk)
            if link is None or link.fk is None:
                out.append((f"{loc}.lookup.fk", f"{f.lookup.fk!r} is not an fk field of {tname}"))
            else:
                parent = self.tables.get(link.fk.table)
                if parent is not None and f.lookup.column not in parent.fields:
                    out.append(
                        (
                            f"{loc}.lookup.column",
                            f"unknown field {f.lookup.column!r} of {link.fk.table}",
                        )
                    )
        if src == "aggregate" and f.aggregate is not None:
            child = self.tables.get(f.aggregate.table)
            if child is None:
                out.append((f"{loc}.aggregate.table", f"unknown table {f.aggregate.table!r}"))
            elif child.per_parent is None or child.per_parent.table != tname:
                out.append(
                    (f"{loc}.aggregate.table", f"{f.aggregate.table} is not per_parent {tname}")
                )
            else:
                try:
                    names = expr_names(f.aggregate.expr)
                except SyntaxError as exc:
                    out.append((f"{loc}.aggregate.expr", f"not a valid expression: {exc.msg}"))
                else:
                    for name in sorted(names - set(child.fields)):
                        out.append(
                            (
                                f"{loc}.aggregate.expr",
                                f"unknown field {name!r} of {f.aggregate.table}",
                            )
                        )
        if f.unique:
            out += self._unique_problems(loc, tname, table, f)
        return out

    def _unique_problems(
        self, loc: str, tname: str, table: TableSpec, f: FieldSpec
    ) -> list[tuple[str, str]]:
        rows = self.max_rows(tname) if tname in self.tables else 0
        src = f.source
        if src in ("sequence", "uuid"):
            return []
        if src == "pattern" and f.pattern is not None:
            space = pattern_space(f.pattern)
            if space < rows:
                return [(loc, f"unique pattern has {space:,} values, fewer than {rows:,} rows")]
            return []
        if src == "distribution" and isinstance(f.distribution, Uniform) and f.type == "int":
            lo = f.distribution.low if f.distribution.low is not None else f.min
            hi = f.distribution.high if f.distribution.high is not None else f.max
            if isinstance(lo, int | float) and isinstance(hi, int | float):
                space = int(math.floor(hi) - math.ceil(lo) + 1)
                if space < rows:
                    return [
                        (loc, f"unique int range has {space:,} values, fewer than {rows:,} rows")
                    ]
                return []
        if src == "choices":
            n = len(f.choice_source().values)
            if n < rows:
                return [(loc, f"unique choices has {n:,} values, fewer than {rows:,} rows")]
            return []
        if src == "expr" and f.expr is not None:
            try:
                names = expr_names(f.expr)
            except SyntaxError:
                return []
            if any(
                table.fields[n].unique
                or table.key == n
                or table.fields[n].source in ("sequence", "uuid")
                for n in names
                if n in table.fields
            ):
                return []
            return [(loc, "a unique expr must include a unique field (e.g. the key)")]
        return [
            (
                loc,
                f"'{src}' values cannot be made unique; use sequence, uuid, pattern, "
                "a uniform int range, or an expr including a unique field",
            )
        ]

    def _cycle_problems(self) -> list[tuple[str, str]]:
        try:
            self.table_order()
        except SpecError as exc:
            return exc.problems
        return []

    def dependencies(self, tname: str) -> set[str]:
        """Tables that must be generated before `tname` (fk parents, per_parent parent)."""
        table = self.tables[tname]
        deps = {f.fk.table for f in table.fields.values() if f.fk and f.fk.table in self.tables}
        if table.per_parent and table.per_parent.table in self.tables:
            deps.add(table.per_parent.table)
        deps.discard(tname)
        return deps

    def table_order(self) -> list[str]:
        """Tables in generation order (parents first); `SpecError` on an fk cycle."""
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*path[path.index(name) :], name])
                raise SpecError([(f"tables.{name}", f"foreign keys form a cycle: {cycle}")])
            state[name] = 1
            for dep in sorted(self.dependencies(name)):
                visit(dep, [*path, name])
            state[name] = 2
            order.append(name)

        for name in self.tables:
            visit(name, [])
        return order


_MODEL_NAMES = {"ChoiceSource", "FakerSource", "ByCategory", "SequenceSource", "TimeSource"}


def _located(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic errors as (location, message), union branches folded into one line each."""
    by_loc: dict[str, list[str]] = {}
    for err in exc.errors():
        parts = [
            str(p)
            for p in err["loc"]
            if not (
                isinstance(p, str) and ("[" in p or p in _MODEL_NAMES or p.startswith("function-"))
            )
        ]
        loc = ".".join(parts)
        msg = err["msg"].removeprefix("Value error, ")
        if msg not in by_loc.setdefault(loc, []):
            by_loc[loc].append(msg)
    out = []
    for loc, msgs in by_loc.items():
        out.append(
            (loc, msgs[0] if len(msgs) == 1 else "invalid value (" + "; or ".join(msgs[:3]) + ")")
        )
    return out


def _distribution_problems(loc: str, f: FieldSpec, table: TableSpec) -> list[tuple[str, str]]:
    d = f.distribution
    out: list[tuple[str, str]] = []
    for pname in ("low", "high", "mean", "std", "sigma", "lam"):
        value = getattr(d, pname, None)
        if isinstance(value, ByCategory):
            cat = table.fields.get(value.by)
            if cat is None:
                out.append((f"{loc}.distribution.{pname}.by", f"unknown field {value.by!r}"))
            elif cat.source not in ("choices", "lookup"):
                out.append((f"{loc}.distribution.{pname}.by", "must be a choices or lookup field"))
    if isinstance(d, Uniform):
        lo = d.low if d.low is not None else f.min
        hi = d.high if d.high is not None else f.max
        if lo is None or hi is None:
            out.append((f"{loc}.distribution", "uniform needs low/high or the field's min/max"))
        elif isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            out.append((f"{loc}.distribution", f"low {lo} > high {hi}"))
    if isinstance(d, Normal) and isinstance(d.std, int | float) and d.std < 0:
        out.append((f"{loc}.distribution.std", "must be >= 0"))
    if isinstance(d, LogNormal) and isinstance(d.sigma, int | float) and d.sigma < 0:
        out.append((f"{loc}.distribution.sigma", "must be >= 0"))
    if isinstance(d, Poisson) and isinstance(d.lam, int | float) and not 0 <= d.lam <= 1e6:
        out.append((f"{loc}.distribution.lam", "must be in [0, 1e6]"))
    return out


PATTERN_ALPHABETS = {
    "#": "0123456789",
    "?": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "@": "abcdefghijklmnopqrstuvwxyz",
    "*": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
}


def pattern_parts(pattern: str) -> list[str]:
    """Split a pattern into literal strings and single placeholder characters.

    A backslash makes the next character literal. Placeholders are returned as the
    one-character keys of `PATTERN_ALPHABETS`; literals are returned prefixed by '='.
    """
    parts: list[str] = []
    literal = ""
    escaped = False
    for ch in pattern:
        if escaped:
            literal += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in PATTERN_ALPHABETS:
            if literal:
                parts.append("=" + literal)
                literal = ""
            parts.append(ch)
        else:
            literal += ch
    if literal:
        parts.append("=" + literal)
    return parts


def pattern_space(pattern: str) -> int:
    """How many distinct values a pattern can produce."""
    space = 1
    for part in pattern_parts(pattern):
        if part in PATTERN_ALPHABETS:
            space *= len(PATTERN_ALPHABETS[part])
    return space


def expr_names(source: str) -> set[str]:
    """Field names an expression refers to (function names excluded)."""
    tree = ast.parse(source.strip(), mode="eval")
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs}
    return names - EXPR_CONSTANTS


EXPR_CONSTANTS = {"true", "false", "null"}
"""Names that are constants in the expression language, not fields."""
