"""An edit of a paper's title or abstract shows in the very next search's title, snippet
and matched terms, on a real store and index, whether rankings are kept (a server) or
not: the guard for any cache of texts or of what snippets work out from them (a cache
keyed by paper id fails it)."""

from __future__ import annotations

import datetime as dt

import pytest

from paperwire.core import Paperwire
from paperwire.models.papers import PaperRecord
from paperwire.models.search import SearchMode, SearchRequest
from paperwire.services.ingest import ingest_records
from tests.conftest import AppFactory

PAPER = "2511.00001"


def _record(title: str, abstract: str, source: str) -> PaperRecord:
    return PaperRecord(
        arxiv_id=PAPER,
        source=source,
        title=title,
        abstract=abstract,
        authors=["Ada Lovelace"],
        featured_on=dt.date(2025, 6, 10),
        upvotes=1,
    )


def _shown(pw: Paperwire, q: str) -> tuple[str, str, list[str], list[str]]:
    """The first hit's title, snippet, highlighted words and matched terms."""
    hit = pw.search.search(SearchRequest(q=q, mode=SearchMode.keyword)).hits[0]
    assert hit.paper.arxiv_id == PAPER
    title = "".join(p.text for p in hit.title_parts)
    snippet = "".join(p.text for p in hit.snippet)
    marked = [p.text for p in [*hit.title_parts, *hit.snippet] if p.hit]
    return title, snippet, marked, hit.matched_terms


@pytest.mark.parametrize("keep_rankings", [False, True])
def test_an_edited_text_shows_in_the_next_search(make_app: AppFactory, keep_rankings: bool) -> None:
    pw = make_app(semantic=False)
    pw.search.refresh_interval = 0.0  # the index follows each commit at once
    if keep_rankings:  # as a server does
        pw.keep_rankings()
        pw.search.results.settle = 0.0
    ingest_records(
        pw,
        [_record("Wombat burrows", "Wombats dig burrows.\nBy day they sleep.", "hf-daily")],
        "hf-daily",
    )
    before = (
        "Wombat burrows",
        "Wombats dig burrows. By day they sleep.",
        ["Wombat", "burrows", "Wombats", "burrows"],
        ["wombats", "burrows"],
    )
    assert _shown(pw, "wombats burrows") == before
    assert _shown(pw, "wombats burrows") == before  # the same twice (caches warm)
    # The same words, moved, and new ones: anything kept from the old text would mark
    # the old offsets or show the old words.
    edited = _record(
        "Burrows of the wombat, revisited",
        "At night wombats forage;   burrows shelter them by day.",
        "arxiv",  # outranks hf-daily's text
    )
    assert ingest_records(pw, [edited], "arxiv").updated == 1
    assert _shown(pw, "wombats burrows") == (
        "Burrows of the wombat, revisited",
        "At night wombats forage; burrows shelter them by day.",
        ["Burrows", "wombat", "wombats", "burrows"],
        ["wombats", "burrows"],
    )
    assert _shown(pw, "night forage") == (
        "Burrows of the wombat, revisited",
        "At night wombats forage; burrows shelter them by day.",
        ["night", "forage"],
        ["night", "forage"],
    )
