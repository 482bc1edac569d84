"""search sorts: the papers' sort keys by id, read from an index alone

Revision ID: 0012_sort_keys_by_id
Revises: 0011_paper_authors
Create Date: 2026-12-08

A newest / most upvoted search with few matches reads their sort keys by id
(``store.match_sort._by_id``: ``SORT_KEYS_OF``, the first of each chunk of 900 ids in
the sort's order). Each id was found in ``ix_papers_arxiv_id`` and its row then read
from the table for ``hidden``, ``published_at`` and the votes: rows that hold the
abstract too, so ~4 µs a member on SQLite (``_by_id`` of 5,000 random members of the
74.7k papers: 20.7-22.6 ms p50, of 500: 2.7-3.5). This index holds those columns beside
the id (PostgreSQL: as ``INCLUDE`` columns of an index on the id; SQLite has no
``INCLUDE``, so they are key columns after it), and the read never leaves it: 7.9-9.0
and 1.1 ms for the same members, 13-21 and 1.7-2.8 at 1M papers against 28-37 and
4.7-4.9 (docs/benchmarks.md, "Sort keys by id from an index alone"). 3.5 MB at 74.7k
papers (~47 bytes a paper); built in 3 s on a 1M-paper database.
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
