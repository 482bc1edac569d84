"""Handles (``users.handle``): derived at sign-up, unique without look-alikes, backfilled
by the ``0006_handles`` migration for accounts that existed before it."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

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
