"""people: profiles, follows, authorship claims, cached thumbnails

Revision ID: 0006_people
Revises: 0006_handles
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_people"
down_revision = "0006_handles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_org_id_lower", "papers", [sa.text("lower(organization_id)")])
    op.create_index("ix_papers_org_name_lower", "papers", [sa.text("lower(organization)")])
    op.create_table(
        "profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("show_upvotes", sa.Boolean(), nullable=False),
        sa.Column("digest_follows", sa.Boolean(), nullable=False),
        sa.Column("avatar_key", sa.String(length=200), nullable=True),
        sa.Column("avatar_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", "target", name="uq_follows_user_kind_target"),
    )
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.create_index("ix_follows_kind_target", ["kind", "target"], unique=False)
    op.create_table(
        "author_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=300), nullable=False),
        sa.Column("author_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "paper_id", "author_key", name="uq_author_claims_one"),
    )
    with op.batch_alter_table("author_claims", schema=None) as batch_op:
        batch_op.create_index("ix_author_claims_author_key", ["author_key", "status"], unique=False)
        batch_op.create_index("ix_author_claims_status", ["status"], unique=False)
    op.create_table(
        "thumbnails",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("source_url", sa.String(length=1000), nullable=False),
        sa.Column("media_key", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id"),
    )


def downgrade() -> None:
    op.drop_index("ix_papers_org_name_lower", table_name="papers")
    op.drop_index("ix_papers_org_id_lower", table_name="papers")
    op.drop_table("thumbnails")
    with op.batch_alter_table("author_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_author_claims_status")
        batch_op.drop_index("ix_author_claims_author_key")
    op.drop_table("author_claims")
    with op.batch_alter_table("follows", schema=None) as batch_op:
        batch_op.drop_index("ix_follows_kind_target")
    op.drop_table("follows")
    op.drop_table("profiles")
