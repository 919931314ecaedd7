"""The run ledger: nothing lost, per table, and the cleaning quality report."""

from __future__ import annotations

from pydantic import BaseModel, Field


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

    @property
    def balanced(self) -> bool:
        """Whether every table balances."""
        return all(t.balanced for t in self.tables.values())
