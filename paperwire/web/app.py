"""``create_app``: the one factory the CLI, the tests and ``uvicorn`` use."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import paperwire
from paperwire.core import Paperwire
from paperwire.models.common import InvalidRequest
from paperwire.web import community, docs
from paperwire.web.admission import Admission
from paperwire.web.cache import PageCache
from paperwire.web.head import HeadAsGet
from paperwire.web.inputs import refuse_control_chars
from paperwire.web.routes import (
    alerts,
    digest,
    discussions,
    feed,
    feeds,
    papers,
    search,
    status,
    subscriptions,
)
from paperwire.web.templating import STATIC_DIR, render
from paperwire.web.twin import FormError

log = logging.getLogger(__name__)

# Pages are self-contained: no CDN, no inline script. The API docs (/docs, /redoc) run
# Swagger UI and ReDoc from this site with an inline start script: their own policy
# (``web.docs.docs_csp``).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds security headers to every HTTP response (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp, docs_csp: str = CSP) -> None:
        self.app = app
        self.docs_csp = docs_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = self.docs_csp if path.startswith(docs.DOCS_PATHS) else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"strict-origin-when-cross-origin",
                    b"content-security-policy": csp.encode(),
                    b"x-frame-options": b"DENY",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def wants_json(request: Request) -> bool:
    """API paths (and feeds: read by programs) answer JSON; so does a client that asks
    for JSON but not HTML."""
    path = request.url.path
    if path.startswith(("/api/", "/feeds/")) or path in ("/api", "/healthz", "/openapi.json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


_TITLES = {
    400: "Bad request",
    404: "Page not found",
    405: "Method not allowed",
    422: "That request has an invalid value",
    500: "Something went wrong",
}


Problems = list[dict[str, Any]]
"""The ``errors`` of a 422 answer (``FieldProblem`` dicts)."""


def error_response(
    request: Request,
    status_code: int,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: Problems | None = None,
) -> Response:
    """The one error answer: JSON (``ErrorPublic``; every 422 an ``InvalidRequest``, with
    ``errors``) for the API and JSON clients, else the error page."""
    if wants_json(request):
        body: dict[str, Any] = {"detail": detail}
        if status_code == 422:
            problems = errors or [{"loc": [], "msg": detail, "type": "value_error"}]
            body = InvalidRequest.model_validate(
                {"detail": detail, "errors": problems}
            ).model_dump()
        return JSONResponse(body, status_code=status_code, headers=headers)
    title = getattr(request.state, "error_title", None) or _TITLES.get(status_code)
    title = title or HTTPStatus(status_code).phrase
    arxiv_id = getattr(request.state, "missing_arxiv_id", None)
    return render(
        request,
        "error.html",
        {
            "status_code": status_code,
            "title": title,
            "detail": detail,
            "arxiv_id": arxiv_id,
            "page_title": title,
        },
        status_code=status_code,
        headers=headers,
    )


def _message(err: dict[str, Any]) -> str:
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body"))
        parts.append(f"{where}: {_message(err)}" if where else _message(err))
    return "; ".join(parts) or "invalid request"


def _problems(exc: RequestValidationError) -> Problems:
    return [
        {"loc": list(err.get("loc", ())), "msg": _message(err), "type": str(err.get("type"))}
        for err in exc.errors()
    ]


def _methods(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    found: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        methods = getattr(route, "methods", None)
        inner = getattr(route, "original_router", route)  # FastAPI keeps included routers
        nested = getattr(inner, "routes", None)
        if methods:
            found |= set(methods)
        elif nested is not None:  # an included router or a mount: look inside
            found |= _methods(nested, {**scope, **child})
    return found


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette's 405 names only the
    first route that matched the path, not all of them); HEAD wherever GET is
    (``web.head``)."""
    methods = _methods(request.app.router.routes, {**request.scope, "method": "GET"})
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allow = {"Allow": ", ".join(allowed_methods(request))}
        if request.method == "OPTIONS":  # what this path answers, for any client that asks
            return Response(status_code=204, headers=allow)
        headers = {**(headers or {}), **allow}
    if isinstance(exc, FormError) and exc.status_code == 422:
        problems = [
            {"loc": ["body", name], "msg": msg, "type": "value_error"}
            for name, msg in exc.errors.items()
        ]
        return error_response(request, 422, str(exc.detail), headers, problems)
    if isinstance(exc, papers.PaperNotFound):
        request.state.missing_arxiv_id = exc.arxiv_id
        request.state.error_title = "Paper not found"
        detail = str(exc.detail)
    elif exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"There is no page at {request.url.path}."
    else:
        detail = str(exc.detail)
    return error_response(request, exc.status_code, detail, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(request, 422, _validation_message(exc), errors=_problems(exc))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(
        request, 500, "The server hit an unexpected error. It has been logged; please try again."
    )


def _favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


async def _limit_threads(n: int) -> None:
    """Room in the thread pool for ``n`` requests and as many streamed answers.

    FastAPI runs every plain-function view in a thread pool (40 threads by default).
    ``web.admission`` lets ``PAPERWIRE_WEB_THREADS`` requests in at a time, each using
    one thread at a time; the rest of the pool serves the answers that stream after
    their slot was given back (exports). A small pool keeps those from stretching the
    admitted requests: under load, threads share one core's worth of Python (the GIL)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = 2 * n


def create_app(pw: Paperwire) -> FastAPI:
    """The web app over one ``Paperwire`` (kept in ``app.state.pw``)."""
    app = FastAPI(
        title=pw.settings.site_name,
        version=paperwire.__version__,
        description="Research-paper discovery: daily feed, hybrid search, paper pages. "
        "Every HTML page has a JSON twin under `/api`.",
        # Every route refuses control characters (422) and answers every 422 alike.
        dependencies=[Depends(refuse_control_chars)],
        docs_url=None,  # web.docs serves them with their assets from this install
        redoc_url=None,
        responses={
            422: {
                "model": InvalidRequest,
                "description": "A value is missing, malformed or out of range (`errors` "
                "names each); also a control character (e.g. NUL) anywhere in the request.",
            }
        },
    )
    app.state.pw = pw
    app.add_middleware(SecurityHeaders, docs_csp=docs.docs_csp(app))
    docs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Browsers ask for /favicon.ico on pages without an icon link (the digest preview)
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    # discussions first: /papers/{arxiv_id:path} would take ".../comments" as an id
    for module in (feed, discussions, papers, search, status):
        app.include_router(module.router)
    community.install(app)  # accounts, votes, submissions, collections, trending, admin
    # A server answers the same searches again (the next page, the JSON twin, the
    # morning's common queries): keep rankings there (``search.results``), not in the CLI
    # or the benchmarks, which time the search itself.
    pw.keep_rankings()
    # Just inside the page cache: a kept page is answered without waiting for a slot.
    app.add_middleware(Admission, slots=pw.settings.web_threads)
    app.add_middleware(PageCache, pw=pw)  # outermost: a kept page skips everything else
    for module in (subscriptions, alerts, feeds, digest):  # digests, alerts, Atom/RSS
        app.include_router(module.router)
    app.add_middleware(HeadAsGet)  # HEAD runs as GET, before the page cache sees it
    app.router.on_startup.append(functools.partial(_limit_threads, pw.settings.web_threads))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
    return app
