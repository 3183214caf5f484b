"""sync that never loses an answer: pending threads, quota counters, the age horizon

Revision ID: 0004_sync
Revises: 0003_sessions
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = "0004_sync"
down_revision = "0003_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("default_horizon_days", sa.Integer(), nullable=False, server_default="180")
        )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("horizon_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_threads", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("pending_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sync_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "gmail_quota",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("period", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "period"),
    )


def downgrade() -> None:
    op.drop_table("gmail_quota")
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_column("sync_since")
        batch_op.drop_column("next_retry_at")
        batch_op.drop_column("pending_attempts")
        batch_op.drop_column("pending_threads")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("horizon_days")
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_column("default_horizon_days")
