"""attempt rounds: a redelivered or recovered delivery continues its attempt numbers

Revision ID: 0007_attempt_rounds
Revises: 0006_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_attempt_rounds"
down_revision = "0006_console"
branch_labels = None
depends_on = None


TRIED = "(SELECT COUNT(*) FROM attempts a WHERE a.delivery_id = deliveries.id)"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("earlier_attempts", sa.Integer(), server_default="0", nullable=False)
        )
    # Deliveries redelivered before this revision restarted at 0: their next try follows the
    # attempt rows they already have.
    op.execute(
        f"UPDATE deliveries SET earlier_attempts = {TRIED} - attempts"  # noqa: S608 (no input)
        f" WHERE {TRIED} > attempts"
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("earlier_attempts")
