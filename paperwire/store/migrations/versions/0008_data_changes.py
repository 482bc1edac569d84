"""what each data version changed: the page cache drops only the pages a vote touches

Revision ID: 0008_data_changes
Revises: 0007_one_head
Create Date: 2026-12-01

One row per data version (``store.versions``), written in the same transaction as the
version it describes; older rows are pruned by the writers themselves.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_data_changes"
down_revision = "0007_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_changes",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )


def downgrade() -> None:
    op.drop_table("data_changes")
