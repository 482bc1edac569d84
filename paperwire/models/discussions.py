"""Typed models for discussions (comments on papers) and notifications.

Input: ``CommentCreate``, ``CommentUpdate``, ``CommentReportCreate``,
``NotificationSettingsUpdate``. Output: ``CommentPublic``, ``ThreadPublic``,
``CommentVoteState``, ``UserComment``, ``CommentReportPublic``, ``NotificationPublic``,
``NotificationsPage``, ``NotificationSettingPublic``, ``CommentModeration``.

Length limits live here so every way in (form, JSON) refuses the same input with 422.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

COMMENT_MAX = 10_000  # characters of Markdown
REASON_MAX = 500
MAX_ID = 2**63 - 1


def _body(value: str) -> str:
    body = value.replace("\r\n", "\n").strip()
    if not body:
        raise ValueError("write something first")
    return body


class CommentCreate(BaseModel):
    """A new comment: Markdown with ``$…$`` math and ``@handle`` mentions."""

    body: str = Field(max_length=COMMENT_MAX, description="Markdown; `$…$` is math.")
    parent_id: int | None = Field(None, ge=1, le=MAX_ID, description="The comment answered.")

    @field_validator("body")
    @classmethod
    def _check(cls, v: str) -> str:
        return _body(v)


class CommentUpdate(BaseModel):
    body: str = Field(max_length=COMMENT_MAX, description="The new Markdown.")

    @field_validator("body")
    @classmethod
    def _check(cls, v: str) -> str:
        return _body(v)


class CommentReportCreate(BaseModel):
    reason: str = Field("", max_length=REASON_MAX, description="What is wrong (optional).")


class CommentSort(StrEnum):
    top = "top"
    newest = "newest"


class CommentState(StrEnum):
    shown = "shown"
    deleted = "deleted"  # by its author: a tombstone (it has replies)
    hidden = "hidden"  # by a moderator: a tombstone (it has replies)


class CommentAuthor(BaseModel):
    display_name: str
    handle: str


class CommentPublic(BaseModel):
    """One comment. A tombstone (``state`` deleted/hidden) has no author, body or html."""

    id: int
    arxiv_id: str
    parent_id: int | None = None
    depth: int = Field(0, description="0 for a top-level comment, 1 for a reply, …")
    state: CommentState = CommentState.shown
    author: CommentAuthor | None = None
    body: str = Field("", description="The Markdown source.")
    html: str = Field("", description="Rendered and sanitised; math as TeX in `.math`.")
    created_at: dt.datetime
    edited_at: dt.datetime | None = Field(None, description="Set once the author edits it.")
    upvotes: int = 0
    voted: bool = Field(False, description="Whether you upvoted it.")
    mine: bool = Field(False, description="Whether you wrote it.")
    replies: int = Field(0, description="Direct replies shown in the thread.")


class ThreadPublic(BaseModel):
    """A paper's discussion, in reading order: each comment is followed by its replies
    (oldest first); ``sort`` orders the top-level comments."""

    arxiv_id: str
    title: str
    sort: CommentSort
    num_comments: int = Field(description="source_comments + local_comments.")
    source_comments: int = Field(description="The count the importing source reported.")
    local_comments: int = Field(description="Comments written on this site and shown.")
    comments: list[CommentPublic]


class CommentVoteState(BaseModel):
    comment_id: int
    voted: bool
    changed: bool
    upvotes: int


class UserComment(BaseModel):
    """A user's comment with the paper it is on (profiles, ``/users/{handle}``)."""

    comment: CommentPublic
    paper_title: str


class CommentReportPublic(BaseModel):
    id: int
    comment: CommentPublic
    author_id: int
    author_comments_hidden: bool
    reporter: str
    reason: str
    created_at: dt.datetime


class CommentModeration(BaseModel):
    """What a moderation action changed."""

    comments: list[int] = Field(default_factory=list, description="Comments hidden/shown.")
    reports_closed: int = 0


class NotificationPublic(BaseModel):
    id: int
    kind: str
    text: str
    url: str
    actor: str | None = None
    created_at: dt.datetime
    read: bool


class NotificationsPage(BaseModel):
    unread: int
    notifications: list[NotificationPublic]


class NotificationSettingPublic(BaseModel):
    kind: str
    label: str
    web: bool = Field(description="Listed on /notifications.")
    email: bool = Field(description="Also sent by email.")


class NotificationSettingChange(BaseModel):
    kind: str = Field(max_length=32)
    web: bool
    email: bool


class NotificationSettingsUpdate(BaseModel):
    settings: list[NotificationSettingChange] = Field(max_length=64)
