"""Gold marts, declared: a Silver table, left joins, a group-by and measures.

Every engine computes a mart from the same declaration. Measures combine columns with
``+ - * /`` only, so the three engines agree to the last digit: sums of decimals stay
decimals, and means are rounded half away from zero to the scale of their input.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Measure(_Model):
    """An aggregate: `fn` over `expr` (columns with + - * /; '*' counts rows)."""

    fn: Literal["sum", "count", "count_distinct", "min", "max", "mean"]
    expr: str = "*"


class Join(_Model):
    """Left join another Silver table on a key column present in both."""

    table: str
    key: str
    columns: list[str] = Field(default_factory=list, description="columns to bring in")


class GroupKey(_Model):
    """A group-by column, optionally truncated to a day or a month."""

    column: str
    name: str | None = None
    grain: Literal["day", "month"] | None = None

    @property
    def output(self) -> str:
        """The mart's column name."""
        return self.name or self.column


class MartSpec(_Model):
    """A Gold mart."""

    name: str
    source: str
    joins: list[Join] = Field(default_factory=list)
    group_by: list[GroupKey]
    measures: dict[str, Measure]
