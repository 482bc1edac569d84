""" "More like this collection": the page, its JSON twin, the private Atom feed, and the
same picks in the email digest for readers who opted in."""

from __future__ import annotations

import feedparser

from paperwire.models.subscriptions import Frequency
from paperwire.services.fieldmap import build_map
from paperwire.services.subscriptions import subscriptions_of
from tests.community.conftest import Env, html
from tests.foryou.conftest import TopicCorpus


def _collection(env: Env, owner: object, papers: list[str], public: bool = False) -> int:
    r = owner.api("POST", "/api/collections", json={"name": "Speech", "public": public})  # type: ignore[attr-defined]
    cid = int(r.json()["id"])
    for aid in papers:
        owner.api("POST", f"/api/collections/{cid}/papers", json={"arxiv_id": aid})  # type: ignore[attr-defined]
    return cid


def test_picks_page_json_and_private_feed(topic_env: Env, topic_corpus: TopicCorpus) -> None:
    owner = topic_env.account("ada@example.org", "ada")
    saved = topic_corpus.by_topic["speech"][:3]
    cid = _collection(topic_env, owner, saved)
    data = owner.c.get(f"/api/collections/{cid}/recommendations").json()
    ids = [i["paper"]["arxiv_id"] for i in data["items"]]
    assert ids and not set(ids) & set(saved)
    assert [topic_corpus.topic_of(a) for a in ids[:3]] == ["speech"] * 3
    assert all("saved in Speech" in i["reasons"][-1]["text"] for i in data["items"][:3])
    feed_url = data["feed_url"]
    assert feed_url.startswith(f"/collections/{cid}/recommendations.atom?token=")
    doc = html(owner.c.get(f"/collections/{cid}/recommendations").text)
    assert doc.xpath(f"//a[@href='{feed_url}']")

    # the private collection is 404 to others, but its feed link works for any reader
    stranger = topic_env.client()
    assert stranger.get(f"/api/collections/{cid}/recommendations").status_code == 404
    feed = stranger.get(feed_url)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith(
        "application/atom+xml"
    )
    entries = feedparser.parse(feed.content).entries
    assert [e.link.rsplit("/", 1)[-1] for e in entries][:3] == ids[:3]
    bad = feed_url[:-4] + ("AAAA" if not feed_url.endswith("AAAA") else "BBBB")
    assert stranger.get(bad).status_code == 404
    other = _collection(topic_env, owner, topic_corpus.by_topic["robot"][:1])
    token = feed_url.split("token=")[1]
    assert (
        stranger.get(f"/collections/{other}/recommendations.atom?token={token}").status_code == 404
    )


def test_digest_carries_collection_picks_only_when_opted_in(
    topic_env: Env, topic_corpus: TopicCorpus
) -> None:
    owner = topic_env.account("ada@example.org", "ada")
    saved = topic_corpus.by_topic["robot"][:2]
    _collection(topic_env, owner, saved)
    me = owner.me()
    assert me is not None
    subs = subscriptions_of(topic_env.pw)
    sub = subs.store.request("ada@example.org", Frequency.daily, user_id=me["id"], trending=False)

    def picks() -> list[str]:
        digest = subs.compose(Frequency.daily, sub=sub)
        return [c.arxiv_id for x in digest.sections if x.kind == "collection" for c in x.papers]

    assert picks() == []
    r = owner.post(
        "/for-you/settings", {"action": "digest", "digest_collections": "1"}, token_from="/for-you"
    )
    assert r.status_code == 303
    found = picks()
    assert found and not set(found) & set(saved)
    assert topic_corpus.topic_of(found[0]) == "robot"
    digest = subs.compose(Frequency.daily, sub=sub)
    assert "like your collections" in digest.subject
    assert "More like your collection “Speech”" in subs.render(digest, sub).text
    assert "/map.png" not in subs.render(digest, sub).html  # no map built yet
    build_map(topic_env.pw)
    rendered = subs.render(digest, sub)
    assert 'src="http://127.0.0.1:8000/map.png"' in rendered.html
    assert "A map of the field: http://127.0.0.1:8000/map" in rendered.text
