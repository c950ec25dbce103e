"""Each environment keeps the figures its picture and the gate read on every call: the
durations of its last successful deploys (for the expected deploy duration) and its last
deploy that ran to an end. They are written with the deploy's outcome, so reading them costs
one row per environment instead of a scan of the whole deploy history. Two indexes find the
few active deploys and the reservations not over among the whole history.

Existing databases are filled from their deploys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HISTORY = 10  # core.deploy_stats.DEFAULT_HISTORY when this revision was written
_ACTIVE = "state IN ('queued', 'awaiting-approval', 'running')"


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy of the table: other tables refer to environments)
    op.add_column(
        "environments",
        sa.Column(
            "recent_deploy_seconds", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
        ),
    )
    op.add_column("environments", sa.Column("last_deploy_id", sa.Integer(), nullable=True))
    _fill(op.get_bind())
    op.create_index(
        "ix_deploys_active",
        "deploys",
        ["environment"],
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )
    op.create_index("ix_reservations_ends", "reservations", ["ends"])


def _fill(connection: sa.Connection) -> None:
    environments = sa.table(
        "environments",
        sa.column("name", sa.String),
        sa.column("recent_deploy_seconds", sa.JSON),
        sa.column("last_deploy_id", sa.Integer),
    )
    deploys = sa.table(
        "deploys",
        sa.column("id", sa.Integer),
        sa.column("environment", sa.String),
        sa.column("state", sa.String),
        sa.column("finished_at", sa.DateTime),
        sa.column("duration_seconds", sa.Float),
    )
    for (name,) in connection.execute(sa.select(environments.c.name)).all():
        recent = connection.execute(
            sa.select(deploys.c.duration_seconds)
            .where(
                deploys.c.environment == name,
                deploys.c.state == "succeeded",
                deploys.c.duration_seconds.is_not(None),
            )
            .order_by(deploys.c.finished_at.desc(), deploys.c.id.desc())
            .limit(HISTORY)
        ).scalars()
        last = connection.execute(
            sa.select(sa.func.max(deploys.c.id)).where(
                deploys.c.environment == name, deploys.c.state.in_(["succeeded", "failed"])
            )
        ).scalar()
        connection.execute(
            environments.update()
            .where(environments.c.name == name)
            .values(recent_deploy_seconds=list(reversed(list(recent))), last_deploy_id=last)
        )


def downgrade() -> None:
    op.drop_index("ix_reservations_ends", table_name="reservations")
    op.drop_index("ix_deploys_active", table_name="deploys")
    op.drop_column("environments", "last_deploy_id")
    op.drop_column("environments", "recent_deploy_seconds")
