"""Typed models for the community features, one schema per use.

Input: ``UserCreate``, ``UserLogin``, ``PasswordResetRequest``, ``PasswordResetConfirm``,
``SubmissionCreate``, ``CollectionCreate``, ``CollectionUpdate``, ``CollectionPaperAdd``.
Output: ``UserPublic`` (what others see), ``UserAccount`` (what you see about yourself),
``MeResponse``, ``VoteState``, ``SubmissionPublic``, ``CollectionSummary``,
``CollectionPublic``, ``CollectionExportRow``, ``TrendingPage``, ``PeoplePage``,
``AuditEntryPublic``, ``ModerationResult``.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from paperwire.models.common import DataClock, normalize_email
from paperwire.models.papers import Links, PaperCard

NAME_RE = re.compile(r"^[\w][\w .'\-]{0,38}[\w.]$")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def check_display_name(value: str) -> str:
    name = " ".join(value.split())
    if not NAME_RE.match(name):
        raise ValueError(
            "use 2–40 letters, digits, spaces, dots, dashes, apostrophes or underscores"
        )
    return name


def check_password(value: str) -> str:
    if len(value) < PASSWORD_MIN:
        raise ValueError(f"use at least {PASSWORD_MIN} characters")
    if len(value) > PASSWORD_MAX:
        raise ValueError(f"use at most {PASSWORD_MAX} characters")
    return value


# -- accounts -----------------------------------------------------------------------------


class UserCreate(BaseModel):
    """Sign-up form / ``POST /api/auth/signup``."""

    email: str = Field(examples=["ada@example.org"])
    password: str = Field(description=f"At least {PASSWORD_MIN} characters.")
    display_name: str = Field(description="Shown on your submissions and collections.")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalize_email(v)

    @field_validator("display_name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_display_name(v)

    @field_validator("password")
    @classmethod
    def _password(cls, v: str) -> str:
        return check_password(v)


class UserLogin(BaseModel):
    email: str
    password: str


class PasswordResetRequest(BaseModel):
    email: str


class PasswordResetConfirm(BaseModel):
    password: str

    @field_validator("password")
    @classmethod
    def _password(cls, v: str) -> str:
        return check_password(v)


class UserPublic(BaseModel):
    """What anyone may see about a user."""

    id: int
    display_name: str
    handle: str = Field(description="Unique, lower-case; `@handle` mentions the user.")
    is_admin: bool = False
    created_at: dt.datetime


class UserAccount(UserPublic):
    """The signed-in user's own view (adds the email address)."""

    email: str


class MeResponse(BaseModel):
    """``GET /api/me``: who is signed in, and the CSRF token for state-changing calls."""

    user: UserAccount | None = None
    csrf_token: str = Field(description="Send as the `X-CSRF-Token` header on POST/DELETE.")


# -- votes --------------------------------------------------------------------------------


class VoteState(BaseModel):
    """A paper's vote counts and whether the current user has upvoted it."""

    arxiv_id: str
    voted: bool
    changed: bool = Field(False, description="Whether this request changed the vote.")
    upvotes: int = Field(description="Displayed count: source_upvotes + local_upvotes.")
    source_upvotes: int = Field(description="Upvotes reported by the importing source.")
    local_upvotes: int = Field(description="Upvotes cast by users of this site.")


# -- submissions --------------------------------------------------------------------------


class SubmissionCreate(BaseModel):
    arxiv: str = Field(
        description="arXiv id or URL, e.g. `2506.00637`, `arXiv:2506.00637v2` or "
        "`https://arxiv.org/abs/2506.00637`.",
        max_length=300,
    )


class SubmissionStatus(StrEnum):
    created = "created"
    duplicate = "duplicate"


class SubmissionPublic(BaseModel):
    status: SubmissionStatus
    arxiv_id: str
    featured_on: dt.date | None = Field(
        None, description="The day the submission featured the paper (None: it already was)."
    )
    submitted_by: str | None = None
    message: str
    paper: PaperCard


# -- collections --------------------------------------------------------------------------


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    public: StrictBool = False

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        name = " ".join(v.split())
        if not name:
            raise ValueError("a collection needs a name")
        return name


class CollectionUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    public: StrictBool | None = None


class CollectionPaperAdd(BaseModel):
    arxiv_id: str = Field(max_length=300, description="arXiv id or URL.")


class CollectionItemResult(BaseModel):
    collection_id: int
    arxiv_id: str
    changed: bool = Field(description="False when the paper was already in (or not in) it.")


class ExportFormat(StrEnum):
    bibtex = "bibtex"
    jsonl = "jsonl"


class CollectionSummary(BaseModel):
    id: int
    name: str
    description: str
    public: bool
    owner_id: int
    owner: str = Field(description="The owner's display name.")
    paper_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CollectionPublic(CollectionSummary):
    papers: list[PaperCard]


class CollectionExportRow(BaseModel):
    """One line of a collection's JSONL export."""

    arxiv_id: str
    title: str
    authors: list[str]
    abstract: str
    categories: list[str]
    published_at: dt.datetime | None = None
    organization: str | None = None
    upvotes: int
    links: Links
    added_at: dt.datetime


# -- trending, people ---------------------------------------------------------------------


class TrendingItem(BaseModel):
    paper: PaperCard
    score: float = Field(description="votes / (age_hours + offset_hours) ** gravity")


class TrendingPage(BaseModel):
    generated_at: dt.datetime
    as_of: DataClock = Field(description="The clock the papers were ranked by.")
    gravity: float
    offset_hours: float
    window_days: int
    items: list[TrendingItem]


class PeopleKind(StrEnum):
    org = "org"
    author = "author"


class PeoplePage(BaseModel):
    """All visible papers of one organisation or author, most upvoted first."""

    kind: PeopleKind
    key: str = Field(description="The organisation slug or author name asked for.")
    name: str = Field(description="Display name.")
    total: int
    offset: int
    limit: int
    papers: list[PaperCard]


# -- moderation ---------------------------------------------------------------------------


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str
    action: str
    target_type: str
    target: str
    detail: dict[str, Any] = Field(default_factory=dict)


class ModerationResult(BaseModel):
    hidden: list[str] = Field(default_factory=list, description="Papers now hidden.")
    unhidden: list[str] = Field(default_factory=list, description="Papers visible again.")
    unfeatured: list[str] = Field(
        default_factory=list,
        description="Existing papers whose featuring by this user's submissions was removed.",
    )


class SubmissionAdminRow(BaseModel):
    """A submission as the admin page lists it."""

    id: int
    arxiv_id: str
    title: str
    user_id: int
    submitted_by: str
    created_paper: bool
    hidden: bool
    created_at: dt.datetime
