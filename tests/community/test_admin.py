"""Moderation: hiding papers (gone from feeds, pages and search), the audit log, access."""

from __future__ import annotations

from tests.community.conftest import EXISTING, HOT, Env, html, text_of


def _search_ids(env: Env, q: str) -> list[str]:
    hits = env.client().get("/api/search", params={"q": q}).json()["hits"]
    return [h["paper"]["arxiv_id"] for h in hits]


def test_admin_hides_a_paper_and_it_leaves_search(env: Env) -> None:
    admin = env.account("mod@example.org", "Moderator", admin=True)
    assert EXISTING in _search_ids(env, "Reinforcement Pre-Training")
    # the admin sees a "Hide this paper" button on the paper page
    page = html(admin.c.get(f"/papers/{EXISTING}").text)
    assert page.xpath("//form[@action='/admin/papers/hide']//button")
    r = admin.post(
        "/admin/papers/hide", {"arxiv_id": EXISTING, "reason": "duplicate of a withdrawn paper"}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/admin?done=")
    assert "hidden: 2506.08007" in admin.c.get(r.headers["location"]).text
    assert EXISTING not in _search_ids(env, "Reinforcement Pre-Training")
    assert env.pw.index.keyword_count() == 5
    anon = env.client()
    assert anon.get(f"/papers/{EXISTING}").status_code == 404
    assert anon.get(f"/api/papers/{EXISTING}").status_code == 404
    assert EXISTING not in [
        p["arxiv_id"] for p in anon.get("/api/daily?date=2025-06-10").json()["papers"]
    ]
    # the audit log has the entry, on the page and in the API
    [entry] = [e for e in admin.c.get("/api/admin/audit").json() if e["action"] == "paper.hide"]
    assert entry["actor"] == "mod@example.org" and entry["target"] == EXISTING
    assert entry["detail"]["reason"] == "duplicate of a withdrawn paper"
    doc = html(admin.c.get("/admin").text)
    log = text_of(doc.xpath("//section[@aria-labelledby='audit-h']")[0])
    assert "paper.hide" in log and EXISTING in log and "mod@example.org" in log
    # unhide brings it back into search, logged too
    r = admin.post("/admin/papers/unhide", {"arxiv_id": EXISTING})
    assert r.status_code == 303
    assert EXISTING in _search_ids(env, "Reinforcement Pre-Training")
    actions = [e["action"] for e in admin.c.get("/api/admin/audit").json()]
    assert actions[:2] == ["paper.unhide", "paper.hide"]


def test_admin_api(env: Env) -> None:
    admin = env.account("api-mod@example.org", "ApiMod", admin=True)
    r = admin.api("POST", f"/api/admin/papers/{HOT}/hide?reason=spam")
    assert r.status_code == 200 and r.json()["hidden"] == [HOT]
    assert admin.api("POST", f"/api/admin/papers/{HOT}/hide").json()["hidden"] == []  # idempotent
    assert admin.api("POST", "/api/admin/papers/2512.99999/hide").status_code == 404
    users = admin.c.get("/api/admin/users").json()
    assert [u["email"] for u in users] == ["api-mod@example.org"] and users[0]["is_admin"]
    assert admin.api("POST", "/api/admin/users/999/hide-submissions").status_code == 404


def test_only_admins_moderate(env: Env) -> None:
    user = env.account("plain@example.org", "Plain")
    assert user.c.get("/admin").status_code == 403
    r = user.post("/admin/papers/hide", {"arxiv_id": HOT})
    assert r.status_code == 403
    assert user.api("POST", f"/api/admin/papers/{HOT}/hide").status_code == 403
    assert user.c.get("/api/admin/audit").status_code == 403
    assert not html(user.c.get(f"/papers/{HOT}").text).xpath("//form[@action='/admin/papers/hide']")
    assert "Admin" not in text_of(
        html(user.c.get("/").text).xpath("//nav[@aria-label='Account']")[0]
    )
    anon = env.client()
    r = anon.get("/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin"
    assert anon.get("/api/admin/audit").status_code == 401
    assert env.client().get(f"/api/papers/{HOT}").status_code == 200
