"""handles: users.handle (unique, URL- and mention-safe) and its look-alike key

Revision ID: 0006_handles
Revises: 0005_one_head
Create Date: 2026-12-01

Existing accounts get a handle derived from their display name (``text.handles.slug``),
numbered in sign-up order where two would meet (``ada``, ``ada-2``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_handles"
down_revision = "0005_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from paperwire.text.handles import candidates, handle_key, slug

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handle", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("handle_key", sa.String(length=200), nullable=True))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("display_name", sa.String))
    conn = op.get_bind()
    taken: set[str] = set()
    rows = conn.execute(sa.select(users.c.id, users.c.display_name).order_by(users.c.id)).all()
    for user_id, name in rows:
        for handle in candidates(slug(name)):
            key = handle_key(handle)
            if key not in taken:
                break
        taken.add(key)
        conn.execute(
            sa.text("UPDATE users SET handle = :handle, handle_key = :key WHERE id = :id"),
            {"handle": handle, "key": key, "id": user_id},
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("handle", existing_type=sa.String(length=30), nullable=False)
        batch_op.alter_column("handle_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint("uq_users_handle", ["handle"])
        batch_op.create_unique_constraint("uq_users_handle_key", ["handle_key"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_handle_key", type_="unique")
        batch_op.drop_constraint("uq_users_handle", type_="unique")
        batch_op.drop_column("handle_key")
        batch_op.drop_column("handle")
