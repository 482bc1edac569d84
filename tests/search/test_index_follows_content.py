"""The index learns the store's content generation from the search service
(``SearchIndex.follow_content``): on Milvus the kept word holders (match counts) follow
another process's text edit, which keeps the collection's size, as soon as the generation
moves, and a vote, a signup or a comment, which do not move it, keep them. On the
embedded backend the call is a no-op (its answers are per snapshot)."""

from __future__ import annotations

import datetime as dt

import pytest

from paperwire.core import Paperwire
from paperwire.models.community import UserCreate
from paperwire.models.discussions import CommentCreate
from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.services.community import community_of
from paperwire.services.discussions import discussions_of
from paperwire.services.ingest import ingest_records
from paperwire.store.votes import VoteStore
from tests.conftest import AppFactory

pytestmark = pytest.mark.backend

DAY = dt.date(2025, 6, 10)


def _record(i: int, title: str, source: str = "hf-daily") -> PaperRecord:
    return PaperRecord(
        arxiv_id=f"2511.{i:05d}",
        source=source,
        title=title,
        abstract=f"Paper {i}: field notes.",
        authors=["Ada Lovelace"],
        featured_on=DAY,
        upvotes=1,
    )


def _total(pw: Paperwire, q: str) -> int:
    req = SearchRequest(q=q, mode=SearchMode.keyword)
    return pw.search.search(req).total


def _server(make_app: AppFactory) -> tuple[Paperwire, Paperwire]:
    """A search process and, on the same database and index, another writer."""
    server = make_app(semantic=False)
    summary = ingest_records(
        server, [_record(i, f"Wombats, part {i}") for i in range(4)], "hf-daily"
    )
    assert summary.added == 4
    server.search.refresh_interval = 0.0  # refresh (and tell the generation) on every search
    server.search.results.seconds = 0.0  # no kept rankings: the index answers every time
    server.search.results.settle = 0.0  # the content is settled at once
    if server.index.name == "milvus":
        server.index.count_ttl = 0.0  # type: ignore[attr-defined]
    writer = make_app(home=server.settings.home, semantic=False)
    return server, writer


def test_another_process_text_edit_is_counted_once_the_generation_moves(
    make_app: AppFactory,
) -> None:
    server, writer = _server(make_app)
    assert _total(server, "wombats") == 4
    assert _total(server, "wombats") == 4  # kept holders (Milvus) answer
    retitled = _record(2, "Quokkas, part 2", source="arxiv")  # outranks hf-daily's title
    assert ingest_records(writer, [retitled], "arxiv").updated == 1  # the size stays
    assert _total(server, "wombats") == 3
    assert _total(server, "quokkas") == 1
    assert server.index.keyword_count() == 4


def test_a_vote_a_signup_and_a_comment_keep_the_kept_holders_an_edit_drops_them(
    make_app: AppFactory,
) -> None:
    """A vote declares counts only; a signup and a comment declare nothing but write no
    table search reads (``store.papers.SEARCH_READS``; a comment moves only the paper's
    comment counter): the ~60 s warm-up of a 74.7k-paper core is not begun again."""
    server, writer = _server(make_app)
    if server.index.name != "milvus":
        pytest.skip("word holders are kept by the Milvus backend only")
    community = community_of(writer)
    voter = community.signup(
        UserCreate(email="v@example.org", display_name="Voter", password="p" * 12)
    )
    assert _total(server, "wombats") == 4
    kept = server.index._holders  # type: ignore[attr-defined]
    assert "wombat" in kept
    VoteStore(writer.db).vote(voter.id, "2511.00001")  # declares the paper's counts only
    assert _total(server, "wombats") == 4
    assert server.index._holders is kept  # type: ignore[attr-defined]
    community.signup(UserCreate(email="x@example.org", display_name="Xavier", password="p" * 12))
    discussions_of(writer).post(voter, "2511.00001", CommentCreate(body="Nice burrows."))
    assert _total(server, "wombats") == 4
    assert server.index._holders is kept  # type: ignore[attr-defined]
    retitled = _record(2, "Quokkas, part 2", source="arxiv")  # an edit: papers
    assert ingest_records(writer, [retitled], "arxiv").updated == 1
    assert _total(server, "wombats") == 3
    assert server.index._holders is not kept  # type: ignore[attr-defined]


def test_holders_read_while_the_content_moves_are_renewed_once_it_settles(
    make_app: AppFactory,
) -> None:
    server, writer = _server(make_app)
    if server.index.name != "milvus":
        pytest.skip("word holders are kept by the Milvus backend only")
    index = server.index
    index.warm_min_docs = 1  # type: ignore[attr-defined]
    server.search.results.settle = 3600.0  # every change is "just now"
    assert _total(server, "wombats") == 4
    ingest_records(writer, [_record(9, "Wombats, part 9")], "hf-daily")
    assert _total(server, "wombats") == 5
    moving = index._holders  # type: ignore[attr-defined]
    assert moving.unsettled and not moving.warming  # no warm-up while it moves
    assert _total(server, "wombats") == 5
    assert index._holders is moving  # type: ignore[attr-defined]
    server.search.results.settle = 0.0
    assert _total(server, "wombats") == 5
    settled = index._holders  # type: ignore[attr-defined]
    assert settled is not moving and not settled.unsettled and settled.warming
