"""Search: the request (filters, sort, mode), the response and its highlighted hits.

``SearchFilters`` is also the filter contract every index backend honours
(``paperwire.index.base``) and what a saved search stores.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from paperwire.config import MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET
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

    def dated(self) -> bool:
        """Whether these filters hold a date range (either end, or both)."""
        return self.date_from is not None or self.date_to is not None


class SearchRequest(BaseModel):
    q: str = ""
    filters: SearchFilters = Field(default_factory=SearchFilters)
    sort: SortOrder = SortOrder.relevance
    mode: SearchMode = SearchMode.hybrid
    limit: int = Field(20, ge=1, le=MAX_SEARCH_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_SEARCH_OFFSET)
    as_text: bool = Field(
        False, description="Search the query as plain text: no quotes, operators or ids."
    )


class SnippetPart(BaseModel):
    """A run of a highlighted text: a matched word (``hit``) or the text between.
    Immutable: a matched word's part is shared by every snippet that shows it."""

    model_config = ConfigDict(frozen=True)

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
        description="Every match of this order: in relevance order full and partial keyword "
        "matches, else full ones; semantic matches above the floor; typed ids. Exact when "
        "`total_relation` is `eq`, a lower bound when it is `gte`."
    )
    total_relation: Literal["eq", "gte"] = Field(
        "eq",
        description="`eq`: `total` is exact. `gte`: there are at least `total` matches (as "
        "Elasticsearch's `hits.total.relation`): a relevance search counts its semantic "
        "matches up to `semantic_bound` (default 1,100, as deep as a page reaches) and "
        "had more, or a word of a query with no phrase or author matches alone and is in "
        "more than `keyword_count_bound` papers (default 1,100), those passing its filters "
        "where it "
        "has some (a date range excepted): its papers are the bound, the keyword matches "
        "not counted. Newest / most upvoted totals are exact.",
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
