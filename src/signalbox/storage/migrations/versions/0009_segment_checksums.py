"""Each stored segment of a state body carries a checksum of its stored bytes
(``tf_state_chunks.checksum``: CRC-32 bound to the blob and the segment's place, see
``repositories.tfstate.segment_checksum``), written with the segment. A read checks those
instead of the whole body's MD5 when the body's segments carry one; the segments stored
before this revision have none (NULL) and keep the MD5 check.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN on both databases: the table (every stored body) is not copied
    op.add_column("tf_state_chunks", sa.Column("checksum", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tf_state_chunks") as batch:
        batch.drop_column("checksum")
