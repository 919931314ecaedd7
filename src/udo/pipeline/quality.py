"""The cleaning quality report: cleaning scored against the generator's ground truth.

For each injected defect (from ``_defects/<table>.parquet``) the report says whether the
row was rejected (quarantined, or removed as a duplicate), repaired (kept in Silver with
the clean value restored) or missed (kept with a value that differs from the clean one).
Rows without an injected defect that were rejected anyway are false rejects, counted by
the rule that rejected them (an order whose customer was quarantined is rejected by the
foreign-key rule: a consequence, shown as such).
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from udo.domain.ledger import DefectScore, QualityReport, TableQuality
from udo.domain.manifest import BronzeManifest
from udo.pipeline import delta
from udo.pipeline.bronze import BronzeStore
from udo.pipeline.engines.base import BATCH_ID, REASONS, SOURCE_ROW

REPAIRABLE = {"case_whitespace", "mixed_timestamp_format", "comma_decimal"}


def quality_report(
    bronze: BronzeStore,
    manifest: BronzeManifest,
    silver_uris: dict[str, str],
    quarantine_uris: dict[str, str],
) -> QualityReport | None:
    """The report for a generated batch; None when the batch has no ground truth."""
    report = QualityReport()
    for table, tm in manifest.tables.items():
        if tm.defects is None or tm.defects.file is None or table not in silver_uris:
            continue
        raw = bronze.storage.read_bytes(
            bronze.file_key(manifest.dataset, manifest.batch_id, tm.defects.file)
        )
        truth = pl.read_parquet(io.BytesIO(raw))
        silver = _batch_rows(silver_uris[table], manifest.batch_id)
        quarantine = _batch_rows(quarantine_uris[table], manifest.batch_id)
        report.tables[table] = _score(truth, silver, quarantine, tm.records)
    return report if report.tables else None


def _batch_rows(uri: str, batch_id: str) -> pl.DataFrame:
    table = delta.read(uri)
    if table.num_columns == 0:
        return pl.DataFrame({SOURCE_ROW: []}, schema={SOURCE_ROW: pl.Int64})
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.filter(pl.col(BATCH_ID) == batch_id)


def _score(
    truth: pl.DataFrame, silver: pl.DataFrame, quarantine: pl.DataFrame, records: int
) -> TableQuality:
    seen = [f[SOURCE_ROW].to_numpy() for f in (silver, quarantine) if len(f)]
    size = max(records, *(int(a.max()) + 1 for a in seen), 1)
    where = np.zeros(size, dtype=np.int8)  # 0 removed, 1 Silver, 2 quarantine
    where[silver[SOURCE_ROW].to_numpy()] = 1
    where[quarantine[SOURCE_ROW].to_numpy()] = 2
    quality = TableQuality()
    rows = truth["row"].to_numpy()
    kinds = truth["defect"].to_numpy()
    place = where[rows]
    # Silver values of the defective rows kept there, as text, to compare with the truth
    kept = truth.with_columns(pl.Series("__place", place)).filter(pl.col("__place") == 1)
    text: dict[int, str | None] = {}
    for column in kept["column"].drop_nulls().unique().to_list():
        if column not in silver.columns:
            continue
        part = kept.filter(pl.col("column") == column).select("row")
        joined = part.join(
            silver.select(
                pl.col(SOURCE_ROW).alias("row"), pl.col(column).cast(pl.String).alias("__v")
            ),
            on="row",
            how="left",
        )
        text.update(zip(joined["row"].to_list(), joined["__v"].to_list(), strict=True))
    for kind in sorted(set(kinds.tolist())):
        score = quality.defects.setdefault(kind, DefectScore())
        mask = kinds == kind
        score.injected = int(mask.sum())
        if kind == "duplicate":
            # the copy follows its original: caught unless both reached Silver
            both = (place[mask] == 1) & (where[np.maximum(rows[mask] - 1, 0)] == 1)
            score.missed = int(both.sum())
            score.rejected = score.injected - score.missed
            continue
        score.rejected = int((place[mask] != 1).sum())
        sub = truth.filter(pl.Series(mask) & pl.Series(place == 1))
        for r, clean in zip(sub["row"].to_list(), sub["clean_value"].to_list(), strict=True):
            if kind in REPAIRABLE and text.get(r) is not None and text.get(r) == clean:
                score.repaired += 1
            else:
                score.missed += 1
    defective = np.zeros(size, dtype=bool)
    defective[rows] = True
    quality.clean_rows = records - int(defective[:records].sum())
    false_q = quarantine.filter(~pl.Series(defective[quarantine[SOURCE_ROW].to_numpy()]))
    by_rule: dict[str, int] = {}
    for reasons in false_q[REASONS].to_list():
        for rule in reasons:
            by_rule[rule] = by_rule.get(rule, 0) + 1
    # Dedupe keeps the last copy: the original of an injected duplicate is removed in its
    # place, which is the duplicate being resolved, not a false reject.
    twins = np.zeros(size, dtype=bool)
    dups = rows[kinds == "duplicate"]
    twins[dups[dups > 0] - 1] = True
    removed = int(((where[:records] == 0) & ~defective[:records] & ~twins[:records]).sum())
    if removed:
        by_rule["duplicates.removed"] = removed
    quality.false_rejects = len(false_q) + removed
    quality.false_rejects_by_rule = dict(sorted(by_rule.items()))
    return quality
