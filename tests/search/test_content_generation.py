"""The content generation (``search.results.ContentGeneration``) moves only when a change
may have touched what search reads (``store.papers.SEARCH_READS``): a signup, a follow
or a comment keeps the kept rankings; an edit, an ingest, hiding a paper or a new
embedding ends them; a change whose tables are unknown (an older process's row, a
pruned log) counts as touching everything. Real services on real stores (SQLite, and
PostgreSQL + Milvus with ``PAPERWIRE_TEST_BACKEND=pg-milvus``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import delete, select, text

from paperwire.core import Paperwire
from paperwire.models.community import UserCreate
from paperwire.models.discussions import CommentCreate
from paperwire.models.papers import PaperRecord
from paperwire.models.people import FollowKind
from paperwire.models.search import SearchMode, SearchRequest, SearchResponse
from paperwire.services.community import community_of
from paperwire.services.discussions import discussions_of
from paperwire.services.ingest import ingest_records
from paperwire.services.people import people_of
from paperwire.store.schema.papers import Paper
from paperwire.store.schema.versions import DataChange
from tests.conftest import AppFactory

pytestmark = pytest.mark.backend

DAY = dt.date(2025, 6, 10)
QUERY = SearchRequest(q="wombats", mode=SearchMode.keyword)
KEY = "search " + QUERY.model_dump_json()


def _record(i: int, title: str, source: str = "hf-daily") -> PaperRecord:
    return PaperRecord(
        arxiv_id=f"2511.{i:05d}",
        source=source,
        title=title,
        abstract=f"Paper {i}: field notes on burrowing marsupials.",
        authors=["Ada Lovelace"],
        featured_on=DAY,
        upvotes=1,
    )


def _app(make_app: AppFactory) -> Paperwire:
    """A server that keeps rankings at once (no settling time), over four papers."""
    pw = make_app(semantic=False)
    assert (
        ingest_records(pw, [_record(i, f"Wombats, part {i}") for i in range(4)], "hf-daily").added
        == 4
    )
    pw.keep_rankings()
    pw.search.results.seconds = 3600.0
    pw.search.results.settle = 0.0
    return pw


def _kept(pw: Paperwire) -> object:
    """The ranking kept for ``QUERY`` (None when none is)."""
    found = pw.search.results._kept.get(KEY)
    return None if found is None else found[2]


def _search(pw: Paperwire) -> SearchResponse:
    return pw.search.search(QUERY)


def _generation(pw: Paperwire) -> int:
    return pw.search.results.content.current()[0]


def _place(pw: Paperwire) -> tuple[int, object]:
    """The generation and the kept ranking, with the ranking kept first."""
    _search(pw)
    kept = _kept(pw)
    assert kept is not None
    return _generation(pw), kept


def _written_since(pw: Paperwire, version: int) -> set[str] | None:
    return pw.db.change_log(version, pw.db.data_version()[0]).written


def test_a_signup_a_follow_and_a_comment_keep_the_kept_ranking(make_app: AppFactory) -> None:
    pw = _app(make_app)
    first = _search(pw)
    assert first.total == 4
    kept = _kept(pw)
    assert kept is not None
    generation = _generation(pw)
    version = pw.db.data_version()[0]

    account = community_of(pw).signup(
        UserCreate(email="ada@example.org", display_name="Ada", password="a long password")
    )
    assert "users" in (_written_since(pw, version) or {"unknown"})
    version = pw.db.data_version()[0]
    people_of(pw).follow(account, FollowKind.author, "Ada Lovelace")
    assert _written_since(pw, version) == {"follows"}
    version = pw.db.data_version()[0]
    discussions_of(pw).post(account, "2511.00001", CommentCreate(body="Lovely burrows."))
    written = _written_since(pw, version)
    assert written is not None and "comments" in written
    assert "papers:counts" in written and "papers" not in written  # local_comments only

    again = _search(pw)
    assert _generation(pw) == generation
    assert _kept(pw) is kept  # answered from the kept ranking, not ranked again
    assert [h.paper.arxiv_id for h in again.hits] == [h.paper.arxiv_id for h in first.hits]
    commented = next(h.paper for h in again.hits if h.paper.arxiv_id == "2511.00001")
    before = next(h.paper for h in first.hits if h.paper.arxiv_id == "2511.00001")
    assert commented.num_comments == before.num_comments + 1  # the cards are read afresh


def test_an_edit_an_ingest_a_hide_and_an_embedding_end_the_kept_ranking(
    make_app: AppFactory,
) -> None:
    pw = _app(make_app)
    admin = community_of(pw).signup(
        UserCreate(email="root@example.org", display_name="Root", password="a long password"),
        is_admin=True,
    )

    def ended(before: tuple[int, object], what: str) -> None:
        """The write since ``before`` (``_place``) moved the generation, and the search
        after it ranked again."""
        _search(pw)
        assert _generation(pw) != before[0], what
        assert _kept(pw) is not before[1], what

    _search(pw)
    before = _place(pw)
    retitled = _record(2, "Quokkas, part 2", source="arxiv")  # outranks hf-daily's title
    assert ingest_records(pw, [retitled], "arxiv").updated == 1
    ended(before, "an edit")
    assert _search(pw).total == 3  # not the kept total of 4
    before = _place(pw)
    assert ingest_records(pw, [_record(9, "Wombats, part 9")], "hf-daily").added == 1
    ended(before, "an ingest")
    assert _search(pw).total == 4
    before = _place(pw)
    community_of(pw).hide_papers(admin, ["2511.00009"])
    ended(before, "a hide")
    assert _search(pw).total == 3
    with pw.db.session() as s:
        pk, digest = s.execute(
            select(Paper.id, Paper.text_hash).where(Paper.arxiv_id == "2511.00001")
        ).one()
    before = _place(pw)
    version = pw.db.data_version()[0]
    vector = np.full(8, 8**-0.5, dtype=np.float32)
    pw.store.save_embeddings("test-model", [(pk, digest, vector)])
    assert _written_since(pw, version) == {"embeddings", "index_journal"}
    ended(before, "an embedding")


def test_a_change_whose_tables_are_unknown_ends_the_kept_ranking(make_app: AppFactory) -> None:
    """A row an older process wrote (no ``written``), and a change log pruned past the
    version last seen, count as touching every table."""
    pw = _app(make_app)
    _search(pw)
    generation = _generation(pw)
    with pw.db.engine.begin() as conn:  # what an older process's signup logs
        version = conn.execute(
            text("UPDATE data_version SET version = version + 1 RETURNING version")
        ).scalar_one()
        conn.execute(DataChange.__table__.insert().values(version=version, tags=None))
    assert pw.db.change_log(version - 1, version).written is None
    assert _generation(pw) == generation + 1

    community_of(pw).signup(
        UserCreate(email="ada@example.org", display_name="Ada", password="a long password")
    )
    _search(pw)
    assert _generation(pw) == generation + 1  # a signup logged by this process: kept
    community_of(pw).signup(
        UserCreate(email="bob@example.org", display_name="Bob", password="a long password")
    )
    latest = pw.db.data_version()[0]
    with pw.db.session() as s:  # what pruning does to the versions a reader is behind on
        s.execute(delete(DataChange).where(DataChange.version == latest))
    assert _generation(pw) == generation + 2
