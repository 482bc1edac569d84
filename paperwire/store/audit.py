"""``AuditStore``: the audit log, and the moderation writes that must be logged.

Each moderation method changes papers and writes its audit rows in one transaction,
so there is never a hidden paper without the entry that says who hid it. Removing
hidden papers from the search index is the caller's job (``paperwire.services.community``):
the store never touches the index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paperwire.models.community import AuditEntryPublic, ModerationResult
from paperwire.store.db import Database
from paperwire.store.schema.community import AuditEntry, Submission, User
from paperwire.store.schema.papers import Featured, Paper
from paperwire.store.submissions import SOURCE as SUBMISSION_SOURCE
from paperwire.store.users import Account, utcnow


def _entry(
    s: Session,
    actor: Account | None,
    action: str,
    target_type: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    s.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor.id if actor else None,
            actor=actor.email if actor else "system",
            action=action,
            target_type=target_type,
            target=target[:200],
            detail=detail or {},
        )
    )


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def log(
        self,
        actor: Account | None,
        action: str,
        target_type: str,
        target: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one entry (``actor`` None: the CLI or the system)."""
        with self.db.session() as s:
            _entry(s, actor, action, target_type, target, detail)

    def recent(self, limit: int = 100) -> list[AuditEntryPublic]:
        with self.db.session() as s:
            rows = s.scalars(
                select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
            ).all()
            return [
                AuditEntryPublic(
                    id=r.id,
                    at=r.at.replace(tzinfo=dt.UTC),
                    actor=r.actor,
                    action=r.action,
                    target_type=r.target_type,
                    target=r.target,
                    detail=dict(r.detail or {}),
                )
                for r in rows
            ]

    # -- moderation -----------------------------------------------------------------------

    def set_hidden(
        self, actor: Account, arxiv_ids: Sequence[str], hidden: bool, reason: str = ""
    ) -> list[str]:
        """Hide (or unhide) papers; returns the ids whose state changed, each logged."""
        changed: list[str] = []
        with self.db.session() as s:
            papers = s.scalars(select(Paper).where(Paper.arxiv_id.in_(list(arxiv_ids)))).all()
            for paper in papers:
                if paper.hidden == hidden:
                    continue
                paper.hidden = hidden
                paper.updated_at = utcnow()
                changed.append(paper.arxiv_id)
                detail = {"title": paper.title[:200]}
                if reason:
                    detail["reason"] = reason[:500]
                _entry(
                    s,
                    actor,
                    "paper.hide" if hidden else "paper.unhide",
                    "paper",
                    paper.arxiv_id,
                    detail,
                )
        return changed

    def hide_submissions_of(
        self, actor: Account, user_id: int, reason: str = ""
    ) -> ModerationResult:
        """Hide every paper this user's submissions added to the site, and withdraw the
        featuring of papers that existed before they submitted them (those stay visible)."""
        out = ModerationResult()
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None:
                raise LookupError(user_id)
            subs = s.execute(
                select(Submission, Paper)
                .join(Paper, Paper.id == Submission.paper_id)
                .where(Submission.user_id == user_id)
            ).all()
            for sub, paper in subs:
                if sub.created_paper:
                    if not paper.hidden:
                        paper.hidden = True
                        paper.updated_at = utcnow()
                        out.hidden.append(paper.arxiv_id)
                elif sub.featured_on is not None:
                    result = s.execute(
                        delete(Featured).where(
                            Featured.paper_id == paper.id,
                            Featured.source == SUBMISSION_SOURCE,
                            Featured.day == sub.featured_on,
                            Featured.submitted_by == user.display_name,
                        )
                    )
                    if (getattr(result, "rowcount", 0) or 0) > 0:
                        out.unfeatured.append(paper.arxiv_id)
            detail: dict[str, Any] = {
                "user": user.email,
                "hidden": out.hidden,
                "unfeatured": out.unfeatured,
            }
            if reason:
                detail["reason"] = reason[:500]
            _entry(s, actor, "user.hide_submissions", "user", str(user_id), detail)
            for aid in out.hidden:
                _entry(s, actor, "paper.hide", "paper", aid, {"via": f"user {user_id}"})
        return out
