"""Paper submission: ``/submit`` (form) and ``POST /api/submissions`` (JSON)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from paperwire.models.common import ErrorPublic
from paperwire.models.community import SubmissionCreate, SubmissionPublic, SubmissionStatus
from paperwire.services.community import SubmissionError
from paperwire.web.auth import CSRF, Comm, RequireAccount, limiter_of
from paperwire.web.ratelimit import enforce
from paperwire.web.templating import render
from paperwire.web.twin import Api, Call, Errors, FormError, Page, parse_form, twin

router = APIRouter(tags=["submissions"])

_ERRORS: Errors = {
    401: {"model": ErrorPublic, "description": "Not logged in."},
    403: {"model": ErrorPublic, "description": "CSRF token missing or wrong."},
    404: {"model": ErrorPublic, "description": "arXiv has no paper with this id."},
    409: {"model": ErrorPublic, "description": "The paper was removed by moderators."},
    422: {"model": ErrorPublic, "description": "Not an arXiv id or URL."},
    429: {"model": ErrorPublic, "description": "Too many submissions; see `Retry-After`."},
    503: {"model": ErrorPublic, "description": "arXiv could not be reached."},
}


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


def _refused(call: Call, exc: HTTPException) -> Response | None:
    """The form again, with why (rate limits and the like go to the error page)."""
    if not isinstance(exc, FormError):
        return None
    value = call.value("arxiv").strip()
    error = next(iter(exc.errors.values()))
    return _page(
        call.request, call.args["comm"], value=value, error=error, status_code=exc.status_code
    )


@twin(
    router,
    Api(
        "POST /api/submissions",
        SubmissionPublic,
        status=201,
        errors={**_ERRORS, 200: {"model": SubmissionPublic, "description": "Already here."}},
        summary="Submit a paper by arXiv id or URL",
    ),
    Page(
        "POST /submit",
        form=lambda call: {
            "data": parse_form(SubmissionCreate, {"arxiv": call.value("arxiv")}, {})
        },
        respond=lambda call, result: _page(call.request, call.args["comm"], result=result),
        failed=_refused,
    ),
    CSRF,
)
def submit(
    request: Request,
    response: Response,
    comm: Comm,
    account: RequireAccount,
    data: SubmissionCreate,
) -> SubmissionPublic:
    """New papers are fetched from the arXiv API, stored, indexed, featured today and
    credited to you (201). A paper already here answers 200 with ``status: duplicate``
    (and is featured today if it was not)."""
    per_hour = comm.pw.settings.rate_submissions_per_hour
    key = f"submit:user:{account.id}"
    enforce(request, limiter_of(request), key, per_hour, 3600, "submissions")
    try:
        result = comm.submit(account, data.arxiv)
    except SubmissionError as exc:
        raise FormError({"arxiv": exc.message}, exc.status) from None
    response.status_code = 201 if result.status == SubmissionStatus.created else 200
    return result
