"""Staged state bodies prove they are alive: ``tf_state_blobs.alive_at`` is moved forward by
the upload that stages the blob while its request runs (``storage.state_staging``), so the
housekeeping can tell a crashed upload's chunks (no heartbeat for a long while) from a slow
live one, and drop the former whatever its age.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Stored as naive UTC (see storage.tables.UtcDateTime); plain DateTime at the SQL level.
UtcDateTime = sa.DateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tf_state_blobs") as batch:
        batch.add_column(sa.Column("alive_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tf_state_blobs") as batch:
        batch.drop_column("alive_at")
