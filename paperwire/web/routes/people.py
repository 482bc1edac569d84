"""Organisation and author pages: ``/orgs/{org}``, ``/authors/{name}`` and their JSON
twins; every visible paper, most upvoted first, a page at a time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field

from paperwire.models.common import ErrorPublic
from paperwire.models.community import PeopleKind, PeoplePage
from paperwire.models.people import FollowKind
from paperwire.services.people import page_path, people_of
from paperwire.web.auth import Comm, viewer_of
from paperwire.web.dependencies import BLANK_IS_NONE
from paperwire.web.twin import Api, Call, Errors, Page, Register, twin

router = APIRouter(tags=["people"])
PAGE_SIZE = 30
MAX_PAGE = 1000

PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE)]
PageParam = Annotated[PageNumber | None, BLANK_IS_NONE, Query(description="Page number, from 1.")]


def org_path(key: str) -> str:
    return page_path(FollowKind.org, key)


def org_url(card: object) -> str:
    """Template global: the organisation page of a card or paper."""
    key = getattr(card, "organization_id", None) or getattr(card, "organization", None) or ""
    return org_path(str(key))


def author_url(name: str) -> str:
    """Template global: an author's page."""
    return page_path(FollowKind.author, name)


def build_people(comm: Comm, kind: PeopleKind, key: str, page: int | None) -> PeoplePage:
    n = page or 1
    offset = (n - 1) * PAGE_SIZE
    if kind == PeopleKind.org:
        name, total, cards = comm.people.by_org(key, PAGE_SIZE, offset)
        missing = f"No papers from the organisation {key!r} on this site."
    else:
        name, total, cards = comm.people.by_author(key, PAGE_SIZE, offset)
        missing = f"No papers by {key!r} on this site."
    if name is None:
        raise HTTPException(status_code=404, detail=missing)
    return PeoplePage(
        kind=kind, key=key, name=name, total=total, offset=offset, limit=PAGE_SIZE, papers=cards
    )


def _context(call: Call, page: PeoplePage) -> dict[str, Any]:
    n = page.offset // page.limit + 1
    pages = max(1, (page.total + page.limit - 1) // page.limit)
    base = _base(call)
    return {
        "page": page,
        "page_no": n,
        "pages": pages,
        "prev_url": (f"{base}?page={n - 1}" if n > 2 else base) if n > 1 else None,
        "next_url": f"{base}?page={n + 1}" if n < pages else None,
        "page_title": page.name,
        **_people_extra(call, page),
    }


def _people_extra(call: Call, page: PeoplePage) -> dict[str, Any]:
    """The follow button's state; an author's confirmed claimants (their profiles)."""
    people = people_of(call.request.app.state.pw)
    account = viewer_of(call.request).account
    kind = FollowKind.org if page.kind == PeopleKind.org else FollowKind.author
    target = page.key if kind == FollowKind.org else page.name
    return {
        "follow_kind": kind.value,
        "follow_target": target,
        "follow": people.state(account, kind, target),
        "claimants": people.claims.claimants(page.name) if kind == FollowKind.author else [],
    }


def _base(call: Call) -> str:
    """The page's own path: ``/orgs/{org}`` or ``/authors/{name}``."""
    if "org" in call.args:
        return org_path(call.args["org"])
    return author_url(call.args["name"])


def _json_href(call: Call, page: PeoplePage) -> str:
    n = page.offset // page.limit + 1
    return "/api" + _base(call) + (f"?page={n}" if n > 1 else "")


_RESPONSES: Errors = {
    404: {"model": ErrorPublic, "description": "No visible papers."},
    422: {"model": ErrorPublic, "description": "Invalid page."},
}


def _people(api: str, page: str, summary: str) -> Register:
    """Register a people view: its JSON route and its page (``people.html``)."""
    return twin(
        router,
        Api(api, PeoplePage, errors=_RESPONSES, summary=summary),
        Page(page, "people.html", context=_context, json_href=_json_href),
    )


@_people("/api/orgs/{org:path}", "/orgs/{org:path}", "An organisation's papers, most upvoted first")
def org(comm: Comm, org: str, page: PageParam = None) -> PeoplePage:
    """``org`` is the slug (``organization_id``, e.g. ``nvidia``) or the display name."""
    return build_people(comm, PeopleKind.org, org, page)


@_people(
    "/api/authors/{name:path}", "/authors/{name:path}", "An author's papers, most upvoted first"
)
def author(comm: Comm, name: str, page: PageParam = None) -> PeoplePage:
    """Names match exactly as written on the papers, ignoring case and extra spaces."""
    return build_people(comm, PeopleKind.author, name, page)
