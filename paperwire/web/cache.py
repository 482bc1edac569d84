"""HTTP caching of the pages everyone sees alike: the feed, paper pages, Atom/RSS.

``PageCache`` (pure ASGI, outermost) handles ``GET`` of the feed (``/``, ``/papers``,
``/api/daily``), paper pages and their JSON twins (``/papers/…``, ``/api/papers/…``),
search results (``/search``, ``/api/search``) and the feeds (``/feeds/…``):

* **signed out** (no session cookie): the answer carries an ``ETag`` (a hash of the
  body), ``Last-Modified`` (the data version's time) and ``Cache-Control: public,
  no-cache`` (a browser or proxy may keep it but asks again each time: a matching
  ``If-None-Match`` gets ``304 Not Modified``), with ``Vary: Cookie``. The rendered
  answer is kept in memory, keyed by the URL, the **data version** (``store.versions``:
  every commit that changes data raises it, in any process, so each worker of
  ``paperwire serve --workers N`` sees a vote or an edit made through another) and the
  UTC day (the feed's default day follows the clock); one read of the version per
  request decides whether the kept answer is still current. When the version moved, the
  cache reads what changed (``store.versions.read_log``) and drops only the pages that
  show it: a view that knows what its page depends on says so (``page_shows``: the
  papers whose counts it shows, the days whose feed order it shows), so a vote drops
  that paper's page and the feeds of its days, not every page; a page that says nothing,
  or a change that declared nothing (an ingest, an edit), drops everything, as it
  should. Entries also expire after
  ``page_cache_seconds`` (what comes from the search index, e.g. similar papers, follows
  the store within seconds, not in the same transaction) and the cache holds at most
  ``page_cache_mb``; a view can keep its page out (``page_not_kept``: a search computed
  right after a content change, before the index surely followed it).
* a page that is the visitor's own is never kept nor marked public: any request with a
  session cookie, an answer that sets a cookie, or a page that handed out a CSRF token
  (``Viewer.personal``) gets ``Cache-Control: private, no-cache``.

Only ``200`` answers are kept; errors and redirects pass through unchanged.

**One render per page and version.** Signed-out visitors who ask for a page while it is
being rendered for the same data version wait for that render and share its answer
instead of rendering it again: right after a vote drops the feed, a morning crowd would
otherwise render the same page once per visitor, each render queued behind the others
on the worker's few threads. A visitor who read a newer data version starts a render
of their own, so nobody is answered with a page older than what they asked after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire.core import Paperwire
from paperwire.store.versions import one_version_per_request
from paperwire.web.routes.media import BANNER_COOKIE
from paperwire.web.shown import NOT_KEPT, SHOWN

__all__ = ["PageCache", "cacheable_path"]

_EXACT = frozenset({"/", "/papers", "/api/daily", "/search", "/api/search"})
_PREFIXES = ("/papers/", "/api/papers/", "/feeds/")
SESSION_COOKIE = b"pw_session="
PUBLIC = b"public, no-cache"
PRIVATE = b"private, no-cache"
_MAX_ENTRY = 4 * 1024 * 1024  # bytes: larger answers are not kept


def cacheable_path(path: str) -> bool:
    """Whether ``GET path`` shows the same thing to every signed-out visitor."""
    return path in _EXACT or path.startswith(_PREFIXES)


@dataclass
class _Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    born: float
    depends: frozenset[str] | None = field(default=None)  # None: on every change


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return b""


def _signed_in(scope: Scope) -> bool:
    return SESSION_COOKIE in _header(scope, b"cookie")


# Cookies that change what a signed-out page shows (the dismissed email banner): each of
# their values is a page of its own in the cache.
VARIANT_COOKIES = (BANNER_COOKIE,)


def _variant(scope: Scope) -> str:
    jar = SimpleCookie()
    try:
        jar.load(_header(scope, b"cookie").decode("latin-1"))
    except CookieError:
        return ""
    return "&".join(f"{n}={jar[n].value}" for n in VARIANT_COOKIES if n in jar)


def _etag_matches(scope: Scope, etag: bytes) -> bool:
    sent = _header(scope, b"if-none-match")
    if not sent:
        return False
    tags = {t.strip().removeprefix(b"W/") for t in sent.split(b",")}
    return etag in tags or b"*" in tags


def _with(
    headers: list[tuple[bytes, bytes]], extra: dict[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in extra] + list(extra.items())


class PageCache:
    def __init__(self, app: ASGIApp, pw: Paperwire) -> None:
        self.app = app
        self.pw = pw
        self.seconds = pw.settings.page_cache_seconds
        self.limit = int(pw.settings.page_cache_mb * 1024 * 1024)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}  # tag → keys of the entries that show it
        self._on_anything: set[str] = set()  # keys of entries that depend on every change
        self._bytes = 0
        self._watch = pw.db.watch()  # the data version the kept entries are current at
        self._day = ""
        # renders under way: (key, data version, day) → their shareable answer (or None)
        self._rendering: dict[tuple[str, int, str], asyncio.Future[_Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # this check, the kept rankings and the "submitted by" map share one read
        with one_version_per_request():
            await self._cached(scope, receive, send)

    async def _cached(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET" or not cacheable_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if _signed_in(scope):
            await self._private(scope, receive, send)
            return
        version, changed_at = self.pw.db.data_version()
        self._catch_up(version, dt.datetime.now(dt.UTC).date().isoformat())
        query = scope.get("query_string", b"").decode("latin-1")
        key = scope["path"] + ("?" + query if query else "") + "|" + _variant(scope)
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.born > self.seconds:
            self._drop(key)
            entry = None
        if entry is not None:
            self._entries.move_to_end(key)
        else:
            under_way = self._rendering.get((key, version, self._day))
            if under_way is not None:  # shielded: a waiter's cancel must not cancel it
                entry = await asyncio.shield(under_way)
            if entry is None:
                entry = await self._render_once(scope, receive, send, key, version, changed_at)
            if entry is None:  # answered already (not shareable)
                return
        await self._answer(scope, send, entry)

    async def _render_once(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: str,
        version: int,
        changed_at: dt.datetime | None,
    ) -> _Entry | None:
        """Render the page as the one render of ``key`` at ``version`` that others
        asking meanwhile wait for (they get None, and render their own, if the answer is
        not shareable or the render failed); keep it if it may be kept."""
        flight = (key, version, self._day)  # the day: the feed's default day
        done: asyncio.Future[_Entry | None] = asyncio.get_running_loop().create_future()
        self._rendering.setdefault(flight, done)
        entry: _Entry | None = None
        shown: set[str] = set()
        token = SHOWN.set(shown)
        try:
            entry = await self._render(scope, receive, send, changed_at)
            if entry is not None:
                entry.depends = frozenset(shown) if shown else None
                # kept only if nothing changed meanwhile that this cache has already
                # caught up with (a change after ``version`` is read by the next
                # request's catch-up)
                current = version == self._watch.seen
                keep = current and NOT_KEPT not in shown and len(entry.body) <= _MAX_ENTRY
                if self.seconds > 0 and keep:
                    self._keep(key, entry)
        finally:
            SHOWN.reset(token)
            if self._rendering.get(flight) is done:
                del self._rendering[flight]
            done.set_result(entry)
        return entry

    def _catch_up(self, version: int, day: str) -> None:
        """Drop what the changes up to ``version`` touch: everything on a new day (the
        feed's default day follows the clock), after a change that declared nothing, or
        when the changes are no longer all kept; else the entries showing a changed tag
        and those that depend on every change."""
        news = self._watch.news(version)
        if day != self._day:
            self._clear()
            self._day = day
        elif news is None:
            return
        elif news.tags is None:
            self._clear()
        else:
            touched = (key for tag in news.tags for key in self._by_tag.get(tag, ()))
            for key in [*self._on_anything, *touched]:
                self._drop(key)

    async def _private(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with(
                    list(message.get("headers", [])),
                    {b"cache-control": PRIVATE, b"vary": b"Cookie"},
                )
            await send(message)

        await self.app(scope, receive, marked)

    async def _render(
        self, scope: Scope, receive: Receive, send: Send, changed_at: dt.datetime | None
    ) -> _Entry | None:
        """Run the app; the answer if every signed-out visitor may share it, else send
        it on as the app made it (private) and return None."""
        start: Message | None = None
        chunks: list[bytes] = []
        done = False

        async def capture(message: Message) -> None:
            nonlocal start, done
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                done = not message.get("more_body", False)

        await self.app(scope, receive, capture)
        assert start is not None, "the app sent no response"
        headers = list(start.get("headers", []))
        viewer = scope.get("state", {}).get("viewer")
        shared = (
            start["status"] == 200
            and done
            and not any(k.lower() == b"set-cookie" for k, _ in headers)
            and not getattr(viewer, "personal", False)
        )
        body = b"".join(chunks)
        if not shared:
            if start["status"] == 200:
                headers = _with(headers, {b"cache-control": PRIVATE, b"vary": b"Cookie"})
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return None
        etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        extra = {b"etag": etag, b"cache-control": PUBLIC, b"vary": b"Cookie"}
        if changed_at is not None:
            extra[b"last-modified"] = format_datetime(
                changed_at.replace(tzinfo=dt.UTC), usegmt=True
            ).encode()
        return _Entry(start["status"], _with(headers, extra), body, etag, time.monotonic())

    async def _answer(self, scope: Scope, send: Send, entry: _Entry) -> None:
        if _etag_matches(scope, entry.etag):
            kept = {b"etag", b"cache-control", b"vary", b"last-modified"}
            headers = [(k, v) for k, v in entry.headers if k.lower() in kept]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {"type": "http.response.start", "status": entry.status, "headers": entry.headers}
        )
        await send({"type": "http.response.body", "body": entry.body})

    def _keep(self, key: str, entry: _Entry) -> None:
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        if entry.depends is None:
            self._on_anything.add(key)
        else:
            for tag in entry.depends:
                self._by_tag.setdefault(tag, set()).add(key)
        while self._bytes > self.limit and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= len(entry.body)
        if entry.depends is None:
            self._on_anything.discard(key)
            return
        for tag in entry.depends:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def _clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self._on_anything.clear()
        self._bytes = 0
