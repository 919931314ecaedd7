"""Runs and their transitions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Frozen: a revision never imports udo's live table definitions, which move on. Types:
timestamps are zone-aware on PostgreSQL and ``DATETIME(6)`` (UTC, microseconds) on
MySQL/MariaDB; JSON is ``JSONB`` on PostgreSQL. MySQL tables are InnoDB, utf8mb4, with a
binary collation so ids, keys and names compare exactly as on the other backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _timestamp() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create ``runs`` and ``run_transitions``."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dataset", sa.String(255), nullable=False),
        sa.Column("batch_id", sa.String(255), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(128)),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("destinations", _json(), nullable=False),
        sa.Column("requested_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("ledger", _json()),
        sa.Column("stage_seconds", _json(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_runs_idempotency_key", "runs", ["idempotency_key"])
    op.create_index("ix_runs_requested_at", "runs", ["requested_at"])
    op.create_index("ix_runs_dataset_requested_at", "runs", ["dataset", "requested_at"])
    op.create_index("ix_runs_status_requested_at", "runs", ["status", "requested_at"])
    op.create_table(
        "run_transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(128)),
        sa.Column("detail", sa.Text()),
        sa.Column("at", _timestamp(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index("ix_run_transitions_run_id", "run_transitions", ["run_id", "id"])


def downgrade() -> None:
    """Drop both tables (and every run in them)."""
    op.drop_table("run_transitions")
    op.drop_table("runs")
