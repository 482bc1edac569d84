"""App-wide behaviour: status, health, OpenAPI, headers, error pages, accessibility basics."""

from __future__ import annotations

import re

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

import paperwire
from paperwire.index import prescan
from paperwire.web import create_app
from tests.web.conftest import LAST_DAY, WebEnv, alternate_json, html, texts

PAGES = [
    "/",
    "/papers?date=2025-06-10&period=week",
    "/papers?date=2025-06-14",
    "/papers/2506.08007",
    "/search?q=diffusion",
    "/search?from=bad",
    "/search",
    "/status",
    "/papers/2506.99999",
    "/no/such/page",
]


def test_status_api(web: WebEnv, client: TestClient) -> None:
    s = client.get("/api/status").json()
    assert s["papers"] == web.pw.store.count() == 133
    assert s["keyword_documents"] == 133
    assert s["embedded"] == 0 and s["vector_documents"] == 0
    assert s["embedding_backlog"] == 0  # semantic search is off here: nothing waits
    assert s["semantic_ready"] is False
    assert s["first_day"] == "2025-05-28" and s["last_day"] == LAST_DAY.isoformat()
    assert s["database"].startswith("sqlite:///")
    assert s["index"] == web.pw.index.name
    assert s["version"] == paperwire.__version__
    assert s["embedding_model"] == web.pw.model_name
    assert s["snippet_loops"] == "c"  # the test install compiled paperwire/text/_scan.c
    # ... and paperwire/index/_int8.c, which runs where the CPU has AVX-512 VNNI
    assert s["int8_product"] == ("c" if prescan._BlockedProduct.runs() else "onnx")
    assert s["embedding_export"] == "unused"  # semantic search is off in this app


def test_status_page(client: TestClient) -> None:
    r = client.get("/status")
    doc = html(r.text)
    assert texts(doc, "//h1") == ["Status"]
    assert alternate_json(doc) == "/api/status"
    text = " ".join(doc.text_content().split())
    assert "133" in text and "turned off" in text
    # semantic is off: nothing will embed, so the page does not keep refreshing
    assert not doc.xpath("//meta[@http-equiv='refresh']")
    assert "Wednesday, May 28, 2025" in text and "Friday, June 13, 2025" in text
    assert texts(doc, "//dt[.='Snippets']/following-sibling::dd") == ["Worked out in C"]
    (model,) = texts(doc, "//dt[.='Embedding model']/following-sibling::dd")
    assert model.startswith("Not on ONNX")


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("current", "This release's ONNX export"),
        ("older", "Older export Made by an earlier paperwire: paperwire model export"),
        ("missing", "No ONNX export torch embeds instead"),
    ],
)
def test_status_page_says_which_export_embeds(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, state: str, says: str
) -> None:
    """Each state of ``embedding_export`` reads on the page, in its JSON twin as given
    (the states themselves: tests/index/test_onnx_embedder.py)."""
    import paperwire.core

    monkeypatch.setattr(paperwire.core, "export_state", lambda settings: state)
    assert client.get("/api/status").json()["embedding_export"] == state
    doc = html(client.get("/status").text)
    (model,) = texts(doc, "//dt[.='Embedding model']/following-sibling::dd")
    assert model.startswith(says), model


def test_status_page_refreshes_while_embedding(tmp_path_factory: pytest.TempPathFactory) -> None:
    from paperwire.config import Settings
    from paperwire.core import Paperwire
    from paperwire.services.ingest import ingest_records
    from tests.web.conftest import extra_records

    pw = Paperwire(Settings(home=tmp_path_factory.mktemp("semantic-home"), semantic=True))
    try:
        ingest_records(pw, extra_records(), "hf-daily")
        with TestClient(create_app(pw)) as c:
            doc = html(c.get("/status").text)
            assert doc.xpath("//meta[@http-equiv='refresh']/@content") == ["5"]
            bar = doc.xpath("//progress")[0]
            assert (bar.get("max"), bar.get("value")) == ("3", "0")
            assert doc.xpath("//label[@for='embed-progress']")
    finally:
        pw.close()


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}


def test_openapi_lists_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["version"] == paperwire.__version__
    for path in ("/api/search", "/api/daily", "/api/papers/{arxiv_id}", "/api/status"):
        assert path in spec["paths"], path
        assert "200" in spec["paths"][path]["get"]["responses"]
    assert not any(p in spec["paths"] for p in ("/", "/search", "/status"))
    params = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "from", "to", "category", "org", "has_code", "sort", "mode", "page"} <= params
    assert client.get("/docs").status_code == 200


