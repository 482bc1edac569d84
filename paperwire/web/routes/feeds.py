"""Atom and RSS feeds: ``/feeds/{daily,trending}.{atom,rss}``, ``/feeds/search.{atom,rss}?q=…``
(the search page's parameters, newest first), ``/feeds/collections/{id}.{atom,rss}``
(public collections) and ``/feeds/comments/{arxiv_id}.{atom,rss}`` (a paper's
discussion). Entry ids are paper (or comment) page URLs; responses carry an ``ETag`` and
answer ``If-None-Match`` with 304, so polling readers cost little.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

import paperwire
from paperwire.core import Paperwire
from paperwire.formats.feeds import ATOM_TYPE, RSS_TYPE, Feed, FeedEntry, atom, paper_entry, rss
from paperwire.models.common import ErrorPublic
from paperwire.models.papers import PaperCard
from paperwire.models.search import SortOrder
from paperwire.services import papers
from paperwire.services.clock import data_clock
from paperwire.services.people import people_of
from paperwire.web.dependencies import PW, RowId, Search
from paperwire.web.formatting import quoted

# What every feed route answers besides 422 (documented app-wide): the feed itself,
# 304 for a matching If-None-Match, 404 for another format (or a missing collection).
FEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The feed (`.atom`: Atom 1.0, `.rss`: RSS 2.0).",
        "content": {"application/atom+xml": {}, "application/rss+xml": {}},
    },
    304: {"description": "Not modified (the `ETag` sent in `If-None-Match` still holds)."},
    404: {"model": ErrorPublic, "description": "Not `.atom` or `.rss` (or no such feed)."},
}
FmtParam = Annotated[str, Path(description="`atom` or `rss`.")]
router = APIRouter(tags=["feeds"], responses=FEED_RESPONSES)
DAILY_DAYS = 7
DAILY_LIMIT = 200
TRENDING_LIMIT = 30
SEARCH_LIMIT = 50
FORMATS = {"atom": ATOM_TYPE, "rss": RSS_TYPE}
NOT_FOUND = "There is no such collection, or it is private."


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise HTTPException(status_code=404, detail="Feeds come as .atom or .rss.")
    return fmt


def _feed(
    pw: Paperwire, request: Request, title: str, subtitle: str, page: str, cards: list[PaperCard]
) -> Feed:
    s = pw.settings
    base = s.base_url.rstrip("/")
    query = request.url.query
    self_url = base + quote(request.url.path) + (f"?{query}" if query else "")
    return Feed(
        title=f"{s.site_name}: {title}",
        subtitle=subtitle,
        self_url=self_url,
        page_url=base + page,
        site_name=s.site_name,
        site_url=base + "/",
        generator_version=paperwire.__version__,
        entries=[paper_entry(c, base) for c in cards],
    )


def _respond(request: Request, feed: Feed, fmt: str) -> Response:
    body = atom(feed) if fmt == "atom" else rss(feed)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    match = request.headers.get("if-none-match", "")
    if etag in [m.strip() for m in match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=FORMATS[fmt], headers=headers)


@router.get("/feeds/daily.{fmt}", summary="Daily papers of the last 7 featured days (Atom/RSS)")
def daily_feed(request: Request, pw: PW, fmt: FmtParam) -> Response:
    """Papers of the seven latest days that have featured papers (up to today; quiet
    days do not count, so one paper featured today leaves six more days in the feed),
    newest day first, most upvoted first within a day."""
    fmt = _format(fmt)
    today = dt.datetime.now(dt.UTC).date()
    days = pw.store.featured_days(today, DAILY_DAYS)
    cards = pw.store.feed(days[-1], days[0], limit=DAILY_LIMIT) if days else []
    cards.sort(key=lambda c: (c.featured_on or dt.date.min, c.upvotes), reverse=True)
    feed = _feed(pw, request, "daily papers", "Papers featured each day.", "/", cards)
    return _respond(request, feed, fmt)


@router.get("/feeds/trending.{fmt}", summary="Trending papers (Atom/RSS)")
def trending_feed(request: Request, pw: PW, fmt: FmtParam) -> Response:
    fmt = _format(fmt)
    clock = data_clock(pw)
    cards = [card for card, _ in papers.trending_cards(pw, TRENDING_LIMIT, clock.now)]
    subtitle = f"Papers gaining upvotes fastest{f', {clock.note}' if clock.note else ' right now'}."
    feed = _feed(pw, request, "trending", subtitle, "/trending", cards)
    return _respond(request, feed, fmt)


@router.get("/feeds/search.{fmt}", summary="A search as a feed, newest first (Atom/RSS)")
def search_feed(request: Request, pw: PW, fmt: FmtParam, params: Search) -> Response:
    """Takes the search page's parameters (``q``, ``from``, ``to``, ``category``, ``org``,
    ``has_code``, ``sort``, ``mode``); sorted newest first unless ``sort`` says else."""
    fmt = _format(fmt)
    if params.request is None:
        raise HTTPException(status_code=422, detail=params.message)
    sort = params.request.sort if params.raw.get("sort") else SortOrder.newest
    req = params.request.model_copy(update={"sort": sort, "limit": SEARCH_LIMIT, "offset": 0})
    cards = [hit.paper for hit in pw.search.search(req).hits]
    q = params.raw.get("q") or "all papers"
    feed = _feed(
        pw, request, f"search {quoted(q)}", f"Newest papers matching {q}.", params.url(), cards
    )
    return _respond(request, feed, fmt)


@router.get("/feeds/collections/{collection_id}.{fmt}", summary="A public collection (Atom/RSS)")
def collection_feed(request: Request, pw: PW, collection_id: RowId, fmt: FmtParam) -> Response:
    """Newest additions first; each entry is dated when it was added. Private
    collections are 404, as on their page."""
    from paperwire.services.community import community_of
    from paperwire.store.collections import CollectionNotFound

    fmt = _format(fmt)
    comm = community_of(pw)
    found = comm.collections.view(collection_id, None)
    if found is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    try:
        rows = comm.collections.export_rows(collection_id, None)
    except CollectionNotFound:  # made private meanwhile
        raise HTTPException(status_code=404, detail=NOT_FOUND) from None
    added = {r.arxiv_id: r.added_at for r in rows}
    feed = _feed(
        pw,
        request,
        f"collection “{found.name}” by {found.owner}",
        found.description or f"Papers in {found.name}.",
        f"/collections/{collection_id}",
        [],
    )
    base = pw.settings.base_url
    feed.entries = [paper_entry(c, base, added.get(c.arxiv_id)) for c in found.papers]
    return _respond(request, feed, fmt)


@router.get("/feeds/comments/{arxiv_id:path}.{fmt}", summary="A paper's discussion (Atom/RSS)")
def comments_feed(request: Request, pw: PW, arxiv_id: str, fmt: FmtParam) -> Response:
    """Every shown comment of the paper, newest first; each entry is the comment (as on
    the page: sanitised HTML, math as TeX), dated when it was written or last edited."""
    from paperwire.models.discussions import CommentSort
    from paperwire.services.discussions import discussions_of
    from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id
    from paperwire.store.comments import PaperNotFound

    fmt = _format(fmt)
    try:
        aid = normalize_arxiv_id(arxiv_id)
        found = discussions_of(pw).thread(aid, None, CommentSort.newest)
    except (InvalidArxivId, PaperNotFound):
        raise HTTPException(status_code=404, detail=f"No paper {arxiv_id[:80]!r}") from None
    feed = _feed(
        pw,
        request,
        f"discussion of “{found.title}”",
        f"Comments on arXiv:{aid}.",
        f"/papers/{aid}#comments",
        [],
    )
    base = pw.settings.base_url.rstrip("/")
    shown = sorted(
        (c for c in found.comments if c.author is not None),
        key=lambda c: (c.created_at, c.id),
        reverse=True,
    )
    feed.entries = [
        FeedEntry(
            id=f"{base}/papers/{aid}#comment-{c.id}",
            title=f"{'Reply' if c.parent_id else 'Comment'} by {c.author.display_name}",
            link=f"{base}/papers/{aid}#comment-{c.id}",
            updated=c.edited_at or c.created_at,
            published=c.created_at,
            summary=c.body[:500],
            content_html=c.html,
            authors=[c.author.display_name],
        )
        for c in shown
        if c.author is not None
    ]
    if not feed.entries:
        feed.updated = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return _respond(request, feed, fmt)


@router.get("/feeds/following.{fmt}", summary="New papers from what you follow (private link)")
def following_feed(
    request: Request,
    pw: PW,
    fmt: FmtParam,
    token: Annotated[str, Query(max_length=200, description="From the /following page.")],
) -> Response:
    """The first page of ``/following`` as a feed; the signed ``token`` (shown on that
    page) stands for the account, so a feed reader needs no login."""
    fmt = _format(fmt)
    people = people_of(pw)
    user_id = people.feed_user(token)
    if user_id is None:
        raise HTTPException(status_code=404, detail="No such feed (the link is not valid).")
    cards = people.following(user_id, 1, SEARCH_LIMIT).papers
    feed = _feed(pw, request, "following", "New papers from what you follow.", "/following", cards)
    return _respond(request, feed, fmt)


@router.get("/feeds/alerts/{alert_id}.{fmt}", summary="An alert's private feed (Atom/RSS)")
def alert_feed(
    request: Request,
    pw: PW,
    alert_id: RowId,
    fmt: FmtParam,
    token: Annotated[str, Query(max_length=100, description="The feed's private token.")],
) -> Response:
    """The alert's papers of the last 30 days (its search's, its author's or its
    collection's recommendations). The URL is the key: 404 without the right token, and
    a new feed URL (``PATCH /api/alerts/{id}``) turns the old one off."""
    from paperwire.services.alerts import alerts_of
    from paperwire.services.subscriptions import section_title

    fmt = _format(fmt)
    alerts = alerts_of(pw)
    alert = alerts.by_feed_token(alert_id, token)
    if alert is None:
        raise HTTPException(status_code=404, detail="There is no such feed.")
    title = section_title(alert)
    feed = _feed(pw, request, title, title + ".", alert.page_url, alerts.feed_papers(alert))
    response = _respond(request, feed, fmt)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
