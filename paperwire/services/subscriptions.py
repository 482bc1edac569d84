"""``Subscriptions``: email digests and saved-search alerts over one ``Paperwire``.

The store (``paperwire.store.subscriptions``) owns every query; this module adds what is
not a query: signed links (itsdangerous, keyed by ``settings.secret_key``; confirmation
links expire after ``subscription_confirm_max_age``, manage/unsubscribe links after
``subscription_link_max_age``), the confirmation email (double opt-in), composing a
digest (top trending papers + new matches of saved searches, never a paper the address
was sent before) and rendering it (Jinja2: autoescaped HTML + plain text) with the
RFC 8058 one-click unsubscribe headers. ``subscriptions_of(pw)`` returns the one instance
per ``Paperwire`` that the web app, the CLI and the jobs share.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from paperwire.config import Settings
from paperwire.core import Paperwire
from paperwire.models.alerts import AlertKind
from paperwire.models.common import DataClock, safe_url
from paperwire.models.papers import PaperCard
from paperwire.models.subscriptions import Digest, DigestSection, Frequency, SavedSearchCreate
from paperwire.services import papers
from paperwire.services.alert_sources import alert_papers
from paperwire.services.clock import data_clock
from paperwire.services.mail import MailError, build_message, send_message
from paperwire.services.signing import link_serializer
from paperwire.store.alerts import AlertRow
from paperwire.store.follows import FollowStore
from paperwire.store.profiles import ProfileStore
from paperwire.store.subscriptions import SubscriptionRow, SubscriptionStore

log = logging.getLogger(__name__)
CONFIRM_SALT = "paperwire.subscription-confirm"
MANAGE_SALT = "paperwire.subscription-manage"
EMAIL_TEMPLATES = Path(__file__).resolve().parent / "templates" / "email"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TokenError(ValueError):
    """A signed link that cannot be used; ``reason``: ``expired`` or ``invalid``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def period_key(frequency: Frequency, now: dt.datetime) -> str:
    """The period a digest sent at ``now`` (UTC) belongs to: one digest per key."""
    day = now.astimezone(dt.UTC).date() if now.tzinfo else now.date()
    if frequency == Frequency.weekly:
        year, week, _ = day.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return f"daily:{day.isoformat()}"


def _short(day: dt.date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}"


def period_label(frequency: Frequency, now: dt.datetime) -> str:
    day = now.astimezone(dt.UTC).date() if now.tzinfo else now.date()
    if frequency == Frequency.weekly:
        start = day - dt.timedelta(days=6)
        return f"week of {_short(start)} – {_short(day)}, {day.year}"
    return f"{WEEKDAYS[day.weekday()]}, {_short(day)}, {day.year}"


def section_title(alert: AlertRow) -> str:
    """An alert's heading in a digest (and its feed's title)."""
    if alert.kind == AlertKind.follow:
        return f"New from {alert.name}"
    if alert.kind == AlertKind.collection:
        return f"More like “{alert.name}”"
    return f"New for “{alert.name}”"


def _email_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(EMAIL_TEMPLATES),
        # HTML templates are autoescaped; plain-text ones are not HTML and must not be.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = lambda n, one, many=None: one if n == 1 else (many or one + "s")
    env.filters["safe_url"] = safe_url
    return env


