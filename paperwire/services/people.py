"""``People``: follows, the ``/following`` feed, profiles, avatars and authorship claims
over one ``Paperwire``.

The stores own every query; this module adds what is not one: resolving what a follow
names (a user's profile name → their id, an author's spelling on the papers), the private
token of a user's following feed (signed, no table), checking and re-encoding avatars
(``services.images``) into media storage (``services.media``), and the audit log of
claim decisions. ``people_of(pw)`` returns the one instance the web app and CLI share.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadData

from paperwire.core import Paperwire
from paperwire.models.people import (
    ClaimPublic,
    ClaimStatus,
    FollowingPage,
    FollowKind,
    FollowPublic,
    FollowState,
    ProfilePublic,
    ProfileUpdate,
    follow_key,
)
from paperwire.services.community import community_of
from paperwire.services.discussions import discussions_of
from paperwire.services.images import AVATAR_SIZES, avatar_images, identicon_svg
from paperwire.services.media import MediaStorage, media_of
from paperwire.services.signing import link_serializer
from paperwire.store.claims import ClaimStore
from paperwire.store.follows import FollowRow, FollowStore
from paperwire.store.people import PeopleStore
from paperwire.store.profiles import ProfileRow, ProfileStore
from paperwire.store.users import Account

FEED_SALT = "paperwire.following-feed"
PROFILE_LIST = 30


class FollowTargetUnknown(LookupError):  # noqa: N818 - reads best at call sites
    """A follow of a user that does not exist."""


def page_path(kind: FollowKind, name: str) -> str:
    """The page on this site of an author, organisation, category or user."""
    if kind == FollowKind.author:
        return "/authors/" + quote(" ".join(name.split()), safe="")
    if kind == FollowKind.org:
        return "/orgs/" + quote(name, safe="")
    if kind == FollowKind.category:
        return "/search?category=" + quote(name, safe="")
    return "/users/" + quote(name, safe="")


def avatar_url(name: str, version: int | None, size: int = 64) -> str:
    """An account's avatar (its upload, or the identicon); a version busts caches (and
    lets the image be cached for long), without one it is cached for minutes."""
    url = f"/users/{quote(name, safe='')}/avatar?size={size}"
    return url if version is None else f"{url}&v={version}"


@dataclass
class People:
    pw: Paperwire

    def __post_init__(self) -> None:
        db = self.pw.db
        self.follows = FollowStore(db)
        self.profiles = ProfileStore(db)
        self.claims = ClaimStore(db)
        self.people = PeopleStore(db)
        self.media: MediaStorage = media_of(self.pw)

    # -- follows --------------------------------------------------------------------------

    def resolve(self, kind: FollowKind, raw: str) -> tuple[str, str]:
        """``(target, label)`` of what ``raw`` names: the normalised key, and how it is
        shown (authors and organisations as written on their papers when known)."""
        name = " ".join(raw.split())
        if kind == FollowKind.user:
            profile = self.profiles.by_name(name)
            if profile is None:
                raise FollowTargetUnknown(f"No user named {name!r} on this site.")
            return str(profile.user_id), profile.name
        if kind == FollowKind.author:
            shown, _, _ = self.people.by_author(name, 1)
            return follow_key(kind, name), shown or name
        if kind == FollowKind.org:
            shown, _, _ = self.people.by_org(name, 1)
            return follow_key(kind, name), shown or name
        return follow_key(kind, name), name

    def state(self, account: Account | None, kind: FollowKind, raw: str) -> FollowState:
        target, _ = self.resolve(kind, raw)
        following = account is not None and self.follows.is_following(account.id, kind, target)
        return FollowState(
            kind=kind,
            target=target,
            following=following,
            followers=self.follows.followers(kind, target),
        )

    def follow(self, account: Account, kind: FollowKind, raw: str, on: bool = True) -> FollowState:
        target, label = self.resolve(kind, raw)
        if kind == FollowKind.user and target == str(account.id) and on:
            raise FollowTargetUnknown("You cannot follow yourself.")
        if on:
            self.follows.follow(account.id, kind, target, label)
        else:
            self.follows.unfollow(account.id, kind, target)
        return self.state(account, kind, raw)

    def _public(self, row: FollowRow) -> FollowPublic:
        label = row.label
        if row.kind == FollowKind.user:  # the current name (profile names can change)
            profile = self.profiles.by_id(int(row.target)) if row.target.isdigit() else None
            label = profile.name if profile else row.label
        return FollowPublic(
            kind=row.kind,
            target=row.target,
            label=label,
            url=page_path(row.kind, row.target if row.kind == FollowKind.org else label),
            created_at=row.created_at.replace(tzinfo=dt.UTC),
        )

    def following(self, user_id: int, page: int, limit: int) -> FollowingPage:
        rows = self.follows.list_for(user_id)
        papers, more = self.follows.papers(rows, limit, (page - 1) * limit)
        return FollowingPage(
            follows=[self._public(r) for r in rows],
            papers=papers,
            page=page,
            limit=limit,
            has_more=more,
        )

    # -- the private feed token -----------------------------------------------------------

    def feed_token(self, user_id: int) -> str:
        return str(link_serializer(self.pw.settings.secret_key, FEED_SALT).dumps(user_id))

    def feed_user(self, token: str) -> int | None:
        """The user a following-feed token is for, or None (forged or foreign)."""
        try:
            value = link_serializer(self.pw.settings.secret_key, FEED_SALT).loads(token)
        except BadData:
            return None
        return value if isinstance(value, int) and self.profiles.by_id(value) else None

    # -- profiles -------------------------------------------------------------------------

    def avatar_url_of(self, row: ProfileRow, size: int = 64) -> str:
        return avatar_url(row.name, row.avatar_version, size)

    def profile(self, name: str) -> ProfilePublic | None:
        row = self.profiles.by_name(name)
        if row is None:
            return None
        comm = community_of(self.pw)
        collections = [c for c in comm.collections.list_for(row.user_id) if c.public]
        return ProfilePublic(
            name=row.name,
            display_name=row.display_name,
            joined=row.joined.replace(tzinfo=dt.UTC),
            bio=row.bio,
            links=row.links,
            avatar_url=self.avatar_url_of(row, 256),
            is_admin=row.is_admin,
            followers=self.follows.followers(FollowKind.user, str(row.user_id)),
            submissions=self.profiles.submissions(row.user_id, PROFILE_LIST),
            claimed=self.claims.claimed_papers(row.user_id, PROFILE_LIST),
            collections=collections,
            comments=discussions_of(self.pw).of_user(row.user_id, limit=PROFILE_LIST),
            upvotes=self.profiles.upvoted(row.user_id, PROFILE_LIST) if row.show_upvotes else None,
        )

    def update_profile(self, account: Account, data: ProfileUpdate) -> ProfileRow:
        self.profiles.update(
            account.id,
            bio=data.bio,
            links=data.links,
            show_upvotes=data.show_upvotes,
            digest_follows=data.digest_follows,
        )
        row = self.profiles.by_id(account.id)
        assert row is not None
        return row

    # -- avatars --------------------------------------------------------------------------

    @staticmethod
    def _avatar_key(user_id: int, version: int, size: int) -> str:
        return f"avatars/{user_id}-{version}-{size}.png"

    def upload_avatar(self, account: Account, data: bytes) -> ProfileRow:
        """Check, re-encode and store an uploaded avatar (``ImageRejected`` when it is not
        an image we accept); the previous one is deleted."""
        images = avatar_images(data, self.pw.settings.avatar_max_pixels)
        before = self.profiles.by_id(account.id)
        version = (before.avatar_version if before else 0) + 1
        for size, png in images.items():
            self.media.put(self._avatar_key(account.id, version, size), png)
        self.profiles.set_avatar(account.id, self._avatar_key(account.id, version, 0))
        if before is not None and before.avatar_key:
            self._delete_avatar(before)
        row = self.profiles.by_id(account.id)
        assert row is not None
        return row

    def remove_avatar(self, account: Account) -> ProfileRow:
        before = self.profiles.by_id(account.id)
        self.profiles.set_avatar(account.id, None)
        if before is not None and before.avatar_key:
            self._delete_avatar(before)
        row = self.profiles.by_id(account.id)
        assert row is not None
        return row

    def forget_avatar_files(self, row: ProfileRow) -> None:
        """Delete the stored images of ``row``'s avatar (account deletion)."""
        self._delete_avatar(row)

    def _delete_avatar(self, row: ProfileRow) -> None:
        for size in AVATAR_SIZES:
            self.media.delete(self._avatar_key(row.user_id, row.avatar_version, size))

    def avatar(self, name: str, size: int) -> tuple[bytes, str] | None:
        """``(bytes, content type)`` of a user's avatar at the nearest stored size: the
        upload as PNG, or the identicon as SVG; None for an unknown user."""
        row = self.profiles.by_name(name)
        if row is None:
            return None
        if row.avatar_key:
            best = min(AVATAR_SIZES, key=lambda s: (s < size, abs(s - size)))
            data = self.media.get(self._avatar_key(row.user_id, row.avatar_version, best))
            if data is not None:
                return data, "image/png"
        return identicon_svg(f"user:{row.user_id}", size).encode(), "image/svg+xml"

    # -- authorship claims ----------------------------------------------------------------

    def claim(self, account: Account, arxiv_id: str, author: str) -> ClaimPublic:
        claim = self.claims.claim(account.id, arxiv_id, author)
        community_of(self.pw).audit.log(
            account, "claim.create", "paper", arxiv_id, {"author": claim.author}
        )
        return claim

    def decide(self, admin: Account, claim_id: int, confirm: bool) -> ClaimPublic | None:
        claim = self.claims.decide(claim_id, admin.id, confirm)
        if claim is not None:
            community_of(self.pw).audit.log(
                admin,
                "claim.confirm" if confirm else "claim.reject",
                "paper",
                claim.arxiv_id,
                {"author": claim.author, "user": claim.user},
            )
        return claim

    def pending_claims(self) -> list[ClaimPublic]:
        return self.claims.listing(ClaimStatus.pending)


_lock = threading.Lock()


def people_of(pw: Paperwire) -> People:
    """The ``People`` of this ``Paperwire`` (created once, then shared)."""
    found: People | None = getattr(pw, "_people", None)
    if found is None:
        with _lock:
            found = getattr(pw, "_people", None)
            if found is None:
                found = People(pw)
                setattr(pw, "_people", found)  # noqa: B010 - Paperwire has no slot for it
    return found
