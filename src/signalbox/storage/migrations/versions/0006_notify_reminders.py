"""Notifications' reminders: when a reservation was reminded of before it starts, and when
an open incident's commander was last reminded to post an update (each is told once per
occasion, by whichever server gets there first).

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


def upgrade() -> None:
    op.add_column("reservations", sa.Column("reminded_at", UtcDateTime(), nullable=True))
    op.add_column("incidents", sa.Column("update_reminded_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("update_reminded_at")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
