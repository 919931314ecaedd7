"""The roadmap's Data Routing Logic: a batch's size decides its queue and engine.

Only the Bronze manifest is read, never the data: records <= the threshold go to
small-queue (the fast in-process engine), the rest to large-queue (Spark).
"""

from __future__ import annotations

from dataclasses import dataclass

from udo.domain.manifest import BronzeManifest
from udo.domain.run import Route


@dataclass(frozen=True)
class RoutingDecision:
    """Where a batch goes, and why."""

    route: Route
    records: int
    threshold: int

    @property
    def reason(self) -> str:
        """One line for people."""
        op = "<=" if self.route == "small" else ">"
        return f"{self.records:,} records {op} {self.threshold:,}: {self.route}-queue"


def route_batch(manifest: BronzeManifest, threshold: int = 10_000) -> RoutingDecision:
    """Route by the batch's total records (all tables), from the manifest alone."""
    records = manifest.records
    return RoutingDecision("small" if records <= threshold else "large", records, threshold)
