"""index journal: changes to papers' index documents, not yet applied to the index

Revision ID: 0004_index_journal
Revises: 0001
Create Date: 2026-11-30

Existing papers get one row each, so an index built before the journal existed (it may
have missed papers: issue 11) is checked against the store once, by whichever process
applies the journal first.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004_index_journal"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_journal",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("index_journal", schema=None) as batch_op:
        batch_op.create_index("ix_index_journal_arxiv_id", ["arxiv_id"], unique=False)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.execute(
        sa.text(
            "INSERT INTO index_journal (arxiv_id, reason, at) "
            "SELECT arxiv_id, 'upgrade', :now FROM papers ORDER BY id"
        ).bindparams(now=now)
    )


def downgrade() -> None:
    with op.batch_alter_table("index_journal", schema=None) as batch_op:
        batch_op.drop_index("ix_index_journal_arxiv_id")
    op.drop_table("index_journal")
