"""Result cards kept between requests (``store.result_cards``): a page read again reads no
card; a vote re-reads its paper only; an edit, a comment count, a hide and another
process's vote show on the next read; a card read while a change was being seen is not
kept. Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import event, update

from paperwire.models.papers import PaperRecord
from paperwire.store import Database, PaperStore
from paperwire.store.audit import AuditStore
from paperwire.store.papers import read_cards
from paperwire.store.result_cards import CardsAndTexts, KeptResultCards
from paperwire.store.schema.papers import Paper
from paperwire.store.users import Account, UserStore
from paperwire.store.votes import VoteStore

DAY = dt.date(2026, 11, 20)
A, B, C = "2511.00001", "2511.00002", "2511.00003"


def _record(aid: str, title: str, source: str = "hf-daily") -> PaperRecord:
    return PaperRecord(
        arxiv_id=aid,
        source=source,
        title=title,
        abstract=f"The abstract of {title}.",
        featured_on=DAY,
    )


@pytest.fixture
def papers(store: PaperStore) -> PaperStore:
    outcome = store.upsert([(_record(aid, f"Paper {aid}"), f"test:{aid}") for aid in (A, B, C)])
    assert not outcome.rejections, outcome
    return store


@pytest.fixture
def voter(db: Database) -> Account:
    return UserStore(db).create("voter@example.org", "Voter", "not-a-real-hash")


@pytest.fixture
def card_reads(db: Database) -> Iterator[list[set[str]]]:
    """The ids each card read asked for (the statement that selects cards by arXiv id)."""
    reads: list[set[str]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "papers.num_comments" in statement and "papers.arxiv_id IN" in statement:
            values = params.values() if isinstance(params, dict) else params
            reads.append({v for v in values if isinstance(v, str) and v.startswith("2511.")})

    event.listen(db.engine, "before_cursor_execute", seen)
    yield reads
    event.remove(db.engine, "before_cursor_execute", seen)


def test_a_page_read_again_reads_no_card_and_a_vote_rereads_its_paper_only(
    papers: PaperStore, voter: Account, card_reads: list[set[str]]
) -> None:
    cards, texts = papers.cards_and_texts([A, B])
    assert card_reads == [{A, B}]
    assert texts[A] == (f"Paper {A}", f"The abstract of Paper {A}.")
    again, texts_again = papers.cards_and_texts([B, A])
    assert card_reads == [{A, B}]  # kept: no read
    assert again == cards and texts_again == texts

    assert VoteStore(papers.db).vote(voter.id, A).changed
    after, _ = papers.cards_and_texts([A, B, C])
    assert card_reads[1:] == [{A, C}]  # the vote declared A only: B is still kept
    assert after[A].upvotes == cards[A].upvotes + 1
    assert after[B] == cards[B]
    assert set(after) == {A, B, C}

    # a vote and a change that declared nothing (a signup) seen at once: the log no
    # longer tells the vote's paper, so every card is read again
    assert VoteStore(papers.db).vote(voter.id, B).changed
    UserStore(papers.db).create("reader@example.org", "Reader", "not-a-real-hash")
    card_reads.clear()
    mixed, _ = papers.cards_and_texts([A, B, C])
    assert card_reads == [{A, B, C}]
    assert mixed[B].upvotes == cards[B].upvotes + 1


def test_an_edit_a_comment_count_and_a_hide_show_on_the_next_read(
    papers: PaperStore, voter: Account, card_reads: list[set[str]]
) -> None:
    before, _ = papers.cards_and_texts([A, B, C])
    # an edit from a more authoritative source: a change that declared nothing
    outcome = papers.upsert([(_record(B, "Paper B, as arXiv titles it", "arxiv"), "test:edit")])
    assert not outcome.rejections, outcome
    card_reads.clear()  # (the upsert reads its papers too)
    edited, texts = papers.cards_and_texts([A, B, C])
    assert card_reads == [{A, B, C}]  # every card dropped
    assert edited[B].title == "Paper B, as arXiv titles it"
    assert texts[B][0] == "Paper B, as arXiv titles it"

    # a comment moves a counter only (``papers:counts``)
    with papers.db.session() as s:
        s.execute(update(Paper).where(Paper.arxiv_id == A).values(local_comments=3))
    counted, _ = papers.cards_and_texts([A])
    assert counted[A].num_comments == before[A].num_comments + 3

    assert AuditStore(papers.db).set_hidden(voter, [C], True) == [C]
    shown, shown_texts = papers.cards_and_texts([A, B, C])
    assert set(shown) == set(shown_texts) == {A, B}


def test_another_process_vote_shows_on_the_next_read(
    papers: PaperStore, voter: Account, database_url: str
) -> None:
    before, _ = papers.cards_and_texts([A, B])
    other = Database(database_url)  # another worker on the same database
    try:
        assert VoteStore(other).vote(voter.id, B).changed
    finally:
        other.close()
    after, _ = papers.cards_and_texts([A, B])
    assert after[B].upvotes == before[B].upvotes + 1
    assert after[A] == before[A]


def test_a_card_read_while_a_change_is_seen_is_not_kept(papers: PaperStore, voter: Account) -> None:
    """The race the watch check closes: a search reads A's card, a vote for A commits,
    and another search sees the vote (dropping A, not yet kept) before the first search
    keeps what it read. Kept, that card would show the count before the vote until A
    changed again."""
    db = papers.db
    kept: KeptResultCards
    votes: list[int] = []

    def read_then_a_vote_is_seen(ids: Sequence[str]) -> CardsAndTexts:
        found = read_cards(db, ids)  # before the vote
        if A in ids and not votes:
            votes.append(VoteStore(db).vote(voter.id, A).upvotes)
            kept.get([B])  # another search, after the vote: the watch sees it
        return found

    kept = KeptResultCards(db, read_then_a_vote_is_seen)
    found: list[CardsAndTexts] = []
    # in a thread that must finish: a miss read under the lock would wait for ever
    searches = threading.Thread(target=lambda: found.extend([kept.get([A]), kept.get([A])]))
    searches.start()
    searches.join(60)
    assert not searches.is_alive(), "the cards' lock was held across the miss read"
    (stale, _), (fresh, _) = found
    assert fresh[A].upvotes == votes[0] == stale[A].upvotes + 1


def test_at_most_entries_are_kept_least_recently_used_dropped_first(
    papers: PaperStore, card_reads: list[set[str]]
) -> None:
    kept = KeptResultCards(papers.db, lambda ids: read_cards(papers.db, ids), entries=2)
    kept.get([A, B])
    kept.get([A])  # A used last
    kept.get([C])  # B dropped
    assert len(kept) == 2
    card_reads.clear()
    kept.get([A, B, C])
    assert card_reads == [{B}]
