"""The feed: ``/``, ``/papers?date=&period=`` and ``/api/daily``."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from tests.web.conftest import (
    EXTRA_DAY,
    LAST_DAY,
    ORG_ID,
    WebEnv,
    alternate_json,
    card_titles,
    card_upvotes,
    html,
    texts,
)


def test_home_shows_the_latest_featured_day(web: WebEnv, client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    doc = html(r.text)
    raw = web.raw[LAST_DAY]
    assert len(card_titles(doc)) == len(raw)
    assert alternate_json(doc) == f"/api/daily?date={LAST_DAY.isoformat()}"
    assert texts(doc, "//h1") == ["Daily Papers"]
    assert "Friday, June 13, 2025" in texts(doc, "//h2")
    api = client.get("/api/daily").json()
    assert api["date"] == LAST_DAY.isoformat()


def test_day_is_ordered_by_upvotes_as_in_the_raw_feed(web: WebEnv, client: TestClient) -> None:
    for day, entries in web.raw.items():
        expected = sorted((e["paper"]["upvotes"] for e in entries), reverse=True)
        page = client.get("/api/daily", params={"date": day.isoformat()}).json()
        assert [p["upvotes"] for p in page["papers"]] == expected
        assert {p["arxiv_id"] for p in page["papers"]} == {e["paper"]["id"] for e in entries}
        assert page["start"] == page["end"] == day.isoformat()
        doc = html(client.get("/papers", params={"date": day.isoformat()}).text)
        assert card_upvotes(doc) == expected
        assert card_titles(doc) == [" ".join(p["title"].split()) for p in page["papers"]]


def test_html_and_json_feed_agree(client: TestClient) -> None:
    r = client.get("/papers?date=2025-06-10")
    doc = html(r.text)
    href = alternate_json(doc)
    assert href == "/api/daily?date=2025-06-10"
    api = client.get(href).json()
    links = doc.xpath("//article[contains(@class,'card')]//h3/a/@href")
    assert links == [p["links"]["page"] for p in api["papers"]]
    top = api["papers"][0]
    assert top["title"] == "Reinforcement Pre-Training" and top["upvotes"] == 130
    assert "130 upvotes" in r.text


def test_card_shows_byline_date_and_links(client: TestClient) -> None:
    doc = html(client.get("/papers?date=2025-06-10").text)
    first = doc.xpath("//article[contains(@class,'card')]")[0]
    meta = " ".join(first.xpath(".//div[contains(@class,'card-meta')]")[0].text_content().split())
    assert "7 authors" in meta
    assert "Jun 9, 2025" in meta  # published last year: the year is shown
    hrefs = first.xpath(".//a/@href")
    assert "https://arxiv.org/abs/2506.08007" in hrefs
    assert "https://arxiv.org/pdf/2506.08007" in hrefs


def test_week_groups_monday_to_sunday(web: WebEnv, client: TestClient) -> None:
    total = sum(len(v) for v in web.raw.values())
    page = client.get("/api/daily?date=2025-06-11&period=week&limit=500").json()
    assert (page["start"], page["end"]) == ("2025-06-09", "2025-06-15")
    assert len(page["papers"]) == total
    ups = [p["upvotes"] for p in page["papers"]]
    assert ups == sorted(ups, reverse=True)
    assert page["prev_date"] == "2025-05-26"  # Monday of the week of 2025-05-28
    assert page["next_date"] is None
    # default limit: the top 100 and a link to more
    r = client.get("/papers?date=2025-06-15&period=week")
    doc = html(r.text)
    assert len(card_titles(doc)) == 100
    assert doc.xpath("//a[normalize-space()='Show more papers']/@href") == [
        "/papers?date=2025-06-15&period=week&limit=500"
    ]
    assert "Week 24" in r.text


def test_month_groups_the_calendar_month(web: WebEnv, client: TestClient) -> None:
    june = client.get("/api/daily?date=2025-06-30&period=month&limit=500").json()
    assert (june["start"], june["end"]) == ("2025-06-01", "2025-06-30")
    assert len(june["papers"]) == sum(len(v) for v in web.raw.values())
    assert june["prev_date"] == "2025-05-01"
    may = client.get("/api/daily?date=2025-05-01&period=month").json()
    assert (may["start"], may["end"]) == ("2025-05-01", "2025-05-31")
    assert may["papers"][0]["arxiv_id"] == ORG_ID  # 12 upvotes beat 3
    assert may["next_date"] == "2025-06-01"
    assert may["prev_date"] is None
    feb = client.get("/api/daily?date=2024-02-10&period=month").json()
    assert feb["end"] == "2024-02-29"


def test_prev_and_next_days(client: TestClient) -> None:
    page = client.get("/api/daily?date=2025-06-10").json()
    assert (page["prev_date"], page["next_date"]) == ("2025-06-09", "2025-06-11")
    first = client.get("/api/daily?date=2025-06-09").json()
    assert first["prev_date"] == EXTRA_DAY.isoformat()
    last = client.get(f"/api/daily?date={LAST_DAY}").json()
    assert last["next_date"] is None
    doc = html(client.get("/papers?date=2025-06-10").text)
    assert doc.xpath("//a[@rel='prev']/@href") == ["/papers?date=2025-06-09"]
    assert doc.xpath("//a[@rel='next']/@href") == ["/papers?date=2025-06-11"]
    assert texts(doc, "//a[@rel='prev']") == ["← Previous day"]


def test_tabs_keep_the_date(client: TestClient) -> None:
    doc = html(client.get("/papers?date=2025-06-10").text)
    tabs = doc.xpath("//nav[@aria-label='Period']/a")
    assert [t.text_content() for t in tabs] == ["Daily", "Weekly", "Monthly"]
    assert [t.get("href") for t in tabs] == [
        "/papers?date=2025-06-10",
        "/papers?date=2025-06-10&period=week",
        "/papers?date=2025-06-10&period=month",
    ]
    assert tabs[0].get("aria-current") == "page"


def test_empty_day_is_not_an_error(client: TestClient) -> None:
    r = client.get("/papers?date=2025-06-14")  # a Saturday
    assert r.status_code == 200
    doc = html(r.text)
    assert card_titles(doc) == []
    assert "No papers featured on this day" in r.text
    empty = " ".join(texts(doc, "//div[@class='empty']/p"))
    assert "Nothing was picked on Jun 14, 2025" in empty  # not "between Jun 14 and Jun 14"
    assert "between" not in empty
    week = " ".join(texts(html(client.get("/papers?date=2025-06-18&period=week").text), "//p"))
    assert "Nothing was picked between Jun 16, 2025 and Jun 22, 2025" in week
    assert doc.xpath("//a[@rel='prev']/@href") == [f"/papers?date={LAST_DAY}"]
    assert doc.xpath("//a[@rel='next']") == []
    api = client.get("/api/daily?date=2025-06-14").json()
    assert api["papers"] == [] and api["prev_date"] == LAST_DAY.isoformat()
    between = client.get("/api/daily?date=2025-06-01").json()
    assert (between["prev_date"], between["next_date"]) == ("2025-05-28", "2025-06-09")
    before = client.get("/api/daily?date=2020-01-01").json()
    assert before["prev_date"] is None and before["next_date"] == "2025-05-28"


def test_bad_date_and_period(client: TestClient) -> None:
    for query in ("date=notadate", "date=2025-02-30", "date=2025/06/10", "period=year"):
        r = client.get(f"/api/daily?{query}")
        assert r.status_code == 422, query
        assert set(r.json()) == {"detail", "errors"}  # InvalidRequest, as in OpenAPI
        page = client.get(f"/papers?{query}")
        assert page.status_code == 422
        assert "text/html" in page.headers["content-type"]
        assert r.json()["detail"] in html(page.text).text_content()
    assert "YYYY-MM-DD" in client.get("/api/daily?date=notadate").json()["detail"]
    assert "day, week, month" in client.get("/api/daily?period=year").json()["detail"]
    assert client.get("/api/daily?limit=0").status_code == 422


def test_period_default_day_is_today_or_latest(client: TestClient) -> None:
    page = client.get("/api/daily?period=week").json()
    assert page["start"] == "2025-06-09"
    today = dt.datetime.now(dt.UTC).date()
    assert page["date"] != today.isoformat() or page["papers"]
