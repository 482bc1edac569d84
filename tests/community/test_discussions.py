"""Discussions on paper pages: threads, replies, edits, tombstones, the JSON twin,
Markdown + math rendering with XSS kept inert, counts, limits (issue 14)."""

from __future__ import annotations

from typing import Any

from paperwire.store.comments import CommentStore
from tests.community.conftest import HOT, WARM, Env, Person, html, make_env, text_of
from tests.conftest import AppFactory

XSS = (
    'Nice! <script>alert("x")</script> <img src=x onerror=alert(1)> '
    '[click](javascript:alert(1)) <a href="javascript:alert(2)">raw</a> '
    "[site](https://example.org/paper) $X^{2}$-Gaussian and $$\\int_0^1 f$$ **bold**"
)


def comment(p: Person, arxiv_id: str, body: str, parent: int | None = None) -> int:
    data = {"body": body, "parent_id": str(parent) if parent else ""}
    r = p.post(f"/papers/{arxiv_id}/comments", data, token_from=f"/papers/{arxiv_id}")
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("#comment-", 1)[1])


def thread(p: Person, arxiv_id: str, sort: str = "top") -> dict[str, Any]:
    r = p.c.get(f"/api/papers/{arxiv_id}/comments", params={"sort": sort})
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_markdown_math_and_xss_are_inert(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    cid = comment(ada, HOT, XSS)
    page = ada.c.get(f"/papers/{HOT}")
    doc = html(page.text)
    body = doc.get_element_by_id(f"comment-{cid}").find_class("comment-body")[0]
    tags = {el.tag for el in body.iter()}
    assert tags <= {"div", "p", "a", "span", "strong"}, tags  # no script, no img
    attrs = [(name, value) for el in body.iter() for name, value in el.attrib.items()]
    assert not [a for a in attrs if a[0].startswith("on") or "javascript" in a[1].lower()]
    assert "<script>" in body.text_content()  # the payload shows as text, inert
    assert "<strong>bold</strong>" in lxml_html(body)
    link = next(a for a in body.iter("a") if a.text == "site")
    assert link.get("href") == "https://example.org/paper"
    assert link.get("rel") == "nofollow ugc noopener"
    maths = [m.text_content() for m in body.find_class("math")]
    assert maths == ["$X^{2}$", "$$\\int_0^1 f$$"]  # the TeX source, shown without JS
    # the JSON twin has the source and the same sanitised HTML
    c = thread(ada, HOT)["comments"][0]
    assert c["body"] == XSS and "<script" not in c["html"] and c["author"]["handle"] == "ada"


def lxml_html(el: Any) -> str:
    import lxml.html

    return str(lxml.html.tostring(el, encoding="unicode"))


def test_reply_edit_delete_and_tombstones(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    bob = env.account("bob@example.org", "Bob")
    first = comment(ada, HOT, "First!")
    reply = comment(bob, HOT, "A reply", parent=first)
    lone = comment(bob, HOT, "Standalone")
    t = thread(ada, HOT)
    assert [(c["id"], c["depth"]) for c in t["comments"]] == [(first, 0), (reply, 1), (lone, 0)]
    assert t["local_comments"] == 3 and t["num_comments"] == t["source_comments"] + 3

    # edit: only the author, then an "edited" mark
    r = bob.post(f"/comments/{first}/edit", {"body": "hijack"}, token_from=f"/papers/{HOT}")
    assert r.status_code == 404
    edit = {"body": "First, *edited*"}
    r = ada.post(f"/comments/{first}/edit", edit, token_from=f"/papers/{HOT}")
    assert r.status_code == 303
    edited = thread(ada, HOT)["comments"][0]
    assert edited["edited_at"] is not None and "<em>edited</em>" in edited["html"]
    assert "(edited)" in text_of(html(ada.c.get(f"/papers/{HOT}").text))

    # delete with a reply: a tombstone; without replies: gone
    assert ada.post(f"/comments/{first}/delete", {}, token_from=f"/papers/{HOT}").status_code == 303
    assert bob.post(f"/comments/{lone}/delete", {}, token_from=f"/papers/{HOT}").status_code == 303
    t = thread(ada, HOT)
    assert [(c["id"], c["state"]) for c in t["comments"]] == [(first, "deleted"), (reply, "shown")]
    assert t["comments"][0]["author"] is None and t["comments"][0]["body"] == ""
    assert t["local_comments"] == 1
    page = text_of(html(ada.c.get(f"/papers/{HOT}").text))
    assert "This comment was deleted." in page and "First, edited" not in page
    # replying to a deleted comment is refused (404), and the reply's deletion removes both
    r = ada.api("POST", f"/api/papers/{HOT}/comments", json={"body": "x", "parent_id": first})
    assert r.status_code == 404
    r = bob.api("DELETE", f"/api/comments/{reply}")
    assert r.status_code == 204 and r.content == b""
    assert thread(ada, HOT)["comments"] == []
    assert CommentStore(env.pw.db).counts_agree(HOT) == (0, 0)


def test_cards_count_source_plus_local(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    before = env.client().get(f"/api/papers/{WARM}").json()["num_comments"]
    comment(ada, WARM, "one")
    comment(ada, WARM, "two")
    assert env.client().get(f"/api/papers/{WARM}").json()["num_comments"] == before + 2
    # the card's count opens the discussion
    comment(ada, HOT, "today")
    links = html(env.client().get("/").text).xpath(f"//a[@href='/papers/{HOT}#comments']")
    assert [a.text_content() for a in links] == ["1 comment"]


def test_sort_by_top_and_newest_and_comment_votes(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    bob = env.account("bob@example.org", "Bob")
    old = comment(ada, HOT, "older")
    new = comment(ada, HOT, "newer")
    assert [c["id"] for c in thread(ada, HOT, "newest")["comments"]] == [new, old]
    r = bob.api("POST", f"/api/comments/{old}/vote")
    assert r.json() == {"comment_id": old, "voted": True, "changed": True, "upvotes": 1}
    assert bob.api("POST", f"/api/comments/{old}/vote").json()["changed"] is False
    # the form votes too (no JavaScript)
    r = ada.post(f"/comments/{new}/vote", {"vote": "1"}, token_from=f"/papers/{HOT}")
    assert r.status_code == 303
    r = ada.post(f"/comments/{old}/vote", {"vote": "1"}, token_from=f"/papers/{HOT}")
    top = thread(bob, HOT)["comments"]
    assert [(c["id"], c["upvotes"]) for c in top] == [(old, 2), (new, 1)]
    assert [c["voted"] for c in top] == [True, False]
    assert bob.api("DELETE", f"/api/comments/{old}/vote").json()["upvotes"] == 1


def test_limits_and_refusals(make_app: AppFactory) -> None:
    env = make_env(make_app, rate_comments_per_hour=3)  # attempts count: the 404 below too
    ada = env.account("ada@example.org", "Ada")
    r = ada.api("POST", f"/api/papers/{HOT}/comments", json={"body": "x" * 10_001})
    assert r.status_code == 422 and "body" in r.text
    r = ada.api("POST", f"/api/papers/{HOT}/comments", json={"body": "   "})
    assert r.status_code == 422
    assert env.client().post(f"/api/papers/{HOT}/comments", json={"body": "hi"}).status_code in (
        401,
        403,
    )
    r = ada.api("POST", "/api/papers/2511.99999/comments", json={"body": "hi"})
    assert r.status_code == 404
    comment(ada, HOT, "one")
    comment(ada, HOT, "two")
    r = ada.post(f"/papers/{HOT}/comments", {"body": "three"}, token_from=f"/papers/{HOT}")
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "three" in r.text  # the form comes back with the text kept
    # a refused form keeps the text too (422, the page names the field)
    r = ada.post(f"/papers/{HOT}/comments", {"body": " "}, token_from=f"/papers/{HOT}")
    assert r.status_code in (422, 429)


def test_atom_feed_per_thread(env: Env) -> None:
    import feedparser

    ada = env.account("ada@example.org", "Ada")
    bob = env.account("bob@example.org", "Bob")
    first = comment(ada, HOT, "Why $O(n^2)$? <script>x</script>")
    reply = comment(bob, HOT, "Because **reasons**", first)
    gone = comment(bob, HOT, "never mind")
    bob.api("DELETE", f"/api/comments/{gone}")
    r = env.client().get(f"/feeds/comments/{HOT}.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert [e.id.rsplit("#comment-", 1)[1] for e in feed.entries] == [str(reply), str(first)]
    assert (
        feed.entries[0].author == "Bob"
        and "<strong>reasons</strong>" in feed.entries[0].content[0].value
    )
    assert "<script>" not in feed.entries[1].content[0].value
    assert env.client().get(f"/feeds/comments/{HOT}.rss").status_code == 200
    assert env.client().get("/feeds/comments/2511.99999.atom").status_code == 404
    # the paper page links to it
    assert f'href="/feeds/comments/{HOT}.atom"' in ada.c.get(f"/papers/{HOT}").text
