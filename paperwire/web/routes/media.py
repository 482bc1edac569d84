"""Images served from our own origin: organisation avatars (a letter icon),
paper thumbnails (the cached copy, or a neutral placeholder), and the feed's
"Get trending papers in your email inbox!" banner dismissal (a cookie set by a form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.services.images import PLACEHOLDER_SVG, letter_svg
from paperwire.services.media import media_of
from paperwire.store.people import PeopleStore
from paperwire.store.thumbnails import ThumbnailStore
from paperwire.web.auth import safe_next
from paperwire.web.dependencies import PW
from paperwire.web.routes.profiles import image_response

router = APIRouter(tags=["media"])
BANNER_COOKIE = "pw_banner"
BANNER_DAYS = 365


@router.get(
    "/avatars/orgs/{key}.svg",
    summary="An organisation's avatar (its initial)",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}},
        404: {"model": ErrorPublic, "description": "No papers from that organisation."},
    },
)
def org_avatar(request: Request, pw: PW, key: str) -> Response:
    """Drawn from the organisation's slug: the same organisation, the same picture."""
    if PeopleStore(pw.db).org_name(key) is None:
        raise HTTPException(status_code=404, detail=f"No organisation {key!r} on this site.")
    return image_response(request, letter_svg(key).encode(), "image/svg+xml", immutable=False)


@router.get(
    "/thumbnails/{arxiv_id:path}",
    summary="A paper's thumbnail (cached copy, or a placeholder)",
    response_class=Response,
    responses={
        200: {"content": {"image/webp": {}, "image/svg+xml": {}}},
        404: {"model": ErrorPublic, "description": "No such paper (or hidden)."},
    },
)
def thumbnail(request: Request, pw: PW, arxiv_id: str) -> Response:
    """The copy cached at ingest (``paperwire thumbnails``), never the source's URL (the
    page's CSP allows only this site); a neutral placeholder when none is cached."""
    found = ThumbnailStore(pw.db).cached(arxiv_id[:64])
    if found is not None:
        data = media_of(pw).get(found[0])
        if data is not None:
            return image_response(request, data, found[1], immutable=False)
    if not pw.store.cards([arxiv_id[:64]]):
        raise HTTPException(status_code=404, detail=f"No paper {arxiv_id[:64]!r} on this site.")
    return image_response(request, PLACEHOLDER_SVG.encode(), "image/svg+xml", immutable=False)


@router.post("/banner/dismiss", include_in_schema=False)
def dismiss_banner(request: Request, next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    """Remember (a cookie, a year) that this browser does not want the email banner.

    No CSRF token: a forged request could only hide a banner in the sender's own browser,
    and a token would make every signed-out feed page personal (uncacheable)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        BANNER_COOKIE,
        "dismissed",
        max_age=BANNER_DAYS * 86400,
        path="/",
        httponly=False,
        samesite="lax",
        secure=request.app.state.pw.settings.base_url.lower().startswith("https://"),
    )
    return response


def banner_dismissed(request: Request) -> bool:
    return request.cookies.get(BANNER_COOKIE) == "dismissed"
