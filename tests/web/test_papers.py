"""Paper pages ``/papers/{id}`` and ``/api/papers/{id}``: content, redirects, 404s."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import OLD_ID, ORG_ID, WebEnv, alternate_json, html, texts


def _with_code(web: WebEnv) -> dict[str, Any]:
    return next(p for p in web.raw_papers().values() if p.get("githubRepo"))


def test_paper_page_shows_everything(web: WebEnv, client: TestClient) -> None:
    raw = web.raw_papers()["2506.08007"]
    r = client.get("/papers/2506.08007")
    assert r.status_code == 200
    doc = html(r.text)
    assert texts(doc, "//h1") == ["Reinforcement Pre-Training"]
    page_text = " ".join(doc.text_content().split())
    for author in raw["authors"]:
        assert author["name"] in page_text
    assert "7 authors" in page_text
    assert " ".join(raw["summary"].split()) in page_text  # the full abstract
    hrefs = doc.xpath("//a/@href")
    assert "https://arxiv.org/abs/2506.08007" in hrefs
    assert "https://arxiv.org/pdf/2506.08007" in hrefs
    assert "/papers?date=2025-06-10" in hrefs  # featured day
    assert "130 upvotes" in page_text
    for keyword in raw.get("ai_keywords", [])[:3]:
        assert keyword in page_text
    assert alternate_json(doc) == "/api/papers/2506.08007"


def test_github_link_with_stars(web: WebEnv, client: TestClient) -> None:
    raw = _with_code(web)
    doc = html(client.get(f"/papers/{raw['id']}").text)
    github = doc.xpath("//div[@class='actions']/a[starts-with(normalize-space(), 'GitHub')]")
    assert len(github) == 1 and github[0].get("href") == raw["githubRepo"]
    no_code = next(p for p in web.raw_papers().values() if not p.get("githubRepo"))
    doc = html(client.get(f"/papers/{no_code['id']}").text)
    assert not doc.xpath("//div[@class='actions']/a[starts-with(normalize-space(), 'GitHub')]")


def test_org_comment_project_page_and_stars(client: TestClient) -> None:
    r = client.get(f"/papers/{ORG_ID}")
    doc = html(r.text)
    text = " ".join(doc.text_content().split())
    assert "Paperwire Lab" in text
    assert "10 pages, 3 figures" in text
    assert "★ 1.2k" in text and "1,234 stars" in text
    assert "https://example.org/hybrid-retrieval" in doc.xpath("//a/@href")
    assert "reciprocal rank fusion" in text
    facts = dict(zip(texts(doc, "//aside//dt"), texts(doc, "//aside//dd"), strict=True))
    assert facts["Comments"] == "2" and facts["Upvotes"] == "12"
    assert facts["Organisation"] == "Paperwire Lab"
    assert texts(doc, "//aside//dd[@class='chips']/a")[:2] == ["cs.IR", "cs.CL"]
    assert "/search?org=paperwire-lab" in doc.xpath("//a/@href")


def test_json_twin_matches_the_page(client: TestClient) -> None:
    api = client.get("/api/papers/2506.08007").json()
    doc = html(client.get("/papers/2506.08007").text)
    text = " ".join(doc.text_content().split())
    assert api["arxiv_id"] == "2506.08007"
    assert api["title"] == texts(doc, "//h1")[0]
    assert api["upvotes"] == 130
    assert all(a in text for a in api["authors"])
    assert api["links"]["arxiv"] in doc.xpath("//a/@href")
    assert api["featured_days"] == ["2025-06-10"]
    assert len(api["similar"]) == 6
    assert api["similar_method"] == "keyword"  # semantic is off in the tests
    assert "2506.08007" not in [s["arxiv_id"] for s in api["similar"]]
    similar_links = doc.xpath("//section[@class='similar']//article//h3/a/@href")
    assert similar_links == [s["links"]["page"] for s in api["similar"]]
    assert "similar by key terms" in text
    # Each similar paper says which key terms it shares with this one.
    why = texts(doc, "//section[@class='similar']//p[@class='card-why']")
    assert why and all(w.startswith("Similar in: ") for w in why)
    assert all(api["similar_terms"][s["arxiv_id"]] for s in api["similar"][: len(why)])
    assert "/papers/2506.08007/similar" in doc.xpath("//a/@href")


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/papers/2506.08007v2", "/papers/2506.08007"),
        ("/papers/arXiv:2506.08007", "/papers/2506.08007"),
        ("/papers/2506.08007/", "/papers/2506.08007"),
        (f"/papers/{OLD_ID}v3", f"/papers/{OLD_ID}"),
        (f"/papers/arXiv:{OLD_ID}", f"/papers/{OLD_ID}"),
        ("/api/papers/2506.08007v1", "/api/papers/2506.08007"),
        (f"/api/papers/{OLD_ID}v2", f"/api/papers/{OLD_ID}"),
    ],
)
def test_redirects_to_the_canonical_id(client: TestClient, path: str, target: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == target
    assert client.get(path).status_code == 200


def test_old_style_id_page(client: TestClient) -> None:
    r = client.get(f"/papers/{OLD_ID}")
    assert r.status_code == 200
    assert "Branes, dualities and an old-style identifier" in r.text
    assert f"https://arxiv.org/abs/{OLD_ID}" in r.text
    assert client.get(f"/api/papers/{OLD_ID}").json()["arxiv_id"] == OLD_ID


@pytest.mark.parametrize("path", ["2506.99999", "garbage", "not/an/id", "<script>x</script>"])
def test_unknown_or_invalid_id_is_a_helpful_404(client: TestClient, path: str) -> None:
    r = client.get(f"/papers/{path}")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    doc = html(r.text)
    assert texts(doc, "//h1") == ["Paper not found"]
    assert doc.xpath("//form[@action='/search']//input[@name='q']")
    assert "/" in doc.xpath("//main//a/@href")
    assert "Traceback" not in r.text
    assert "<script>x</script>" not in r.text
    api = client.get(f"/api/papers/{path}")
    assert api.status_code == 404
    assert set(api.json()) == {"detail"}


def test_unknown_id_offers_arxiv(client: TestClient) -> None:
    r = client.get("/papers/2506.99999")
    assert "https://arxiv.org/abs/2506.99999" in html(r.text).xpath("//a/@href")
    assert "2506.99999" in client.get("/api/papers/2506.99999").json()["detail"]
    assert "not an arXiv id" in client.get("/api/papers/garbage").json()["detail"]


def test_empty_id_goes_to_the_feed(client: TestClient) -> None:
    r = client.get("/papers/", follow_redirects=False)
    assert r.status_code in (301, 307)
    assert r.headers["location"].endswith("/papers")
