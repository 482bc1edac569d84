"""Discussions: threads of comments on papers, what readers see of them, and who is told.

The store (``store.comments``) keeps the rows and the counts; this module decides what a
reader sees: Markdown rendered and sanitised (``text.markup``), the thread in reading
order (top-level comments by ``top`` or ``newest``, each followed by its replies, oldest
first), and tombstones: a deleted or hidden comment shows (without author or text) only
while a reply below it is shown; otherwise it is left out. Writing a comment notifies the
author of the comment it answers (``comment_reply``) and every existing ``@handle`` it
mentions (``comment_mention``); an edit notifies only handles it newly mentions.
``discussions_of(pw)`` returns the one instance per ``Paperwire``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from paperwire.core import Paperwire
from paperwire.models.discussions import (
    CommentAuthor,
    CommentCreate,
    CommentModeration,
    CommentPublic,
    CommentReportPublic,
    CommentSort,
    CommentState,
    CommentUpdate,
    CommentVoteState,
    ThreadPublic,
    UserComment,
)
from paperwire.services.notifications import COMMENT_MENTION, COMMENT_REPLY, notifier_of
from paperwire.store.comments import CommentNotFound, CommentRow, CommentStore
from paperwire.store.users import Account, UserStore
from paperwire.text.markup import mentioned, render

EXCERPT = 300


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value else None


def comment_url(row: CommentRow) -> str:
    return f"/papers/{row.arxiv_id}#comment-{row.id}"


def visible_order(rows: list[CommentRow], sort: CommentSort) -> list[tuple[CommentRow, int]]:
    """``(comment, depth)`` in reading order, tombstones only above shown replies.

    ``rows`` come oldest first, so a reply always follows the comment it answers: walking
    them backwards settles every reply before its parent."""
    children: dict[int | None, list[CommentRow]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    keep: dict[int, bool] = {}
    for row in reversed(rows):
        keep[row.id] = row.shown or any(keep[c.id] for c in children[row.id])
    top = [r for r in children[None] if keep[r.id]]
    if sort is CommentSort.top:
        top.sort(key=lambda r: (-r.upvotes if r.shown else 1, r.created_at, r.id))
    else:
        top.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    out: list[tuple[CommentRow, int]] = []
    stack = [(r, 0) for r in reversed(top)]
    while stack:
        row, depth = stack.pop()
        out.append((row, depth))
        stack.extend((c, depth + 1) for c in reversed(children[row.id]) if keep[c.id])
    return out


@dataclass
class Discussions:
    pw: Paperwire

    def __post_init__(self) -> None:
        self.comments = CommentStore(self.pw.db)
        self.users = UserStore(self.pw.db)
        self.notifier = notifier_of(self.pw)

    # -- what readers see -----------------------------------------------------------------

    def _existing(self, bodies: Iterable[str]) -> set[str]:
        wanted = sorted({h for body in bodies for h in mentioned(body)})
        return set(self.users.by_handles(wanted))

    def public(
        self,
        row: CommentRow,
        *,
        depth: int = 0,
        viewer: Account | None = None,
        voted: bool = False,
        replies: int = 0,
        handles: set[str] | None = None,
    ) -> CommentPublic:
        """One comment as readers see it (a tombstone when it is not shown)."""
        base = CommentPublic(
            id=row.id,
            arxiv_id=row.arxiv_id,
            parent_id=row.parent_id,
            depth=depth,
            created_at=_utc(row.created_at),
            replies=replies,
        )
        if not row.shown:
            state = CommentState.deleted if row.deleted else CommentState.hidden
            return base.model_copy(update={"state": state})
        known = handles if handles is not None else self._existing([row.body])
        return base.model_copy(
            update={
                "author": CommentAuthor(display_name=row.author, handle=row.author_handle),
                "body": row.body,
                "html": render(row.body, lambda hs: known & set(hs)).html,
                "edited_at": _utc(row.edited_at),
                "upvotes": row.upvotes,
                "voted": voted,
                "mine": viewer is not None and viewer.id == row.user_id,
            }
        )

    def thread(
        self, arxiv_id: str, viewer: Account | None, sort: CommentSort = CommentSort.top
    ) -> ThreadPublic:
        """A paper's discussion (``PaperNotFound`` for unknown or hidden papers)."""
        _pid, title, source, local, rows = self.comments.of_paper(arxiv_id)
        ordered = visible_order(rows, sort)
        ids = [r.id for r, _ in ordered]
        voted = self.comments.voted_by(viewer.id, ids) if viewer else set()
        handles = self._existing(r.body for r, _ in ordered if r.shown)
        replies: dict[int, int] = defaultdict(int)
        for row, _ in ordered:
            if row.parent_id is not None:
                replies[row.parent_id] += 1
        return ThreadPublic(
            arxiv_id=arxiv_id,
            title=title,
            sort=sort,
            num_comments=source + local,
            source_comments=source,
            local_comments=local,
            comments=[
                self.public(
                    row,
                    depth=depth,
                    viewer=viewer,
                    voted=row.id in voted,
                    replies=replies[row.id],
                    handles=handles,
                )
                for row, depth in ordered
            ],
        )

    def one(self, comment_id: int, viewer: Account | None = None) -> CommentPublic:
        row = self.comments.get(comment_id)
        if row is None:
            raise CommentNotFound(comment_id)
        voted = bool(viewer and self.comments.voted_by(viewer.id, [comment_id]))
        return self.public(row, viewer=viewer, voted=voted)

    def row(self, comment_id: int) -> CommentRow:
        row = self.comments.get(comment_id)
        if row is None:
            raise CommentNotFound(comment_id)
        return row

    def of_user(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[UserComment]:
        """A user's shown comments, newest first, each with its paper's title (for the
        profile page, ``/users/{handle}``)."""
        rows = self.comments.of_user(user_id, limit=limit, offset=offset)
        handles = self._existing(r.body for r in rows)
        return [
            UserComment(comment=self.public(r, handles=handles), paper_title=r.paper_title)
            for r in rows
        ]

    # -- writing --------------------------------------------------------------------------

    def post(self, account: Account, arxiv_id: str, data: CommentCreate) -> CommentPublic:
        """Write a comment or reply, then notify (``PaperNotFound``, ``CommentNotFound``
        for a parent that is gone, ``CommentingBlocked``)."""
        cid = self.comments.create(account.id, arxiv_id, data.body, data.parent_id)
        row = self.row(cid)
        told: set[int] = set()
        if row.parent_id is not None:
            parent = self.comments.get(row.parent_id)
            author = self.users.get(parent.user_id) if parent else None
            if author is not None:
                self._tell(author, COMMENT_REPLY.name, "replied to your comment", account, row)
                told.add(author.id)
        self._notify_mentions(account, row, mentioned(row.body), told)
        return self.public(row, viewer=account)

    def _tell(self, person: Account, kind: str, what: str, actor: Account, row: CommentRow) -> None:
        """One notification about ``row`` (never to its own author: ``notify`` skips)."""
        self.notifier.notify(
            person,
            kind,
            f"{actor.display_name} {what} on “{row.paper_title}”",
            comment_url(row),
            actor=actor,
            excerpt=row.body[:EXCERPT],
            detail={"comment_id": row.id},
        )

    def _notify_mentions(
        self, account: Account, row: CommentRow, handles: list[str], told: set[int]
    ) -> None:
        for person in self.users.by_handles(handles).values():
            if person.id not in told:
                told.add(person.id)
                self._tell(person, COMMENT_MENTION.name, "mentioned you in a comment", account, row)

    def edit(self, account: Account, comment_id: int, data: CommentUpdate) -> CommentPublic:
        """The author changes the text; handles it newly mentions are notified."""
        before = self.row(comment_id)
        self.comments.edit(comment_id, account.id, data.body)
        row = self.row(comment_id)
        new = [h for h in mentioned(row.body) if h not in set(mentioned(before.body))]
        self._notify_mentions(account, row, new, set())
        return self.one(comment_id, account)

    def delete(self, account: Account, comment_id: int) -> None:
        self.comments.delete(comment_id, account.id)

    def vote(self, account: Account, comment_id: int, up: bool) -> CommentVoteState:
        return self.comments.vote(account.id, comment_id, up)

    def report(self, account: Account, comment_id: int, reason: str) -> bool:
        return self.comments.report(comment_id, account.id, reason)

    # -- moderation -----------------------------------------------------------------------

    def reports(self, limit: int = 100) -> list[CommentReportPublic]:
        """Open reports, oldest first, each with the comment as written (moderators see
        the text of hidden comments)."""
        out = []
        for r in self.comments.open_reports(limit):
            shown = self.public(r.comment)
            if not r.comment.shown:  # moderators read what was reported
                shown = shown.model_copy(
                    update={
                        "author": CommentAuthor(
                            display_name=r.comment.author, handle=r.comment.author_handle
                        ),
                        "body": r.comment.body,
                    }
                )
            out.append(
                CommentReportPublic(
                    id=r.id,
                    comment=shown,
                    author_id=r.comment.user_id,
                    author_comments_hidden=r.comment.author_hidden,
                    reporter=r.reporter,
                    reason=r.reason,
                    created_at=r.created_at.replace(tzinfo=dt.UTC),
                )
            )
        return out

    def hide(
        self, actor: Account, comment_id: int, hidden: bool, reason: str = ""
    ) -> CommentModeration:
        changed, closed = self.comments.set_hidden(actor, comment_id, hidden, reason)
        return CommentModeration(comments=[comment_id] if changed else [], reports_closed=closed)

    def dismiss(self, actor: Account, comment_id: int) -> CommentModeration:
        return CommentModeration(reports_closed=self.comments.dismiss_reports(actor, comment_id))

    def hide_user(
        self, actor: Account, user_id: int, hidden: bool, reason: str = ""
    ) -> CommentModeration:
        changed, closed = self.comments.set_user_hidden(actor, user_id, hidden, reason)
        return CommentModeration(comments=changed, reports_closed=closed)


_lock = threading.Lock()


def discussions_of(pw: Paperwire) -> Discussions:
    """The ``Discussions`` of this ``Paperwire`` (created once, then shared)."""
    found: Discussions | None = getattr(pw, "_discussions", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(pw, "_discussions", None)
        if found is None:
            found = Discussions(pw)
            setattr(pw, "_discussions", found)  # noqa: B010 - Paperwire has no slot for it
        return found
