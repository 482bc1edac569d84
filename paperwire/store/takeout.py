"""What a user owns, kind by kind: export it (takeout), import it elsewhere, delete it.

Every feature that stores rows belonging to an account registers one ``Kind`` here: the
tables it covers, and small functions over a session that export the user's rows (plain
JSON values, papers named by arXiv id, never by this instance's row ids), import such
rows into another install, and remove or anonymise them. ``tests/data/test_takeout.py``
fails when a table with a ``user_id`` column (or any column referring to ``users.id``)
is covered by no kind, so a new feature cannot forget its users' data.

Deleting an account runs every kind's ``delete`` in one transaction, newest kind first
and ``profile`` (the ``users`` row) last; ``Kind.deletion`` says what happens to the
rows (``removed`` or ``anonymised``), and docs/data.md lists it per kind.

To add a kind: write ``_export_x``/``_import_x``/``_delete_x`` for your tables and call
``register(Kind(...))`` at the end of this module.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from paperwire.models.alerts import AlertKind
from paperwire.models.search import SearchFilters
from paperwire.models.subscriptions import Frequency, SubscriptionStatus
from paperwire.store.alerts import new_alert
from paperwire.store.comments import bump_comment_counts
from paperwire.store.db import Database
from paperwire.store.schema.alerts import Alert, PersonalToken
from paperwire.store.schema.community import (
    AuditEntry,
    Collection,
    CollectionItem,
    Submission,
    User,
    UserSession,
    Vote,
)
from paperwire.store.schema.discussions import (
    Comment,
    CommentReport,
    CommentVote,
    Notification,
    NotificationSetting,
)
from paperwire.store.schema.papers import Featured, Paper
from paperwire.store.schema.people import AuthorClaim, Follow, Profile
from paperwire.store.schema.recommend import NotInterested, RecSettings
from paperwire.store.schema.subscriptions import DigestOutbox, Subscription
from paperwire.store.users import utcnow

Record = dict[str, Any]


@dataclass
class ImportContext:
    """What importers share: the target account and the papers this install knows."""

    session: Session
    user_id: int
    email: str
    _papers: dict[str, int | None] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)  # "kind: what" lines

    def paper_id(self, arxiv_id: str) -> int | None:
        """The visible paper's row id, or None (the caller lists it as unmatched)."""
        if arxiv_id not in self._papers:
            self._papers[arxiv_id] = self.session.scalar(
                select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.hidden.is_(False))
            )
        return self._papers[arxiv_id]

    def new_papers(
        self, rows: Iterable[object], what: str, have: set[int]
    ) -> Iterator[tuple[int, Record]]:
        """``(paper id, row)`` for each row naming a paper here that is not in ``have``
        (then added to it); a row naming a paper this install lacks is listed as
        unmatched under ``what``."""
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                self.unmatched.append(f"{what}: entry {n} is not an object")
                continue
            aid = str(row.get("arxiv_id", ""))
            pid = self.paper_id(aid)
            if pid is None:
                self.unmatched.append(f"{what}: {aid}")
            elif pid not in have:
                have.add(pid)
                yield pid, row


Exporter = Callable[[Session, int], list[Record]]
Importer = Callable[[ImportContext, list[Record]], int]
Deleter = Callable[[Session, int], None]


