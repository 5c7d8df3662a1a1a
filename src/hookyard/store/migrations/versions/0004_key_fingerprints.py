"""key fingerprints and the shared token failure count

`key_fingerprints` lets every process check at start that its JWT signing keys and secret-sealing
keys are the ones the database has seen (a hash, never the key). `token_failures` is the token
endpoint's failure count per client id and source address, shared by every API process.

Revision ID: 0004_key_fingerprints
Revises: 0002_queue
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hookyard.store.schema

revision = "0004_key_fingerprints"
down_revision = "0003_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_fingerprints",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", hookyard.store.schema.UTCDateTime(), nullable=False),
        sa.Column("current_since", hookyard.store.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "kid", name=op.f("pk_key_fingerprints")),
    )
    op.create_table(
        "token_failures",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", hookyard.store.schema.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", hookyard.store.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", "address", name=op.f("pk_token_failures")),
    )
    op.create_index(
        op.f("ix_token_failures_window_start"), "token_failures", ["window_start"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_token_failures_window_start"), table_name="token_failures")
    op.drop_table("token_failures")
    op.drop_table("key_fingerprints")
