"""The feed's "Get trending papers in your email inbox!" banner: dismissed by a plain form
(a cookie remembers it; no JavaScript needed), with a script that does it in place."""

from __future__ import annotations

from tests.community.conftest import Env, html, text_of

BANNER = "Get trending papers in your email inbox!"


def test_banner_dismissed_by_form_and_remembered(env: Env) -> None:
    p = env.person()
    doc = html(p.c.get("/").text)
    [banner] = doc.xpath("//aside[@id='email-banner']")
    assert BANNER in text_of(banner)
    assert banner.xpath(".//a[@href='/subscribe']")
    assert doc.xpath("//script[@src='/static/banner.js']")
    [form] = banner.xpath(".//form")
    assert form.get("action") == "/banner/dismiss" and form.get("method") == "post"

    # no CSRF token: the form only sets this browser's cookie, and a token would make the
    # signed-out feed personal (not cacheable): the page carries an ETag, no pw_anon cookie
    first = p.c.get("/")
    assert "etag" in first.headers and "set-cookie" not in first.headers
    r = p.c.post("/banner/dismiss", data={"next": "/papers?period=week"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/papers?period=week"
    assert "pw_banner=dismissed" in r.headers["set-cookie"]
    assert "Max-Age=31536000" in r.headers["set-cookie"]
    for path in ("/", "/papers?period=week"):
        assert BANNER not in p.c.get(path).text
    assert BANNER in env.client().get("/").text  # another browser still sees it

    # an off-site `next` goes home instead
    r = env.person().c.post(
        "/banner/dismiss", data={"next": "https://evil.example/"}, follow_redirects=False
    )
    assert r.headers["location"] == "/"
    assert env.client().get("/static/banner.js").status_code == 200
