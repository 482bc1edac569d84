"""Search: the request (filters, sort, mode), the response and its highlighted hits.

``SearchFilters`` is also the filter contract every index backend honours
(``paperwire.index.base``) and what a saved search stores.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field, StrictBool

from paperwire.models.papers import PaperCard


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
    has_code: StrictBool | None = None

    def is_empty(self) -> bool:
        return not any(v is not None for v in self.model_dump().values())


class SearchRequest(BaseModel):
    q: str = ""
    filters: SearchFilters = Field(default_factory=SearchFilters)
    sort: SortOrder = SortOrder.relevance
    mode: SearchMode = SearchMode.hybrid
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1000)


class SnippetPart(BaseModel):
    text: str
    hit: bool = False


class SearchHit(BaseModel):
    paper: PaperCard
    score: float
    matched_by: list[str] = Field(description="`keyword`, `semantic`, `id`, `author`.")
    title_parts: list[SnippetPart]
    snippet: list[SnippetPart]


class SearchResponse(BaseModel):
    query: str
    mode: SearchMode
    sort: SortOrder
    filters: SearchFilters
    total: int = Field(description="Candidates found (capped by the fusion depth).")
    offset: int
    limit: int
    semantic_used: bool
    took_ms: float
    hits: list[SearchHit]
