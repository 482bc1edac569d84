"""for you: "not interested" marks, feed settings, map of the field builds

Revision ID: 0006_foryou
Revises: 0005_one_head
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_foryou"
down_revision = "0005_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "not_interested",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "paper_id", name="uq_not_interested_user_paper"),
    )
    op.create_index("ix_not_interested_user_id", "not_interested", ["user_id"], unique=False)
    op.create_table(
        "rec_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("reset_at", sa.DateTime(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("digest_collections", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "map_builds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("map_builds")
    op.drop_table("rec_settings")
    op.drop_index("ix_not_interested_user_id", table_name="not_interested")
    op.drop_table("not_interested")