@dataclass(frozen=True)
class Kind:
    """One kind of user data. ``export``/``import_`` are None for data that must not
    travel (login sessions); ``deletion`` is what account deletion does to the rows."""

    name: str
    tables: tuple[str, ...]
    description: str
    deletion: Literal["removed", "anonymised"]
    delete: Deleter
    export: Exporter | None = None
    import_: Importer | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise ValueError(f"takeout kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def covered_tables() -> set[str]:
    return {t for k in KINDS.values() for t in k.tables}


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat()
    return value.isoformat()


def _when(value: object) -> dt.datetime:
    """An exported timestamp back as naive UTC (now when missing or unreadable)."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return utcnow()
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return utcnow()


# -- the store's side of the registry ----------------------------------------------------


class TakeoutStore:
    """Runs the registered kinds against one database, each call one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def export(self, user_id: int) -> dict[str, list[Record]]:
        with self.db.session() as s:
            return {k.name: k.export(s, user_id) for k in KINDS.values() if k.export}

    def import_(
        self, user_id: int, email: str, data: dict[str, list[Record]]
    ) -> tuple[dict[str, int], list[str]]:
        """Import every kind present in ``data``: (rows imported per kind, unmatched)."""
        with self.db.session() as s:
            ctx = ImportContext(s, user_id, email)
            counts = {
                k.name: k.import_(ctx, data[k.name])
                for k in KINDS.values()
                if k.import_ and k.name in data
            }
            return counts, ctx.unmatched

    def delete_user(self, user_id: int) -> None:
        """Remove or anonymise everything of the account, then the account, at once."""
        with self.db.session() as s:
            for kind in reversed(list(KINDS.values())):
                kind.delete(s, user_id)


# -- profile ---------------------------------------------------------------------------------


def _export_profile(s: Session, user_id: int) -> list[Record]:
    u = s.get(User, user_id)
    if u is None:
        return []
    return [
        {
            "email": u.email,
            "display_name": u.display_name,
            "handle": u.handle,
            "is_admin": u.is_admin,
            "created_at": _iso(u.created_at),
        }
    ]


def _delete_profile(s: Session, user_id: int) -> None:
    s.execute(delete(User).where(User.id == user_id))


def _delete_sessions(s: Session, user_id: int) -> None:
    s.execute(delete(UserSession).where(UserSession.user_id == user_id))


# -- votes -----------------------------------------------------------------------------------


def _export_votes(s: Session, user_id: int) -> list[Record]:
    rows = s.execute(
        select(Paper.arxiv_id, Vote.created_at)
        .join(Vote, Vote.paper_id == Paper.id)
        .where(Vote.user_id == user_id)
        .order_by(Vote.created_at, Vote.id)
    ).all()
    return [{"arxiv_id": aid, "created_at": _iso(at)} for aid, at in rows]


def _bump(s: Session, paper_ids: Iterable[int], delta: int) -> None:
    ids = list(paper_ids)
    if ids:
        s.execute(
            update(Paper)
            .where(Paper.id.in_(ids))
            .values(local_upvotes=Paper.local_upvotes + delta)
            .execution_options(synchronize_session=False)
        )


def _import_votes(ctx: ImportContext, rows: list[Record]) -> int:
    s = ctx.session
    have = set(s.scalars(select(Vote.paper_id).where(Vote.user_id == ctx.user_id)))
    new: list[int] = []
    for pid, row in ctx.new_papers(rows, "votes", have):
        new.append(pid)
        s.add(Vote(user_id=ctx.user_id, paper_id=pid, created_at=_when(row.get("created_at"))))
    s.flush()
    _bump(s, new, +1)
    return len(new)


def _delete_votes(s: Session, user_id: int) -> None:
    """Votes go, and so do the points they gave (``papers.local_upvotes``)."""
    pids = list(s.scalars(select(Vote.paper_id).where(Vote.user_id == user_id)))
    s.execute(delete(Vote).where(Vote.user_id == user_id))
    _bump(s, pids, -1)


# -- submissions -----------------------------------------------------------------------------


def _export_submissions(s: Session, user_id: int) -> list[Record]:
    rows = s.execute(
        select(
            Paper.arxiv_id, Submission.created_paper, Submission.featured_on, Submission.created_at
        )
        .join(Submission, Submission.paper_id == Paper.id)
        .where(Submission.user_id == user_id)
        .order_by(Submission.id)
    ).all()
    return [
        {"arxiv_id": aid, "added_paper": added, "featured_on": _iso(day), "created_at": _iso(at)}
        for aid, added, day, at in rows
    ]


def _delete_submissions(s: Session, user_id: int) -> None:
    """The papers stay (they are the site's); who submitted them is forgotten."""
    name = s.scalar(select(User.display_name).where(User.id == user_id))
    pids = list(s.scalars(select(Submission.paper_id).where(Submission.user_id == user_id)))
    if name is not None and pids:
        s.execute(
            update(Featured)
            .where(Featured.paper_id.in_(pids), Featured.submitted_by == name)
            .values(submitted_by=None)
        )
    s.execute(delete(Submission).where(Submission.user_id == user_id))


# -- collections -----------------------------------------------------------------------------


def _export_collections(s: Session, user_id: int) -> list[Record]:
    out = []
    for c in s.scalars(
        select(Collection).where(Collection.owner_id == user_id).order_by(Collection.id)
    ):
        items = s.execute(
            select(Paper.arxiv_id, CollectionItem.added_at)
            .join(CollectionItem, CollectionItem.paper_id == Paper.id)
            .where(CollectionItem.collection_id == c.id)
            .order_by(CollectionItem.added_at, CollectionItem.id)
        ).all()
        out.append(
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "public": c.is_public,
                "created_at": _iso(c.created_at),
                "papers": [{"arxiv_id": aid, "added_at": _iso(at)} for aid, at in items],
            }
        )
    return out


