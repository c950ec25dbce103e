"""The events table as the notifications' outbox: each event's catalogue version and when it
was fanned out, and one delivery row per (event, notification target).

Events written before this revision are history, not news: they are marked fanned out (at
their own time) so that no notifier ever sends them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Stored as naive UTC (see storage.tables.UtcDateTime); plain DateTime at the SQL level.
UtcDateTime = sa.DateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TO_FAN_OUT = "fanned_out_at IS NULL"
_OPEN_DELIVERY = "state IN ('pending', 'sending', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schema_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fanned_out_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE events SET fanned_out_at = at")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_to_fan_out",
            ["id"],
            unique=False,
            sqlite_where=sa.text(_TO_FAN_OUT),
            postgresql_where=sa.text(_TO_FAN_OUT),
        )

    op.create_table(
        "event_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_deliveries_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_deliveries")),
        sa.UniqueConstraint("event_id", "target", name=op.f("uq_event_deliveries_event_id")),
    )
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_deliveries_open",
            ["target", "id"],
            unique=False,
            sqlite_where=sa.text(_OPEN_DELIVERY),
            postgresql_where=sa.text(_OPEN_DELIVERY),
        )


def downgrade() -> None:
    with op.batch_alter_table("event_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_event_deliveries_open")
    op.drop_table("event_deliveries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_to_fan_out")
        batch_op.drop_column("fanned_out_at")
        batch_op.drop_column("schema_version")
