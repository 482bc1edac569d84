"""``UserStore``: accounts and server-side login sessions.

Passwords arrive here already hashed (argon2id, ``paperwire.services.community``); session
tokens arrive as their SHA-256 so a leaked database holds no usable cookie.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paperwire.models.community import UserAccount, UserPublic
from paperwire.store.db import Database
from paperwire.store.schema.community import User, UserSession
from paperwire.text.confusables import skeleton
from paperwire.text.handles import candidates, check_handle, handle_key, slug


def utcnow() -> dt.datetime:
    """Naive UTC, like every timestamp in the store."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class HandleTaken(ValueError):  # noqa: N818 - reads best at call sites
    """A handle another account has (or one that looks like it)."""


class AccountExists(ValueError):  # noqa: N818 - reads best at call sites
    """Sign-up with an email or display name that is taken; ``field`` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Account:
    """A user row as the application sees it (includes the password hash: never render)."""

    id: int
    email: str
    display_name: str
    is_admin: bool
    password_hash: str
    created_at: dt.datetime
    handle: str
    comments_hidden: bool = False  # a moderator hid every comment of the user

    def public(self) -> UserPublic:
        return UserPublic(
            id=self.id,
            display_name=self.display_name,
            handle=self.handle,
            is_admin=self.is_admin,
            created_at=self.created_at.replace(tzinfo=dt.UTC),
        )

    def private(self) -> UserAccount:
        return UserAccount(**self.public().model_dump(), email=self.email)


# a row of ``_SESSION_ACCOUNT``
_AccountRow = Row[int, str, str, bool, str, dt.datetime, str, dt.datetime | None]


def _account(u: User | _AccountRow) -> Account:
    return Account(
        id=u.id,
        email=u.email,
        display_name=u.display_name,
        is_admin=u.is_admin,
        password_hash=u.password_hash,
        created_at=u.created_at,
        handle=u.handle,
        comments_hidden=u.comments_hidden_at is not None,
    )


def _free_handle(s: Session, base: str) -> tuple[str, str]:
    """The first of ``base``, ``base-2``, … whose look-alike key no account has."""
    for handle in candidates(base):
        key = handle_key(handle)
        if s.scalar(select(User.id).where(User.handle_key == key)) is None:
            return handle, key
    raise AssertionError("candidates() is endless")  # pragma: no cover


# Every signed-in request asks (``session_account``): plain columns on a bare connection,
# the statement built once; a session and a ``User`` object cost more than the query.
_SESSION_ACCOUNT = (
    select(
        User.id,
        User.email,
        User.display_name,
        User.is_admin,
        User.password_hash,
        User.created_at,
        User.handle,
        User.comments_hidden_at,
    )
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token"), UserSession.expires_at > bindparam("now"))
)


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- accounts -------------------------------------------------------------------------

    def create(
        self, email: str, display_name: str, password_hash: str, *, is_admin: bool = False
    ) -> Account:
        """A new account; ``AccountExists`` when the email or display name is taken, or
        the name looks like one that is (the same TR39 skeleton: ``аdmin`` vs ``admin``)."""
        with self.db.session() as s:
            if s.scalar(select(User.id).where(User.email == email)) is not None:
                raise AccountExists("email", "an account with this email already exists")
            key = skeleton(display_name)
            taken = s.scalar(
                select(User.display_name).where(
                    (func.lower(User.display_name) == display_name.lower()) | (User.name_key == key)
                )
            )
            if taken is not None:
                if taken.lower() == display_name.lower():
                    raise AccountExists("display_name", "this display name is taken")
                raise AccountExists(
                    "display_name", f"this display name looks too much like {taken!r}"
                )
            handle, hkey = _free_handle(s, slug(display_name))
            user = User(
                email=email,
                display_name=display_name,
                name_key=key,
                handle=handle,
                handle_key=hkey,
                password_hash=password_hash,
                is_admin=is_admin,
                created_at=utcnow(),
            )
            s.add(user)
            try:
                s.flush()
            except IntegrityError:  # lost a race against the same sign-up
                raise AccountExists("email", "an account with this email already exists") from None
            return _account(user)

    def get(self, user_id: int) -> Account | None:
        with self.db.session() as s:
            user = s.get(User, user_id)
            return _account(user) if user else None

    def by_email(self, email: str) -> Account | None:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.email == email.strip().lower()))
            return _account(user) if user else None

    def by_display_name(self, name: str) -> Account | None:
        with self.db.session() as s:
            user = s.scalar(select(User).where(func.lower(User.display_name) == name.lower()))
            return _account(user) if user else None

    def by_handle(self, handle: str) -> Account | None:
        """The account with this handle (any case), or None."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.handle == handle.strip().lower()))
            return _account(user) if user else None

    def by_handles(self, handles: list[str]) -> dict[str, Account]:
        """Lower-cased handle → account, for the handles that exist (@mentions)."""
        wanted = sorted({h.lower() for h in handles})
        if not wanted:
            return {}
        with self.db.session() as s:
            rows = s.scalars(select(User).where(User.handle.in_(wanted)))
            return {u.handle: _account(u) for u in rows}

    def set_handle(self, user_id: int, value: str) -> Account:
        """Change a handle (``ValueError`` for a malformed one, ``HandleTaken`` when
        another account has it or one that looks like it)."""
        handle = check_handle(value)
        key = handle_key(handle)
        with self.db.session() as s:
            other = s.scalar(select(User.handle).where(User.handle_key == key, User.id != user_id))
            if other is not None:
                raise HandleTaken(
                    f"@{handle} is taken" if other == handle else f"@{handle} looks like @{other}"
                )
            user = s.get(User, user_id)
            if user is None:
                raise KeyError(user_id)
            user.handle, user.handle_key = handle, key
            try:
                s.flush()
            except IntegrityError:  # lost a race for the same handle
                raise HandleTaken(f"@{handle} is taken") from None
            return _account(user)

    def list_all(self) -> list[Account]:
        with self.db.session() as s:
            return [_account(u) for u in s.scalars(select(User).order_by(User.id))]

    def count(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count(User.id))) or 0

    def set_password_hash(self, user_id: int, password_hash: str, *, logout: bool) -> None:
        """Replace the hash; ``logout`` also ends every session of the user."""
        with self.db.session() as s:
            s.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
            if logout:
                s.execute(delete(UserSession).where(UserSession.user_id == user_id))

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        with self.db.session() as s:
            s.execute(update(User).where(User.id == user_id).values(is_admin=is_admin))

    # -- sessions -------------------------------------------------------------------------

    def create_session(self, user_id: int, token_hash: str, expires_at: dt.datetime) -> None:
        with self.db.session() as s:
            s.add(
                UserSession(
                    token_hash=token_hash,
                    user_id=user_id,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
            )

    def session_account(self, token_hash: str, now: dt.datetime | None = None) -> Account | None:
        """The account of a live session, or None (unknown or expired token)."""
        with self.db.reading() as conn:
            row = conn.execute(
                _SESSION_ACCOUNT, {"token": token_hash, "now": now or utcnow()}
            ).first()
        return _account(row) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self.db.session() as s:
            s.execute(delete(UserSession).where(UserSession.token_hash == token_hash))

    def purge_expired_sessions(self, now: dt.datetime | None = None) -> int:
        with self.db.session() as s:
            result = s.execute(
                delete(UserSession).where(UserSession.expires_at <= (now or utcnow()))
            )
            return int(getattr(result, "rowcount", 0) or 0)
