"""Paper submission against recorded arXiv responses served by a real local HTTP server."""

from __future__ import annotations

import datetime as dt

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from tests.community.conftest import (
    EXISTING,
    TODAY,
    ArxivServer,
    Env,
    Person,
    html,
    make_env,
    text_of,
)
from tests.conftest import AppFactory, _free_port

NEW = "2506.00637"  # in api_id_list.xml (with two other entries the code must ignore)
NEW_TITLE = "Improving the Calibration of Confidence Scores in Text Generation"


def _env(make_app: AppFactory, arxiv: ArxivServer | None, **kw: object) -> Env:
    url = arxiv.url if arxiv else f"http://127.0.0.1:{_free_port()}/api/query"
    return make_env(make_app, arxiv_api_url=url, http_retries=0, http_timeout=5, **kw)


def _today_since(start: dt.date) -> list[list[str]]:
    """``[day]`` for each UTC day from ``start`` (the session's ``TODAY``) to now: a
    submission's "today" is the clock's, which may have passed midnight since import."""
    now = dt.datetime.now(dt.UTC).date()
    days = (now - start).days
    return [[(start + dt.timedelta(days=d)).isoformat()] for d in range(days + 1)]


def _submit(p: Person, value: str) -> tuple[int, str]:
    r = p.post("/submit", {"arxiv": value}, token_from="/submit")
    return r.status_code, r.text


def test_submit_a_new_paper(make_app: AppFactory, arxiv_server: ArxivServer) -> None:
    env = _env(make_app, arxiv_server)
    p = env.account("sub@example.org", "Submitter")
    code, page = _submit(p, f"https://arxiv.org/abs/{NEW}v1")
    assert code == 200, page
    assert "is now featured today" in page
    assert len(arxiv_server.requests) == 1 and f"id_list={NEW}" in arxiv_server.requests[0]
    paper = p.c.get(f"/api/papers/{NEW}").json()
    assert paper["title"].startswith(NEW_TITLE)
    assert paper["authors"][0] == "Lorenzo Jaime Yu Flores"
    assert paper["featured_days"] in _today_since(TODAY) and "submission" in paper["sources"]
    # only the requested id was stored, not the other entries of the recorded feed
    assert p.c.get("/api/papers/2506.00483").status_code == 404
    # on today's feed with the submitter's name, on the paper page too, and searchable
    feed = html(p.c.get("/").text)
    [card] = feed.xpath(f"//article[.//a[@href='/papers/{NEW}']]")
    assert "submitted by Submitter" in text_of(card)
    assert "Submitted by Submitter" in text_of(html(p.c.get(f"/papers/{NEW}").text))
    hits = p.c.get("/api/search", params={"q": "calibration confidence scores"}).json()["hits"]
    assert hits and hits[0]["paper"]["arxiv_id"] == NEW
    # the JSON twin: the same paper again is a duplicate (no second arXiv request)
    r = p.api("POST", "/api/submissions", json={"arxiv": NEW})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "duplicate" and body["paper"]["arxiv_id"] == NEW
    assert "already here" in body["message"] and "counts as your upvote." in body["message"]
    assert len(arxiv_server.requests) == 1
    assert "Also submitted" not in text_of(html(p.c.get(f"/papers/{NEW}").text))


