"""``SubmissionStore``: who submitted which paper, and who is credited on cards.

The paper itself is stored by ``PaperStore.upsert`` (source ``submission``, featured
today, ``Featured.submitted_by`` = the user's display name); this table remembers the
user behind it so moderators can act on everything one account submitted, and who
submitted a paper that was already here ("also submitted by": ``created_paper`` false,
``featured_on`` None).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence

from sqlalchemy import select

from paperwire.models.community import SubmissionAdminRow
from paperwire.store.db import Database
from paperwire.store.schema.community import Submission, User
from paperwire.store.schema.papers import Featured, Paper
from paperwire.store.users import utcnow

SOURCE = "submission"


class SubmissionStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._kept: dict[str, str] | None = None  # submitters as of self._watch.seen
        self._watch = db.watch()
        self._lock = threading.Lock()

    def record(
        self, user_id: int, arxiv_id: str, *, created_paper: bool, featured_on: dt.date | None
    ) -> None:
        with self.db.session() as s:
            pid = s.scalar(select(Paper.id).where(Paper.arxiv_id == arxiv_id))
            if pid is None:
                raise LookupError(arxiv_id)
            s.add(
                Submission(
                    user_id=user_id,
                    paper_id=pid,
                    created_paper=created_paper,
                    featured_on=featured_on,
                    created_at=utcnow(),
                )
            )

    def has_submitted(self, user_id: int, arxiv_id: str) -> bool:
        """Whether the user submitted the paper before (and so is credited already)."""
        with self.db.session() as s:
            found = s.scalar(
                select(Submission.id)
                .join(Paper, Paper.id == Submission.paper_id)
                .where(Submission.user_id == user_id, Paper.arxiv_id == arxiv_id)
                .limit(1)
            )
            return found is not None

    def also_submitted_by(self, arxiv_id: str) -> list[str]:
        """Who else submitted a paper after it was here (display names, first first): the
        paper page's "also submitted by", beside the credited submitter."""
        with self.db.reading() as s:  # every paper page asks: no session
            rows = s.execute(
                select(User.display_name)
                .join(Submission, Submission.user_id == User.id)
                .join(Paper, Paper.id == Submission.paper_id)
                .where(Paper.arxiv_id == arxiv_id, Submission.created_paper.is_(False))
                .order_by(Submission.created_at, Submission.id)
            ).all()
        return list(dict.fromkeys(name for (name,) in rows if name))

    def is_hidden(self, arxiv_id: str) -> bool | None:
        """Whether a stored paper is hidden; None when the paper is unknown."""
        with self.db.session() as s:
            hidden = s.scalar(select(Paper.hidden).where(Paper.arxiv_id == arxiv_id))
            return None if hidden is None else bool(hidden)

    def submitters(self, arxiv_ids: Sequence[str] | None = None) -> dict[str, str]:
        """Who is credited for submitting each paper (the most recent submission)."""
        with self.db.session() as s:
            q = (
                select(Paper.arxiv_id, Featured.submitted_by)
                .join(Featured, Featured.paper_id == Paper.id)
                .where(Featured.source == SOURCE, Featured.submitted_by.is_not(None))
                .order_by(Featured.day)
            )
            if arxiv_ids is not None:
                q = q.where(Paper.arxiv_id.in_(list(arxiv_ids)))
            return {aid: name for aid, name in s.execute(q).all() if name}

    def current_submitters(self) -> dict[str, str]:
        """``submitters()`` of every paper, read again only after a change that may touch
        it (not after a vote, which declares that it changes counts only): every page of
        cards asks it, and reading all of it per request was 7% of a search page (issue
        16). Treat the result as read-only."""
        version = self.db.data_version()[0]
        with self._lock:  # held while reading: a request after a change waits for it
            news = self._watch.news(version)
            if self._kept is None or (news is not None and news.anything):
                self._kept = self.submitters()
            return self._kept

    def recent(self, limit: int = 50) -> list[SubmissionAdminRow]:
        with self.db.session() as s:
            rows = s.execute(
                select(Submission, Paper.arxiv_id, Paper.title, Paper.hidden, User.display_name)
                .join(Paper, Paper.id == Submission.paper_id)
                .join(User, User.id == Submission.user_id)
                .order_by(Submission.created_at.desc(), Submission.id.desc())
                .limit(limit)
            ).all()
            return [
                SubmissionAdminRow(
                    id=sub.id,
                    arxiv_id=aid,
                    title=title,
                    user_id=sub.user_id,
                    submitted_by=name,
                    created_paper=sub.created_paper,
                    hidden=hidden,
                    created_at=sub.created_at.replace(tzinfo=dt.UTC),
                )
                for sub, aid, title, hidden, name in rows
            ]
