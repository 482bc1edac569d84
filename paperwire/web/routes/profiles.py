"""Profiles: ``/users/{name}`` and its twin ``/api/users/{name}``; the avatar image
``/users/{name}/avatar``; your profile settings (``/settings/profile``, ``PUT
/api/me/profile``) and avatar upload (``POST /settings/avatar``, ``POST /api/me/avatar``:
multipart, field ``avatar``)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from paperwire.models.common import ErrorPublic, InvalidRequest
from paperwire.models.people import FollowKind, ProfilePublic, ProfileUpdate
from paperwire.services.images import ImageRejected
from paperwire.services.people import People
from paperwire.web.auth import CSRF, RequireAccount, require_account, viewer_of
from paperwire.web.routes.follows import Ppl
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Moved, Page, parse_form, twin

router = APIRouter(tags=["profiles"])
# What a multipart body adds around the image (boundaries, headers, the CSRF field).
MULTIPART_SLACK = 16_384
AVATAR_FIELD = "avatar"
LABELS = {"bio": "Bio", "links": "Links", "show_upvotes": "Show upvotes"}

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
}


def _profile(people: People, name: str) -> ProfilePublic:
    found = people.profile(name)
    if found is None:
        raise HTTPException(status_code=404, detail=f"No user named {name!r} on this site.")
    return found


def _context(call: Call, page: ProfilePublic) -> dict[str, Any]:
    people: People = call.args["people"]
    account = viewer_of(call.request).account
    row = people.profiles.by_name(page.name)
    assert row is not None
    return {
        "page": page,
        "is_self": account is not None and account.id == row.user_id,
        "follow": people.state(account, FollowKind.user, page.name),
        "page_title": page.display_name,
    }


@twin(
    router,
    Api("/api/users/{name}", ProfilePublic, summary="A user's profile"),
    Page(
        "/users/{name}",
        "profile.html",
        context=_context,
        json_href=lambda call, page: f"/api/users/{page.name}",
    ),
)
def profile(people: Ppl, name: str) -> ProfilePublic:
    """Display name, bio, links, avatar, submissions, confirmed authorship, public
    collections, and upvotes when the user chose to show them. ``name`` is the handle;
    a display name answers a redirect to it."""
    found = _profile(people, name)
    if name != found.name:
        raise Moved(name=found.name)
    return found


SizeParam = Annotated[int, Query(ge=16, le=512, description="Pixels (the nearest stored size).")]
VersionParam = Annotated[int | None, Query(ge=0, le=10**9, description="Cache buster.")]


@router.get(
    "/users/{name}/avatar",
    tags=["profiles"],
    summary="A user's avatar (PNG upload or SVG identicon)",
    responses={
        200: {"content": {"image/png": {}, "image/svg+xml": {}}},
        404: {"model": ErrorPublic, "description": "No such user."},
    },
    response_class=Response,
)
def avatar(
    request: Request, people: Ppl, name: str, size: SizeParam = 64, v: VersionParam = None
) -> Response:
    found = people.avatar(name, size)
    if found is None:
        raise HTTPException(status_code=404, detail=f"No user named {name!r} on this site.")
    data, content_type = found
    return image_response(request, data, content_type, immutable=v is not None)


def image_response(
    request: Request, data: bytes, content_type: str, *, immutable: bool
) -> Response:
    """An image with its type, an ``ETag`` (304 on a match) and cache headers (a
    versioned URL never changes: cached for a year)."""
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    cache = "public, max-age=31536000, immutable" if immutable else "public, max-age=300"
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if etag in [m.strip() for m in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if content_type == "image/svg+xml":  # drawn by us; still, never a document
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return Response(data, media_type=content_type, headers=headers)


# -- your settings ---------------------------------------------------------------------------


def _settings_page(
    request: Request, people: People, account_id: int, errors: dict[str, str], status: int = 200
) -> Response:
    row = people.profiles.by_id(account_id)
    assert row is not None
    return render(
        request,
        "profile_settings.html",
        {
            "row": row,
            "avatar_url": people.avatar_url_of(row, 256),
            "errors": errors,
            "max_bytes": people.pw.settings.avatar_max_bytes,
            "page_title": "Your profile",
        },
        status_code=status,
    )


@router.get("/settings/profile", include_in_schema=False, response_class=Response)
def settings_page(request: Request, people: Ppl, account: RequireAccount) -> Response:
    return _settings_page(request, people, account.id, {})


def _checked(call: Call, name: str) -> bool:
    return call.value(name).strip().lower() in {"1", "on", "true", "yes"}


def _profile_form(call: Call) -> dict[str, Any]:
    data = {
        "bio": call.value("bio"),
        "links": [line for line in call.value("links").splitlines() if line.strip()],
        "show_upvotes": _checked(call, "show_upvotes"),
        "digest_follows": _checked(call, "digest_follows"),
    }
    return {"data": parse_form(ProfileUpdate, data, LABELS)}


def _settings_failed(call: Call, exc: HTTPException) -> Response | None:
    if not isinstance(exc, FormError):
        return None
    account = require_account(call.request)
    return _settings_page(call.request, call.args["people"], account.id, exc.errors, 422)


@twin(
    router,
    Api("PUT /api/me/profile", ProfilePublic, errors=_ERRORS, summary="Edit your profile"),
    Page(
        "POST /settings/profile",
        form=_profile_form,
        respond=lambda call, result: RedirectResponse("/settings/profile", status_code=303),
        failed=_settings_failed,
    ),
    CSRF,
)
def update_profile(people: Ppl, account: RequireAccount, data: ProfileUpdate) -> ProfilePublic:
    """Bio (Markdown is shown as plain text), up to five http(s) links, whether your
    upvotes show on your profile, whether your digests include what you follow."""
    row = people.update_profile(account, data)
    return _profile(people, row.name)


async def limit_upload(request: Request) -> None:
    """Refuse an upload larger than the avatar limit before reading it: the declared
    length decides (a body without one is refused: 411)."""
    limit = request.app.state.pw.settings.avatar_max_bytes + MULTIPART_SLACK
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise HTTPException(status_code=411, detail="Send the upload with a Content-Length.")
    if int(declared) > limit:
        raise HTTPException(
            status_code=413,
            detail=f"The image is too large: at most "
            f"{request.app.state.pw.settings.avatar_max_bytes:,} bytes.",
        )


async def _upload(request: Request, people: People) -> tuple[int, str | None]:
    """Store the uploaded avatar: ``(account id, error message or None)``."""
    account = require_account(request)
    limit = people.pw.settings.avatar_max_bytes
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get(AVATAR_FIELD)
    if not isinstance(upload, UploadFile):
        return account.id, "Choose an image file to upload."
    data = await upload.read(limit + 1)
    if len(data) > limit:
        return account.id, f"The image is too large: at most {limit:,} bytes."
    try:
        await run_in_threadpool(people.upload_avatar, account, data)
    except ImageRejected as exc:
        return account.id, f"This file cannot be your avatar: {exc}."
    return account.id, None


UPLOAD_DEPENDENCIES = [Depends(limit_upload), CSRF]


@router.post(
    "/settings/avatar",
    include_in_schema=False,
    response_class=Response,
    dependencies=UPLOAD_DEPENDENCIES,
)
async def upload_avatar_page(request: Request, people: Ppl) -> Response:
    account_id, error = await _upload(request, people)
    if error is not None:
        return _settings_page(request, people, account_id, {"avatar": error}, 422)
    return RedirectResponse("/settings/profile", status_code=303)


@router.post(
    "/api/me/avatar",
    response_model=ProfilePublic,
    tags=["profiles"],
    summary="Upload your avatar (multipart field `avatar`)",
    responses={
        **_ERRORS,
        411: {"model": ErrorPublic, "description": "No Content-Length."},
        413: {"model": ErrorPublic, "description": "Larger than the limit."},
        422: {"model": InvalidRequest, "description": "Not an image we accept."},
    },
    dependencies=UPLOAD_DEPENDENCIES,
)
async def upload_avatar_api(request: Request, people: Ppl) -> ProfilePublic:
    """PNG, JPEG, GIF or WebP up to ``PAPERWIRE_AVATAR_MAX_BYTES``; re-encoded as square
    PNGs (256 and 64 pixels) without any metadata of the original."""
    account_id, error = await _upload(request, people)
    if error is not None:
        raise FormError({AVATAR_FIELD: error})
    row = people.profiles.by_id(account_id)
    assert row is not None
    return _profile(people, row.name)


@twin(
    router,
    Api("DELETE /api/me/avatar", ProfilePublic, errors=_ERRORS, summary="Remove your avatar"),
    Page(
        "POST /settings/avatar/remove",
        respond=lambda call, result: RedirectResponse("/settings/profile", status_code=303),
    ),
    CSRF,
)
def remove_avatar(people: Ppl, account: RequireAccount) -> ProfilePublic:
    """Back to the identicon drawn from your account."""
    row = people.remove_avatar(account)
    return _profile(people, row.name)
