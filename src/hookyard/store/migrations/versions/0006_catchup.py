"""catch-up: per-(client, url) sequence numbers, held deliveries while Stopped, url probes

Revision ID: 0006_catchup
Revises: 0002_queue
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hookyard.store.schema

revision = "0006_catchup"
down_revision = "0002_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_sequences",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_callback_sequences_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("client_id", "callback_url", name=op.f("pk_callback_sequences")),
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("auto_reactivate", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("last_probe_at", hookyard.store.schema.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("held_dropped", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("sequence", sa.BigInteger(), nullable=True))
        batch.create_index(
            "ix_deliveries_subscription_sequence", ["subscription_id", "sequence"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_subscription_sequence")
        batch.drop_column("sequence")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("held_dropped")
        batch.drop_column("last_probe_at")
        batch.drop_column("auto_reactivate")
    op.drop_table("callback_sequences")
