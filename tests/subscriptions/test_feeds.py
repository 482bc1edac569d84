"""Atom and RSS feeds, read back with feedparser: well-formed (bozo 0), unique entry ids,
parsed dates, absolute links, the right content types, conditional GETs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from tests.community.conftest import COLD, HOT, TODAY, WARM
from tests.subscriptions.conftest import BASE_URL, SubEnv

TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


def entry_date(entry: Any, fmt: str) -> dt.datetime:
    """Atom's ``updated`` or RSS's ``pubDate``, as parsed by feedparser (UTC)."""
    parsed = entry["updated_parsed"] if fmt == "atom" else entry["published_parsed"]
    return dt.datetime(*parsed[:6], tzinfo=dt.UTC)


def fetch(client: TestClient, path: str, fmt: str, **params: str) -> Any:
    r = client.get(f"{path}.{fmt}", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == f"{TYPES[fmt]}; charset=utf-8"
    parsed = feedparser.parse(r.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    for e in parsed.entries:
        assert e.link.startswith(f"{BASE_URL}/papers/") and e.id == e.link
        assert entry_date(e, fmt) is not None
        assert e.title
    return parsed


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_daily_trending_and_search_feeds(sub_env: SubEnv, fmt: str) -> None:
    client = TestClient(sub_env.env.app)
    daily = fetch(client, "/feeds/daily", fmt)
    got = [e.link.rsplit("/", 1)[-1] for e in daily.entries]
    assert got[:1] == [HOT] and WARM in got  # newest featured day first
    hot = daily.entries[0]
    assert entry_date(hot, fmt) == dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
    assert "arxiv.org/abs/" + HOT in (hot.get("content", [{}])[0].get("value", "") or hot.summary)
    if fmt == "atom":
        assert daily.feed.links[0].href.startswith(f"{BASE_URL}/feeds/daily.atom")
        assert [t.term for t in hot.tags] == ["cs.CL"]
        assert hot.authors[0].name == "Ada Lovelace"

    trending = fetch(client, "/feeds/trending", fmt)
    ranked = [e.link.rsplit("/", 1)[-1] for e in trending.entries]
    assert set(ranked) >= {HOT, WARM, COLD}

    search = fetch(client, "/feeds/search", fmt, q="cold storage")
    assert [e.link.rsplit("/", 1)[-1] for e in search.entries][:1] == [COLD]
    assert "cold storage" in search.feed.title


def test_feeds_escape_anything_and_answer_conditional_gets(sub_env: SubEnv) -> None:
    nasty = PaperRecord(
        arxiv_id="2511.09999",
        source="hf-daily",
        title='Tags <b>&</b> "quotes" ]]> in titles',
        abstract="An abstract with <script>alert(1)</script> & a form feed \x0c character.",
        authors=["O'Brien & Søn"],
        categories=["cs.CL"],
        published_at=dt.datetime.combine(TODAY, dt.time(10), tzinfo=dt.UTC),
        featured_on=TODAY,
        upvotes=5,
    )
    ingest_records(sub_env.pw, [nasty], "hf-daily")
    client = TestClient(sub_env.env.app)
    for fmt in ("atom", "rss"):
        parsed = fetch(client, "/feeds/daily", fmt)
        [entry] = [e for e in parsed.entries if e.link.endswith("2511.09999")]
        assert entry.title == nasty.title
    r = client.get("/feeds/daily.atom")
    etag = r.headers["etag"]
    again = client.get("/feeds/daily.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/feeds/daily.json").status_code == 404
    assert client.get("/feeds/search.atom", params={"from": "yesterday"}).status_code == 422


def test_collection_feed_public_only(sub_env: SubEnv) -> None:
    person = sub_env.env.account("curator@example.org", "Curator")
    made = person.api("POST", "/api/collections", json={"name": "Reading list", "public": True})
    assert made.status_code in (200, 201), made.text
    cid = made.json()["id"]
    for aid in (COLD, HOT):
        r = person.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": aid})
        assert r.status_code in (200, 201), r.text
    client = TestClient(sub_env.env.app)
    for fmt in ("atom", "rss"):
        parsed = fetch(client, f"/feeds/collections/{cid}", fmt)
        assert [e.link.rsplit("/", 1)[-1] for e in parsed.entries] == [HOT, COLD]
        assert "Reading list" in parsed.feed.title
    hidden = person.api("POST", "/api/collections", json={"name": "Secret", "public": False})
    assert client.get(f"/feeds/collections/{hidden.json()['id']}.atom").status_code == 404
    assert client.get("/feeds/collections/99999.rss").status_code == 404


def test_pages_advertise_the_feeds(sub_env: SubEnv) -> None:
    client = TestClient(sub_env.env.app)
    home = client.get("/").text
    assert '<link rel="alternate" type="application/atom+xml"' in home
    assert 'href="/subscribe"' in home
    search = client.get("/search", params={"q": "cold storage"}).text
    assert 'href="/feeds/search.atom?q=cold%20storage"' in search
