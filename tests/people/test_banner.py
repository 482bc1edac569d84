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

    r = p.post("/banner/dismiss", {"next": "/papers?period=week"})
    assert r.status_code == 303 and r.headers["location"] == "/papers?period=week"
    assert "pw_banner=dismissed" in r.headers["set-cookie"]
    assert "Max-Age=31536000" in r.headers["set-cookie"]
    for path in ("/", "/papers?period=week"):
        assert BANNER not in p.c.get(path).text
    assert BANNER in env.client().get("/").text  # another browser still sees it

    # no CSRF token: refused; an off-site `next` goes home instead
    assert env.person().c.post("/banner/dismiss", data={"next": "/"}).status_code == 403
    r = env.person().post("/banner/dismiss", {"next": "https://evil.example/"})
    assert r.headers["location"] == "/"
    assert env.client().get("/static/banner.js").status_code == 200
