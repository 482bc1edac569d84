"""Personal access tokens: made on /settings/tokens (shown once) or with `paperwire
tokens create`, listed by prefix, revoked at once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.services.alerts import alerts_of
from tests.community.conftest import Env, html, make_env, text_of
from tests.conftest import AppFactory, backend_env


@pytest.fixture
def env(make_app: AppFactory) -> Env:
    return make_env(make_app)


def test_tokens_page_shows_a_token_once_and_revokes_it(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    r = ada.post("/settings/tokens", {"name": "laptop"}, token_from="/settings/tokens")
    assert r.status_code == 200, r.text
    token = text_of(html(r.text).xpath("//code[@id='new-token']")[0])
    assert token.startswith("pw_")
    page = ada.c.get("/settings/tokens").text
    assert token not in page and token[:10] in page  # the prefix, never the token again
    [listed] = ada.c.get("/api/tokens").json()["tokens"]
    assert listed["name"] == "laptop" and listed["prefix"] == token[:10]
    assert "token" not in listed and "token_hash" not in listed
    with env.pw.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM personal_tokens")).scalar()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    user = alerts_of(env.pw).token_user(token)
    assert user == ada.me()["id"]  # type: ignore[index]
    # someone else cannot revoke it; its owner can, and it stops working
    grace = env.account("grace@example.org", "Grace")
    assert grace.api("DELETE", f"/api/tokens/{listed['id']}").status_code == 404
    r = ada.post(f"/settings/tokens/{listed['id']}/revoke", {}, token_from="/settings/tokens")
    assert r.status_code == 303
    assert alerts_of(env.pw).token_user(token) is None
    assert ada.c.get("/api/tokens").json()["tokens"][0]["revoked_at"]
    # an empty name is refused on the page and in the API
    r = ada.post("/settings/tokens", {"name": "  "}, token_from="/settings/tokens")
    assert r.status_code == 422 and "say what the token is for" in r.text
    assert ada.api("POST", "/api/tokens", json={"name": " "}).status_code == 422


def test_tokens_from_the_command_line(env: Env) -> None:
    env.account("ada@example.org", "Ada")
    s = env.pw.settings
    runner = CliRunner()
    environ = backend_env(s)

    def cli(*args: str) -> str:
        result = runner.invoke(app, [*args, "--home", str(s.home)], env=environ)
        assert result.exit_code == 0, result.output
        return result.output

    token = cli("tokens", "create", "ada@example.org", "--name", "cron").strip().splitlines()[-1]
    assert alerts_of(env.pw).token_user(token) is not None
    assert "cron" in cli("tokens", "list", "ada@example.org")
    cli("tokens", "revoke", "ada@example.org", "1")
    assert alerts_of(env.pw).token_user(token) is None
    missing = runner.invoke(app, ["tokens", "list", "nobody@example.org", "--home", str(s.home)])
    assert missing.exit_code == 1 and "no account" in missing.output
