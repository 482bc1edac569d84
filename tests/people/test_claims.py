"""Authorship claims: a user claims an author name on a paper, an admin confirms it by
form; the profile lists the paper and the author page links to the user."""

from __future__ import annotations

from urllib.parse import quote

from tests.community.conftest import EXISTING, LAB_TOP, Env, html, text_of


def test_claim_confirm_and_links(env: Env) -> None:
    grace = env.account("grace@example.org", "Grace H")
    admin = env.account("root@example.org", "Root", admin=True)
    doc = html(grace.c.get(f"/papers/{LAB_TOP}").text)
    [form] = doc.xpath("//details[@class='claim-box']//form")
    assert form.get("action") == f"/papers/{LAB_TOP}/claim"
    assert form.xpath(".//option/@value") == ["Grace Hopper", "Émile Borel"]
    r = grace.post(
        f"/papers/{LAB_TOP}/claim", {"author": "grace  hopper"}, token_from=f"/papers/{LAB_TOP}"
    )
    assert r.status_code == 303
    shown = html(grace.c.get(r.headers["location"]).text)
    assert r.headers["location"] == f"/papers/{LAB_TOP}?claim=pending"
    assert "an administrator will check your authorship claim" in text_of(shown)
    forged = text_of(html(grace.c.get(f"/papers/{LAB_TOP}?claim=Send+your+password").text))
    assert "Send your password" not in forged
    # pending: nothing public yet
    assert grace.c.get("/api/users/Grace%20H").json()["claimed"] == []

    [pending] = admin.c.get("/api/admin/claims").json()
    assert pending["user"] == "grace-h" and pending["author"] == "Grace Hopper"
    admin_doc = html(admin.c.get("/admin").text)
    [decide] = admin_doc.xpath(f"//form[@action='/admin/claims/{pending['id']}']")
    assert decide.xpath(".//button[@value='confirm']")
    r = admin.post(f"/admin/claims/{pending['id']}", {"decision": "confirm"}, token_from="/admin")
    assert r.status_code == 303 and "confirmed" in r.headers["location"]
    assert admin.c.get("/api/admin/claims").json() == []

    profile = grace.c.get("/api/users/Grace%20H").json()
    assert [p["arxiv_id"] for p in profile["claimed"]] == [LAB_TOP]
    author = html(env.client().get("/authors/" + quote("Grace Hopper")).text)
    [link] = author.xpath("//p[@class='claimed-by']//a")
    assert link.get("href") == "/users/grace-h"
    audit = [e["action"] for e in admin.c.get("/api/admin/audit").json()]
    assert "claim.confirm" in audit and "claim.create" in audit


def test_claim_refusals(env: Env) -> None:
    grace = env.account("grace@example.org", "Grace H")
    other = env.account("other@example.org", "Other")
    r = grace.api("POST", f"/api/papers/{EXISTING}/claims", json={"author": "Grace Hopper"})
    assert r.status_code == 422 and "not among the authors" in r.json()["detail"]
    assert (
        grace.api("POST", "/api/papers/2599.99999/claims", json={"author": "X"}).status_code == 404
    )
    made = grace.api("POST", f"/api/papers/{EXISTING}/claims", json={"author": "Li Dong"})
    assert made.status_code == 201 and made.json()["status"] == "pending"
    again = grace.api("POST", f"/api/papers/{EXISTING}/claims", json={"author": "li dong"})
    assert again.json()["id"] == made.json()["id"]
    # only admins decide
    r = other.api("POST", f"/api/admin/claims/{made.json()['id']}", json={"confirm": True})
    assert r.status_code == 403
    assert (
        env.client().post(f"/api/papers/{EXISTING}/claims", json={"author": "Li Dong"}).status_code
        == 401
    )
    admin = env.account("root@example.org", "Root", admin=True)
    assert admin.api("POST", "/api/admin/claims/999", json={"confirm": True}).status_code == 404
    r = admin.api("POST", f"/api/admin/claims/{made.json()['id']}", json={"confirm": True})
    assert r.json()["status"] == "confirmed"
    # once confirmed, someone else cannot claim the same author of that paper
    r = other.api("POST", f"/api/papers/{EXISTING}/claims", json={"author": "Li Dong"})
    assert r.status_code == 409