def test_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/status", "/static/paperwire.css", "/no/such/page"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_static_css(client: TestClient) -> None:
    r = client.get("/static/paperwire.css")
    assert r.status_code == 200 and "text/css" in r.headers["content-type"]
    assert ":focus-visible" in r.text and "@media (max-width" in r.text


def test_unknown_route_404(client: TestClient) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    doc = html(r.text)
    assert texts(doc, "//h1") == ["Page not found"]
    assert doc.xpath("//main//form[@action='/search']")
    api = client.get("/api/nothing")
    assert api.status_code == 404
    assert set(api.json()) == {"detail"}
    assert client.post("/api/search").status_code == 405


def test_server_error_page(web: WebEnv) -> None:
    app = create_app(web.pw)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/api/boom")
    def api_boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
        assert r.status_code == 500 and "text/html" in r.headers["content-type"]
        assert "Something went wrong" in r.text
        assert "secret internals" not in r.text and "Traceback" not in r.text
        j = c.get("/api/boom")
        assert j.status_code == 500 and set(j.json()) == {"detail"}
        assert "secret internals" not in j.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_accessible_basics(client: TestClient, path: str) -> None:
    r = client.get(path)
    doc = html(r.text)
    assert doc.get("lang") == "en"
    assert len(doc.xpath("//h1")) == 1, path
    assert len(doc.xpath("//main[@id='main']")) == 1
    assert doc.xpath("//header") and doc.xpath("//nav") and doc.xpath("//footer")
    assert doc.xpath("//a[@class='skip-link'][@href='#main']")
    labelled = set(doc.xpath("//label/@for"))
    for field in doc.xpath("//input[not(@type='hidden')] | //select | //textarea"):
        assert field.get("id") in labelled or field.get("aria-label"), (path, field.get("name"))
    for img in doc.xpath("//img"):
        assert img.get("alt") is not None
    ids = doc.xpath("//@id")
    assert len(ids) == len(set(ids)), path
    assert doc.xpath("//link[@rel='stylesheet']/@href")[0].startswith("/static/")
    assert not re.search(r"https?://(cdn|unpkg|fonts)\.", r.text)
    # only our own static files (math rendering), never inline code
    assert all(s.startswith("/static/") for s in doc.xpath("//script/@src"))
    assert not [s for s in doc.xpath("//script") if (s.text or "").strip() or not s.get("src")]


@pytest.mark.parametrize(
    "path", [p for p in PAGES if not p.startswith(("/no/", "/papers/2506.99"))]
)
def test_every_page_has_a_json_twin(client: TestClient, path: str) -> None:
    href = alternate_json(html(client.get(path).text))
    assert href.startswith("/api/")
    r = client.get(href)
    assert r.headers["content-type"].startswith("application/json")


def test_a_json_twin_queues_for_a_thread_as_often_as_its_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load every trip back to the event loop waits behind its ready work while
    the request holds its admission slot: the JSON twin of a page serialises its answer
    in the view's thread, not in a trip of its own (FastAPI validates a plain view's
    result in one more)."""
    trips = [0]
    real = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        trips[0] += 1
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    counts = {}
    for path in ("/search?q=diffusion+models", "/api/search?q=diffusion+transformers"):
        trips[0] = 0
        assert client.get(path).status_code == 200, path
        counts[path] = trips[0]
    page, api = counts.values()
    assert api == page, counts


HEAD_PATHS = [
    "/",
    "/papers/2506.08007",
    "/api/papers/2506.08007",
    "/search?q=diffusion",
    "/api/search?q=diffusion",
    "/status",
    "/feeds/daily.atom",
    "/static/paperwire.css",
]


@pytest.mark.parametrize("path", HEAD_PATHS)
def test_head_answers_like_get_without_the_body(client: TestClient, path: str) -> None:
    """Uptime monitors, link checkers and ``curl -I`` ask with HEAD: same status and
    headers as GET (Content-Length of the GET's body), no body."""
    got = client.get(path)
    assert got.status_code == 200, path
    head = client.head(path)
    assert head.status_code == 200, path
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    # a search page or answer shows how long it took: its length may differ by a digit
    slack = 4 if path.startswith(("/search", "/api/search")) else 0
    assert abs(int(head.headers["content-length"]) - len(got.content)) <= slack


def test_head_of_a_missing_page_or_a_post_only_route(client: TestClient) -> None:
    assert client.head("/papers/2506.99999").status_code == 404
    assert client.head("/no/such/page").status_code == 404
    assert client.head("/reset").status_code == client.get("/reset").status_code == 200
    post_only = client.head("/api/papers/2506.08007/vote")
    assert post_only.status_code == client.get("/api/papers/2506.08007/vote").status_code
    assert post_only.status_code in (404, 405)
    assert post_only.content == b""
