"""``CommentStore``: comments on papers, their upvotes and reports, and comment moderation.

Every count is changed by the database in the transaction that changes its rows:
``comments.upvotes`` with ``comment_votes`` (as ``store.votes`` does for papers), and
``papers.local_comments`` (the shown comments of a paper) whenever a comment appears or
stops being shown: written, deleted by its author, hidden or shown again by a moderator,
or with all of its author's comments. State changes are conditional updates
(``… WHERE deleted_at IS NULL RETURNING``), so two requests racing for the same change
count it once. Nothing is ever removed: a deleted comment keeps its row (without its
text) so replies keep their place; whether it shows as a tombstone is the thread's call
(``services.discussions``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paperwire.models.discussions import CommentVoteState
from paperwire.store.audit import _entry as audit_entry
from paperwire.store.db import Database
from paperwire.store.schema.community import User
from paperwire.store.schema.discussions import Comment, CommentReport, CommentVote
from paperwire.store.schema.papers import Paper
from paperwire.store.users import Account, utcnow
from paperwire.store.votes import PaperNotFound

__all__ = ["CommentNotFound", "CommentRow", "CommentStore", "CommentingBlocked", "PaperNotFound"]


class CommentNotFound(LookupError):  # noqa: N818 - reads best at call sites
    """No such comment (or not one you may change, or on a hidden paper)."""


class CommentingBlocked(PermissionError):  # noqa: N818
    """A moderator hid this user's comments: they cannot comment."""


@dataclass(frozen=True)
class CommentRow:
    """A comment as stored, with its author and paper (``shown`` is false once it is
    deleted or hidden, or its author's comments are)."""

    id: int
    paper_id: int
    arxiv_id: str
    paper_title: str
    parent_id: int | None
    user_id: int
    author: str
    author_handle: str
    author_email: str
    author_hidden: bool
    body: str
    upvotes: int
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    hidden: bool

    @property
    def shown(self) -> bool:
        return not (self.deleted or self.hidden or self.author_hidden)


@dataclass(frozen=True)
class ReportRow:
    id: int
    comment: CommentRow
    reporter: str
    reason: str
    created_at: dt.datetime


def _rows_query() -> Select[Comment, str, str, str, str, str, dt.datetime | None]:
    return (
        select(
            Comment,
            Paper.arxiv_id,
            Paper.title,
            User.display_name,
            User.handle,
            User.email,
            User.comments_hidden_at,
        )
        .join(Paper, Paper.id == Comment.paper_id)
        .join(User, User.id == Comment.user_id)
    )


def _row(r: tuple[Comment, str, str | None, str, str, str, dt.datetime | None]) -> CommentRow:
    c, arxiv_id, title, name, handle, email, author_hidden = r
    return CommentRow(
        id=c.id,
        paper_id=c.paper_id,
        arxiv_id=arxiv_id,
        paper_title=title or arxiv_id,
        parent_id=c.parent_id,
        user_id=c.user_id,
        author=name,
        author_handle=handle,
        author_email=email,
        author_hidden=author_hidden is not None,
        body=c.body,
        upvotes=c.upvotes,
        created_at=c.created_at,
        edited_at=c.edited_at,
        deleted=c.deleted_at is not None,
        hidden=c.hidden_at is not None,
    )


# A comment is shown when neither its author nor a moderator took it away (the query
# must join ``users`` on ``Comment.user_id``).
SHOWN = (
    Comment.deleted_at.is_(None),
    Comment.hidden_at.is_(None),
    User.comments_hidden_at.is_(None),
)


