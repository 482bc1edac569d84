"""search sorts: the papers' sort keys by id, read from an index alone

Revision ID: 0012_sort_keys_by_id
Revises: 0011_paper_authors
Create Date: 2026-12-08

A newest / most upvoted search with few matches reads their sort keys by id
(``store.match_sort._by_id``: ``SORT_KEYS_OF``, the first of each chunk of 900 ids in
the sort's order). Each id was found in ``ix_papers_arxiv_id`` and its row then read
from the table for ``hidden``, ``published_at`` and the votes: rows that hold the
abstract too, so ~3-4 µs a member on SQLite (5,000 random members of the 74.7k papers:
16.8 ms, 500: 1.9). This index holds those columns beside the id (PostgreSQL: as
``INCLUDE`` columns of an index on the id; SQLite has no ``INCLUDE``, so they are key
columns after it), and the read never leaves it: 7.8 and 0.64 ms for the same members
(docs/benchmarks.md, "Sort keys by id from an index alone"). ~60 bytes a paper.
"""

from alembic import op

revision = "0012_sort_keys_by_id"
down_revision = "0011_paper_authors"
branch_labels = None
depends_on = None

_INDEX = "ix_papers_sort_keys"
_KEYS = ["published_at", "source_upvotes", "local_upvotes"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(_INDEX, "papers", ["arxiv_id", "hidden"], postgresql_include=_KEYS)
    else:
        op.create_index(_INDEX, "papers", ["arxiv_id", "hidden", *_KEYS])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="papers")
