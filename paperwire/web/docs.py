"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) with their assets served from this
install, so the API docs work on an offline machine (FastAPI's own pages load them
from a CDN).

The JavaScript and CSS are the ones the ``fastapi-offline`` package ships (only its
files are used), served under ``/static-docs``. The pages' policy (``DOCS_CSP``) allows
scripts from this site plus, by hash, the one inline script that starts Swagger UI;
styles may be inline (both UIs set them from script); nothing from another origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["DOCS_PATHS", "docs_csp", "install"]

ASSETS = "/static-docs"
DOCS_PATHS = ("/docs", "/redoc", ASSETS)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def _swagger(app: FastAPI) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} - API docs",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )


def _redoc(app: FastAPI) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} - API reference",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )


def docs_csp(app: FastAPI) -> str:
    """The policy of the docs pages: this site only, plus the hashes of their inline
    scripts (computed from the pages themselves, so they always match)."""
    hashes = []
    for page in (_swagger(app), _redoc(app)):
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode()):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' {' '.join(hashes)}; worker-src 'self' blob:; "
        "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )


def install(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets (create the app with
    ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="static-docs")

    async def swagger(request: Request) -> HTMLResponse:
        return _swagger(app)

    async def redoc(request: Request) -> HTMLResponse:
        return _redoc(app)

    app.add_api_route("/docs", swagger, include_in_schema=False)
    app.add_api_route("/redoc", redoc, include_in_schema=False)
