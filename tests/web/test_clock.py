"""The data's clock (``services/clock.py``) on the offline data, which ends on Aug 21, 2026.

Before it, every time-based feature read the wall clock: on an install of this data
``/trending``, the trending feed and every digest were empty ("Nothing is trending",
"Nothing new"). Now they measure from the newest data's day and say so.
"""

from __future__ import annotations

import datetime as dt
import json

import lxml.html
import pytest
from fastapi.testclient import TestClient

from paperwire.core import Paperwire
from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import Frequency
from paperwire.services import papers
from paperwire.services.clock import data_clock
from paperwire.services.ingest import ingest_records
from paperwire.services.subscriptions import subscriptions_of
from paperwire.sources.hf_daily import read_hf_daily_dir
from paperwire.web import create_app
from tests.conftest import HF_DAILY, AppFactory

LAST = dt.date(2026, 8, 21)  # the offline data's newest featured day
TODAY = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)  # a day long after it
NOTE = "as of Aug 21, 2026, the latest papers here"


@pytest.fixture
def offline(make_app: AppFactory) -> Paperwire:
    """The last two weeks of the offline data (what `make up` serves, made smaller)."""
    pw = make_app(semantic=False, base_url="http://testserver")
    records = read_hf_daily_dir(HF_DAILY, LAST - dt.timedelta(days=14), LAST)
    summary = ingest_records(pw, records, "hf-daily")
    assert summary.added > 100 and summary.rejected == 0
    return pw


def _text(html: str) -> str:
    return " ".join(lxml.html.fromstring(html).text_content().split())


def test_trending_and_digests_have_papers_long_after_the_data_ends(offline: Paperwire) -> None:
    clock = data_clock(offline, TODAY)
    assert not clock.live and clock.latest_day == LAST and clock.note == NOTE
    assert clock.now == dt.datetime(2026, 8, 21, 23, 59, 59, tzinfo=dt.UTC)
    page = papers.trending(offline, 10, TODAY)
    assert len(page.items) == 10 and page.as_of == clock
    # the wall clock ranked nothing: every paper is older than the 14-day window
    assert (
        offline.store.trending(TODAY, gravity=1.8, offset_hours=2, window_days=14, limit=10) == []
    )
    subs = subscriptions_of(offline)
    for frequency in Frequency:
        digest = subs.compose(frequency, TODAY)
        assert digest.paper_count == offline.settings.digest_size, frequency
        assert digest.as_of == clock
    # delivery stays on the wall clock: one digest per real day
    assert subs.compose(Frequency.daily, TODAY).period_key == "daily:2026-11-30"
    # an alert's "new" is new as of the data: a saved search brings recent matches
    sub = subs.store.request("reader@example.org", Frequency.daily)
    sub = subs.store.activate(sub.id, sub.email, Frequency.daily)
    assert sub is not None
    subs.store.add_search(sub.id, None, "agents", "agents", SearchFilters())
    digest = subs.compose(Frequency.daily, TODAY, sub)
    [alert] = [x for x in digest.sections if x.kind == "search"]
    assert alert.papers
    since = LAST - dt.timedelta(days=offline.settings.digest_search_days)
    assert all(c.published_at and c.published_at.date() >= since for c in alert.papers)


def test_the_pages_say_which_clock_they_use(offline: Paperwire) -> None:
    client = TestClient(create_app(offline))
    trending = client.get("/api/trending").json()
    assert trending["items"] and trending["as_of"]["live"] is False
    assert trending["as_of"]["note"] == NOTE
    page = client.get("/trending")
    assert "As of Aug 21, 2026, the latest papers here." in _text(page.text)
    assert "Nothing is trending" not in page.text
    for frequency in ("daily", "weekly"):
        preview = client.get(f"/api/digest/preview?frequency={frequency}").json()
        assert sum(len(x["papers"]) for x in preview["sections"]) == 10, frequency
        assert preview["as_of"]["latest_day"] == "2026-08-21"
    html = client.get("/digest/preview?frequency=weekly").text
    assert "As of Aug 21, 2026, the latest papers here" in html and "Nothing new" not in html
    assert "As of Aug 21, 2026" in client.get("/digest/preview?format=text").text
    assert client.get("/feeds/trending.atom").text.count("<entry>") == 30
    home = client.get("/")
    shown = _text(home.text)
    assert "Friday, August 21, 2026" in shown and "As of Aug 21, 2026, the latest" in shown
    assert client.get("/api/daily").json()["date"] == "2026-08-21"
    assert "As of Aug 21, 2026" not in client.get("/papers?date=2026-08-20").text
    status = client.get("/api/status").json()
    assert status["clock"]["live"] is False
    assert "PAPERWIRE_CLOCK_STALE_DAYS" in status["clock"]["reason"]


