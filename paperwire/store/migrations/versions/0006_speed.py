"""the data version: one row every data-changing commit raises (page cache, ETags)

Revision ID: 0006_speed
Revises: 0005_one_head
Create Date: 2026-12-01

The row itself is written by the first commit that changes data (an upsert), so a
database copied by ``paperwire migrate`` brings its own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_speed"
down_revision = "0005_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("data_version")
