"""Papers: what an importer produces, what a list or a page shows, what a feed returns.

Schemas per use: ``PaperRecord`` is what an importer produces (``Rejection`` what it could
not use, ``IngestSummary`` the count of one import), ``PaperCard`` what a list shows,
``PaperPublic`` what a paper page shows, ``FeedPage`` what the daily/weekly/monthly feed
and its JSON twin return.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paperwire.models.common import DataClock, clean_text, control_char_problem


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
    location: str | None = Field(
        None, exclude=True, description="Where the importer read it (file:line); not stored."
    )

    # Before ``_no_control_chars`` (validators run in the order they are defined), as the
    # importers space a field before building the record: a record is stored or refused
    # alike whether an importer or other code made it. ``str.isspace`` counts a few
    # control characters (U+000B, U+000C, U+001C-U+001F, U+0085) as spaces.
    @field_validator(
        "title",
        "abstract",
        "comment",
        "organization",
        "organization_id",
        "github_repo",
        "project_page",
        "ai_summary",
        "thumbnail",
        "submitted_by",
        mode="after",
    )
    @classmethod
    def _spaced(cls, value: str | None) -> str | None:
        """Runs of whitespace (a PDF's or a LaTeX source's hard line breaks) become one
        space and the ends are trimmed, whatever made the record: code that builds records
        for ``ingest_records`` stores what the importers store, a card or the API never
        shows a line break, and a title of spaces is a missing title (refused for a new
        paper, naming the field)."""
        return clean_text(value)

    @field_validator("authors", "keywords", "categories", mode="after")
    @classmethod
    def _spaced_names(cls, value: list[str]) -> list[str]:
        """Each name spaced as ``_spaced`` spaces text; a blank name is no name."""
        return [name for name in map(clean_text, value) if name]

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_chars(cls, value: object) -> object:
        """A control character (e.g. NUL, which PostgreSQL refuses) rejects the record,
        naming the field, on every store: one bad record never costs the batch."""
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            problem = control_char_problem(text) if isinstance(text, str) else None
            if problem:
                raise ValueError(problem)
        return value


class Rejection(BaseModel):
    """A record an importer could not use: where it was and why."""

    location: str = Field(description="File and line (or record number / URL).")
    record: str | None = Field(None, description="The record's id when it could be read.")
    field: str | None = None
    reason: str
    raw: str | None = Field(None, description="The record as read (JSON), when there was one.")

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
    stopped: bool = False  # asked to stop (SIGTERM) before the source ended
    index_pending: int = 0  # changes queued for the index, left to another process
    index_error: str | None = None  # why the index was not updated (changes stay queued)
    # a bulk load's keyword index segments before and after it was compacted
    index_segments: tuple[int, int] | None = None

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


class Links(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared by cards kept in memory

    arxiv: str
    pdf: str
    github: str | None = None
    project_page: str | None = None
    page: str = Field(description="This paper's page on the paperwire site.")
    thumbnail: str | None = Field(
        None,
        description="This site's copy of the source's thumbnail (a neutral placeholder "
        "until it is cached); None when the source has none.",
    )


class PaperCard(BaseModel):
    """What a feed or result list shows for one paper (mirrors the anchor's cards).

    Immutable: one card is shared by every page that shows the paper as stored
    (``store.convert.card_from``); ``model_copy(update=…)`` makes a changed one."""

    model_config = ConfigDict(frozen=True)

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
    as_of: DataClock | None = Field(
        None, description="The clock that chose the default day (see `/api/trending`)."
    )
