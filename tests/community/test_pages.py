"""Every community page keeps the site's basics: one h1, labelled fields, unique ids,
no inline scripts (only our own static files: KaTeX), landmarks; signed out, signed in
and as an admin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.community.conftest import EXISTING, HOT, Env, html

ANON_PAGES = [
    "/login",
    "/signup",
    "/reset",
    "/submit",
    "/trending",
    "/orgs/paperwire-lab",
    "/authors/Grace%20Hopper",
    "/",
    f"/papers/{HOT}",
]
USER_PAGES = [
    *ANON_PAGES[3:],
    "/collections",
    "/collections/1",
    f"/papers/{EXISTING}",
    "/admin",
    "/account",
    "/notifications",
    "/notifications/settings",
]


def _check(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    doc = html(r.text)
    assert doc.get("lang") == "en"
    assert len(doc.xpath("//h1")) == 1, path
    assert doc.xpath("//header") and doc.xpath("//main[@id='main']") and doc.xpath("//footer")
    labelled = set(doc.xpath("//label/@for"))
    for field in doc.xpath("//input[not(@type='hidden')] | //select | //textarea"):
        assert field.get("id") in labelled or field.get("aria-label"), (path, field.get("name"))
    ids = doc.xpath("//@id")
    assert len(ids) == len(set(ids)), path
    for script in doc.xpath("//script"):  # math rendering only: files from our origin
        assert script.get("src", "").startswith("/static/"), path
        assert not (script.text or "").strip() and script.get("defer") is not None, path
    for form in doc.xpath("//form[@method='post']"):
        if form.get("action") == "/banner/dismiss":  # sets only this browser's cookie
            continue
        assert form.xpath(".//input[@name='csrf_token']/@value"), (path, form.get("action"))
    for button in doc.xpath("//button"):
        assert button.text_content().strip() or button.get("aria-label"), path


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_pages_have_the_basics(env: Env, who: str) -> None:
    if who == "anonymous":
        client = env.client()
        pages = ANON_PAGES
    else:
        person = env.account("pages@example.org", "Pages", admin=True)
        person.api("POST", "/api/collections", json={"name": "Mine", "public": False})
        person.api("POST", "/api/collections/1/papers", json={"arxiv_id": HOT})
        person.api("POST", f"/api/papers/{HOT}/vote")
        mine = person.api("POST", f"/api/papers/{HOT}/comments", json={"body": "hi $x$"})
        other = env.account("other@example.org", "Other")
        reply = {"body": "@pages hello", "parent_id": mine.json()["id"]}
        assert other.api("POST", f"/api/papers/{HOT}/comments", json=reply).status_code == 201
        client = person.c
        pages = USER_PAGES
    for path in pages:
        _check(client, path)
    assert "/static/community.css" in client.get("/").text
    css = client.get("/static/community.css")
    assert css.status_code == 200 and ".upvote-button" in css.text


def test_new_api_paths_are_documented(env: Env) -> None:
    spec = env.client().get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/me", "get"),
        ("/api/auth/signup", "post"),
        ("/api/auth/login", "post"),
        ("/api/papers/{arxiv_id}/vote", "post"),
        ("/api/papers/{arxiv_id}/vote", "delete"),
        ("/api/submissions", "post"),
        ("/api/collections", "post"),
        ("/api/collections/{collection_id}", "get"),
        ("/api/collections/{collection_id}/export", "get"),
        ("/api/trending", "get"),
        ("/api/orgs/{org}", "get"),
        ("/api/authors/{name}", "get"),
        ("/api/admin/audit", "get"),
    ]:
        assert method in spec.get(path, {}), (path, method)
    assert not any(p in spec for p in ("/login", "/trending", "/admin", "/collections"))
