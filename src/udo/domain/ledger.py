"""The run ledger: nothing lost, per table, and the cleaning quality report."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

Layer = Literal["silver", "gold"]
LoadMode = Literal["batch", "current", "full"]
"""batch: this batch's Silver rows by `replace_batch`; current: the latest row per key by
`upsert`; full: the whole table (a mart, or a Silver current view) by `replace_all`."""


class TableLedger(BaseModel):
    """Where every Bronze row of one table went."""

    table: str
    bronze_in: int
    silver_out: int
    quarantined: int
    duplicates_removed: int
    violations: dict[str, int] = Field(default_factory=dict, description="rows per rule id")
    actions: dict[str, str] = Field(default_factory=dict, description="action per rule id")
    missing_columns: list[str] = Field(default_factory=list)
    extra_columns: list[str] = Field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """bronze_in = silver_out + quarantined + duplicates_removed."""
        return self.bronze_in == self.silver_out + self.quarantined + self.duplicates_removed


class DefectScore(BaseModel):
    """How cleaning handled one kind of injected defect in one table."""

    injected: int = 0
    rejected: int = 0
    """Sent to quarantine (or removed, for duplicates)."""
    repaired: int = 0
    """Kept in Silver with the clean value restored (case, formats, decimal commas)."""
    missed: int = 0
    """Kept in Silver with a value that differs from the clean one."""

    @property
    def recall(self) -> float:
        """Share of injected defects that were caught (rejected or repaired)."""
        return (self.rejected + self.repaired) / self.injected if self.injected else 1.0


class TableQuality(BaseModel):
    """The cleaning quality of one table against the generator's ground truth."""

    defects: dict[str, DefectScore] = Field(default_factory=dict)
    clean_rows: int = 0
    false_rejects: int = 0
    """Rows without an injected defect that were quarantined or removed."""
    false_rejects_by_rule: dict[str, int] = Field(default_factory=dict)


class QualityReport(BaseModel):
    """Recall per defect kind and false rejects, per table."""

    tables: dict[str, TableQuality] = Field(default_factory=dict)

    def totals(self) -> dict[str, DefectScore]:
        """Scores summed over tables, per defect kind."""
        out: dict[str, DefectScore] = {}
        for t in self.tables.values():
            for kind, s in t.defects.items():
                acc = out.setdefault(kind, DefectScore())
                acc.injected += s.injected
                acc.rejected += s.rejected
                acc.repaired += s.repaired
                acc.missed += s.missed
        return out


class LoadedTable(BaseModel):
    """One table loaded into one destination."""

    destination: str
    target: str
    layer: Layer
    source: str
    mode: LoadMode
    rows: int
    method: Literal["bulk", "rows"] | None = None
    seconds: float = 0.0


class ReconciliationCheck(BaseModel):
    """One comparison of the lake with a destination (``count`` or ``sum(<column>)``)."""

    destination: str
    target: str
    check: str
    expected: Decimal
    actual: Decimal | None
    ok: bool


class LoadReport(BaseModel):
    """Rows loaded per destination and table, and the reconciliation checks."""

    dataset: str
    batch_id: str
    tables: list[LoadedTable] = Field(default_factory=list)
    checks: list[ReconciliationCheck] = Field(default_factory=list)

    @property
    def rows(self) -> dict[str, dict[str, int]]:
        """Rows loaded: destination → table → rows."""
        out: dict[str, dict[str, int]] = {}
        for t in self.tables:
            out.setdefault(t.destination, {})[t.target] = t.rows
        return out

    @property
    def reconciled(self) -> bool:
        """Whether every check passed."""
        return all(c.ok for c in self.checks)

    def mismatches(self) -> list[ReconciliationCheck]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]


class Ledger(BaseModel):
    """A cleaning run of one batch."""

    dataset: str
    batch_id: str
    engine: str
    rules_version: str
    tables: dict[str, TableLedger] = Field(default_factory=dict)
    marts: dict[str, int] = Field(default_factory=dict, description="rows per Gold mart")
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    quality: QualityReport | None = None
    load: LoadReport | None = Field(
        None, description="rows loaded per destination and table, and the reconciliation checks"
    )

    @property
    def balanced(self) -> bool:
        """Whether every table balances."""
        return all(t.balanced for t in self.tables.values())