def _import_collections(ctx: ImportContext, rows: list[Record]) -> int:
    s = ctx.session
    for row in rows:
        name = " ".join(str(row.get("name") or "Imported").split())[:120]
        now = utcnow()
        c = Collection(
            owner_id=ctx.user_id,
            name=name,
            description=str(row.get("description") or ""),
            is_public=bool(row.get("public")),
            created_at=_when(row.get("created_at")),
            updated_at=now,
        )
        s.add(c)
        s.flush()
        papers = row.get("papers") or []
        if not isinstance(papers, list):
            ctx.unmatched.append(f"collection {name!r}: `papers` is not a list")
            papers = []
        for pid, item in ctx.new_papers(papers, f"collection {name!r}", set()):
            s.add(
                CollectionItem(
                    collection_id=c.id, paper_id=pid, added_at=_when(item.get("added_at"))
                )
            )
    s.flush()
    return len(rows)


def _delete_collections(s: Session, user_id: int) -> None:
    ids = select(Collection.id).where(Collection.owner_id == user_id)
    s.execute(delete(CollectionItem).where(CollectionItem.collection_id.in_(ids)))
    s.execute(delete(Collection).where(Collection.owner_id == user_id))


# -- subscriptions and alerts -----------------------------------------------------------


def _own_subscriptions(s: Session, user_id: int) -> list[Subscription]:
    email = s.scalar(select(User.email).where(User.id == user_id))
    return list(
        s.scalars(
            select(Subscription)
            .where(or_(Subscription.user_id == user_id, Subscription.email == email))
            .order_by(Subscription.id)
        )
    )


def _export_subscriptions(s: Session, user_id: int) -> list[Record]:
    return [
        {
            "email": sub.email,
            "frequency": sub.frequency,
            "status": sub.status,
            "trending": sub.trending,
            "created_at": _iso(sub.created_at),
            "confirmed_at": _iso(sub.confirmed_at),
        }
        for sub in _own_subscriptions(s, user_id)
    ]


def _subscription_for(ctx: ImportContext, frequency: str, trending: bool) -> Subscription:
    """The target account's subscription, created ``pending`` when it has none: an
    imported archive never subscribes an address without its confirmation link."""
    s = ctx.session
    sub = s.scalar(select(Subscription).where(Subscription.email == ctx.email))
    if sub is None:
        sub = Subscription(
            email=ctx.email,
            frequency=frequency if frequency in Frequency.__members__ else Frequency.daily.value,
            status=SubscriptionStatus.pending.value,
            trending=trending,
            user_id=ctx.user_id,
            created_at=utcnow(),
        )
        s.add(sub)
        s.flush()
    elif sub.user_id is None:
        sub.user_id = ctx.user_id
    return sub


