"""Handles (``users.handle``): derived at sign-up, unique without look-alikes, backfilled
by the ``0006_handles`` migration for accounts that existed before it."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy import inspect as sa_inspect

from paperwire.store.db import MIGRATIONS
from paperwire.store.users import HandleTaken
from paperwire.text.handles import MENTION_RE, check_handle, slug
from tests.community.conftest import Env


def test_slug_keeps_urls_and_mentions_plain() -> None:
    assert slug("Zoë O'Brien") == "zoe-o-brien"
    assert slug("  Ada   Lovelace ") == "ada-lovelace"
    assert slug("李雷") == "user"
    assert len(slug("x" * 40)) == 30
    with pytest.raises(ValueError, match="lower-case letters"):
        check_handle("-ada")
    assert MENTION_RE.findall("hi @Ada-Lovelace, mail ada@example.org @@no @bob-") == [
        "Ada-Lovelace",
        "bob",
    ]


def test_signup_gives_unique_handles(env: Env) -> None:
    env.account("a1@example.org", "Ada Lovelace")
    env.account("a2@example.org", "Ada-Lovelace")  # a different display name, same slug
    env.account("z@example.org", "李雷")
    handles = {a.display_name: a.handle for a in env.comm.users.list_all()}
    assert handles == {
        "Ada Lovelace": "ada-lovelace",
        "Ada-Lovelace": "ada-lovelace-2",
        "李雷": "user",
    }
    me = env.person()
    me.login("a2@example.org")
    assert me.me() is not None and me.me()["handle"] == "ada-lovelace-2"  # type: ignore[index]
    found = env.comm.users.by_handle("ADA-LOVELACE")
    assert found is not None and found.email == "a1@example.org"


def test_handles_refuse_look_alikes(env: Env) -> None:
    env.account("b@example.org", "bobl")
    other = env.account("c@example.org", "Carol")
    carol = env.comm.users.by_email("c@example.org")
    assert carol is not None and other.me() is not None
    with pytest.raises(HandleTaken, match="looks like @bobl"):
        env.comm.users.set_handle(carol.id, "bob1")
    with pytest.raises(HandleTaken, match="@bobl is taken"):
        env.comm.users.set_handle(carol.id, "BobL")
    assert env.comm.users.set_handle(carol.id, "carol-h").handle == "carol-h"


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def test_migration_backfills_existing_accounts(database_url: str) -> None:
    cfg = _alembic(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_one_head")
        for i, name in enumerate(["Grace Hopper", "Grace  Hopper.", "Émile"]):
            conn.execute(
                text(
                    "INSERT INTO users (email, display_name, password_hash, is_admin, created_at)"
                    " VALUES (:e, :n, 'x', false, CURRENT_TIMESTAMP)"
                ),
                {"e": f"u{i}@example.org", "n": name},
            )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        rows = conn.execute(text("SELECT display_name, handle FROM users ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("Grace Hopper", "grace-hopper"),
        ("Grace  Hopper.", "grace-hopper-2"),
        ("Émile", "emile"),
    ]


def test_discussion_migrations_go_down_and_up(database_url: str) -> None:
    """``0006_discussions`` then ``0006_handles`` undo cleanly, and apply again."""
    cfg = _alembic(database_url)
    engine = create_engine(database_url)
    try:
        for target, method in [
            ("heads", command.upgrade),
            ("0005_one_head", command.downgrade),
            ("heads", command.upgrade),
        ]:
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                method(cfg, target)
                tables = set(sa_inspect(conn).get_table_names())
                users = {c["name"] for c in sa_inspect(conn).get_columns("users")}
                indexes = {
                    i["name"] for i in sa_inspect(conn).get_indexes("papers")
                } | _expression_indexes(conn)
            assert "ix_papers_upvotes_sort" in indexes  # 0004_search_sort's, kept
            present = target == "heads"
            assert ("comments" in tables) is present and ("notifications" in tables) is present
            assert ("handle" in users) is present and ("comments_hidden_at" in users) is present
    finally:
        engine.dispose()


def _expression_indexes(conn: Any) -> set[str]:
    """Index names SQLAlchemy cannot reflect on SQLite (expression indexes)."""
    if conn.dialect.name != "sqlite":
        return set()
    return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())


def test_account_page_changes_the_handle(env: Env) -> None:
    env.account("b@example.org", "bobl")
    carol = env.account("c@example.org", "Carol")
    page = carol.c.get("/account")
    assert page.status_code == 200 and "@carol" in page.text
    r = carol.post("/account/handle", {"handle": "bob1"}, token_from="/account")
    assert r.status_code == 409 and "looks like @bobl" in r.text and 'value="bob1"' in r.text
    r = carol.post("/account/handle", {"handle": "-x-"}, token_from="/account")
    assert r.status_code == 422 and "lower-case letters" in r.text
    r = carol.post("/account/handle", {"handle": "Carol-H"}, token_from="/account")
    assert r.status_code == 303 and r.headers["location"] == "/account?saved=1"
    assert carol.me() is not None and carol.me()["handle"] == "carol-h"  # type: ignore[index]
    r = carol.api("PUT", "/api/me/handle", json={"handle": "bobl"})
    assert r.status_code == 409
    r = carol.api("PUT", "/api/me/handle", json={"handle": "carol"})
    assert r.status_code == 200 and r.json()["handle"] == "carol"
    actions = [e.action for e in env.comm.audit.recent(5)]
    assert actions[:2] == ["user.handle", "user.handle"]
