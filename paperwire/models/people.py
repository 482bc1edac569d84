"""Typed models for people: follows, profiles, authorship claims.

Input: ``FollowCreate``, ``ProfileUpdate``, ``ClaimCreate``, ``ClaimDecision``.
Output: ``FollowPublic``, ``FollowState``, ``FollowingPage``, ``ProfilePublic``,
``ClaimPublic``. ``follow_key`` is the one normalisation of what is followed.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from paperwire.models.common import control_char_problem, safe_url
from paperwire.models.community import CollectionSummary
from paperwire.models.discussions import UserComment
from paperwire.models.papers import PaperCard

TARGET_MAX = 300
BIO_MAX = 1000
LINKS_MAX = 5
LINK_MAX = 300


class FollowKind(StrEnum):
    author = "author"
    org = "org"
    category = "category"
    user = "user"


def follow_key(kind: FollowKind, raw: str) -> str:
    """What a follow stores as its target: one spelling per followed thing.

    Authors and organisations ignore case and extra spaces (as their pages do);
    categories are lower-cased (``cs.CL`` = ``cs.cl``); users are their account id."""
    text = " ".join(raw.split())
    if kind == FollowKind.author:
        return text.casefold()
    return text.lower()


def _clean_text(value: str) -> str:
    problem = control_char_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class FollowCreate(BaseModel):
    """``POST /api/follows``: follow an author (as written on papers), an organisation
    (slug or name), a category (e.g. ``cs.CL``) or a user (profile name)."""

    kind: FollowKind
    target: str = Field(min_length=1, max_length=TARGET_MAX)

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        v = " ".join(_clean_text(v).split())
        if not v:
            raise ValueError("name what to follow")
        return v


class FollowPublic(BaseModel):
    kind: FollowKind
    target: str = Field(description="The normalised target (users: their account id).")
    label: str = Field(description="How it is shown.")
    url: str = Field(description="Its page on this site.")
    created_at: dt.datetime


class FollowState(BaseModel):
    kind: FollowKind
    target: str
    following: bool
    followers: int = Field(description="How many accounts follow it.")


class FollowingPage(BaseModel):
    """New papers from what the user follows, newest first, a page at a time."""

    follows: list[FollowPublic]
    papers: list[PaperCard]
    page: int
    limit: int
    has_more: bool


class ProfileUpdate(BaseModel):
    """``PUT /api/me/profile`` and the profile settings form."""

    bio: str = Field("", max_length=BIO_MAX)
    links: list[str] = Field(default_factory=list, max_length=LINKS_MAX)
    show_upvotes: bool = Field(False, description="Show the papers you upvoted on your profile.")
    digest_follows: bool = Field(
        False, description="Add new papers from what you follow to your email digests."
    )

    @field_validator("bio")
    @classmethod
    def _bio(cls, v: str) -> str:
        return _clean_text(v).strip()

    @field_validator("links")
    @classmethod
    def _links(cls, v: list[str]) -> list[str]:
        out = []
        for raw in v:
            text = raw.strip()
            if not text:
                continue
            if len(text) > LINK_MAX or not safe_url(text):
                raise ValueError(f"{text[:60]!r} is not an http(s) link of at most {LINK_MAX}")
            out.append(text)
        return out


class ProfilePublic(BaseModel):
    name: str = Field(description="The profile's name in its URL (`/users/{name}`).")
    display_name: str
    joined: dt.datetime
    bio: str
    links: list[str]
    avatar_url: str
    is_admin: bool
    followers: int
    submissions: list[PaperCard]
    claimed: list[PaperCard] = Field(description="Papers this user is a confirmed author of.")
    collections: list[CollectionSummary] = Field(description="Public collections only.")
    comments: list[UserComment] = Field(
        default_factory=list, description="The user's latest shown comments, newest first."
    )
    upvotes: list[PaperCard] | None = Field(
        None, description="Papers the user upvoted, when they chose to show them."
    )


class ClaimStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"


class ClaimCreate(BaseModel):
    """Claim to be one of a paper's authors (the name exactly as on the paper)."""

    author: str = Field(min_length=1, max_length=TARGET_MAX)


class ClaimDecision(BaseModel):
    confirm: bool


class ClaimPublic(BaseModel):
    id: int
    arxiv_id: str
    title: str
    author: str
    user: str = Field(description="The claimant's profile name.")
    status: ClaimStatus
    created_at: dt.datetime
    decided_at: dt.datetime | None = None
