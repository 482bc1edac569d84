"""The web side of your data: admins' streamed corpus downloads, the takeout download,
importing a library as a collection, deleting an account (real app, real forms)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest

from paperwire.formats.dataset import schema
from tests.community.conftest import COLD, EXISTING, HOT, PASSWORD, WARM, make_env
from tests.conftest import AppFactory

LIBRARY = r"""
@misc{byeprint, title={Something else entirely}, eprint={%(hot)s}, archivePrefix={arXiv}}
@article{bydoi, title={Whatever}, doi={10.48550/arXiv.%(warm)s}}
@inproceedings{bytitle, title={{COLD} Storage of Retrieval-Indexes.}, author={Someone, A.}}
@article{unknown, title={A paper this site has never heard of}, journal={Nature}}
@misc{broken, title={unclosed
"""


def test_admins_stream_the_corpus(make_app: AppFactory) -> None:
    env = make_env(make_app, rate_exports_per_hour=3)
    anonymous = env.client().get("/api/export/corpus.parquet")
    assert anonymous.status_code == 401
    reader = env.account("reader@example.org", "Reader")
    assert reader.c.get("/api/export/corpus.jsonl").status_code == 403
    admin = env.account("root@example.org", "Root", admin=True)

    r = admin.c.get("/api/export/corpus.parquet")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(r.content))
    assert table.schema.equals(schema(), check_metadata=False)
    assert table.num_rows == env.pw.store.count()

    r = admin.c.get("/api/export/corpus.jsonl", params={"from": "2025-06-01", "to": "2025-06-30"})
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["arxiv_id"] for row in rows] == [EXISTING]

    bad = admin.c.get("/api/export/corpus.jsonl", params={"from": "June"})
    assert bad.status_code == 422 and "from" in bad.json()["detail"]
    assert admin.c.get("/api/export/corpus.jsonl").status_code == 200  # the third
    limited = admin.c.get("/api/export/corpus.jsonl")
    assert limited.status_code == 429 and "Retry-After" in limited.headers


def test_takeout_download_and_library_import(make_app: AppFactory) -> None:
    env = make_env(make_app)
    reader = env.account("reader@example.org", "Reader")
    text = LIBRARY % {"hot": HOT, "warm": WARM}
    r = reader.api(
        "POST",
        "/api/collections/import",
        files={"file": ("zotero.bib", text.encode(), "application/x-bibtex")},
        data={"name": "From Zotero"},
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["collection"] == "From Zotero" and report["entries"] == 5
    assert report["matched"] == {"arXiv id": 1, "DOI": 1, "title": 1}
    unmatched = {u["location"]: u for u in report["unmatched"]}
    assert unmatched["zotero.bib: entry unknown (line 5)"]["reason"] == (
        "no paper here has this title"
    )
    assert any("line 6" in loc and "BibTeX" in u["reason"] for loc, u in unmatched.items())
    view = reader.c.get(f"/api/collections/{report['collection_id']}").json()
    assert {p["arxiv_id"] for p in view["papers"]} == {HOT, WARM, COLD}

    r = reader.c.get("/api/me/takeout")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        collections = [json.loads(line) for line in z.read("collections.jsonl").splitlines()]
    assert [c["name"] for c in collections] == ["From Zotero"]
    assert env.client().get("/api/me/takeout").status_code == 401

    page = reader.c.get("/account/data")
    assert page.status_code == 200 and "Download your data" in page.text


def test_delete_account_needs_the_password(make_app: AppFactory) -> None:
    env = make_env(make_app)
    reader = env.account("reader@example.org", "Reader")
    assert reader.api("POST", f"/api/papers/{HOT}/vote").status_code == 200
    upvotes = env.pw.store.get(HOT).upvotes  # type: ignore[union-attr]

    wrong = reader.api("POST", "/api/me/delete", json={"password": "not it"})
    assert wrong.status_code == 403
    assert env.comm.users.by_email("reader@example.org") is not None

    done = reader.api("POST", "/api/me/delete", json={"password": PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json()["kinds"]["votes"] == "removed"
    assert reader.me() is None  # logged out
    assert env.comm.users.by_email("reader@example.org") is None
    assert env.pw.store.get(HOT).upvotes == upvotes - 1  # type: ignore[union-attr]
    again = env.person().login("reader@example.org")
    assert again.status_code != 303

    # The page form: wrong password shows the page again, right one redirects home.
    other = env.account("other@example.org", "Other")
    r = other.post("/account/delete", {"password": "nope"}, token_from="/account/data")
    assert r.status_code == 403 and "Wrong password" in r.text
    r = other.post("/account/delete", {"password": PASSWORD}, token_from="/account/data")
    assert r.status_code == 303 and env.comm.users.by_email("other@example.org") is None


def test_moving_here_with_a_takeout(make_app: AppFactory) -> None:
    source = make_env(make_app)
    mover = source.account("mover@example.org", "Mover")
    c = mover.api("POST", "/api/collections", json={"name": "Reading"}).json()
    for aid in (HOT, COLD):
        r = mover.api("POST", f"/api/collections/{c['id']}/papers", json={"arxiv_id": aid})
        assert r.status_code in (200, 201), r.text
    archive = mover.c.get("/api/me/takeout").content

    target = make_env(make_app)
    moved = target.account("mover@example.org", "Mover")
    r = moved.api("POST", "/api/me/takeout", files={"file": ("t.zip", archive, "application/zip")})
    assert r.status_code == 200, r.text
    assert r.json()["imported"]["collections"] == 1 and r.json()["unmatched"] == []
    [mine] = moved.c.get("/api/collections").json()
    assert (mine["name"], mine["paper_count"]) == ("Reading", 2)

    bad = moved.api("POST", "/api/me/takeout", files={"file": ("t.zip", b"PK nope", "x")})
    assert bad.status_code == 422 and "archive" in bad.json()["detail"]
    page = moved.c.post(
        "/account/takeout",
        data={"csrf_token": moved.csrf("/account/data")},
        files={"file": ("t.zip", archive, "application/zip")},
    )
    assert page.status_code == 200 and "Takeout imported" in page.text


def test_head_of_a_download_sends_its_headers_without_the_work(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``curl -I`` on an export or a takeout answers as a ``GET`` would (status, type,
    file name) without writing the export or the archive, whose body is thrown away."""
    from paperwire.web.routes import data

    ran: list[str] = []

    def spied(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            ran.append(name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(data, "stream_jsonl", spied("corpus", data.stream_jsonl))
    monkeypatch.setattr(data, "write_takeout", spied("takeout", data.write_takeout))
    env = make_env(make_app, rate_exports_per_hour=10)
    admin = env.account("root@example.org", "Root", admin=True)
    for path, kind, name, work in (
        ("/api/export/corpus.jsonl", "application/x-ndjson", "corpus.jsonl", "corpus"),
        ("/api/me/takeout", "application/zip", "paperwire-takeout.zip", "takeout"),
    ):
        head = admin.c.head(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"] == kind
        assert name in head.headers["content-disposition"]
        assert ran == [], path
        assert admin.c.get(path).content and ran == [work]
        ran.clear()
    assert env.client().head("/api/me/takeout").status_code == 401
