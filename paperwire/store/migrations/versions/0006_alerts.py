"""alerts: saved searches become alerts (with their ids), webhook deliveries, access tokens

Revision ID: 0006_alerts
Revises: 0005_one_head
Create Date: 2026-12-01

Every ``saved_searches`` row moves into ``alerts`` as kind ``search`` with the same id,
owner, subscription, name, query, filters and creation time, delivered by email as before
(the digest's sent log names alerts by those ids); each gets a fresh private-feed key.
``digest_outbox`` gains ``alert_id`` and ``next_attempt_at`` for webhook rows. The
downgrade moves ``search`` alerts back (the other kinds, webhooks and tokens are lost).
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0006_alerts"
down_revision = "0005_one_head"
branch_labels = None
depends_on = None

SAVED_COLUMNS = ("id", "subscription_id", "user_id", "name", "query", "filters", "created_at")
SENT_COLUMNS = ("id", "subscription_id", "arxiv_id", "outbox_id", "saved_search_id", "created_at")


def _saved_searches_table() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_saved_searches_subscription_id", ["subscription_id"], unique=False
        )
        batch_op.create_index("ix_saved_searches_user_id", ["user_id"], unique=False)


def _table(name: str, *columns: str) -> sa.TableClause:
    types = {
        "filters": sa.JSON,
        "created_at": sa.DateTime,
        "query": sa.Text,
        "id": sa.Integer,
        "subscription_id": sa.Integer,
        "user_id": sa.Integer,
        "outbox_id": sa.Integer,
        "saved_search_id": sa.Integer,
        "email": sa.Boolean,
    }
    return sa.table(name, *[sa.column(c, types.get(c, sa.String)) for c in columns])


def _restart_ids(table: str) -> None:
    """PostgreSQL: rows inserted with their ids leave the sequence behind; move it on."""
    if op.get_bind().dialect.name == "postgresql":
        sql = "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE((SELECT MAX(id) FROM {0}), 0) + 1, false)"  # noqa: E501
        op.execute(sql.format(table))


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="search", nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("email", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("feed_key", sa.String(length=64), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=128), nullable=True),
        sa.Column("webhook_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("webhook_disabled_at", sa.DateTime(), nullable=True),
        sa.Column("webhook_disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_subscription_id", ["subscription_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_user_id"), ["user_id"], unique=False)

    # Plain ADD COLUMN, no batch copy: on SQLite a batch would drop and recreate
    # digest_outbox, and the ON DELETE CASCADE would empty digest_sent_papers with it.
    if op.get_bind().dialect.name == "sqlite":  # SQLite takes the reference inline only
        op.execute(
            "ALTER TABLE digest_outbox ADD COLUMN alert_id INTEGER "
            "CONSTRAINT fk_digest_outbox_alert_id REFERENCES alerts (id) ON DELETE CASCADE"
        )
    else:
        op.add_column(
            "digest_outbox",
            sa.Column(
                "alert_id",
                sa.Integer(),
                sa.ForeignKey("alerts.id", name="fk_digest_outbox_alert_id", ondelete="CASCADE"),
                nullable=True,
            ),
        )
    op.add_column("digest_outbox", sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
    op.create_index(
        "uq_digest_outbox_alert_period", "digest_outbox", ["alert_id", "period_key"], unique=True
    )

    op.create_table(
        "alert_sent_papers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["digest_outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "arxiv_id", name="uq_alert_sent_papers"),
    )
    op.create_table(
        "alert_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["digest_outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_alert_attempts_alert_id", ["alert_id", "id"], unique=False)
    op.create_table(
        "personal_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("personal_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_tokens_user_id"), ["user_id"], unique=False)

    # the data: every saved search becomes a search alert with the same id
    conn = op.get_bind()
    old = _table("saved_searches", *SAVED_COLUMNS)
    new = _table("alerts", *SAVED_COLUMNS, "kind", "email", "feed_key")
    rows = conn.execute(sa.select(*[old.c[c] for c in SAVED_COLUMNS]).order_by(old.c.id)).all()
    if rows:
        conn.execute(
            new.insert(),
            [
                {
                    **dict(zip(SAVED_COLUMNS, row, strict=True)),
                    "kind": "search",
                    "email": True,
                    "feed_key": secrets.token_hex(16),
                }
                for row in rows
            ],
        )
    _restart_ids("alerts")
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_searches_user_id")
        batch_op.drop_index("ix_saved_searches_subscription_id")
    op.drop_table("saved_searches")


def downgrade() -> None:
    _saved_searches_table()
    conn = op.get_bind()
    alerts = _table("alerts", *SAVED_COLUMNS, "kind")
    rows = conn.execute(
        sa.select(*[alerts.c[c] for c in SAVED_COLUMNS])
        .where(alerts.c.kind == "search", alerts.c.subscription_id.is_not(None))
        .order_by(alerts.c.id)
    ).all()
    if rows:
        saved = _table("saved_searches", *SAVED_COLUMNS)
        conn.execute(saved.insert(), [dict(zip(SAVED_COLUMNS, r, strict=True)) for r in rows])
    _restart_ids("saved_searches")
    op.execute("DELETE FROM digest_outbox WHERE alert_id IS NOT NULL")
    op.drop_index("uq_digest_outbox_alert_period", table_name="digest_outbox")
    sent = _table("digest_sent_papers", *SENT_COLUMNS)
    kept = [dict(r._mapping) for r in conn.execute(sa.select(*sent.c)).all()]
    with op.batch_alter_table("digest_outbox", schema=None) as batch_op:
        if conn.dialect.name != "sqlite":
            batch_op.drop_constraint("fk_digest_outbox_alert_id", type_="foreignkey")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("alert_id")
    # SQLite rebuilt digest_outbox and the cascade emptied the sent log: put it back.
    if conn.execute(sa.select(sa.func.count()).select_from(sent)).scalar() != len(kept):
        op.execute("DELETE FROM digest_sent_papers")
        if kept:
            conn.execute(sent.insert(), kept)
    with op.batch_alter_table("personal_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_tokens_user_id"))
    op.drop_table("personal_tokens")
    with op.batch_alter_table("alert_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_attempts_alert_id")
    op.drop_table("alert_attempts")
    op.drop_table("alert_sent_papers")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_user_id"))
        batch_op.drop_index("ix_alerts_subscription_id")
    op.drop_table("alerts")