def test_resubmitting_a_featured_paper_is_an_upvote_and_an_also_submitted_by(
    make_app: AppFactory, arxiv_server: ArxivServer
) -> None:
    """It used to feature the paper again today ("submitted by you", on its old card too)
    and today's feed shrank to that one paper. Now: a vote plus "also submitted by"."""
    env = _env(make_app, arxiv_server)
    today_before = env.client().get("/api/daily").json()["papers"]
    p = env.account("dup@example.org", "Duper")
    before = p.c.get(f"/api/papers/{EXISTING}").json()
    r = p.api("POST", "/api/submissions", json={"arxiv": f"arXiv:{EXISTING}v2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "duplicate" and body["featured_on"] is None
    assert body["submitted_by"] is None
    assert body["message"] == (
        f"Paper {EXISTING} is already here, featured on Jun 10, 2025: your submission "
        "counts as your upvote and lists you as also submitting it."
    )
    assert body["paper"]["links"]["page"] == f"/papers/{EXISTING}"
    assert arxiv_server.requests == []  # known papers are not fetched again
    after = p.c.get(f"/api/papers/{EXISTING}").json()
    assert after["featured_days"] == before["featured_days"] == ["2025-06-10"]
    assert after["upvotes"] == before["upvotes"] + 1
    assert p.c.get(f"/api/votes/{EXISTING}").json()["voted"] is True
    # today's feed is what it was: not shrunk to the resubmitted paper
    assert env.client().get("/api/daily").json()["papers"] == today_before
    # credit: never "submitted by" on its cards; "also submitted by" on its page
    old_day = html(p.c.get("/papers?date=2025-06-10").text)
    [card] = old_day.xpath(f"//article[.//a[@href='/papers/{EXISTING}']]")
    assert "submitted by" not in text_of(card).lower()
    page = text_of(html(p.c.get(f"/papers/{EXISTING}").text))
    assert "Also submitted by Duper" in page and "Submitted by Duper" not in page
    # again: still one vote and one credit; the HTML form says so
    code, text = _submit(p, EXISTING)
    assert code == 200 and "counts as your upvote." in text_of(html(text))
    assert f'href="/papers/{EXISTING}"' in text
    assert p.c.get(f"/api/papers/{EXISTING}").json()["upvotes"] == before["upvotes"] + 1
    other = env.account("two@example.org", "Second")
    assert other.api("POST", "/api/submissions", json={"arxiv": EXISTING}).status_code == 200
    page = text_of(html(p.c.get(f"/papers/{EXISTING}").text))
    assert "Also submitted by Duper, Second" in page


def test_submitting_a_known_but_never_featured_paper_features_it_today(
    make_app: AppFactory, arxiv_server: ArxivServer
) -> None:
    env = _env(make_app, arxiv_server)
    listed = PaperRecord(arxiv_id="2503.00001", source="arxiv-listings", title="Only listed")
    assert ingest_records(env.pw, [listed], "arxiv-listings").added == 1
    p = env.account("lister@example.org", "Lister")
    body = p.api("POST", "/api/submissions", json={"arxiv": "2503.00001"}).json()
    assert body["status"] == "duplicate" and [body["featured_on"]] in _today_since(TODAY)
    assert body["submitted_by"] == "Lister" and "now featured today" in body["message"]
    assert arxiv_server.requests == []
    page = text_of(html(p.c.get("/papers/2503.00001").text))
    assert "Submitted by Lister" in page and "Also submitted" not in page


def test_submit_errors(make_app: AppFactory, arxiv_server: ArxivServer) -> None:
    env = _env(make_app, arxiv_server)
    p = env.account("err@example.org", "Erring")
    r = p.api("POST", "/api/submissions", json={"arxiv": "not a paper"})
    assert r.status_code == 422 and "is not an arXiv id" in r.json()["detail"]
    code, page = _submit(p, "2406.075")
    assert code == 422 and "is not an arXiv id" in page
    assert html(page).xpath("//input[@name='arxiv']/@value") == ["2406.075"]
    assert arxiv_server.requests == []  # malformed ids never reach arXiv
    r = p.api("POST", "/api/submissions", json={"arxiv": "2506.99999"})
    assert (
        r.status_code == 404 and "arXiv has no paper with the id 2506.99999" in r.json()["detail"]
    )
    r = p.api("POST", "/api/submissions", json={"arxiv": "2406.07500"})  # arXiv's error feed
    assert r.status_code == 422 and "incorrect id format" in r.json()["detail"]
    assert env.pw.store.get("2506.99999") is None
    anon = env.client()
    assert anon.post("/api/submissions", json={"arxiv": NEW}).status_code == 401
    doc = html(anon.get("/submit").text)
    assert not doc.xpath("//form[@action='/submit']") and "Log in to submit" in text_of(doc)


def test_submit_when_arxiv_is_unreachable(make_app: AppFactory) -> None:
    env = _env(make_app, None)
    p = env.account("offline@example.org", "Offline")
    r = p.api("POST", "/api/submissions", json={"arxiv": NEW})
    assert r.status_code == 503 and "arXiv could not be reached" in r.json()["detail"]
    code, page = _submit(p, NEW)
    assert code == 503 and "arXiv could not be reached" in page
    # known papers still work offline
    assert p.api("POST", "/api/submissions", json={"arxiv": EXISTING}).status_code == 200


def test_submissions_are_rate_limited(make_app: AppFactory, arxiv_server: ArxivServer) -> None:
    env = _env(make_app, arxiv_server, rate_submissions_per_hour=2)
    p = env.account("spam@example.org", "Spammy")
    codes = [
        p.api("POST", "/api/submissions", json={"arxiv": EXISTING}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_admin_hides_everything_a_user_submitted(
    make_app: AppFactory, arxiv_server: ArxivServer
) -> None:
    env = _env(make_app, arxiv_server)
    spammer = env.account("spammer@example.org", "Spammer")
    admin = env.account("admin@example.org", "Admin", admin=True)
    assert spammer.api("POST", "/api/submissions", json={"arxiv": NEW}).status_code == 201
    assert spammer.api("POST", "/api/submissions", json={"arxiv": EXISTING}).status_code == 200
    user_id = spammer.me()["id"]  # type: ignore[index]
    doc = html(admin.c.get("/admin").text)
    assert doc.xpath(f"//form[@action='/admin/users/{user_id}/hide-submissions']")
    r = admin.post(
        f"/admin/users/{user_id}/hide-submissions", {"reason": "spam"}, token_from="/admin"
    )
    assert r.status_code == 303
    # the paper the spammer added is gone everywhere, search included ...
    assert admin.c.get(f"/api/papers/{NEW}").status_code == 404
    hits = admin.c.get("/api/search", params={"q": "calibration confidence scores"}).json()["hits"]
    assert NEW not in [h["paper"]["arxiv_id"] for h in hits]
    # ... while the paper that was already here stays (never featured by the spammer)
    paper = admin.c.get(f"/api/papers/{EXISTING}").json()
    assert paper["featured_days"] == ["2025-06-10"]
    entries = admin.c.get("/api/admin/audit").json()
    hide_user = next(e for e in entries if e["action"] == "user.hide_submissions")
    assert hide_user["actor"] == "admin@example.org" and hide_user["target"] == str(user_id)
    assert hide_user["detail"]["hidden"] == [NEW]
    assert hide_user["detail"]["unfeatured"] == []
    assert hide_user["detail"]["reason"] == "spam"
    # a hidden paper cannot be resubmitted
    r = spammer.api("POST", "/api/submissions", json={"arxiv": NEW})
    assert r.status_code == 409
