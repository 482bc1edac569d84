"""``paperwire mcp``: the site as Model Context Protocol tools (the official ``mcp`` SDK).

Tools answer with the JSON API's own models (``SearchResponse``, ``PaperPublic``,
``SimilarPage``, ``FeedPage``, ``TrendingPage``, ``CollectionSummary``,
``CollectionPublic``), so a client reads the same fields either way. Reading papers needs
no account; a user's collections need a personal access token (``/settings/tokens`` or
``paperwire tokens create``): over stdio the one the server was started with
(``--token`` / ``PAPERWIRE_MCP_TOKEN``), over streamable HTTP the request's
``Authorization: Bearer …`` header. Only tokens' SHA-256 hashes are stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from starlette.applications import Starlette

import paperwire
from paperwire.config import MAX_SEARCH_OFFSET
from paperwire.core import Paperwire
from paperwire.models.community import CollectionPublic, CollectionSummary, TrendingPage
from paperwire.models.papers import FeedPage, PaperPublic, Period
from paperwire.models.search import (
    SearchFilters,
    SearchMode,
    SearchRequest,
    SearchResponse,
    SimilarPage,
    SortOrder,
)
from paperwire.services import papers
from paperwire.services.alerts import alerts_of
from paperwire.sources.normalize import normalize_arxiv_id
from paperwire.store.collections import CollectionStore

INSTRUCTIONS = (
    "Research papers from this paperwire site: search them (keywords, phrases, "
    "author:Name, filters, sorts), open one, find similar ones, read the daily, weekly or "
    "monthly feed and what is trending. With a personal access token: your collections."
)
SIGN_IN = (
    "This tool needs your personal access token: create one at /settings/tokens (or "
    "`paperwire tokens create`), then start `paperwire mcp --token …` (stdio) or send "
    "`Authorization: Bearer …` (HTTP)."
)


Limit = Annotated[int, Field(ge=1, le=100)]


def _arxiv_id(raw: str) -> str:
    try:
        return normalize_arxiv_id(raw)
    except ValueError as exc:
        raise ToolError(f"arxiv_id: {exc}") from None


def build_server(pw: Paperwire, token: str | None = None) -> MCPServer:
    """The MCP server over ``pw``; ``token``: the stdio client's personal access token."""
    server = MCPServer(
        name="paperwire",
        title=f"{pw.settings.site_name} papers",
        instructions=INSTRUCTIONS,
        version=paperwire.__version__,
        website_url=pw.settings.base_url,
        log_level="WARNING",
    )

    def user_id(ctx: Context) -> int:
        header = (ctx.headers or {}).get("authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else token
        found = alerts_of(pw).token_user(given) if given else None
        if found is None:
            raise ToolError(SIGN_IN if not given else "That access token is not valid (revoked?).")
        return found

    @server.tool()
    def search(
        q: Annotated[
            str,
            Field(
                max_length=500,
                description="As on /search: words, "
                '"phrases", author:Name, category:cs.CL, org:nvidia, has:code.',
            ),
        ] = "",
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        category: Annotated[str | None, Field(max_length=32)] = None,
        organization: Annotated[str | None, Field(max_length=200)] = None,
        has_code: bool | None = None,
        sort: SortOrder = SortOrder.relevance,
        mode: SearchMode = SearchMode.hybrid,
        limit: Limit = 20,
        offset: Annotated[int, Field(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
        as_text: Annotated[
            bool, Field(description="Search q as plain text: no quotes, operators or ids.")
        ] = False,
    ) -> SearchResponse:
        """Search papers (the /api/search answer): relevance, newest or most upvoted first;
        without q, the papers matching the filters."""
        filters = SearchFilters(
            date_from=date_from,
            date_to=date_to,
            category=category,
            organization=organization,
            has_code=has_code,
        )
        req = SearchRequest(
            q=q, filters=filters, sort=sort, mode=mode, limit=limit, offset=offset, as_text=as_text
        )
        return pw.search.search(req)

    @server.tool()
    def get_paper(arxiv_id: Annotated[str, Field(max_length=64)]) -> PaperPublic:
        """One paper with its abstract, authors, links and upvotes (/api/papers/{id})."""
        found = papers.paper(pw, _arxiv_id(arxiv_id))
        if found is None:
            raise ToolError(f"Paper {arxiv_id} is not on this site (yet).")
        return found

    @server.tool()
    def similar_papers(
        arxiv_id: Annotated[str, Field(max_length=64)],
        limit: Limit = 10,
        offset: Annotated[int, Field(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
    ) -> SimilarPage:
        """Papers most like this one, best first, with the key terms they share."""
        found = pw.search.similar_page(_arxiv_id(arxiv_id), SearchFilters(), limit, offset)
        if found is None:
            raise ToolError(f"Paper {arxiv_id} is not on this site (yet).")
        return found

    @server.tool()
    def feed(
        period: Period = Period.day,
        date: dt.date | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> FeedPage:
        """The papers featured on a day, in an ISO week or a month (default: the latest
        with papers), most upvoted first (/api/daily)."""
        return papers.feed(pw, date, period, limit)[0]

    @server.tool()
    def trending(limit: Limit = 20) -> TrendingPage:
        """Papers gaining upvotes fastest right now (/api/trending)."""
        return papers.trending(pw, limit)

    @server.tool()
    def my_collections(ctx: Context) -> list[CollectionSummary]:
        """Your collections (needs your personal access token)."""
        return CollectionStore(pw.db).list_for(user_id(ctx))

    @server.tool()
    def get_collection(
        collection_id: Annotated[int, Field(ge=1)], ctx: Context
    ) -> CollectionPublic:
        """One of your collections (or a public one) with its papers (needs your token)."""
        found = CollectionStore(pw.db).view(collection_id, user_id(ctx))
        if found is None:
            raise ToolError(f"There is no collection {collection_id}, or it is private.")
        return found

    return server


def http_app(pw: Paperwire, host: str = "127.0.0.1") -> Starlette:
    """The streamable HTTP endpoint, at ``/mcp``. Bound to a loopback ``host`` it refuses
    other ``Host`` and ``Origin`` headers (DNS rebinding); elsewhere, a proxy's job."""
    return build_server(pw).streamable_http_app(host=host)
