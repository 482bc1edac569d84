"""hardening: shared rate-limit counters, look-alike name keys, account mail in the outbox

Revision ID: 0004_hardening
Revises: 0002, 0003
Create Date: 2026-11-30
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0004_hardening"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


SENT_LOG = sa.table(
    "digest_sent_papers",
    *[
        sa.column(name, sa.Integer)
        for name in ("id", "subscription_id", "outbox_id", "saved_search_id")
    ],
    sa.column("arxiv_id", sa.String),
    sa.column("created_at", sa.DateTime),
)


@contextmanager
def _keeping_sent_log() -> Iterator[None]:
    """SQLite rebuilds ``digest_outbox`` for a batch change (copy, drop, rename); the
    drop's ON DELETE CASCADE empties ``digest_sent_papers``. Put its rows back after."""
    conn = op.get_bind()
    kept = [dict(r._mapping) for r in conn.execute(sa.select(*SENT_LOG.c)).all()]
    yield
    count = conn.execute(sa.select(sa.func.count()).select_from(SENT_LOG)).scalar()
    if count != len(kept):
        conn.execute(SENT_LOG.delete())
        if kept:
            conn.execute(SENT_LOG.insert(), kept)


def upgrade() -> None:
    from paperwire.text.confusables import skeleton

    op.create_table(
        "rate_limits",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", "window_start"),
    )
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limits_expires_at", ["expires_at"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_name_key"), ["name_key"], unique=False)
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("display_name", sa.String))
    conn = op.get_bind()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.display_name)).all():
        conn.execute(
            sa.text("UPDATE users SET name_key = :key WHERE id = :id"),
            {"key": skeleton(name), "id": user_id},
        )

    with _keeping_sent_log(), op.batch_alter_table("digest_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="digest", nullable=False)
        )
        batch_op.alter_column("subscription_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM digest_outbox WHERE subscription_id IS NULL")
    with _keeping_sent_log(), op.batch_alter_table("digest_outbox", schema=None) as batch_op:
        batch_op.alter_column("subscription_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kind")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_name_key"))
        batch_op.drop_column("name_key")
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limits_expires_at")
    op.drop_table("rate_limits")
