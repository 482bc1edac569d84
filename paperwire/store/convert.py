"""Turn stored rows into the public models (cards, paper pages, index documents)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

from paperwire.index.base import IndexDoc
from paperwire.models.common import safe_url
from paperwire.models.papers import Links, PaperCard, PaperPublic
from paperwire.store.schema.papers import Paper
from paperwire.text.snippets import teaser


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """The store keeps naive UTC datetimes (SQLite has no time zones)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def naive_utc(value: dt.datetime) -> dt.datetime:
    """A datetime as the store keeps it: naive UTC (an aware one is converted first)."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def link(value: str | None) -> str | None:
    """A stored outside link as every output shows it: http(s) only (``safe_url``), so
    pages, feeds, the JSON API and exports drop a ``javascript:`` link alike."""
    return safe_url(value) or None


def links_for(paper: Any) -> Links:
    """Links of a ``Paper`` or of a row with its ``arxiv_id``, ``github_repo`` and
    ``project_page`` columns."""
    return _links(
        paper.arxiv_id,
        paper.github_repo,
        paper.project_page,
        bool(getattr(paper, "thumbnail", None)),
    )


def _links(aid: str, github_repo: str | None, project_page: str | None, thumbnail: bool) -> Links:
    return Links(
        arxiv=f"https://arxiv.org/abs/{aid}",
        pdf=f"https://arxiv.org/pdf/{aid}",
        github=link(github_repo),
        project_page=link(project_page),
        page=f"/papers/{aid}",
        thumbnail=f"/thumbnails/{aid}" if thumbnail else None,
    )


TEASERS_KEPT = 20_000
"""Teasers kept in memory (~25 MB of abstracts as keys at most)."""

CARD_COLUMNS = (
    Paper.arxiv_id,
    Paper.title,
    Paper.abstract,
    Paper.authors,
    Paper.organization,
    Paper.organization_id,
    Paper.published_at,
    Paper.num_comments,
    Paper.local_comments,
    Paper.github_stars,
    Paper.github_repo,
    Paper.project_page,
    Paper.categories,
    Paper.thumbnail,
)
"""What a card needs from the papers table (``card_from``): lists of cards select these
columns instead of loading whole ``Paper`` objects with their relationships."""


@functools.lru_cache(maxsize=TEASERS_KEPT)
def cached_teaser(abstract: str) -> str:
    """``teaser`` of an abstract, kept for the most recently shown papers: every card
    needs one and computing it anew was ~5% of a search page (issue 16)."""
    return teaser(abstract)


CARDS_KEPT = 8192
"""Cards kept in memory (``card_from``), ~1 KB each: a week's feed and the search pages
of a busy morning."""


def card_from(row: Any, upvotes: int, featured_on: dt.date | None) -> PaperCard:
    """A card from a ``Paper`` or a row with the names of ``CARD_COLUMNS``.

    Cards are immutable and the same stored values give the same card, so cards are kept
    by value (``_card``): a feed or a result page is read afresh on every request, but
    building its 30–500 cards anew was a third of a kept search's time (issue 16). A
    vote, a comment or an edit changes the values, hence the key: nothing to invalidate.
    """
    return card_from_columns(
        tuple(getattr(row, column.key) for column in CARD_COLUMNS), upvotes, featured_on
    )


def card_from_columns(
    values: Sequence[Any], upvotes: int, featured_on: dt.date | None
) -> PaperCard:
    """``card_from`` of the values of ``CARD_COLUMNS`` in their order (a row's slice):
    what lists of cards read. Positions, not names: a row's attribute by name cost ~0.7 µs,
    ~10 µs a card (0.29 of the ~1.3 ms that 30 cards read afresh took to build, 74.7k
    papers; docs/benchmarks.md, thirty-ninth session)."""
    (
        arxiv_id,
        title,
        abstract,
        authors,
        organization,
        organization_id,
        published_at,
        num_comments,
        local_comments,
        github_stars,
        github_repo,
        project_page,
        categories,
        thumbnail,
    ) = values
    return _card(
        arxiv_id,
        title,
        cached_teaser(abstract or ""),
        tuple(authors or ()),
        organization,
        organization_id,
        published_at,
        # the source's count plus the comments written here
        (num_comments or 0) + (local_comments or 0),
        github_stars,
        github_repo,
        project_page,
        tuple(categories or ()),
        bool(thumbnail),
        upvotes,
        featured_on,
    )


def cards_of_rows(rows: Iterable[Sequence[Any]]) -> list[PaperCard]:
    """Cards of rows of ``(featured day, upvotes, *CARD_COLUMNS)``: the shape every list
    of cards selects (a result page's latest day, a feed's first day in its period)."""
    return [card_from_columns(row[2:], int(row[1] or 0), row[0]) for row in rows]


@functools.lru_cache(maxsize=CARDS_KEPT)
def _card(
    arxiv_id: str,
    title: str,
    teaser: str,
    authors: tuple[str, ...],
    organization: str | None,
    organization_id: str | None,
    published_at: dt.datetime | None,
    num_comments: int,
    github_stars: int | None,
    github_repo: str | None,
    project_page: str | None,
    categories: tuple[str, ...],
    thumbnail: bool,
    upvotes: int,
    featured_on: dt.date | None,
) -> PaperCard:
    return PaperCard(
        arxiv_id=arxiv_id,
        title=title,
        teaser=teaser,
        author_count=len(authors),
        first_authors=list(authors[:3]),
        organization=organization,
        organization_id=organization_id,
        published_at=as_utc(published_at),
        featured_on=featured_on,
        upvotes=upvotes,
        num_comments=num_comments,
        github_stars=github_stars,
        has_code=bool(github_repo),
        categories=list(categories),
        links=_links(arxiv_id, github_repo, project_page, thumbnail),
    )


def card_of(paper: Paper, featured_on: dt.date | None = None) -> PaperCard:
    days = sorted(f.day for f in paper.features)
    return card_from(paper, paper.upvotes, featured_on or (days[-1] if days else None))


PUBLIC_COLUMNS = (*CARD_COLUMNS, Paper.comment, Paper.keywords, Paper.ai_summary)
"""What a paper page needs from the papers table besides its days and sources
(``public_from``)."""


def public_from(
    row: Any, upvotes: int, days: Sequence[dt.date], sources: Sequence[str]
) -> PaperPublic:
    """A paper page's paper from a row of ``PUBLIC_COLUMNS`` (or a ``Paper``), with its
    featured ``days`` and ``sources`` (read apart: a page asks for one paper, and an ORM
    object with its relationships cost more than the three reads)."""
    featured = sorted(set(days))
    card = card_from(row, upvotes, featured[-1] if featured else None)
    return PaperPublic(
        **card.model_dump(),
        abstract=row.abstract,
        authors=list(row.authors),
        comment=row.comment,
        keywords=list(row.keywords),
        ai_summary=row.ai_summary,
        github_repo=link(row.github_repo),
        project_page=link(row.project_page),
        featured_days=featured,
        sources=sorted(sources),
    )


INDEX_COLUMNS = (
    Paper.arxiv_id,
    Paper.title,
    Paper.abstract,
    Paper.authors,
    Paper.categories,
    Paper.organization_id,
    Paper.organization,
    Paper.published_at,
    Paper.github_repo,
)
"""What an index document needs from the papers table (``index_doc_of``): applying the
index journal and ``paperwire doctor`` read these columns, not whole ``Paper`` objects
with their relationships (several times faster)."""


def index_doc_of(paper: Any) -> IndexDoc:
    """The index document of a ``Paper`` or a row of ``INDEX_COLUMNS``."""
    published = paper.published_at.date() if paper.published_at else None
    return IndexDoc(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        abstract=paper.abstract,
        authors=list(paper.authors),
        categories=list(paper.categories),
        organization=paper.organization_id or paper.organization,
        published=published,
        has_code=bool(paper.github_repo),
    )
