"""Notifications' reminders: when a reservation was reminded of before it starts, and when
an open incident's commander was last reminded to post an update (each is told once per
occasion, by whichever server gets there first). A partial index on given-up deliveries (they
are few) lets a target's health be read without scanning its history. (No full index on
(target, id): SQLite's planner would prefer it to the partial index of open deliveries and
walk a target's whole history to find its oldest open one.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Stored as naive UTC (see storage.tables.UtcDateTime); plain DateTime at the SQL level.
UtcDateTime = sa.DateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_GIVEN_UP = "state = 'given-up'"


def upgrade() -> None:
    op.add_column("reservations", sa.Column("reminded_at", UtcDateTime(), nullable=True))
    op.add_column("incidents", sa.Column("update_reminded_at", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_event_deliveries_given_up",
        "event_deliveries",
        ["target", "id"],
        sqlite_where=sa.text(_GIVEN_UP),
        postgresql_where=sa.text(_GIVEN_UP),
    )


def downgrade() -> None:
    op.drop_index("ix_event_deliveries_given_up", table_name="event_deliveries")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("update_reminded_at")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