def _import_subscriptions(ctx: ImportContext, rows: list[Record]) -> int:
    for row in rows[:1]:  # one address per account
        _subscription_for(ctx, str(row.get("frequency")), bool(row.get("trending", True)))
    return min(len(rows), 1)


def _export_alerts(s: Session, user_id: int) -> list[Record]:
    """What each alert watches and how it is delivered (not its webhook secret or feed
    key: those are made anew where it is imported)."""
    subs = [sub.id for sub in _own_subscriptions(s, user_id)]
    rows = s.scalars(
        select(Alert)
        .where(or_(Alert.user_id == user_id, Alert.subscription_id.in_(subs)))
        .order_by(Alert.id)
    )
    return [
        {
            "kind": r.kind,
            "name": r.name,
            "query": r.query,
            "filters": dict(r.filters or {}),
            "target": r.target,
            "email": r.email,
            "webhook_url": r.webhook_url,
            "created_at": _iso(r.created_at),
        }
        for r in rows
    ]


def _import_alerts(ctx: ImportContext, rows: list[Record]) -> int:
    """Search and follow alerts come back (email as they were; webhooks and collection
    alerts are listed to set up again: a webhook URL is checked when it is set, and the
    imported collections have new ids)."""
    if not rows:
        return 0
    s = ctx.session
    sub = _subscription_for(ctx, Frequency.daily.value, True)
    have = {  # an alert already there (importing twice adds none)
        (r.kind, r.name, r.query, repr(sorted((r.filters or {}).items())), r.target or "")
        for r in s.scalars(select(Alert).where(Alert.user_id == ctx.user_id))
    }
    added = 0
    for row in rows:
        name = str(row.get("name") or row.get("query") or "alert")[:120]
        try:
            kind = AlertKind(str(row.get("kind") or AlertKind.search.value))
            filters = SearchFilters.model_validate(row.get("filters") or {})
        except ValueError:
            ctx.unmatched.append(f"alert {name!r}: unreadable kind or filters")
            continue
        if kind == AlertKind.collection:
            ctx.unmatched.append(f"alert {name!r}: make it again for the imported collection")
            continue
        if row.get("webhook_url"):
            ctx.unmatched.append(f"alert {name!r}: set its webhook again on /alerts")
        stored = filters.model_dump(mode="json", exclude_none=True)
        target = str(row["target"])[:200] if row.get("target") else None
        query = str(row.get("query") or "")
        key = (kind.value, name, query, repr(sorted(stored.items())), target or "")
        if key in have:
            continue
        have.add(key)
        email = row.get("email") is not False
        alert = new_alert(
            kind=kind,
            subscription_id=sub.id if email else None,
            user_id=ctx.user_id,
            name=name,
            query=query,
            filters=filters,
            target=target,
            email=email,
        )
        alert.created_at = _when(row.get("created_at"))
        s.add(alert)
        added += 1
    s.flush()
    return added


def _delete_alerts(s: Session, user_id: int) -> None:
    """Alerts, with their webhook deliveries and logs (cascades)."""
    s.execute(delete(Alert).where(Alert.user_id == user_id))


def _delete_tokens(s: Session, user_id: int) -> None:
    s.execute(delete(PersonalToken).where(PersonalToken.user_id == user_id))


def _delete_subscriptions(s: Session, user_id: int) -> None:
    """Subscriptions (with their alerts, queued digests and sent log: cascades)
    and the account's own mail still queued (password resets) are removed."""
    subs = _own_subscriptions(s, user_id)
    ids = [sub.id for sub in subs]
    if ids:
        s.execute(delete(Alert).where(Alert.subscription_id.in_(ids)))
        s.execute(delete(DigestOutbox).where(DigestOutbox.subscription_id.in_(ids)))
        s.execute(delete(Subscription).where(Subscription.id.in_(ids)))
    email = s.scalar(select(User.email).where(User.id == user_id))
    if email:
        s.execute(delete(DigestOutbox).where(DigestOutbox.recipient == email))


