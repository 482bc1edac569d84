"""Stored text from sources is shown safely everywhere (issue 12 finding 8): a
``javascript:`` link is dropped by the JSON API and the JSONL export as by pages and
feeds, and right-to-left overrides in titles and names stay inside their own element."""

from __future__ import annotations

import datetime as dt
import json

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from tests.community.conftest import TODAY, html, make_env
from tests.conftest import AppFactory

EVIL = "2511.00666"
RLO = "\u202e"


def record() -> PaperRecord:
    return PaperRecord(
        arxiv_id=EVIL,
        source="hf-daily",
        title=f"{RLO}gnp.exe Totally normal title",
        abstract="An abstract.",
        authors=[f"Mallory {RLO}Evil", "Alice Good"],
        categories=["cs.CR"],
        published_at=dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC),
        featured_on=TODAY,
        upvotes=3,
        github_repo="javascript:alert(1)",
        project_page="data:text/html,<script>alert(2)</script>",
    )


def test_javascript_links_are_dropped_by_the_api_and_the_export(make_app: AppFactory) -> None:
    env = make_env(make_app)
    assert ingest_records(env.pw, [record()], "hf-daily").added == 1
    paper = env.client().get(f"/api/papers/{EVIL}").json()
    assert paper["github_repo"] is None and paper["project_page"] is None
    assert paper["links"]["github"] is None and paper["links"]["project_page"] is None
    daily = env.client().get("/api/daily").json()
    [card] = [c for c in daily["papers"] if c["arxiv_id"] == EVIL]
    assert card["links"]["github"] is None
    owner = env.account("curator@example.org", "Curator")
    cid = owner.api("POST", "/api/collections", json={"name": "Links", "public": True}).json()["id"]
    owner.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": EVIL})
    export = env.client().get(f"/api/collections/{cid}/export?format=jsonl").text
    [row] = [json.loads(line) for line in export.splitlines()]
    assert row["links"]["github"] is None and row["links"]["project_page"] is None
    assert "javascript:" not in export and "data:text" not in export


def test_titles_and_names_are_bidi_isolated_on_pages(make_app: AppFactory) -> None:
    env = make_env(make_app)
    assert ingest_records(env.pw, [record()], "hf-daily").added == 1
    page = html(env.client().get(f"/papers/{EVIL}").text)
    [title] = page.xpath("//h1[contains(@class,'paper-title')]")
    assert [el.tag for el in title] == ["bdi"] and title[0].text.startswith(RLO)
    authors = page.xpath("//a[starts-with(@href,'/authors/')]")
    assert [a[0].tag for a in authors] == ["bdi", "bdi"]
    assert authors[0][0].text == f"Mallory {RLO}Evil"
    feed = html(env.client().get("/").text)
    [card] = [
        t for t in feed.xpath("//*[contains(@class,'card-title')]/a") if EVIL in t.get("href")
    ]
    assert [el.tag for el in card] == ["bdi"]
