"""``/search`` and ``/api/search``: relevance, filters, highlighting, escaping, errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import (
    ORG_ID,
    XSS_ID,
    WebEnv,
    alternate_json,
    card_titles,
    html,
    texts,
)


def test_exact_title_is_in_the_top_3(web: WebEnv, client: TestClient) -> None:
    for arxiv_id in ("2506.08007", "2506.07900", "2506.09040"):
        raw = web.raw_papers().get(arxiv_id)
        if raw is None:
            continue
        title = " ".join(raw["title"].split())
        res = client.get("/api/search", params={"q": title}).json()
        top = [h["paper"]["arxiv_id"] for h in res["hits"][:3]]
        assert arxiv_id in top, (title, top)
        doc = html(client.get("/search", params={"q": title}).text)
        assert title in card_titles(doc)[:3]


def test_results_page_shows_highlights_count_and_timing(client: TestClient) -> None:
    r = client.get("/search", params={"q": "reinforcement pre-training"})
    assert r.status_code == 200
    doc = html(r.text)
    assert texts(doc, "//h1") == ["Results for “reinforcement pre-training”"]
    assert doc.xpath("//article//h2//mark")
    assert doc.xpath("//article//p[@class='card-teaser']//mark")
    marks = {m.lower() for m in texts(doc, "//article//mark")}
    assert "reinforcement" in marks
    summary = texts(doc, "//p[@class='result-summary']")[0]
    api = client.get("/api/search", params={"q": "reinforcement pre-training"}).json()
    assert f"{api['total']} results" in summary and "ms" in summary
    assert "matched by words: reinforcement, pre, training" in r.text
    assert alternate_json(doc) == "/api/search?q=reinforcement+pre-training"


def test_warming_up_notice_when_semantic_is_not_used(client: TestClient) -> None:
    doc = html(client.get("/search?q=language+models").text)
    notice = texts(doc, "//p[contains(@class,'notice')]")
    assert notice and "keywords only" in notice[0]
    api = client.get("/api/search?q=language+models").json()
    assert api["semantic_used"] is False and api["mode"] == "hybrid"
    doc = html(client.get("/search?q=language+models&mode=keyword").text)
    assert not doc.xpath("//p[contains(@class,'notice')]")


def test_has_code_filter(client: TestClient) -> None:
    q = "reinforcement learning reasoning"
    base = client.get("/api/search", params={"q": q, "sort": "upvotes"}).json()
    flags = {h["paper"]["has_code"] for h in base["hits"]}
    assert flags == {True, False}
    with_code = client.get(
        "/api/search", params={"q": q, "has_code": "true", "sort": "upvotes"}
    ).json()
    assert with_code["hits"] and all(h["paper"]["has_code"] for h in with_code["hits"])
    without = client.get("/api/search", params={"q": q, "has_code": "0", "sort": "upvotes"}).json()
    assert without["hits"] and not any(h["paper"]["has_code"] for h in without["hits"])
    assert with_code["total"] + without["total"] == base["total"]


def test_org_filter(client: TestClient) -> None:
    res = client.get("/api/search", params={"q": "retrieval", "org": "paperwire-lab"}).json()
    assert [h["paper"]["arxiv_id"] for h in res["hits"]] == [ORG_ID]
    by_name = client.get("/api/search", params={"org": "Paperwire Lab"}).json()
    assert [h["paper"]["arxiv_id"] for h in by_name["hits"]] == [ORG_ID]
    none = client.get("/api/search", params={"q": "retrieval", "org": "nvidia"}).json()
    assert none["hits"] == []


def test_date_filter(client: TestClient) -> None:
    q = {"q": "retrieval"}
    everything = {
        h["paper"]["arxiv_id"] for h in client.get("/api/search", params=q).json()["hits"]
    }
    assert ORG_ID in everything
    june = client.get("/api/search", params={**q, "from": "2025-06-01"}).json()
    assert ORG_ID not in {h["paper"]["arxiv_id"] for h in june["hits"]}
    assert all(h["paper"]["published_at"] >= "2025-06-01" for h in june["hits"])
    may = client.get("/api/search", params={**q, "to": "2025-05-31"}).json()
    assert ORG_ID in {h["paper"]["arxiv_id"] for h in may["hits"]}
    assert all(h["paper"]["published_at"] < "2025-06-01" for h in may["hits"])
    assert len(may["hits"]) < len(everything)
    assert may["filters"]["date_to"] == "2025-05-31"


def test_sort_and_pagination(client: TestClient) -> None:
    first = client.get("/api/search", params={"q": "model", "sort": "upvotes"}).json()
    ups = [h["paper"]["upvotes"] for h in first["hits"]]
    assert ups == sorted(ups, reverse=True)
    assert first["total"] > first["limit"]
    second = client.get("/api/search", params={"q": "model", "sort": "upvotes", "page": 2}).json()
    assert second["offset"] == first["limit"]
    ids1 = {h["paper"]["arxiv_id"] for h in first["hits"]}
    assert not ids1 & {h["paper"]["arxiv_id"] for h in second["hits"]}
    doc = html(client.get("/search?q=model&sort=upvotes").text)
    assert doc.xpath("//nav[@aria-label='Pagination']//a[@rel='next']/@href") == [
        "/search?q=model&sort=upvotes&page=2"
    ]
    doc = html(client.get("/search?q=model&sort=upvotes&page=2").text)
    assert doc.xpath("//a[@rel='prev']/@href") == ["/search?q=model&sort=upvotes"]
    assert doc.xpath("//select[@name='sort']/option[@selected]/@value") == ["upvotes"]


def test_page_numbers_agree_with_the_page_count_shown(client: TestClient) -> None:
    """The page said "page 1 of 2" but refused only pages past 51 ("between 1 and 51"),
    and showed "page 9 of 2" with "No papers match" in between."""
    first = client.get("/api/search", params={"q": "model"}).json()
    pages = -(-first["total"] // first["limit"])
    assert pages >= 2
    shown = " ".join(texts(html(client.get("/search?q=model").text), "//p[@role='status']"))
    assert f"page 1 of {pages}" in shown
    for page in (pages + 1, 99, 5000):
        api = client.get("/api/search", params={"q": "model", "page": page})
        assert api.status_code == 422, page
        assert api.json()["detail"] == f"page: must be between 1 and {pages}, got {page}"
        r = client.get("/search", params={"q": "model", "page": page})
        assert r.status_code == 422
        doc = html(r.text)
        assert texts(doc, "//p[@class='field-error']") == [api.json()["detail"]]
        assert not doc.xpath("//article") and "No papers match" not in r.text
    last = client.get("/api/search", params={"q": "model", "page": pages}).json()
    assert last["hits"] and last["offset"] == (pages - 1) * last["limit"]


def test_results_heading_quotes_the_query_once(client: TestClient) -> None:
    def heading(q: str) -> str:
        return texts(html(client.get("/search", params={"q": q}).text), "//h1")[0]

    assert heading("reinforcement") == "Results for “reinforcement”"
    assert heading('"pre-training"') == 'Results for "pre-training"'
    assert heading('"next token" author:"Li Dong"') == 'Results for "next token" author:"Li Dong"'


def test_filters_only_lists_newest(client: TestClient) -> None:
    res = client.get("/api/search", params={"has_code": "yes"}).json()
    dates = [h["paper"]["published_at"] for h in res["hits"]]
    assert res["hits"] and dates == sorted(dates, reverse=True)
    r = client.get("/search?has_code=yes")
    assert r.status_code == 200
    assert html(r.text).xpath("//select[@name='has_code']/option[@selected]/@value") == ["true"]


def test_script_in_an_abstract_is_escaped(client: TestClient) -> None:
    r = client.get("/search", params={"q": "sanitising untrusted markup"})
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "<b>in</b>" not in r.text
    assert 'onerror="alert(2)"' not in r.text
    doc = html(r.text)
    assert not doc.xpath("//main//script") and not doc.xpath("//main//img")
    shown = " ".join(texts(doc, "//article"))
    assert "<script>alert(1)</script>" in shown  # shown as text
    assert "&lt;script&gt;" in r.text
    page = client.get(f"/papers/{XSS_ID}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not html(page.text).xpath("//main//script")
    assert "javascript:" not in page.text  # a stored javascript: link is not rendered


def test_query_is_escaped_everywhere(client: TestClient) -> None:
    evil = '"><script>alert(3)</script>'
    r = client.get("/search", params={"q": evil})
    assert r.status_code == 200
    assert "<script>alert(3)</script>" not in r.text
    doc = html(r.text)
    assert doc.xpath("//input[@id='search-q']/@value") == [evil]
    assert doc.xpath("//input[@id='header-q']/@value") == [evil]


def test_bad_params_show_inline_errors(client: TestClient) -> None:
    r = client.get("/search", params={"q": "model", "from": "notadate", "sort": "best"})
    assert r.status_code == 422
    doc = html(r.text)
    errors = texts(doc, "//p[@class='field-error']")
    assert any("from" in e and "notadate" in e for e in errors)
    assert any("sort" in e for e in errors)
    field = doc.xpath("//input[@name='from']")[0]
    assert field.get("aria-invalid") == "true"
    assert field.get("value") == "notadate"  # what the user typed stays in the form
    assert doc.xpath("//input[@id='search-q']/@value") == ["model"]
    assert not doc.xpath("//article")
    api = client.get("/api/search", params={"q": "model", "from": "notadate"})
    assert api.status_code == 422
    assert "from" in api.json()["detail"] and "YYYY-MM-DD" in api.json()["detail"]
    for params in (
        {"to": "2025-13-01"},
        {"has_code": "maybe"},
        {"mode": "psychic"},
        {"page": "0"},
        {"page": "x"},
        {"page": "100000"},
        {"from": "2025-06-10", "to": "2025-06-01"},
    ):
        assert client.get("/api/search", params=params).status_code == 422, params
        assert client.get("/search", params=params).status_code == 422, params


def test_no_results(client: TestClient) -> None:
    r = client.get("/search", params={"q": "xyzzyplughnotaword"})
    assert r.status_code == 200
    assert "No papers match" in r.text
    assert client.get("/api/search", params={"q": "xyzzyplughnotaword"}).json()["total"] == 0


def test_arxiv_id_query_finds_the_paper(client: TestClient) -> None:
    res = client.get("/api/search", params={"q": "arXiv:2506.08007v1"}).json()
    assert res["hits"][0]["paper"]["arxiv_id"] == "2506.08007"
    assert "matched by arXiv id" in client.get("/search?q=2506.08007").text
