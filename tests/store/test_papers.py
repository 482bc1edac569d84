"""PaperStore contract, run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import ValidationError

from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchFilters, SortOrder
from paperwire.sources.hf_daily import read_hf_daily_dir
from paperwire.store import Database, PaperStore
from paperwire.store.papers import read_cards, text_hash
from tests.conftest import HF_DAILY


def rec(aid: str, source: str = "hf-daily", **kw: object) -> tuple[PaperRecord, str]:
    base: dict[str, object] = {"title": f"Paper {aid}", "abstract": "An abstract."}
    base.update(kw)
    return PaperRecord(arxiv_id=aid, source=source, **base), f"test:{aid}"


def test_migrating_a_migrated_database_again_keeps_its_papers(store: PaperStore) -> None:
    store.upsert([rec("2501.00001")])
    store.db.migrate()  # a second ``paperwire`` start runs it again
    assert list(store.cards(["2501.00001"])) == ["2501.00001"]


def test_real_day_is_idempotent(store: PaperStore) -> None:
    since = until = dt.date(2025, 6, 10)
    records = [r for r in read_hf_daily_dir(HF_DAILY, since, until) if isinstance(r, PaperRecord)]
    assert len(records) == 36
    batch = [(r, "f") for r in records]
    first = store.upsert(batch)
    assert len(first.added) == 36 and not first.updated and not first.rejections
    again = store.upsert(batch)
    assert not again.added and not again.updated and len(again.unchanged) == 36
    assert store.count() == 36
    paper = store.get("2506.08007")
    assert paper is not None
    assert paper.title == "Reinforcement Pre-Training"
    assert paper.upvotes == 130
    assert paper.featured_days == [dt.date(2025, 6, 10)]
    assert "\n" not in paper.abstract


def test_reingesting_days_where_a_paper_repeats_reports_nothing_updated(
    store: PaperStore,
) -> None:
    """2511.07332 is featured on Nov 11 (7 GitHub stars) and Nov 12, 2025 (16 stars): the
    older record must not overwrite the newer one's facts on a re-ingest (it reported
    the paper "updated" on every run although nothing but ``updated_at`` changed)."""
    since, until = dt.date(2025, 11, 11), dt.date(2025, 11, 12)
    records = [r for r in read_hf_daily_dir(HF_DAILY, since, until) if isinstance(r, PaperRecord)]
    twice = [r for r in records if r.arxiv_id == "2511.07332"]
    assert [r.github_stars for r in twice] == [7, 16]
    batch = [(r, "f") for r in records]
    store.upsert(batch)
    again = store.upsert(batch)
    assert again.updated == [] and not again.added
    assert len(again.unchanged) == len(records)
    paper = store.get("2511.07332")
    assert paper is not None and paper.github_stars == 16 and paper.upvotes == 31
    # each record in its own batch, newest day first: the older one still changes nothing
    store.upsert([(twice[1], "f")])
    assert store.upsert([(twice[0], "f")]).unchanged == ["2511.07332"]


def test_two_sources_merge_into_one_paper_in_any_order(store: PaperStore) -> None:
    hf = dict(
        title="Samba: Simple Hybrid State Space Models",
        abstract="Efficiently modeling sequences.",
        upvotes=42,
        organization="Microsoft",
        organization_id="microsoft",
        github_repo="https://github.com/microsoft/Samba",
        featured_on=dt.date(2024, 6, 12),
        published_at=dt.datetime(2024, 6, 11, 17, 0, tzinfo=dt.UTC),
    )
    ax = dict(
        title="Samba: Simple Hybrid State Space Models for Efficient Unlimited Context",
        abstract="Efficiently modeling sequences with infinite context length.",
        categories=["cs.CL", "cs.LG"],
        comment="22 pages",
        authors=["Liliang Ren", "Yang Liu"],
        published_at=dt.datetime(2024, 6, 12, tzinfo=dt.UTC),
    )
    store.upsert([rec("2406.07522", "hf-daily", **hf)])
    out = store.upsert([rec("2406.07522", "arxiv-listings", **ax)])
    assert out.updated == ["2406.07522"]
    a = store.get("2406.07522")

    db2 = store.db  # same database, other order: a second paper id to compare field by field
    store.upsert([rec("2406.99999", "arxiv-listings", **ax)])
    store.upsert([rec("2406.99999", "hf-daily", **hf)])
    b = PaperStore(db2).get("2406.99999")
    assert a is not None and b is not None
    for p in (a, b):
        assert p.title.endswith("Efficient Unlimited Context")  # arXiv wins bibliography
        assert p.categories == ["cs.CL", "cs.LG"]
        assert p.comment == "22 pages"
        assert p.upvotes == 42 and p.organization == "Microsoft" and p.has_code
        assert p.featured_days == [dt.date(2024, 6, 12)]
        assert p.sources == ["arxiv-listings", "hf-daily"]
        assert p.published_at == dt.datetime(2024, 6, 11, 17, 0, tzinfo=dt.UTC)  # earliest
    assert store.count() == 2


def test_upvotes_never_decrease_and_new_feature_day_is_an_update(store: PaperStore) -> None:
    store.upsert([rec("2501.00001", upvotes=10, featured_on=dt.date(2025, 1, 2))])
    out = store.upsert([rec("2501.00001", upvotes=3, featured_on=dt.date(2025, 1, 2))])
    assert out.unchanged == ["2501.00001"]
    out = store.upsert([rec("2501.00001", upvotes=12, featured_on=dt.date(2025, 1, 3))])
    assert out.updated == ["2501.00001"]
    p = store.get("2501.00001")
    assert p is not None and p.upvotes == 12
    assert p.featured_days == [dt.date(2025, 1, 2), dt.date(2025, 1, 3)]


def test_titleless_table_rows_only_enrich_known_papers(store: PaperStore) -> None:
    store.upsert([rec("2406.07522", abstract=None)])  # known, but without abstract
    out = store.upsert(
        [
            rec("2406.07522", "table", title=None, abstract="A much longer abstract."),
            rec("2406.00000", "table", title=None, abstract="Unknown paper."),
        ]
    )
    assert out.updated == ["2406.07522"]
    assert len(out.rejections) == 1
    r = out.rejections[0]
    assert r.record == "2406.00000" and r.field == "title" and r.location == "test:2406.00000"
    assert r.reason.startswith("missing, and the paper is not already known (a record")
    assert store.get("2406.00000") is None
    p = store.get("2406.07522")
    assert p is not None and p.abstract == "A much longer abstract."


def test_feed_orders_by_upvotes_and_finds_neighbour_days(store: PaperStore) -> None:
    d1, d2, d3 = dt.date(2025, 3, 3), dt.date(2025, 3, 5), dt.date(2025, 3, 9)
    store.upsert(
        [
            rec("2503.00001", upvotes=5, featured_on=d1),
            rec("2503.00002", upvotes=50, featured_on=d2),
            rec("2503.00003", upvotes=7, featured_on=d2),
            rec("2503.00004", upvotes=1, featured_on=d3),
        ]
    )
    assert [c.arxiv_id for c in store.feed(d2, d2)] == ["2503.00002", "2503.00003"]
    week = store.feed(dt.date(2025, 3, 3), dt.date(2025, 3, 9))
    assert [c.upvotes for c in week] == [50, 7, 5, 1]
    assert store.adjacent_feature_days(d2, d2) == (d1, d3)
    assert store.adjacent_feature_days(d1, d1) == (None, d2)
    assert store.feature_day_bounds() == (d1, d3)
    assert store.feed(dt.date(2025, 3, 4), dt.date(2025, 3, 4)) == []


def test_browse_filters(store: PaperStore) -> None:
    store.upsert(
        [
            rec(
                "2501.00001",
                categories=["cs.CL"],
                github_repo="https://github.com/a/b",
                organization_id="nvidia",
                organization="NVIDIA",
                published_at=dt.datetime(2025, 1, 5, tzinfo=dt.UTC),
            ),
            rec(
                "2502.00002",
                categories=["cs.CV", "cs.CL"],
                published_at=dt.datetime(2025, 2, 5, tzinfo=dt.UTC),
            ),
            rec(
                "2503.00003",
                categories=["cs.CLX"],
                published_at=dt.datetime(2025, 3, 5, tzinfo=dt.UTC),
            ),
        ]
    )

    def ids(**f: object) -> list[str]:
        return [c.arxiv_id for c in store.browse(SearchFilters(**f), SortOrder.newest, 10, 0)[1]]

    assert ids() == ["2503.00003", "2502.00002", "2501.00001"]
    assert ids(category="cs.CL") == ["2502.00002", "2501.00001"]
    assert ids(has_code=True) == ["2501.00001"]
    assert ids(has_code=False) == ["2503.00003", "2502.00002"]
    assert ids(organization="NVIDIA") == ["2501.00001"]
    assert ids(date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 2, 5)) == ["2502.00002"]


def test_embedding_backlog_resumes_and_goes_stale_on_text_change(store: PaperStore) -> None:
    store.upsert([rec(f"2501.0000{i}") for i in range(5)])
    model = "m"
    assert store.backlog_count(model) == 5
    first = store.embedding_backlog(model, 2)
    assert len(first) == 2
    vec = np.ones(4, dtype=np.float32)
    store.save_embeddings(model, [(pk, h, vec) for pk, _, _, h in first])
    assert store.backlog_count(model) == 3 and store.embedded_count(model) == 2
    assert store.backlog_count("other-model") == 5
    # Same text again: still embedded. New abstract: stale, back in the backlog.
    aid = first[0][1]
    store.upsert([rec(aid, abstract="An abstract.")])
    assert store.embedded_count(model) == 2
    store.upsert([rec(aid, source="arxiv", abstract="Rewritten abstract.")])
    assert store.embedded_count(model) == 1 and store.backlog_count(model) == 4
    # The index keeps a stale vector until the paper is embedded again (a text update
    # must not drop it from semantic search), so the index documents carry it too.
    docs = [d for batch in store.iter_index_docs(model) for d in batch]
    with_vec = [d for d in docs if d.vector is not None]
    assert len(docs) == 5 and {d.arxiv_id for d in with_vec} == {aid, first[1][1]}
    assert all(np.allclose(d.vector, vec) for d in with_vec)
    assert text_hash("a", "b") != text_hash("a", "c")


def test_trending_decays_votes_with_age(store: PaperStore) -> None:
    now = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)
    store.upsert(
        [
            rec("2503.00001", upvotes=100, featured_on=dt.date(2025, 3, 3)),  # old, many votes
            rec("2503.00002", upvotes=20, featured_on=dt.date(2025, 3, 10)),  # new, some votes
            rec("2503.00003", upvotes=5, featured_on=dt.date(2025, 3, 10)),
            rec("2503.00004", upvotes=1000, featured_on=dt.date(2025, 1, 1)),  # out of window
            rec(
                "2503.00005", upvotes=8, published_at=dt.datetime(2025, 3, 10, 0, 0, tzinfo=dt.UTC)
            ),  # never featured
        ]
    )
    ranked = store.trending(now, gravity=1.8, offset_hours=2.0, window_days=14, limit=10)
    assert [c.arxiv_id for c, _ in ranked] == [
        "2503.00002",
        "2503.00005",
        "2503.00003",
        "2503.00001",
    ]
    score = dict((c.arxiv_id, sc) for c, sc in ranked)
    assert score["2503.00002"] == pytest.approx(20 / (12 + 2) ** 1.8)
    assert score["2503.00001"] == pytest.approx(100 / (7 * 24 + 12 + 2) ** 1.8)
    # With no gravity, age does not matter: plain votes.
    flat = store.trending(now, gravity=1e-9, offset_hours=2.0, window_days=14, limit=2)
    assert [c.arxiv_id for c, _ in flat] == ["2503.00001", "2503.00002"]


def test_cards_are_shared_while_the_stored_values_stay(store: PaperStore) -> None:
    """``card_from`` keeps cards by value: the same stored paper gives the same immutable
    card on every read; any change to what a card shows gives a new one."""
    day = dt.date(2025, 6, 10)
    store.upsert([rec("2506.00001", featured_on=day, upvotes=3, authors=["A", "B"])])
    first = store.cards(["2506.00001"])["2506.00001"]
    assert store.cards(["2506.00001"])["2506.00001"] is first
    assert store.feed(day, day)[0] is first  # the feed's row gives the same card
    with pytest.raises(ValidationError):
        first.upvotes = 99  # type: ignore[misc]
    store.upsert([rec("2506.00001", featured_on=day, upvotes=7, authors=["A", "B"])])
    after = store.cards(["2506.00001"])["2506.00001"]
    assert after is not first and (first.upvotes, after.upvotes) == (3, 7)
    store.upsert([rec("2506.00001", featured_on=day, upvotes=7, title="Renamed")])
    renamed = store.cards(["2506.00001"])["2506.00001"]
    assert renamed.title == "Renamed" and after.title == "Paper 2506.00001"


def test_a_card_read_by_position_is_the_card_of_the_stored_paper(store: PaperStore) -> None:
    """Result pages and feeds build cards from a row's columns by position
    (``cards_of_rows``), paper lists from ``Paper`` objects by name (``card_of``): every
    field of a card must come out the same both ways, its day the latest featured one."""
    from sqlalchemy import select, update

    from paperwire.store.convert import card_of
    from paperwire.store.schema.papers import Paper

    days = [dt.date(2025, 6, 10), dt.date(2025, 6, 12), dt.date(2025, 6, 11)]
    full = dict(
        title="Full card",
        abstract="Words " * 80,
        authors=["A One", "B Two", "C Three", "D Four"],
        categories=["cs.CL", "cs.LG"],
        organization="Org",
        organization_id="org",
        published_at=dt.datetime(2025, 6, 9, 17, 30, tzinfo=dt.UTC),
        upvotes=12,
        num_comments=4,
        github_repo="https://github.com/o/r",
        github_stars=9,
        project_page="javascript:alert(1)",  # dropped from the card's links, both ways
        thumbnail="https://example.org/t.png",
    )
    for day in days:
        store.upsert([rec("2506.00011", featured_on=day, **full)])
    store.upsert([rec("2506.00012", featured_on=days[0])])  # the bare minimum
    store.upsert([rec("2506.00013", featured_on=days[0]), rec("2506.00014")])
    with store.db.session() as s:  # a moderator's hide; two comments written here
        s.execute(update(Paper).where(Paper.arxiv_id == "2506.00013").values(hidden=True))
        s.execute(update(Paper).where(Paper.arxiv_id == "2506.00011").values(local_comments=2))
    ids = ["2506.00011", "2506.00012", "2506.00013", "2506.00014"]
    with store.db.session() as s:
        papers = {p.arxiv_id: p for p in s.scalars(select(Paper).where(Paper.arxiv_id.in_(ids)))}
        by_name = {aid: card_of(p) for aid, p in papers.items()}
    cards, texts = read_cards(store.db, ids)
    assert sorted(cards) == ["2506.00011", "2506.00012", "2506.00014"]  # hidden: absent
    for aid, card in cards.items():
        assert card.model_dump() == by_name[aid].model_dump(), aid
        assert texts[aid] == (papers[aid].title, papers[aid].abstract)
    full_card = cards["2506.00011"]
    assert full_card.featured_on == max(days) and full_card.num_comments == 6
    assert (full_card.title, full_card.organization, full_card.organization_id) == (
        "Full card",
        "Org",
        "org",
    )
    assert full_card.published_at == dt.datetime(2025, 6, 9, 17, 30, tzinfo=dt.UTC)
    assert (full_card.upvotes, full_card.github_stars, full_card.has_code) == (12, 9, True)
    assert full_card.categories == ["cs.CL", "cs.LG"]
    assert full_card.links.github == "https://github.com/o/r"
    assert full_card.links.project_page is None and full_card.links.thumbnail
    assert (full_card.author_count, full_card.first_authors) == (4, ["A One", "B Two", "C Three"])
    assert full_card.teaser.endswith("…") and len(full_card.teaser) <= 220
    assert cards["2506.00014"].featured_on is None
    feed = store.feed(days[0], days[-1])  # a feed's card: its first day in the period
    assert {c.arxiv_id: c.featured_on for c in feed} == {
        "2506.00011": days[0],
        "2506.00012": days[0],
    }


def test_a_paper_stored_meanwhile_by_another_writer_is_merged(
    store: PaperStore, database_url: str
) -> None:
    """Two writers (a cron ingest and a submission, two workers) store the same new paper
    at the same moment: both read "not there", one inserts it first. The other's batch
    is not lost to a unique-key error: it is stored again over the paper as it now is,
    and its facts merge (the later feature day, both sources)."""
    from sqlalchemy import event

    other = PaperStore(Database(database_url))
    day = dt.date(2025, 6, 10)
    raced: list[str] = []

    def meanwhile(session: object, *_: object) -> None:
        if not raced:  # the first flush only: after the batch's read, before its insert
            raced.append("once")
            first = other.upsert([rec("2506.90001", "arxiv", featured_on=day)])
            assert first.added == ["2506.90001"]

    event.listen(store.db._sessions, "before_flush", meanwhile)
    try:
        out = store.upsert(
            [
                rec("2506.90001", featured_on=day + dt.timedelta(days=1), upvotes=5),
                rec("2506.90002"),
            ]
        )
    finally:
        event.remove(store.db._sessions, "before_flush", meanwhile)
        other.db.close()
    assert raced == ["once"]
    assert out.updated == ["2506.90001"] and out.added == ["2506.90002"], out
    paper = store.get("2506.90001")
    assert paper is not None
    assert paper.featured_days == [day, day + dt.timedelta(days=1)]
    assert paper.upvotes == 5
    assert store.count() == 2
