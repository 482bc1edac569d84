"""``NotificationStore``: what users are told about, and how they want to be told.

A notification row is written complete (``text``, ``url``), so listing them needs no join;
``notification_settings`` holds one row per user and kind that the user changed (no
row: the kind's defaults, which live with the kind in ``services.notifications``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paperwire.store.db import Database
from paperwire.store.schema.community import User
from paperwire.store.schema.discussions import Notification, NotificationSetting
from paperwire.store.users import utcnow


@dataclass(frozen=True)
class NotificationRow:
    id: int
    kind: str
    text: str
    url: str
    actor: str | None
    created_at: dt.datetime
    read: bool


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        user_id: int,
        kind: str,
        text: str,
        url: str,
        actor_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        with self.db.session() as s:
            row = Notification(
                user_id=user_id,
                kind=kind,
                actor_id=actor_id,
                text=text[:500],
                url=url[:500],
                detail=detail or {},
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return row.id

    def recent(self, user_id: int, limit: int = 50) -> list[NotificationRow]:
        """A user's notifications, newest first."""
        with self.db.session() as s:
            rows = s.execute(
                select(Notification, User.display_name)
                .outerjoin(User, User.id == Notification.actor_id)
                .where(Notification.user_id == user_id)
                .order_by(Notification.created_at.desc(), Notification.id.desc())
                .limit(limit)
            ).all()
            return [
                NotificationRow(
                    id=n.id,
                    kind=n.kind,
                    text=n.text,
                    url=n.url,
                    actor=actor,
                    created_at=n.created_at,
                    read=n.read_at is not None,
                )
                for n, actor in rows
            ]

    def unread(self, user_id: int) -> int:
        with self.db.reading() as s:  # every signed-in page's nav asks: no session
            return (
                s.scalar(
                    select(func.count(Notification.id)).where(
                        Notification.user_id == user_id, Notification.read_at.is_(None)
                    )
                )
                or 0
            )

    def mark_read(self, user_id: int) -> int:
        """Mark all of a user's notifications read; returns how many were unread."""
        with self.db.session() as s:
            result = s.execute(
                update(Notification)
                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                .values(read_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def settings(self, user_id: int) -> dict[str, tuple[bool, bool]]:
        """Kind → ``(web, email)`` for the kinds the user changed."""
        with self.db.session() as s:
            rows = s.scalars(
                select(NotificationSetting).where(NotificationSetting.user_id == user_id)
            )
            return {r.kind: (r.web, r.email) for r in rows}

    def set_settings(self, user_id: int, choices: Sequence[tuple[str, bool, bool]]) -> None:
        """Store ``(kind, web, email)`` choices (insert or replace, one transaction)."""
        with self.db.session() as s:
            for kind, web, email in choices:
                values = {"user_id": user_id, "kind": kind, "web": web, "email": email}
                if self.db.dialect == "postgresql":
                    pg = postgresql.insert(NotificationSetting).values(**values)
                    s.execute(
                        pg.on_conflict_do_update(
                            index_elements=["user_id", "kind"],
                            set_={"web": web, "email": email},
                        )
                    )
                else:
                    lite = sqlite.insert(NotificationSetting).values(**values)
                    s.execute(
                        lite.on_conflict_do_update(
                            index_elements=["user_id", "kind"],
                            set_={"web": web, "email": email},
                        )
                    )