# -- the audit log ---------------------------------------------------------------------------


def _export_audit(s: Session, user_id: int) -> list[Record]:
    rows = s.scalars(
        select(AuditEntry).where(AuditEntry.actor_id == user_id).order_by(AuditEntry.id)
    )
    return [
        {
            "at": _iso(r.at),
            "action": r.action,
            "target_type": r.target_type,
            "target": r.target,
            "detail": r.detail,
        }
        for r in rows
    ]


def _delete_audit(s: Session, user_id: int) -> None:
    """The moderation record stays (what was done to which paper), but not by whom."""
    s.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_id == user_id)
        .values(actor_id=None, actor=f"deleted account #{user_id}")
    )


# -- discussions: comments, their votes and reports, notifications ---------------------------

# Comments that others answered outlive their author as tombstones (as on GitHub, whose
# "ghost" owns them): they move to this account, which no one can sign up as (a display
# name with brackets, a handle starting with "-", an email without "@") or sign in to.
GHOST_NAME = "[deleted]"
GHOST_HANDLE = "-deleted"
GHOST_EMAIL = "(deleted account)"
NO_SIGN_IN = "!"  # matches no argon2 hash


def ghost_account(s: Session) -> int:
    """The id of the account that keeps the tombstones of deleted accounts' comments."""
    found = s.scalar(select(User.id).where(User.handle == GHOST_HANDLE))
    if found is not None:
        return found
    ghost = User(
        email=GHOST_EMAIL,
        display_name=GHOST_NAME,
        name_key=GHOST_NAME,
        handle=GHOST_HANDLE,
        handle_key=GHOST_HANDLE,
        password_hash=NO_SIGN_IN,
        is_admin=False,
        created_at=utcnow(),
    )
    s.add(ghost)
    s.flush()
    return ghost.id


def _export_comments(s: Session, user_id: int) -> list[Record]:
    rows = s.execute(
        select(Comment, Paper.arxiv_id)
        .join(Paper, Paper.id == Comment.paper_id)
        .where(Comment.user_id == user_id)
        .order_by(Comment.id)
    ).all()
    return [
        {
            "id": c.id,  # this instance's: only to link replies within the archive
            "arxiv_id": aid,
            "parent_id": c.parent_id,
            "body": c.body,
            "created_at": _iso(c.created_at),
            "edited_at": _iso(c.edited_at),
            "deleted": c.deleted_at is not None,
            "hidden_by_moderator": c.hidden_at is not None,
        }
        for c, aid in rows
    ]


def _delete_comments(s: Session, user_id: int) -> None:
    """Comments nobody answered are removed; answered ones become tombstones (no text, no
    author) so the replies keep their thread. Paper comment counts follow."""
    author_hidden = s.scalar(select(User.comments_hidden_at).where(User.id == user_id))
    mine = s.execute(
        select(Comment.id, Comment.paper_id, Comment.deleted_at, Comment.hidden_at).where(
            Comment.user_id == user_id
        )
    ).all()
    if not mine:
        return
    ids = [r.id for r in mine]
    shown = Counter(
        r.paper_id
        for r in mine
        if r.deleted_at is None and r.hidden_at is None and author_hidden is None
    )
    bump_comment_counts(s, shown, -1)
    answered = set(s.scalars(select(Comment.parent_id).where(Comment.parent_id.in_(ids))))
    gone = [i for i in ids if i not in answered]
    if answered:
        s.execute(
            update(Comment)
            .where(Comment.id.in_(answered))
            .values(user_id=ghost_account(s), body="", deleted_at=utcnow())
        )
    if gone:
        s.execute(delete(CommentVote).where(CommentVote.comment_id.in_(gone)))
        s.execute(delete(CommentReport).where(CommentReport.comment_id.in_(gone)))
        s.execute(delete(Comment).where(Comment.id.in_(gone)))


