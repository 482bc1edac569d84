"""Collections: create, add/remove, privacy (404 for others), BibTeX and JSONL exports."""

from __future__ import annotations

import json

from tests.community.conftest import COLD, EXISTING, HOT, LAB_TOP, Env, html, text_of


def _create(env: Env, *, public: bool) -> tuple[object, int]:
    owner = env.account("owner@example.org", "Owner")
    r = owner.api(
        "POST",
        "/api/collections",
        json={"name": "  Reading   list ", "description": "Weekend reading", "public": public},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "Reading list" and body["owner"] == "Owner" and body["paper_count"] == 0
    return owner, int(body["id"])


def test_private_collection_is_404_for_everyone_else(env: Env) -> None:
    owner, cid = _create(env, public=False)
    assert owner.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": HOT}).json() == {
        "collection_id": cid,
        "arxiv_id": HOT,
        "changed": True,
    }
    assert owner.c.get(f"/collections/{cid}").status_code == 200
    other = env.account("other@example.org", "Other")
    anon = env.client()
    for client in (other.c, anon):
        for path in (
            f"/collections/{cid}",
            f"/api/collections/{cid}",
            f"/collections/{cid}/export.bib",
            f"/collections/{cid}/export.jsonl",
            f"/api/collections/{cid}/export?format=jsonl",
        ):
            r = client.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert "private" in r.text and "Reading list" not in r.text
    # same answer as a collection that does not exist
    assert anon.get("/api/collections/999").json() == anon.get(f"/api/collections/{cid}").json()
    # others cannot write to it either
    r = other.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": COLD})
    assert r.status_code == 404
    assert other.api("DELETE", f"/api/collections/{cid}").status_code == 404
    assert other.api("PATCH", f"/api/collections/{cid}", json={"public": True}).status_code == 404
    assert anon.post(f"/api/collections/{cid}/papers", json={"arxiv_id": COLD}).status_code == 401
    # once public, anyone can read it (but still not change it)
    r = owner.api("PATCH", f"/api/collections/{cid}", json={"public": True})
    assert r.json()["public"] is True
    assert anon.get(f"/api/collections/{cid}").json()["papers"][0]["arxiv_id"] == HOT
    page = html(other.c.get(f"/collections/{cid}").text)
    assert "Reading list" in text_of(page) and not page.xpath("//form[contains(@action,'/edit')]")


def test_collection_pages_and_forms(env: Env) -> None:
    p = env.account("forms@example.org", "Former")
    r = p.post("/collections", {"name": "Diffusion", "public": "1", "add": EXISTING})
    assert r.status_code == 303
    path = r.headers["location"]
    cid = int(path.rsplit("/", 1)[1])
    # save another paper from its page's "Save to" form
    page = html(p.c.get(f"/papers/{HOT}").text)
    [form] = page.xpath("//form[@action='/collections/save']")
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    fields["collection_id"] = form.xpath(".//option/@value")[0]
    r = p.c.post("/collections/save", data=fields, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{HOT}"
    assert "Diffusion (saved)" in p.c.get(f"/papers/{HOT}").text
    doc = html(p.c.get(path).text)
    titles = [text_of(t) for t in doc.xpath("//article//*[contains(@class,'card-title')]")]
    assert titles == ["Hot takes on sparse attention", "Reinforcement Pre-Training"]
    assert "2 papers" in text_of(doc) and "Public" in text_of(doc)
    # remove one, rename, make private
    r = p.post(f"/collections/{cid}/papers/{HOT}/remove", {})
    assert r.status_code == 303
    r = p.post(f"/collections/{cid}/edit", {"name": "Diffusion models", "description": ""})
    summary = p.c.get("/api/collections").json()
    assert [(c["name"], c["public"], c["paper_count"]) for c in summary] == [
        ("Diffusion models", False, 1)
    ]
    r = p.post(f"/collections/{cid}/papers", {"arxiv_id": "2599.99999"})
    assert r.status_code == 404 and "submit it first" in r.text
    r = p.post(f"/collections/{cid}/delete", {})
    assert r.status_code == 303 and p.c.get("/api/collections").json() == []
    anon = env.client().get("/collections", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"] == "/login?next=/collections"


def test_exports(env: Env) -> None:
    owner, cid = _create(env, public=True)
    for aid in (COLD, LAB_TOP, EXISTING):
        owner.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": aid})
    # ids in any form are accepted
    r = owner.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": f"arXiv:{COLD}v3"})
    assert r.json()["changed"] is False
    anon = env.client()
    r = anon.get(f"/collections/{cid}/export.bib")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-bibtex")
    assert f'filename="collection-{cid}.bib"' in r.headers["content-disposition"]
    bib = r.text
    assert bib.count("@misc{") == 3
    assert "@misc{dong2025reinforcement,\n" in bib
    assert "  title = {Reinforcement Pre-Training},\n" in bib
    assert "  author = {Qingxiu Dong and Li Dong},\n" in bib
    assert f"  eprint = {{{EXISTING}}},\n  archivePrefix = {{arXiv}},\n" in bib
    assert "  primaryClass = {cs.CL},\n" in bib
    assert f"  url = {{https://arxiv.org/abs/{EXISTING}}}\n}}" in bib
    assert "author = {Grace Hopper and Émile Borel}" in bib
    assert bib == anon.get(f"/api/collections/{cid}/export?format=bibtex").text
    r = anon.get(f"/collections/{cid}/export.jsonl")
    assert r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["arxiv_id"] for row in rows] == [EXISTING, LAB_TOP, COLD]  # newest added first
    first = rows[0]
    assert first["title"] == "Reinforcement Pre-Training"
    assert first["authors"] == ["Qingxiu Dong", "Li Dong"] and first["upvotes"] == 130
    assert first["links"]["arxiv"] == f"https://arxiv.org/abs/{EXISTING}"
    assert set(first) >= {"abstract", "categories", "published_at", "added_at"}


def test_bibtex_escaping() -> None:
    import datetime as dt

    from paperwire.formats.export import bibtex
    from paperwire.models.community import CollectionExportRow
    from paperwire.models.papers import Links

    def row(aid: str, title: str, authors: list[str]) -> CollectionExportRow:
        return CollectionExportRow(
            arxiv_id=aid,
            title=title,
            authors=authors,
            abstract="",
            categories=[],
            published_at=dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            upvotes=0,
            links=Links(arxiv=f"https://arxiv.org/abs/{aid}", pdf="x", page="y"),
            added_at=dt.datetime(2024, 1, 3, tzinfo=dt.UTC),
        )

    out = bibtex(
        [
            row("2401.00001", "Q&A at 100% with $O(n_1)$ {unbalanced", ["A. Smith"]),
            row("2401.00002", "Quality & more", ["B. Smith"]),
            row("2401.00003", "Quality again", ["C. Smith"]),
        ]
    )
    assert r"title = {Q\&A at 100\% with $O(n_1)$ unbalanced}" in out
    keys = [line.split("{")[1].rstrip(",") for line in out.splitlines() if line.startswith("@")]
    assert keys == ["smith2024qa", "smith2024quality", "smith2024qualitya"]
