"""Typed models for subscriptions: email digests, saved-search alerts, the digest itself.

Input: ``SubscriptionCreate``, ``SubscriptionUpdate``, ``SavedSearchCreate``.
Output: ``SubscriptionAccepted``, ``SubscriptionPublic``, ``SavedSearchPublic``,
``Digest`` (what a digest email holds; also ``/api/digest/preview``), ``DigestQueue``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field, StrictBool, field_validator

from paperwire.models.common import DataClock, normalize_email
from paperwire.models.papers import PaperCard
from paperwire.models.search import SearchFilters


class Frequency(StrEnum):
    daily = "daily"
    weekly = "weekly"


class SubscriptionStatus(StrEnum):
    pending = "pending"  # waiting for the confirmation link (double opt-in)
    active = "active"
    unsubscribed = "unsubscribed"


class SubscriptionCreate(BaseModel):
    """``POST /api/subscriptions`` and the ``/subscribe`` form."""

    email: str = Field(examples=["ada@example.org"])
    frequency: Frequency = Frequency.daily

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalize_email(v)


class SubscriptionAccepted(BaseModel):
    status: str = Field("pending", description="Always `pending`: a confirmation email went out.")
    message: str


class SubscriptionUpdate(BaseModel):
    """``PATCH /api/subscriptions/manage?token=``: change how often, or the trending part."""

    frequency: Frequency | None = None
    trending: StrictBool | None = Field(None, description="Include the top trending papers.")


class SavedSearchCreate(BaseModel):
    q: str = Field("", max_length=500, description="Query text, as on the search page.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    name: str | None = Field(None, max_length=120)

    @field_validator("q")
    @classmethod
    def _q(cls, v: str) -> str:
        return " ".join(v.split())

    def label(self) -> str:
        return (self.name or "").strip() or self.q or "(filters only)"


class SavedSearchPublic(BaseModel):
    id: int
    name: str
    q: str
    filters: SearchFilters
    created_at: dt.datetime
    search_url: str = Field(description="The search page for this query (site path).")
    feed_url: str = Field(description="Its Atom feed (site path).")


class SubscriptionPublic(BaseModel):
    email: str
    frequency: Frequency
    status: SubscriptionStatus
    trending: bool = Field(description="The digest includes the top trending papers.")
    created_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    saved_searches: list[SavedSearchPublic] = Field(default_factory=list)


class SavedSearchesPage(BaseModel):
    """``GET /api/saved-searches``: your saved searches and where their alerts go."""

    email: str
    alerts: SubscriptionStatus | None = Field(
        None, description="Your email subscription's status (alerts need `active`)."
    )
    frequency: Frequency | None = None
    saved_searches: list[SavedSearchPublic]


class SavedSearchCreated(BaseModel):
    saved_search: SavedSearchPublic
    alerts: SubscriptionStatus
    message: str


class DigestSection(BaseModel):
    kind: str = Field(
        description="`trending`, an alert's kind (`search`, `follow`, `collection`), "
        "`following` (what you follow) or `collection` picks of For you."
    )
    title: str
    saved_search_id: int | None = Field(None, description="The alert's id.")
    search_url: str | None = Field(None, description="Absolute URL of the alert's papers.")
    papers: list[PaperCard]


class Digest(BaseModel):
    frequency: Frequency
    period_key: str = Field(description="e.g. `daily:2026-11-23` or `weekly:2026-W48`.")
    period_label: str
    generated_at: dt.datetime
    subject: str
    sections: list[DigestSection]
    as_of: DataClock | None = Field(
        None, description="The clock its papers were chosen by (trending, alerts' “new”)."
    )

    @property
    def paper_count(self) -> int:
        return sum(len(s.papers) for s in self.sections)

    @property
    def is_empty(self) -> bool:
        return self.paper_count == 0


class DigestQueue(BaseModel):
    """The outbox: digests per state (``paperwire digest send`` prints it)."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = Field(0, description="Queued for an address that unsubscribed since.")