def _export_comment_votes(s: Session, user_id: int) -> list[Record]:
    rows = s.execute(
        select(CommentVote.comment_id, Paper.arxiv_id, CommentVote.created_at)
        .join(Comment, Comment.id == CommentVote.comment_id)
        .join(Paper, Paper.id == Comment.paper_id)
        .where(CommentVote.user_id == user_id)
        .order_by(CommentVote.id)
    ).all()
    return [{"comment_id": c, "arxiv_id": a, "created_at": _iso(at)} for c, a, at in rows]


def _delete_comment_votes(s: Session, user_id: int) -> None:
    """The votes go and the comments' counts go down with them."""
    voted = list(s.scalars(select(CommentVote.comment_id).where(CommentVote.user_id == user_id)))
    if voted:
        s.execute(update(Comment).where(Comment.id.in_(voted)).values(upvotes=Comment.upvotes - 1))
    s.execute(delete(CommentVote).where(CommentVote.user_id == user_id))


def _export_comment_reports(s: Session, user_id: int) -> list[Record]:
    rows = s.execute(
        select(CommentReport).where(CommentReport.reporter_id == user_id).order_by(CommentReport.id)
    ).scalars()
    return [
        {
            "comment_id": r.comment_id,
            "reason": r.reason,
            "created_at": _iso(r.created_at),
            "resolution": r.resolution,
        }
        for r in rows
    ]


def _delete_comment_reports(s: Session, user_id: int) -> None:
    s.execute(delete(CommentReport).where(CommentReport.reporter_id == user_id))


def _export_notifications(s: Session, user_id: int) -> list[Record]:
    rows = s.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    )
    settings = s.scalars(select(NotificationSetting).where(NotificationSetting.user_id == user_id))
    return [
        *(
            {
                "kind": n.kind,
                "text": n.text,
                "url": n.url,
                "created_at": _iso(n.created_at),
                "read": n.read_at is not None,
            }
            for n in rows
        ),
        *({"setting": t.kind, "web": t.web, "email": t.email} for t in settings),
    ]


def _delete_notifications(s: Session, user_id: int) -> None:
    """Theirs are removed; those they caused others stay, without naming them."""
    s.execute(delete(Notification).where(Notification.user_id == user_id))
    s.execute(delete(NotificationSetting).where(NotificationSetting.user_id == user_id))
    s.execute(update(Notification).where(Notification.actor_id == user_id).values(actor_id=None))


# -- people: the profile page, follows, authorship claims ------------------------------------


def _export_profile_page(s: Session, user_id: int) -> list[Record]:
    p = s.get(Profile, user_id)
    if p is None:
        return []
    return [
        {
            "bio": p.bio,
            "links": list(p.links or []),
            "show_upvotes": p.show_upvotes,
            "digest_follows": p.digest_follows,
            "has_avatar": p.avatar_key is not None,
        }
    ]


def _import_profile_page(ctx: ImportContext, rows: list[Record]) -> int:
    """Bio, links and choices (the avatar image does not travel: upload it again)."""
    for r in rows[:1]:
        row = ctx.session.get(Profile, ctx.user_id)
        if row is None:
            row = Profile(user_id=ctx.user_id, avatar_version=0, updated_at=utcnow())
            ctx.session.add(row)
        row.bio = str(r.get("bio") or "")[:2000]
        row.links = [str(x)[:500] for x in (r.get("links") or []) if isinstance(x, str)][:10]
        row.show_upvotes = bool(r.get("show_upvotes"))
        row.digest_follows = bool(r.get("digest_follows"))
        return 1
    return 0


def _delete_profile_page(s: Session, user_id: int) -> None:
    """The row goes here; ``services.takeout.delete_account`` removes the avatar files."""
    s.execute(delete(Profile).where(Profile.user_id == user_id))


def _export_follows(s: Session, user_id: int) -> list[Record]:
    rows = s.scalars(select(Follow).where(Follow.user_id == user_id).order_by(Follow.id))
    return [
        {"kind": f.kind, "target": f.target, "label": f.label, "created_at": _iso(f.created_at)}
        for f in rows
    ]


