"""Helpers shared by the benchmarks in bench/: timing, machine facts, tables, results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs of one measurement over `rows` rows."""

    name: str
    rows: int
    seconds: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """Median seconds of the runs."""
        return statistics.median(self.seconds)

    @property
    def rows_per_s(self) -> float:
        """Rows per second of the median run."""
        return self.rows / self.median if self.median > 0 else float("inf")

    @property
    def spread(self) -> float:
        """Slowest run / fastest run - 1: how noisy the repeats were (0.10 = 10 %)."""
        return max(self.seconds) / min(self.seconds) - 1 if min(self.seconds) > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary, every run included."""
        return {
            "name": self.name,
            "rows": self.rows,
            "seconds": self.seconds,
            "median_seconds": self.median,
            "rows_per_s": self.rows_per_s,
            "spread": self.spread,
            **self.extra,
        }


def now() -> float:
    """A monotonic clock for timing."""
    return time.perf_counter()


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def package_versions(names: Sequence[str]) -> dict[str, str | None]:
    """Installed versions of the named distributions (None if missing)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine_info(packages: Sequence[str] = ()) -> dict[str, Any]:
    """Facts about the machine and interpreter, to read the numbers against."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": load_average(),
        "packages": package_versions(packages),
    }
    try:
        import psutil

        info["memory_total_bytes"] = psutil.virtual_memory().total
        info["cpus_physical"] = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    return info


def fmt_int(n: float) -> str:
    """12,345,678."""
    return f"{round(n):,}"


def fmt_ratio(x: float | None) -> str:
    """1,234.5x, or '-' when there is nothing to compare with."""
    if x is None:
        return "-"
    return f"{x:,.1f}x" if x < 100 else f"{x:,.0f}x"


def fmt_mib(n_bytes: float) -> str:
    """Bytes as MiB."""
    return f"{n_bytes / 2**20:,.0f} MiB"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def write_results(name: str, data: dict[str, Any], folder: Path = RESULTS_DIR) -> Path:
    """Write `data` as bench/results/<name>-<UTC timestamp>.json; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path
