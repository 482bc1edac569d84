"""Takeout: every user-owned table has a handler; the archive round-trips into a fresh
install; deleting an account leaves nothing of it (removed or anonymised)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from paperwire.core import Paperwire
from paperwire.formats.references import read_references
from paperwire.models.community import CollectionCreate, UserCreate
from paperwire.models.people import FollowKind
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import Frequency
from paperwire.services.community import community_of
from paperwire.services.takeout import delete_account, import_takeout, write_takeout
from paperwire.store.follows import FollowStore
from paperwire.store.schema import Base
from paperwire.store.schema.community import AuditEntry
from paperwire.store.schema.papers import Paper
from paperwire.store.subscriptions import SubscriptionStore
from paperwire.store.takeout import KINDS, TakeoutStore, covered_tables
from tests.conftest import AppFactory
from tests.data.conftest import fill

OWNER_COLUMNS = ("user_id", "owner_id", "actor_id")


def user_columns(table: Table) -> list[str]:
    """Columns of ``table`` naming an account: ``user_id``-like, or a key to users.id."""
    return [
        c.name
        for c in table.columns
        if c.name in OWNER_COLUMNS or any(fk.column.table.name == "users" for fk in c.foreign_keys)
    ]


def test_every_table_holding_user_data_has_a_registered_kind() -> None:
    owned = {name for name, t in Base.metadata.tables.items() if user_columns(t)} | {"users"}
    missing = owned - covered_tables()
    assert not missing, (
        f"tables with user data but no takeout kind: {sorted(missing)}; register one in "
        "paperwire/store/takeout.py (export, import, delete)"
    )
    assert {"votes", "collections", "alerts", "personal_tokens", "subscriptions"} <= owned
    for kind in KINDS.values():
        assert kind.deletion in ("removed", "anonymised")
        assert kind.description


FAST = {
    "semantic": False,
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "argon2_parallelism": 1,
}


def account(pw: Paperwire, email: str, name: str) -> int:
    return (
        community_of(pw)
        .signup(UserCreate(email=email, password="a long password", display_name=name))
        .id
    )


def takeout_bytes(pw: Paperwire, user: int) -> bytes:
    buffer = io.BytesIO()
    write_takeout(pw, user, buffer)
    return buffer.getvalue()


def ids(pw: Paperwire, n: int) -> list[str]:
    with pw.db.session() as s:
        return list(s.scalars(select(Paper.arxiv_id).order_by(Paper.id).limit(n)))


def populate(pw: Paperwire, user: int) -> dict[str, Any]:
    """A user with votes, two collections and alerts; what the test expects back."""
    comm = community_of(pw)
    papers = ids(pw, 400)
    reading = comm.collections.create(
        user, CollectionCreate(name="Reading list", description="to read", public=True)
    )
    for aid in papers[:5] + papers[-2:]:  # the last two: not on the smaller install
        comm.collections.add(reading.id, user, aid)
    empty = comm.collections.create(user, CollectionCreate(name="Empty one"))
    for aid in papers[10:13]:
        comm.votes.vote(user, aid)
    subs = SubscriptionStore(pw.db)
    sub = subs.request("reader@example.org", Frequency.weekly, user_id=user)
    subs.add_search(sub.id, user, "diffusion", "diffusion models", SearchFilters(category="cs.CV"))
    subs.add_search(sub.id, user, "rag", '"retrieval augmented"', SearchFilters(has_code=True))
    follows = FollowStore(pw.db)
    follows.follow(user, FollowKind.author, "ada lovelace", "Ada Lovelace")
    follows.follow(user, FollowKind.category, "cs.cl", "cs.CL")
    return {"papers": papers, "reading": reading.id, "empty": empty.id}


def follows_of(pw: Paperwire, user: int) -> list[tuple[str, str, str]]:
    return sorted((str(r.kind), r.target, r.label) for r in FollowStore(pw.db).list_for(user))


def collections_of(pw: Paperwire, user: int) -> list[tuple[str, str, bool, list[str]]]:
    comm = community_of(pw)
    out = []
    for c in sorted(comm.collections.list_for(user), key=lambda c: c.name):
        view = comm.collections.view(c.id, user)
        assert view is not None
        out.append((c.name, c.description, c.public, sorted(p.arxiv_id for p in view.papers)))
    return out


def alerts_of(pw: Paperwire, user: int) -> list[tuple[str, str, dict[str, Any]]]:
    rows = SubscriptionStore(pw.db).searches_of_user(user)
    return sorted((r.name, r.query, dict(r.filters)) for r in rows)


def test_takeout_round_trips_into_a_fresh_install(make_app: AppFactory) -> None:
    source = make_app(**FAST)
    fill(source, listing_rows=150)
    user = account(source, "reader@example.org", "Reader")
    made = populate(source, user)
    archive = takeout_bytes(source, user)

    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["kinds"]["votes"] == 3 and manifest["kinds"]["collections"] == 2
        assert {f"{k}.jsonl" for k in manifest["kinds"]} <= names
        assert "sessions.jsonl" not in names  # secrets never leave
        profile = json.loads(z.read("profile.jsonl"))
        assert profile["email"] == "reader@example.org" and "password" not in str(profile)
        stem = f"collections/{made['reading']}-reading-list"
        for ext in ("bib", "ris", "csl.json"):
            refs, problems = read_references(z.read(f"{stem}.{ext}").decode(), f"x.{ext}")
            assert not problems and len(refs) == 7, ext

    target = make_app(**FAST)
    fill(target, listing_rows=100)  # lacks the two newest papers of the collection
    moved = account(target, "reader@example.org", "Reader")
    report = import_takeout(target, moved, "reader@example.org", io.BytesIO(archive))
    assert report.imported["collections"] == 2 and report.imported["votes"] == 3
    assert report.imported["alerts"] == 2
    missing = made["papers"][-2:]
    assert sorted(report.unmatched) == sorted(f"collection 'Reading list': {a}" for a in missing)
    assert "profile" in report.skipped

    before = collections_of(source, user)
    before = [(n, d, p, [a for a in ps if a not in missing]) for n, d, p, ps in before]
    assert collections_of(target, moved) == before
    assert alerts_of(target, moved) == alerts_of(source, user)
    followed = follows_of(source, user)
    assert follows_of(target, moved) == followed and len(followed) == 2
    assert community_of(target).votes.voted_ids(moved) == set(made["papers"][10:13])
    aid = made["papers"][10]
    assert target.store.get(aid).upvotes == source.store.get(aid).upvotes  # type: ignore[union-attr]
    sub = SubscriptionStore(target.db).by_email("reader@example.org")
    assert sub is not None and sub.status.value == "pending"  # no opt-in by archive

    # Importing twice adds collections again but never duplicates votes or alerts.
    again = import_takeout(target, moved, "reader@example.org", io.BytesIO(archive))
    assert again.imported["votes"] == 0 and again.imported["alerts"] == 0
    assert again.imported["follows"] == 0


def test_deleting_an_account_leaves_nothing_of_it(make_app: AppFactory) -> None:
    pw = make_app(**FAST)
    fill(pw, listing_rows=60)
    user = account(pw, "reader@example.org", "Reader")
    other = account(pw, "other@example.org", "Other")
    made = populate(pw, user)
    community_of(pw).votes.vote(other, made["papers"][10])
    admin_account = community_of(pw).users.get(user)
    assert admin_account is not None
    community_of(pw).audit.log(admin_account, "paper.hide", "paper", made["papers"][0])
    voted = made["papers"][10]
    before = pw.store.get(voted)
    assert before is not None

    done = delete_account(pw, user)
    assert done.kinds["votes"] == "removed" and done.kinds["audit"] == "anonymised"

    with pw.db.session() as s:
        for name, table in Base.metadata.tables.items():
            for column in user_columns(table):
                left = s.scalar(
                    select(func.count()).select_from(table).where(table.c[column] == user)
                )
                assert left == 0, f"{name}.{column} still names the deleted account"
        actors = list(s.scalars(select(AuditEntry.actor)))
    assert "reader@example.org" not in actors and f"deleted account #{user}" in actors
    after = pw.store.get(voted)
    assert after is not None and after.upvotes == before.upvotes - 1  # its point went too
    assert community_of(pw).users.get(user) is None
    assert SubscriptionStore(pw.db).by_email("reader@example.org") is None
    assert community_of(pw).votes.voted_ids(other) == {voted}  # others keep theirs
    assert TakeoutStore(pw.db).export(user)["collections"] == []


def test_docs_list_every_kind_and_what_deletion_does() -> None:
    from tests.conftest import REPO

    text = (REPO / "docs" / "data.md").read_text(encoding="utf-8")
    for kind in KINDS.values():
        row = next(
            (line for line in text.splitlines() if line.startswith(f"| `{kind.name}` |")), ""
        )
        assert row, f"docs/data.md has no row for the kind {kind.name}"
        assert all(f"`{t}`" in row for t in kind.tables), row
        assert f"| {kind.deletion}" in row, row


def test_a_malformed_archive_is_refused_or_its_bad_records_listed(make_app: AppFactory) -> None:
    from paperwire.services.takeout import TakeoutError

    pw = make_app(**FAST)
    fill(pw, listing_rows=20)
    user = account(pw, "reader@example.org", "Reader")
    known = ids(pw, 1)[0]

    def archive(members: dict[str, str]) -> io.BytesIO:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            for name, text in members.items():
                z.writestr(name, text)
        buffer.seek(0)
        return buffer

    manifest = json.dumps(
        {
            "generated_at": "2026-12-01T00:00:00Z",
            "site": "https://elsewhere.example",
            "kinds": {"collections": 2, "votes": 2},
        }
    )
    collections = [
        {"name": "Odd", "papers": "not a list"},
        {"name": "Fine", "papers": [7, {"arxiv_id": known}, {"arxiv_id": "2901.00001"}]},
    ]
    votes = [{"arxiv_id": known, "created_at": "yesterday"}, {"arxiv_id": 12}]
    report = import_takeout(
        pw,
        user,
        "reader@example.org",
        archive(
            {
                "manifest.json": manifest,
                "collections.jsonl": "".join(json.dumps(c) + "\n" for c in collections),
                "votes.jsonl": "".join(json.dumps(v) + "\n" for v in votes),
            }
        ),
    )
    assert report.imported == {"collections": 2, "votes": 1}
    assert sorted(report.unmatched) == sorted(
        [
            "collection 'Odd': `papers` is not a list",
            "collection 'Fine': entry 1 is not an object",
            "collection 'Fine': 2901.00001",
            "votes: 12",
        ]
    )
    for members, message in (
        ({"votes.jsonl": "{}"}, "no manifest.json"),
        ({"manifest.json": "[]"}, "manifest.json"),
        ({"manifest.json": manifest, "votes.jsonl": "[1]\n"}, "votes.jsonl:1: expected a JSON"),
    ):
        with pytest.raises(TakeoutError, match=message):
            import_takeout(pw, user, "reader@example.org", archive(members))
