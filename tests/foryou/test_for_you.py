"""``/for-you`` and ``/api/for-you``: picks from what a reader liked, with reasons;
"not interested", pause, reset and cold-start topics. Real store, index and model."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from paperwire.bench import latency
from paperwire.models.papers import PaperCard
from paperwire.services.recommend import picks_from, recommend_for_user
from paperwire.store.recommend import RecStore
from tests.community.conftest import Env, html, text_of
from tests.foryou.conftest import TopicCorpus


def _ids(page: dict) -> list[str]:  # type: ignore[type-arg]
    return [item["paper"]["arxiv_id"] for item in page["items"]]


def test_feed_follows_what_the_reader_liked_and_says_why(
    topic_env: Env, topic_corpus: TopicCorpus
) -> None:
    reader = topic_env.account("ada@example.org", "ada")
    liked = topic_corpus.by_topic["speech"][:2]
    for aid in liked:
        assert reader.api("POST", f"/api/papers/{aid}/vote").status_code == 200
    page = reader.c.get("/api/for-you").json()
    ids = _ids(page)
    assert page["liked"] == 2 and not page["cold_start"]
    assert ids and not set(ids) & set(liked)  # never what the reader already liked
    top = ids[:3]
    assert [topic_corpus.topic_of(a) for a in top] == ["speech"] * len(top), top
    liked_titles = {r.title for r in topic_corpus.records if r.arxiv_id in liked}
    for item in page["items"][:3]:
        similar = [r for r in item["reasons"] if r["kind"] == "similar"]
        assert similar and any(t in similar[0]["text"] for t in liked_titles), item["reasons"]
        assert "you upvoted" in similar[0]["text"]
    doc = html(reader.c.get("/for-you").text)
    first = doc.xpath("//ol[contains(@class,'for-you')]/li")[0]
    assert first.get("data-arxiv-id") == ids[0]
    assert "which you upvoted" in text_of(first)
    assert first.xpath(".//form[@action='/for-you/not-interested']//button")


def test_not_interested_removes_the_paper_for_good(topic_env: Env) -> None:
    reader = topic_env.account("ada@example.org", "ada")
    liked = _first_ids(topic_env, 1)[0]
    reader.api("POST", f"/api/papers/{liked}/vote")
    before = _ids(reader.c.get("/api/for-you").json())
    dropped = before[0]
    r = reader.post("/for-you/not-interested", {"arxiv_id": dropped}, token_from="/for-you")
    assert r.status_code == 303 and r.headers["location"] == "/for-you"
    after = _ids(reader.c.get("/api/for-you").json())
    assert dropped not in after and after
    again = reader.api("POST", "/api/for-you/not-interested", json={"arxiv_id": dropped})
    assert again.json() == {"arxiv_id": dropped, "changed": False}
    missing = reader.api("POST", "/api/for-you/not-interested", json={"arxiv_id": "2501.99999"})
    assert missing.status_code == 404
    # Another reader's feed is their own.
    other = topic_env.account("bob@example.org", "bob")
    other.api("POST", f"/api/papers/{liked}/vote")
    assert dropped in _ids(other.c.get("/api/for-you").json())


def _first_ids(env: Env, n: int) -> list[str]:
    ids, _ = env.pw.store.index_ids(env.pw.model_name)
    return sorted(ids)[:n]


def test_pause_reset_and_cold_start_topics(topic_env: Env, topic_corpus: TopicCorpus) -> None:
    reader = topic_env.account("ada@example.org", "ada")
    page = reader.c.get("/api/for-you").json()
    assert page["cold_start"] and page["items"] == []
    assert "Tell the feed what you read" in reader.c.get("/for-you").text
    data = {"action": "topics", "topic-cs.RO": "on"}
    assert reader.post("/for-you/settings", data, token_from="/for-you").status_code == 303
    page = reader.c.get("/api/for-you").json()
    assert page["settings"]["topics"] == ["cs.RO"] and page["items"]
    for item in page["items"]:
        assert "cs.RO" in item["paper"]["categories"]
        assert item["reasons"] == [{"kind": "topic", "text": "New in cs.RO, a topic you picked"}]
    bad = reader.api("PATCH", "/api/for-you/settings", json={"topics": ["<script>"]})
    assert bad.status_code == 422

    reader.api("POST", f"/api/papers/{topic_corpus.by_topic['robot'][0]}/vote")
    assert reader.api("PATCH", "/api/for-you/settings", json={"paused": True}).json()["paused"]
    page = reader.c.get("/api/for-you").json()
    assert page["items"] == [] and page["settings"]["paused"]
    assert "Your feed is paused" in reader.c.get("/for-you").text
    reader.post("/for-you/settings", {"action": "resume"}, token_from="/for-you")
    assert reader.c.get("/api/for-you").json()["items"]

    reader.post("/for-you/settings", {"action": "reset"}, token_from="/for-you")
    page = reader.c.get("/api/for-you").json()
    assert page["liked"] == 0 and page["settings"]["reset_at"] is not None
    # the vote itself stays: only the feed forgot it
    assert reader.c.get(f"/api/papers/{topic_corpus.by_topic['robot'][0]}").json()


def test_for_you_needs_an_account(topic_env: Env) -> None:
    c = topic_env.client()
    assert c.get("/api/for-you").status_code == 401
    r = c.get("/for-you", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_followed_author_brings_their_papers_with_the_reason(
    topic_env: Env, topic_corpus: TopicCorpus
) -> None:
    """Follows (``/api/follows``) feed For you: an author followed, nothing upvoted."""
    reader = topic_env.account("fan@example.org", "fan")
    record = next(r for r in topic_corpus.records if r.authors)
    author = record.authors[0]
    follow = reader.api("POST", "/api/follows", json={"kind": "author", "target": author})
    assert follow.status_code == 200, follow.text
    page = reader.c.get("/api/for-you").json()
    by_author = {r.arxiv_id for r in topic_corpus.records if author in r.authors}
    theirs = [i for i in page["items"] if i["paper"]["arxiv_id"] in by_author]
    assert theirs, [i["paper"]["arxiv_id"] for i in page["items"]]
    reasons = [r for r in theirs[0]["reasons"] if r["kind"] == "author_followed"]
    assert reasons and author in reasons[0]["text"]


def test_picks_score_visible_papers_and_build_cards_for_the_picks_only(
    topic_env: Env, topic_corpus: TopicCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader's pool is ~1,000 papers at arXiv scale and ~20 are shown: scoring reads
    each candidate's day, upvotes and authors (``RecStore.candidate_facts``), and whole
    cards are built for the picks alone. A hidden paper is never picked, and a
    candidate's upvotes count as its card shows them."""
    pw = topic_env.pw
    reader = topic_env.account("ada@example.org", "ada")
    for aid in topic_corpus.by_topic["speech"][:2]:
        assert reader.api("POST", f"/api/papers/{aid}/vote").status_code == 200
    account = topic_env.comm.users.by_email("ada@example.org")
    assert account is not None
    asked: list[list[str]] = []
    cards = pw.store.cards

    def spied(ids: Sequence[str]) -> dict[str, PaperCard]:
        asked.append(list(ids))
        return cards(ids)

    monkeypatch.setattr(pw.store, "cards", spied)
    picks = recommend_for_user(pw, account.id, limit=5)
    assert len(picks.ids) == 5 and asked == [picks.ids]
    items = picks.items()
    assert [i.paper.arxiv_id for i in items] == picks.ids
    assert all(i.paper == cards([i.paper.arxiv_id])[i.paper.arxiv_id] for i in items)

    facts = RecStore(pw.db).candidate_facts([*picks.ids, "2501.99999"])
    assert set(facts) == set(picks.ids)  # unknown ids are absent
    for item in items:
        fact = facts[item.paper.arxiv_id]
        assert fact.upvotes == item.paper.upvotes
        assert len(fact.authors) == item.paper.author_count
        assert fact.authors[: len(item.paper.first_authors)] == item.paper.first_authors
        assert fact.published == (item.paper.published_at and item.paper.published_at.date())

    # A pick hidden between the facts and the cards is left out, ids and items alike.
    monkeypatch.setattr(
        pw.store, "cards", lambda ids: {i: c for i, c in cards(ids).items() if i != picks.ids[0]}
    )
    raced = recommend_for_user(pw, account.id, limit=5)
    assert raced.ids == picks.ids[1:] == [i.paper.arxiv_id for i in raced.items()]
    assert len(raced.scores) == len(raced.reasons) == 4

    monkeypatch.setattr(pw.store, "cards", cards)
    topic_env.account("mod@example.org", "mod", admin=True)
    mod = topic_env.comm.users.by_email("mod@example.org")
    assert mod is not None
    topic_env.comm.hide_papers(mod, [picks.ids[0]], "test")
    assert picks.ids[0] not in RecStore(pw.db).candidate_facts([picks.ids[0]])
    again = recommend_for_user(pw, account.id, limit=5)
    assert again.ids and picks.ids[0] not in again.ids
    assert again.ids[:4] == picks.ids[1:5]  # the others keep their order


def test_the_latency_bench_times_for_you_picks(
    topic_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``paperwire bench latency`` times a reader's picks (``picks_from``) for readers
    of a few and of many liked papers, sampled from the install; those picks never hold
    a liked paper."""
    monkeypatch.setattr(latency, "FOR_YOU_LIKES", (2, 6))
    for likes in latency.FOR_YOU_LIKES:
        for seeds in latency._liked_samples(topic_env.pw.db, likes, 3, seed=likes):
            assert len(seeds) == likes and all(s.title and s.authors for s in seeds)
            liked = {s.arxiv_id for s in seeds}
            picks = picks_from(topic_env.pw, seeds, liked, (), frozenset(), 20)
            assert picks.ids and not liked & set(picks.ids)
    rows = latency._for_you_timings(topic_env.pw)
    assert [(t.mode, t.filter) for t in rows] == [("for you", "2 liked"), ("for you", "6 liked")]
    n = latency._FOR_YOU_READERS * latency._FOR_YOU_REPEATS
    assert all(t.n == n and 0 < t.p50 <= t.p95 <= t.p99 for t in rows)
