"""Paper submission: ``/submit`` (form) and ``POST /api/submissions`` (JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from paperwire.models.common import ErrorPublic
from paperwire.models.community import SubmissionCreate, SubmissionPublic, SubmissionStatus
from paperwire.services.community import SubmissionError
from paperwire.store.users import Account
from paperwire.web.auth import CSRF, Comm, RequireAccount, limiter_of
from paperwire.web.ratelimit import enforce
from paperwire.web.templating import render

router = APIRouter(tags=["submissions"])


def _limit(request: Request, comm: Comm, account: Account) -> None:
    per_hour = comm.pw.settings.rate_submissions_per_hour
    key = f"submit:user:{account.id}"
    enforce(request, limiter_of(request), key, per_hour, 3600, "submissions")


def _page(
    request: Request,
    comm: Comm,
    *,
    value: str = "",
    error: str | None = None,
    result: SubmissionPublic | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "submit.html",
        {
            "value": value,
            "error": error,
            "errors": {"arxiv": error} if error else {},
            "result": result,
            "per_hour": comm.pw.settings.rate_submissions_per_hour,
            "nav": "submit",
            "page_title": "Submit a paper",
        },
        status_code=status_code,
    )


@router.get("/submit", response_class=HTMLResponse, include_in_schema=False)
def submit_page(request: Request, comm: Comm) -> HTMLResponse:
    return _page(request, comm)


@router.post("/submit", response_class=HTMLResponse, include_in_schema=False, dependencies=[CSRF])
def submit_form(
    request: Request, comm: Comm, account: RequireAccount, arxiv: Annotated[str, Form()] = ""
) -> HTMLResponse:
    _limit(request, comm, account)
    try:
        result = comm.submit(account, arxiv)
    except SubmissionError as exc:
        return _page(request, comm, value=arxiv.strip(), error=exc.message, status_code=exc.status)
    return _page(request, comm, result=result)


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "arXiv has no paper with this id."},
    409: {"model": ErrorPublic, "description": "The paper was removed by moderators."},
    422: {"model": ErrorPublic, "description": "Not an arXiv id or URL."},
    429: {"model": ErrorPublic, "description": "Too many submissions; see `Retry-After`."},
    503: {"model": ErrorPublic, "description": "arXiv could not be reached."},
}


@router.post(
    "/api/submissions",
    response_model=SubmissionPublic,
    status_code=201,
    responses={**_ERRORS, 200: {"model": SubmissionPublic, "description": "Already here."}},
    dependencies=[CSRF],
    summary="Submit a paper by arXiv id or URL",
)
def submit_api(
    request: Request, comm: Comm, account: RequireAccount, data: SubmissionCreate
) -> JSONResponse:
    """New papers are fetched from the arXiv API, stored, indexed, featured today and
    credited to you (201). A paper already here answers 200 with ``status: duplicate``
    (and is featured today if it was not)."""
    _limit(request, comm, account)
    try:
        result = comm.submit(account, data.arxiv)
    except SubmissionError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from None
    status = 201 if result.status == SubmissionStatus.created else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)
