"""The Terraform state backend's tables: states, versions, bodies (blobs of
segments), locks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UtcDateTime = sa.DateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tf_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment"],
            ["environments.name"],
            name=op.f("fk_tf_states_environment_environments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tf_states")),
        sa.UniqueConstraint("environment", "name", name=op.f("uq_tf_states_environment")),
    )
    op.create_table(
        "tf_state_blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tf_state_blobs")),
    )
    op.create_table(
        "tf_state_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("lineage", sa.String(length=128), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("author_is_ci", sa.Boolean(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("deploy_id", sa.Integer(), nullable=True),
        sa.Column("fencing_token", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("stream_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("restored_from", sa.BigInteger(), nullable=True),
        sa.Column("pruned_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["state_id"], ["tf_states.id"], name=op.f("fk_tf_state_versions_state_id_tf_states")
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["tf_state_blobs.id"],
            name=op.f("fk_tf_state_versions_blob_id_tf_state_blobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tf_state_versions")),
    )
    with op.batch_alter_table("tf_state_versions", schema=None) as batch_op:
        batch_op.create_index("ix_tf_state_versions_state_id", ["state_id", "id"], unique=False)

    op.create_table(
        "tf_state_chunks",
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["tf_state_blobs.id"],
            name=op.f("fk_tf_state_chunks_blob_id_tf_state_blobs"),
        ),
        sa.PrimaryKeyConstraint("blob_id", "seq", name=op.f("pk_tf_state_chunks")),
    )
    op.create_table(
        "tf_locks",
        sa.Column("state_id", sa.Integer(), nullable=False),
        sa.Column("lock_id", sa.Text(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("owner_is_ci", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["state_id"], ["tf_states.id"], name=op.f("fk_tf_locks_state_id_tf_states")
        ),
        sa.PrimaryKeyConstraint("state_id", name=op.f("pk_tf_locks")),
    )


def downgrade() -> None:
    op.drop_table("tf_locks")
    op.drop_table("tf_state_chunks")
    with op.batch_alter_table("tf_state_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_tf_state_versions_state_id")
    op.drop_table("tf_state_versions")
    op.drop_table("tf_state_blobs")
    op.drop_table("tf_states")
