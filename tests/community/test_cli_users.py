"""``paperwire users …`` and ``paperwire collections …`` on a real temporary home."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from paperwire.cli import app
from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.community import CollectionCreate
from paperwire.services.community import community_of
from paperwire.services.ingest import ingest_records
from tests.community.conftest import COLD, EXISTING, corpus

runner = CliRunner()
ENV = {"PAPERWIRE_ARGON2_TIME_COST": "1", "PAPERWIRE_ARGON2_MEMORY_KIB": "1024"}


def run(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--home", str(home)], input=stdin, env=ENV)
    return result.exit_code, result.output


def test_users_create_admin_and_list(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out = run(
        home,
        "users",
        "create",
        "Root@Example.org",
        "--admin",
        "--password-stdin",
        stdin="a long admin password\n",
    )
    assert code == 0, out
    assert "created admin #1 root@example.org (Root)" in out
    code, out = run(home, "users", "create", "root@example.org", "--password-stdin", stdin="x" * 9)
    assert code == 1 and "already exists" in out
    code, out = run(home, "users", "create", "bad", "--password-stdin", stdin="short\n")
    assert code == 1 and "email" in out and "password" in out
    code, out = run(
        home,
        "users",
        "create",
        "reader@example.org",
        "--name",
        "Reader",
        stdin="reader password\nreader password\n",
    )
    assert code == 0, out  # prompted twice
    code, out = run(home, "users", "list", "--json")
    users = [json.loads(line) for line in out.splitlines()]
    assert [(u["email"], u["is_admin"]) for u in users] == [
        ("root@example.org", True),
        ("reader@example.org", False),
    ]
    code, out = run(home, "users", "list")
    assert code == 0 and "root@example.org" in out and "yes" in out
    code, out = run(home, "users", "set-admin", "reader@example.org")
    assert code == 0 and "now an admin" in out
    # the admin can log in to the site with that password
    pw = Paperwire(Settings(home=home, argon2_time_cost=1, argon2_memory_kib=1024))
    try:
        comm = community_of(pw)
        account = comm.authenticate("root@example.org", "a long admin password")
        assert account is not None and account.is_admin
        actions = [e.action for e in comm.audit.recent()]
        assert "user.create" in actions and "user.grant_admin" in actions
    finally:
        pw.close()


def test_collections_list_and_export(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pw = Paperwire(Settings(home=home, semantic=False, argon2_time_cost=1, argon2_memory_kib=1024))
    try:
        ingest_records(pw, corpus(), "hf-daily")
        comm = community_of(pw)
        owner = comm.users.create("o@example.org", "Owner", comm.hash_password("x" * 10))
        secret = comm.collections.create(owner.id, CollectionCreate(name="Secret", public=False))
        for aid in (EXISTING, COLD):
            comm.collections.add(secret.id, owner.id, aid)
    finally:
        pw.close()
    code, out = run(home, "collections", "list", "--json")
    [row] = [json.loads(line) for line in out.splitlines()]
    assert row["name"] == "Secret" and row["public"] is False and row["paper_count"] == 2
    code, out = run(home, "collections", "list", "--user", "o@example.org")
    assert code == 0 and "Secret" in out and "private" in out
    code, out = run(home, "collections", "export", str(secret.id))
    assert code == 0 and out.count("@misc{") == 2 and "eprint = {2506.08007}" in out
    target = tmp_path / "secret.jsonl"
    code, out = run(
        home, "collections", "export", str(secret.id), "--format", "jsonl", "-o", str(target)
    )
    assert code == 0 and "wrote 2 papers" in out
    ids = [json.loads(line)["arxiv_id"] for line in target.read_text().splitlines()]
    assert ids == [COLD, EXISTING]
    code, out = run(home, "collections", "export", "99")
    assert code == 1 and "no collection 99" in out
