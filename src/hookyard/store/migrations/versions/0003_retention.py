"""retention: an index per settled delivery state on updated_at, for pruning

Revision ID: 0003_retention
Revises: 0002_queue
Create Date: 2026-11-29 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_retention"
down_revision = "0006_catchup"
branch_labels = None
depends_on = None

SETTLED = ("succeeded", "failed", "held")


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for state in SETTLED:
            where = sa.text(f"state = '{state}'")
            batch_op.create_index(
                f"ix_deliveries_{state}_at",
                ["updated_at"],
                unique=False,
                sqlite_where=where,
                postgresql_where=where,
            )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for state in SETTLED:
            batch_op.drop_index(f"ix_deliveries_{state}_at")
