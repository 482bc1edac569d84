"""people: ``paper_authors``, who wrote what, indexed by normalised name

Revision ID: 0011_paper_authors
Revises: 0010_sort_walks
Create Date: 2026-12-02

Author pages and author follows found a name's papers with a ``LIKE`` over every
paper's JSON ``authors`` text (a scan of the whole table: 369 ms for ``/authors/…`` at
74.7k papers, growing with the corpus). This table holds one row per author of a paper,
its key (spaces collapsed, casefolded: ``models.people.follow_key`` when written) and the
name as written, so a name's papers are one index lookup. The store writes it with
``papers.authors`` from then on; this revision fills it from the papers there are.
"""

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0011_paper_authors"
down_revision = "0010_sort_walks"
branch_labels = None
depends_on = None

_BATCH = 5000

_papers = sa.table("papers", sa.column("id", sa.Integer), sa.column("authors", sa.JSON))


def _key(name: str) -> str:
    """``follow_key`` for an author as of this revision (frozen here: a later change to
    it needs its own revision to rewrite the keys)."""
    return " ".join(name.split()).casefold()


def _rows(conn: sa.Connection) -> Iterator[list[dict[str, object]]]:
    """The rows of every paper, ``_BATCH`` papers at a time, in id order."""
    last = 0
    while True:
        batch = conn.execute(
            sa.select(_papers.c.id, _papers.c.authors)
            .where(_papers.c.id > last)
            .order_by(_papers.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1][0]
        yield [
            {"paper_id": pid, "position": i, "key": _key(name), "name": name}
            for pid, authors in batch
            for i, name in enumerate(authors or [])
        ]


def upgrade() -> None:
    table = op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    assert table is not None
    conn = op.get_bind()
    for rows in _rows(conn):
        if rows:
            conn.execute(table.insert(), rows)
    # after the fill: building the index once is quicker than keeping it up row by row
    op.create_index("ix_paper_authors_key", "paper_authors", ["key", "paper_id"])


def downgrade() -> None:
    op.drop_index("ix_paper_authors_key", table_name="paper_authors")
    op.drop_table("paper_authors")
