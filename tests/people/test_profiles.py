"""Profiles and avatars: the page and its twin, settings by form, uploads checked and
re-encoded (size before decoding, decompression bombs, metadata stripped), identicons."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

from paperwire.models.papers import PaperRecord
from paperwire.services.ingest import ingest_records
from tests.community.conftest import EXISTING, HOT, TODAY, Env, Person, html, text_of


def _png(size: tuple[int, int] = (300, 200), mode: str = "RGB", **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, "red").save(buf, format="PNG", **save)  # type: ignore[arg-type]
    return buf.getvalue()


def _upload(p: Person, data: bytes, name: str = "me.png", path: str = "/settings/avatar") -> object:
    token = p.csrf("/settings/profile")
    return p.c.post(
        path,
        data={"csrf_token": token},
        files={"avatar": (name, data, "image/png")},
        follow_redirects=False,
    )


def test_profile_page_and_twin(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    r = ada.post(
        "/settings/profile",
        {
            "bio": "I write <b>papers</b>.",
            "links": "https://ada.example.org\n",
            "show_upvotes": "1",
        },
        token_from="/settings/profile",
    )
    assert r.status_code == 303
    ada.api("POST", f"/api/papers/{HOT}/vote")
    account = env.comm.users.by_email("ada@example.org")
    assert account is not None
    env.comm.submissions.record(account.id, EXISTING, created_paper=False, featured_on=None)
    public = ada.api("POST", "/api/collections", json={"name": "Reading", "public": True}).json()
    ada.api("POST", "/api/collections", json={"name": "Secret", "public": False})

    visitor = env.client()
    r = visitor.get("/users/Ada", follow_redirects=False)  # a display name: to the handle
    assert r.status_code == 301 and r.headers["location"] == "/users/ada"
    r = visitor.get("/users/ada")
    assert r.status_code == 200
    doc = html(r.text)
    text = text_of(doc)
    assert "I write <b>papers</b>." in text and not doc.xpath("//b[text()='papers']")
    assert doc.xpath("//a[@href='https://ada.example.org']")
    assert "Reading" in text and "Secret" not in text
    assert doc.xpath(f"//section[@aria-labelledby='submitted-h']//a[@href='/papers/{EXISTING}']")
    assert doc.xpath(f"//section[@aria-labelledby='upvoted-h']//a[@href='/papers/{HOT}']")
    assert doc.xpath("//link[@rel='alternate'][@type='application/json']/@href") == [
        "/api/users/ada"
    ]

    data = visitor.get("/api/users/Ada").json()
    assert data["bio"] == "I write <b>papers</b>." and data["links"] == ["https://ada.example.org"]
    assert [c["id"] for c in data["collections"]] == [public["id"]]
    assert [p["arxiv_id"] for p in data["submissions"]] == [EXISTING]
    assert [p["arxiv_id"] for p in data["upvotes"]] == [HOT]
    # upvotes are private unless chosen
    ada.api("PUT", "/api/me/profile", json={"bio": "", "links": []})
    assert visitor.get("/api/users/Ada").json()["upvotes"] is None
    assert visitor.get("/api/users/Nobody").status_code == 404
    assert visitor.get("/users/Nobody").status_code == 404


def test_profile_settings_refuse_bad_links(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    r = ada.post(
        "/settings/profile",
        {"bio": "x", "links": "javascript:alert(1)"},
        token_from="/settings/profile",
    )
    assert r.status_code == 422
    assert "is not an http(s) link" in text_of(html(r.text))
    r = ada.api("PUT", "/api/me/profile", json={"links": ["https://a.example"] * 6})
    assert r.status_code == 422
    r = ada.api("PUT", "/api/me/profile", json={"bio": "b" * 1001})
    assert r.status_code == 422
    assert env.client().put("/api/me/profile", json={"bio": "x"}).status_code == 401


def test_avatar_upload_is_reencoded_without_metadata(env: Env) -> None:
    ada = env.account("ada@example.org", "Ada")
    before = env.client().get("/users/Ada/avatar")
    assert before.headers["content-type"] == "image/svg+xml"
    assert before.content == env.client().get("/users/Ada/avatar").content  # deterministic
    other = env.account("bob@example.org", "Bob")
    assert other.c.get("/users/Bob/avatar").content != before.content

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret location 51.5N")
    r = _upload(ada, _png(pnginfo=info))
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    page = html(ada.c.get("/users/Ada").text)
    [src] = page.xpath("//img[contains(@class,'avatar-large')]/@src")
    assert "&v=1" in src
    r = env.client().get(src)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in r.headers["cache-control"]
    assert b"secret location" not in r.content
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (256, 256) and not img.text  # type: ignore[attr-defined]
    assert Image.open(io.BytesIO(env.client().get("/users/Ada/avatar?size=40").content)).size == (
        64,
        64,
    )
    etag = r.headers["etag"]
    assert env.client().get(src, headers={"If-None-Match": etag}).status_code == 304
    # the API answers the profile with the new avatar; removing goes back to the identicon
    data = ada.c.post(
        "/api/me/avatar",
        files={"avatar": ("a.png", _png((64, 64)), "image/png")},
        headers={"X-CSRF-Token": ada.api_token()},
    ).json()
    assert data["avatar_url"].endswith("&v=2")
    assert ada.api("DELETE", "/api/me/avatar").json()["avatar_url"].endswith("&v=3")
    assert env.client().get("/users/Ada/avatar").headers["content-type"] == "image/svg+xml"
    media = env.pw.settings.media_root / "avatars"
    assert not list(media.glob("*.png"))  # replaced and removed files are gone


def test_avatar_upload_refusals(env: Env) -> None:
    pw = env.pw
    ada = env.account("ada@example.org", "Ada")
    # too many bytes: refused from the declared length, before the body is read
    big = b"\x89PNG" + b"\0" * (pw.settings.avatar_max_bytes + 20_000)
    r = _upload(ada, big)
    assert r.status_code == 413  # type: ignore[attr-defined]
    # not an image
    r = _upload(ada, b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", "x.svg")
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "not a PNG, JPEG, GIF or WebP" in text_of(html(r.text))  # type: ignore[attr-defined]
    # a decompression bomb: a few kB that decode to 400 million pixels
    bomb = _png((20_000, 20_000), mode="1")
    assert len(bomb) < pw.settings.avatar_max_bytes
    r = _upload(ada, bomb)
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert "too many pixels" in text_of(html(r.text))  # type: ignore[attr-defined]
    # a body without a declared length (chunked) is refused before it is read
    r = ada.c.post(
        "/api/me/avatar",
        content=iter([b"--x\r\n", b"data"]),
        headers={
            "X-CSRF-Token": ada.api_token(),
            "Content-Type": "multipart/form-data; boundary=x",
        },
    )
    assert r.status_code == 411
    # the API names the field
    r = ada.c.post(
        "/api/me/avatar",
        files={"avatar": ("a.txt", b"hello", "text/plain")},
        headers={"X-CSRF-Token": ada.api_token()},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "avatar"]
    # no CSRF token
    r = ada.c.post("/settings/avatar", files={"avatar": ("a.png", _png(), "image/png")})
    assert r.status_code == 403
    assert env.client().get("/users/Ada/avatar").headers["content-type"] == "image/svg+xml"


def test_org_avatar_and_submitter_on_cards(env: Env) -> None:
    c = env.client()
    doc = html(c.get("/orgs/paperwire-lab").text)
    [src] = doc.xpath("//img[contains(@class,'org-avatar')]/@src")
    r = c.get(src)
    assert r.headers["content-type"] == "image/svg+xml" and b">P</text>" in r.content
    assert r.content == c.get(src).content
    # a paper submitted here: the card shows the submitter's avatar and links the profile
    env.account("ada@example.org", "Ada")
    record = PaperRecord(
        arxiv_id="2512.00090",
        source="submission",
        title="Submitted by a person",
        authors=["Some One"],
        featured_on=TODAY,
        submitted_by="Ada",
    )
    ingest_records(env.pw, [record], "submission")
    doc = html(c.get("/").text)
    [credit] = doc.xpath("//article[.//a[@href='/papers/2512.00090']]//span[@class='submitted-by']")
    assert credit.xpath(".//a/@href") == ["/users/Ada"]  # the credit's name: redirects
    assert credit.xpath(".//img/@src") == ["/users/Ada/avatar?size=64"]