def _import_follows(ctx: ImportContext, rows: list[Record]) -> int:
    have = {
        (k, t)
        for k, t in ctx.session.execute(
            select(Follow.kind, Follow.target).where(Follow.user_id == ctx.user_id)
        )
    }
    added = 0
    for r in rows:
        kind, target = str(r.get("kind") or ""), str(r.get("target") or "")
        if kind not in {"author", "org", "category", "user"} or not target or len(target) > 300:
            ctx.unmatched.append(f"follows: {kind or '?'} {target[:80]!r} is not a follow")
            continue
        if (kind, target) in have:
            continue
        have.add((kind, target))
        ctx.session.add(
            Follow(
                user_id=ctx.user_id,
                kind=kind,
                target=target,
                label=str(r.get("label") or target)[:300],
                created_at=_when(r.get("created_at")),
            )
        )
        added += 1
    return added


def _delete_follows(s: Session, user_id: int) -> None:
    s.execute(delete(Follow).where(Follow.user_id == user_id))


def _export_claims(s: Session, user_id: int) -> list[Record]:
    rows = s.execute(
        select(AuthorClaim, Paper.arxiv_id)
        .join(Paper, Paper.id == AuthorClaim.paper_id)
        .where(AuthorClaim.user_id == user_id)
        .order_by(AuthorClaim.id)
    ).all()
    return [
        {"arxiv_id": aid, "author": c.author, "status": c.status, "created_at": _iso(c.created_at)}
        for c, aid in rows
    ]


def _delete_claims(s: Session, user_id: int) -> None:
    """Their claims go (the author pages stop linking them); decisions they took as an
    admin stay, without naming them."""
    s.execute(delete(AuthorClaim).where(AuthorClaim.user_id == user_id))
    s.execute(update(AuthorClaim).where(AuthorClaim.decided_by == user_id).values(decided_by=None))


# -- for you: "not interested" and the feed's settings ---------------------------------------


def _export_for_you(s: Session, user_id: int) -> list[Record]:
    rows: list[Record] = [
        {"not_interested": aid, "created_at": _iso(at)}
        for aid, at in s.execute(
            select(Paper.arxiv_id, NotInterested.created_at)
            .join(Paper, Paper.id == NotInterested.paper_id)
            .where(NotInterested.user_id == user_id)
            .order_by(NotInterested.id)
        )
    ]
    settings = s.get(RecSettings, user_id)
    if settings is not None:
        rows.append(
            {
                "paused": settings.paused,
                "topics": list(settings.topics or []),
                "digest_collections": settings.digest_collections,
            }
        )
    return rows


def _import_for_you(ctx: ImportContext, rows: list[Record]) -> int:
    """ "Not interested" papers this install has, and the feed's settings."""
    have = set(
        ctx.session.scalars(
            select(NotInterested.paper_id).where(NotInterested.user_id == ctx.user_id)
        )
    )
    marked = [{"arxiv_id": r["not_interested"], **r} for r in rows if "not_interested" in r]
    added = 0
    for pid, r in ctx.new_papers(marked, "for_you", have):
        when = _when(r.get("created_at"))
        ctx.session.add(NotInterested(user_id=ctx.user_id, paper_id=pid, created_at=when))
        added += 1
    for r in rows:
        if "paused" not in r:
            continue
        row = ctx.session.get(RecSettings, ctx.user_id)
        if row is None:
            row = RecSettings(user_id=ctx.user_id, updated_at=utcnow())
            ctx.session.add(row)
        row.paused = bool(r.get("paused"))
        row.topics = [str(t)[:40] for t in (r.get("topics") or []) if isinstance(t, str)][:50]
        row.digest_collections = bool(r.get("digest_collections"))
        added += 1
    return added


def _delete_for_you(s: Session, user_id: int) -> None:
    s.execute(delete(NotInterested).where(NotInterested.user_id == user_id))
    s.execute(delete(RecSettings).where(RecSettings.user_id == user_id))


