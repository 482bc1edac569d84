"""``0006_alerts`` moves every saved search into ``alerts`` with its id, on both stores,
and the downgrade moves them back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from paperwire.models.alerts import AlertKind
from paperwire.store.alerts import AlertStore
from paperwire.store.db import Database
from paperwire.store.subscriptions import SubscriptionStore

WHEN = dt.datetime(2026, 11, 30, 8, 0)


@pytest.fixture
def old_store(database_url: str) -> Database:
    """A store at ``0005_one_head`` with two addresses and three saved searches (one
    already in a sent digest)."""
    db = Database(database_url)
    db.migrate("0005_one_head")
    db.migrate("0006_speed")  # every commit of the stores raises its data version
    with db.engine.begin() as conn:
        for sid, email in ((1, "ada@example.org"), (2, "grace@example.org")):
            conn.execute(
                text(
                    "INSERT INTO subscriptions (id, email, frequency, status, trending, "
                    "user_id, created_at) VALUES (:id, :e, 'daily', 'active', :t, NULL, :w)"
                ),
                {"id": sid, "e": email, "t": False, "w": WHEN},
            )
        searches = [
            (3, 1, "GNNs", "graph neural networks", '{"category": "cs.LG"}'),
            (7, 1, "sparse", "sparse attention", "{}"),
            (9, 2, "agents", "agents", '{"has_code": true}'),
        ]
        for sid, sub, name, query, filters in searches:
            conn.execute(
                text(
                    "INSERT INTO saved_searches (id, subscription_id, user_id, name, query, "
                    "filters, created_at) VALUES (:id, :s, NULL, :n, :q, :f, :w)"
                ),
                {"id": sid, "s": sub, "n": name, "q": query, "f": filters, "w": WHEN},
            )
        conn.execute(
            text(
                "INSERT INTO digest_outbox (id, subscription_id, kind, period_key, recipient, "
                "subject, body_text, body_html, headers, message_id, created_at, attempts) "
                "VALUES (1, 1, 'digest', 'daily:2026-11-30', 'ada@example.org', 's', 't', "
                "'h', '{}', '<m@x>', :w, 1)"
            ),
            {"w": WHEN},
        )
        conn.execute(
            text(
                "INSERT INTO digest_sent_papers (subscription_id, arxiv_id, outbox_id, "
                "saved_search_id, created_at) VALUES (1, '2511.00001', 1, 7, :w)"
            ),
            {"w": WHEN},
        )
    return db


def test_saved_searches_become_alerts_with_their_ids(old_store: Database) -> None:
    db = old_store
    db.migrate("0006_alerts")
    subs = SubscriptionStore(db)
    by_sub = subs.searches_for([1, 2])
    assert [(a.id, a.name, a.query) for a in by_sub[1]] == [
        (3, "GNNs", "graph neural networks"),
        (7, "sparse", "sparse attention"),
    ]
    [agents] = by_sub[2]
    assert agents.id == 9 and agents.filters.has_code is True
    gnn = by_sub[1][0]
    assert gnn.kind == AlertKind.search and gnn.email and gnn.filters.category == "cs.LG"
    assert gnn.created_at == WHEN and gnn.webhook_url is None
    assert len({a.feed_key for a in [*by_sub[1], agents]}) == 3  # a key each
    # the sent log still names the alert its paper came with
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT saved_search_id FROM digest_sent_papers")).scalar() == 7
        assert not db.engine.dialect.has_table(conn, "saved_searches")
    # new alerts get new ids (PostgreSQL's sequence moved past the copied ones)
    new = subs.add_search(2, None, "more", "more", agents.filters)
    assert new.id == 10
    assert AlertStore(db).get(new.id) is not None


def test_the_downgrade_moves_search_alerts_back(old_store: Database) -> None:
    db = old_store
    db.migrate("0006_alerts")
    SubscriptionStore(db).add_search(1, None, "later", "later", AlertStore(db).get(3).filters)  # type: ignore[union-attr]
    db.migrate("0005_one_head", downgrade=True)
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, subscription_id, name, query FROM saved_searches ORDER BY id")
        ).all()
        assert not db.engine.dialect.has_table(conn, "alerts")
        sent = conn.execute(text("SELECT arxiv_id, saved_search_id FROM digest_sent_papers"))
        assert [tuple(r) for r in sent] == [("2511.00001", 7)]  # the sent log survives
    assert [tuple(r) for r in rows] == [
        (3, 1, "GNNs", "graph neural networks"),
        (7, 1, "sparse", "sparse attention"),
        (9, 2, "agents", "agents"),
        (10, 1, "later", "later"),
    ]
    db.migrate("heads")  # and up again
    assert [a.id for a in SubscriptionStore(db).searches_for([1])[1]] == [3, 7, 10]


def test_the_sent_log_survives_every_upgrade_from_before_the_outbox_changes(
    database_url: str,
) -> None:
    """SQLite rebuilds ``digest_outbox`` for ``0004_hardening``; the rebuild's cascade
    used to empty the sent log, and subscribers then got papers they had been sent."""
    db = Database(database_url)
    db.migrate("0003")
    db.migrate("0002")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscriptions (id, email, frequency, status, trending, created_at) "
                "VALUES (1, 'ada@example.org', 'daily', 'active', :t, :w)"
            ),
            {"t": True, "w": WHEN},
        )
        conn.execute(
            text(
                "INSERT INTO digest_outbox (id, subscription_id, period_key, recipient, "
                "subject, body_text, body_html, headers, message_id, created_at, attempts) "
                "VALUES (1, 1, 'daily:2026-11-30', 'ada@example.org', 's', 't', 'h', '{}', "
                "'<m@x>', :w, 1)"
            ),
            {"w": WHEN},
        )
        conn.execute(
            text(
                "INSERT INTO digest_sent_papers (subscription_id, arxiv_id, outbox_id, "
                "created_at) VALUES (1, '2511.00001', 1, :w)"
            ),
            {"w": WHEN},
        )
    db.migrate("heads")
    assert SubscriptionStore(db).sent_ids(1, ["2511.00001", "2511.00002"]) == {"2511.00001"}
    db.migrate("0004_hardening", downgrade=True)
    db.migrate("0003", downgrade=True)  # 0004's own downgrade rebuilds the table again
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM digest_sent_papers")).scalar() == 1
