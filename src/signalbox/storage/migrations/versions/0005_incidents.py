"""Incidents: the incident itself, its updates as posted and its follow-up actions; a deploy
may be the hotfix of an incident, an approval may be given by an incident's commander, and
a hold may be suspended by an incident's freeze (to return when it is resolved).

At most one incident is open per environment: a partial unique index says so.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Stored as naive UTC (see storage.tables.UtcDateTime); plain DateTime at the SQL level.
UtcDateTime = sa.DateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OPEN = "status != 'resolved'"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("commander", sa.String(length=128), nullable=False),
        sa.Column("responders", sa.JSON(), nullable=False),
        sa.Column("freezes", sa.Boolean(), nullable=False),
        sa.Column("eta", UtcDateTime(), nullable=True),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("at_risk", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment"],
            ["environments.name"],
            name=op.f("fk_incidents_environment_environments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "ix_incidents_open",
        "incidents",
        ["environment"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("eta", UtcDateTime(), nullable=True),
        sa.Column("commander", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
    )
    op.create_index(
        "ix_incident_updates_incident", "incident_updates", ["incident_id", "id"], unique=False
    )
    op.create_table(
        "incident_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_actions_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_actions")),
    )
    op.create_index(
        "ix_incident_actions_incident", "incident_actions", ["incident_id"], unique=False
    )
    # plain ADD COLUMN (no batch copy of tables that others refer to)
    op.add_column("deploys", sa.Column("incident_id", sa.Integer(), nullable=True))
    op.add_column("approvals", sa.Column("as_commander_of", sa.Integer(), nullable=True))
    op.add_column("holds", sa.Column("suspended_by", sa.Integer(), nullable=True))
    op.add_column("holds", sa.Column("suspension_ended_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("suspension_ended_at")
        batch_op.drop_column("suspended_by")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("as_commander_of")
    with op.batch_alter_table("deploys", schema=None) as batch_op:
        batch_op.drop_column("incident_id")
    op.drop_index("ix_incident_actions_incident", table_name="incident_actions")
    op.drop_table("incident_actions")
    op.drop_index("ix_incident_updates_incident", table_name="incident_updates")
    op.drop_table("incident_updates")
    op.drop_index("ix_incidents_open", table_name="incidents")
    op.drop_table("incidents")
