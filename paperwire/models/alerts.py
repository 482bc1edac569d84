"""Typed models for alerts (a saved search, a follow, a collection's recommendations —
delivered by email, a private feed and a webhook) and personal access tokens.

Input: ``AlertCreate``, ``AlertUpdate``, ``TokenCreate``.
Output: ``AlertPublic``, ``AlertsPage``, ``AlertCreated``, ``WebhookPublic``,
``AlertDeliveries`` (the delivery log), ``TokenPublic``, ``TokenCreated``, ``TokensPage``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field, StrictBool, field_validator

from paperwire.models.people import FollowKind
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import SubscriptionStatus


class AlertKind(StrEnum):
    search = "search"  # new papers matching a query and filters
    follow = "follow"  # new papers of an author, organisation or category (``target``)
    collection = "collection"  # recommendations for a collection (``target``: its id)


# What a follow alert can follow: the kinds of ``models.people.FollowKind`` that have
# papers of their own (a user has none).
ALERT_FOLLOW_KINDS = (FollowKind.author, FollowKind.org, FollowKind.category)


def follow_target(raw: str) -> tuple[FollowKind, str]:
    """A follow alert's ``target``: ``author:Name``, ``org:nvidia``, ``category:cs.CL``,
    or a bare author name; ``ValueError`` for another kind or an empty name."""
    head, sep, rest = raw.partition(":")
    kind, name = (
        (head.strip().lower(), rest) if sep and " " not in head.strip() else ("author", raw)
    )
    name = " ".join(name.split())
    found = next((k for k in ALERT_FOLLOW_KINDS if k.value == kind), None)
    if found is None:
        raise ValueError(f"follow author:, org: or category:, not {kind}:")
    if not name:
        raise ValueError("say whom to follow")
    return found, name


class AlertCreate(BaseModel):
    """``POST /api/alerts``: what to hear about and how (email on by default)."""

    kind: AlertKind = AlertKind.search
    name: str | None = Field(None, max_length=120)
    q: str = Field("", max_length=500, description="`search`: the query, as on /search.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    target: str | None = Field(
        None,
        max_length=200,
        description="`follow`: `author:Name` (or just the name), `org:…` or `category:…`; "
        "`collection`: the collection's id.",
    )
    email: StrictBool = Field(True, description="Deliver with the email digest.")
    webhook_url: str | None = Field(
        None, max_length=2000, description="POST new papers here (http or https)."
    )

    @field_validator("q")
    @classmethod
    def _q(cls, v: str) -> str:
        return " ".join(v.split())

    @field_validator("target", "name")
    @classmethod
    def _trimmed(cls, v: str | None) -> str | None:
        return " ".join(v.split()) or None if v is not None else None


class AlertUpdate(BaseModel):
    """``PATCH /api/alerts/{id}``: change a channel; absent fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=120)
    email: StrictBool | None = None
    webhook_url: str | None = Field(
        None, max_length=2000, description="A new webhook URL; an empty string removes it."
    )
    enable_webhook: StrictBool | None = Field(
        None, description="`true` turns a webhook disabled after failures back on."
    )
    new_webhook_secret: StrictBool | None = Field(None, description="`true`: a new secret.")
    new_feed_token: StrictBool | None = Field(
        None, description="`true`: a new private feed URL (the old one stops working)."
    )


class WebhookPublic(BaseModel):
    url: str
    secret: str = Field(description="Key of the `X-Paperwire-Signature` HMAC-SHA256.")
    failures: int = Field(description="Failed attempts in a row.")
    disabled_at: dt.datetime | None = Field(
        None, description="Set after too many failures in a row; nothing is sent until enabled."
    )
    disabled_reason: str | None = None


class AlertPublic(BaseModel):
    id: int
    kind: AlertKind
    name: str
    q: str = ""
    filters: SearchFilters = Field(default_factory=SearchFilters)
    target: str | None = None
    email: bool
    created_at: dt.datetime
    atom_url: str = Field(description="Private Atom feed (absolute URL; keep it secret).")
    rss_url: str = Field(description="Private RSS feed (absolute URL; keep it secret).")
    webhook: WebhookPublic | None = None
    deliveries_url: str = Field(description="The webhook delivery log (site path, JSON).")


class AlertsPage(BaseModel):
    """``GET /api/alerts``: your alerts and where their emails go."""

    email: str
    email_status: SubscriptionStatus | None = Field(
        None, description="Your email subscription (email alerts need `active`)."
    )
    alerts: list[AlertPublic]


class AlertCreated(BaseModel):
    alert: AlertPublic
    message: str


class AlertAttemptPublic(BaseModel):
    attempted_at: dt.datetime
    status_code: int | None = Field(None, description="The receiver's HTTP status, if any.")
    ok: bool
    error: str | None = None
    duration_ms: int


class AlertDelivery(BaseModel):
    id: int = Field(description="Also the `X-Paperwire-Delivery` header.")
    period_key: str
    created_at: dt.datetime
    state: str = Field(description="`queued`, `delivered` or `failed` (given up).")
    attempts: int
    next_attempt_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    last_error: str | None = None
    tries: list[AlertAttemptPublic]


class AlertDeliveries(BaseModel):
    """``GET /api/alerts/{id}/deliveries``: the webhook's deliveries, newest first."""

    alert_id: int
    webhook: WebhookPublic | None = None
    deliveries: list[AlertDelivery]


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120, description="What it is for.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        name = " ".join(v.split())
        if not name:
            raise ValueError("give the token a name")
        return name


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once: only its hash is stored.")
    info: TokenPublic


class TokensPage(BaseModel):
    tokens: list[TokenPublic]
