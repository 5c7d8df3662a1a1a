"""operations: callback host approvals and worker heartbeats

Revision ID: 0005_ops
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hookyard.store.schema

revision = "0005_ops"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", hookyard.store.schema.UTCDateTime(), nullable=False),
        sa.Column("last_requested_at", hookyard.store.schema.UTCDateTime(), nullable=False),
        sa.Column("decided_at", hookyard.store.schema.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_approvals_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("client_id", "host", name="uq_approvals_client_host"),
    )
    op.create_index("ix_approvals_status", "approvals", ["status", "requested_at"])
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(length=80), nullable=False),
        sa.Column("hostname", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", hookyard.store.schema.UTCDateTime(), nullable=False),
        sa.Column("beat_at", hookyard.store.schema.UTCDateTime(), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
    op.drop_index("ix_approvals_status", table_name="approvals")
    op.drop_table("approvals")