class Subscriptions:
    def __init__(self, pw: Paperwire) -> None:
        self.pw = pw
        self.store = SubscriptionStore(pw.db)
        self.env = _email_environment()

    @property
    def settings(self) -> Settings:
        return self.pw.settings

    # -- links ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}{path}"

    def _serializer(self, salt: str, issued_at: float | None = None) -> URLSafeTimedSerializer:
        return link_serializer(self.settings.secret_key, salt, issued_at)

    def confirm_token(
        self,
        sub: SubscriptionRow,
        frequency: Frequency,
        issued_at: float | None = None,
        *,
        trending: bool = False,
    ) -> str:
        """``trending``: confirming also turns the trending part on (a /subscribe request,
        as opposed to the confirmation of an alerts-only address)."""
        payload: dict[str, Any] = {"s": sub.id, "e": sub.email, "f": frequency.value}
        if trending:
            payload["t"] = 1
        return str(self._serializer(CONFIRM_SALT, issued_at).dumps(payload))

    def manage_token(self, sub: SubscriptionRow, issued_at: float | None = None) -> str:
        payload = {"s": sub.id, "e": sub.email}
        return str(self._serializer(MANAGE_SALT, issued_at).dumps(payload))

    def _load(
        self, token: str, salt: str, max_age: int, what: str
    ) -> tuple[SubscriptionRow, dict[str, Any]]:
        """The subscription a signed link names; ``TokenError`` when it cannot be used."""
        try:
            data = self._serializer(salt).loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError("expired", f"This {what} link has expired.") from None
        except BadData:
            raise TokenError("invalid", f"This {what} link is not valid.") from None
        if not isinstance(data, dict) or not isinstance(data.get("s"), int):
            raise TokenError("invalid", f"This {what} link is not valid.")
        sub = self.store.get(int(data["s"]))
        # The address is part of the link: a deleted-and-reused id cannot be taken over.
        if sub is None or sub.email != data.get("e"):
            raise TokenError("invalid", f"This {what} link belongs to no subscription.")
        if salt == CONFIRM_SALT and data.get("f") not in {f.value for f in Frequency}:
            raise TokenError("invalid", f"This {what} link is not valid.")
        return sub, data

    def read_confirm(self, token: str) -> tuple[SubscriptionRow, Frequency, bool]:
        """The subscription, the frequency asked for, and whether the trending part was."""
        max_age = self.settings.subscription_confirm_max_age
        sub, data = self._load(token, CONFIRM_SALT, max_age, "confirmation")
        return sub, Frequency(data["f"]), data.get("t") == 1

    def read_manage(self, token: str) -> SubscriptionRow:
        max_age = self.settings.subscription_link_max_age
        return self._load(token, MANAGE_SALT, max_age, "subscription")[0]

    def confirm_url(self, sub: SubscriptionRow, frequency: Frequency, trending: bool) -> str:
        token = self.confirm_token(sub, frequency, trending=trending)
        return self.url("/subscriptions/confirm?token=" + token)

    def manage_url(self, sub: SubscriptionRow) -> str:
        return self.url("/subscriptions/manage?token=" + self.manage_token(sub))

    def unsubscribe_url(self, sub: SubscriptionRow, token: str | None = None) -> str:
        return self.url("/unsubscribe?token=" + (token or self.manage_token(sub)))

    def unsubscribe_mailto(self, sub: SubscriptionRow) -> str:
        address = self.settings.mail_unsubscribe or parseaddr(self.settings.mail_from)[1]
        subject = quote(f"unsubscribe {sub.email}")
        return f"mailto:{address}?subject={subject}"

    def list_headers(self, sub: SubscriptionRow, token: str | None = None) -> dict[str, str]:
        """RFC 2369 / RFC 8058 headers: one-click unsubscribe by POST, or by mail
        (``token``: the manage token the body's links use, so both name the same URL)."""
        host = urlsplit(self.settings.base_url).hostname or "localhost"
        one_click = self.unsubscribe_url(sub, token)
        return {
            "List-Unsubscribe": f"<{one_click}>, <{self.unsubscribe_mailto(sub)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{self.settings.site_name} digest <digest.{host}>",
            "Auto-Submitted": "auto-generated",
        }

    # -- double opt-in ------------------------------------------------------------------

    def request(
        self,
        email: str,
        frequency: Frequency,
        *,
        user_id: int | None = None,
        trending: bool = True,
    ) -> SubscriptionRow:
        """Create (or find) the subscription and mail a confirmation link; raises
        ``MailError`` when the SMTP server fails (the subscription stays pending)."""
        sub = self.store.request(email, frequency, user_id=user_id, trending=trending)
        self.send_confirmation(sub, frequency, trending=trending)
        return sub

    def send_confirmation(
        self, sub: SubscriptionRow, frequency: Frequency, *, trending: bool = False
    ) -> None:
        """Mail the confirmation link; ``trending``: the request was for the digest of
        trending papers (else for saved-search alerts only)."""
        s = self.settings
        hours = max(1, s.subscription_confirm_max_age // 3600)
        context = {
            "site_name": s.site_name,
            "site_url": s.base_url.rstrip("/"),
            "email": sub.email,
            "frequency": frequency.value,
            "trending": trending or sub.trending,
            "confirm_url": self.confirm_url(sub, frequency, trending),
            "hours": hours,
        }
        text = self.env.get_template("confirm.txt").render(context)
        html = self.env.get_template("confirm.html").render(context)
        msg = build_message(s, sub.email, f"Confirm your {s.site_name} subscription", text, html)
        send_message(s, msg)

    def confirm(self, token: str) -> SubscriptionRow:
        sub, frequency, trending = self.read_confirm(token)
        done = self.store.activate(
            sub.id, sub.email, frequency, trending=True if trending else None
        )
        if done is None:
            raise TokenError("invalid", "This confirmation link belongs to no subscription.")
        return done

    def unsubscribe(self, token: str) -> SubscriptionRow:
        sub = self.read_manage(token)
        done = self.store.unsubscribe(sub.id, sub.email)
        if done is None:
            raise TokenError("invalid", "This link belongs to no subscription.")
        return done

    # -- saved searches ---------------------------------------------------------------

    def save_search(
        self, user_id: int, email: str, data: SavedSearchCreate
    ) -> tuple[AlertRow, SubscriptionRow, str]:
        """Save a search for a signed-in user. Its alerts go to the user's subscription;
        a new (or not yet confirmed, or unsubscribed) address first gets a confirmation
        link. Returns the saved search, the subscription and what happened to the
        confirmation: ``not-needed``, ``sent`` or ``failed`` (SMTP down; logged)."""
        sub = self.store.request(email, Frequency.daily, user_id=user_id, trending=False)
        saved = self.store.add_search(sub.id, user_id, data.label(), data.q, data.filters)
        if sub.active:
            return saved, sub, "not-needed"
        try:
            self.send_confirmation(sub, sub.frequency)
        except MailError as exc:
            log.error("alert confirmation to %s not sent: %s", email, exc)
            return saved, sub, "failed"
        return saved, sub, "sent"

    # -- composing digests ------------------------------------------------------------

    def trending_pool(self, frequency: Frequency, now: dt.datetime) -> list[PaperCard]:
        """Candidates for the trending part at ``now`` (a ``data_clock``'s), best first
        (more than a digest needs, so papers an address already got can be skipped)."""
        s = self.settings
        size = s.digest_size * 4 + 20
        if frequency == Frequency.weekly:
            today = now.astimezone(dt.UTC).date()
            return self.pw.store.feed(today - dt.timedelta(days=6), today, limit=size)
        return [card for card, _ in papers.trending_cards(self.pw, size, now)]

    def search_matches(
        self,
        saved: AlertRow,
        now: dt.datetime,
        cache: dict[str, list[PaperCard]] | None = None,
    ) -> list[PaperCard]:
        """An alert's papers published within ``digest_search_days`` before ``now`` (a
        ``data_clock``'s), from its kind's source (``services.alert_sources``); ``cache``
        shares the answer between alerts that ask the same."""
        since = now.astimezone(dt.UTC).date() - dt.timedelta(days=self.settings.digest_search_days)
        key = "\x00".join(
            [saved.kind.value, saved.query, saved.filters.model_dump_json(), saved.target or ""]
        )
        if saved.kind == AlertKind.collection:
            key += f"\x00{saved.user_id}"  # private collections: their owner's view
        if cache is not None and key in cache:
            return cache[key]
        cards = alert_papers(self.pw, saved, since, min(100, self.settings.digest_search_size * 5))
        if cache is not None:
            cache[key] = cards
        return cards

    def followed_papers(self, email: str, now: dt.datetime) -> list[PaperCard]:
        """New papers (published within ``digest_search_days`` before ``now``) from what
        the account with this email follows, when it chose to get them in its digests
        (``profiles.digest_follows``); newest first."""
        user_id = ProfileStore(self.pw.db).digest_follows_of(email)
        if user_id is None:
            return []
        follows = FollowStore(self.pw.db)
        since = now.astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(
            days=self.settings.digest_search_days
        )
        cards, _ = follows.papers(
            follows.list_for(user_id), self.settings.digest_search_size * 5, since=since
        )
        return cards

    def compose(
        self,
        frequency: Frequency,
        now: dt.datetime | None = None,
        sub: SubscriptionRow | None = None,
        *,
        pool: list[PaperCard] | None = None,
        searches: list[AlertRow] | None = None,
        cache: dict[str, list[PaperCard]] | None = None,
        clock: DataClock | None = None,
    ) -> Digest:
        """The digest for ``sub`` (or the public preview when None) sent at wall-clock
        time ``now``. What it holds is measured by the data's clock (``clock``, default
        ``data_clock`` at ``now``); the period it belongs to by ``now``. Papers the address
        was already sent (the sent log) are left out, and no paper appears twice."""
        s = self.settings
        when = now or utc_now()
        clock = clock or data_clock(self.pw, when)
        if sub is not None and searches is None:
            searches = self.store.searches_for([sub.id]).get(sub.id, [])
        searches = searches or []
        want_trending = sub is None or sub.trending
        if want_trending and pool is None:
            pool = self.trending_pool(frequency, clock.now)
        candidates: list[list[PaperCard]] = [pool or []] if want_trending else []
        matches = [self.search_matches(x, clock.now, cache) for x in searches]
        candidates += matches
        followed = self.followed_papers(sub.email, clock.now) if sub is not None else []
        candidates.append(followed)
        picks = self.collection_picks(sub)
        candidates += [cards for _, _, cards in picks]
        sent: set[str] = set()
        if sub is not None:
            sent = self.store.sent_ids(sub.id, [c.arxiv_id for cs in candidates for c in cs])
        used: set[str] = set(sent)

        def take(cards: list[PaperCard], n: int) -> list[PaperCard]:
            out = [c for c in cards if c.arxiv_id not in used][:n]
            used.update(c.arxiv_id for c in out)
            return out

        sections: list[DigestSection] = []
        if want_trending:
            title = "This week's top papers" if frequency == Frequency.weekly else "Trending now"
            sections.append(
                DigestSection(kind="trending", title=title, papers=take(pool or [], s.digest_size))
            )
        for saved, found in zip(searches, matches, strict=True):
            sections.append(
                DigestSection(
                    kind=saved.kind.value,
                    title=section_title(saved),
                    saved_search_id=saved.id,
                    search_url=self.url(saved.page_url),
                    papers=take(found, s.digest_search_size),
                )
            )
        if followed:
            sections.append(
                DigestSection(
                    kind="following",
                    title="New from what you follow",
                    search_url=self.url("/following"),
                    papers=take(followed, s.digest_search_size),
                )
            )
        for name, url, cards in picks:
            sections.append(
                DigestSection(
                    kind="collection",
                    title=f"More like your collection “{name}”",
                    search_url=url,
                    papers=take(cards, s.digest_search_size),
                )
            )
        label = period_label(frequency, when)
        # alerts' sections carry their id; "following" and collection picks do not
        alert_n = sum(len(x.papers) for x in sections if x.saved_search_id is not None)
        picks_n = sum(
            len(x.papers) for x in sections if x.kind == "collection" and x.saved_search_id is None
        )
        trending_n = sum(len(x.papers) for x in sections if x.kind == "trending")
        parts = []
        if trending_n:
            noun = "top" if frequency == Frequency.weekly else "trending"
            parts.append(f"{trending_n} {noun} {'paper' if trending_n == 1 else 'papers'}")
        if alert_n:
            searches_only = all(x.kind == AlertKind.search for x in searches)
            one, many = ("search", "searches") if searches_only else ("alert", "alerts")
            parts.append(f"{alert_n} new for your {one if len(searches) == 1 else many}")
        follow_n = sum(len(x.papers) for x in sections if x.kind == "following")
        if follow_n:
            parts.append(f"{follow_n} from what you follow")
        if picks_n:
            parts.append(f"{picks_n} like your collections")
        subject = f"{s.site_name} {frequency.value}: " + (" + ".join(parts) or "nothing new")
        return Digest(
            frequency=frequency,
            period_key=period_key(frequency, when),
            period_label=label,
            generated_at=when,
            subject=f"{subject} ({label})",
            sections=sections,
            as_of=clock,
        )

    def collection_picks(
        self, sub: SubscriptionRow | None
    ) -> list[tuple[str, str, list[PaperCard]]]:
        """``(collection name, its picks page URL, picks)`` for each collection of the
        subscriber's account, when they opted in on /for-you (else nothing)."""
        from paperwire.services.recommend import rec_store, recommend_for_collection
        from paperwire.store.collections import CollectionStore

        if sub is None or sub.user_id is None:
            return []
        if not rec_store(self.pw).settings(sub.user_id).digest_collections:
            return []
        out = []
        for c in CollectionStore(self.pw.store.db).list_for(sub.user_id):
            picks = recommend_for_collection(self.pw, c.id, 2 * self.settings.digest_search_size)
            cards = [item.paper for item in picks.items()]
            out.append((c.name, self.url(f"/collections/{c.id}/recommendations"), cards))
        return out

    def render(self, digest: Digest, sub: SubscriptionRow | None = None) -> RenderedDigest:
        """Text + HTML bodies and the list headers (none for the public preview); the
        map of the field's picture links to ``/map`` once a map was built."""
        from paperwire.services.fieldmap import current_map

        s = self.settings
        base = s.base_url.rstrip("/")
        token = self.manage_token(sub) if sub is not None else None
        context = {
            "site_name": s.site_name,
            "site_url": base,
            "digest": digest,
            "sections": [x for x in digest.sections if x.papers],
            "email": sub.email if sub else None,
            "manage_url": self.url(f"/subscriptions/manage?token={token}") if token else None,
            "unsubscribe_url": self.unsubscribe_url(sub, token) if sub and token else None,
            "subscribe_url": self.url("/subscribe"),
            "preview_url": self.url(
                "/digest/preview?" + urlencode({"frequency": digest.frequency.value})
            ),
            "page": lambda card: base + card.links.page,
            "map_png": self.url("/map.png") if current_map(self.pw) is not None else None,
        }
        text = self.env.get_template("digest.txt").render(context)
        html = self.env.get_template("digest.html").render(context)
        headers = self.list_headers(sub, token) if sub is not None else {}
        return RenderedDigest(digest.subject, text, html, headers)

    def message_id(self) -> str:
        host = urlsplit(self.settings.base_url).hostname or "paperwire"
        return make_msgid(idstring="digest", domain=host)


_lock = threading.Lock()


def subscriptions_of(pw: Paperwire) -> Subscriptions:
    """The ``Subscriptions`` of this ``Paperwire`` (created once, then shared)."""
    found: Subscriptions | None = getattr(pw, "_subscriptions", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(pw, "_subscriptions", None)
        if found is None:
            found = Subscriptions(pw)
            setattr(pw, "_subscriptions", found)  # noqa: B010 - Paperwire has no slot for it
        return found
