"""Typed models shared by sources, store, search, web, JSON API and CLI.

Schemas per use: ``PaperRecord`` is what an importer produces, ``PaperCard`` what a
list shows, ``PaperPublic`` what a paper page shows, ``SearchResponse`` /
``FeedPage`` / ``StatusPublic`` what the pages and their JSON twins return.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class PaperRecord(BaseModel):
    """One normalised paper as a source saw it (not yet merged with other sources)."""

    model_config = ConfigDict(frozen=False)

    arxiv_id: str
    source: str = Field(description="Importer that produced the record, e.g. `hf-daily`.")
    title: str | None = None
    abstract: str | None = None
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    comment: str | None = None
    organization: str | None = Field(None, description="Display name, e.g. `NVIDIA`.")
    organization_id: str | None = Field(None, description="Slug, e.g. `nvidia`.")
    published_at: dt.datetime | None = None
    featured_on: dt.date | None = Field(None, description="Day the paper was featured.")
    upvotes: int | None = None
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    keywords: list[str] = Field(default_factory=list)
    ai_summary: str | None = None
    thumbnail: str | None = None
    submitted_by: str | None = None


class Rejection(BaseModel):
    """A record an importer could not use: where it was and why."""

    location: str = Field(description="File and line (or record number / URL).")
    record: str | None = Field(None, description="The record's id when it could be read.")
    field: str | None = None
    reason: str

    def __str__(self) -> str:
        parts = [self.location]
        if self.record:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return f"{': '.join(parts)}: {self.reason}"


class IngestSummary(BaseModel):
    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


class Links(BaseModel):
    arxiv: str
    pdf: str
    github: str | None = None
    project_page: str | None = None
    page: str = Field(description="This paper's page on the paperwire site.")


class PaperCard(BaseModel):
    """What a feed or result list shows for one paper (mirrors the anchor's cards)."""

    arxiv_id: str
    title: str
    teaser: str
    author_count: int
    first_authors: list[str]
    organization: str | None = None
    organization_id: str | None = None
    published_at: dt.datetime | None = None
    featured_on: dt.date | None = None
    upvotes: int = 0
    num_comments: int = 0
    github_stars: int | None = None
    has_code: bool = False
    categories: list[str] = Field(default_factory=list)
    links: Links


class PaperPublic(PaperCard):
    """Everything on a paper page."""

    abstract: str
    authors: list[str]
    comment: str | None = None
    keywords: list[str] = Field(default_factory=list)
    ai_summary: str | None = None
    github_repo: str | None = None
    project_page: str | None = None
    featured_days: list[dt.date] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    similar: list[PaperCard] = Field(default_factory=list)
    similar_method: str | None = Field(
        None, description="`fused` (meaning + shared terms), `semantic` or `keyword`."
    )
    similar_terms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per similar paper (arXiv id): the key terms it shares with this one.",
    )


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class FeedPage(BaseModel):
    date: dt.date
    period: Period
    start: dt.date
    end: dt.date = Field(description="Inclusive last day of the period.")
    prev_date: dt.date | None = Field(None, description="Nearest earlier period with papers.")
    next_date: dt.date | None = Field(None, description="Nearest later period with papers.")
    papers: list[PaperCard]


class SortOrder(StrEnum):
    relevance = "relevance"
    newest = "newest"
    upvotes = "upvotes"


class SearchMode(StrEnum):
    hybrid = "hybrid"
    keyword = "keyword"
    semantic = "semantic"


class SearchFilters(BaseModel):
    """Filters every index backend must honour."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    category: str | None = None
    organization: str | None = None
    has_code: bool | None = None

    def is_empty(self) -> bool:
        return not any(v is not None for v in self.model_dump().values())


class SearchRequest(BaseModel):
    q: str = ""
    filters: SearchFilters = Field(default_factory=SearchFilters)
    sort: SortOrder = SortOrder.relevance
    mode: SearchMode = SearchMode.hybrid
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1000)
    as_text: bool = Field(
        False, description="Search the query as plain text: no quotes, operators or ids."
    )


class SnippetPart(BaseModel):
    text: str
    hit: bool = False


class SearchHit(BaseModel):
    paper: PaperCard
    score: float
    matched_by: list[str] = Field(
        description="`id` (typed), `keyword` (holds the query's words: a keyword match), "
        "`semantic` (close in meaning: above the semantic floor)."
    )
    matched_terms: list[str] = Field(
        default_factory=list, description="The query's words found in the title or abstract."
    )
    title_parts: list[SnippetPart]
    snippet: list[SnippetPart]


class SearchResponse(BaseModel):
    query: str
    mode: SearchMode
    sort: SortOrder
    filters: SearchFilters
    total: int = Field(
        description="Every match: keyword matches, semantic matches above the floor and "
        "typed ids (the same set in every sort order)."
    )
    offset: int
    limit: int
    semantic_used: bool
    took_ms: float
    hits: list[SearchHit]
    as_text: bool = Field(False, description="The query was searched as plain text.")


class SimilarHit(BaseModel):
    paper: PaperCard
    score: float
    shared_terms: list[str] = Field(
        default_factory=list, description="Key terms of the seed paper this one also has."
    )


class SimilarPage(BaseModel):
    """Papers ranked by similarity to one paper, a page at a time."""

    paper: PaperCard
    method: str | None = Field(None, description="`fused`, `semantic` or `keyword`.")
    filters: SearchFilters
    total: int = Field(description="Papers that can be paged through in this ranking.")
    offset: int
    limit: int
    hits: list[SimilarHit]


class StatusPublic(BaseModel):
    papers: int
    embedded: int
    embedding_model: str
    embedding_backlog: int
    semantic_ready: bool
    keyword_documents: int
    vector_documents: int
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    database: str
    index: str
    version: str


class ErrorPublic(BaseModel):
    detail: str