# -- registrations, in deletion order reversed (profile is deleted last) ---------------------

register(
    Kind(
        "profile",
        ("users",),
        "Your account: email, display name, role, when it was created.",
        "removed",
        _delete_profile,
        export=_export_profile,
    )
)
register(
    Kind(
        "sessions",
        ("user_sessions",),
        "Login sessions (not exported: they are secrets).",
        "removed",
        _delete_sessions,
    )
)
register(
    Kind(
        "votes",
        ("votes",),
        "Papers you upvoted; deleting them takes their points back.",
        "removed",
        _delete_votes,
        export=_export_votes,
        import_=_import_votes,
    )
)
register(
    Kind(
        "submissions",
        ("submissions",),
        "Papers you submitted; after deletion the papers stay, without your name.",
        "anonymised",
        _delete_submissions,
        export=_export_submissions,
    )
)
register(
    Kind(
        "collections",
        ("collections", "collection_items"),
        "Your collections and their papers (also as BibTeX, CSL-JSON and RIS).",
        "removed",
        _delete_collections,
        export=_export_collections,
        import_=_import_collections,
    )
)
register(
    Kind(
        "subscriptions",
        ("subscriptions", "digest_outbox", "digest_sent_papers"),
        "Your email digest subscription; imported ones wait for the confirmation link.",
        "removed",
        _delete_subscriptions,
        export=_export_subscriptions,
        import_=_import_subscriptions,
    )
)
register(
    Kind(
        "alerts",
        ("alerts", "alert_sent_papers", "alert_attempts"),
        "Alerts (saved searches, follows, collection recommendations): what each watches "
        "and how it is delivered.",
        "removed",
        _delete_alerts,
        export=_export_alerts,
        import_=_import_alerts,
    )
)
register(
    Kind(
        "tokens",
        ("personal_tokens",),
        "Personal access tokens (not exported: they are secrets; make new ones).",
        "removed",
        _delete_tokens,
    )
)
register(
    Kind(
        "audit",
        ("audit_log",),
        "Moderation actions you took as an admin; after deletion they stay, unattributed.",
        "anonymised",
        _delete_audit,
        export=_export_audit,
    )
)
register(
    Kind(
        "comments",
        ("comments",),
        "Your comments and replies; answered ones stay as tombstones without text or name.",
        "anonymised",
        _delete_comments,
        export=_export_comments,
    )
)
register(
    Kind(
        "comment_votes",
        ("comment_votes",),
        "Comments you upvoted; deleting them takes their points back.",
        "removed",
        _delete_comment_votes,
        export=_export_comment_votes,
    )
)
register(
    Kind(
        "comment_reports",
        ("comment_reports",),
        "Comments you reported to the moderators.",
        "removed",
        _delete_comment_reports,
        export=_export_comment_reports,
    )
)
register(
    Kind(
        "notifications",
        ("notifications", "notification_settings"),
        "Your notifications and their settings; those you caused others stay, unnamed.",
        "removed",
        _delete_notifications,
        export=_export_notifications,
    )
)
register(
    Kind(
        "profile_page",
        ("profiles",),
        "Your profile page: bio, links, choices, whether you uploaded an avatar.",
        "removed",
        _delete_profile_page,
        export=_export_profile_page,
        import_=_import_profile_page,
    )
)
register(
    Kind(
        "follows",
        ("follows",),
        "The authors, organisations, categories and people you follow.",
        "removed",
        _delete_follows,
        export=_export_follows,
        import_=_import_follows,
    )
)
register(
    Kind(
        "author_claims",
        ("author_claims",),
        "Authorship you claimed on papers, and how it was decided.",
        "removed",
        _delete_claims,
        export=_export_claims,
    )
)
register(
    Kind(
        "for_you",
        ("not_interested", "rec_settings"),
        'Papers you marked "not interested", and For you\'s settings (paused, topics).',
        "removed",
        _delete_for_you,
        export=_export_for_you,
        import_=_import_for_you,
    )
)
