"""Turn stored rows into the public models (cards, paper pages, index documents)."""

from __future__ import annotations

import datetime as dt

from paperwire.index.base import IndexDoc
from paperwire.models import Links, PaperCard, PaperPublic
from paperwire.search.snippets import teaser
from paperwire.store.schema import Paper


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """The store keeps naive UTC datetimes (SQLite has no time zones)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def links_for(paper: Paper) -> Links:
    aid = paper.arxiv_id
    return Links(
        arxiv=f"https://arxiv.org/abs/{aid}",
        pdf=f"https://arxiv.org/pdf/{aid}",
        github=paper.github_repo,
        project_page=paper.project_page,
        page=f"/papers/{aid}",
    )


def card_of(paper: Paper, featured_on: dt.date | None = None) -> PaperCard:
    days = sorted(f.day for f in paper.features)
    return PaperCard(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        teaser=teaser(paper.abstract),
        author_count=len(paper.authors),
        first_authors=list(paper.authors[:3]),
        organization=paper.organization,
        organization_id=paper.organization_id,
        published_at=as_utc(paper.published_at),
        featured_on=featured_on or (days[-1] if days else None),
        upvotes=paper.upvotes,
        num_comments=paper.num_comments,
        github_stars=paper.github_stars,
        has_code=bool(paper.github_repo),
        categories=list(paper.categories),
        links=links_for(paper),
    )


def public_of(paper: Paper) -> PaperPublic:
    card = card_of(paper)
    return PaperPublic(
        **card.model_dump(),
        abstract=paper.abstract,
        authors=list(paper.authors),
        comment=paper.comment,
        keywords=list(paper.keywords),
        ai_summary=paper.ai_summary,
        github_repo=paper.github_repo,
        project_page=paper.project_page,
        featured_days=sorted({f.day for f in paper.features}),
        sources=sorted(s.source for s in paper.sources),
    )


def index_doc_of(paper: Paper) -> IndexDoc:
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
