"""one head again: joins the 0006 branches (discussions, people, speed, for you, alerts)

Revision ID: 0007_one_head
Revises: 0006_discussions, 0006_people, 0006_speed, 0006_foryou, 0006_alerts
Create Date: 2026-12-01

The five revisions were written side by side and touch different tables; this merge point
changes nothing and gives later revisions a single parent.
"""

revision = "0007_one_head"
down_revision = ("0006_discussions", "0006_people", "0006_speed", "0006_foryou", "0006_alerts")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to do: a merge point."""


def downgrade() -> None:
    """Nothing to undo: a merge point."""
