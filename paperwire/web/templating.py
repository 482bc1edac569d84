"""The Jinja environment (autoescaped) and the helper every page renders through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

import paperwire
from paperwire.web.formatting import FILTERS

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
# KaTeX, copied here by `make install` (npm); pages load it only when it is there, so an
# install without npm serves no broken links (math then shows as its TeX source).
KATEX_DIR = STATIC_DIR / "vendor" / "katex"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template is HTML; never turn this off
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    env.globals["katex"] = (KATEX_DIR / "katex.min.js").is_file()
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    json_href: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` with the context every page needs (site name, nav, JSON twin)."""
    pw = getattr(request.app.state, "pw", None)
    site_name = pw.settings.site_name if pw is not None else "paperwire"
    base: dict[str, Any] = {
        "site_name": site_name,
        "version": paperwire.__version__,
        "json_href": json_href,
        "nav": None,
        "header_q": "",
        "refresh_seconds": None,
        "page_title": None,
    }
    base.update(context)
    response = templates.TemplateResponse(
        request, name, base, status_code=status_code, headers=headers
    )
    return response
