"""one head again: joins the three 0004 branches (hardening, index journal, search sort)

Revision ID: 0005_one_head
Revises: 0004_hardening, 0004_index_journal, 0004_search_sort
Create Date: 2026-12-01

The three revisions were written side by side and touch different tables; this merge point
changes nothing and gives later revisions a single parent.
"""

revision = "0005_one_head"
down_revision = ("0004_hardening", "0004_index_journal", "0004_search_sort")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to do: a merge point."""


def downgrade() -> None:
    """Nothing to undo: a merge point."""
