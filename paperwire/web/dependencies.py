"""FastAPI dependencies: the ``Paperwire`` object and typed, validated query params.

Choices and numbers (``period``, ``frequency``, ``limit``, ``page``) are typed params
(``ChoiceParam``, ``IntParam``), so OpenAPI declares their values and bounds; they stay
lenient (blank means the default, choices ignore case and spaces). The search form's
text params are parsed here instead, so its page can show a bad value next to the
field it came from, while its JSON twin answers 422 with the same message.

The dependencies here only read the request (microseconds, no I/O), so they run on the
event loop (``on_the_loop``), not in the request threads: see there why that matters.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Path, Query, Request
from pydantic import BeforeValidator, Field

from paperwire.config import MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET
from paperwire.core import Paperwire
from paperwire.models.papers import Period
from paperwire.models.search import SearchFilters, SearchMode, SearchRequest, SortOrder
from paperwire.models.subscriptions import Frequency
from paperwire.sources.normalize import InvalidArxivId, normalize_arxiv_id

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_QUERY_CHARS = 4000  # room for a pasted abstract (search by example)
MAX_PAGE_NUMBER = 1_000_000
FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 500
MAX_ROW_ID = 2**63 - 1  # the largest id a BIGINT (or SQLite INTEGER) holds

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A numeric id.")]
"""A numeric id in a path: anything out of range answers 422, never a database error."""


def arxiv_id_or_error(raw: str, status: int = 422, detail: str | None = None) -> str:
    """The canonical arXiv id of an id or URL someone typed; else ``status`` (422 naming
    the value, or ``detail``)."""
    try:
        return normalize_arxiv_id(raw)
    except InvalidArxivId:
        shown = detail or f"{raw.strip()[:80]!r} is not an arXiv id or URL"
        raise HTTPException(status_code=status, detail=shown) from None


P = ParamSpec("P")
R = TypeVar("R")


def on_the_loop(fn: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``fn`` as a FastAPI dependency that runs on the event loop, ``fn`` itself unchanged.

    FastAPI runs a plain-function dependency in the request threads, as it runs a plain
    view: one more turn in their queue. A server has a few request threads
    (``PAPERWIRE_WEB_THREADS``), so under load every turn waits behind the requests
    already queued, and a search (``PW``, ``FilterQuery``, ``Search``, then the view) waited
    four times where a paper page waited twice (issue 16). Only for dependencies that do
    no I/O and take microseconds: anything that reads the database stays in a thread
    (the signed-in viewer's, ``web.auth``)."""

    @functools.wraps(fn)
    async def dependency(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)

    return dependency


def get_pw(request: Request) -> Paperwire:
    pw: Paperwire = request.app.state.pw
    return pw


PW = Annotated[Paperwire, Depends(on_the_loop(get_pw))]


class ParamError(ValueError):
    """A query parameter with an unusable value; ``field`` is the parameter's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_date(value: str | None, name: str) -> dt.date | None:
    """``YYYY-MM-DD`` → date; empty → None; anything else → ``ParamError``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not _ISO_DATE.match(text):
        raise ParamError(name, f"{name}: {text!r} is not a date; use YYYY-MM-DD, e.g. 2025-06-10")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ParamError(name, f"{name}: {text!r} is not a real calendar date") from None


E = TypeVar("E", Period, SortOrder, SearchMode, Frequency)
T = TypeVar("T")


