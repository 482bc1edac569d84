"""which tables a change that declared nothing wrote: a signup keeps the kept rankings

Revision ID: 0009_change_tables
Revises: 0008_data_changes
Create Date: 2026-12-01

``data_changes.written`` (``store.versions``): nullable, so the rows already there (and
those an older process still writes) read as "any table", which is always safe.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_change_tables"
down_revision = "0008_data_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_changes") as batch_op:
        batch_op.add_column(sa.Column("written", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_changes") as batch_op:
        batch_op.drop_column("written")
