"""search sorts: an index for "most upvoted" over a search's whole match set

Revision ID: 0004_search_sort
Revises: 0001
Create Date: 2026-12-01

``PaperStore.sort_page`` walks papers in upvote order (source + local votes, then newest,
then id) until it has a page of a query's matches; without this index every such search
sorts the whole table first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_search_sort"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_papers_upvotes_sort",
        "papers",
        [sa.text("(source_upvotes + local_upvotes)"), "published_at", "arxiv_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_papers_upvotes_sort", table_name="papers")