def _choice(value: str | None, enum: type[E], name: str, default: E) -> E:
    if value is None or not value.strip():
        return default
    try:
        return enum(value.strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ParamError(name, f"{name}: {value!r} is not one of {allowed}") from None


def blank_is_none(value: object) -> object:
    """A query value as typed: surrounding spaces dropped, empty → None (the default)."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def one_of(enum: type[E]) -> BeforeValidator:
    """Validator of a choice param: one of ``enum``'s values, any case; blank → None."""
    allowed = ", ".join(m.value for m in enum)

    def check(value: object) -> object:
        value = blank_is_none(value)
        if not isinstance(value, str):
            return value
        try:
            return enum(value.lower())
        except ValueError:
            raise ValueError(f"{value!r} is not one of {allowed}") from None

    return BeforeValidator(check)


BLANK_IS_NONE = BeforeValidator(blank_is_none)
"""Validator of a whole-number param: blank → None (the default)."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(value: str | None, name: str) -> bool | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParamError(name, f"{name}: {value!r} is not one of true, false (or leave it empty)")


def parse_int(value: str | None, name: str, low: int, high: int, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        n = int(value.strip())
    except ValueError:
        raise ParamError(name, f"{name}: {value!r} is not a whole number") from None
    if not low <= n <= high:
        raise ParamError(name, f"{name}: must be between {low} and {high}, got {n}")
    return n


# -- feed ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedParams:
    date: dt.date | None
    period: Period
    limit: int


PeriodParam = Annotated[
    Period | None,
    one_of(Period),
    Query(description="`day`, `week` (ISO week, Monday–Sunday) or `month`."),
]
# Bounds go on the int inside ``X | None``, so OpenAPI says ``minimum``/``maximum``
# (``Query(ge=…)`` on an optional param comes out as unknown ``ge``/``le`` keywords).
FeedLimit = Annotated[int, Field(ge=1, le=FEED_MAX_LIMIT)]
# Only a sanity bound here: the last page depends on the results (``check_page`` names it).
SearchPage = Annotated[int, Field(ge=1, le=MAX_PAGE_NUMBER)]
FeedLimitParam = Annotated[
    FeedLimit | None,
    BLANK_IS_NONE,
    Query(description=f"Most papers (default {FEED_DEFAULT_LIMIT})."),
]


def feed_params(
    date: Annotated[
        str | None,
        Query(
            description="Day to show (YYYY-MM-DD); default: today, else the latest featured day.",
            examples=["2025-06-10"],
        ),
    ] = None,
    period: PeriodParam = None,
    limit: FeedLimitParam = None,
) -> FeedParams:
    """Parsed feed params; a bad value answers 422 with a message naming the field."""
    try:
        day = parse_date(date, "date")
    except ParamError as exc:
        raise HTTPException(status_code=422, detail=exc.message) from None
    return FeedParams(date=day, period=period or Period.day, limit=limit or FEED_DEFAULT_LIMIT)


# -- search -------------------------------------------------------------------------------

SEARCH_FIELDS = ("q", "from", "to", "category", "org", "has_code", "sort", "mode", "as_text")


@dataclass
class SearchParams:
    """The search form as typed (``raw``), what it parsed to, and per-field errors."""

    raw: dict[str, str]
    page: int = 1
    limit: int = 20
    request: SearchRequest | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return "; ".join(self.errors.values())

    def query_string(self, **changes: str | int | None) -> str:
        """The form's params (empty ones left out) with ``changes`` applied."""
        params: dict[str, str] = {k: v for k, v in self.raw.items() if v}
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        return urlencode(params)

    def url(self, base: str = "/search", **changes: str | int | None) -> str:
        qs = self.query_string(**changes)
        return f"{base}?{qs}" if qs else base

    @property
    def request_as_text(self) -> bool:
        """Whether the reader asked for plain text (the "similar to this text" box)."""
        return self.request is not None and self.request.as_text

    @property
    def has_filters(self) -> bool:
        return any(self.raw.get(k) for k in ("from", "to", "category", "org", "has_code"))


def filter_query(
    date_from: Annotated[
        str | None, Query(alias="from", description="Published on or after (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        str | None, Query(alias="to", description="Published on or before (YYYY-MM-DD).")
    ] = None,
    category: Annotated[str | None, Query(description="arXiv category, e.g. cs.CL.")] = None,
    org: Annotated[str | None, Query(description="Organisation slug or name, e.g. nvidia.")] = None,
    has_code: Annotated[
        str | None, Query(description="`true`: only papers with code; `false`: only without.")
    ] = None,
) -> dict[str, str]:
    """The filter params as typed (stripped): what the search and similar pages share."""
    values = {"from": date_from, "to": date_to, "category": category, "org": org}
    return {
        **{k: (v or "").strip() for k, v in values.items()},
        "has_code": (has_code or "").strip(),
    }


FilterQuery = Annotated[dict[str, str], Depends(on_the_loop(filter_query))]


def search_params(
    pw: PW,
    filters: FilterQuery,
    q: Annotated[
        str | None,
        Query(
            description='Query text: words, "quoted phrases", author:Name, arXiv ids, '
            "inline filters (category:cs.CL, org:nvidia, has:code, after:/before:)."
        ),
    ] = None,
    sort: Annotated[str | None, Query(description="`relevance`, `newest` or `upvotes`.")] = None,
    mode: Annotated[str | None, Query(description="`hybrid`, `keyword` or `semantic`.")] = None,
    as_text: Annotated[
        str | None,
        Query(
            description="`true`: search `q` as plain text (no quotes, operators or ids), e.g. "
            "an abstract to find related work. Prose is detected anyway; see the README."
        ),
    ] = None,
    page: Annotated[
        SearchPage | None,
        BLANK_IS_NONE,
        Query(description="Result page, from 1 (the last starts at result 1,000 at most)."),
    ] = None,
) -> SearchParams:
    """Parse the search params; errors are collected per field, never raised."""
    raw = {
        "q": (q or "").strip(),
        **filters,
        "sort": (sort or "").strip(),
        "mode": (mode or "").strip(),
        "as_text": (as_text or "").strip(),
    }
    limit = min(pw.settings.page_size, MAX_SEARCH_LIMIT)
    out = SearchParams(raw=raw, limit=limit)

    def attempt(fn: Callable[[], T], default: T) -> T:
        try:
            return fn()
        except ParamError as exc:
            out.errors[exc.field] = exc.message
            return default

    if len(raw["q"]) > MAX_QUERY_CHARS:
        out.errors["q"] = (
            f"q: the query is too long ({len(raw['q'])} characters, at most {MAX_QUERY_CHARS})"
        )
    d_from = attempt(lambda: parse_date(raw["from"], "from"), None)
    d_to = attempt(lambda: parse_date(raw["to"], "to"), None)
    has = attempt(lambda: parse_bool(raw["has_code"], "has_code"), None)
    literal = attempt(lambda: parse_bool(raw["as_text"], "as_text"), None)
    order = attempt(
        lambda: _choice(raw["sort"], SortOrder, "sort", SortOrder.relevance), SortOrder.relevance
    )
    how = attempt(
        lambda: _choice(raw["mode"], SearchMode, "mode", SearchMode.hybrid), SearchMode.hybrid
    )
    # The upper bound is the results' own page count, which only the search knows:
    # ``check_page`` (after the search) says "between 1 and 4" when there are 4 pages.
    out.page = attempt(lambda: parse_int(str(page or ""), "page", 1, MAX_PAGE_NUMBER, 1), 1)
    if d_from and d_to and d_from > d_to:
        out.errors["to"] = f"to: {d_to} is before from ({d_from})"
    if out.errors:
        return out
    out.request = SearchRequest(
        q=raw["q"],
        filters=SearchFilters(
            date_from=d_from,
            date_to=d_to,
            category=raw["category"] or None,
            organization=raw["org"] or None,
            has_code=has,
        ),
        sort=order,
        mode=how,
        limit=limit,
        offset=min((out.page - 1) * limit, MAX_SEARCH_OFFSET),
        as_text=bool(literal),
    )
    return out


def page_count(total: int, limit: int) -> int:
    """How many result pages the search page offers: every result, up to ``MAX_SEARCH_OFFSET``."""
    return min(-(-total // limit), MAX_SEARCH_OFFSET // limit + 1)


def check_page(params: SearchParams, total: int) -> None:
    """A page past the last one is a field error naming the real page count (the same
    count the page shows as "page 1 of 4")."""
    last = max(page_count(total, params.limit), 1)
    if params.page > last:
        params.errors["page"] = f"page: must be between 1 and {last}, got {params.page}"
        raise HTTPException(status_code=422, detail=params.message)


def similar_params(
    pw: PW,
    filters: FilterQuery,
    page: Annotated[
        SearchPage | None, BLANK_IS_NONE, Query(description="Result page, from 1.")
    ] = None,
) -> SearchParams:
    """The similar-papers page's filters and page: the search form without a query."""
    return search_params(pw, filters, page=page)


Search = Annotated[SearchParams, Depends(on_the_loop(search_params))]
SimilarFilters = Annotated[SearchParams, Depends(on_the_loop(similar_params))]
Feed = Annotated[FeedParams, Depends(on_the_loop(feed_params))]