def _insert_new(s: Session, dialect: str, table: Any, values: dict[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``: True when a row was inserted (RETURNING, as
    ``store.votes`` does: rowcount is not reliable on PostgreSQL)."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).values(**values).on_conflict_do_nothing().returning(table.id)
    return s.execute(stmt).scalar() is not None


def bump_comment_counts(s: Session, counts: Counter[int], sign: int) -> None:
    """Move ``papers.local_comments`` by ``sign`` × each paper's count (in ``s``)."""
    for pid, n in counts.items():
        if n:
            s.execute(
                update(Paper)
                .where(Paper.id == pid)
                .values(local_comments=Paper.local_comments + sign * n)
                .execution_options(synchronize_session=False)
            )


class CommentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reading --------------------------------------------------------------------------

    def get(self, comment_id: int) -> CommentRow | None:
        """A comment on a paper that is not hidden, or None."""
        with self.db.session() as s:
            r = s.execute(
                _rows_query().where(Comment.id == comment_id, Paper.hidden.is_(False))
            ).first()
            return _row(r) if r else None

    def of_paper(self, arxiv_id: str) -> tuple[int, str, int, int, list[CommentRow]]:
        """``(paper_id, title, source count, local count, comments oldest first)``;
        ``PaperNotFound`` for unknown or hidden papers."""
        with self.db.session() as s:
            paper = s.execute(
                select(Paper.id, Paper.title, Paper.num_comments, Paper.local_comments).where(
                    Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False)
                )
            ).first()
            if paper is None:
                raise PaperNotFound(arxiv_id)
            rows = s.execute(
                _rows_query()
                .where(Comment.paper_id == paper.id)
                .order_by(Comment.created_at, Comment.id)
            ).all()
            return (
                paper.id,
                paper.title or arxiv_id,
                paper.num_comments or 0,
                paper.local_comments or 0,
                [_row(r) for r in rows],
            )

    def of_user(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[CommentRow]:
        """A user's shown comments on papers that are not hidden, newest first."""
        with self.db.session() as s:
            rows = s.execute(
                _rows_query()
                .where(
                    Comment.user_id == user_id,
                    *SHOWN,
                    Paper.hidden.is_(False),
                )
                .order_by(Comment.created_at.desc(), Comment.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return [_row(r) for r in rows]

    def voted_by(self, user_id: int, comment_ids: Sequence[int]) -> set[int]:
        if not comment_ids:
            return set()
        with self.db.session() as s:
            return set(
                s.scalars(
                    select(CommentVote.comment_id).where(
                        CommentVote.user_id == user_id, CommentVote.comment_id.in_(comment_ids)
                    )
                )
            )

    # -- writing --------------------------------------------------------------------------

    def create(self, user_id: int, arxiv_id: str, body: str, parent_id: int | None) -> int:
        """A new comment (a reply when ``parent_id`` names a shown comment of the same
        paper); ``PaperNotFound``, ``CommentNotFound`` (the parent), ``CommentingBlocked``."""
        with self.db.session() as s:
            # The author's row is locked first: a moderator hiding them waits for this
            # comment (and then counts it), or this waits and sees them hidden.
            blocked = s.execute(
                select(User.comments_hidden_at).where(User.id == user_id).with_for_update()
            ).scalar()
            if blocked is not None:
                raise CommentingBlocked(user_id)
            pid = s.scalar(
                select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False))
            )
            if pid is None:
                raise PaperNotFound(arxiv_id)
            if parent_id is not None:
                parent = s.scalar(
                    select(Comment.id)
                    .join(User, User.id == Comment.user_id)
                    .where(
                        Comment.id == parent_id,
                        Comment.paper_id == pid,
                        *SHOWN,
                    )
                )
                if parent is None:
                    raise CommentNotFound(parent_id)
            comment = Comment(
                paper_id=pid,
                parent_id=parent_id,
                user_id=user_id,
                body=body,
                upvotes=0,
                created_at=utcnow(),
            )
            s.add(comment)
            s.flush()
            bump_comment_counts(s, Counter({pid: 1}), +1)
            return comment.id

    def edit(self, comment_id: int, user_id: int, body: str) -> None:
        """The author changes a shown comment's text (``CommentNotFound`` otherwise)."""
        with self.db.session() as s:
            done = s.execute(
                update(Comment)
                .where(
                    Comment.id == comment_id,
                    Comment.user_id == user_id,
                    Comment.deleted_at.is_(None),
                    Comment.hidden_at.is_(None),
                )
                .values(body=body, edited_at=utcnow())
                .returning(Comment.id)
                .execution_options(synchronize_session=False)
            ).scalar()
            if done is None:
                raise CommentNotFound(comment_id)

    def delete(self, comment_id: int, user_id: int) -> None:
        """The author deletes a comment: its text goes, its row stays for its replies."""
        with self.db.session() as s:
            r = s.execute(
                update(Comment)
                .where(
                    Comment.id == comment_id,
                    Comment.user_id == user_id,
                    Comment.deleted_at.is_(None),
                )
                .values(deleted_at=utcnow(), body="")
                .returning(Comment.paper_id, Comment.hidden_at)
                .execution_options(synchronize_session=False)
            ).first()
            if r is None:
                raise CommentNotFound(comment_id)
            author_hidden = s.scalar(select(User.comments_hidden_at).where(User.id == user_id))
            if r.hidden_at is None and author_hidden is None:
                bump_comment_counts(s, Counter({r.paper_id: 1}), -1)

    # -- votes ----------------------------------------------------------------------------

    def vote(self, user_id: int, comment_id: int, up: bool) -> CommentVoteState:
        """Upvote (``up``) or take it back; idempotent. Only shown comments take votes."""
        with self.db.session() as s:
            found = s.execute(
                select(Comment.id)
                .join(User, User.id == Comment.user_id)
                .join(Paper, Paper.id == Comment.paper_id)
                .where(
                    Comment.id == comment_id,
                    *SHOWN,
                    Paper.hidden.is_(False),
                )
            ).scalar()
            if found is None:
                raise CommentNotFound(comment_id)
            if up:
                values = {"user_id": user_id, "comment_id": comment_id, "created_at": utcnow()}
                changed = _insert_new(s, self.db.dialect, CommentVote, values)
            else:
                changed = (
                    s.execute(
                        delete(CommentVote)
                        .where(CommentVote.user_id == user_id, CommentVote.comment_id == comment_id)
                        .returning(CommentVote.id)
                        .execution_options(synchronize_session=False)
                    ).scalar()
                    is not None
                )
            if changed:
                upvotes = s.execute(
                    update(Comment)
                    .where(Comment.id == comment_id)
                    .values(upvotes=Comment.upvotes + (1 if up else -1))
                    .returning(Comment.upvotes)
                    .execution_options(synchronize_session=False)
                ).scalar_one()
            else:
                upvotes = s.scalar(select(Comment.upvotes).where(Comment.id == comment_id)) or 0
            return CommentVoteState(
                comment_id=comment_id, voted=up, changed=changed, upvotes=upvotes
            )

    # -- reports and moderation -----------------------------------------------------------

    def report(self, comment_id: int, reporter_id: int, reason: str) -> bool:
        """Report a shown comment (once per reporter: False when already reported)."""
        if self.get(comment_id) is None:
            raise CommentNotFound(comment_id)
        values = {
            "comment_id": comment_id,
            "reporter_id": reporter_id,
            "reason": reason[:500],
            "created_at": utcnow(),
        }
        with self.db.session() as s:
            return _insert_new(s, self.db.dialect, CommentReport, values)

    def open_reports(self, limit: int = 100) -> list[ReportRow]:
        """Reports no moderator has resolved yet, oldest first."""
        with self.db.session() as s:
            reports = s.execute(
                select(CommentReport, User.display_name)
                .join(User, User.id == CommentReport.reporter_id)
                .where(CommentReport.resolved_at.is_(None))
                .order_by(CommentReport.created_at, CommentReport.id)
                .limit(limit)
            ).all()
            ids = sorted({report.comment_id for report, _ in reports})
            comments = {
                row[0].id: _row(row)
                for row in s.execute(_rows_query().where(Comment.id.in_(ids))).all()
            }
            return [
                ReportRow(
                    id=report.id,
                    comment=comments[report.comment_id],
                    reporter=name,
                    reason=report.reason,
                    created_at=report.created_at,
                )
                for report, name in reports
                if report.comment_id in comments
            ]

    def _resolve(self, s: Session, comment_ids: Sequence[int], resolution: str) -> int:
        if not comment_ids:
            return 0
        result = s.execute(
            update(CommentReport)
            .where(CommentReport.comment_id.in_(comment_ids), CommentReport.resolved_at.is_(None))
            .values(resolved_at=utcnow(), resolution=resolution)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def set_hidden(
        self, actor: Account, comment_id: int, hidden: bool, reason: str = ""
    ) -> tuple[bool, int]:
        """Hide (or show again) one comment; its open reports are closed. Returns
        ``(changed, reports closed)``; ``CommentNotFound`` for an unknown id."""
        with self.db.session() as s:
            current = s.execute(
                select(Comment.paper_id, Comment.deleted_at, User.comments_hidden_at)
                .join(User, User.id == Comment.user_id)
                .where(Comment.id == comment_id)
            ).first()
            if current is None:
                raise CommentNotFound(comment_id)
            cond = Comment.hidden_at.is_(None) if hidden else Comment.hidden_at.is_not(None)
            changed = s.execute(
                update(Comment)
                .where(Comment.id == comment_id, cond)
                .values(hidden_at=utcnow() if hidden else None)
                .returning(Comment.id)
                .execution_options(synchronize_session=False)
            ).scalar()
            if (
                changed is not None
                and current.deleted_at is None
                and (current.comments_hidden_at is None)
            ):
                bump_comment_counts(s, Counter({current.paper_id: 1}), -1 if hidden else +1)
            closed = self._resolve(s, [comment_id], "hidden" if hidden else "kept")
            action = "comment.hide" if hidden else "comment.unhide"
            audit_entry(s, actor, action, "comment", str(comment_id), {"reason": reason[:500]})
            return changed is not None, closed

    def dismiss_reports(self, actor: Account, comment_id: int) -> int:
        """Close a comment's open reports without hiding it."""
        with self.db.session() as s:
            closed = self._resolve(s, [comment_id], "kept")
            audit_entry(s, actor, "comment.reports_dismissed", "comment", str(comment_id))
            return closed

    def set_user_hidden(
        self, actor: Account, user_id: int, hidden: bool, reason: str = ""
    ) -> tuple[list[int], int]:
        """Hide (or show again) every comment of a user; hidden users cannot comment.
        Returns the ids of the comments that stopped (or started) showing and the
        number of reports closed; ``KeyError`` for an unknown user."""
        with self.db.session() as s:
            if s.get(User, user_id) is None:
                raise KeyError(user_id)
            cond = (
                User.comments_hidden_at.is_(None)
                if hidden
                else User.comments_hidden_at.is_not(None)
            )
            changed = s.execute(
                update(User)
                .where(User.id == user_id, cond)
                .values(comments_hidden_at=utcnow() if hidden else None)
                .returning(User.id)
                .execution_options(synchronize_session=False)
            ).scalar()
            affected: list[int] = []
            if changed is not None:
                rows = s.execute(
                    select(Comment.id, Comment.paper_id).where(
                        Comment.user_id == user_id,
                        Comment.deleted_at.is_(None),
                        Comment.hidden_at.is_(None),
                    )
                ).all()
                affected = [r.id for r in rows]
                bump_comment_counts(s, Counter(r.paper_id for r in rows), -1 if hidden else +1)
            all_ids = list(s.scalars(select(Comment.id).where(Comment.user_id == user_id)))
            closed = self._resolve(s, all_ids, "user_hidden") if hidden else 0
            action = "user.hide_comments" if hidden else "user.unhide_comments"
            audit_entry(
                s,
                actor,
                action,
                "user",
                str(user_id),
                {"comments": len(affected), "reason": reason[:500]},
            )
            return affected, closed

    def counts_agree(self, arxiv_id: str) -> tuple[int, int]:
        """``(papers.local_comments, shown comments counted)`` — equal unless broken."""
        with self.db.session() as s:
            pid, local = s.execute(
                select(Paper.id, Paper.local_comments).where(Paper.arxiv_id == arxiv_id)
            ).one()
            counted = s.scalar(
                select(func.count(Comment.id))
                .join(User, User.id == Comment.user_id)
                .where(
                    Comment.paper_id == pid,
                    *SHOWN,
                )
            )
            return local, counted or 0