def test_clock_is_live_while_the_sources_are_current(offline: Paperwire) -> None:
    for days, live in ((1, True), (3, True), (4, False)):
        wall = dt.datetime.combine(LAST + dt.timedelta(days=days), dt.time(8), tzinfo=dt.UTC)
        clock = data_clock(offline, wall)
        assert clock.live is live, days
        assert clock.now == (wall if live else dt.datetime(2026, 8, 21, 23, 59, 59, tzinfo=dt.UTC))
        assert (clock.note is None) is live


def test_a_submission_today_does_not_turn_a_stale_site_live(offline: Paperwire) -> None:
    """One paper submitted on this site today is not a synced source: trending, digests
    and the home feed keep the data's day (and its papers), not today's one paper."""
    submitted = PaperRecord(
        arxiv_id="2611.00001",
        source="submission",
        title="A paper someone submitted today",
        abstract="Submitted on the site, featured today.",
        featured_on=TODAY.date(),
        submitted_by="Ada",
    )
    assert ingest_records(offline, [submitted], "submission").added == 1
    clock = data_clock(offline, TODAY)
    assert not clock.live and clock.latest_day == LAST
    assert papers.default_day(offline, clock) == LAST
    assert len(papers.trending(offline, 10, TODAY).items) == 10


def test_daily_atom_holds_the_last_seven_featured_days(offline: Paperwire) -> None:
    """The docs say "last 7 featured days"; the code took 7 calendar days up to the
    latest featured day, so one paper featured today left the feed with that one paper."""
    client = TestClient(create_app(offline))
    days = offline.store.featured_days(LAST, 7)
    assert len(days) == 7 and days[0] == LAST
    expected = len(offline.store.feed(days[-1], LAST))
    assert client.get("/feeds/daily.atom").text.count("<entry>") == expected > 100
    six_days = {c.arxiv_id for c in offline.store.feed(days[-2], LAST)}
    older = next(
        c.arxiv_id for c in offline.store.feed(days[-1], days[-1]) if c.arxiv_id not in six_days
    )
    today = dt.datetime.now(dt.UTC).date()
    refeatured = PaperRecord(arxiv_id=older, source="submission", featured_on=today)
    assert ingest_records(offline, [refeatured], "submission").updated == 1
    after = client.get("/feeds/daily.atom").text
    assert after.count("<entry>") == 1 + len(six_days)
    assert after.index(older) < after.index("</entry>")  # today's paper comes first


def test_the_status_page_its_json_and_the_cli_report_the_same(offline: Paperwire) -> None:
    """One definition (``clocked_status``): the page's JSON twin counted papers waiting
    for an embedding where semantic search is off, and `paperwire status` did not."""
    from typer.testing import CliRunner

    from paperwire.cli import app
    from tests.conftest import backend_env

    api = TestClient(create_app(offline)).get("/api/status").json()
    result = CliRunner().invoke(
        app,
        ["status", "--json", "--home", str(offline.settings.home)],
        env={**backend_env(offline.settings), "PAPERWIRE_SEMANTIC": "false"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    assert api == cli
    assert api["embedding_backlog"] == 0 and api["semantic_ready"] is False
    assert api["papers"] == offline.store.count() > 100
    assert api["clock"]["latest_day"] == LAST.isoformat()
