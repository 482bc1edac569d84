"""``TokenStore``: personal access tokens (what ``paperwire mcp`` clients sign in with).

Only a token's SHA-256 is stored, with its first characters to tell tokens apart; a
revoked token stays listed (when, and that it no longer works).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from paperwire.models.alerts import TokenPublic
from paperwire.store.convert import as_utc
from paperwire.store.db import Database
from paperwire.store.schema.alerts import PersonalToken
from paperwire.store.users import utcnow


class TokenStore:
    """Queries over tokens; each public method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, user_id: int, name: str, token_hash: str, prefix: str) -> TokenPublic:
        with self.db.session() as s:
            row = PersonalToken(
                user_id=user_id,
                name=name[:120],
                token_hash=token_hash,
                prefix=prefix,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return _token(row)

    def of_user(self, user_id: int) -> list[TokenPublic]:
        with self.db.session() as s:
            rows = s.scalars(
                select(PersonalToken)
                .where(PersonalToken.user_id == user_id)
                .order_by(PersonalToken.id)
            )
            return [_token(r) for r in rows.all()]

    def revoke(self, token_id: int, user_id: int) -> bool:
        with self.db.session() as s:
            res = cast(
                CursorResult[Any],
                s.execute(
                    update(PersonalToken)
                    .where(
                        PersonalToken.id == token_id,
                        PersonalToken.user_id == user_id,
                        PersonalToken.revoked_at.is_(None),
                    )
                    .values(revoked_at=utcnow())
                ),
            )
            return res.rowcount == 1

    def user_of(self, token_hash: str) -> int | None:
        """The account a live token belongs to (and note its use); None otherwise."""
        with self.db.session() as s:
            row = s.scalar(
                select(PersonalToken).where(
                    PersonalToken.token_hash == token_hash, PersonalToken.revoked_at.is_(None)
                )
            )
            if row is None:
                return None
            row.last_used_at = utcnow()
            return row.user_id


def _token(row: PersonalToken) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=as_utc(row.created_at) or row.created_at,
        last_used_at=as_utc(row.last_used_at),
        revoked_at=as_utc(row.revoked_at),
    )
