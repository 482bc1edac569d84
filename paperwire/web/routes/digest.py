"""Digest preview: ``/digest/preview?frequency=daily|weekly`` shows the email exactly as a
subscriber would get it right now (``format=text`` for the plain-text part), without
subscriber-specific parts; ``/api/digest/preview`` is its JSON twin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.subscriptions import Digest, Frequency
from paperwire.services.subscriptions import subscriptions_of
from paperwire.web.dependencies import PW
from paperwire.web.twin import Api, Call, Page, twin

router = APIRouter(tags=["subscriptions"])
SUMMARY = "What the daily or weekly digest holds right now"

# The email's own stylesheet is inline (mail clients need that); nothing else is allowed.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FrequencyParam = Annotated[str, Query(description="`daily` or `weekly`.")]


def _frequency(value: str) -> Frequency:
    try:
        return Frequency(value.strip().lower())
    except ValueError:
        raise HTTPException(
            status_code=422, detail=f"frequency: {value!r} is not one of daily, weekly"
        ) from None


def _email(call: Call, digest: Digest) -> Response:
    """The email itself: its HTML part (``format=html``) or its plain-text part."""
    rendered = subscriptions_of(call.args["pw"]).render(digest)
    fmt = call.request.query_params.get("format", "html")
    if fmt == "text":
        return PlainTextResponse(rendered.text)
    if fmt != "html":
        raise HTTPException(status_code=422, detail=f"format: {fmt!r} is not html or text")
    return HTMLResponse(rendered.html, headers={"Content-Security-Policy": PREVIEW_CSP})


@twin(
    router,
    Api("/api/digest/preview", Digest, errors={422: {"model": ErrorPublic}}, summary=SUMMARY),
    Page("/digest/preview", respond=_email),  # `format=text`: the plain-text part
)
def digest_preview(pw: PW, frequency: FrequencyParam = "daily") -> Digest:
    return subscriptions_of(pw).compose(_frequency(frequency))
