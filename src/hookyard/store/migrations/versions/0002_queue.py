"""queue: pending deliveries indexed by callback host, then due time

The claim walks the hosts with pending deliveries and takes each host's due ones in order, so a
host without room (or a dead host's backlog) is never read by claims for other hosts. This index
replaces `ix_deliveries_due` (due time only), which made a claim walk past every undue or excluded
row in due order.

Revision ID: 0002_queue
Revises: 0001
Create Date: 2026-11-29 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_queue"
down_revision = "0005_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_deliveries_due",
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index(
            "ix_deliveries_host_due",
            ["host", "next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_deliveries_host_due",
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index(
            "ix_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
